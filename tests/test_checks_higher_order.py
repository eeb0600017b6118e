"""Unit 07's checks on their own, in one process: the reference passes on other seeds than the
notebook's, and named mistakes fail with a readable diagnosis."""

from __future__ import annotations

import nbformat
import pytest

import autograder.checks.higher_order as checks
from autograder.checks.higher_order import mistakes
from autograder.feedback import CheckFailure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.higher_order import MUTANTS

SOURCE = nbformat.read(REPO / "source" / "07_higher_order" / "07_higher_order.ipynb", as_version=4)
CELLS = ("hvp_code", "hessian_code", "newton_code", "derivative_code", "no_grad_code", "checkpoint_code")
NAMES = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")


def solution(replaced: dict[str, str] | None = None) -> dict:
    """The engine (a locked cell) and the solution cells, run in order, some cells replaced."""
    engine = next(c for c in SOURCE.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "engine")
    namespace: dict = {}
    exec(compile(engine.source, "engine", "exec"), namespace)
    answers = submissions.solution_cells(SOURCE)
    for cell in CELLS:
        code = (replaced or {}).get(cell) or submissions.solution_code(answers[cell])
        exec(compile(code, cell, "exec"), namespace)
    return namespace


def run_all(ns: dict) -> None:
    var, functions = ns["Var"], tuple(ns[name] for name in NAMES)
    checks.check_hvp(ns["hvp"], var, functions, seed=11, count=4)
    checks.check_hessian(ns["hessian"], var, functions, seed=11, count=3)
    checks.check_newton_step(ns["newton_step"], var, functions, seed=11, count=3)
    checks.check_nested_derivative(ns["derivative"], functions, seed=11, count=2)
    checks.check_no_grad(ns["no_grad"], var)
    checks.check_checkpoint(ns["checkpoint"], var, functions, seed=11, count=3)


def test_reference_solution_passes_every_check():
    run_all(solution())


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_named_mistake_fails_with_its_diagnosis(mutant):
    """Every named mistake fails, and its failure names the mistake (one the mutant declares)."""
    m = MUTANTS[mutant]
    with pytest.raises(CheckFailure) as caught:
        run_all(solution({m.cell: m.code(SOURCE)}))
    assert caught.value.diagnosis in m.diagnoses
    assert f"Likely mistake ({caught.value.diagnosis}):" in " ".join(str(caught.value).split())


UNRECOGNISED = {  # wrong in a way no probe knows: the failure keeps its general message
    "hvp_code": (
        "    f(*leaves).backward()\n    return np.array(",
        "    f(*leaves).backward()\n    return 1.5 * np.array(",
    ),
    "newton_code": ("return x - np.linalg.solve", "return x - 0.5 * np.linalg.solve"),
    "checkpoint_code": ("recomputed.backward(g)", "recomputed.backward(2 * g)"),
}


@pytest.mark.parametrize("cell", list(UNRECOGNISED))
def test_an_unrecognised_mistake_gets_no_diagnosis(cell):
    answers = submissions.solution_cells(SOURCE)
    old, new = UNRECOGNISED[cell]
    code = submissions.solution_code(answers[cell])
    assert old in code
    with pytest.raises(CheckFailure) as caught:
        run_all(solution({cell: code.replace(old, new)}))
    assert caught.value.diagnosis == ""
    assert "Likely mistake" not in str(caught.value)  # no hint at all: nothing observed supports one


def _text(error: CheckFailure) -> str:
    return " ".join(str(error).split())


HVP_MUTANTS = [
    "hvp_seeded_with_ones",
    "hvp_by_full_hessian",
    "hvp_output_seeded_with_tangent",
    "hvp_two_backward_passes",
]


@pytest.mark.parametrize("mutant", HVP_MUTANTS)
def test_hessian_says_hvp_fails_first_when_hvp_is_wrong(mutant):
    """hessian is right given a wrong hvp: its failure says first that hvp fails, and blames nothing of its own."""
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_hessian(ns["hessian"], ns["Var"], functions, "(1 - x1)**2 + 100*(x2 - x1**2)**2", x=[-1.2, 1.0])
    assert caught.value.diagnosis == ""
    assert _text(caught.value).startswith("`hvp` fails above: fix it first. hessian(f, [-1.2, 1. ]):")
    assert "Likely mistake" not in str(caught.value)


