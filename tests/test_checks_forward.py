"""Unit 03's checks on their own, in one process: the reference passes, named mistakes fail with a
readable diagnosis, and every check runs the same number of observations whatever the student's code."""

from __future__ import annotations

import contextlib

import nbformat
import pytest

import autograder.checks.forward as checks
import autograder.checks.kit.case as case
import autograder.checks.programs as programs
from autograder.feedback import CheckFailure
from tests.conftest import REPO
from tests.units.forward import MUTANTS
from tests.units.harness import solution_namespace

SOURCE = nbformat.read(REPO / "source" / "03_forward" / "03_forward.ipynb", as_version=4)
CELLS = ("dual_code", "functions_code", "trace_code", "derivative_code", "jvp_code", "jacobian_code")
NAMES = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")


def solution(replaced: dict[str, str] | None = None) -> dict:
    """The namespace of the source notebook's solution cells (with some cells replaced)."""
    return solution_namespace(SOURCE, CELLS, replaced)


def functions(ns: dict) -> tuple:
    return tuple(ns[name] for name in NAMES)


def run_all(ns: dict) -> None:
    """The checks of the hidden suite, in a few cases each."""
    checks.check_dual_arithmetic(ns["Dual"], seed=1, count=2)
    checks.check_dual_powers(ns["Dual"], seed=1, count=1)
    checks.check_elementary(ns["Dual"], functions(ns), x=1.1, tangent=-1.5)
    checks.check_dual_expression(ns["Dual"], functions(ns), seed=1, count=3)
    checks.check_dual_vectorized(ns["Dual"], functions(ns), seed=1, count=1)
    try:
        trace = ns["tangent_trace"](2.0, 5.0)
    except NotImplementedError:
        trace = None
    checks.check_forward_trace(trace)
    checks.check_tangent_trace(ns["tangent_trace"], seed=1, count=2)
    checks.check_derivative(ns["derivative"], functions(ns), seed=1, count=2)
    checks.check_jvp(ns["jvp"], functions(ns), seed=1, count=4)
    checks.check_jacobian_forward(ns["jacobian_forward"], functions(ns), seed=1, count=4)


def run_programs(ns: dict) -> None:
    """The programs checks (value comparisons, value-dependent programs through `derivative`)."""
    programs.check_comparisons(ns["Dual"])
    programs.check_programs(ns["derivative"], ns["Dual"], functions(ns), seed=1, count=4)


def test_reference_solution_passes_every_check():
    run_all(solution())
    run_programs(solution())


@pytest.mark.parametrize(
    ("mutant", "phrase"),
    [
        ("product_multiplies_tangents", "product rule"),
        ("quotient_rule_sign", "quotient rule"),
        ("rsub_direction", "__rsub__"),
        ("rtruediv_direction", "__rtruediv__"),
        ("missing_radd", "__radd__"),
        ("pow_via_exp_log", "exp(n log x)"),
        ("sin_missing_chain_factor", "chain rule"),
        ("trace_product_missing_term", "product rule"),
        ("jacobian_transposed", "transposed"),
        ("jvp_extra_call_for_the_value", "called 2 times"),
        # a call of f on plain numbers (to learn m) is an extra pass here: the message says the rule
        ("jacobian_extra_pass", "a call on plain numbers counts too"),
        ("derivative_by_central_difference", "f was called"),
    ],
)
def test_named_mistake_fails_with_its_diagnosis(mutant, phrase):
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    with pytest.raises(CheckFailure) as caught:
        run_all(ns)
    assert phrase in " ".join(str(caught.value).split()), str(caught.value)
    assert caught.value.diagnosis in m.diagnoses, str(caught.value)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_diagnosis_names_only_the_mistake_the_mutant_makes(mutant):
    """The first failure of the checks names the mutant's own mistake or none (never another one)."""
    m = MUTANTS[mutant]
    ns = solution({m.cell: m.code(SOURCE)})
    with pytest.raises(CheckFailure) as caught:
        run_all(ns)
        run_programs(ns)
    assert caught.value.diagnosis in ("", *m.diagnoses), str(caught.value)


def test_every_check_observes_as_often_for_a_stub_as_for_the_reference(monkeypatch):
    counts = []

    def counting(observe, judge):
        counts[-1] += 1
        with contextlib.suppress(Exception):  # the student's code raised: in the runtime, an observation
            observe()

    monkeypatch.setattr(checks.cases, "run_check", counting)
    monkeypatch.setattr(case, "run_check", counting)  # the checks that run through kit.case.Case
    stub = "raise NotImplementedError()"
    for ns in (solution(), {name: (lambda *a, **k: exec(stub)) for name in (*NAMES, "Dual", "derivative", "jvp")}):
        ns.setdefault("tangent_trace", lambda *a: exec(stub))
        ns.setdefault("jacobian_forward", lambda *a: exec(stub))
        counts.append(0)
        run_all(ns)
    assert counts[0] == counts[1] > 0


