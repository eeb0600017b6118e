"""The checks of unit 02 (the package docstring says where their truth comes from)."""

from __future__ import annotations

import ast
import cmath
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import sympy
from sympy.core.function import Derivative, _derivative_dispatch

# simplify imports sympy.physics.units on first use (expression_swell simplifies): imported with the
# checks, it is paid when the grader's kernels import them before any student code, not in a test cell.
with contextlib.suppress(ImportError):  # a SymPy without physics: simplify then does not need it either
    import sympy.physics.units  # noqa: F401

from autograder.checks.kit.case import Case
from autograder.checks.kit.diagnose import Candidate, diagnose
from autograder.checks.symbolic.mistakes import (
    ARGUMENT_ORDER,
    BASE_TREATED_AS_CONSTANT,
    CHAIN_FACTOR,
    COS_SIGN,
    EXPONENT_NOT_DECREASED,
    FACTOR_N_MISSING,
    FACTORS_DROPPED,
    FIRST_FACTOR_ONLY,
    HESSIAN_REPEATED_GRADIENT,
    HESSIAN_SAME_VARIABLE,
    JACOBIAN_TRANSPOSED,
    LOG_AS_LOG,
    MATRICES,
    NAIVE_SIMPLIFIED,
    NOT_SIMPLIFIED,
    NOT_VECTORIZED,
    ONE_STEP_TOO_FEW,
    ONE_STEP_TOO_MANY,
    OTHER_SYMBOLS,
    POWER_RULE_ON_VARIABLE_EXPONENT,
    RULES,
    SEC_NOT_SQUARED,
    STEPS,
    SYMPY_DIFF,
    TWO_FACTORS_ONLY,
)
from autograder.feedback import Mistake, failure, raised, show
from autograder.inputs import rng
from autograder.observations import Foreign
from autograder.oracles.expressions import RandomExpression, random_expression, random_vector_function
from autograder.runtime import Observation, describe_error, run_check

try:
    import numpy as np
except ModuleNotFoundError:  # a browser kernel (Pyodide): see the module docstring
    np = None

Point = list[float]  # values of the variables, in the order of the expression's symbols

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt")  # what derivative_rules must know (sqrt is a Pow)
SREPR_LIMIT = 400_000  # characters of one expression handed to the judge
POINTS = 4  # random points per comparison
RELATIVE = 1e-9  # agreement required at each point, relative to 1 + |truth|

# --- watching SymPy's own differentiation --------------------------------------------------------

_SYMPY_DIR = os.path.dirname(os.path.abspath(sympy.__file__)) + os.sep
_ASSUMPTIONS = (
    os.path.join(_SYMPY_DIR, "core", "assumptions.py"),
    os.path.join(_SYMPY_DIR, "assumptions") + os.sep,
)
_NEW = Derivative.__dict__["__new__"]
_DIFF = sympy.Expr.__dict__["diff"]
_WATCHED = {
    _NEW.__func__.__code__: "Derivative(...)",
    _DIFF.__code__: "Expr.diff",
    sympy.diff.__code__: "sympy.diff",
    _derivative_dispatch.__code__: "sympy.diff",
}


_WRAPPERS: set[Any] = set()  # code objects of the wrappers below


class _DiffWatch:
    """Context manager: which of SymPy's differentiation routines the code in the block called."""

    def __init__(self) -> None:
        self.used: list[str] = []
        self.tampered = False

    def _note(self, frame: Any, name: str) -> None:
        """Record `name` unless the call came from SymPy's assumption system (frame: the caller)."""
        while frame is not None and frame is not self._boundary:
            filename = os.path.abspath(frame.f_code.co_filename)
            if frame.f_code in _WRAPPERS:  # this module's own wrappers are transparent
                frame = frame.f_back
                continue
            if not filename.startswith(_SYMPY_DIR):
                break  # the student's code (or anything outside SymPy) asked for a derivative
            if filename.startswith(_ASSUMPTIONS):
                return
            frame = frame.f_back
        if name not in self.used:
            self.used.append(name)

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            name = _WATCHED.get(frame.f_code)
            if name is not None:
                self._note(frame.f_back, name)

    def __enter__(self) -> _DiffWatch:
        watch = self
        self._boundary = sys._getframe(1)

        def new(cls: type, *args: Any, **kwargs: Any) -> Any:
            watch._note(sys._getframe(1), "Derivative(...)")
            return _NEW.__func__(cls, *args, **kwargs)

        def diff(self: sympy.Expr, *args: Any, **kwargs: Any) -> Any:
            watch._note(sys._getframe(1), "Expr.diff")
            return _DIFF(self, *args, **kwargs)

        self._new, self._diff = staticmethod(new), diff
        _WRAPPERS.update((new.__code__, diff.__code__))
        self._previous = sys.getprofile()
        Derivative.__new__ = self._new
        sympy.Expr.diff = diff
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        hook = sys.getprofile()
        sys.setprofile(self._previous if callable(self._previous) else None)
        if (
            getattr(hook, "__self__", None) is not self
            or Derivative.__dict__.get("__new__") is not self._new
            or sympy.Expr.__dict__.get("diff") is not self._diff
        ):
            self.tampered = True
        Derivative.__new__ = _NEW
        sympy.Expr.diff = _DIFF

    def report(self) -> dict[str, Any]:
        return {"used": list(self.used), "tampered": self.tampered}


