"""`autograder grade`: check the sandbox, grade each assignment, report, write grades.csv and print the table."""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.grading import gradebook_table, grades_csv, pipeline, sandbox
from autograder.grading.course import db_url


def run_grade(
    root: Path,
    names: list[str],
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    use_sandbox: bool = True,
    feedback: bool = True,
    cell_timeout: float | None = None,
) -> int:
    """Grade `names`; exit code 0 if every submission was graded, 1 if one needed attention, 2 if refused."""
    if use_sandbox and not scheduler:
        try:
            sandbox.probe()
        except sandbox.SandboxUnavailable as error:
            print(f"autograder grade: refusing to run student code: {error}", file=sys.stderr)
            return 2
    status = 0
    for assignment in names:
        if not pipeline.students(root, assignment):
            print(f"{assignment}: nothing in submitted/*/{assignment}/")
            continue
        try:
            reports = pipeline.grade(
                root, assignment, jobs, scheduler, force, use_sandbox, feedback, cell_timeout=cell_timeout
            )
        except pipeline.GradingBusy as error:
            print(f"autograder grade: {error}", file=sys.stderr)
            return 2
        counts = {s: sum(r.status == s for r in reports) for s in ("graded", "unchanged", "flagged", "failed")}
        print(f"{assignment}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        for report in reports:
            if report.notes or report.status in ("flagged", "failed"):
                print(f"  {report.student}: {report.status}: " + "; ".join(report.notes))
        if counts["flagged"] or counts["failed"]:
            status = 1
        columns, rows = gradebook_table.read(db_url(root), assignment)
        print(gradebook_table.render(assignment, columns, rows))
    path = grades_csv.write(root, names)
    print(f"wrote {path.relative_to(root)}")
    return status
