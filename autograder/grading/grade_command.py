"""`autograder grade`: check the sandbox, grade each assignment, report, write grades.csv and print the table."""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

from autograder.grading import gradebook_table, grades_csv, pipeline, sandbox
from autograder.grading.course import db_url

SLOW_SECONDS = 30.0  # a submission is slow from this many seconds and twice the class's median time
TIMING_NOTE = re.compile(r"did not finish|died|stopped|time bound|kernel")


def slow_or_stopped(reports: list[pipeline.Report]) -> list[str]:
    """One line per submission that was stopped at its time bound, hit a cell limit, or ran slowly: why."""
    ran = [r for r in reports if r.seconds > 0]
    if not ran:
        return []
    median = statistics.median(r.seconds for r in ran)
    lines = []
    for report in sorted(ran, key=lambda r: -r.seconds):
        reasons = [note for note in report.notes if TIMING_NOTE.search(note)]
        slow = report.seconds >= max(SLOW_SECONDS, 2 * median)
        if not (report.stopped or reasons or slow):
            continue
        what = "stopped at its time bound" if report.stopped else "slow" if slow else "hit a limit"
        cells = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in report.slowest)
        why = "; ".join(reasons) or "no cell hit its limit"
        lines.append(
            f"  {report.student}: {what}, {report.seconds:.0f} s (class median {median:.0f} s): {why}"
            + (f"; slowest cells: {cells}" if cells else "")
        )
    return lines


def run_grade(
    root: Path,
    names: list[str],
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    use_sandbox: bool = True,
    feedback: bool = True,
    cell_timeout: float | None = None,
    time_bound: float | None = None,
) -> int:
    """Grade `names`; exit code 0 if every submission was graded, 1 if one needed attention, 2 if refused.

    Each notebook runs within `time_bound` seconds (default: `execution.time_bound` of its cells). The
    last line printed says how many submissions were graded, the wall time and the time per submission."""
    began = time.perf_counter()
    graded = 0
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
                root,
                assignment,
                jobs,
                scheduler,
                force,
                use_sandbox,
                feedback,
                cell_timeout=cell_timeout,
                time_bound=time_bound,
            )
        except pipeline.GradingBusy as error:
            print(f"autograder grade: {error}", file=sys.stderr)
            return 2
        counts = {s: sum(r.status == s for r in reports) for s in ("graded", "unchanged", "flagged", "failed")}
        graded += counts["graded"]
        print(f"{assignment}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        for report in reports:
            if report.notes or report.status in ("flagged", "failed"):
                print(f"  {report.student}: {report.status}: " + "; ".join(report.notes))
        timing = slow_or_stopped(reports)
        if timing:
            print(f"{assignment}: slow or stopped submissions, slowest first:")
            print("\n".join(timing))
        for reason in sorted(pipeline.SLOW_STARTS):
            print(
                f"{assignment}: note: kernels started as a fresh Python each (about a second more per submission), "
                f"not forked from a fork server: {reason}"
            )
        if counts["flagged"] or counts["failed"]:
            status = 1
        columns, rows = gradebook_table.read(db_url(root), assignment)
        print(gradebook_table.render(assignment, columns, rows))
    path = grades_csv.write(root, names)
    print(f"wrote {path.relative_to(root)}")
    print(summary(graded, time.perf_counter() - began))
    return status


def summary(graded: int, seconds: float) -> str:
    """The run's last line: submissions graded, wall time, time per submission."""
    each = f"{seconds / graded:.2f} s per submission" if graded else "no submission needed grading"
    return f"graded {graded} submission{'s' if graded != 1 else ''} in {seconds:.1f} s ({each})"