def _no_sympy_diff(call: str, report: Any, name: str) -> None:
    """Fail when the watched call used SymPy's differentiation or switched the watch off."""
    if not isinstance(report, dict):
        raise failure(call, "could not be checked: the record of this test is damaged.")
    used = [str(u) for u in report.get("used") or []]
    if used or report.get("tampered"):
        order = ("sympy.diff", "Expr.diff", "Derivative(...)")
        names = [n for n in order if n in used]
        what = ", ".join(names) if names else "the grader's watch on them was switched off or replaced"
        if name == "derivative_rules":
            problem = (
                f"called SymPy's own differentiation ({what}). This exercise asks you to apply the sum, "
                "product, power and chain rules yourself, so it earns no points while sympy.diff, Expr.diff "
                "or Derivative(...).doit() is used, directly or through another name."
            )
            rule, where = "recurse on expr.func and expr.args and build the derivative from the rules.", RULES
        else:
            problem = f"called SymPy's own differentiation ({what}); {name} must be built from your derivative_rules."
            rule = "call derivative_rules(expr, x) for every entry; do not use sympy.diff, Matrix.jacobian or hessian."
            where = MATRICES
        # Only a recorded call names the mistake; a switched-off watch says nothing about what ran.
        raise failure(call, problem, mistake=Mistake(SYMPY_DIFF, rule, where) if names else rule)


# --- expressions across the wire ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """SymPy numbers as Python numbers (for counts and rows); anything else unchanged."""
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, sympy.Float | sympy.Rational):
        return float(value)
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


def expression_data(value: Any, depth: int = 0) -> Any:
    """What an observation holds for a SymPy result: srepr strings, shapes of matrices, sequences."""
    if isinstance(value, sympy.MatrixBase):
        return {"matrix": list(value.shape), "entries": [expression_data(v, depth + 1) for v in value]}
    if isinstance(value, sympy.Basic):
        text = sympy.srepr(value)
        return {"srepr": text} if len(text) <= SREPR_LIMIT else {"too_long": len(text)}
    if isinstance(value, list | tuple) and depth < 3:
        return {"sequence": type(value).__name__, "items": [expression_data(v, depth + 1) for v in value]}
    return value


_CLASS_NAMES = (
    *("Add", "Mul", "Pow", "Symbol", "Integer", "Rational", "Float", "Tuple", "Derivative", "Subs", "Integral"),
    *("sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "exp", "log", "sinh", "cosh", "tanh"),
    *("Abs", "sign"),
)
_CLASSES: dict[str, Any] = {name: getattr(sympy, name) for name in _CLASS_NAMES}
_CONSTANTS: dict[str, Any] = {
    "pi": sympy.pi,
    "E": sympy.E,
    "I": sympy.I,
    "oo": sympy.oo,
    "zoo": sympy.zoo,
    "nan": sympy.nan,
    "true": sympy.true,
    "false": sympy.false,
}


class Unreadable(ValueError):
    """An srepr string that is not a plain expression of the allowed classes."""


def _rebuild(text: str) -> sympy.Basic:
    """The expression of an srepr string, built from `_CLASSES` only (no eval)."""
    try:
        tree = ast.parse(text, mode="eval").body
        return _build(tree, 0)
    except Unreadable:
        raise
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, AttributeError) as error:
        raise Unreadable(f"{type(error).__name__}: {error}"[:200]) from None


def _build(node: ast.AST, depth: int) -> Any:
    if depth > 400:
        raise Unreadable("the expression is nested too deeply")
    if isinstance(node, ast.Constant) and isinstance(node.value, int | str | bool | float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -_build(node.operand, depth + 1)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CLASSES:
        name = node.func.id
        args = [_build(a, depth + 1) for a in node.args]
        kwargs = {k.arg: _build(k.value, depth + 1) for k in node.keywords if k.arg}
        if name == "Symbol":
            if len(args) != 1 or not isinstance(args[0], str) or not all(isinstance(v, bool) for v in kwargs.values()):
                raise Unreadable("a malformed Symbol")
            return sympy.Symbol(args[0], **kwargs)
        if name in ("Integer", "Rational"):
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in args) or kwargs:
                raise Unreadable(f"a malformed {name}")
            return _CLASSES[name](*args)
        if name == "Float":
            precision = kwargs.get("precision", 53)
            if len(args) != 1 or not isinstance(precision, int) or not 1 <= precision <= 2000:
                raise Unreadable("a malformed Float")
            return sympy.Float(args[0], precision=precision)
        if any(isinstance(a, str | bool) for a in args) or kwargs:
            raise Unreadable(f"a malformed {name}")
        numbers = len(args) == 2 and all(isinstance(a, sympy.Number) for a in args)
        if name == "Pow" and numbers and (abs(args[1]) > 1000 or abs(args[0]) > 10**100):
            return sympy.Pow(*args, evaluate=False)  # no huge exact powers in the grader
        return _CLASSES[name](*args)
    shown = ast.unparse(node)[:60] if hasattr(ast, "unparse") else type(node).__name__
    raise Unreadable(f"it uses {shown}, which is not one of the functions of this unit")


def _kind(value: Any) -> str:
    if value is None:
        return "None: is a `return` missing?"
    if isinstance(value, Foreign):
        return f"a {value.type_name} ({value.text})"
    if isinstance(value, dict) and "matrix" in value:
        return f"a {value['matrix'][0]}x{value['matrix'][1]} Matrix"
    if isinstance(value, dict) and "sequence" in value:
        return f"a {value['sequence']} of {len(value['items'])} items"
    return f"a {type(value).__name__} ({show(value, 60)})"


