"""The main job (`make demo`): release, three sample submissions per assignment, grade them, print the gradebook."""

from __future__ import annotations

import os
import time
from pathlib import Path

from autograder.grading import sandbox, submissions
from autograder.grading.course import assignments
from autograder.grading.grade_command import run_grade
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
    """Run the demo on the course at `root` with the grading pipeline; returns a process exit code."""
    names = names or assignments(root)
    start = time.perf_counter()
    print(f"Releasing {', '.join(names)} from source/ ...")
    for path in release(root, names):
        print(f"  wrote {path.relative_to(root)} (no solution, no hidden test)")
    for assignment in names:
        sample_submissions(root, assignment)
    use_sandbox = True
    try:
        sandbox.probe()
    except sandbox.SandboxUnavailable as error:  # the samples are the instructor's own code
        print(f"Note: {error}\nThe demo grades its own sample submissions without the sandbox.")
        use_sandbox = False
    print(f"Grading reference, half-done and untouched samples of each assignment on {os.cpu_count()} cores ...")
    status = run_grade(root, names, force=True, use_sandbox=use_sandbox)
    print("Feedback for students: feedback/<student>/<assignment>/<assignment>.html")
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return status
