"""`autograder export canvas|gradescope|csv` on the courses the `graded` fixture graded.

Canvas: the file parses with Canvas's header (Student, ID, SIS User ID, SIS Login ID, Section, then
the assignment) and its "Points Possible" row; every roster student gets the gradebook's total;
students missing on either side are listed. Gradescope: every results.json validates against
tests/schemas/gradescope_results.schema.json (Gradescope's documented format); a correct notebook
passes every test, a mutant fails the tests it must lose and passes those it must keep.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.reporting import exports
from tests.conftest import REPO, UNITS

SCHEMA = json.loads((REPO / "tests" / "schemas" / "gradescope_results.schema.json").read_text())


def validate(document: dict) -> None:
    """Validate against the schema with jsonschema (installed with Jupyter)."""
    import jsonschema

    jsonschema.Draft7Validator(SCHEMA).validate(document)


def test_the_schema_refuses_what_gradescope_would_not_read():
    import jsonschema

    validate({"score": 3.0})
    validate({"tests": [{"score": 1.0, "max_score": 1.0, "status": "passed", "name": "a"}]})
    for wrong in (
        {"tests": [{"name": "no score anywhere"}]},
        {"score": 1, "tests": [{"score": 1, "status": "ok"}]},
        {"score": 1, "visibility": "public"},
        {"score": 1, "tests": [{"score": 1, "maxscore": 1}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(wrong)


def _course(graded, unit) -> tuple[Path, list[str]]:
    """The course folder of the job that graded the reference, and the students graded there."""
    where = graded[unit.assignment].where
    root = where["reference"]
    return root, sorted(s for s, r in where.items() if r == root)


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_the_canvas_csv_has_canvas_header_points_possible_and_the_gradebook_totals(graded, unit, tmp_path):
    root, students = _course(graded, unit)
    enrolled = students[:-1]  # the last graded student is missing from the roster
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "student", f"{unit.assignment} (4711)"]
        )
        writer.writerow(["    Points Possible", "", "", "", "", "", "100"])
        for number, student in enumerate([*enrolled, "absent"], start=1):
            writer.writerow([f"Student, {student}", 1000 + number, f"S{number}", f"login{number}", "A", student, ""])
    target = tmp_path / "canvas.csv"
    export = exports.canvas(root, [unit.assignment], roster, target)
    assert export.not_in_roster == {unit.assignment: students[-1:]}
    assert export.not_graded == {unit.assignment: ["absent"]}
    with open(target, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{unit.assignment} (4711)"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == 100
    body = {row[0].removeprefix("Student, "): row for row in rows[2:]}
    assert set(body) == {*enrolled, "absent"}
    for student in enrolled:
        assert float(body[student][5]) == pytest.approx(graded[unit.assignment].rows[student].total)
    assert body["absent"][5] == ""


def test_a_roster_without_the_required_columns_is_refused(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,Section,student\nA,1,X,a\n")
    with pytest.raises(exports.ExportError, match="SIS User ID, SIS Login ID"):
        exports.read_roster(roster)
    assert exports.canvas_title("01_numerical", ["Student", "01_numerical (12)", "02_symbolic"]) == "01_numerical (12)"
    assert exports.canvas_title("02_symbolic", ["Student", "02_symbolic"]) == "02_symbolic"
    assert exports.canvas_title("03_forward", ["Student", "03_forward_extra (3)"]) == "03_forward"


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_every_gradescope_results_json_validates_and_says_what_was_lost(graded, unit, tmp_path):
    roots = sorted(set(graded[unit.assignment].where.values()))
    written = [p for root in roots for p in exports.gradescope(root, [unit.assignment], tmp_path)]
    assert len(written) == len(graded[unit.assignment].rows)
    correct = {"reference", *(f"alternative-{n}" for n in unit.alternatives)}
    for path in written:
        student = path.parent.name
        document = json.loads(path.read_text())
        validate(document)
        row = graded[unit.assignment].rows[student]
        assert document["score"] == pytest.approx(row.total)
        assert sum(t["score"] for t in document["tests"]) == pytest.approx(row.total)
        failed = {t["name"] for t in document["tests"] if t["status"] == "failed"}
        assert all(t["output"] for t in document["tests"] if t["status"] == "failed")
        if student in correct:
            assert not failed, (student, failed)
        if student.startswith("mutant-"):
            mutant = unit.mutants[student.removeprefix("mutant-")]
            assert set(mutant.loses) <= failed, (student, failed)
            assert not set(mutant.keeps) & failed, (student, failed)


def test_the_export_command_writes_each_format(graded, monkeypatch, capsys):
    unit = UNITS[0]
    root, students = _course(graded, unit)
    monkeypatch.chdir(root)
    assert main(["export", "csv", unit.assignment]) == 0
    with open(root / "grades.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[0] == "student" and f"{unit.assignment}/total" in header
    assert main(["export", "gradescope", unit.assignment]) == 0
    assert len(list((root / "exports" / "gradescope" / unit.assignment).glob("*/results.json"))) == len(students)
    assert main(["export", "canvas", unit.assignment, "--roster", str(root / "no-roster.csv")]) == 2
    assert "no roster" in capsys.readouterr().err