def read_expression(data: Any, call: str, names: Sequence[str]) -> sympy.Expr:
    """The student's expression from an observation; fails readably when it is not one.

    `names` are the variables it may contain.
    """
    if isinstance(data, bool):
        raise failure(call, f"should return a SymPy expression, but returned {_kind(data)}.")
    if isinstance(data, int | float):
        return sympy.sympify(data)
    if isinstance(data, dict) and "too_long" in data:
        raise failure(call, f"returned an expression of {data['too_long']} characters; that is far too long.")
    if not (isinstance(data, dict) and isinstance(data.get("srepr"), str)):
        raise failure(call, f"should return a SymPy expression, but returned {_kind(data)}.")
    try:
        expr = _rebuild(data["srepr"])
    except Unreadable as error:
        raise failure(call, f"returned an expression the grader cannot read: {error}.") from None
    if not isinstance(expr, sympy.Expr):
        raise failure(call, f"should return a SymPy expression, but returned a {type(expr).__name__}.")
    if expr.has(sympy.Derivative, sympy.Subs, sympy.Integral):
        raise failure(
            call,
            f"returned an unevaluated derivative: {show(expr, 100)}.",
            mistake="return the derivative itself, built with the rules, not a Derivative object.",
        )
    strangers = sorted(str(s) for s in expr.free_symbols if str(s) not in names)
    if strangers:
        raise failure(
            call,
            f"returned an expression with the symbol(s) {', '.join(strangers)}, which are not variables of the "
            f"input (those are {', '.join(names)}).",
            got=expr,
            mistake="use the symbols of the expression you were given; do not create new ones.",
        )
    return expr


def _values(expr: sympy.Expr, names: Sequence[str], points: Sequence[Point]) -> list[complex]:
    """Values of `expr` at each of `points` (30 digits, as complex numbers; nan where undefined).

    Kept per process: a judge meets the same truths, and often the same answers, at the same points
    in every submission (an expression that cannot be hashed is evaluated without the cache)."""
    try:
        key = (expr, tuple(names), tuple(tuple(point) for point in points))
        hash(key)
    except TypeError:
        return _evaluate(expr, names, points)
    return list(_cached_values(*key))


@lru_cache(maxsize=4096)
def _cached_values(expr: sympy.Expr, names: tuple[str, ...], points: tuple[tuple[float, ...], ...]) -> tuple:
    return tuple(_evaluate(expr, names, points))


@lru_cache(maxsize=1024)
def _text(expr: sympy.Expr) -> str:
    """str(expr), kept per process (printing a large expression takes milliseconds)."""
    return str(expr)


def _evaluate(expr: sympy.Expr, names: Sequence[str], points: Sequence[Point]) -> list[complex]:
    by_name = {str(s): s for s in expr.free_symbols}
    out = []
    for point in points:
        subs = {by_name[n]: sympy.Float(float(v), 30) for n, v in zip(names, point, strict=True) if n in by_name}
        try:
            out.append(complex(expr.xreplace(subs).evalf(30)))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            out.append(complex("nan"))
    return out


def _close(mine: Sequence[complex], truth: Sequence[complex]) -> list[bool]:
    """Agreement at each point: |mine - truth| <= RELATIVE (1 + |truth|) (False where either is nan)."""
    return [abs(a - b) <= RELATIVE * (1 + abs(b)) for a, b in zip(mine, truth, strict=True)]


def _bounded_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """A symbolic proof that a == b, tried only on small differences (simplify can take forever)."""
    difference = a - b
    try:
        if sympy.count_ops(difference) > 60:
            return False
        return sympy.simplify(difference) == 0
    except Exception:
        return False


def _disagreement(
    got: sympy.Expr, want: sympy.Expr, names: Sequence[str], points: Sequence[Point]
) -> tuple[Point, complex, complex] | None:
    """None when got equals want (numerically at `points`, or proved); else (point, got, want) at the first
    point where they differ."""
    mine, truth = _values(got, names, points), _values(want, names, points)
    close = _close(mine, truth)
    if all(close) or _bounded_equal(got, want):
        return None
    k = close.index(False)
    return points[k], mine[k], truth[k]


def _number(value: complex) -> str:
    if cmath.isnan(value):
        return "undefined"
    return f"{value.real:.10g}" if abs(value.imag) <= 1e-12 * (1 + abs(value)) else f"{value:.6g}"


def _at(names: Sequence[str], point: Point) -> str:
    return ", ".join(f"{n} = {float(v):.4g}" for n, v in zip(names, point, strict=True))


def _points(f: RandomExpression, seed: int, count: int = POINTS) -> list[Point]:
    """`count` random points of f's box, the same with and without numpy."""
    generator = rng(seed)
    return [[float(v) for v in f.point(generator)] for _ in range(count)]


@lru_cache(maxsize=512)
def _random(seed: int, n_vars: int, depth: int, variable_powers: bool, functions: tuple[str, ...]) -> RandomExpression:
    return random_expression(seed, n_vars, depth, functions=functions, variable_powers=variable_powers)


@lru_cache(maxsize=512)
def _parse(text: str, low: float, high: float, extra: tuple[str, ...] = ()) -> RandomExpression:
    """A test expression such as "x*sin(x)" with real symbols (names in `extra` become variables too)."""
    raw = sympy.sympify(text)
    names = sorted({str(s) for s in raw.free_symbols} | set(extra))
    symbols = tuple(sympy.Symbol(name, real=True) for name in names)
    expr = sympy.sympify(text, locals={s.name: s for s in symbols})
    return RandomExpression(expr=expr, symbols=symbols, low=low, high=high)


@lru_cache(maxsize=2048)
def _diff(expr: sympy.Expr, *symbols: sympy.Symbol) -> sympy.Expr:
    return sympy.diff(expr, *symbols)


# --- likely mistakes of derivative_rules: sympy.diff with one rule made wrong ---------------------


