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


@pytest.mark.parametrize(
    ("mutant", "phrase"),
    [
        ("hvp_seeded_with_ones", "not with 1"),
        ("hvp_by_full_hessian", "reverse passes"),
        ("hvp_output_seeded_with_tangent", "seeded with a tangent"),
        ("hessian_two_hvps_per_column", "reverse passes"),
        ("newton_plus_sign", "sign of the step"),
        ("derivative_untagged", "perturbation confusion"),
        ("no_grad_restores_true_when_nested", "not True"),
        ("checkpoint_keeps_forward_graph", "forward pass"),
    ],
)
def test_named_mistake_fails_with_its_diagnosis(mutant, phrase):
    m = MUTANTS[mutant]
    with pytest.raises(CheckFailure) as caught:
        run_all(solution({m.cell: m.code(SOURCE)}))
    assert phrase in " ".join(str(caught.value).split())
