"""grades.csv: one row per student, one column per graded exercise (assignment/exercise), totals and a status.

Every student with a submission folder has a row, graded or not: a flagged submission (an empty
file, not a notebook, another assignment's notebook, a notebook with none of the assignment's cells)
has empty grades and its `<assignment>/status` says why.
"""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.grading import gradebook_table
from autograder.grading.course import db_url

FILE_NAME = "grades.csv"


def write(root: Path, assignments: list[str]) -> Path:
    """Write `root/grades.csv` from the gradebook for `assignments`; returns its path.

    Columns: `student`, then `<assignment>/<exercise>` for every graded test cell,
    `<assignment>/total` and `<assignment>/status` per assignment, then `total`. Empty grades: not
    graded. Rows: every student in the gradebook or with a folder `submitted/<student>/<assignment>/`.
    """
    from nbgrader.api import MissingEntry

    from autograder.grading import pipeline

    header = ["student"]
    table: dict[str, dict[str, float | str | None]] = {}
    known = pipeline.statuses(root)

    for assignment in list(assignments):
        try:
            columns, rows = gradebook_table.read(db_url(root), assignment)
        except MissingEntry:  # never released into this gradebook: no column
            assignments = [a for a in assignments if a != assignment]
            continue
        header += [f"{assignment}/{c}" for c in columns] + [f"{assignment}/total", f"{assignment}/status"]
        in_gradebook = set()
        for row in rows:
            line = table.setdefault(row.student, {})
            line.update({f"{assignment}/{c}": row.scores.get(c) for c in columns})
            line[f"{assignment}/total"] = row.total
            in_gradebook.add(row.student)
        for student in sorted(in_gradebook | set(pipeline.students(root, assignment))):
            table.setdefault(student, {})[f"{assignment}/status"] = status(
                known.get(assignment, {}).get(student), student in in_gradebook
            )
    header.append("total")
    path = root / FILE_NAME
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for student in sorted(table):
            line = table[student]
            totals = [line.get(f"{a}/total") for a in assignments]
            totals = [t for t in totals if isinstance(t, float | int)]
            line["total"] = sum(totals) if totals else None
            writer.writerow([student, *(_cell(line.get(h)) for h in header[1:])])
    return path


def _cell(value: float | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else f"{value:g}"


def status(record: dict[str, str] | None, graded: bool) -> str:
    """The status column: "graded", "graded: <notes>", "flagged: <why>", "failed: <why>" or "not graded yet"."""
    if record is None:
        return "graded" if graded else "not graded yet (run autograder grade)"
    name = "graded" if record.get("status") == "unchanged" else record.get("status", "graded")
    return f"{name}: {record['reason']}" if record.get("reason") else name