def _with_wrong_rule(
    expr: sympy.Expr,
    x: sympy.Symbol,
    match: Callable[[sympy.Basic], bool],
    partial: Callable[[tuple, int], Any],
    restore: Callable[..., sympy.Expr],
) -> sympy.Expr:
    """d expr/dx where every node that `match`es is differentiated with the partials `partial`.

    The matching nodes become a throw-away SymPy Function whose `fdiff` is `partial(args, i)`;
    sympy.diff then applies every other rule correctly; `restore(*args)` rebuilds the nodes.
    """

    def fdiff(self: sympy.Function, argindex: int = 1) -> sympy.Expr:
        return partial(self.args, argindex)

    wrong = type("Wrong", (sympy.Function,), {"fdiff": fdiff})
    replaced = expr.replace(match, lambda node: wrong(*node.args))
    d = sympy.diff(replaced, x)
    return d.replace(lambda node: isinstance(node, wrong), lambda node: restore(*node.args))


def _is_fn(func: type) -> Callable[[sympy.Basic], bool]:
    return lambda node: isinstance(node, func)


def _candidates(expr: sympy.Expr, x: sympy.Symbol) -> list[tuple[Mistake, Callable[[], sympy.Expr]]]:
    """(mistake, its wrong derivative) pairs that apply to `expr`, each computed by sympy.diff with one rule wrong."""
    out: list[tuple[Mistake, Callable[[], sympy.Expr]]] = []
    functions = {type(f) for f in expr.atoms(sympy.Function)}

    def chainless(outer: Callable[[sympy.Expr], sympy.Expr]) -> Callable[[tuple, int], sympy.Expr]:
        return lambda args, i: outer(args[0]) / sympy.diff(args[0], x)

    table = {
        sympy.sin: ("cos(u) u'", sympy.cos),
        sympy.cos: ("-sin(u) u'", lambda u: -sympy.sin(u)),
        sympy.tan: ("(1 + tan(u)**2) u'", lambda u: 1 + sympy.tan(u) ** 2),
        sympy.exp: ("exp(u) u'", sympy.exp),
        sympy.log: ("u'/u", lambda u: 1 / u),
    }
    if sympy.cos in functions:
        out.append(
            (COS_SIGN, lambda: _with_wrong_rule(expr, x, _is_fn(sympy.cos), lambda a, i: sympy.sin(a[0]), sympy.cos))
        )
    if sympy.tan in functions:
        out.append(
            (
                SEC_NOT_SQUARED,
                lambda: _with_wrong_rule(expr, x, _is_fn(sympy.tan), lambda a, i: 1 / sympy.cos(a[0]), sympy.tan),
            )
        )
    if sympy.log in functions:
        out.append(
            (LOG_AS_LOG, lambda: _with_wrong_rule(expr, x, _is_fn(sympy.log), lambda a, i: sympy.log(a[0]), sympy.log))
        )
    for func, (derivative, outer) in table.items():
        if func in functions:
            name = func.__name__
            mistake = Mistake(
                CHAIN_FACTOR,
                f"the chain rule multiplies by the derivative of the inner function: d {name}(u) = {derivative}, "
                f"and here u is not just {x}.",
                RULES,
            )
            out.append(
                (
                    mistake,
                    lambda func=func, outer=outer: _with_wrong_rule(expr, x, _is_fn(func), chainless(outer), func),
                )
            )
    if any(p.exp.has(x) for p in expr.atoms(sympy.Pow)):
        is_variable = lambda n: n.is_Pow and n.exp.has(x)  # noqa: E731
        out.append(
            (
                POWER_RULE_ON_VARIABLE_EXPONENT,
                lambda: _with_wrong_rule(
                    expr, x, is_variable, lambda a, i: a[1] * a[0] ** (a[1] - 1) if i == 1 else sympy.S.Zero, sympy.Pow
                ),
            )
        )
        out.append(
            (
                BASE_TREATED_AS_CONSTANT,
                lambda: _with_wrong_rule(
                    expr,
                    x,
                    is_variable,
                    lambda a, i: sympy.S.Zero if i == 1 else a[0] ** a[1] * sympy.log(a[0]),
                    sympy.Pow,
                ),
            )
        )
    if any(p.base.has(x) and not p.exp.has(x) for p in expr.atoms(sympy.Pow)):
        is_power = lambda n: n.is_Pow and n.base.has(x) and not n.exp.has(x)  # noqa: E731
        out.append(
            (
                EXPONENT_NOT_DECREASED,
                lambda: _with_wrong_rule(
                    expr, x, is_power, lambda a, i: a[1] * a[0] ** a[1] if i == 1 else 0, sympy.Pow
                ),
            )
        )
        out.append(
            (
                FACTOR_N_MISSING,
                lambda: _with_wrong_rule(
                    expr, x, is_power, lambda a, i: a[0] ** (a[1] - 1) if i == 1 else 0, sympy.Pow
                ),
            )
        )
    if any(m.is_Mul for m in sympy.preorder_traversal(expr)):
        is_mul = lambda n: n.is_Mul  # noqa: E731
        out.append(
            (
                FIRST_FACTOR_ONLY,
                lambda: _with_wrong_rule(expr, x, is_mul, lambda a, i: sympy.Mul(*a[1:]) if i == 1 else 0, sympy.Mul),
            )
        )
    if any(m.is_Mul and len(m.args) >= 3 for m in sympy.preorder_traversal(expr)):
        is_long = lambda n: n.is_Mul and len(n.args) >= 3  # noqa: E731
        out.append(
            (
                FACTORS_DROPPED,
                lambda: _with_wrong_rule(
                    expr, x, is_long, lambda a, i: a[1] if i == 1 else a[0] if i == 2 else 0, sympy.Mul
                ),
            )
        )
        out.append(
            (
                TWO_FACTORS_ONLY,
                lambda: _with_wrong_rule(
                    expr, x, is_long, lambda a, i: sympy.Mul(*a[: i - 1], *a[i:]) if i <= 2 else 0, sympy.Mul
                ),
            )
        )
    others = sorted((s for s in expr.free_symbols if s != x), key=str)
    if others:
        mistake = Mistake(
            OTHER_SYMBOLS,
            f"differentiating with respect to {x}, every other symbol ({', '.join(map(str, others))}) is a constant "
            f"with derivative 0; only {x} itself has derivative 1.",
            RULES,
        )
        out.append((mistake, lambda: sympy.Add(*(sympy.diff(expr, s) for s in expr.free_symbols))))
    return out


