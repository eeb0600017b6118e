"""`autograder export canvas|gradescope|csv`: the grades where instructors keep them.

- **canvas**: `exports/canvas.csv` (or `--output`), a Canvas gradebook import file. Canvas's own
  gradebook export has the columns `Student, ID, SIS User ID, SIS Login ID, Section`, then one
  column per assignment titled `<title> (<Canvas assignment id>)`, and under the header a
  "Points Possible" row; Canvas's import reads the same layout (a column without an id creates a new
  assignment). The student columns come from the **roster** (`roster.csv` in the course, or
  `--roster`): Canvas's gradebook export (or any CSV with those five columns) with one more column,
  `student`, the id the student has in this course (their `submitted/<student>/` folder). An
  assignment column of the roster titled `<assignment> (<id>)` or `<assignment>` gives the title
  of that assignment's column, so the grades land in the existing Canvas assignment; otherwise
  the column is titled with the assignment's name. Graded students missing from the roster and
  roster students with no grade are listed (the first are left out of the file, the second get an
  empty cell, which Canvas leaves unchanged).
- **gradescope**: `exports/gradescope/<assignment>/<student>/results.json`, one per graded
  submission, in Gradescope's autograder results format (see `gradescope_results`).
- **csv**: `grades.csv`, as written by `autograder grade`.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.reporting import results

ROSTER = "roster.csv"
FOLDER = "exports"
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # the first cell of the row under the header, as Canvas exports it
ROSTER_ID = "student"


class ExportError(ValueError):
    """The export cannot be written (a roster without the required columns, no grades, ...)."""


@dataclass
class CanvasExport:
    """What `canvas` wrote and whom it could not place."""

    path: Path
    columns: list[str]
    not_in_roster: dict[str, list[str]] = field(default_factory=dict)  # assignment -> graded students
    not_graded: dict[str, list[str]] = field(default_factory=dict)  # assignment -> roster students


def read_roster(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The roster's rows and its header; raises ExportError when a required column is missing."""
    if not path.exists():
        raise ExportError(
            f"no roster at {path}: export Canvas's gradebook (Grades > Export) and add a column "
            f"'{ROSTER_ID}' with each student's id in this course"
        )
    with open(path, newline="", encoding="utf-8-sig") as handle:  # Canvas writes a byte-order mark
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [row for row in reader if (row.get("Student") or "").strip() != POINTS_POSSIBLE.strip()]
    missing = [c for c in (ROSTER_ID, *CANVAS_STUDENT_COLUMNS) if c not in header]
    if missing:
        raise ExportError(f"the roster {path} lacks the column(s) {', '.join(missing)}")
    return [r for r in rows if (r.get(ROSTER_ID) or "").strip()], header


def canvas_title(assignment: str, roster_header: list[str]) -> str:
    """The Canvas column of `assignment`: the roster's `<assignment> (<id>)` or `<assignment>`, else the name."""
    for title in roster_header:
        if re.fullmatch(rf"{re.escape(assignment)}(\s*\(\d+\))?", title.strip()):
            return title
    return assignment


def canvas(root: Path, names: list[str], roster: Path | None = None, output: Path | None = None) -> CanvasExport:
    """Write the Canvas import CSV of `names` (totals from the gradebook); see the module docstring."""
    from nbgrader.api import MissingEntry

    from autograder.grading import gradebook_table
    from autograder.grading.course import db_url

    rows, header = read_roster(roster or root / ROSTER)
    target = output or root / FOLDER / "canvas.csv"
    export = CanvasExport(target, [])
    totals: dict[str, dict[str, float | None]] = {}
    possible: dict[str, float] = {}
    for assignment in names:
        try:
            _, graded = gradebook_table.read(db_url(root), assignment)
        except MissingEntry:
            continue
        title = canvas_title(assignment, header)
        export.columns.append(title)
        totals[title] = {row.student: row.total for row in graded}
        possible[title] = max((row.max_total for row in graded), default=0.0)
        enrolled = {r[ROSTER_ID].strip() for r in rows}
        export.not_in_roster[assignment] = sorted(s for s in totals[title] if s not in enrolled)
        export.not_graded[assignment] = sorted(s for s in enrolled if totals[title].get(s) is None)
    if not export.columns:
        raise ExportError(f"no grades for {', '.join(names)} in the gradebook: run `autograder grade` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_STUDENT_COLUMNS, *export.columns])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", *(f"{possible[t]:g}" for t in export.columns)])
        for row in rows:
            student = row[ROSTER_ID].strip()
            scores = [totals[t].get(student) for t in export.columns]
            writer.writerow(
                [*(row[c] for c in CANVAS_STUDENT_COLUMNS), *("" if s is None else f"{s:g}" for s in scores)]
            )
    return export


