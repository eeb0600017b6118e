"""grades.csv: one row per student, one column per graded exercise (assignment/exercise), and totals."""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.grading import gradebook_table
from autograder.grading.course import db_url

FILE_NAME = "grades.csv"


def write(root: Path, assignments: list[str]) -> Path:
    """Write `root/grades.csv` from the gradebook for `assignments`; returns its path.

    Columns: `student`, then `<assignment>/<exercise>` for every graded test cell and
    `<assignment>/total` per assignment, then `total`. Empty cells: not graded.
    """
    header = ["student"]
    table: dict[str, dict[str, float | None]] = {}
    from nbgrader.api import MissingEntry

    for assignment in list(assignments):
        try:
            columns, rows = gradebook_table.read(db_url(root), assignment)
        except MissingEntry:  # never released into this gradebook: no column
            assignments = [a for a in assignments if a != assignment]
            continue
        header += [f"{assignment}/{c}" for c in columns] + [f"{assignment}/total"]
        for row in rows:
            line = table.setdefault(row.student, {})
            line.update({f"{assignment}/{c}": row.scores.get(c) for c in columns})
            line[f"{assignment}/total"] = row.total
    header.append("total")
    path = root / FILE_NAME
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for student in sorted(table):
            line = table[student]
            totals = [line.get(f"{a}/total") for a in assignments]
            line["total"] = sum(t for t in totals if t is not None) if any(t is not None for t in totals) else None
            writer.writerow([student, *("" if line.get(h) is None else f"{line[h]:g}" for h in header[1:])])
    return path
