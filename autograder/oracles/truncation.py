"""Exact values of difference quotients, from Taylor series of SymPy expressions.

By Taylor's theorem, for a smooth f and a step h along coordinate i,

    forward:  (f(x + h e_i) - f(x)) / h          = sum_{k>=1} h^(k-1)/k!  d^k f/dx_i^k
    central:  (f(x + h e_i) - f(x - h e_i)) / 2h = sum_{k odd} h^(k-1)/k! d^k f/dx_i^k
    complex:  Im f(x + i h e_i) / h               = sum_{k odd} (-1)^((k-1)/2) h^(k-1)/k! d^k f/dx_i^k

so the value a correct implementation must return (up to rounding) follows from the derivatives
alone. Checks compare with these sums: they tell the truncation error of the right method from
the wrong one without ever running a reference implementation.

High-order derivatives of a SymPy expression swell (the 7th derivative of a 17-operation
expression has 190 000 operations), so the Taylor coefficients d^k f/dx_i^k / k! along one axis are
computed by `mpmath.taylor` on the expression evaluated in 40-digit arithmetic: correct to every
digit of a double, in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import mpmath
import sympy

from autograder.oracles.expressions import RandomExpression

DIGITS = 40

METHODS = ("forward", "central", "complex")


def _terms(method: str, order: int) -> range:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    return range(1, order + 1) if method == "forward" else range(1, order + 1, 2)


@lru_cache(maxsize=256)
def _mp_function(symbols: tuple[sympy.Symbol, ...], expr: sympy.Expr) -> Callable[..., mpmath.mpf]:
    return sympy.lambdify(list(symbols), expr, modules="mpmath")


def taylor_coefficients(f: RandomExpression, x: Sequence[float], axis: int, order: int) -> list[float]:
    """[f(x), d f/dx_i, ..., d^order f/dx_i^order / order!] along axis i at the real point x.

    Cached: the judge meets the same hidden cases in every submission of a class.
    """
    return list(_taylor(f, tuple(float(v) for v in x), axis, order))


@lru_cache(maxsize=4096)
def _taylor(f: RandomExpression, x: tuple[float, ...], axis: int, order: int) -> tuple[float, ...]:
    point = [mpmath.mpf(v) for v in x]
    function = _mp_function(tuple(f.symbols), f.expr)

    def along(t: mpmath.mpf) -> mpmath.mpf:
        return function(*point[:axis], t, *point[axis + 1 :])

    with mpmath.workdps(DIGITS):
        return tuple(float(mpmath.re(c)) for c in mpmath.taylor(along, point[axis], order))


def _series(
    f: RandomExpression, x: Sequence[float], h: float, method: str, axis: int, order: int
) -> tuple[list[float], float]:
    coefficients = taylor_coefficients(f, x, axis, order + 2)
    terms, neglected = [], 0.0
    for k in _terms(method, order + 2):
        term = h ** (k - 1) * coefficients[k]
        if method == "complex":
            term *= (-1) ** ((k - 1) // 2)
        if k > order:
            neglected = 4.0 * abs(term)
            break
        terms.append(term)
    return terms, neglected


def quotient(
    f: RandomExpression, x: Sequence[float], h: float, method: str, axis: int = 0, order: int = 7
) -> tuple[float, float]:
    """(value, bound): the exact difference quotient of `method` with step h along `axis` at x.

    `value` sums the Taylor terms up to derivative `order`; `bound` is four times the first
    neglected term, an estimate of what the sum leaves out. Raises ValueError for an unknown method.
    """
    terms, neglected = _series(f, x, h, method, axis, order)
    return math.fsum(terms), neglected


def truncation_error(
    f: RandomExpression, x: Sequence[float], h: float, method: str, axis: int = 0, order: int = 7
) -> float:
    """|quotient - derivative| without cancellation: the size of the Taylor terms beyond the first."""
    terms, _ = _series(f, x, h, method, axis, order)
    return abs(math.fsum(terms[1:]))
