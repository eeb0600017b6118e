"""Diagnoses: a named mistake's failure messages say which mistake it is, and never name another.

Read from the graded notebooks (what the hidden tests' feedback shows): for every mutant of
tests/units/, the diagnoses (`Likely mistake (name): ...`) in the outputs of its test cells. Every
diagnosis must be one the mutant declares (`Mutant.diagnosis`) or a relational one
(autograder/checks/kit/relations.py: "exactly 2 times the right value", "the opposite sign", ...):
a relation between the answer and the truth computed from the two values, true of whatever answer
it is given to (a product rule that drops a term halves the derivative of x*x in a later exercise
that has no probe of its own), and tested in tests/test_relational_diagnoses.py. The reference,
the untouched stub and the correct alternatives get none; and at least 80% of all mutants are
diagnosed (by a diagnosis they declare). The share is written to
test-artifacts/diagnosis_coverage.txt.
"""

from __future__ import annotations

import nbformat
import pytest

from autograder.checks.kit.relations import NAMES as RELATIONS
from autograder.feedback import diagnoses_in
from tests.conftest import REPO, UNITS

MUTANTS = [(u.assignment, name, m) for u in UNITS for name, m in u.mutants.items()]
GOAL = 0.8
REPORT = REPO / "test-artifacts" / "diagnosis_coverage.txt"


def _diagnoses(graded, assignment: str, student: str) -> dict[str, list[str]]:
    """The diagnoses named in each graded test cell's outputs, by grade id."""
    course = graded[assignment].where[student]
    notebook = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    found = {}
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grading.get("grade"):
            text = "\n".join(
                "\n".join(o.get("traceback", [])) + o.get("evalue", "") + o.get("text", "") for o in cell.outputs
            )
            found[grading["grade_id"]] = diagnoses_in(text)
    return found


@pytest.mark.parametrize(("assignment", "name", "mutant"), MUTANTS, ids=[f"{a}:{n}" for a, n, _ in MUTANTS])
def test_a_diagnosis_names_only_a_mistake_the_submission_makes(graded, assignment, name, mutant):
    named = {d for names in _diagnoses(graded, assignment, f"mutant-{name}").values() for d in names}
    wrong = named - set(mutant.diagnoses) - set(RELATIONS)  # a relation of the values is true of any answer
    assert not wrong, f"{name} is diagnosed as {sorted(wrong)}, a mistake it does not make"


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_correct_and_untouched_notebooks_get_no_diagnosis(graded, unit):
    students = ["reference", "untouched", *(f"alternative-{name}" for name in unit.alternatives)]
    for student in students:
        named = {c: d for c, d in _diagnoses(graded, unit.assignment, student).items() if d}
        assert not named, f"{student} got diagnoses {named}"


def test_most_named_mistakes_are_diagnosed(graded):
    lines, hits = [], 0
    for unit in UNITS:
        diagnosed = []
        for name, mutant in unit.mutants.items():
            named = {d for ds in _diagnoses(graded, unit.assignment, f"mutant-{name}").values() for d in ds}
            if named & set(mutant.diagnoses):
                diagnosed.append(name)
        missed = sorted(set(unit.mutants) - set(diagnosed))
        hits += len(diagnosed)
        lines.append(f"{unit.assignment}: {len(diagnosed)} of {len(unit.mutants)} diagnosed; not: {', '.join(missed)}")
    share = hits / len(MUTANTS)
    lines.append(f"all units: {hits} of {len(MUTANTS)} mutants diagnosed ({100 * share:.1f}%), goal {100 * GOAL:.0f}%")
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert share >= GOAL, "\n".join(lines)
