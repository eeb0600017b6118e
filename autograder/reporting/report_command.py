"""`autograder report`: the class report of each assignment, as HTML, a text summary or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autograder.reporting import report, report_html


def run_report(root: Path, names: list[str], as_json: bool = False, top: int | None = 10, explicit: bool = True) -> int:
    """Write `reports/<assignment>.html` for `names` and print the summaries (or, with `as_json`, the data).

    Assignments with no recorded results are an error when named (`explicit`), skipped with `--all`.
    Exit code: 0, or 2 when there was nothing to report on.
    """
    done = []
    for assignment in names:
        try:
            analysis = report.analyse(root, assignment)
        except FileNotFoundError as error:
            if explicit:
                print(f"autograder report: {error}", file=sys.stderr)
                return 2
            continue
        path = report_html.write(root, analysis)
        done.append(report.to_json(analysis))
        if not as_json:
            print(report.summary(analysis, top))
            print(f"wrote {path.relative_to(root)}")
    if not done:
        print("autograder report: no results recorded yet: run `autograder grade` first", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(done[0] if explicit else done, indent=1, ensure_ascii=False))
    return 0
