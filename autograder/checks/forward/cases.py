"""The checks of unit 03 (the package docstring says where their truth comes from)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from autograder.checks.ad.operators import ARITHMETIC
from autograder.checks.ad.student import Functions, functions_data
from autograder.checks.ad.traces import check_trace_dict, check_trace_function
from autograder.checks.forward.mistakes import (
    CLASS,
    EXTRA_CALL,
    FINITE_DIFFERENCES,
    GENERAL_RULE_FOR_CONSTANT,
    JACOBIAN_TRANSPOSED,
    NEGATION_KEEPS_TANGENT,
    PLAIN_NUMBER_AS_DUAL,
    POW_LOG_TERM_MISSING,
    POWER_CHAIN_MISSING,
    POWER_THROUGH_EXP_LOG,
    POWER_TIMES_VALUE,
    PRODUCT_TERM_MISSING,
    QUOTIENT_DIVIDED_BY_Y,
    QUOTIENT_PLUS,
    QUOTIENT_REVERSED,
    RPOW_LOG_MISSING,
    RPOW_POWER_RULE,
    RSUB_SWAPPED,
    RTRUEDIV_PLUS,
    RTRUEDIV_SWAPPED,
    SCALAR_FUNCTION_ON_ARRAY,
    SEEDED_WITH_ONES,
    SUBTRACTION_TANGENTS_ADDED,
    SUM_TANGENTS_MULTIPLIED,
    TANGENTS_MULTIPLIED,
    TRACE_LOG_CHAIN_MISSING,
    TRACE_MINUS_AS_PLUS,
    TRACE_PRODUCT_TERM_MISSING,
    TRACE_SIN_CHAIN_MISSING,
    TRACE_TANGENTS_MULTIPLIED,
    VALUE_INSTEAD_OF_TANGENT,
    chain_missing,
    sign_flipped,
)
from autograder.checks.kit.case import Case, explicit_or_seeded
from autograder.checks.kit.dependencies import LIKELY
from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.relations import relate
from autograder.checks.kit.text import expression, random_case
from autograder.checks.kit.tolerance import EXACT_TO_ROUNDING, TO_ROUNDING, relative_to_entries, relative_tolerance
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.feedback import CheckFailure, Mistake, failure, raised, show
from autograder.inputs import Recorded, rng
from autograder.observations import Foreign
from autograder.oracles.expressions import (
    ELEMENTARY,
    RandomExpression,
    RandomVectorFunction,
    random_expression,
    random_vector_function,
)
from autograder.oracles.finite_differences import central_jacobian
from autograder.runtime import Observation, run_check

RELATIVE = EXACT_TO_ROUNDING
NUMPY_FUNCTIONS = {name: getattr(np, name) for name in ELEMENTARY}

# --- reading the student's objects (runs in the observing half only) --------------------------------


def _dual_data(obj: Any) -> dict:
    """What a result of the student's Dual code is: a dual (value and tangent) or something plain."""
    try:
        if hasattr(obj, "value") and hasattr(obj, "tangent"):
            return {"dual": True, "type": type(obj).__name__, "value": obj.value, "tangent": obj.tangent}
    except Exception:  # a hostile attribute: report it as a plain object
        pass
    return {"dual": False, "type": type(obj).__name__, "value": obj}


def _seed_data(args: Sequence[Any]) -> list[dict]:
    """How f was called: for each argument, whether it is a dual and its value and tangent."""
    return [_dual_data(a) for a in args]


def _attempt(compute: Callable[[], Any]) -> dict:
    """Run one operation of the student's code; an exception is an answer too (its description)."""
    try:
        return {"result": _dual_data(compute())}
    except Exception as error:
        return {"raised": f"{type(error).__name__}: {error}"[:300]}


# --- comparing ---------------------------------------------------------------------------------------


def _number(value: Any, call: str, what: str) -> float:
    """A float read from an observation, or a failure that names what came back."""
    if isinstance(value, Foreign) and value.type_name in ("Dual", "ForwardDiff"):
        raise failure(
            call,
            f"the {what} is a {value.type_name} ({value.text}), not a number.",
            mistake="a Dual holds numbers: build Dual(value, tangent) from the values and tangents of "
            "the operands, and never wrap a Dual in another Dual (lift only numbers).",
        )
    return real_scalar(value, f"{call} ({what})")


def _numbers(value: Any, shape: tuple[int, ...], call: str, what: str) -> np.ndarray:
    if shape == ():
        return np.asarray(_number(value, call, what))
    return real_array(value, shape, call, what)


def _dual_text(pair: Sequence[Any]) -> str:
    return f"Dual({show(pair[0], 60)}, {show(pair[1], 60)})"


# --- operators: + - * / ** on both sides -------------------------------------------------------------

X, Y = sympy.Symbol("x", real=True), sympy.Symbol("y", real=True)

INTEGER_POWERS = ("x**2", "x**3", "x**1", "x**0", "x**-2")
ZERO_BASE_POWERS = ("x**2", "x**3", "x**1")
REAL_POWERS = ("x**(1/2)", "x**(5/2)", "x**y", "y**x", "2**x", "(1/2)**x", "(x*y)**(x - y)")
# What each dunder is for, when an operation raises (a TypeError "unsupported operand" means it is missing).
_DUNDERS = {
    "3 + x": (
        "__radd__",
        "`3 + x` calls int.__add__ first, which gives up, then Dual.__radd__(x, 3): define __radd__.",
    ),
    "3 - x": ("__rsub__", "`3 - x` is Dual.__rsub__(x, 3): define __rsub__ (it computes 3 - x, not x - 3)."),
    "3 * x": ("__rmul__", "`3 * x` is Dual.__rmul__(x, 3): define __rmul__."),
    "3 / x": (
        "__rtruediv__",
        "`3 / x` is Dual.__rtruediv__(x, 3): define __rtruediv__ (it computes 3 / x, not x / 3).",
    ),
    "-x": ("__neg__", "`-x` is Dual.__neg__(x): define __neg__."),
    "2**x": ("__rpow__", "`2**x` is Dual.__rpow__(x, 2): define __rpow__ (d(c^x) = c^x log(c) x')."),
    "(1/2)**x": ("__rpow__", "`0.5**x` is Dual.__rpow__(x, 0.5): define __rpow__ (d(c^x) = c^x log(c) x')."),
}