# --- issue 21: a hint only when the observation supports it ----------------------------------------

SIN_DUAL = "return Dual(np.sin(x.value), np.cos(x.value) * x.tangent)"


def _with_sin(new: str) -> dict:
    """The reference solution with sin's Dual branch replaced."""
    from autograder.grading import submissions

    code = submissions.solution_code(submissions.solution_cells(SOURCE)["functions_code"])
    assert code.count(SIN_DUAL) == 1
    return solution({"functions_code": code.replace(SIN_DUAL, new)})


def test_a_wrong_tangent_on_arrays_is_not_told_to_use_numpy():
    """sin's tangent without the chain factor ȧ, on array duals: the old hint ("use numpy's functions
    ..., not math's; no `if` on a value; no float(...) of a value") blamed what the code does right."""
    ns = _with_sin("return Dual(np.sin(x.value), np.cos(x.value))")
    with pytest.raises(CheckFailure) as caught:
        checks.check_dual_vectorized(ns["Dual"], functions(ns), seed=1, count=1)
    text = " ".join(str(caught.value).split())
    assert "the tangent is wrong" in text, text
    assert "numpy's functions" not in text and "math's" not in text and "Likely mistake" not in text, text


def test_an_if_on_an_array_value_gets_the_truth_value_hint():
    """The hint survives where numpy's error is its evidence: an `if` on an array value."""
    ns = _with_sin("return Dual(np.sin(x.value), np.cos(x.value) * x.tangent if x.value == x.value else 0.0)")
    with pytest.raises(CheckFailure) as caught:
        checks.check_dual_vectorized(ns["Dual"], functions(ns), seed=1, count=1)
    text = " ".join(str(caught.value).split())
    assert "truth value" in text and "one truth value: compute elementwise" in text, text


def test_a_wrong_tangent_in_an_expression_gets_no_guessed_cause():
    """A wrong sin tangent in random expressions: the old hint ("the checks above test each operation and
    function alone; a mistake that shows only in combination is often a missing chain factor ... or a
    number operand handled as if it were the Dual") guessed; the message now says what is wrong, and a
    relation of the tangent to the truth when one holds."""
    ns = _with_sin("return Dual(np.sin(x.value), 2.0 * np.cos(x.value) * x.tangent)")
    with pytest.raises(CheckFailure) as caught:
        checks.check_dual_expression(ns["Dual"], functions(ns), seed=1, count=3)
    text = " ".join(str(caught.value).split())
    assert "the tangent is wrong" in text and "checks above" not in text, text
    assert caught.value.diagnosis in ("", "off by a constant factor"), text


@pytest.mark.parametrize(
    ("body", "hinted"), [("int(f(Dual(x, 1.0)).tangent)", False), ("f(Dual(x, 0.0)).tangent", True)]
)
def test_the_seed_hint_only_when_f_was_called_with_tangent_zero(body, hinted):
    """A derivative of 0: from int(...) of a right tangent of size below 1 (seeded with 1) the old hint
    "seed the input with tangent 1: Dual(x, 1.0)." was wrong; only a seed 0 that f received shows it."""
    ns = solution()
    dual = ns["Dual"]

    def derivative(f, x):
        return eval(body, {"Dual": dual, "f": f, "x": x})

    with pytest.raises(CheckFailure) as caught:
        checks.check_derivative(derivative, functions(ns), f="sin(x)", x=1.0)
    text = " ".join(str(caught.value).split())
    assert "the derivative is wrong." in text and "Got 0" in text, text
    assert ("seed the input with tangent 1" in text) == hinted, text


def test_a_reflected_method_that_fails_inside_is_not_told_to_define_it():
    """__rsub__ defined but failing inside (it calls a helper that does not exist): the old hint "`3 - x` is
    Dual.__rsub__(x, 3): define __rsub__ ..." told to define what is there; only Python's "unsupported
    operand" (a missing method) or an error that names the method supports it."""
    from autograder.grading import submissions

    code = submissions.solution_code(submissions.solution_cells(SOURCE)["dual_code"])
    old = "        return lift(other) - self\n"
    assert code.count(old) == 1
    ns = solution({"dual_code": code.replace(old, "        return lifted(other) - self\n")})
    with pytest.raises(CheckFailure) as caught:
        checks.check_dual_arithmetic(ns["Dual"], ["3 - x"])
    text = " ".join(str(caught.value).split())
    assert "NameError" in text and "define __rsub__" not in text, text
