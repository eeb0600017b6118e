"""Unit 04's checks on their own, in one process: the reference passes, named mistakes fail with a
readable diagnosis, and every check runs the same number of observations whatever the student's code."""

from __future__ import annotations

import contextlib

import nbformat
import pytest

import autograder.checks.jacobian_chain as jacobian_chain
import autograder.checks.kit.case as case
import autograder.checks.programs as programs
import autograder.checks.reverse as checks
from autograder.feedback import CheckFailure
from tests.conftest import REPO
from tests.units.harness import solution_namespace
from tests.units.reverse import ALTERNATIVES, MUTANTS

SOURCE = nbformat.read(REPO / "source" / "04_reverse" / "04_reverse.ipynb", as_version=4)
CELLS = ("var_code", "functions_code", "trace_code", "grad_code", "vjp_code", "jacobian_code", "chain_code")
NAMES = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")


def solution(replaced: dict[str, str] | None = None) -> dict:
    """The namespace of the source notebook's solution cells (with some cells replaced)."""
    return solution_namespace(SOURCE, CELLS, replaced)


def functions(ns: dict) -> tuple:
    return tuple(ns[name] for name in NAMES)


def run_all(ns: dict) -> None:
    """The checks of the hidden suite, in a few cases each."""
    var = ns["Var"]
    checks.check_var_arithmetic(var)
    checks.check_var_arithmetic(var, seed=1, count=1)
    checks.check_var_functions(var, functions(ns), x=1.1, relu=ns["relu"])
    checks.check_var_expression(var, functions(ns), seed=1, count=3)
    checks.check_backward_graph(var)
    try:
        trace = ns["adjoint_trace"](2.0, 5.0)
    except NotImplementedError:
        trace = None
    checks.check_reverse_trace(trace)
    checks.check_adjoint_trace(ns["adjoint_trace"], seed=1, count=2)
    checks.check_grad(ns["grad"], var, functions(ns), seed=1, count=3)
    checks.check_vjp(ns["vjp"], var, functions(ns), seed=1, count=4)
    checks.check_jacobian_reverse(ns["jacobian_reverse"], var, functions(ns), seed=1, count=4)


def run_new_exercises(ns: dict) -> None:
    """The programs checks (through `grad`) and the Jacobian chain's."""
    programs.check_comparisons(ns["Var"], mode="grad")
    programs.check_programs(ns["grad"], ns["Var"], functions(ns), seed=1, count=4, mode="grad")
    jacobian_chain.check_bracketing_cost(ns["bracketing_cost"], seed=1, count=4)
    jacobian_chain.check_mode_costs(ns["forward_cost"], ns["reverse_cost"], seed=1, count=3)
    jacobian_chain.check_cheapest_bracketing(ns["cheapest_bracketing"], seed=1, count=6)


def test_reference_solution_passes_every_check():
    run_all(solution())
    run_new_exercises(solution())


@pytest.mark.parametrize(
    ("mutant", "phrase"),
    [
        ("naive_recursion", "overwritten instead of accumulated"),
        ("recursive_topological_sort", "recursion limit"),
        ("leaves_reset_on_each_backward", "a second backward adds to the leaves' grads"),
        ("inner_nodes_not_reset", "inner grads not reset"),
        ("swapped_product_locals", "swapped"),
        ("subtraction_sign", "∂(x - y)/∂y = -1"),
        ("division_sign", "minus sign"),
        ("exp_local_derivative", "local derivative of exp"),
        ("trace_overwrites_shared_adjoint", "sums of two terms"),
        ("vjp_ignores_u", "weight output i by u[i]"),
        ("vjp_one_pass_per_output", "reverse passes"),
        ("jacobian_transposed", "transposed"),
        ("jacobian_no_reset_between_passes", "not reset between passes"),
        ("grad_by_central_difference", "not with Var inputs"),
        ("vjp_extra_call_for_the_value", "vjp calls f exactly once"),
        ("jacobian_differences_beside_the_passes", "does not come from the reverse passes"),
    ],
)
def test_named_mistake_fails_with_its_diagnosis(mutant, phrase):
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    with pytest.raises(CheckFailure) as caught:
        run_all(ns)
    assert phrase in " ".join(str(caught.value).split()), str(caught.value)
    assert caught.value.diagnosis in m.diagnoses, str(caught.value)


@pytest.mark.parametrize("alternative", sorted(ALTERNATIVES))
def test_correct_alternative_passes_every_check(alternative):
    """Among them a jacobian_reverse that calls f once on plain floats to learn m, then makes m reverse
    passes on Vars: the contract counts reverse passes, so the extra call costs nothing (issue 17)."""
    ns = solution(ALTERNATIVES[alternative].cells)
    run_all(ns)
    run_new_exercises(ns)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_diagnosis_names_only_the_mistake_the_mutant_makes(mutant):
    """The first failure of the checks names the mutant's own mistake or none (never another one)."""
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    with pytest.raises(CheckFailure) as caught:
        run_all(ns)
        run_new_exercises(ns)
    assert caught.value.diagnosis in ("", *m.diagnoses), str(caught.value)


def test_exponential_backward_is_stopped_by_the_guard():
    m = MUTANTS["naive_recursion"]
    ns = solution({m.cell: m.code(SOURCE)})
    with pytest.raises(CheckFailure) as caught:
        checks.check_backward_graph(ns["Var"], "diamond")
    assert "did not finish within" in str(caught.value)


def test_every_check_observes_as_often_for_a_stub_as_for_the_reference(monkeypatch):
    counts = []

    def counting(observe, judge):
        counts[-1] += 1
        with contextlib.suppress(Exception):  # the student's code raised: in the runtime, an observation
            observe()

    monkeypatch.setattr(checks.cases, "run_check", counting)
    monkeypatch.setattr(case, "run_check", counting)  # the checks that run through kit.case.Case
    stub = "raise NotImplementedError()"
    for ns in (solution(), {name: (lambda *a, **k: exec(stub)) for name in (*NAMES, "Var", "relu", "grad", "vjp")}):
        ns.setdefault("adjoint_trace", lambda *a: exec(stub))
        ns.setdefault("jacobian_reverse", lambda *a: exec(stub))
        counts.append(0)
        run_all(ns)
    assert counts[0] == counts[1] > 0
