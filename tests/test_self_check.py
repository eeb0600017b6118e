"""The self-check cell of every released notebook and `autograder check NOTEBOOK [--json]`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest
import sympy
from nbclient import NotebookClient

from autograder import self_check
from autograder.feedback import diagnoses_in
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units import symbolic
from tests.units.harness import Mutant, solution_namespace

ASSIGNMENTS = sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())
SYMBOLIC = REPO / "release" / "02_symbolic" / "02_symbolic.ipynb"


def _release(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "release" / name / f"{name}.ipynb", as_version=4)


def _source(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "source" / name / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_release_ends_with_a_locked_self_check_and_a_thorough_one_that_name_their_notebook(name):
    notebook = _release(name)
    prose, plain, thorough_prose, thorough = notebook.cells[-4:]
    for cell, grade_id in ((plain, "self_check"), (thorough, "self_check_thorough")):
        grading = cell.metadata["nbgrader"]
        assert cell.cell_type == "code" and grading["grade_id"] == grade_id
        assert grading["locked"] and not grading["grade"] and not grading["solution"]
    assert f'self_check("{name}.ipynb")' in plain.source
    assert f'self_check("{name}.ipynb", thorough=True)' in thorough.source
    assert "hidden tests" in prose.source.lower() and f"autograder check {name}.ipynb" in prose.source
    assert "random cases" in thorough_prose.source and "--thorough" in thorough_prose.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_self_check_runs_every_graded_cell_and_never_a_hidden_test(name):
    release, source = _release(name), _source(name)
    from_release, from_source = self_check.visible_tests(release), self_check.visible_tests(source)
    graded = [c.metadata["nbgrader"] for c in release.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [(t.name, t.points) for t in from_release] == [(g["grade_id"], g["points"]) for g in graded]
    assert sum(t.points for t in from_release) == 100
    # The instructor's copy gives the same tests: its hidden blocks are left out.
    assert [(t.name, t.code.strip()) for t in from_source] == [(t.name, t.code.strip()) for t in from_release]
    assert not any("HIDDEN" in t.code for t in from_source)


def _symbolic_results(replaced: dict[str, str] | None = None, cells: tuple[str, ...] | None = None):
    source = _source("02_symbolic")
    cells = tuple(submissions.solution_cells(source)) if cells is None else cells
    namespace = solution_namespace(source, cells, replaced, namespace={"sp": sympy})  # the setup cell's import
    return {r.name: r for r in self_check.run_tests(self_check.visible_tests(_release("02_symbolic")), namespace)}


def test_a_correct_notebook_passes_every_visible_test():
    results = _symbolic_results()
    assert all(r.passed and r.points == r.max_points and not r.message for r in results.values())
    text = self_check.summary(list(results.values()), "02_symbolic.ipynb")
    assert text.splitlines()[-1] == "Self-check: all 9 visible tests pass (100 of 100 points)."


def test_a_mistake_fails_its_exercises_with_the_checks_message_and_keeps_the_others():
    mutant = symbolic.MUTANTS["sin_missing_chain_factor"]
    results = _symbolic_results({mutant.cell: mutant.code(_source("02_symbolic"))})
    failing = {name for name, r in results.items() if not r.passed}
    assert failing == set(mutant.loses)
    chain = results["derivative_rules_chain"]
    assert chain.points == 0 and chain.max_points == 14
    assert chain.message.startswith("derivative_rules(") and "Expected" in chain.message
    text = self_check.summary(list(results.values()), "02_symbolic.ipynb")
    assert "✗ derivative_rules_chain" in text and "✓ derivative_rules_basic" in text
    assert text.splitlines()[-1] == "Self-check: 1 of 9 visible tests fail (86 of 100 points so far)."


def test_a_recognised_mistake_is_named_in_the_message_and_the_diagnosis_field():
    mutant = symbolic.MUTANTS["tan_derivative_sec_not_squared"]
    results = _symbolic_results({mutant.cell: mutant.code(_source("02_symbolic"))})
    chain = results["derivative_rules_chain"]
    assert (chain.diagnosis,) == mutant.diagnoses == ("sec not squared",)
    assert diagnoses_in(chain.message) == ["sec not squared"]
    assert all(r.diagnosis == "" for r in results.values() if r.passed)


def test_a_missing_function_and_stderr_output_are_explained():
    results = _symbolic_results(cells=())  # nothing defined: every test meets a NameError
    assert all("Run the cells above first" in r.message for r in results.values())
    noisy = self_check.VisibleTest("noisy", 5, "import sys\nprint('warning', file=sys.stderr)")
    result = self_check.run_test(noisy, {})
    assert not result.passed and "stderr" in result.message and result.points == 0


def test_the_self_check_does_nothing_in_a_kernel_started_by_the_grader(monkeypatch, capsys):
    monkeypatch.setenv("AUTOGRADER_RECORDS", "/nonexistent/records.jsonl")
    self_check.self_check("02_symbolic.ipynb")
    assert capsys.readouterr().out.strip() == self_check.SKIPPED_WHILE_GRADING


def test_a_renamed_notebook_gets_told_how_to_point_the_self_check_at_it(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    self_check.self_check("02_symbolic.ipynb")
    assert 'self_check("my_copy.ipynb")' in capsys.readouterr().out


def _check(*arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "autograder.cli", "check", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)


def test_check_command_on_the_released_stub_fails_with_every_message(tmp_path):
    done = _check(str(SYMBOLIC), "--json")
    assert done.returncode == 1, done.stderr
    results = json.loads(done.stdout)
    assert results["passed"] is False and results["points"] == 0 and results["max_points"] == 100
    assert [t["name"] for t in results["tests"]][:2] == ["derivative_rules_basic", "derivative_rules_chain"]
    assert all(set(t) == {"name", "points", "max_points", "passed", "message", "diagnosis"} for t in results["tests"])
    assert all("not implemented yet" in t["message"] for t in results["tests"])


def test_check_command_passes_a_correct_notebook_and_prints_the_summary(tmp_path):
    filled = submissions.fill(_release("02_symbolic"), _source("02_symbolic"))
    path = tmp_path / "02_symbolic.ipynb"
    nbformat.write(filled, path)
    done = _check(str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Self-check: all 9 visible tests pass (100 of 100 points)."


def test_check_command_says_why_it_cannot_check(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    done = _check(str(broken))
    assert done.returncode == 2 and "cannot read" in done.stderr
    lecture = _check(str(REPO / "notebooks" / "02_symbolic.ipynb"))
    assert lecture.returncode == 2 and "no graded test cells" in lecture.stderr


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_run_all_on_the_released_stub_reaches_the_self_check(name, tmp_path):
    """Like JupyterLab's Run All: a failing test cell (tagged raises-exception) does not stop the run."""
    notebook = _release(name)
    assert all(
        "raises-exception" in c.metadata.get("tags", [])
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    )
    shutil.copytree(REPO / "release" / name, tmp_path, dirs_exist_ok=True)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    plain, thorough = ("".join(o.get("text", "") for o in c.outputs) for c in (notebook.cells[-3], notebook.cells[-1]))
    assert plain.strip().splitlines()[-1].startswith(f"Self-check: {len(self_check.visible_tests(notebook))} of ")
    assert "not implemented yet" in plain
    # The thorough self-check runs last and leaves out every exercise: no visible test passes.
    assert thorough.strip().splitlines()[-1].startswith("Thorough self-check: nothing run yet"), thorough


