"""`autograder report`: the class's mistakes, from the results recorded while the `graded` fixture graded.

The class: every unit's graded submissions (reference, untouched, mutants, alternatives, attacks),
whose `results/<assignment>/<student>.json` the grading pipeline wrote, gathered into one course
folder; each mutant's results appear under COPIES student ids, so that a mistake is made by several
students. Expected counts come from the mutants' declarations (`Mutant.diagnoses`) and from the
diagnoses in each mutant's graded notebook (read as tests/test_diagnosis.py reads them), never from
the report itself.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.checks.kit.relations import NAMES as RELATIONS
from autograder.cli import main
from autograder.feedback import Mistake, failure
from autograder.grading.pipeline import Report
from autograder.reporting import report, report_html, results
from tests.browser.conftest import SCREENSHOTS, browser_missing
from tests.conftest import REPO, UNITS
from tests.test_diagnosis import _diagnoses

COPIES = 3


def copy_name(student: str, copy: int) -> str:
    return student if copy == 1 else f"{student}~{copy}"


def original(student: str) -> str:
    return student.split("~")[0]


@pytest.fixture(scope="module")
def class_root(graded, tmp_path_factory) -> Path:
    """One course folder holding the recorded results of every graded submission (mutants COPIES times)."""
    root = tmp_path_factory.mktemp("class") / "course"
    for unit in UNITS:
        folder = root / results.FOLDER / unit.assignment
        folder.mkdir(parents=True)
        for student, where in graded[unit.assignment].where.items():
            data = json.loads(results.path(where, unit.assignment, student).read_text())
            for copy in range(1, (COPIES if student.startswith("mutant-") else 1) + 1):
                data["student"] = copy_name(student, copy)
                (folder / f"{data['student']}.json").write_text(json.dumps(data))
    return root


@pytest.fixture(scope="module")
def reports(class_root) -> dict[str, report.ClassReport]:
    return {unit.assignment: report.analyse(class_root, unit.assignment) for unit in UNITS}


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_every_graded_submission_is_recorded_with_its_gradebook_points(graded, unit):
    for student, row in graded[unit.assignment].rows.items():
        where = graded[unit.assignment].where[student]
        recorded = results.SubmissionResult.from_json(
            json.loads(results.path(where, unit.assignment, student).read_text())
        )
        assert recorded.status == "graded"
        assert {c.cell_id: c.points for c in recorded.cells} == {k: v for k, v in row.scores.items() if v is not None}
        assert recorded.score == pytest.approx(row.total)


def _makes(mutant, diagnosis: str) -> bool:
    """Whether `mutant` may be listed with `diagnosis`: one it declares, or a relational diagnosis (a relation
    of its answer to the truth, true of any answer it is given to: see tests/test_diagnosis.py)."""
    return diagnosis in mutant.diagnoses or diagnosis in RELATIONS


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_the_mistakes_counted_are_the_mistakes_the_mutants_make(graded, reports, unit):
    analysis = reports[unit.assignment]
    listed: dict[str, set[str]] = {}
    for mistake in analysis.mistakes:
        for student in mistake.students:
            listed.setdefault(mistake.diagnosis, set()).add(student)
    for diagnosis, students in listed.items():
        makers = {f"mutant-{n}" for n, m in unit.mutants.items() if _makes(m, diagnosis)}
        # an attack is a wrong answer too: a mistake it happens to match may be named (e.g. fake training
        # losses with parameters never updated); anyone else listed must be a mutant that makes it
        strangers = {s for s in students if original(s) not in makers and not s.startswith("attack-")}
        assert not strangers, f"{sorted(strangers)} are listed with {diagnosis!r}, a mistake they do not make"
    for name, mutant in unit.mutants.items():
        named = {d for ds in _diagnoses(graded, unit.assignment, f"mutant-{name}").values() for d in ds}
        for diagnosis in mutant.diagnoses:
            copies = {copy_name(f"mutant-{name}", c) for c in range(1, COPIES + 1)}
            found = copies & listed.get(diagnosis, set())
            assert found == (copies if diagnosis in named else set()), (name, diagnosis)
    for diagnosis, students in listed.items():
        makers = [n for n, m in unit.mutants.items() if _makes(m, diagnosis)]
        named = [
            n
            for n in makers
            if diagnosis in {d for ds in _diagnoses(graded, unit.assignment, f"mutant-{n}").values() for d in ds}
        ]
        from_mutants = {s for s in students if not s.startswith("attack-")}  # attacks may match too (above)
        assert len(from_mutants) == COPIES * len(named), diagnosis
    total = sum(m.count for m in analysis.mistakes)
    assert total >= COPIES * 0.8 * len(unit.mutants) or not unit.mutants


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_no_correct_notebook_is_listed_with_a_mistake_or_a_failure(reports, unit):
    correct = {"reference", *(f"alternative-{n}" for n in unit.alternatives)}
    analysis = reports[unit.assignment]
    for mistake in analysis.mistakes:
        assert not correct & set(mistake.students), mistake
    assert not correct & {a.student for a in analysis.attention}
    for exercise in analysis.exercises:  # every correct notebook has full points on every exercise
        assert exercise.full >= len(correct), exercise
    assert any(e.unreached.get("not implemented") for e in analysis.exercises)  # the untouched stub


def test_the_report_of_a_graded_submission_is_complete(reports):
    for analysis in reports.values():
        assert analysis.statuses == {"graded": analysis.students}
        for exercise in analysis.exercises:
            assert exercise.full + exercise.partial + exercise.zero + exercise.not_graded == analysis.students
            assert sum(exercise.distribution.values()) == analysis.students - exercise.not_graded
            assert sum(m.count for m in exercise.mistakes) + exercise.unexplained <= exercise.partial + exercise.zero


def test_the_summary_shows_counts_and_no_student_names(reports):
    for analysis in reports.values():
        text = report.summary(analysis)
        assert not re.search(r"mutant-|reference|alternative-|attack-|untouched", text), text
        for mistake in analysis.mistakes:
            assert f"{mistake.exercise}: {mistake.diagnosis}" in text
        assert f"Failures no known mistake explains: {analysis.unexplained}" in text


def test_the_command_writes_the_html_and_prints_the_same_data_as_json(class_root, reports, capsys, monkeypatch):
    (class_root / "nbgrader_config.py").write_text("c = get_config()\n")
    (class_root / "source" / UNITS[0].assignment).mkdir(parents=True, exist_ok=True)
    (class_root / "source" / UNITS[0].assignment / f"{UNITS[0].assignment}.ipynb").write_text("{}")
    monkeypatch.chdir(class_root)
    assert main(["report", UNITS[0].assignment, "--top", "5"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote reports/{UNITS[0].assignment}.html" in printed
    summary = printed.split("wrote ")[0]
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / f"report-summary-{UNITS[0].assignment}.txt").write_text(summary)
    assert main(["report", UNITS[0].assignment, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    analysis = reports[UNITS[0].assignment]
    assert data["students"] == analysis.students
    assert [(m["exercise"], m["diagnosis"], m["count"]) for m in data["mistakes"]] == [
        (m.exercise, m.diagnosis, m.count) for m in analysis.mistakes
    ]
    assert data["unexplained"] == analysis.unexplained


class _Page(HTMLParser):
    """What the report page holds: images, <details> blocks, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.details = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "details":
            self.details += 1
        for key in ("src", "href"):
            if (values.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(values[key] or "")


@pytest.mark.parametrize("unit", UNITS, ids=[u.assignment for u in UNITS])
def test_the_html_report_is_self_contained_with_its_plots_and_folded_students(class_root, reports, unit):
    analysis = reports[unit.assignment]
    path = report_html.write(class_root, analysis)
    page = _Page()
    page.feed(path.read_text())
    assert not page.external
    assert len(page.images) == (3 if analysis.mistakes else 2)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.details == len(analysis.mistakes)
    text = path.read_text()
    for mistake in analysis.mistakes:
        assert all(student in text for student in mistake.students)


def test_the_html_report_opens_in_headless_chromium(class_root, reports):
    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import launch_chromium

    folder = SCREENSHOTS / "report"
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, ("--host-resolver-rules=MAP * ~NOTFOUND",))
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            for assignment, analysis in reports.items():
                path = report_html.write(class_root, analysis)
                page.goto(path.as_uri())
                widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
                assert len(widths) >= 2 and all(w > 100 for w in widths), widths
                if analysis.mistakes:
                    first = page.locator("tr.mistake details").first
                    assert not first.evaluate("d => d.open")
                    first.locator("summary").click()
                    assert first.evaluate("d => d.open")
                page.screenshot(path=str(folder / f"{assignment}.png"), full_page=True)
        finally:
            browser.close()


