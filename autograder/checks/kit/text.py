"""Test functions from strings and seeds, and the call descriptions of failure messages."""

from __future__ import annotations

from functools import lru_cache

import sympy

from autograder.feedback import shorten, show
from autograder.oracles.expressions import RandomExpression, random_expression


@lru_cache(maxsize=1024)
def random_case(seed: int, n_vars: int = 1, depth: int = 3) -> RandomExpression:
    """`random_expression(seed, n_vars, depth)`, cached: every submission meets the same cases."""
    return random_expression(seed, n_vars=n_vars, depth=depth)


@lru_cache(maxsize=1024)
def expression(text: str, low: float = -2.0, high: float = 2.0) -> RandomExpression:
    """A test function from a SymPy string such as "x1*x2 + sin(x1)"; variables sorted by name."""
    names = sorted({str(s) for s in sympy.sympify(text).free_symbols}, key=_natural)
    symbols = tuple(sympy.Symbol(name, real=True) for name in names)
    expr = sympy.sympify(text, locals={name: s for name, s in zip(names, symbols, strict=True)})
    return RandomExpression(expr=expr, symbols=symbols, low=low, high=high)


def _natural(name: str) -> tuple[str, int]:
    stem = name.rstrip("0123456789")
    digits = name[len(stem) :]
    return stem, int(digits) if digits else -1


def call_text(name: str, *args: object, **kwargs: object) -> str:
    """'name(a, b, h=0.001)' with compact renderings of the arguments."""
    parts = [a if isinstance(a, str) and a in ("f", "grad_f", "df", "a", "b") else show(a, 60) for a in args]
    parts += [f"{k}={show(v, 40)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def describe(f: RandomExpression, x: object) -> str:
    """'f(x) = sin(x) and x = 1.0' for failure messages."""
    variables = ", ".join(str(s) for s in f.symbols)
    return f"f({variables}) = {f} and x = {show(x, 80)}"


def entries(value: object, limit: int = 80) -> str:
    """An array's entries as numpy prints them, cut at a token boundary (`shorten`), without the
    "(shape ..., dtype)" that `show` adds: for a message that states the shape once, itself."""
    import numpy as np  # here, not at the top: unit 02 imports this module without numpy

    array = np.asarray(value)
    with np.printoptions(precision=10, threshold=12, edgeitems=3, linewidth=10_000):
        text = np.array2string(array, separator=", ")
    return shorten(" ".join(text.split()), limit)