def test_a_test_cell_is_graded_code_that_is_not_a_solution():
    """One definition for the self-check and `autograder check`: an autograded answer cell is not a test."""
    from autograder.self_check import is_test_cell

    def cell(kind: str, **grading: object) -> dict:
        return {"cell_type": kind, "metadata": {"nbgrader": grading}, "source": ""}

    assert is_test_cell(cell("code", grade=True, solution=False))
    assert not is_test_cell(cell("code", grade=True, solution=True))  # an autograded answer
    assert not is_test_cell(cell("code", solution=True))
    assert not is_test_cell(cell("markdown", grade=True))
    assert not is_test_cell({"cell_type": "code", "metadata": {}})


def _results(name: str, mutant: Mutant, code: str | None = None) -> dict:
    """The self-check's results (causes traced) on the reference of `name` with one mutant's cell (or `code` there)."""
    source = _source(name)
    namespace: dict = {}
    for cell in source.cells:  # the setup or engine cell the solutions run on
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("setup", "engine"):
            exec(compile(cell.source, "setup", "exec"), namespace)
    solution_namespace(
        source, tuple(submissions.solution_cells(source)), {mutant.cell: code or mutant.code(source)}, namespace
    )
    tests = self_check.visible_tests(_release(name))
    return {r.name: r for r in self_check.trace_causes(self_check.run_tests(tests, namespace))}


def test_a_failure_caused_by_an_exercise_above_says_so_first():
    """hvp wrong: hessian and newton_step start with "`hvp` fails above: fix it first." (issue 21)."""
    from tests.units import higher_order

    results = _results("07_higher_order", higher_order.MUTANTS["hvp_seeded_with_ones"])
    assert not results["hvp"].message.lstrip().startswith("`")  # its own failure: no cause above it
    for name in ("hessian", "newton_step"):
        assert not results[name].passed
        assert results[name].message.lstrip().startswith("`hvp` fails above: fix it first.")
        assert results[name].message.count("fails above") == 1  # the check said it already: not twice
    assert all(r.passed for n, r in results.items() if n not in ("hvp", "hessian", "newton_step"))
    text = self_check.summary(list(results.values()), "07_higher_order.ipynb")
    hessian = text.splitlines().index(next(line for line in text.splitlines() if line.startswith("✗ hessian")))
    assert text.splitlines()[hessian + 1].strip().startswith("`hvp` fails above: fix it first.")