def _diagnose(
    expr: sympy.Expr, x: sympy.Symbol, got: sympy.Expr, names: Sequence[str], points: Sequence[Point]
) -> Mistake | str | None:
    """`diagnose` on the values at `points`: the one mistake whose wrong derivative `got` equals there."""

    def values(make: Callable[[], sympy.Expr]) -> list[complex] | None:
        try:
            candidate = make()
        except Exception:
            return None
        if candidate.has(sympy.Derivative) or any(type(a).__name__ == "Wrong" for a in candidate.atoms(sympy.Function)):
            return None  # the wrong rule did not apply everywhere: no candidate
        return _values(candidate, names, points)

    candidates = (
        Candidate(mistake, found) for mistake, make in _candidates(expr, x) if (found := values(make)) is not None
    )
    return diagnose(
        _values(got, names, points),
        candidates,
        truth=_values(_diff(expr, x), names, points),
        close=lambda a, b, _allowed: all(_close(a, b)),
        is_zero=lambda a, _allowed: all(_close(a, [0j] * len(a))),
    )


# --- derivative_rules -----------------------------------------------------------------------------


def _raised(call: str, description: str, given: str | None = None) -> Exception:
    """`raised`, but a NotImplementedError with a message of the student's own is shown as an error."""
    if description.startswith("NotImplementedError:") and not description.startswith("NotImplementedError:  ("):
        return failure(
            call,
            f"raised {description}.",
            given=given,
            mistake="every node type of the contract needs a rule: numbers, symbols, Add, Mul, Pow and "
            "sin, cos, tan, exp, log.",
        )
    return raised(call, description, given=given)


def _derivative_case(student: Callable, f: RandomExpression, wrt: sympy.Symbol, seed: int) -> None:
    names = [str(s) for s in f.symbols]

    def observe() -> dict:
        with _DiffWatch() as watch:
            out = student(f.expr, wrt)
        return {"result": expression_data(out), "diff": watch.report()}

    def judge(obs: Observation) -> None:
        call = f"derivative_rules({_text(f.expr)}, {wrt})"
        if obs.raised:
            raise _raised(call, obs.raised)
        _no_sympy_diff(call, obs.value["diff"], "derivative_rules")
        got = read_expression(obs.value["result"], call, names)
        want = _diff(f.expr, wrt)
        points = _points(f, seed)
        wrong = _disagreement(got, want, names, points)
        if wrong is not None:
            point, mine, truth = wrong
            raise failure(
                call,
                f"the derivative is wrong: at {_at(names, point)} it is {_number(mine)}, but d/d{wrt} of "
                f"{_text(f.expr)} is {_number(truth)} there.",
                expected=want,
                got=got,
                mistake=_diagnose(f.expr, wrt, got, names, points),
            )

    run_check(observe, judge)


def check_derivative_rules(
    derivative_rules: Callable,
    expr: str | None = None,
    wrt: str = "x",
    *,
    low: float = -2.0,
    high: float = 2.0,
    seed: int | None = None,
    count: int = 4,
    n_vars: int = 1,
    depth: int = 2,
    variable_powers: bool = False,
    functions: Sequence[str] = FUNCTIONS,
) -> None:
    """Check derivative_rules(expr, x) against sympy.diff, and that sympy.diff was not used.

    `expr` is a SymPy string such as "x*sin(x)*exp(x)" with real variables on [low, high] (keep
    log and x**x on positive ranges); `wrt` names the variable. With a `seed`, `count` random
    expressions in n_vars variables, differentiated with respect to each variable in turn.
    """
    __tracebackhide__ = True
    if seed is None:
        f = _parse(expr, low, high, (wrt,))
        _derivative_case(derivative_rules, f, next(s for s in f.symbols if s.name == wrt), 7)
        return
    for k in range(count):
        f = _random(seed * 1000 + k, n_vars, depth, variable_powers, tuple(functions))
        _derivative_case(derivative_rules, f, f.symbols[k % n_vars], seed * 1000 + k)


# --- gradient_expr, jacobian_expr, hessian_expr --------------------------------------------------


def read_matrix(
    data: Any, call: str, shape: tuple[int, int], names: Sequence[str], what: str
) -> list[list[sympy.Expr]]:
    """A Matrix (or a list of rows) of `shape` from an observation, as rows of expressions."""
    m, n = shape
    if isinstance(data, dict) and "matrix" in data:
        rows, cols = data["matrix"]
        if (rows, cols) != (m, n):
            transposed = (rows, cols) == (n, m)
            raise failure(
                call,
                f"returned a {rows}x{cols} Matrix; the {what} must be {m}x{n}.",
                mistake=JACOBIAN_TRANSPOSED if transposed and what == "Jacobian" else None,
            )
        entries = data["entries"]
        return [[read_expression(entries[i * n + j], call, names) for j in range(n)] for i in range(m)]
    if (
        isinstance(data, dict)
        and data.get("sequence")
        and all(isinstance(r, dict) and r.get("sequence") and len(r["items"]) == n for r in data["items"])
    ):
        rows = data["items"]
        if len(rows) == m:
            return [[read_expression(v, call, names) for v in row["items"]] for row in rows]
    raise failure(call, f"should return a {m}x{n} sympy Matrix, but returned {_kind(data)}.")