def test_explain_reads_the_rule_and_section_a_student_saw():
    mistake = Mistake(
        "a one-sided difference",
        "the central difference is (f(x + h) - f(x - h)) / (2h), symmetric about x, with an error of order h**2.",
        "section 1 (From the limit definition to the forward difference) of notebooks/01_numerical.ipynb",
    )
    error = failure(
        "central_difference(f, 1.0, 0.001)", "the quotient is wrong.", expected=0.5, got=0.6, mistake=mistake
    )
    assert results.explain(str(error)) == (mistake.name, mistake.rule, mistake.see)
    assert results.explain(str(failure("f(1)", "wrong.", mistake="a general hint"))) == ("", "", "")


def test_a_flagged_regrade_keeps_the_earlier_cells_and_says_why(tmp_path):
    cell = results.CellResult("a", "ex", 3.0, 5.0, "partial", "msg", "a slip", "the rule.", "section 1 (x) of a.ipynb")
    results.save(tmp_path, results.SubmissionResult("a", "bob", "graded", [], "t", 3.0, 5.0, [cell]))
    results.record_run(
        tmp_path,
        "a",
        [Report("bob", "flagged", ["a.ipynb is an empty file"]), Report("eve", "flagged", ["no a.ipynb"])],
    )
    bob, eve = results.load(tmp_path, "a")
    assert (bob.status, bob.notes, bob.cells, bob.score) == ("flagged", ["a.ipynb is an empty file"], [cell], 3.0)
    assert (eve.status, eve.cells, eve.score) == ("flagged", [], None)
    analysis = report.analyse(tmp_path, "a")
    assert [(a.student, a.status) for a in analysis.attention] == [("bob", "flagged"), ("eve", "flagged")]
    assert analysis.exercises[0].not_graded == 1
    assert [(m.diagnosis, m.students) for m in analysis.mistakes] == [("a slip", ["bob"])]


