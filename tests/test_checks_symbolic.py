"""Fast tests of unit 02's checks: the safe srepr reader and the watch on SymPy's differentiation."""

from __future__ import annotations

import pytest
import sympy

from autograder.checks.symbolic import check_derivative_rules, check_jacobian_expr, check_to_function
from autograder.checks.symbolic.cases import (
    Unreadable,
    _DiffWatch,
    _rebuild,
    _shifted_swell,
    read_expression,
    swell_truth,
)
from autograder.checks.symbolic.mistakes import (
    FIRST_FACTOR_ONLY,
    JACOBIAN_TRANSPOSED,
    NOT_VECTORIZED,
    ONE_STEP_TOO_FEW,
    ONE_STEP_TOO_MANY,
)
from autograder.feedback import CheckFailure


def test_srepr_round_trip():
    x = sympy.Symbol("x", real=True)
    expr = x**x * sympy.sin(x) / (1 + sympy.exp(-x)) + sympy.Rational(3, 2) * sympy.log(x) + sympy.Float(0.25)
    assert _rebuild(sympy.srepr(expr)) == expr


@pytest.mark.parametrize(
    "text", ["__import__('os').system('true')", "Symbol('x').__class__", "Add(lambda: 1)", "Function('f')(Integer(1))"]
)
def test_srepr_reader_runs_no_code(text):
    with pytest.raises(Unreadable):
        _rebuild(text)


def test_unevaluated_derivative_and_foreign_symbols_fail_readably():
    x = sympy.Symbol("x")
    with pytest.raises(CheckFailure, match="unevaluated derivative"):
        read_expression({"srepr": sympy.srepr(sympy.Derivative(sympy.sin(x), x))}, "d(sin(x), x)", ["x"])
    with pytest.raises(CheckFailure, match="symbol"):
        read_expression({"srepr": sympy.srepr(sympy.Symbol("z"))}, "d(x, x)", ["x"])


def test_watch_sees_diff_through_an_alias_but_not_simplify():
    from sympy import diff as d

    x = sympy.Symbol("x", real=True)
    with _DiffWatch() as watch:
        d(sympy.sin(x) * x, x)
    assert watch.used
    expr = x * (x - 1) * sympy.log((x**2 + 2) ** (2 * x / (x**2 + 1)) + 2)
    with _DiffWatch() as watch:
        sympy.simplify(expr)
    assert not watch.used and not watch.tampered


def test_wrong_product_rule_is_named():
    def first_factor_only(expr, x):
        if expr == x:
            return sympy.Integer(1)
        if not expr.has(x):
            return sympy.Integer(0)
        if expr.is_Add:
            return sympy.Add(*[first_factor_only(a, x) for a in expr.args])
        if expr.is_Mul:
            return sympy.Mul(first_factor_only(expr.args[0], x), *expr.args[1:])
        base, exponent = expr.args
        return exponent * base ** (exponent - 1) * first_factor_only(base, x)

    with pytest.raises(CheckFailure, match="one term per factor") as failed:
        check_derivative_rules(first_factor_only, "x**2*(x + 1)*(2*x - 3)")
    assert failed.value.diagnosis == FIRST_FACTOR_ONLY.name
    assert "02_symbolic.ipynb" in str(failed.value)


def test_a_stub_returning_zero_gets_no_diagnosis():
    # The first-factor-only probe of 3x^2 + 2x + 1 is 0 too: a 0 everywhere is no evidence of a rule.
    with pytest.raises(CheckFailure) as failed:
        check_derivative_rules(lambda expr, x: sympy.Integer(0), "3*x**2 + 2*x + 1")
    assert failed.value.diagnosis == ""
    assert "Likely mistake" not in str(failed.value)


def test_an_unrecognised_wrong_derivative_keeps_the_general_message():
    with pytest.raises(CheckFailure) as failed:
        check_derivative_rules(lambda expr, x: sympy.cos(x) + 1, "sin(x)")
    assert failed.value.diagnosis == ""


def _truth_table(n_max: int, shift: int = 0) -> list[tuple[int, ...]]:
    return [(n, *swell_truth(n + shift)[:2], swell_truth(n + shift)[2][0]) for n in range(1, n_max + 1)]


def test_a_swell_table_shifted_by_one_step_is_named():
    assert _shifted_swell(_truth_table(4)) is None
    assert _shifted_swell(_truth_table(4, 1)).name == ONE_STEP_TOO_MANY.name
    assert _shifted_swell([_truth_table(4)[0], *_truth_table(4, -1)[1:]]).name == ONE_STEP_TOO_FEW.name
    assert _shifted_swell([(1, 0, 0, 0), (2, 5, 9, 9)]) is None
    assert _shifted_swell("not a table") is None


def test_a_square_jacobian_transposed_is_named():
    x1, x2 = sympy.symbols("x1 x2", real=True)
    # the entries of the 2x2 Jacobian of (x1 x2, x2 sin x1), differentiated here (the check forbids
    # sympy.diff inside the student's function), returned transposed
    partials = {(x1 * x2, x1): x2, (x1 * x2, x2): x1, (x2 * sympy.sin(x1), x1): x2 * sympy.cos(x1)}
    partials[(x2 * sympy.sin(x1), x2)] = sympy.sin(x1)

    def transposed(exprs, xs):
        return sympy.Matrix([[partials[(f, x)] for x in xs] for f in exprs]).T

    with pytest.raises(CheckFailure) as failed:
        check_jacobian_expr(transposed, ["x1*x2", "x2*sin(x1)"])
    assert failed.value.diagnosis == JACOBIAN_TRANSPOSED.name


def test_a_function_of_numbers_only_is_named():
    pytest.importorskip("numpy")

    def scalar_only(expr, xs):
        return lambda *values: float(expr.subs(dict(zip(xs, values, strict=True))))

    with pytest.raises(CheckFailure) as failed:
        check_to_function(scalar_only, "x1*sin(x2)", xs=["x1", "x2"])
    assert failed.value.diagnosis == NOT_VECTORIZED.name


# --- issue 21: a hint only when the observation supports it ----------------------------------------


def _swell_with_ops(change: dict[int, int]):
    """expression_swell returning the true table with the ops of l_n replaced in the rows of `change`."""

    def expression_swell(n_max):
        rows = _truth_table(n_max)
        return [(n, change.get(n, ops), naive, simple) for n, ops, naive, simple in rows]

    return expression_swell


def test_an_ops_count_off_by_one_is_not_told_it_was_expanded():
    """The ops of l_3 one too many (9, where expanded it has 10): the old hint ("count the ops of l_n as
    the recursion builds it (do not expand or simplify it).") guessed an expansion; now the row says what
    is wrong and stops."""
    from autograder.checks.symbolic import check_expression_swell

    ops = swell_truth(3)[0]
    with pytest.raises(CheckFailure) as failed:
        check_expression_swell(_swell_with_ops({3: ops + 1}))
    text = " ".join(str(failed.value).split())
    assert f"row 3: the ops of l_n should be {ops}, but it is {ops + 1}." in text, text
    assert "Likely mistake" not in text, text


def test_an_expanded_l_n_is_told_so():
    """The ops of l_3 expanded: the count is the evidence of the hint."""
    from autograder.checks.symbolic import check_expression_swell
    from autograder.checks.symbolic.cases import _expanded_ops

    with pytest.raises(CheckFailure) as failed:
        check_expression_swell(_swell_with_ops({3: _expanded_ops(3)}))
    text = " ".join(str(failed.value).split())
    assert f"{_expanded_ops(3)} is the count of l_3 expanded" in text, text
