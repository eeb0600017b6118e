"""SymPy random-expression oracle: the source of truth for hidden tests.

This module generates random, *safe* symbolic expressions together with their
exact derivatives and numeric versions of the expressions (built with
:func:`sympy.lambdify`).  The elementary functions used by the numeric versions
can be replaced by a student's implementation, e.g. a dual-number ``sin``, so
that a student's differentiation code can be checked against exact derivatives.

It contains no student solution.

Guarantees (for expressions made by :func:`random_expression`)
---------------------------------------------------------------
* Determinism: the same seed gives the same expression (same ``str``) in every
  process; only :class:`numpy.random.Generator` is used, never the global RNG,
  and nothing depends on ``hash``-based ordering.
* Safety by construction, on all of R**n: ``log``, ``sqrt``, divisors and bases
  of variable powers are bounded below by a positive constant (``u**2 + 1``,
  ``2 + sin(u)``, ``exp(sin(u))``, ...), ``tan`` only sees ``|arg| <= 1`` (e.g.
  ``tan(sin(u)/2)``, ``tan(tanh(u))``) and ``exp`` only bounded arguments.
* Moderate size on the domain ``[low, high]**n = [-2, 2]**n``: ``|f| <= 100``
  (checked on a dense grid).  Moreover ``f`` is analytic on the complex
  neighbourhood ``R**n``, ``R = [low - 1/2, high + 1/2] x i[-1/2, 1/2]``, with
  ``|f| <= 1000`` there (checked on samples of the boundary, see
  :func:`_samples`), so by Cauchy's estimate
  ``|d^alpha f| <= alpha! * 1000 * 2**|alpha|`` on the domain: 7th derivatives are
  typically 1e3 - 1e6.
* Every symbol occurs in the expression, which is never constant, contains no
  float and no irrational constant (``sqrt(2)``, ``E``, ``pi``), and has
  ``sympy.count_ops(expr) <= 10 * (depth + 1)`` (for ``n_vars <= 3``).
* The numeric functions contain only ``+ - * /``, ``**`` with positive Python
  ``int`` exponents (or, with ``variable_powers=True``, symbolic exponents),
  Python ``int``/``float`` constants and calls to the elementary functions named
  in :data:`ELEMENTARY` (``sqrt`` included), so they work on floats, complex
  numbers, NumPy arrays and on any object overloading the arithmetic operators
  once all of :data:`ELEMENTARY` are overridden.
* Exact derivatives: :meth:`RandomExpression.derivative` is ``sympy.diff``;
  the numeric values (:meth:`~RandomExpression.partial`,
  :meth:`~RandomExpression.gradient`, ...) are computed with exact
  differentiation rules in 30-digit arithmetic and rounded to float64 (see
  :mod:`autograder.oracles.partials`), which stays fast up to order 7 and beyond.

Without numpy (a browser kernel, Pyodide) the module still imports, and a
:class:`RandomExpression` built from a given expression gives its points
(drawn by :func:`autograder.inputs.rng`, the same as numpy's), exact values and
partials (:meth:`~RandomExpression.value`, :meth:`~RandomExpression.partial`);
everything else (the generator, numeric functions, arrays) needs numpy.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import sympy
from sympy.core.numbers import ImaginaryUnit
from sympy.printing.numpy import NumPyPrinter

from autograder import inputs
from autograder.oracles.partials import exact_partials
from autograder.pcg64 import PurePCG64

try:
    import numpy as np
except ModuleNotFoundError:  # a browser kernel (Pyodide): see the end of the module docstring
    np = None

# SymPy imports these on first use, while the checks build a random expression (a function's
# assumptions) or lambdify one (its printer): imported with this module, they are paid when the
# grader's kernels import the checks before any student code, not in a test cell. (Another SymPy
# version may lack one: then it is not needed either.)
for _module in ("sympy.assumptions.wrapper", "sympy.codegen.ast", "sympy.sets.setexpr", "sympy.tensor.tensor"):
    with contextlib.suppress(ImportError):
        importlib.import_module(_module)
del _module

_INTEGERS = (int, np.integer) if np is not None else (int,)

__all__ = [
    "DEFAULT_HIGH",
    "DEFAULT_LOW",
    "ELEMENTARY",
    "RandomExpression",
    "RandomVectorFunction",
    "random_expression",
    "random_vector_function",
]

ELEMENTARY: tuple[str, ...] = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")
"""Names of the elementary functions the generator may use (and that may be overridden)."""

DEFAULT_LOW: float = -2.0
"""Lower end of the domain of every generated expression."""
DEFAULT_HIGH: float = 2.0
"""Upper end of the domain of every generated expression."""

_VALUE_BOUND = 100.0  # |f| on the domain (checked on a dense sample)
_TRIG_ARG_BOUND = 4.0  # |u| for sin(u), cos(u), tanh(u)
_EXP_ARG_BOUND = 2.0  # |u| for a bare exp(u)
_TUBE_RADIUS = 0.5  # f must stay bounded on the complex tube |Im z_j| <= 0.5 ...
_TUBE_BOUND = 1000.0  # ... by this bound: |d^k f| <= k! * 1000 / 0.5**k on the domain
_MIN_RE = 0.1  # Re p >= this on the rectangle for p under log, sqrt, ** and /
_POLE_MARGIN = 0.2  # distance kept from the poles of tan (Re) and tanh (Im)
_MAX_ATTEMPTS = 2000
_CACHE_SIZE = 4096

# Small constants used by the generator (exact SymPy numbers).
_COEFFS = (
    sympy.Integer(2),
    sympy.Integer(3),
    sympy.Integer(-1),
    sympy.Integer(-2),
    sympy.Rational(1, 2),
    sympy.Rational(-1, 2),
    sympy.Rational(3, 2),
    sympy.Rational(1, 3),
)
_SHIFTS = (
    sympy.Integer(1),
    sympy.Integer(-1),
    sympy.Integer(2),
    sympy.Rational(1, 2),
    sympy.Rational(-1, 2),
)

_SYMPY_FUNCTIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "tanh": sympy.tanh,
}


# --------------------------------------------------------------------------- #
# Numeric back ends
# --------------------------------------------------------------------------- #
class _OraclePrinter(NumPyPrinter):
    """NumPy printer that keeps integer exponents as Python ``int``.

    SymPy's ``NumPyPrinter`` prints ``x**(-2)`` as ``x**(-2.0)`` (a NumPy
    work-around for integer arrays).  We print ``(1/x**2)`` instead, so that
    the generated code only needs ``__pow__`` with a positive ``int`` and
    ``__rtruediv__`` from a user-defined number type (dual numbers, ...).
    """

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        exp = expr.exp
        if exp.is_Integer and exp.is_negative:
            base = self._print(expr.base)
            return f"(1/({base}))" if exp == -1 else f"(1/({base})**{-int(exp)})"
        return self._hprint_Pow(expr, rational=rational, sqrt=self._module + ".sqrt")


def _lambdify_numeric(
    symbols: Sequence[sympy.Symbol],
    expr: sympy.Expr | Sequence[sympy.Expr],
    overrides: Mapping[str, Callable[..., Any]] | None,
) -> Callable[..., Any]:
    """``sympy.lambdify(symbols, expr, modules=[overrides or {}, "numpy"])`` with int exponents."""
    namespace = dict(overrides) if overrides else {}
    for name in namespace:
        if not isinstance(name, str):
            raise TypeError(f"override names must be str, got {name!r}")
    printer = _OraclePrinter(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {k: k for k in namespace},
        }
    )
    return sympy.lambdify(list(symbols), expr, modules=[namespace, "numpy"], printer=printer)


@lru_cache(maxsize=_CACHE_SIZE)
def _numeric_default(symbols: tuple[sympy.Symbol, ...], expr: Any) -> Callable[..., Any]:
    return _lambdify_numeric(symbols, list(expr) if isinstance(expr, tuple) else expr, None)


@lru_cache(maxsize=_CACHE_SIZE)
def _diff(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], orders: tuple[int, ...]) -> sympy.Expr:
    """Mixed partial derivative, ``orders`` sorted; built one order at a time (cached)."""
    if not orders:
        return expr
    return sympy.diff(_diff(expr, symbols, orders[:-1]), symbols[orders[-1]])


def _check_orders(orders: Sequence[int], n: int) -> tuple[int, ...]:
    checked = []
    for k in orders:
        if isinstance(k, bool) or not isinstance(k, _INTEGERS):
            raise TypeError(f"derivative indices must be ints, got {k!r}")
        if not 0 <= int(k) < n:
            raise IndexError(f"derivative index {k} out of range for {n} variable(s)")
        checked.append(int(k))
    return tuple(sorted(checked))


def _as_point(x: Sequence[float] | np.ndarray, n: int) -> list[float]:
    if np is None:  # then x is a number or a flat sequence of numbers
        entries = list(x) if isinstance(x, Sequence) else [x]
        if len(entries) != n:
            raise ValueError(f"expected a point with {n} entries, got {len(entries)}")
        if any(isinstance(v, complex) for v in entries):
            raise TypeError("exact evaluation needs a real point")
        values = [float(v) for v in entries]
    else:
        arr = np.asarray(x)
        if arr.size != n:
            raise ValueError(f"expected a point with {n} entries, got shape {arr.shape}")
        if np.iscomplexobj(arr):
            raise TypeError("exact evaluation needs a real point")
        values = [float(v) for v in arr.ravel()]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"point must be finite, got {values}")
    return values


def _check_domain(symbols: Sequence[sympy.Symbol], low: float, high: float) -> tuple[sympy.Symbol, ...]:
    symbols = tuple(symbols)
    if not symbols or not all(isinstance(s, sympy.Symbol) for s in symbols):
        raise ValueError(f"symbols must be a non-empty sequence of sympy.Symbol, got {symbols!r}")
    if not float(low) < float(high):
        raise ValueError(f"need low < high, got [{low}, {high}]")
    return symbols


def _make_point(rng: np.random.Generator | int, n: int, low: float, high: float) -> np.ndarray | list[float]:
    """`n` uniform draws from `rng` (an int seeds `inputs.rng`): a float64 array, a list without numpy."""
    generators = (np.random.Generator,) if np is not None else (PurePCG64,)
    if not isinstance(rng, generators):
        if isinstance(rng, bool) or not isinstance(rng, _INTEGERS):
            raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {type(rng)}")
        rng = inputs.rng(int(rng))
    if np is None:
        return rng.uniform(low, high, size=n)
    return rng.uniform(low, high, size=n).astype(np.float64)


def _flat_args(x: Any, n: int) -> list[Any]:
    arr = np.asarray(x)
    if arr.size != n:
        raise ValueError(f"expected an array with {n} entries, got shape {arr.shape}")
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    return list(arr.ravel())


# --------------------------------------------------------------------------- #
# Public classes
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class RandomExpression:
    """A random scalar expression ``f(x1, ..., xn)`` that is safe on ``[low, high]**n``.

    Attributes:
        expr: the SymPy expression.
        symbols: its variables ``(x1, ..., xn)`` (real SymPy symbols), in order.
        low, high: every point of the box ``[low, high]**n`` is safe.
    """

    expr: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    low: float = DEFAULT_LOW
    high: float = DEFAULT_HIGH

    def __post_init__(self) -> None:
        object.__setattr__(self, "expr", sympy.sympify(self.expr))
        object.__setattr__(self, "symbols", _check_domain(self.symbols, self.low, self.high))
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    def __str__(self) -> str:
        """Readable SymPy form, e.g. ``"log(x1**2 + 1) + x1*sin(x2)"``."""
        return str(self.expr)

    @property
    def n_vars(self) -> int:
        """Number of variables ``n``."""
        return len(self.symbols)

    def point(self, rng: np.random.Generator | int) -> np.ndarray:
        """A random point, uniform in ``[low, high]**n``: float64 array of shape ``(n,)``.

        ``rng`` is a ``numpy.random.Generator`` (advanced by the call) or an int seed.
        Raises ``TypeError`` for anything else.  Without numpy: a list of ``n`` floats, from
        ``autograder.inputs.rng(seed)`` (a ``PurePCG64``) or an int seed, the same draws.
        """
        return _make_point(rng, self.n_vars, self.low, self.high)

    def function(self, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Callable[..., Any]:
        """Numeric ``f(x1, ..., xn)`` built with ``sympy.lambdify``.

        The namespace is ``[overrides or {}, "numpy"]``: a name in ``overrides`` (e.g.
        ``{"sin": student_sin, ..., "sqrt": student_sqrt}``) replaces NumPy's function of
        that name.  The generated code uses only ``+ - * /``, ``**`` with positive Python
        ``int`` exponents (negative powers are printed as ``1/b**k``; with
        ``variable_powers=True`` also ``u**v``), Python ``int``/``float`` constants and the
        functions of :data:`ELEMENTARY`; so ``f`` accepts floats, complex numbers
        (complex step), NumPy arrays (elementwise) and, when all of :data:`ELEMENTARY`
        are overridden, any type overloading the arithmetic operators.
        Raises ``TypeError`` if a key of ``overrides`` is not a string.
        """
        if not overrides:
            return _numeric_default(self.symbols, self.expr)
        return _lambdify_numeric(self.symbols, self.expr, overrides)

    def array_function(self, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Callable[[Any], Any]:
        """``g(x) = f(*np.ravel(x))`` for an array ``x`` with ``n`` entries (read in C order).

        Returns a float (a ``numpy.float64``) for a real ``x``, a complex for a complex
        ``x``; integer arrays are converted to float64 first.  ``overrides`` as in
        :meth:`function`.  ``g`` raises ``ValueError`` if ``x`` does not have ``n`` entries.
        """
        f = self.function(overrides)
        n = self.n_vars

        def g(x: Any) -> Any:
            return f(*_flat_args(x, n))

        g.__doc__ = f"g(x) = {self.expr} with x = ({', '.join(map(str, self.symbols))}) = ravel(x)"
        return g

    def derivative(self, *orders: int) -> sympy.Expr:
        """Exact mixed partial derivative as a SymPy expression.

        ``orders`` are indices into ``symbols``: ``derivative(0, 0, 1)`` is
        ``d^3 f / dx1^2 dx2``; ``derivative()`` is ``expr`` itself.  The order of the
        indices does not matter.  This is plain ``sympy.diff`` (cached): the result
        swells quickly with the order (thousands of operations at order 5 or more); use
        :meth:`partial` for numeric values.  Raises ``IndexError`` for an index outside
        ``range(n)`` and ``TypeError`` for a non-integer index.
        """
        return _diff(self.expr, self.symbols, _check_orders(orders, self.n_vars))

    def value(self, x: Sequence[float]) -> float:
        """``f(x)`` as a float64 (evaluated with 30 significant digits, then rounded).

        ``x`` is array-like with ``n`` real finite entries (any shape, read in C order);
        raises ``ValueError`` otherwise (``TypeError`` for a complex ``x``).
        """
        return self.partial(x)

    def partial(self, x: Sequence[float], *orders: int) -> float:
        """Value at ``x`` of :meth:`derivative` ``(*orders)`` as a float64.

        Computed exactly on the expression tree (Leibniz and Faa di Bruno rules, the
        derivatives of the elementary functions from ``sympy.diff``) in 30-digit
        arithmetic, then rounded: cheap even for order 7, where expanding
        :meth:`derivative` would take seconds.  Raises as :meth:`value` and
        :meth:`derivative`.
        """
        point = _as_point(x, self.n_vars)
        return exact_partials(self.symbols, self.expr, point, [_check_orders(orders, self.n_vars)])[0]

    def partials(self, x: Sequence[float], orders_list: Sequence[Sequence[int]]) -> np.ndarray:
        """Several :meth:`partial` values at one point, sharing work: float64 array of shape ``(len(orders_list),)``."""
        point = _as_point(x, self.n_vars)
        wanted = [_check_orders(o, self.n_vars) for o in orders_list]
        return np.array(exact_partials(self.symbols, self.expr, point, wanted), dtype=np.float64)

    def gradient(self, x: Sequence[float]) -> np.ndarray:
        """Exact gradient at ``x``: float64 array of shape ``(n,)``. Raises as :meth:`value`."""
        return self.partials(x, [(i,) for i in range(self.n_vars)])

    def hessian(self, x: Sequence[float]) -> np.ndarray:
        """Exact Hessian at ``x``: symmetric float64 array of shape ``(n, n)``. Raises as :meth:`value`."""
        n = self.n_vars
        pairs = [(i, j) for i in range(n) for j in range(i, n)]
        values = self.partials(x, pairs)
        hess = np.empty((n, n), dtype=np.float64)
        for (i, j), v in zip(pairs, values, strict=True):
            hess[i, j] = hess[j, i] = v
        return hess


@dataclass(frozen=True)
class RandomVectorFunction:
    """A random map ``F: R^n -> R^m`` made of ``m`` random expressions over the same symbols.

    Attributes:
        exprs: the ``m`` component expressions.
        symbols: the variables ``(x1, ..., xn)``.
        low, high: every point of ``[low, high]**n`` is safe for every component.
    """

    exprs: tuple[sympy.Expr, ...]
    symbols: tuple[sympy.Symbol, ...]
    low: float = DEFAULT_LOW
    high: float = DEFAULT_HIGH

    def __post_init__(self) -> None:
        object.__setattr__(self, "exprs", tuple(sympy.sympify(e) for e in self.exprs))
        object.__setattr__(self, "symbols", _check_domain(self.symbols, self.low, self.high))
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    def __str__(self) -> str:
        return "[" + ", ".join(str(e) for e in self.exprs) + "]"

    @property
    def n_vars(self) -> int:
        """Number of inputs ``n``."""
        return len(self.symbols)

    @property
    def n_outputs(self) -> int:
        """Number of outputs ``m``."""
        return len(self.exprs)

    @property
    def components(self) -> tuple[RandomExpression, ...]:
        """The components as :class:`RandomExpression` objects (same symbols and domain)."""
        return tuple(RandomExpression(e, self.symbols, self.low, self.high) for e in self.exprs)

    def point(self, rng: np.random.Generator | int) -> np.ndarray:
        """A random point, uniform in ``[low, high]**n``: float64 array of shape ``(n,)``."""
        return _make_point(rng, self.n_vars, self.low, self.high)

    def function(self, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Callable[..., list[Any]]:
        """Numeric ``f(x1, ..., xn) -> [F_1, ..., F_m]`` (a list); ``overrides`` as in
        :meth:`RandomExpression.function`."""
        if not overrides:
            return _numeric_default(self.symbols, self.exprs)
        return _lambdify_numeric(self.symbols, list(self.exprs), overrides)

    def array_function(self, overrides: Mapping[str, Callable[..., Any]] | None = None) -> Callable[[Any], np.ndarray]:
        """``F(x)`` for an array ``x`` with ``n`` entries (C order) -> ``np.ndarray`` of shape ``(m,)``.

        The dtype is float64 for real input, complex128 for complex input (object for
        user-defined number types).  Raises ``ValueError`` if ``x`` does not have ``n`` entries.
        """
        f = self.function(overrides)
        n = self.n_vars

        def big_f(x: Any) -> np.ndarray:
            values = f(*_flat_args(x, n))
            if all(isinstance(v, (int, float, complex, np.number)) for v in values):
                return np.asarray(values)
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out

        return big_f

    def value(self, x: Sequence[float]) -> np.ndarray:
        """Exact ``F(x)``: float64 array of shape ``(m,)``. Raises ``ValueError`` for a bad ``x``."""
        return np.array([c.value(x) for c in self.components], dtype=np.float64)

    def jacobian(self, x: Sequence[float]) -> np.ndarray:
        """Exact Jacobian ``dF_i/dx_j`` at ``x``: float64 array of shape ``(m, n)``."""
        return np.array([c.gradient(x) for c in self.components], dtype=np.float64).reshape(self.n_outputs, self.n_vars)


# --------------------------------------------------------------------------- #
# Generator
# --------------------------------------------------------------------------- #
class _Lazy:
    """A SymPy expression built on first use (candidates are mostly checked numerically
    first, and building SymPy expressions dominates the cost of the generator)."""

    __slots__ = ("_args", "_make", "_value")

    def __init__(self, make: Callable[..., sympy.Expr], *args: Any) -> None:
        self._make = make
        self._args = args
        self._value: sympy.Expr | None = None

    def get(self) -> sympy.Expr:
        if self._value is None:
            self._value = self._make(*[a.get() if isinstance(a, _Lazy) else a for a in self._args])
            self._args = ()
        return self._value


class _Node(NamedTuple):
    """A (lazy) SymPy expression with its values on the sample points (see :func:`_samples`)."""

    lazy: _Lazy
    vals: np.ndarray  # on real points of the domain
    cvals: np.ndarray  # on complex points of the rectangle around the domain
    is_root: bool = False  # a sqrt(...): never raised to a power (would give p**(3/2))

    @property
    def expr(self) -> sympy.Expr:
        return self.lazy.get()

    @property
    def bound(self) -> float:
        """max |value| over the real sample points."""
        return float(np.max(np.abs(self.vals)))

    @property
    def complex_bound(self) -> float:
        """max |value| over the complex sample points (inf if some value is not finite)."""
        if not np.all(np.isfinite(self.cvals)):
            return float("inf")
        return float(np.max(np.abs(self.cvals)))


@lru_cache(maxsize=16)
def _samples(n: int, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic samples: real points of ``[low, high]**n``, shape ``(n, N)``, and complex
    points of the distinguished boundary ``(dR)**n`` of ``R**n``, shape ``(n, M)``, where
    ``R = [low - r, high + r] x i[-r, r]`` and ``r = _TUBE_RADIUS``.

    The generator checks on ``dR`` that ``Re p > 0`` for every ``p`` under ``log``,
    ``sqrt``, ``**`` or ``/``, ``|Re b| < pi/2`` under ``tan`` and ``|Im u| < pi/2`` under
    ``tanh`` (real and imaginary parts of analytic functions take their extrema on the
    boundary), so the expression is analytic on ``R**n``, and that ``|f| <= _TUBE_BOUND`` on
    ``dR`` (maximum modulus).  Cauchy's estimate then bounds every partial derivative on
    the real box: ``|d^alpha f| <= alpha! * _TUBE_BOUND / r**|alpha|``.
    """
    fixed = np.random.default_rng(20240611)
    r = _TUBE_RADIUS
    if n <= 3:
        k = {1: 401, 2: 61, 3: 21}[n]
        axes = [np.linspace(low, high, k)] * n
        pts = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")])
    else:
        corners = np.array(np.meshgrid(*[[low, high]] * min(n, 10), indexing="ij")).reshape(min(n, 10), -1)
        if n > 10:
            corners = np.vstack([corners, np.zeros((n - 10, corners.shape[1]))])
        pts = np.hstack([corners, fixed.uniform(low, high, size=(n, 4000))])
    lo, hi = low - r, high + r  # rectangle R = [lo, hi] x [-r, r] in each coordinate
    if n == 1:
        edge = np.linspace(lo, hi, 241)
        side = np.linspace(-r, r, 25)
        cpts = np.concatenate([edge - 1j * r, edge + 1j * r, lo + 1j * side, hi + 1j * side])[None, :]
    else:  # independent uniform points of the perimeter of R in each coordinate
        t = fixed.uniform(0.0, 2 * (hi - lo) + 4 * r, size=(n, 3000))
        w = hi - lo
        cpts = np.where(
            t < w,
            lo + t - 1j * r,
            np.where(
                t < w + 2 * r,
                hi + 1j * (t - w - r),
                np.where(t < 2 * w + 2 * r, hi - (t - w - 2 * r) + 1j * r, lo - 1j * (t - 2 * w - 3 * r)),
            ),
        )
    pts.setflags(write=False)
    cpts.setflags(write=False)
    return pts, cpts


