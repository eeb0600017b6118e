"""Per-submission results, recorded at grading time: `results/<assignment>/<student>.json` in the course.

`autograder grade` writes one file per submission as soon as its grades are saved (and again after
every regrade, `--force` included), so that the class report and the exports never re-execute a
notebook. A file holds (format version 1):

    {
      "version": 1,
      "assignment": "01_numerical", "student": "alice",
      "status": "graded" | "flagged" | "failed",   # the pipeline's verdict on the submission
      "notes": ["cell 7 (forward_difference): did not finish within 60 s ..."],  # why it needs attention
      "recorded": "2026-12-06T19:55:00+00:00",     # when this file was written (UTC)
      "score": 86.0, "max_score": 100.0,           # null when the submission was never graded
      "cells": [                                   # one per graded test cell, in notebook order
        {"notebook": "01_numerical", "cell_id": "forward_difference",
         "points": 0.0, "max_points": 8.0,
         "status": "passed" | "partial" | "failed" | "not implemented" | "timeout" | "crashed",
         "message": "the readable failure message the student saw ('' when passed)",
         "diagnosis": "a one-sided difference",    # the named mistake (feedback.Mistake.name) or ""
         "rule": "the right rule, as in the message", "where": "section 1 (...) of notebooks/01_numerical.ipynb"}
      ]
    }

A flagged submission keeps the cells of its earlier grading (the gradebook keeps that grade too);
a file written for a submission graded before this file existed is rebuilt from the gradebook and
the autograded notebook (with no notes). `status` of a cell: "timeout", "crashed" and
"not implemented" mean the student's code never reached the test (see `UNREACHED`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from autograder.feedback import diagnoses_in

FOLDER = "results"
VERSION = 1
UNREACHED = ("not implemented", "timeout", "crashed")
_RULE = re.compile(r"Likely mistake \(([^()]+)\): (.*?)(?: See (section .+?\.ipynb)\.)?\s*$")


@dataclass
class CellResult:
    """One graded test cell of one submission."""

    notebook: str
    cell_id: str
    points: float
    max_points: float
    status: str
    message: str = ""
    diagnosis: str = ""
    rule: str = ""
    where: str = ""


@dataclass
class SubmissionResult:
    """Everything the report and the exports need about one submission (see the module's docstring)."""

    assignment: str
    student: str
    status: str
    notes: list[str] = field(default_factory=list)
    recorded: str = ""
    score: float | None = None
    max_score: float | None = None
    cells: list[CellResult] = field(default_factory=list)
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        """Read a file's content (a newer format version is refused)."""
        if int(data.get("version", 0)) > VERSION:
            raise ValueError(f"results format version {data['version']} is newer than this autograder's {VERSION}")
        cells = [CellResult(**cell) for cell in data.get("cells", [])]
        fields = {k: v for k, v in data.items() if k not in ("cells", "version")}
        return cls(**fields, cells=cells)


def path(root: Path, assignment: str, student: str) -> Path:
    """Where the results of `student` on `assignment` are recorded."""
    return root / FOLDER / assignment / f"{student}.json"


def load(root: Path, assignment: str) -> list[SubmissionResult]:
    """Every recorded submission of `assignment`, by student id."""
    folder = root / FOLDER / assignment
    found = [SubmissionResult.from_json(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
    return sorted(found, key=lambda r: r.student)


def save(root: Path, result: SubmissionResult) -> Path:
    """Write `result` atomically; returns the file's path."""
    target = path(root, result.assignment, result.student)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(result.to_json(), indent=1, ensure_ascii=False) + "\n")
    temporary.replace(target)
    return target


def explain(message: str) -> tuple[str, str, str]:
    """(diagnosis, rule, where) named by a failure message: "Likely mistake (name): rule See where."."""
    names = diagnoses_in(message)
    if not names:
        return "", "", ""
    text = " ".join(message.split())
    start = text.find("Likely mistake (")
    match = _RULE.search(text[start:]) if start >= 0 else None
    if not match:
        return names[0], "", ""
    return names[0], match.group(2).strip(), match.group(3) or ""


def _message(cell: nbformat.NotebookNode) -> str:
    """The readable text of a graded test cell's errors (what feedback shows)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        value = str(output.get("evalue", "")).strip()
        parts.append(value if output.get("ename") in ("CheckFailure", "GradingError") else f"{output.ename}: {value}")
    return "\n".join(parts)


def _status(points: float, max_points: float, message: str) -> str:
    if max_points and points >= max_points:
        return "passed"
    if "did not finish within" in message:
        return "timeout"
    if "the kernel died" in message:
        return "crashed"
    if "is not implemented yet" in message or message.startswith("NotImplementedError"):
        return "not implemented"
    return "partial" if points > 0 else "failed"


def cells_of(root: Path, assignment: str, student: str, gradebook: Any = None) -> list[CellResult]:
    """Graded test cells of a submission: points from the gradebook (the course's, or `gradebook`: an open
    `nbgrader.api.Gradebook` of it), messages from autograded/."""
    from nbgrader.api import Gradebook

    from autograder.grading.course import db_url

    if gradebook is not None:
        return _cells_of(root, assignment, student, gradebook)
    with Gradebook(db_url(root)) as opened:
        return _cells_of(root, assignment, student, opened)


def _cells_of(root: Path, assignment: str, student: str, gradebook: Any) -> list[CellResult]:
    """`cells_of` on an open gradebook."""
    from nbgrader.api import MissingEntry

    from autograder.grading.trusted_judge import test_cell_id

    found = []
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return []
    for notebook in submission.notebooks:
        grades = {g.name: g for g in notebook.grades}
        file = root / "autograded" / student / assignment / f"{notebook.name}.ipynb"
        cells = nbformat.read(file, as_version=4).cells if file.exists() else []
        for cell in cells:
            cell_id = test_cell_id(cell)
            if cell_id is None or cell_id not in grades:
                continue
            grade = grades[cell_id]
            points = float(grade.score or 0.0)
            max_points = float(grade.max_score or 0.0)
            message = _message(cell)
            status = _status(points, max_points, message)
            diagnosis, rule, where = explain(message) if status != "passed" else ("", "", "")
            message = "" if status == "passed" else message
            found.append(
                CellResult(notebook.name, cell_id, points, max_points, status, message, diagnosis, rule, where)
            )
    return found


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(root: Path, assignment: str, student: str, status: str = "graded", notes: Iterable[str] = ()) -> Path:
    """Record a submission just graded (its grades and autograded notebook are saved): called by the pipeline."""
    cells = cells_of(root, assignment, student)
    score = sum(c.points for c in cells) if cells else None
    max_score = sum(c.max_points for c in cells) if cells else None
    result = SubmissionResult(assignment, student, status, list(notes), _now(), score, max_score, cells)
    return save(root, result)


def record_run(root: Path, assignment: str, reports: Iterable[Any]) -> None:
    """After a pipeline run: record flagged and failed submissions (keeping the cells of an earlier grading),
    and rebuild missing files of unchanged ones. `reports` are `pipeline.Report`s."""
    for report in reports:
        target = path(root, assignment, report.student)
        if report.status == "unchanged":
            if not target.exists():
                record(root, assignment, report.student)
            continue
        if report.status not in ("flagged", "failed"):
            continue
        earlier = SubmissionResult.from_json(json.loads(target.read_text())) if target.exists() else None
        result = SubmissionResult(assignment, report.student, report.status, list(report.notes), _now())
        if earlier is not None:
            result.score, result.max_score, result.cells = earlier.score, earlier.max_score, earlier.cells
        save(root, result)