def _dunder_hint(op: str, description: str) -> Mistake | str | None:
    """A missing reflected (or unary) method named when Python says so; what the method is for when the
    error names it (it exists but fails); else None: an error elsewhere shows no missing method."""
    if op not in _DUNDERS:
        return None
    dunder, hint = _DUNDERS[op]
    if description.startswith("TypeError: unsupported operand type") or description.startswith(
        "TypeError: bad operand type for unary"
    ):
        return Mistake(f"a missing {dunder}", hint, CLASS)
    return hint if dunder in description else None


PROBE_X, PROBE_Y = (1.3, 0.7), (0.6, 1.9)
"""Duals on which the common mistakes of every operation give different answers (a diagnosis probe)."""


def _wrong_results(op: str, a: float, da: float, b: float, db: float) -> list[tuple[Mistake | str, list[float]]]:
    """(mistake, [wrong value, wrong tangent]) for the common mistakes in one operation at x = Dual(a, da),
    y = Dual(b, db); computed from the formulas of the mistakes."""
    out: list[tuple[Mistake | str, list[float]]] = []
    with np.errstate(all="ignore"):
        table: dict[str, list[tuple[Mistake | str, float, float]]] = {
            "x * y": [
                (TANGENTS_MULTIPLIED, a * b, da * db),
                (PRODUCT_TERM_MISSING, a * b, da * b),
                (PRODUCT_TERM_MISSING, a * b, a * db),
            ],
            "x * x": [(TANGENTS_MULTIPLIED, a * a, da * da), (PRODUCT_TERM_MISSING, a * a, da * a)],
            "x / y": [
                (QUOTIENT_PLUS, a / b, (da * b + a * db) / b**2),
                (QUOTIENT_REVERSED, a / b, (a * db - da * b) / b**2),
                (QUOTIENT_DIVIDED_BY_Y, a / b, (da * b - a * db) / b),
            ],
            "3 - x": [(RSUB_SWAPPED, a - 3, da)],
            "3 / x": [(RTRUEDIV_SWAPPED, a / 3, da / 3), (RTRUEDIV_PLUS, 3 / a, 3 * da / a**2)],
            "-x": [(NEGATION_KEEPS_TANGENT, -a, da)],
            "x + y": [(SUM_TANGENTS_MULTIPLIED, a + b, da * db)],
            "x - y": [(SUBTRACTION_TANGENTS_ADDED, a - b, da + db)],
        }
        for mistake, value, tangent in table.get(op, []):
            out.append((mistake, [value, tangent]))
        power = re.fullmatch(r"x\*\*\(?(-?[0-9]+(?:/[0-9]+)?)\)?", op)
        if power:
            n = float(sympy.Rational(power.group(1)))
            value, slope = a**n, n * a ** (n - 1)
            out.append((POWER_CHAIN_MISSING, [value, slope]))
            out.append((POWER_TIMES_VALUE, [value, value * da]))
        if op in ("2**x", "(1/2)**x"):
            c = 2.0 if op == "2**x" else 0.5
            out.append((RPOW_LOG_MISSING, [c**a, c**a * da]))
            out.append((RPOW_POWER_RULE, [c**a, a * c ** (a - 1) * da]))
        if op == "x**y":
            out.append((POW_LOG_TERM_MISSING, [a**b, b * a ** (b - 1) * da]))
    return out


def _non_finite_power(op: str, a: float, got_value: float, got_tangent: float) -> Mistake | None:
    """x**n with a number n at a base <= 0: nan in the value (exp and log) or only in the tangent (log x)."""
    if not re.fullmatch(r"x\*\*\(?-?[0-9]+(?:/[0-9]+)?\)?", op) or a > 0:
        return None
    if not np.isfinite(got_value):
        return POWER_THROUGH_EXP_LOG
    if not np.isfinite(got_tangent):
        return GENERAL_RULE_FOR_CONSTANT
    return None


@lru_cache(maxsize=256)
def _operation(text: str) -> tuple[Callable[..., Any], RandomExpression]:
    """The Python function `lambda x, y: <text>` and the SymPy truth of the same text."""
    function = eval(compile(f"lambda x, y: {text}", f"<{text}>", "eval"), {"__builtins__": {}})
    truth = sympy.sympify(text, locals={"x": X, "y": Y}, rational=True)
    return function, RandomExpression(expr=truth, symbols=(X, Y), low=-1e9, high=1e9)


def _exact(op: str, a: float, da: float, b: float, db: float) -> tuple[float, float]:
    _, truth = _operation(op)
    value = truth.value([a, b])
    gradient = truth.gradient([a, b])
    return value, float(gradient[0] * da + gradient[1] * db)


def _operations_case(
    name: str, student: Callable, ops: Sequence[str], x: tuple[float, float], y: tuple[float, float]
) -> None:
    """One run_check: every operation in `ops` on Dual(*x) and Dual(*y)."""

    def observe() -> dict:
        results, probes = [], []
        for op in ops:
            function = _operation(op)[0]
            results.append(_attempt(lambda function=function: function(student(*x), student(*y))))
        for op in ops:  # the diagnosis probe: read only when the operation is wrong
            function = _operation(op)[0]
            probes.append(_attempt(lambda function=function: function(student(*PROBE_X), student(*PROBE_Y))))
        return {"results": results, "probes": probes}

    def judge(obs: Observation) -> None:
        given = f"x = {_dual_text(x)} and y = {_dual_text(y)}"
        if obs.raised:
            raise raised(f"{name}: Dual(...)", obs.raised, given=given)
        results = obs.value.get("results") if isinstance(obs.value, dict) else None
        probes = obs.value.get("probes") if isinstance(obs.value, dict) else None
        if not isinstance(results, list) or len(results) != len(ops):
            raise failure(name, "the observation of the operations is missing or damaged.")
        if not isinstance(probes, list) or len(probes) != len(ops):
            probes = [None] * len(ops)
        for op, outcome, probe in zip(ops, results, probes, strict=True):
            _judge_operation(op, outcome, x, y, given, probe)

    run_check(observe, judge)