def _compare_entries(
    call: str,
    got: list[list[sympy.Expr]],
    want: list[list[sympy.Expr]],
    names: Sequence[str],
    points: Sequence[Point],
    label: Callable[[int, int], str],
    mistakes: Sequence[tuple[Mistake, list[list[sympy.Expr]]]] = (),
) -> None:
    for i, row in enumerate(want):
        for j, truth in enumerate(row):
            wrong = _disagreement(got[i][j], truth, names, points)
            if wrong is None:
                continue
            point, mine, value = wrong
            matches = [
                known
                for known, candidate in mistakes
                if all(
                    _disagreement(got[a][b], candidate[a][b], names, points) is None
                    for a in range(len(want))
                    for b in range(len(want[0]))
                )
            ]
            mistake = matches[0] if len(matches) == 1 else None  # two matches: the answer does not tell
            raise failure(
                call,
                f"entry {label(i, j)} is wrong: at {_at(names, point)} it is {_number(mine)}, but should be "
                f"{_number(value)}.",
                expected=truth,
                got=got[i][j],
                mistake=mistake,
            )


def _matrix_case(
    name: str, student: Callable, exprs: Sequence[sympy.Expr], f: RandomExpression, seed: int, kind: str
) -> None:
    symbols = list(f.symbols)
    names = [str(s) for s in symbols]
    n = len(symbols)

    def observe() -> dict:
        argument = list(exprs) if kind == "jacobian" else exprs[0]
        with _DiffWatch() as watch:
            out = student(argument, list(symbols))
        return {"result": expression_data(out), "diff": watch.report()}

    def judge(obs: Observation) -> None:
        shown = f"[{', '.join(str(e) for e in exprs)}]" if kind == "jacobian" else str(exprs[0])
        call = f"{name}({shown}, {symbols})"
        if obs.raised:
            raise raised(call, obs.raised)
        _no_sympy_diff(call, obs.value["diff"], name)
        data = obs.value["result"]
        points = _points(f, seed, 3)
        if kind == "gradient":
            got = _read_gradient(data, call, n, names)
            want = [[_diff(exprs[0], s) for s in symbols]]
            _compare_entries(call, got, want, names, points, lambda i, j: f"{j} (d/d{names[j]})")
            return
        if kind == "jacobian":
            m = len(exprs)
            got = read_matrix(data, call, (m, n), names, "Jacobian")
            want = [[_diff(e, s) for s in symbols] for e in exprs]
            transposed = [[want[j][i] for j in range(m)] for i in range(n)] if m == n else None
            mistakes = [(JACOBIAN_TRANSPOSED, transposed)] if transposed else []
            _compare_entries(
                call, got, want, names, points, lambda i, j: f"[{i}, {j}] (d f_{i} / d {names[j]})", mistakes
            )
            return
        got = read_matrix(data, call, (n, n), names, "Hessian")
        want = [[_diff(exprs[0], a, b) for b in symbols] for a in symbols]
        diagonal = [[_diff(exprs[0], a, a) for _ in symbols] for a in symbols]
        first = [[_diff(exprs[0], b) for b in symbols] for _ in symbols]
        mistakes = [
            (HESSIAN_SAME_VARIABLE, diagonal),
            (HESSIAN_REPEATED_GRADIENT, first),
        ]
        _compare_entries(
            call, got, want, names, points, lambda i, j: f"[{i}, {j}] (d2f / d{names[i]} d{names[j]})", mistakes
        )

    run_check(observe, judge)


def _read_gradient(data: Any, call: str, n: int, names: Sequence[str]) -> list[list[sympy.Expr]]:
    if (
        isinstance(data, dict)
        and "matrix" in data
        and n in data["matrix"]
        and data["matrix"][0] * data["matrix"][1] == n
    ):
        return [[read_expression(v, call, names) for v in data["entries"]]]
    if isinstance(data, dict) and data.get("sequence"):
        if len(data["items"]) != n:
            raise failure(call, f"returned {len(data['items'])} partial derivatives; there are n = {n} variables.")
        return [[read_expression(v, call, names) for v in data["items"]]]
    raise failure(call, f"should return a list of {n} SymPy expressions, but returned {_kind(data)}.")


def check_gradient_expr(
    gradient_expr: Callable, expr: str | None = None, *, seed: int | None = None, count: int = 3
) -> None:
    """Check gradient_expr(expr, xs): the list of d expr / d x_i, built without sympy.diff."""
    __tracebackhide__ = True
    if seed is None:
        f = _parse(expr, -2.0, 2.0)
        _matrix_case("gradient_expr", gradient_expr, [f.expr], f, 11, "gradient")
        return
    for k in range(count):
        f = _random(seed * 1000 + k, 2 + k % 2, 2, False, FUNCTIONS)
        _matrix_case("gradient_expr", gradient_expr, [f.expr], f, seed * 1000 + k, "gradient")


def check_jacobian_expr(
    jacobian_expr: Callable, exprs: Sequence[str] | None = None, *, seed: int | None = None, count: int = 3
) -> None:
    """Check jacobian_expr(exprs, xs): the m x n Matrix of d f_i / d x_j, built without sympy.diff."""
    __tracebackhide__ = True
    if seed is None:
        whole = _parse(" + ".join(f"({e})" for e in exprs), -2.0, 2.0)
        parsed = [sympy.sympify(e, locals={s.name: s for s in whole.symbols}) for e in exprs]
        _matrix_case("jacobian_expr", jacobian_expr, parsed, whole, 12, "jacobian")
        return
    for k in range(count):
        n, m = [(2, 3), (3, 2), (2, 2)][k % 3]
        vector = random_vector_function(seed * 1000 + k, n_vars=n, n_outputs=m, depth=1, functions=FUNCTIONS)
        f = RandomExpression(expr=sum(vector.exprs), symbols=vector.symbols)
        _matrix_case("jacobian_expr", jacobian_expr, list(vector.exprs), f, seed * 1000 + k, "jacobian")


