"""The gradebook as a table: one row per student, one column per graded cell, and the total."""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry


@dataclass(frozen=True)
class Row:
    """One student's scores on one assignment (None: not graded)."""

    student: str
    scores: dict[str, float | None]
    total: float | None
    max_total: float


def read(db_url: str, assignment: str) -> tuple[list[str], list[Row]]:
    """(grade cell names in notebook order, rows for every student with a submission)."""
    with Gradebook(db_url) as gradebook:
        record = gradebook.find_assignment(assignment)
        columns = [
            cell.name
            for notebook in record.notebooks
            for cell in notebook.grade_cells
            if not cell.name.endswith("_code")
        ]
        rows = []
        for student in sorted(s.id for s in gradebook.students):
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                continue
            scores: dict[str, float | None] = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[grade.name] = None if grade.score is None else float(grade.score)
            max_total = float(sum(cell.max_score for nb in record.notebooks for cell in nb.grade_cells))
            graded = [v for v in scores.values() if v is not None]
            total = float(sum(graded)) if graded else None
            rows.append(Row(student, scores, total, max_total))
    order = {cell: i for i, cell in enumerate(columns)}
    return sorted(columns, key=order.get), rows


def render(assignment: str, columns: list[str], rows: list[Row]) -> str:
    """A plain-text table for the terminal: one line per graded cell, one column per student, totals last."""
    headers = ["exercise", *(row.student for row in rows)]
    body = [
        [cell, *("-" if row.scores.get(cell) is None else f"{row.scores[cell]:g}" for row in rows)] for cell in columns
    ]
    body.append(["total", *("-" if row.total is None else f"{row.total:g} / {row.max_total:g}" for row in rows)])
    widths = [max(len(line[i]) for line in (headers, *body)) for i in range(len(headers))]

    def format_line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    rule = "-" * len(format_line(headers))
    return "\n".join(
        [
            f"Gradebook: {assignment}",
            rule,
            format_line(headers),
            rule,
            *(format_line(line) for line in body[:-1]),
            rule,
            format_line(body[-1]),
        ]
    )