def gradescope_results(result: results.SubmissionResult) -> dict[str, Any]:
    """One submission in Gradescope's results.json format: `score`, `output`, and one test per graded
    test cell with `name`, `number`, `score`, `max_score`, `status` ("passed"/"failed"), `output`
    (the readable message the student saw), `visibility` ("visible": messages never show hidden
    tests) and `extra_data` (the cell's status and diagnosis)."""
    tests = []
    for number, cell in enumerate(result.cells, start=1):
        passed = cell.status == "passed"
        tests.append(
            {
                "name": cell.cell_id,
                "number": str(number),
                "score": cell.points,
                "max_score": cell.max_points,
                "status": "passed" if passed else "failed",
                "output": "All tests passed." if passed else cell.message,
                "output_format": "text",
                "visibility": "visible",
                "extra_data": {"status": cell.status, "diagnosis": cell.diagnosis},
            }
        )
    summary = f"{result.assignment}: {result.score or 0:g} of {result.max_score or 0:g} points."
    if result.status != "graded":
        summary = f"{result.assignment}: this submission was {result.status}: " + "; ".join(result.notes)
    elif result.notes:
        summary += " " + "; ".join(result.notes)
    return {
        "score": float(result.score or 0.0),
        "output": summary,
        "output_format": "text",
        "visibility": "visible",
        "tests": tests,
    }


def gradescope(root: Path, names: list[str], output: Path | None = None) -> list[Path]:
    """Write `<output>/<assignment>/<student>/results.json` for every recorded submission of `names`."""
    folder = output or root / FOLDER / "gradescope"
    written = []
    for assignment in names:
        for result in results.load(root, assignment):
            target = folder / assignment / result.student / "results.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(gradescope_results(result), indent=1, ensure_ascii=False) + "\n")
            written.append(target)
    return written


def run_export(root: Path, kind: str, names: list[str], roster: Path | None, output: Path | None) -> int:
    """The `autograder export` command; exit code 0, 1 if students could not be placed, 2 if nothing was written."""
    try:
        if kind == "csv":
            from autograder.grading import grades_csv

            path = grades_csv.write(root, names)
            if output:
                output.write_text(path.read_text())
                path = output
            print(f"wrote {path}")
            return 0
        if kind == "gradescope":
            written = gradescope(root, names, output)
            if not written:
                raise ExportError(f"no results recorded for {', '.join(names)}: run `autograder grade` first")
            print(f"wrote {len(written)} results.json under {written[0].parents[2]}")
            return 0
        export = canvas(root, names, roster, output)
    except ExportError as error:
        print(f"autograder export: {error}", file=sys.stderr)
        return 2
    print(f"wrote {export.path} ({', '.join(export.columns)})")
    status = 0
    for assignment, students in export.not_in_roster.items():
        if students:
            status = 1
            print(f"{assignment}: graded but not in the roster (left out): {', '.join(students)}", file=sys.stderr)
    for assignment, students in export.not_graded.items():
        if students:
            print(f"{assignment}: in the roster but not graded (empty cell): {', '.join(students)}", file=sys.stderr)
    return status
