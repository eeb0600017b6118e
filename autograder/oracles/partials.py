"""Exact values of the partial derivatives of a SymPy expression, of any order, at a point.

`sympy.diff` of a nested expression swells exponentially with the order (a depth-3 expression with
`count_ops == 13` has a 7th derivative with ~24 000 operations that takes seconds to build and to
evaluate). `exact_partials` therefore works on the expression tree itself, with exact rules, in
30-digit mpmath arithmetic, and rounds to float64 (see the comment below). It imports no numpy:
the symbolic unit's checks use it in a browser kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import mpmath
import sympy

EVAL_DPS = 30  # working precision (decimal digits) of the exact evaluations


# --------------------------------------------------------------------------- #
# Exact numeric values of partial derivatives
# --------------------------------------------------------------------------- #
# ``sympy.diff`` of a nested expression swells exponentially with the order (a depth-3
# expression with ``count_ops == 13`` has a 7th derivative with ~24 000 operations that
# takes seconds to build and to evaluate).  Numeric values of partial derivatives are
# therefore computed on the expression tree itself, with exact formulas:
#
# * sums: linearity; products ``a*b``: the general Leibniz rule;
# * ``G(u)`` for a unary ``G`` (``sin``, ..., ``u**c``, ``c**u``): the multivariate
#   Faa di Bruno formula, a sum over the set partitions of the differentiation indices,
#   with the derivatives ``G^(j)`` obtained from ``sympy.diff``;
# * ``u**v`` with both non-constant: as ``exp(v*log(u))`` (``u > 0`` by construction);
#
# all in 30-digit ``mpmath`` arithmetic, then rounded to float64.  No truncation error is
# involved; the tests check the result against ``lambdify(sympy.diff(...))``.

_Orders = tuple[int, ...]


@lru_cache(maxsize=256)
def _faa_di_bruno_terms(orders: _Orders) -> tuple[tuple[int, int, tuple[_Orders, ...]], ...]:
    """Terms ``(multiplicity, j, blocks)`` of d^orders G(u) = sum mult * G^(j)(u) * prod_B d^B u.

    One term per distinct multiset of blocks over the set partitions of ``range(len(orders))``.
    """
    counts: dict[tuple[_Orders, ...], int] = {}

    def visit(i: int, blocks: list[list[int]]) -> None:
        if i == len(orders):
            key = tuple(sorted(tuple(sorted(orders[k] for k in b)) for b in blocks))
            counts[key] = counts.get(key, 0) + 1
            return
        for b in blocks:
            b.append(i)
            visit(i + 1, blocks)
            b.pop()
        blocks.append([i])
        visit(i + 1, blocks)
        blocks.pop()

    visit(0, [])
    return tuple((m, len(key), key) for key, m in sorted(counts.items()))


@lru_cache(maxsize=256)
def _leibniz_terms(orders: _Orders) -> tuple[tuple[int, _Orders, _Orders], ...]:
    """Terms ``(multiplicity, left, right)`` of d^orders (a*b) = sum mult * d^left a * d^right b."""
    k = len(orders)
    counts: dict[tuple[_Orders, _Orders], int] = {}
    for mask in range(1 << k):
        left = tuple(orders[i] for i in range(k) if mask >> i & 1)
        right = tuple(orders[i] for i in range(k) if not mask >> i & 1)
        counts[(left, right)] = counts.get((left, right), 0) + 1
    return tuple((m, left, right) for (left, right), m in sorted(counts.items()))


_Y = sympy.Symbol("y", real=True)


@lru_cache(maxsize=1024)
def _unary_derivative_expr(key: tuple[Any, ...], j: int) -> sympy.Expr:
    """``G^(j)(y)`` for the unary function described by ``key`` (by ``sympy.diff``)."""
    if j == 0:
        kind, obj = key
        if kind == "func":
            return obj(_Y)
        if kind == "power":  # y**c
            return _Y**obj
        return obj**_Y  # "exponential": c**y
    return sympy.diff(_unary_derivative_expr(key, j - 1), _Y)


@lru_cache(maxsize=1024)
def _unary_derivative(key: tuple[Any, ...], j: int) -> Callable[[Any], Any]:
    return sympy.lambdify([_Y], _unary_derivative_expr(key, j), modules="mpmath")


@lru_cache(maxsize=1 << 16)
def _free_symbols(node: sympy.Basic) -> frozenset[sympy.Symbol]:
    return frozenset(node.free_symbols)


@lru_cache(maxsize=1 << 14)
def _split_mul(node: sympy.Mul) -> tuple[sympy.Expr, sympy.Expr]:
    first, *rest = node.args
    return first, rest[0] if len(rest) == 1 else sympy.Mul(*rest)


class _Partials:
    """Memoised exact values ``d^orders node`` at one point (use inside ``mpmath.workdps``)."""

    def __init__(self, symbols: tuple[sympy.Symbol, ...], point: Sequence[float]) -> None:
        self.index = {s: i for i, s in enumerate(symbols)}
        self.point = [mpmath.mpf(v) for v in point]
        self.memo: dict[tuple[sympy.Basic, _Orders], Any] = {}
        self.free: dict[sympy.Basic, frozenset[int]] = {}
        self.zero = mpmath.mpf(0)

    def free_vars(self, node: sympy.Basic) -> frozenset[int]:
        fv = self.free.get(node)
        if fv is None:
            symbols = _free_symbols(node)
            fv = frozenset(self.index[s] for s in symbols if s in self.index)
            unknown = [s for s in symbols if s not in self.index]
            if unknown:
                raise ValueError(f"expression has symbols {sorted(map(str, unknown))} outside the variables")
            self.free[node] = fv
        return fv

    def __call__(self, node: sympy.Basic, orders: _Orders) -> Any:
        key = (node, orders)
        value = self.memo.get(key)
        if value is None:
            vanishes = bool(orders) and not set(orders) <= self.free_vars(node)
            value = self.zero if vanishes else self._compute(node, orders)
            self.memo[key] = value
        return value

    def _compute(self, node: sympy.Basic, orders: _Orders) -> Any:
        if node.is_Symbol:
            i = self.index[node]
            if not orders:
                return self.point[i]
            return mpmath.mpf(1) if orders == (i,) else self.zero
        if not self.free_vars(node):  # constants: Integer, Rational, ... (orders == () here)
            if node.is_Rational:
                return mpmath.mpf(int(node.p)) / int(node.q)
            return mpmath.mpf(sympy.Float(sympy.N(node, EVAL_DPS + 10), EVAL_DPS + 10)._mpf_)
        if node.is_Add:
            return mpmath.fsum(self(arg, orders) for arg in node.args)
        if node.is_Mul:
            first, other = _split_mul(node)
            if not self.free_vars(first):
                return self(first, ()) * self(other, orders)
            return mpmath.fsum(m * self(first, left) * self(other, right) for m, left, right in _leibniz_terms(orders))
        if node.is_Pow:
            base, exponent = node.args
            if not self.free_vars(exponent):
                return self._unary(("power", exponent), base, orders)
            if not self.free_vars(base):
                return self._unary(("exponential", base), exponent, orders)
            rewritten = sympy.exp(sympy.Mul(exponent, sympy.log(base)), evaluate=False)
            return self(rewritten, orders)
        if isinstance(node, sympy.Function) and len(node.args) == 1:
            return self._unary(("func", node.func), node.args[0], orders)
        raise NotImplementedError(f"cannot differentiate {node.func} nodes: {node}")

    def _unary(self, key: tuple[Any, ...], u: sympy.Basic, orders: _Orders) -> Any:
        u0 = self(u, ())
        if not orders:
            return _unary_derivative(key, 0)(u0)
        total = []
        for m, j, blocks in _faa_di_bruno_terms(orders):
            term = m * _unary_derivative(key, j)(u0)
            for block in blocks:
                term *= self(u, block)
            total.append(term)
        return mpmath.fsum(total)


def exact_partials(
    symbols: tuple[sympy.Symbol, ...], expr: sympy.Expr, point: Sequence[float], orders_list: Sequence[_Orders]
) -> list[float]:
    """Float64 values of the partial derivatives ``orders_list`` (sorted index tuples) at ``point``.

    Kept per process (a judge meets the same expressions at the same points in every submission);
    arguments that cannot be hashed are computed without the cache.
    """
    try:
        key = (tuple(symbols), expr, tuple(point), tuple(tuple(orders) for orders in orders_list))
        hash(key)
    except TypeError:
        return _exact_partials(symbols, expr, point, orders_list)
    return list(_cached_partials(*key))


@lru_cache(maxsize=1 << 13)
def _cached_partials(
    symbols: tuple[sympy.Symbol, ...], expr: sympy.Expr, point: tuple[float, ...], orders_list: tuple[_Orders, ...]
) -> tuple[float, ...]:
    return tuple(_exact_partials(symbols, expr, point, orders_list))


def _exact_partials(
    symbols: tuple[sympy.Symbol, ...], expr: sympy.Expr, point: Sequence[float], orders_list: Sequence[_Orders]
) -> list[float]:
    with mpmath.workdps(EVAL_DPS):
        partials = _Partials(symbols, point)
        results = []
        for orders in orders_list:
            value = partials(expr, orders)
            if isinstance(value, mpmath.mpc):
                if abs(value.imag) > abs(value) * mpmath.mpf(10) ** (5 - EVAL_DPS):
                    raise ArithmeticError(f"complex value {value} for a real expression")
                value = value.real
            results.append(float(value))
    return results
