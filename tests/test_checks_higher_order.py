"""Unit 07's checks on their own, in one process: the reference passes on other seeds than the
notebook's, and named mistakes fail with a readable diagnosis."""

from __future__ import annotations

import nbformat
import pytest

import autograder.checks.higher_order as checks
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
        "    f(*leaves).backward()\n    return 2 * np.array(",
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
    assert "Likely mistake (" not in str(caught.value)


@pytest.mark.parametrize("mutant", ["hvp_seeded_with_ones", "hvp_by_full_hessian", "hvp_output_seeded_with_tangent"])
def test_hessian_names_no_mistake_of_its_own_when_hvp_is_wrong(mutant):
    """hessian is right given a wrong hvp: its failure must not blame the Hessian's assembly."""
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    functions = tuple(ns[name] for name in NAMES)
    with pytest.raises(CheckFailure) as caught:
        checks.check_hessian(ns["hessian"], ns["Var"], functions, "(1 - x1)**2 + 100*(x2 - x1**2)**2", x=[-1.2, 1.0])
    assert caught.value.diagnosis == ""