def test_a_regrade_rewrites_the_recorded_results(tmp_path):
    """A resubmission is regraded and its results file follows; a flagged one keeps the earlier cells."""
    from autograder.grading import pipeline, submissions
    from autograder.grading.release import release
    from tests.conftest import CELL_TIMEOUT, copy_course, sandboxed
    from tests.units.numerical import UNIT as NUMERICAL

    root = copy_course(tmp_path / "course")
    assignment = NUMERICAL.assignment
    release(root, [assignment])
    released, source = submissions.load_pair(root, assignment)
    name = "gradient_check_forward_difference"
    mutant = NUMERICAL.mutants[name]
    options = {"jobs": 1, "feedback": False, "cell_timeout": CELL_TIMEOUT, "progress": False}

    def grade(force: bool = False) -> results.SubmissionResult:
        pipeline.grade(root, assignment, use_sandbox=sandboxed(), force=force, **options)
        return results.load(root, assignment)[0]

    submissions.write(root, assignment, "carol", submissions.fill(released, source))
    first = grade()
    assert (first.status, first.score) == ("graded", 100) and not report.analyse(root, assignment).mistakes
    solved = set(submissions.solution_cells(source)) - {mutant.cell}
    resubmitted = submissions.fill(released, source, replaced={mutant.cell: mutant.code(source)}, solved=solved)
    submissions.write(root, assignment, "carol", resubmitted)
    second = grade()
    assert second.score < 100
    assert [(m.exercise, m.diagnosis, m.students) for m in report.analyse(root, assignment).mistakes] == [
        (cell, mutant.diagnoses[0], ["carol"]) for cell in mutant.loses
    ]
    third = grade(force=True)
    assert third.recorded >= second.recorded and third.cells == second.cells
    (root / "submitted" / "carol" / assignment / f"{assignment}.ipynb").write_text("")
    flagged = grade()
    assert (flagged.status, flagged.cells) == ("flagged", second.cells)
    assert "empty file" in " ".join(flagged.notes)
