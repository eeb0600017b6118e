"""The main job (`make demo`): release, three sample submissions, autograde, print the gradebook."""

from __future__ import annotations

import time
from pathlib import Path

from autograder.grading import gradebook_table, submissions
from autograder.grading.autograde import autograde
from autograder.grading.course import assignments, db_url
from autograder.grading.release import release


def sample_submissions(root: Path, assignment: str) -> list[str]:
    """Write the reference solution, a half-done and an untouched submission; returns the student ids."""
    released, source = submissions.load_pair(root, assignment)
    cells = list(submissions.solution_cells(source))
    samples = {
        "reference-solution": None,
        "half-done": cells[: (len(cells) + 1) // 2],
        "untouched-release": [],
    }
    for student, solved in samples.items():
        submissions.write(root, assignment, student, submissions.fill(released, source, solved))
    return list(samples)


def run(root: Path, names: list[str] | None = None) -> int:
    """Run the demo on the course at `root`; returns a process exit code."""
    names = names or assignments(root)
    start = time.perf_counter()
    print(f"Releasing {', '.join(names)} from source/ ...")
    for path in release(root, names):
        print(f"  wrote {path.relative_to(root)} (no solution, no hidden test)")
    failed = 0
    for assignment in names:
        students = sample_submissions(root, assignment)
        print(f"Autograding {len(students)} sample submissions of {assignment} with nbgrader ...")
        outcomes = autograde(root, assignment, students)
        failed += sum(not o.success for o in outcomes)
        for outcome in outcomes:
            if not outcome.success:
                print(f"  {outcome.student}: {outcome.error}")
        columns, rows = gradebook_table.read(db_url(root), assignment)
        print()
        print(gradebook_table.render(assignment, columns, rows))
        print(f"Feedback for students: feedback/<student>/{assignment}/{assignment}.html")
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 1 if failed else 0