def _judge_operation(op: str, outcome: Any, x: tuple, y: tuple, given: str, probe: Any = None) -> None:
    if "y" not in op:
        given = f"x = {_dual_text(x)}"
    call = f"`{op}`"
    a, da = (float(v) for v in x)
    b, db = (float(v) for v in y)
    if not isinstance(outcome, dict):
        raise failure(call, "was not observed.", given=given)
    if "raised" in outcome:
        raise raised(call, str(outcome["raised"]), given=given, mistake=_dunder_hint(op, str(outcome["raised"])))
    result = outcome.get("result") or {}
    if not result.get("dual"):
        raise failure(
            call,
            f"returned a {result.get('type')} ({show(result.get('value'), 60)}), not a Dual: an operation "
            "with a Dual operand returns a Dual.",
            given=given,
            mistake="lift a number operand to Dual(number, 0.0) and return Dual(value, tangent)."
            if re.search(r"[0-9]", op)
            else "return Dual(value, tangent), built from the values and tangents of the operands.",
        )
    want_value, want_tangent = _exact(op, a, da, b, db)
    got_value = _number(result.get("value"), call, "value")
    got_tangent = _number(result.get("tangent"), call, "tangent")
    value_wrong = mismatch(got_value, want_value, relative_tolerance(want_value))
    tangent_wrong = mismatch(got_tangent, want_tangent, relative_tolerance(want_tangent))
    if not (value_wrong or tangent_wrong):
        return
    mistake = _non_finite_power(op, a, got_value, got_tangent) or _diagnose_operation(op, probe)
    if mistake is None:
        mistake = diagnose([got_value, got_tangent], _wrong_results(op, a, da, b, db), tolerance=TO_ROUNDING)
    if mistake is None and op.startswith("x**") and a <= 0 and not np.isfinite(got_tangent + got_value):
        mistake = (
            "x**n as exp(n log x) fails for x <= 0 (log of a negative number or of 0); for a constant "
            "exponent use the power rule n x^(n-1) ẋ, which works for every x."
        )
    what = "value" if value_wrong else "tangent"
    raise failure(
        call,
        f"the {what} is wrong; the result should be Dual({want_value:.12g}, {want_tangent:.12g}).",
        expected=want_value if value_wrong else want_tangent,
        got=got_value if value_wrong else got_tangent,
        given=given,
        mistake=mistake,
    )


def _diagnose_operation(op: str, probe: Any) -> Mistake | str | None:
    """The mistake the probe's answer (the operation on Dual(*PROBE_X), Dual(*PROBE_Y)) gives away, if any."""
    try:
        result = probe["result"]
        got = [float(result["value"]), float(result["tangent"])]
    except (TypeError, KeyError, ValueError):
        return None
    want = list(_exact(op, *PROBE_X, *PROBE_Y))
    if not mismatch(got, want, relative_tolerance(want)):
        return None
    return diagnose(got, _wrong_results(op, *PROBE_X, *PROBE_Y), tolerance=TO_ROUNDING)


def _pair(p: Any) -> tuple[float, float]:
    value, tangent = p
    return (value, tangent)