def check_hessian_expr(
    hessian_expr: Callable, expr: str | None = None, *, seed: int | None = None, count: int = 3
) -> None:
    """Check hessian_expr(expr, xs): the n x n Matrix of second partials, built without sympy.diff."""
    __tracebackhide__ = True
    if seed is None:
        f = _parse(expr, -2.0, 2.0)
        _matrix_case("hessian_expr", hessian_expr, [f.expr], f, 13, "hessian")
        return
    for k in range(count):
        f = _random(seed * 1000 + k, 2 + k % 2, 1 + k % 2, False, FUNCTIONS)
        _matrix_case("hessian_expr", hessian_expr, [f.expr], f, seed * 1000 + k, "hessian")


# --- logistic_map and expression_swell -------------------------------------------------------------


@lru_cache(maxsize=64)
def logistic_truth(n: int, x: sympy.Symbol) -> sympy.Expr:
    """l_n of the recursion l_1 = x, l_{k+1} = 4 l_k (1 - l_k), unexpanded."""
    value = x
    for _ in range(n - 1):
        value = 4 * value * (1 - value)
    return value


def check_logistic_map(logistic_map: Callable, n: int, expected: str | None = None, variable: str = "x") -> None:
    """Check logistic_map(x, n) = l_n, exactly (as polynomials); `expected` as in the lecture's table."""
    __tracebackhide__ = True
    x = sympy.Symbol(variable)
    truth = logistic_truth(n, x) if expected is None else sympy.sympify(expected, locals={variable: x})

    def observe() -> Any:
        return expression_data(logistic_map(x, n))

    call = f"logistic_map({x}, {n})"

    def judge(obs: Observation) -> None:
        got = read_expression(obs.value, call, [variable])
        if sympy.expand(got - truth) == 0:
            return
        mistake = None
        for k, wrong in ((n - 1, ONE_STEP_TOO_FEW), (n + 1, ONE_STEP_TOO_MANY)):
            if k >= 1 and sympy.expand(got - logistic_truth(k, x)) == 0:
                mistake = wrong
        raise failure(
            call,
            f"l_{n} is wrong.",
            expected=truth,
            got=got,
            given="l_1 = x and l_{k+1} = 4 l_k (1 - l_k)",
            mistake=mistake,
        )

    Case(call).run(observe, judge)


@lru_cache(maxsize=16)
def swell_truth(n: int) -> tuple[int, int, tuple[int, ...]]:
    """(ops of l_n, ops of sympy.diff(l_n, x), accepted ops of the simplified derivative)."""
    x = sympy.Symbol("x")
    value = logistic_truth(n, x)
    derivative = sympy.diff(value, x)
    simplified = {int(sympy.count_ops(sympy.expand(derivative)))}
    return int(sympy.count_ops(value)), int(sympy.count_ops(derivative)), tuple(sorted(simplified))


def _expanded_ops(n: int) -> int:
    """The ops of l_n expanded into a polynomial (a wrong count of l_n that shows its cause)."""
    return int(sympy.count_ops(sympy.expand(logistic_truth(n, sympy.Symbol("x")))))


def _shifted_swell(rows: Any) -> Mistake | None:
    """ONE_STEP_TOO_MANY (or _FEW) when every row n holds the counts of l_{n+1} (or l_{n-1}): the table
    of a logistic_map that is off by one step; None otherwise (or when the rows are not a table)."""
    try:
        table = [tuple(int(v) for v in row) for row in rows]
    except (TypeError, ValueError):
        return None
    if not table or any(len(row) != 4 for row in table) or [row[0] for row in table] != list(range(1, len(table) + 1)):
        return None
    for shift, mistake in ((1, ONE_STEP_TOO_MANY), (-1, ONE_STEP_TOO_FEW)):
        if shift < 0 and len(table) < 2:
            continue
        rows_checked = [(n, row) for n, row in enumerate(table, start=1) if n + shift >= 1]
        if all(_swell_row_matches(row, n + shift) for n, row in rows_checked) and not all(
            _swell_row_matches(row, n) for n, row in rows_checked
        ):
            sign = "+" if shift > 0 else "-"
            rule = f"row n holds the counts of l_{{n {sign} 1}}, so your logistic_map is off by one step: {STEPS}"
            return Mistake(mistake.name, rule, mistake.where)
    return None


def _swell_row_matches(row: tuple[int, ...], n: int) -> bool:
    ops, naive, simplified = swell_truth(n)
    return row[1] == ops and row[2] == naive and row[3] in simplified