@pytest.mark.parametrize("mutant", ["hvp_seeded_with_ones", "hvp_two_backward_passes"])
def test_newton_step_says_hvp_fails_first_when_hvp_is_wrong(mutant):
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_newton_step(ns["newton_step"], ns["Var"], functions, seed=11, count=2)
    assert caught.value.diagnosis == ""
    assert _text(caught.value).startswith("`hvp` fails above: fix it first. newton_step(f, ")
    assert "Likely mistake" not in str(caught.value)


def test_newton_step_says_hessian_fails_first_when_only_hessian_is_wrong():
    m = MUTANTS["hessian_upper_triangle_only"]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_newton_step(ns["newton_step"], ns["Var"], functions, seed=11, count=2)
    assert _text(caught.value).startswith("`hessian` fails above: fix it first. newton_step(f, ")
    assert caught.value.diagnosis == ""


def test_a_hessian_that_does_not_call_hvp_is_not_told_hvp_fails():
    """The dependency is claimed only when hessian's code calls hvp: one written without it gets its own message."""
    m = MUTANTS["hvp_seeded_with_ones"]
    own = """def hessian(f, x):
    n = len(x)
    columns = []
    for j in range(n):
        leaves = [Var(Dual(float(xi), 1.0 if i == j else 0.0)) for i, xi in enumerate(x)]
        f(*leaves).backward()
        columns.append([leaf.grad.tangent if isinstance(leaf.grad, Dual) else 0.0 for leaf in leaves])
    return np.triu(np.array(columns).T)
"""
    ns = solution({m.cell: m.code(SOURCE), "hessian_code": own})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_hessian(ns["hessian"], ns["Var"], functions, "(1 - x1)**2 + 100*(x2 - x1**2)**2", x=[-1.2, 1.0])
    assert not _text(caught.value).startswith("`hvp` fails above")
    assert caught.value.diagnosis == mistakes.HESSIAN_TRIANGLE.name


def test_checkpoint_says_no_grad_fails_first_when_no_grad_never_restores():
    """The issue's case: a correct checkpoint over a no_grad that leaves recording off is not told about its VJP."""
    m = MUTANTS["no_grad_never_restores"]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_checkpoint(ns["checkpoint"], ns["Var"], functions, "sin(u*w) + 0.5*u", x=0.8, w=1.3, blocks=4)
    text = _text(caught.value)
    assert text.startswith("`no_grad` fails above: fix it first. y = Var(0.8); 4 times y = checkpoint(fn, y, w)")
    assert "recording was left off" in text
    assert "Likely mistake" not in text and caught.value.diagnosis == ""


def test_checkpoint_says_no_grad_fails_first_when_no_grad_never_disables():
    m = MUTANTS["no_grad_never_disables"]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_checkpoint(ns["checkpoint"], ns["Var"], functions, seed=11, count=2)
    assert _text(caught.value).startswith("`no_grad` fails above: fix it first.")
    assert caught.value.diagnosis == ""


@pytest.mark.parametrize("mutant", ["no_grad_never_restores", "no_grad_not_restored_after_exception"])
def test_a_broken_no_grad_does_not_leave_recording_off_for_later_checks(mutant):
    """check_no_grad puts GradMode back as it found it (on), so the checks after it record as usual."""
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure):
        checks.check_no_grad(ns["no_grad"], ns["Var"])
    assert ns["GradMode"].enabled is True
    checks.check_hvp(ns["hvp"], ns["Var"], functions, seed=11, count=2)  # records, so it passes


def test_checks_start_with_recording_on_whatever_an_earlier_cell_left():
    ns = solution()
    functions = tuple(ns[name] for name in NAMES)
    ns["GradMode"].enabled = False  # e.g. a broken no_grad run in a cell of the notebook
    checks.check_hvp(ns["hvp"], ns["Var"], functions, seed=11, count=2)
    checks.check_checkpoint(ns["checkpoint"], ns["Var"], functions, seed=11, count=2)
    assert ns["GradMode"].enabled is False  # and the kernel is left as it was found