def check_dual_arithmetic(
    Dual: Callable,
    ops: str | Sequence[str] | None = None,
    x: tuple[float, float] = (1.5, 0.5),
    y: tuple[float, float] = (-2.5, 2.0),
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check `+ - * /` and unary minus of Dual(value, tangent), with a Dual or a number on either side.

    Each operation in `ops` (Python source in x and y, default `ARITHMETIC`) is run on
    x = Dual(*x) and y = Dual(*y); the value and tangent must be SymPy's value and directional
    derivative. With a seed, `count` random pairs of duals are tried (tangents neither 0 nor 1).
    """
    __tracebackhide__ = True
    chosen = ARITHMETIC if ops is None else (ops,) if isinstance(ops, str) else tuple(ops)
    for first, second in _random_pairs(x, y, seed, count, positive=False):
        _operations_case("Dual arithmetic", Dual, chosen, first, second)


def _random_pairs(
    x: tuple, y: tuple, seed: int | None, count: int, positive: bool
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    if seed is None:
        return [(_pair(x), _pair(y))]
    generator = rng(seed)
    pairs = []
    for _ in range(count):
        low = 0.3 if positive else 0.5
        values = generator.uniform(low, 2.0, size=2) * (1 if positive else generator.choice([-1, 1], size=2))
        tangents = generator.uniform(1.2, 2.5, size=2) * generator.choice([-1, 1], size=2)
        pairs.append(((float(values[0]), float(tangents[0])), (float(values[1]), float(tangents[1]))))
    return pairs


def check_dual_powers(
    Dual: Callable,
    ops: str | Sequence[str] | None = None,
    x: tuple[float, float] | None = None,
    y: tuple[float, float] = (1.5, -0.5),
    *,
    seed: int | None = None,
    count: int = 3,
) -> None:
    """Check `**` of Dual: constant exponents at negative bases and at 0, x**y with both Dual, c**x.

    With `ops` and `x`, those powers at that point. With a seed: integer powers (`INTEGER_POWERS`)
    at a negative base, `ZERO_BASE_POWERS` at x = 0, and `REAL_POWERS` at positive x and y.
    """
    __tracebackhide__ = True
    if seed is None:
        chosen = REAL_POWERS if ops is None else (ops,) if isinstance(ops, str) else tuple(ops)
        _operations_case("Dual powers", Dual, chosen, _pair(x if x is not None else (1.5, 0.5)), _pair(y))
        return
    generator = rng(seed)
    for _ in range(count):
        negative = (float(-generator.uniform(0.5, 2.0)), float(generator.uniform(1.2, 2.5)))
        zero = (0.0, float(generator.uniform(1.2, 2.5)))
        positive, other = _random_pairs(x or (1.0, 1.0), y, int(generator.integers(1 << 30)), 1, positive=True)[0]
        _operations_case("Dual powers", Dual, INTEGER_POWERS, negative, other)
        _operations_case("Dual powers", Dual, ZERO_BASE_POWERS, zero, other)
        _operations_case("Dual powers", Dual, REAL_POWERS, positive, other)


# --- elementary functions ----------------------------------------------------------------------------


def check_elementary(
    Dual: Callable,
    functions: Functions,
    x: float = 0.7,
    tangent: float = 2.5,
    names: Sequence[str] = ELEMENTARY,
) -> None:
    """Check each of `sin, cos, tan, exp, log, sqrt, tanh` on Dual(x, tangent) (the chain rule:
    tangent g'(x) * tangent) and on the plain numbers x (a float) and 1 (an int)."""
    __tracebackhide__ = True
    for name in names:
        _elementary_case(Dual, functions, name, float(x), float(tangent))


def _elementary_case(student: Callable, functions: Functions, name: str, x: float, t: float) -> None:
    def observe() -> dict:
        function = functions_data(functions).get(name)
        if function is None:
            return {"missing": True}
        return {
            "dual": _attempt(lambda: function(student(x, t))),
            "float": _attempt(lambda: function(x)),
            "int": _attempt(lambda: function(1)),
        }

    call = f"{name}(Dual({x!r}, {t!r}))"

    def judge(obs: Observation) -> None:
        if obs.value.get("missing"):
            raise failure(call, f"there is no function {name} in the dictionary of functions the test received.")
        g = RandomExpression(expr=getattr(sympy, name)(X), symbols=(X,), low=-1e9, high=1e9)
        want_value, want_slope = g.value([x]), float(g.gradient([x])[0])
        outcome = obs.value["dual"]
        if "raised" in outcome:
            raise raised(call, outcome["raised"])
        result = outcome["result"]
        if not result["dual"]:
            raise failure(
                call,
                f"returned a {result['type']} ({show(result['value'], 60)}), not a Dual.",
                mistake=f"for a Dual argument return Dual({name}(a), {name}'(a) * ȧ).",
            )
        got_value = _number(result["value"], call, "value")
        got_tangent = _number(result["tangent"], call, "tangent")
        if mismatch(got_value, want_value, relative_tolerance(want_value)):
            raise failure(call, "the value is wrong.", expected=want_value, got=got_value)
        want = want_slope * t
        if mismatch(got_tangent, want, relative_tolerance(want)):
            mistake = diagnose(
                got_tangent, [(chain_missing(name), want_slope), (sign_flipped(name), -want)], tolerance=TO_ROUNDING
            )
            raise failure(
                call,
                f"the tangent is wrong: it should be {name}'({x}) * {t}.",
                expected=want,
                got=got_tangent,
                mistake=mistake,
            )
        for kind, point in (("float", x), ("int", 1)):
            plain_call = f"{name}({point!r})"
            outcome = obs.value[kind]
            if "raised" in outcome:
                description = str(outcome["raised"])
                treated_as_dual = description.startswith("AttributeError") and (
                    "'value'" in description or "'tangent'" in description
                )
                raise raised(
                    plain_call,
                    description,
                    mistake=PLAIN_NUMBER_AS_DUAL
                    if treated_as_dual
                    else "the functions must also accept a plain number (return e.g. np.sin(x) for it).",
                )
            result = outcome["result"]
            if result["dual"]:
                raise failure(plain_call, "returned a Dual for a plain number; return a plain number.", mistake=None)
            got = _number(result["value"], plain_call, "result")
            truth = g.value([float(point)])
            if mismatch(got, truth, relative_tolerance(truth)):
                raise failure(plain_call, "is wrong.", expected=truth, got=got)

    Case(call).run(observe, judge)


def check_dual_expression(
    Dual: Callable,
    functions: Functions,
    f: str | None = None,
    x: Any = None,
    tangent: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
    depth: int = 3,
) -> None:
    """Check a whole expression on duals: f(Dual(x1, t1), ..., Dual(xn, tn)) has value f(x) and
    tangent ∇f(x)·t. `f` is SymPy source (the student's functions stand in for SymPy's); with a
    seed, random expressions of 1 to 3 variables (some with x**y) at random points and tangents."""
    __tracebackhide__ = True

    def explicit() -> Any:
        g = expression(f, 0.05, 100.0)
        return (g, np.atleast_1d(np.array(x, dtype=float)), np.atleast_1d(np.array(tangent, dtype=float)))

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            n = 1 + k % 3
            g = _random(seed * 100 + k, n, depth, variable_powers=k % 2 == 1)
            cases.append((g, g.point(generator), generator.uniform(1.2, 2.5, size=n) * generator.choice([-1, 1], n)))
        return cases

    cases = explicit_or_seeded(seed, explicit, draw)
    for g, point, direction in cases:
        _expression_case(Dual, functions, g, point, direction)


@lru_cache(maxsize=256)
def _random(seed: int, n: int, depth: int, variable_powers: bool = False) -> RandomExpression:
    if not variable_powers:
        return random_case(seed, n, depth)
    return random_expression(seed, n_vars=n, depth=depth, variable_powers=True)


def _expression_case(
    student: Callable, functions: Functions, g: RandomExpression, x: np.ndarray, t: np.ndarray
) -> None:
    def observe() -> dict:
        fun = g.function(functions_data(functions))
        return _attempt(lambda: fun(*[student(v, d) for v, d in zip(x.tolist(), t.tolist(), strict=True)]))

    def judge(obs: Observation) -> None:
        variables = ", ".join(f"Dual({v!r}, {d!r})" for v, d in zip(x.tolist(), t.tolist(), strict=True))
        call = f"f({variables})"
        given = f"f({', '.join(map(str, g.symbols))}) = {g}, built with your Dual and your functions"
        _judge_dual_result(call, given, obs, g.value(x), float(g.gradient(x) @ t))

    run_check(observe, judge)


def _judge_dual_result(call: str, given: str, obs: Observation, want_value: Any, want_tangent: Any) -> None:
    if obs.raised:
        raise raised(call, obs.raised, given=given)
    outcome = obs.value
    if "raised" in outcome:
        raise raised(call, outcome["raised"], given=given)
    result = outcome["result"]
    if not result["dual"]:
        raise failure(call, f"returned a {result['type']}, not a Dual.", given=given)
    shape = np.shape(want_value)
    got_value = _numbers(result["value"], shape, call, "value")
    got_tangent = _numbers(result["tangent"], shape, call, "tangent")
    if mismatch(got_value, want_value, relative_tolerance(want_value)):
        raise failure(call, "the value is wrong.", expected=want_value, got=got_value, given=given)
    if mismatch(got_tangent, want_tangent, relative_tolerance(want_tangent)):
        raise failure(
            call,
            f"the tangent is wrong by up to {largest_gap(got_tangent, want_tangent):.3e}.",
            expected=want_tangent,
            got=got_tangent,
            given=given,
        )


# --- vectorized duals --------------------------------------------------------------------------------


def check_dual_vectorized(
    Dual: Callable,
    functions: Functions,
    *,
    seed: int = 0,
    count: int = 2,
) -> None:
    """Check duals whose value and tangent are numpy arrays: every operation works elementwise.

    Powers at an array of bases with negative entries and a 0 (x**2, x**3), reflected operators,
    each elementary function on an array dual and on a plain array, and random expressions.
    """
    __tracebackhide__ = True
    generator = rng(seed)
    bases = np.array([-2.0, -0.5, 0.0, 0.5, 1.5])
    seeds = generator.uniform(1.2, 2.5, size=bases.size)
    for op in ("x**2", "x**3", "3 - x", "3 / (x + 3)"):
        _vector_case(Dual, functions, _array_expression(op), op, bases, seeds)
    positive = np.linspace(0.3, 1.4, bases.size)
    for name in ELEMENTARY:
        _vector_case(Dual, functions, _array_expression(f"{name}(x)"), None, positive, seeds, plain=name)
    for k in range(count):
        g = random_case(seed * 100 + k, 1, 2)
        points = np.sort(generator.uniform(g.low, g.high, size=bases.size))
        _vector_case(Dual, functions, g, None, points, generator.uniform(1.2, 2.5, size=bases.size))


@lru_cache(maxsize=64)
def _array_expression(text: str) -> RandomExpression:
    return RandomExpression(expr=sympy.sympify(text, locals={"x": X}), symbols=(X,), low=-1e9, high=1e9)


def _vector_case(
    student: Callable,
    functions: Functions,
    g: RandomExpression,
    python: str | None,
    x: np.ndarray,
    t: np.ndarray,
    plain: str | None = None,
) -> None:
    """f(Dual(x, t)) for arrays x and t; `python` is f as Python source (else f is lambdified)."""
    text = python or str(g.expr)

    def observe() -> dict:
        fun = _operation(python)[0] if python else g.function(functions_data(functions))
        out = {
            "dual": _attempt(
                lambda: fun(student(x.copy(), t.copy())) if not python else fun(student(x.copy(), t.copy()), None)
            )
        }
        if plain:
            out["plain"] = _attempt(lambda: functions_data(functions)[plain](x.copy()))
        return out

    call = f"f(Dual(x, t)) with the arrays x = {show(x, 80)} and t = {show(t, 80)}"
    given = f"f(x) = {text}"

    def judge(obs: Observation) -> None:
        want_value = np.array([g.value([v]) for v in x])
        want_tangent = np.array([g.gradient([v])[0] for v in x]) * t
        try:
            _judge_dual_result(call, given, Observation(value=obs.value["dual"]), want_value, want_tangent)
        except CheckFailure as error:
            mistake = _vector_mistake(python, x, obs.value["dual"]) or _truth_value_hint(obs.value["dual"])
            if mistake is None:
                raise  # nothing in the observation shows a cause: the failure as it is (with its relation, if any)
            problem = LIKELY.sub("", " ".join(str(error).split()).split(": ", 1)[-1])  # one "Likely mistake"
            raise failure(call, problem, mistake=mistake) from None
        if plain:
            plain_call = f"{plain}(x) for the plain array x = {show(x, 80)}"
            outcome = obs.value["plain"]
            if "raised" in outcome:
                mistake = _vector_mistake(None, x, outcome) or _truth_value_hint(outcome)
                raise raised(plain_call, outcome["raised"], mistake=mistake)
            got = real_array(outcome["result"]["value"], x.shape, plain_call, "result")
            if mismatch(got, want_value, relative_tolerance(want_value)):
                raise failure(plain_call, "is wrong.", expected=want_value, got=got)

    Case(call, given).run(observe, judge)


TRUTH_VALUE_HINT = (
    "an `if` (or `and`, `or`, `max`) on a value asks an array for one truth value: compute elementwise with "
    "numpy instead (np.where, np.maximum, np.abs)."
)
"""A plain hint, given only when numpy said an array's truth value is ambiguous."""


def _truth_value_hint(outcome: Any) -> str | None:
    """TRUTH_VALUE_HINT when the student's code raised numpy's "truth value of an array ... is ambiguous"."""
    if isinstance(outcome, dict) and "truth value of an array" in str(outcome.get("raised", "")):
        return TRUTH_VALUE_HINT
    return None


def _vector_mistake(python: str | None, x: np.ndarray, outcome: Any) -> Mistake | None:
    """What a failure on array duals gives away: a conversion to a Python scalar (math.sin, float) raised,
    or a constant power is nan exactly at the bases <= 0 (exp and log)."""
    if not isinstance(outcome, dict):
        return None
    if "raised" in outcome:
        return SCALAR_FUNCTION_ON_ARRAY if "converted to Python scalars" in str(outcome["raised"]) else None
    if python is None or not re.fullmatch(r"x\*\*-?[0-9]+", python):
        return None
    try:
        value = np.asarray(outcome["result"]["value"], dtype=float)
        tangent = np.asarray(outcome["result"]["tangent"], dtype=float)
    except (TypeError, KeyError, ValueError):
        return None
    if value.shape != x.shape or tangent.shape != x.shape or not (x < 0).any():
        return None

    def only_at_nonpositive(bad: np.ndarray) -> bool:  # nan at every negative base, never at a positive one
        return bool(bad[x < 0].all() and not bad[x > 0].any())

    if only_at_nonpositive(~np.isfinite(value)):
        return POWER_THROUGH_EXP_LOG
    if np.isfinite(value).all() and only_at_nonpositive(~np.isfinite(tangent)):
        return GENERAL_RULE_FOR_CONSTANT
    return None


# --- the forward trace of the lecture ----------------------------------------------------------------

X1, X2 = sympy.Symbol("x1", real=True), sympy.Symbol("x2", real=True)
TRACE = {
    "v_-1": X1,
    "v_0": X2,
    "v_1": sympy.log(X1),
    "v_2": X1 * X2,
    "v_3": sympy.sin(X2),
    "v_4": sympy.log(X1) + X1 * X2,
    "v_5": sympy.log(X1) + X1 * X2 - sympy.sin(X2),
    "y_1": sympy.log(X1) + X1 * X2 - sympy.sin(X2),
}
"""The lecture's trace of f(x1, x2) = ln(x1) + x1 x2 - sin(x2): the key of v̇_i is "v_i"."""

_TRACE_MISTAKES: dict[str, list[tuple[Mistake, Callable[[float, float, float, float], float]]]] = {
    "v_1": [(TRACE_LOG_CHAIN_MISSING, lambda x1, x2, d1, d2: 1 / x1)],
    "v_2": [
        (TRACE_PRODUCT_TERM_MISSING, lambda x1, x2, d1, d2: d1 * x2),
        (TRACE_PRODUCT_TERM_MISSING, lambda x1, x2, d1, d2: d2 * x1),
        (TRACE_TANGENTS_MULTIPLIED, lambda x1, x2, d1, d2: d1 * d2),
    ],
    "v_3": [(TRACE_SIN_CHAIN_MISSING, lambda x1, x2, d1, d2: float(np.cos(x2)))],
    "v_5": [(TRACE_MINUS_AS_PLUS, lambda x1, x2, d1, d2: d1 / x1 + d1 * x2 + d2 * x1 + d2 * float(np.cos(x2)))],
}
"""For a wrong tangent v̇_i: the mistakes that give it away, with the wrong value each gives at (x1, x2, ẋ1, ẋ2)."""

TRACE_PROBE = ((1.7, 0.6), (1.3, -0.8))
"""A point and a seed where the trace's common mistakes all give different tangents (a diagnosis probe)."""


def _trace_mistake(key: str, got: float, x: tuple, dx: tuple, probe: Any) -> Mistake | str | None:
    """The mistake in v̇_key: from the probe's trace when it is wrong there too, else from `got` itself."""
    candidates = _TRACE_MISTAKES.get(key, [])
    if not candidates:
        return None
    if isinstance(probe, dict) and key in probe:
        try:
            at_probe = float(probe[key])
        except (TypeError, ValueError):
            at_probe = None
        want = _trace_truth(*TRACE_PROBE)[key]
        if at_probe is not None and mismatch(at_probe, want, relative_tolerance(want)):
            found = diagnose(
                at_probe,
                [(m, wrong(*TRACE_PROBE[0], *TRACE_PROBE[1])) for m, wrong in candidates],
                tolerance=TO_ROUNDING,
            )
            if found is not None:
                return found
    return diagnose(got, [(m, wrong(*x, *dx)) for m, wrong in candidates], tolerance=TO_ROUNDING)


def _trace_truth(x: tuple[float, float], dx: tuple[float, float]) -> dict[str, float]:
    truth = {}
    for key, expr in TRACE.items():
        g = RandomExpression(expr=expr, symbols=(X1, X2), low=1e-9, high=1e9)
        truth[key] = float(g.gradient(list(x)) @ np.array(dx, dtype=float))
    return truth


def _judge_trace(call: str, trace: Any, x: tuple[float, float], dx: tuple[float, float], probe: Any = None) -> None:
    want = _trace_truth(x, dx)
    if not isinstance(trace, dict):
        raise failure(
            call,
            f"should be a dict from the names {list(TRACE)} to the tangents v̇_i, but it is {show(trace, 80)}.",
        )
    missing = [k for k in TRACE if k not in trace]
    if missing:
        raise failure(
            call,
            f"has no entry for {', '.join(missing)}; the keys are {', '.join(TRACE)} (the key of v̇_i is "
            f"'v_i', and 'y_1' holds ẏ1), but it has {', '.join(map(str, list(trace)[:10]))}.",
        )
    for key, value in want.items():
        got = _number(trace[key], call, f"entry {key!r}")
        if mismatch(got, value, relative_tolerance(value)):
            mistake = _trace_mistake(key, got, x, dx, probe)
            if mistake is None:  # the relational fallback, told the trace's steps: "one step off" too
                steps = list(want.values())
                mistake = relate(value, got, f"the tangent {key}", steps=steps, step=list(want).index(key))
            raise failure(
                call,
                f"the tangent {key} is wrong.",
                expected=value,
                got=got,
                given=f"f(x1, x2) = ln(x1) + x1 x2 - sin(x2) at (x1, x2) = {x} with seed (ẋ1, ẋ2) = {dx}",
                mistake=mistake,
                relate=False,
            )


def check_forward_trace(forward_trace: Any) -> None:
    """Check the dict `forward_trace`: the lecture's tangent trace at (2, 5) seeded with x1
    (v̇-1 = 1, v̇0 = 0, v̇1 = 0.5, v̇2 = 5, v̇3 = 0, v̇4 = 5.5, v̇5 = 5.5, ẏ1 = 5.5)."""
    __tracebackhide__ = True

    check_trace_dict(
        "forward_trace", forward_trace, lambda call, trace, _: _judge_trace(call, trace, (2.0, 5.0), (1.0, 0.0))
    )


def check_tangent_trace(
    tangent_trace: Callable,
    x: tuple[float, float] | None = None,
    dx: tuple[float, float] | None = None,
    *,
    seed: int | None = None,
    count: int = 3,
) -> None:
    """Check tangent_trace(x1, x2, dx1, dx2): the dict of tangents v̇_i for any point and seed."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = [
            (
                (float(generator.uniform(0.3, 3.0)), float(generator.uniform(-3.0, 3.0))),
                (float(generator.uniform(-2.0, 2.0)), float(generator.uniform(1.2, 2.5))),
            )
            for _ in range(count)
        ]
        return cases

    cases = explicit_or_seeded(seed, lambda: (tuple(map(float, x)), tuple(map(float, dx))), draw)
    for point, direction in cases:
        check_trace_function(
            f"tangent_trace({point[0]!r}, {point[1]!r}, {direction[0]!r}, {direction[1]!r})",
            lambda point=point, direction=direction: tangent_trace(*point, *direction),
            lambda: tangent_trace(*TRACE_PROBE[0], *TRACE_PROBE[1]),
            lambda call, trace, probe, point=point, direction=direction: _judge_trace(
                call, trace, point, direction, probe
            ),
        )


# --- drivers: derivative, jvp, jacobian_forward ------------------------------------------------------

PROGRAMS = {
    "loop": (
        "def f(x1, x2):\n"
        "    y = x1\n"
        "    for _ in range(4):\n"
        "        y = y * x2 / 2 + sin(y)\n"
        "    return [y, exp(x1 - y / 4), x2 * 2]\n"
    ),
    "constant_output": ("def f(x1, x2, x3):\n    return (x1 * x2 - sqrt(x3**2 + 1), 2.5)\n"),
}
"""Python programs f(x1, ..., xn) -> list of outputs, with a loop or a constant output; run with the
student's functions (the truth: fourth-order central differences of the numpy version)."""

PROGRAM_TEXT = {
    "loop": "f(x1, x2): y = x1; 4 times y = y*x2/2 + sin(y); return [y, exp(x1 - y/4), x2*2]",
    "constant_output": "f(x1, x2, x3) = (x1*x2 - sqrt(x3**2 + 1), 2.5), whose second output is a plain float",
}


def _program(name: str, functions: Functions) -> Callable:
    namespace: dict[str, Any] = functions_data(functions)
    exec(compile(PROGRAMS[name], f"<program {name}>", "exec"), namespace)
    return namespace["f"]


class _Case:
    """One test function for a driver: its description, n, m (None for a scalar f) and its truth."""

    def __init__(self, kind: str, payload: Any) -> None:
        self.kind, self.payload = kind, payload
        if kind == "scalar":
            self.n, self.m, self.text = payload.n_vars, None, str(payload)
            self.variables = ", ".join(map(str, payload.symbols))
        elif kind == "vector":
            self.n, self.m = payload.n_vars, payload.n_outputs
            self.text = "(" + ", ".join(str(e) for e in payload.exprs) + ")"
            self.variables = ", ".join(map(str, payload.symbols))
        else:
            source = PROGRAMS[payload]
            header = source.split("\n", 1)[0]
            self.n = header.count("x")
            self.m = len(_program(payload, NUMPY_FUNCTIONS)(*[0.5] * self.n))
            self.text = PROGRAM_TEXT[payload]
            self.variables = header[len("def f(") : -2]

    def function(self, functions: Functions) -> Callable:
        if self.kind == "program":
            return _program(self.payload, functions)
        return self.payload.function(functions_data(functions))

    def value(self, x: np.ndarray) -> Any:
        if self.kind == "scalar":
            return self.payload.value(x)
        if self.kind == "vector":
            return self.payload.value(x)
        return np.array(_program(self.payload, NUMPY_FUNCTIONS)(*x), dtype=float)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """(m, n), or (n,) for a scalar f."""
        if self.kind == "scalar":
            return self.payload.gradient(x)
        if self.kind == "vector":
            return self.payload.jacobian(x)
        program = _program(self.payload, NUMPY_FUNCTIONS)
        return central_jacobian(lambda v: np.array(program(*v), dtype=float), x, h=1e-3)

    @property
    def relative(self) -> float:
        return 1e-7 if self.kind == "program" else RELATIVE

    def given(self, x: Any) -> str:
        if self.kind == "program":
            return f"f is the program {self.text}, at x = {show(x, 80)}"
        return f"f({self.variables}) = {self.text} and x = {show(x, 80)}"


def _driver_cases(
    f: str | Sequence[str] | None, x: Any, seed: int | None, count: int, shapes: Sequence[tuple[int, int | None]]
) -> list[tuple[_Case, Any]]:
    if seed is None:
        if isinstance(f, str) and f in PROGRAMS:
            return [(_Case("program", f), x)]
        if isinstance(f, str):
            return [(_Case("scalar", expression(f, 0.05, 100.0)), x)]
        rows = [expression(text, 0.05, 100.0) for text in f]
        names = sorted({str(s) for r in rows for s in r.symbols})
        symbols = tuple(next(s for r in rows for s in r.symbols if str(s) == name) for name in names)
        return [(_Case("vector", RandomVectorFunction(tuple(r.expr for r in rows), symbols, 0.05, 100.0)), x)]
    generator = rng(seed)
    cases = []
    for k in range(count):
        n, m = shapes[k % len(shapes)]
        if m is None:
            g = _random(seed * 100 + k, n, 2, variable_powers=k % 3 == 2)
            case = _Case("scalar", g)
        else:
            case = _Case("vector", random_vector_function(seed * 100 + k, n_vars=n, n_outputs=m))
        point = generator.uniform(-2.0, 2.0, size=n)
        form = k % 3  # the point as a list, a tuple or an array: all are sequences of n numbers
        cases.append((case, point.tolist() if form == 0 else tuple(point.tolist()) if form == 1 else point))
    return cases


DERIVATIVE_PROBE = (lambda t: t * t + 1, 0.5)
"""derivative(f, 0.5) of f(t) = t² + 1, built from Dual arithmetic alone: 1.0, and 1.25 if it returns the value."""
JVP_PROBE = (lambda a, b: a * b, [1.5, -0.5], [2.0, 3.0])
"""jvp(f, x, v) of f(a, b) = a b: J v = 3.5, and 1.0 = J times ones if every input is seeded with 1."""


def _probe(compute: Callable[[], Any]) -> float | None:
    """A diagnosis probe's number (observing half): the student's driver on a tiny f, or None if it fails."""
    try:
        return float(compute())
    except Exception:
        return None


def _probe_shows(answer: Any, wrong: float) -> bool:
    """Whether a probe's answer is the wrong number a mistake gives."""
    return isinstance(answer, float) and not mismatch(answer, wrong, relative_tolerance(wrong))


def _call_data(recorded: Recorded) -> dict:
    """How often f was called, how its first call was seeded, and which calls had a dual argument."""
    return {
        "calls": recorded.calls,
        "first": _seed_data(recorded.arguments[0]) if recorded.arguments else [],
        "with_duals": [any(_dual_data(a)["dual"] for a in args) for args in recorded.arguments[:100]],
    }


def _calls_mistake(obs: dict, needed: int) -> Mistake | None:
    """What the calls of f give away: finite differences (several calls, never a dual) or extra calls
    on plain numbers next to the `needed` calls on duals."""
    with_duals = obs.get("with_duals")
    if not isinstance(with_duals, list) or len(with_duals) != obs.get("calls"):
        return None
    on_duals = sum(1 for d in with_duals if d is True)
    if on_duals == 0 and len(with_duals) >= 2:
        return FINITE_DIFFERENCES
    if on_duals == needed and len(with_duals) > needed:
        return EXTRA_CALL
    return None


def _seeded_with_zero(obs: dict) -> bool:
    """Whether f's first call had a Dual argument whose tangent is 0 (the evidence of a seed 0)."""
    first = obs.get("first") or []
    try:
        return bool(first) and all(a.get("dual") and float(a.get("tangent")) == 0.0 for a in first)
    except (TypeError, ValueError):
        return False


def _judge_calls(call: str, obs: dict, needed: int, what: str, given: str) -> None:
    calls = obs.get("calls")
    if calls != needed:
        raise failure(
            call,
            f"f was called {calls} times; {what} takes exactly {needed} forward pass"
            f"{'es' if needed != 1 else ''}, that is {needed} call{'s' if needed != 1 else ''} of f, on duals "
            "(a call on plain numbers counts too).",
            given=given,
            mistake=_calls_mistake(obs, needed),
        )
    first = obs.get("first") or []
    plain = [a for a in first if not a.get("dual")]
    if plain:
        raise failure(
            call,
            f"f was called with a {plain[0].get('type')} ({show(plain[0].get('value'), 40)}), not a Dual.",
            given=given,
            mistake="seed each input as Dual(x_i, tangent_i) and call f on the duals: forward mode "
            "evaluates f once on dual numbers.",
        )


def check_derivative(
    derivative: Callable,
    functions: Functions,
    f: str | None = None,
    x: float | None = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check derivative(f, x) = f'(x) for a scalar f of one variable, with exactly one call of f on a Dual."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            g = _random(seed * 100 + k, 1, 3, variable_powers=k % 2 == 1)
            cases.append((_Case("scalar", g), float(generator.uniform(-2.0, 2.0))))
        return cases

    cases = explicit_or_seeded(seed, lambda: (_Case("scalar", expression(f, 0.05, 100.0)), x), draw)
    for case, point in cases:
        _derivative_case(derivative, functions, case, point)


def _derivative_case(student: Callable, functions: Functions, case: _Case, x: float) -> None:
    def observe() -> dict:
        recorded = Recorded(case.function(functions))
        out = student(recorded, x)
        return {"value": out, **_call_data(recorded), "probe": _probe(lambda: student(*DERIVATIVE_PROBE))}

    call = f"derivative(f, {x!r})"
    given = case.given(x)

    def judge(obs: Observation) -> None:
        got = _number(obs.value["value"], call, "result")
        want = float(case.jacobian(np.array([x]))[0])
        if mismatch(got, want, relative_tolerance(want)):
            value = case.value(np.array([x]))
            mistake = _calls_mistake(obs.value, 1)
            if mistake is None and _probe_shows(obs.value.get("probe"), 1.25):  # the probe's value, not 1.0
                mistake = diagnose(got, [(VALUE_INSTEAD_OF_TANGENT, value)], tolerance=TO_ROUNDING)
            if mistake is None and got == 0 and _seeded_with_zero(obs.value):
                mistake = "f was called on a Dual with tangent 0: seed the input with tangent 1, Dual(x, 1.0)."
            raise failure(call, "the derivative is wrong.", expected=want, got=got, given=given, mistake=mistake)
        _judge_calls(call, obs.value, 1, "derivative", given)

    Case(call, given).run(observe, judge)


def check_jvp(
    jvp: Callable,
    functions: Functions,
    f: str | Sequence[str] | None = None,
    x: Any = None,
    v: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check jvp(f, x, v) = (f(x), J v) in one forward pass: floats for a scalar f, (m,) arrays else.

    `f` is SymPy source (one string: scalar f; a list: f returns a list) or a name in `PROGRAMS`.
    """
    __tracebackhide__ = True
    shapes = [(2, None), (3, 2), (2, 3), (1, 2)]
    cases = _driver_cases(f, x, seed, count, shapes)
    if seed is None:
        directions = [np.array(v, dtype=float)]
    else:
        generator = rng(seed + 1)
        directions = [generator.uniform(1.2, 2.5, size=c.n) * generator.choice([-1, 1], c.n) for c, _ in cases]
        if count >= 4:
            cases.append((_Case("program", "loop"), [0.7, -0.4]))
            directions.append(np.array([1.5, -2.0]))
    for (case, point), direction in zip(cases, directions, strict=True):
        _jvp_case(jvp, functions, case, point, direction)


def _jvp_case(student: Callable, functions: Functions, case: _Case, x: Any, v: np.ndarray) -> None:
    def observe() -> dict:
        recorded = Recorded(case.function(functions))
        given_x = x.copy() if isinstance(x, np.ndarray) else x
        out = student(recorded, given_x, v.tolist())
        return {"value": out, **_call_data(recorded), "probe": _probe(lambda: student(*JVP_PROBE)[1])}

    def judge(obs: Observation) -> None:
        point = np.array(x, dtype=float)
        call = f"jvp(f, {show(x, 60)}, {show(v, 60)})"
        given = case.given(x)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        out = obs.value["value"]
        if not (isinstance(out, list | tuple) and len(out) == 2):
            raise failure(
                call,
                f"should return a pair (f(x), J v), but returned {show(out, 80)}.",
                given=given,
                mistake="return value, tangent: both from the one call of f on the duals.",
            )
        shape = () if case.m is None else (case.m,)
        value = case.value(point)
        jv = case.jacobian(point) @ v
        got_value = _numbers(out[0], shape, call, "value f(x)")
        got_jv = _numbers(out[1], shape, call, "product J v")
        if mismatch(got_value, value, relative_tolerance(value, case.relative)):
            raise failure(call, "f(x), the first entry, is wrong.", expected=value, got=got_value, given=given)
        if mismatch(got_jv, jv, relative_tolerance(jv, case.relative)):
            ones = case.jacobian(point) @ np.ones_like(v)
            mistake = _calls_mistake(obs.value, 1)
            if mistake is None and _probe_shows(obs.value.get("probe"), 1.0):  # J 1, not J v = 3.5
                mistake = diagnose(got_jv, [(SEEDED_WITH_ONES, ones)], tolerance=relative_to_entries(case.relative))
            raise failure(
                call, "J v, the second entry, is wrong.", expected=jv, got=got_jv, given=given, mistake=mistake
            )
        _judge_calls(call, obs.value, 1, "jvp", given)

    run_check(observe, judge)


def check_jacobian_forward(
    jacobian_forward: Callable,
    functions: Functions,
    f: str | Sequence[str] | None = None,
    x: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check jacobian_forward(f, x): the (m, n) Jacobian ((1, n) or (n,) for a scalar f) with
    exactly n calls of f, each on duals. `f` as in `check_jvp`."""
    __tracebackhide__ = True
    cases = _driver_cases(f, x, seed, count, [(2, 3), (3, 2), (3, None), (1, 2)])
    if seed is not None and count >= 4:
        cases += [(_Case("program", "loop"), [0.7, -0.4]), (_Case("program", "constant_output"), [0.3, -1.1, 0.8])]
    for case, point in cases:
        _jacobian_case(jacobian_forward, functions, case, point)


def _jacobian_case(student: Callable, functions: Functions, case: _Case, x: Any) -> None:
    def observe() -> dict:
        recorded = Recorded(case.function(functions))
        given_x = x.copy() if isinstance(x, np.ndarray) else x
        out = student(recorded, given_x)
        return {"value": out, **_call_data(recorded)}

    def judge(obs: Observation) -> None:
        point = np.array(x, dtype=float)
        n, m = case.n, case.m
        call = f"jacobian_forward(f, {show(x, 60)})"
        given = case.given(x) + f", so n = {n} and m = {m or 1}"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        out = obs.value["value"]
        rows = 1 if m is None else m
        if out is not None and not isinstance(out, Foreign) and np.shape(out) == (n, rows) and n != rows:
            raise failure(
                call,
                f"returned an array of shape ({n}, {rows}): the Jacobian is transposed.",
                given=given,
                mistake=JACOBIAN_TRANSPOSED,
            )
        want = case.jacobian(point).reshape(rows, n)
        if m is None and np.shape(out) == (n,):
            out = np.reshape(np.asarray(out, dtype=float), (1, n))
        got = real_array(out, (rows, n), call, "Jacobian")
        if mismatch(got, want, relative_tolerance(want, case.relative)):
            mistake = _calls_mistake(obs.value, n)
            if mistake is None and n == rows:  # m = n: the shape could not tell
                mistake = diagnose(got, [(JACOBIAN_TRANSPOSED, want.T)], tolerance=relative_to_entries(case.relative))
            raise failure(
                call,
                f"the Jacobian is wrong by up to {largest_gap(got, want):.2e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        _judge_calls(call, obs.value, n, f"the Jacobian in n = {n} inputs", given)

    run_check(observe, judge)
