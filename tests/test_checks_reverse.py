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


# --- issue 21: a hint only when the observation supports it ----------------------------------------


def _var_with(old: str, new: str) -> type:
    """The reference Var with one substitution made in its cell."""
    code = solution_code(SOURCE, "var_code")
    assert code.count(old) == 1, old
    return solution({"var_code": code.replace(old, new)})["Var"]


def solution_code(source: nbformat.NotebookNode, cell: str) -> str:
    from autograder.grading import submissions

    return submissions.solution_code(submissions.solution_cells(source)[cell])


def test_a_chain_cut_short_is_not_told_about_nodes_used_several_times():
    """A backward that processes only the last 1000 nodes leaves a.grad 0 in the chain of 100 000
    operations, where every node is used once: the old hint ("every node used several times must add
    up the contributions of all its uses") named a cause the chain cannot have. Now the message says
    what is wrong and stops."""
    var = _var_with("for node in reversed(order):", "for node in reversed(order[-1000:]):")
    with pytest.raises(CheckFailure) as caught:
        checks.check_backward_graph(var, "chain")
    text = " ".join(str(caught.value).split())
    assert "a.grad is wrong." in text and "Got 0.0." in text, text
    assert "used several times" not in text and "Likely mistake" not in text, text


def test_a_wrong_local_derivative_of_add_is_not_told_to_process_nodes_in_order():
    """d = b*b + b with the local derivative of + for the right operand 2 instead of 1: b.grad is
    wrong and a.grad = 3 b.grad, so b passed on its complete grad. The old fallback hint ("a node's grad
    must be complete ... reverse topological order") guessed; now no hint."""
    var = _var_with("((self, 1.0), (other, 1.0))", "((self, 1.0), (other, 2.0))")
    with pytest.raises(CheckFailure) as caught:
        checks.check_backward_graph(var, "shared")
    text = " ".join(str(caught.value).split())
    assert "a.grad is wrong." in text and "reverse topological order" not in text, text
    assert caught.value.diagnosis == "", text


def test_nodes_processed_parents_first_are_told_so_from_a_grad_not_three_times_b_grad():
    """The nodes processed in topological order (parents first): b passes on 0 before its shares
    arrive, a.grad is 0 though b.grad ends right: a.grad != 3 b.grad is the evidence for the hint."""
    var = _var_with("for node in reversed(order):", "for node in order:")
    with pytest.raises(CheckFailure) as caught:
        checks.check_backward_graph(var, "shared")
    text = " ".join(str(caught.value).split())
    assert "a.grad is not 3 * b.grad" in text and "reverse topological order" in text, text


@pytest.mark.parametrize(
    ("seed", "hinted"), [("self.grad += 1.0", True), ("self.grad += grad * grad", False)], ids=["one", "squared"]
)
def test_the_seed_hint_only_when_backward_seeded_with_one(seed, hinted):
    """backward(2.0) giving dd/da is the seed 1 (hinted); giving 4 dd/da (the seed squared) is not:
    the old message told that one too to seed with grad rather than 1."""
    var = _var_with("self.grad += grad", seed)
    with pytest.raises(CheckFailure) as caught:
        checks.check_backward_graph(var, "accumulate")
    text = " ".join(str(caught.value).split())
    assert "d.backward(2.0) should give" in text, text
    assert ("as if seeded with 1" in text) == hinted, text
    assert ("Likely mistake" in text) == hinted, text
