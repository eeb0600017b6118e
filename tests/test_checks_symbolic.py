"""Fast tests of unit 02's checks: the safe srepr reader and the watch on SymPy's differentiation."""

from __future__ import annotations

import pytest
import sympy

from autograder.checks.symbolic import Unreadable, _DiffWatch, _rebuild, check_derivative_rules, read_expression
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

    with pytest.raises(CheckFailure, match="one term per factor"):
        check_derivative_rules(first_factor_only, "x**2*(x + 1)*(2*x - 3)")