def test_a_tensor_failing_over_a_wrong_unbroadcast_says_so_once():
    """unbroadcast wrong: Tensor's failure starts with the sentence (from its check or the table), once."""
    never_sums = "import numpy as np\n\n\ndef unbroadcast(g, shape):\n    return np.asarray(g)\n"
    results = _results("05_vjp", Mutant("unbroadcast_code", (), ("unbroadcast", "tensor")), never_sums)
    assert not results["unbroadcast"].passed and not results["tensor"].passed
    assert results["tensor"].message.lstrip().startswith("`unbroadcast` fails above: fix it first.")
    assert results["tensor"].message.count("fails above: fix it first.") == 1
    assert not results["unbroadcast"].message.lstrip().startswith("`")


def test_every_dependency_is_a_graded_exercise_above_the_one_that_builds_on_it():
    from autograder import exercise_dependencies as dependencies
    from autograder.checks.kit.dependencies import fails_first

    assert set(dependencies.BUILDS_ON) <= set(ASSIGNMENTS)
    for assignment, table in dependencies.BUILDS_ON.items():
        order = [t.name for t in self_check.visible_tests(_release(assignment))]
        assert dependencies.assignment_of(order) == assignment
        for exercise, builds_on in table.items():
            for name in builds_on:
                assert order.index(name) < order.index(exercise), (assignment, exercise, name)
    table = dependencies.BUILDS_ON["07_higher_order"]
    assert dependencies.builds_on(table, "newton_step") == ["hessian", "hvp"]
    assert dependencies.failing_cause(table, "newton_step", {"hvp", "hessian", "newton_step"}) == "hvp"
    assert dependencies.failing_cause(table, "newton_step", {"hessian", "newton_step"}) == "hessian"
    assert dependencies.failing_cause(table, "newton_step", {"newton_step", "checkpoint"}) is None
    assert dependencies.traced("\nx: wrong.", "hvp") == f"{fails_first('hvp')}\nx: wrong."
    assert (
        dependencies.traced("\n`hvp` fails above: fix it first. x", "hessian") == "\n`hvp` fails above: fix it first. x"
    )


def test_the_thorough_check_traces_causes_too():
    from autograder import thorough

    results = [
        thorough.ExerciseResult("hvp", 4, 3, 0.1, failing_case="check_hvp(...)", message="\nhvp(f, x, v): wrong."),
        thorough.ExerciseResult("hessian", 4, 0, 0.1, failing_case="check_hessian(...)", message="\nhessian: wrong."),
        thorough.ExerciseResult("no_grad", 1, 0, 0.0, skipped="its visible test fails: fix that first (see above)"),
        thorough.ExerciseResult("checkpoint", 3, 1, 0.1, failing_case="check_checkpoint(...)", message="\ny: wrong."),
    ]
    traced = {r.name: r for r in thorough.traced(results)}
    assert traced["hvp"].message == "\nhvp(f, x, v): wrong."
    assert traced["hessian"].message == "`hvp` fails above: fix it first.\nhessian: wrong."
    assert traced["checkpoint"].message == "`no_grad` fails above: fix it first.\ny: wrong."
    text = thorough.summary(list(traced.values()), "07_higher_order.ipynb", 5)
    assert "      `hvp` fails above: fix it first.\n      hessian: wrong." in text


def test_the_table_traces_a_cause_no_check_names():
    """04: grad fails because Var's arithmetic does; the grad check cannot know, the table does."""
    results = [
        self_check.TestResult("var_arithmetic", 0, 10, False, "\nVar(2.0) * Var(3.0): wrong."),
        self_check.TestResult("var_functions", 10, 10, True),
        self_check.TestResult("backward_graph", 0, 10, False, "\nbackward: wrong."),
        self_check.TestResult("grad", 0, 10, False, "\ngrad(f, x): wrong."),
        self_check.TestResult("jacobian_chain", 0, 10, False, "\nbracketing_cost: wrong."),
    ]
    traced = {r.name: r.message for r in self_check.trace_causes(results)}
    assert traced["var_arithmetic"] == "\nVar(2.0) * Var(3.0): wrong."
    assert traced["backward_graph"] == "`var_arithmetic` fails above: fix it first.\nbackward: wrong."
    assert traced["grad"] == "`var_arithmetic` fails above: fix it first.\ngrad(f, x): wrong."  # the root cause
    assert traced["jacobian_chain"] == "\nbracketing_cost: wrong."  # builds on nothing above
