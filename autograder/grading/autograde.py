"""Autograde submissions with nbgrader's API (sequentially) and hand back feedback."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.course import nbgrader_api


@dataclass(frozen=True)
class Outcome:
    """How autograding one submission went."""

    student: str
    success: bool
    seconds: float
    error: str = ""


def autograde(
    root: Path,
    assignment: str,
    students: Iterable[str],
    feedback: bool = True,
    progress: Callable[[str], None] = print,
) -> list[Outcome]:
    """Autograde each student's submission of `assignment` (and write its feedback); one Outcome each."""
    api = nbgrader_api(root)
    students = list(students)
    outcomes = []
    for number, student in enumerate(students, 1):
        start = time.perf_counter()
        result = api.autograde(assignment, student, force=True, create=True)
        if result["success"] and feedback:
            api.generate_feedback(assignment, student, force=True)
        seconds = time.perf_counter() - start
        error = "" if result["success"] else (result.get("error") or result.get("log") or "").strip()[-2000:]
        outcomes.append(Outcome(student, bool(result["success"]), seconds, error))
        status = "ok" if result["success"] else "FAILED"
        progress(f"  [{number}/{len(students)}] {student:<24} {status:>6}  {seconds:5.1f} s")
    return outcomes
