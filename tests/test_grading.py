"""Grading through nbgrader: reference solutions earn everything, stubs nothing, every named mistake
loses points, correct alternatives lose none, and no tamper attack gains a point."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, UNITS, max_points

MUTANTS = [(u.assignment, name, m) for u in UNITS for name, m in u.mutants.items()]
ALTERNATIVES = [(u.assignment, name) for u in UNITS for name in u.alternatives]
ATTACKS = [(u.assignment, name, a) for u in UNITS for name, a in u.attacks.items()]
ASSIGNMENTS = [u.assignment for u in UNITS]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_earns_full_marks(graded, assignment):
    row = graded[assignment].rows["reference"]
    points = max_points(REPO, assignment)
    assert row.scores == points, f"lost points: { {k: (row.scores.get(k), v) for k, v in points.items()} }"
    assert row.total == 100


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero_in_every_cell(graded, assignment):
    row = graded[assignment].rows["untouched"]
    assert set(row.scores) == set(max_points(REPO, assignment))
    assert all(score == 0 for score in row.scores.values()), row.scores


@pytest.mark.parametrize(("assignment", "name", "mutant"), MUTANTS, ids=[f"{a}:{n}" for a, n, _ in MUTANTS])
def test_named_mistake_loses_points(graded, assignment, name, mutant):
    row = graded[assignment].rows[f"mutant-{name}"]
    points = max_points(REPO, assignment)
    for cell in mutant.loses:
        assert row.scores[cell] < points[cell], f"{name} kept all {points[cell]} points of {cell}"
    for cell in mutant.keeps:
        assert row.scores[cell] == points[cell], f"{name} lost points in {cell}, which does not depend on it"


@pytest.mark.parametrize(("assignment", "name"), ALTERNATIVES, ids=[f"{a}:{n}" for a, n in ALTERNATIVES])
def test_correct_alternative_earns_full_marks(graded, assignment, name):
    assert graded[assignment].rows[f"alternative-{name}"].scores == max_points(REPO, assignment)


@pytest.mark.parametrize(("assignment", "name", "attack"), ATTACKS, ids=[f"{a}:{n}" for a, n, _ in ATTACKS])
def test_tamper_attack_gains_nothing(graded, assignment, name, attack):
    row = graded[assignment].rows[f"attack-{name}"]
    cells = attack.loses or tuple(row.scores)
    gained = {cell: row.scores[cell] for cell in cells if row.scores[cell] != 0}
    assert not gained, f"{name} earned points: {gained}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_the_readable_message_and_no_hidden_test(graded, assignment):
    import html
    import re

    import nbformat

    from autograder.feedback import diagnoses_in
    from autograder.grading.course import nbgrader_api
    from autograder.grading.release import secret_lines

    unit = next(u for u in UNITS if u.assignment == assignment)
    name, mutant = next(((n, m) for n, m in unit.mutants.items() if m.diagnoses), next(iter(unit.mutants.items())))
    student = f"mutant-{name}"
    course = graded[assignment].where[student]
    result = nbgrader_api(course).generate_feedback(assignment, student, force=True)
    assert result["success"], result
    page = (course / "feedback" / student / assignment / f"{assignment}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "Likely mistake" in text and "Expected" in text
    if mutant.diagnoses:  # the diagnosis the self-check gives is in the feedback too
        assert set(diagnoses_in(text)) & set(mutant.diagnoses), f"{name}: no diagnosis in the feedback"
    assert "HIDDEN TESTS" not in text
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    hidden = {line for line in secret_lines(source) if "check_" in line}
    assert hidden, "no hidden check lines to look for"
    shown = [line for line in hidden if line in text]
    assert not shown, f"feedback shows hidden test code: {shown}"


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_every_test_cell_has_a_named_mistake_and_the_unit_two_alternatives(unit):
    cells = set(max_points(REPO, unit.assignment))
    caught = {cell for mutant in unit.mutants.values() for cell in mutant.loses}
    assert cells - caught == set(), f"test cells without a named mistake: {sorted(cells - caught)}"
    assert caught <= cells, f"mutants name unknown cells: {sorted(caught - cells)}"
    assert len(unit.alternatives) >= 2