def check_expression_swell(expression_swell: Callable, n_max: int = 4) -> None:
    """Check expression_swell(n_max): rows (n, ops l_n, ops d l_n/dx, ops simplified) for n = 1..n_max.

    The counts are sympy.count_ops of l_n built by the recursion, of sympy.diff(l_n, x) as it comes,
    and of that derivative simplified (sympy.simplify, or sympy.expand: here they agree).
    """
    __tracebackhide__ = True

    def observe() -> Any:
        rows = expression_swell(n_max)
        try:
            return _plain([tuple(_plain(v) for v in row) for row in rows])
        except TypeError:
            return expression_data(rows)

    call = f"expression_swell({n_max})"

    def judge(obs: Observation) -> None:
        rows = obs.value
        if not isinstance(rows, list | tuple) or len(rows) != n_max:
            raise failure(
                call,
                f"should return {n_max} rows, one for each n = 1, ..., {n_max}, but returned {_kind(rows)}.",
            )
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, list | tuple) or len(row) != 4:
                raise failure(call, f"row {n} should be (n, ops of l_n, ops of d l_n/dx, ops simplified), got {row!r}.")
            if not all(isinstance(v, int | float) and float(v) == int(v) for v in row):
                raise failure(call, f"row {n} should hold four whole numbers, got {row!r}.")
            ops, naive, simplified = swell_truth(n)
            got = tuple(int(v) for v in row)
            names = ("n", "ops of l_n", "ops of the unsimplified derivative", "ops of the simplified derivative")
            for index, (value, allowed) in enumerate(zip(got, ((n,), (ops,), (naive,), simplified), strict=True)):
                if value not in allowed:
                    mistake: str | Mistake | None = None
                    shifted = _shifted_swell(rows)  # a probe: only after the check has failed
                    if shifted is not None:
                        mistake = shifted
                    elif index == 2 and value in simplified:
                        mistake = NAIVE_SIMPLIFIED
                    elif index == 1 and value == _expanded_ops(n):
                        mistake = (
                            f"{value} is the count of l_{n} expanded: count the ops of l_n as the recursion builds "
                            "it (do not expand it)."
                        )
                    elif index == 3 and value == naive:
                        mistake = NOT_SIMPLIFIED
                    raise failure(
                        call,
                        f"row {n}: the {names[index]} should be {allowed[0]}, but it is {value}.",
                        expected=(n, ops, naive, simplified[0]),
                        got=got,
                        mistake=mistake,
                    )

    Case(call).run(observe, judge)


# --- to_function ----------------------------------------------------------------------------------


def _to_function_case(student: Callable, f: RandomExpression, order: Sequence[int], seed: int) -> None:
    xs = [f.symbols[i] for i in order]
    points = _points(f, seed, 3)  # in f.symbols order
    arguments = [[point[i] for i in order] for point in points]  # in xs order

    def observe() -> dict:
        function = student(f.expr, list(xs))
        scalars = [function(*(float(v) for v in row)) for row in arguments]
        is_complex = np.iscomplexobj if np is not None else lambda v: isinstance(v, complex)
        arrays, arrays_raised = None, None
        if np is not None:  # one array per variable, one entry per point
            try:
                arrays = function(*(np.array([row[i] for row in arguments]) for i in range(len(xs))))
            except Exception as error:  # works on numbers, not on arrays: recorded as such
                arrays_raised = describe_error(error)
        return {
            "scalars": [complex(v) if is_complex(v) else float(v) for v in scalars],
            "arrays": arrays,
            "arrays_raised": arrays_raised,
        }

    def judge(obs: Observation) -> None:
        call = f"to_function({f.expr}, {xs})"
        if obs.raised:
            mistake = None
            if np is None and "numpy" in obs.raised:
                mistake = (
                    'numpy is not installed in this kernel: call sp.lambdify(xs, expr) without "numpy"; it uses '
                    "numpy where numpy is installed (as at grading time), and math and mpmath here."
                )
            raise raised(call, obs.raised, mistake=mistake)
        if obs.value.get("arrays_raised"):  # the function took numbers, then raised on numpy arrays
            raise raised(call, str(obs.value["arrays_raised"]), mistake=NOT_VECTORIZED)
        want = [f.value(p) for p in points]
        got = [complex(v) for v in obs.value["scalars"]]
        for k, row in enumerate(arguments):
            if not abs(got[k] - want[k]) <= 1e-9 * (1 + abs(want[k])):
                swapped = None
                if list(order) != sorted(order):
                    swapped = f.value(row)  # the arguments read in the expression's own order
                mistake = (
                    ARGUMENT_ORDER
                    if swapped is not None and abs(got[k] - swapped) <= 1e-9 * (1 + abs(swapped))
                    else None
                )
                call_text = f"f({', '.join(f'{v:.4g}' for v in row)})"
                raise failure(
                    call,
                    f"the function it returned gives {call_text} = {_number(got[k])}, but the expression is "
                    f"{want[k]:.10g} there (with {', '.join(f'{s} = {v:.4g}' for s, v in zip(xs, row, strict=True))}).",
                    mistake=mistake,
                )
        if np is None:
            print(f"Note: numpy is not installed here, so {call} was not tried on numpy arrays (grading tries it).")
            return
        arrays, want = obs.value["arrays"], np.array(want)
        if not (isinstance(arrays, np.ndarray) and arrays.shape == want.shape):
            raise failure(
                call,
                f"the function should work on numpy arrays (one value per entry), but on arrays of shape "
                f"{want.shape} it returned {_kind(arrays)}.",
                mistake=NOT_VECTORIZED,
            )
        if not np.all(np.abs(arrays - want) <= 1e-9 * (1 + np.abs(want))):
            raise failure(call, "the function gives wrong values on numpy arrays.", expected=want, got=arrays)

    run_check(observe, judge)


def check_to_function(
    to_function: Callable,
    expr: str | None = None,
    xs: Sequence[str] | None = None,
    *,
    seed: int | None = None,
    count: int = 3,
) -> None:
    """Check to_function(expr, xs): a numeric function f(*values of xs) of the expression, vectorized."""
    __tracebackhide__ = True
    if seed is None:
        f = _parse(expr, -2.0, 2.0)
        names = [s.name for s in f.symbols]
        order = [names.index(n) for n in (xs or names)]
        _to_function_case(to_function, f, order, 14)
        return
    for k in range(count):
        n = 2 + k % 2
        f = _random(seed * 1000 + k, n, 2, False, FUNCTIONS)
        order = list(range(n))[::-1] if k % 2 == 0 else [*range(1, n), 0]
        _to_function_case(to_function, f, order, seed * 1000 + k)