class _Reject(Exception):
    """Internal: the candidate (sub)expression violates a safety check; draw again."""


class _Builder:
    """Random recursive construction of safe expressions (one instance per attempt set)."""

    def __init__(
        self,
        rng: np.random.Generator,
        symbols: tuple[sympy.Symbol, ...],
        functions: tuple[str, ...],
        variable_powers: bool,
        low: float,
        high: float,
    ) -> None:
        self.rng = rng
        real, cplx = _samples(len(symbols), low, high)
        self.x = [_Node(_Lazy(lambda s: s, s), real[i], cplx[i]) for i, s in enumerate(symbols)]
        self.fs = functions
        self.variable_powers = variable_powers

    # -- random helpers ----------------------------------------------------- #
    def pick(self, options: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
        if weights is None:
            return options[int(self.rng.integers(len(options)))]
        p = np.asarray(weights, dtype=float)
        return options[int(self.rng.choice(len(options), p=p / p.sum()))]

    def split(self, vars_: tuple[int, ...], k: int) -> list[tuple[int, ...]]:
        """Distribute ``vars_`` over ``k`` non-empty groups (every variable used at least once)."""
        if k == 1:
            return [vars_]
        perm = [vars_[int(i)] for i in self.rng.permutation(len(vars_))]
        if len(perm) >= k:
            cuts = sorted(int(c) for c in self.rng.choice(np.arange(1, len(perm)), size=k - 1, replace=False))
            bounds = [0, *cuts, len(perm)]
            groups = [tuple(sorted(perm[a:b])) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        else:
            groups = [(v,) for v in perm]
            groups += [(vars_[int(self.rng.integers(len(vars_)))],) for _ in range(k - len(perm))]
            order = self.rng.permutation(k)
            groups = [groups[int(i)] for i in order]
        return groups

    # -- node constructors ------------------------------------------------ #
    @staticmethod
    def require(ok: bool) -> None:
        if not ok:
            raise _Reject

    def check_positive(self, p: _Node) -> None:
        """``p > 0`` on the box and ``Re p >= _MIN_RE`` on the complex rectangle."""
        self.require(
            bool(np.all(np.isfinite(p.cvals)))
            and float(np.min(p.vals)) > 0.0
            and float(np.min(p.cvals.real)) >= _MIN_RE
        )

    def func(self, name: str, u: _Node) -> _Node:
        """``name(u)``; raises ``_Reject`` where ``name`` would not be analytic on the rectangle."""
        self.require(bool(np.all(np.isfinite(u.cvals))))
        if name in ("log", "sqrt"):
            self.check_positive(u)
        elif name == "tan":
            limit = np.pi / 2 - _POLE_MARGIN
            self.require(float(np.max(np.abs(u.cvals.real))) <= limit and u.bound <= limit)
        elif name == "tanh":
            self.require(float(np.max(np.abs(u.cvals.imag))) <= np.pi / 2 - _POLE_MARGIN)
        f = getattr(np, name)  # numpy's function of the same name (all of ELEMENTARY exist there)
        return _Node(_Lazy(_SYMPY_FUNCTIONS[name], u.lazy), f(u.vals), f(u.cvals), name == "sqrt")

    def retry(self, make: Callable[..., _Node], *args: Any, tries: int = 3) -> _Node:
        """``make(*args)``, drawn again (at most ``tries`` times in all) while it raises ``_Reject``."""
        for _ in range(tries - 1):
            try:
                return make(*args)
            except _Reject:
                pass
        return make(*args)

    @staticmethod
    def add(a: _Node, b: _Node, sign: int = 1) -> _Node:
        lazy = _Lazy(operator.add if sign == 1 else operator.sub, a.lazy, b.lazy)
        return _Node(lazy, a.vals + sign * b.vals, a.cvals + sign * b.cvals)

    @staticmethod
    def mul(*factors: _Node) -> _Node:
        if len(factors) == 1:
            return factors[0]
        vals, cvals = factors[0].vals, factors[0].cvals
        for f in factors[1:]:
            vals, cvals = vals * f.vals, cvals * f.cvals
        return _Node(_Lazy(sympy.Mul, *[f.lazy for f in factors]), vals, cvals)

    @staticmethod
    def scale(c: sympy.Rational, a: _Node) -> _Node:
        return _Node(_Lazy(operator.mul, c, a.lazy), float(c) * a.vals, float(c) * a.cvals)

    @staticmethod
    def shift(a: _Node, c: sympy.Rational) -> _Node:
        return _Node(_Lazy(operator.add, a.lazy, c), a.vals + float(c), a.cvals + float(c))

    @staticmethod
    def power(a: _Node, k: int) -> _Node:
        return _Node(_Lazy(operator.pow, a.lazy, sympy.Integer(k)), a.vals**k, a.cvals**k)

    @staticmethod
    def div(a: _Node, d: _Node) -> _Node:
        return _Node(_Lazy(operator.truediv, a.lazy, d.lazy), a.vals / d.vals, a.cvals / d.cvals)

    @staticmethod
    def variable_power(base: _Node, expo: _Node) -> _Node:
        lazy = _Lazy(operator.pow, base.lazy, expo.lazy)
        return _Node(lazy, base.vals**expo.vals, base.cvals**expo.cvals)

    # -- grammar ------------------------------------------------------------ #
    def leaf1(self, i: int) -> _Node:
        """A simple monomial-like expression in the single variable ``x_i``."""
        x = self.x[i]
        kind = self.pick(("x", "x2", "cx", "x+c", "x3", "cx2"), (3, 2, 2, 2, 0.5, 1))
        if kind == "x":
            return x
        if kind == "x2":
            return self.power(x, 2)
        if kind == "cx":
            return self.scale(self.pick(_COEFFS), x)
        if kind == "x+c":
            return self.shift(x, self.pick(_SHIFTS))
        if kind == "x3":
            return self.power(x, 3)
        return self.scale(self.pick(_COEFFS[4:]), self.power(x, 2))

    def leaf(self, vars_: tuple[int, ...]) -> _Node:
        """A polynomial leaf using every variable in ``vars_``."""
        node = self.leaf1(vars_[0])
        for i in vars_[1:]:
            other = self.leaf1(i) if self.rng.random() < 0.5 else self.x[i]
            if self.rng.random() < 0.5 and node.bound * other.bound <= 8.0:
                node = self.mul(node, other)
            else:
                node = self.add(node, other, self.pick((1, -1)))
        return node

    def gen(self, vars_: tuple[int, ...], depth: int) -> _Node:
        """A sum of one or two terms; ``depth`` bounds the nesting of function levels."""
        if depth <= 0:
            return self.leaf(vars_)
        n_terms = 1 if self.rng.random() < 0.45 else 2
        groups = self.split(vars_, n_terms)
        deep = int(self.rng.integers(n_terms))
        node: _Node | None = None
        for j, group in enumerate(groups):
            d = depth if j == deep else int(self.rng.integers(0, depth))
            term = self.term(group, d)
            if node is None:
                node = term
            else:
                if self.rng.random() < 0.2:
                    term = self.scale(self.pick(_COEFFS), term)
                node = self.add(node, term, self.pick((1, -1)))
        assert node is not None
        return node

    def term(self, vars_: tuple[int, ...], depth: int) -> _Node:
        """A product of one to three factors, one of them of full ``depth``."""
        if depth <= 0:
            return self.leaf(vars_)
        n_factors = int(self.pick((1, 2, 3), (0.6, 0.32, 0.08)))
        groups = self.split(vars_, n_factors)
        deep = int(self.rng.integers(n_factors))
        factors = []
        for j, group in enumerate(groups):
            if j == deep:
                factors.append(self.atom(group, depth))
            elif n_factors == 3 or self.rng.random() < 0.6:
                factors.append(self.leaf(group))
            else:
                factors.append(self.atom(group, int(self.rng.integers(1, depth + 1))))
        return self.mul(*factors)

    def atom(self, vars_: tuple[int, ...], depth: int) -> _Node:
        """One function level on top of an expression of depth ``depth - 1``."""
        kinds = ["div", "pow"]
        weights = [1.5, 1.0]
        if self.fs:
            kinds.append("unary")
            weights.append(5.0)
        if self.variable_powers:
            kinds.append("varpow")
            weights.append(2.0)
        kind = self.pick(kinds, weights)
        if kind == "unary":
            return self.retry(self.unary, self.pick(self.fs), vars_, depth - 1)
        if kind == "div":
            if len(vars_) > 1 and self.rng.random() < 0.7:
                num_vars, den_vars = self.split(vars_, 2)
            else:
                num_vars = den_vars = vars_
            num = self.gen(num_vars, int(self.rng.integers(0, depth)))
            den = self.positive(den_vars, depth - 1)
            if self.rng.random() < 0.3:
                den = self.power(den, 2)
            return self.div(num, den)
        if kind == "pow":
            for _ in range(5):
                u = self.gen(vars_, depth - 1)
                if u.is_root:
                    continue
                k = 3 if u.bound <= 2.5 and self.rng.random() < 0.4 else 2
                if u.bound <= 6.0:
                    return self.power(u, k)
            if self.rng.random() < 0.5:
                return self.div(self.leaf(vars_), self.positive(vars_, 0))
            return self.power(self.leaf(vars_), 2)
        # varpow: positive base ** bounded exponent, e.g. (u**2 + 1)**sin(v)
        if len(vars_) > 1:
            base_vars, exp_vars = self.split(vars_, 2)
        else:
            base_vars = exp_vars = vars_
        base = self.positive(base_vars, depth - 1, max_bound=6.0)
        expo = self.exponent(exp_vars, depth - 1)
        return self.variable_power(base, expo)

    def arg(self, vars_: tuple[int, ...], depth: int, bound: float) -> _Node:
        """An expression of depth <= ``depth`` with ``|u| <= bound`` on the domain."""
        for _ in range(6):
            u = self.gen(vars_, depth)
            if u.bound <= bound:
                return u
            depth = max(depth - 1, 0) if self.rng.random() < 0.5 else depth
        u = self.leaf(vars_)
        if u.bound <= bound:
            return u
        return self.small_sum(vars_, bound)

    def small_sum(self, vars_: tuple[int, ...], bound: float) -> _Node:
        """``(x_i + x_j + ...) / k`` with ``k`` the smallest int making it ``<= bound``."""
        node = self.x[vars_[0]]
        for i in vars_[1:]:
            node = self.add(node, self.x[i])
        k = 1
        while node.bound / k > bound:
            k += 1
        return node if k == 1 else self.scale(sympy.Rational(1, k), node)

    def bounded(self, vars_: tuple[int, ...], depth: int, half: bool = False) -> _Node:
        """An expression with ``|b| <= 1`` (``<= 1/2`` if ``half``), e.g. ``sin(u)``, ``tanh(u)``."""
        options = [f for f in ("sin", "cos", "tanh") if f in self.fs]
        options.append("rational")
        kind = self.pick(options)
        if kind == "rational":
            u = self.leaf(vars_) if depth <= 0 or self.rng.random() < 0.7 else self.arg(vars_, depth - 1, 4.0)
            # |u / (u**2 + 1)| <= 1/2
            den = self.shift(self.power(u, 2), sympy.Integer(1))
            self.check_positive(den)
            return self.div(u, den)
        b = self.func(kind, self.arg(vars_, depth, _TRIG_ARG_BOUND))
        if half:
            b = self.scale(sympy.Rational(1, 2), b)
        return b

    def positive(self, vars_: tuple[int, ...], depth: int, max_bound: float = 50.0) -> _Node:
        """An expression ``p >= 1/e`` on the domain (``u**2 + 1``, ``2 + sin(u)``, ``exp(b)``, ...)
        with ``Re p >= _MIN_RE`` on the complex rectangle."""
        return self.retry(self._positive, vars_, depth, max_bound)

    def _positive(self, vars_: tuple[int, ...], depth: int, max_bound: float) -> _Node:
        p = self._positive_candidate(vars_, depth, max_bound)
        self.check_positive(p)
        return p

    def _positive_candidate(self, vars_: tuple[int, ...], depth: int, max_bound: float) -> _Node:
        options = ["square"]
        weights = [3.0]
        for f in ("sin", "cos"):
            if f in self.fs:
                options.append(f)
                weights.append(1.0)
        if "exp" in self.fs:
            options.append("exp")
            weights.append(1.0)
        if "tanh" in self.fs:
            options.append("tanh")
            weights.append(0.5)
        kind = self.pick(options, weights)
        if kind == "square":
            u = self.arg(vars_, depth, min(6.0, (max_bound - 1) ** 0.5))
            return self.shift(self.power(u, 2), self.pick((sympy.Integer(1), sympy.Integer(2))))
        if kind in ("sin", "cos"):
            u = self.arg(vars_, depth, _TRIG_ARG_BOUND)
            return self.shift(self.func(kind, u), sympy.Integer(2))
        if kind == "tanh":
            u = self.arg(vars_, depth, _TRIG_ARG_BOUND)
            return self.shift(self.power(self.func("tanh", u), 2), sympy.Integer(1))
        # exp(b) with |b| <= 1: in [1/e, e]; 1 + exp(b) >= 1
        e = self.func("exp", self.bounded(vars_, depth))
        return e if self.rng.random() < 0.5 else self.shift(e, sympy.Integer(1))

    def exponent(self, vars_: tuple[int, ...], depth: int) -> _Node:
        """A bounded exponent for ``base**exponent``: ``|e| <= 2``."""
        if self.rng.random() < 0.35:
            return self.arg(vars_, 0, 2.0)
        return self.bounded(vars_, depth)

    def unary(self, name: str, vars_: tuple[int, ...], depth: int) -> _Node:
        """``name(u)`` with a safe argument ``u`` of depth ``depth``."""
        if name in ("sin", "cos", "tanh"):
            return self.func(name, self.arg(vars_, depth, _TRIG_ARG_BOUND))
        if name in ("log", "sqrt"):
            return self.func(name, self.positive(vars_, depth))
        if name == "tan":
            # |arg| <= 1 < pi/2 - 0.57
            return self.func("tan", self.bounded(vars_, depth, half=self.rng.random() < 0.5))
        # exp of something bounded: exp(sin(u)), exp(tanh(u)), exp(u/3), exp(u) with |u| <= 2
        if self.rng.random() < 0.6:
            return self.func("exp", self.bounded(vars_, depth))
        u = self.arg(vars_, depth, 2 * _EXP_ARG_BOUND)
        if u.bound > _EXP_ARG_BOUND:
            u = self.scale(sympy.Rational(1, 3), u)
        return self.func("exp", u)


def _well_formed(expr: sympy.Expr, variable_powers: bool) -> bool:
    """No irrational constants (``sqrt(2)``, ``E``, ``pi``), no floats, only int/±1/2 exponents."""
    for sub in sympy.preorder_traversal(expr):
        if isinstance(sub, (sympy.NumberSymbol, sympy.Float, ImaginaryUnit)):
            return False
        if isinstance(sub, (sympy.Function, sympy.Pow)) and not sub.free_symbols:
            return False
        if isinstance(sub, sympy.Pow):
            e = sub.exp
            if e.is_Integer or e in (sympy.S.Half, -sympy.S.Half):
                continue
            if e.is_Number or not variable_powers:
                return False
    return True


def _ops_limit(depth: int, n_vars: int) -> int:
    return 10 * (depth + 1) + 4 * max(0, n_vars - 3)


def _has_variable_power(expr: sympy.Expr) -> bool:
    return any(isinstance(s, sympy.Pow) and s.exp.free_symbols for s in sympy.preorder_traversal(expr))


def _acceptable(
    node: _Node,
    symbols: tuple[sympy.Symbol, ...],
    depth: int,
    functions: tuple[str, ...],
    variable_powers: bool,
) -> bool:
    vals = node.vals
    if not np.all(np.isfinite(vals)) or node.bound > _VALUE_BOUND:
        return False
    if node.complex_bound > _TUBE_BOUND:
        return False
    if float(np.ptp(vals)) <= 1e-6 * (1.0 + node.bound):
        return False
    expr = node.expr  # built only now
    if expr.free_symbols != set(symbols):
        return False
    if sympy.count_ops(expr) > _ops_limit(depth, len(symbols)):
        return False
    if not _well_formed(expr, variable_powers):
        return False
    if depth >= 1 and functions:
        names = {type(f).__name__ for f in expr.atoms(sympy.Function)}
        if any(isinstance(p, sympy.Pow) and p.exp in (sympy.S.Half, -sympy.S.Half) for p in expr.atoms(sympy.Pow)):
            names.add("sqrt")
        if not names & set(functions):
            return False
    return not variable_powers or depth == 0 or _has_variable_power(expr)


def _rng_from(seed: int | np.random.Generator) -> np.random.Generator:
    if np is None:
        raise ModuleNotFoundError("random expressions are drawn with numpy, which is not installed here")
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, _INTEGERS):
        raise TypeError(f"seed must be an int or a numpy.random.Generator, got {type(seed)}")
    return np.random.default_rng(int(seed))


def random_expression(
    seed: int | np.random.Generator,
    n_vars: int = 1,
    depth: int = 3,
    functions: Sequence[str] = ELEMENTARY,
    variable_powers: bool = False,
) -> RandomExpression:
    """Draw a random safe expression in ``x1, ..., x{n_vars}``.

    Args:
        seed: an int seed (the result depends only on it) or a ``numpy.random.Generator``
            (which is advanced).
        n_vars: number of variables, >= 1; every one of them occurs in the result.
        depth: >= 0, nesting depth of function levels.  ``0`` gives a polynomial leaf,
            ``1`` e.g. ``sin(x1) + x1**2``, ``3`` a few nested functions.
            ``sympy.count_ops(expr) <= 10 * (depth + 1) + 4 * max(0, n_vars - 3)``.
        functions: the unary functions that may be used, a subset of :data:`ELEMENTARY`
            (possibly empty: rational expressions only).  If non-empty and ``depth >= 1``,
            at least one of them occurs.
        variable_powers: also use powers ``p**e`` with ``p >= 1`` and ``|e| <= 2`` both
            depending on the variables, e.g. ``(x1**2 + 1)**sin(x2)``; if ``depth >= 1``
            at least one occurs.

    Returns:
        A :class:`RandomExpression` on ``[DEFAULT_LOW, DEFAULT_HIGH] = [-2, 2]``, smooth on
        the whole box, non-constant, with ``|f| <= 100`` there.

    Raises:
        TypeError: bad ``seed`` type.
        ValueError: ``n_vars < 1``, ``depth < 0`` or an unknown function name.
        RuntimeError: no acceptable expression found (does not happen for the defaults).
    """
    rng = _rng_from(seed)
    if isinstance(n_vars, bool) or not isinstance(n_vars, _INTEGERS) or n_vars < 1:
        raise ValueError(f"n_vars must be a positive int, got {n_vars!r}")
    if isinstance(depth, bool) or not isinstance(depth, _INTEGERS) or depth < 0:
        raise ValueError(f"depth must be a non-negative int, got {depth!r}")
    if isinstance(functions, str):
        functions = (functions,)
    unknown = sorted(set(functions) - set(ELEMENTARY))
    if unknown:
        raise ValueError(f"unknown functions {unknown}; allowed: {ELEMENTARY}")
    fs = tuple(f for f in ELEMENTARY if f in set(functions))  # canonical order
    n_vars, depth = int(n_vars), int(depth)
    symbols = tuple(sympy.Symbol(f"x{i + 1}", real=True) for i in range(n_vars))
    builder = _Builder(rng, symbols, fs, bool(variable_powers), DEFAULT_LOW, DEFAULT_HIGH)
    all_vars = tuple(range(n_vars))
    with np.errstate(all="ignore"):  # overflow on the complex samples just rejects
        for _ in range(_MAX_ATTEMPTS):
            try:
                node = builder.gen(all_vars, depth)
            except _Reject:
                continue
            if _acceptable(node, symbols, depth, fs, bool(variable_powers)):
                return RandomExpression(node.expr, symbols, DEFAULT_LOW, DEFAULT_HIGH)
    raise RuntimeError(
        f"no acceptable expression after {_MAX_ATTEMPTS} attempts "
        f"(n_vars={n_vars}, depth={depth}, functions={fs}, variable_powers={variable_powers})"
    )


def random_vector_function(
    seed: int | np.random.Generator,
    n_vars: int,
    n_outputs: int,
    depth: int = 2,
    functions: Sequence[str] = ELEMENTARY,
    variable_powers: bool = False,
) -> RandomVectorFunction:
    """Draw ``n_outputs`` distinct random expressions over the same ``n_vars`` symbols.

    Each component is drawn by :func:`random_expression` (so each one uses every
    variable) from one generator seeded by ``seed``.  Raises as :func:`random_expression`,
    and ``ValueError`` if ``n_outputs < 1``.  With an int seed the result (immutable) is kept
    per process: it depends on the arguments only, and a judge meets the same seeds in every
    submission.
    """
    plain = all(type(v) is int for v in (seed, n_vars, n_outputs, depth)) and type(variable_powers) is bool
    if plain and type(functions) is tuple and all(type(f) is str for f in functions):
        return _cached_vector_function(seed, n_vars, n_outputs, depth, functions, variable_powers)
    return _draw_vector_function(seed, n_vars, n_outputs, depth, functions, variable_powers)


@lru_cache(maxsize=1024)
def _cached_vector_function(
    seed: int, n_vars: int, n_outputs: int, depth: int, functions: tuple[str, ...], variable_powers: bool
) -> RandomVectorFunction:
    return _draw_vector_function(seed, n_vars, n_outputs, depth, functions, variable_powers)


def _draw_vector_function(
    seed: int | np.random.Generator,
    n_vars: int,
    n_outputs: int,
    depth: int,
    functions: Sequence[str],
    variable_powers: bool,
) -> RandomVectorFunction:
    rng = _rng_from(seed)
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, _INTEGERS) or n_outputs < 1:
        raise ValueError(f"n_outputs must be a positive int, got {n_outputs!r}")
    exprs: list[sympy.Expr] = []
    symbols: tuple[sympy.Symbol, ...] = ()
    attempts = 0
    while len(exprs) < n_outputs:
        attempts += 1
        if attempts > 10 * n_outputs + 100:
            raise RuntimeError(f"could not draw {n_outputs} distinct components")
        comp = random_expression(rng, n_vars, depth, functions, variable_powers)
        symbols = comp.symbols
        if comp.expr not in exprs:
            exprs.append(comp.expr)
    return RandomVectorFunction(tuple(exprs), symbols, DEFAULT_LOW, DEFAULT_HIGH)
