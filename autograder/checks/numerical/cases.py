"""The checks of unit 01 (the package docstring says where their truth comes from)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from autograder.checks.kit.case import Case, explicit_or_seeded
from autograder.checks.kit.diagnose import Candidate, diagnose
from autograder.checks.kit.text import call_text, describe, expression, random_case
from autograder.checks.numerical.mistakes import (
    ABSOLUTE_NOT_RELATIVE,
    CENTRAL_FOR_FORWARD,
    DIVIDES_BY_2H,
    DIVIDES_BY_B,
    DIVIDES_BY_H,
    DIVIDES_BY_SUM,
    EXTRA_CALLS,
    INTEGER_TRUNCATED,
    NO_GUARD,
    NOT_DIVIDED,
    ONE_SIDED,
    ONE_SIDED_CHECK,
    RATIO_OF_MAXIMA,
    REAL_PART,
    REAL_STEP,
    RELATIVE_NOT_ABSOLUTE,
    SIGN_SWAPPED,
    SIGNED_ERRORS,
    STEP_ERRORS,
    TRANSPOSED,
    TYPED_IN,
    WRONG_DEFAULT_STEP,
    X_CHANGED,
)
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.feedback import Mistake, failure, raised
from autograder.inputs import Recorded, rng
from autograder.oracles.expressions import RandomExpression, random_vector_function
from autograder.oracles.truncation import quotient, truncation_error
from autograder.runtime import Observation, run_check

EPS = float(np.finfo(float).eps)
ROUNDING_ULPS = 64.0  # generous: a composite test function loses a few ulps per operation

Probe = Candidate | tuple[Mistake | str, Any] | tuple[Mistake | str, Any, Any]


def _cases(
    f: str | None, x: Any, seed: int | None, count: int, n_vars: int = 1, depth: int = 3
) -> list[tuple[RandomExpression, Any]]:
    """Explicit (f, x) or `count` random (expression, point) pairs drawn from `seed`."""

    def draw(seed: int) -> list[tuple[RandomExpression, Any]]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            g = random_case(seed * 1000 + k, n_vars, depth)
            point = g.point(generator)
            cases.append((g, float(point[0]) if n_vars == 1 else point))
        return cases

    return explicit_or_seeded(seed, lambda: (expression(f), x), draw, f, x)


def _rounding(f: RandomExpression, x: Sequence[float], h: float) -> float:
    """Size of the rounding error of a difference quotient with step h at x."""
    values = [abs(f.value(np.asarray(x, dtype=float) + s * h)) for s in (-1.0, 0.0, 1.0)]
    slope = max(abs(v) for v in f.gradient(x))
    scale = max(values) + max(abs(float(v)) for v in np.ravel(x)) * slope + 1.0
    return ROUNDING_ULPS * EPS * scale / h


def _points_seen(obs_points: Any) -> list[float]:
    points = []
    for p in obs_points or []:
        try:
            points.append(complex(p) if np.iscomplexobj(p) else float(p))
        except (TypeError, ValueError):
            continue
    return points


# --- forward_difference and central_difference -------------------------------------------------


def _difference_check(
    name: str, method: str, default_h: float, student: Callable, f: RandomExpression, x: float, h: float | None
) -> None:
    step = default_h if h is None else h
    fun = f.function()

    def observe() -> dict:
        recorded = Recorded(lambda t: fun(t))
        out = student(recorded, x) if h is None else student(recorded, x, h)
        return {"value": out, "points": [a[0] for a in recorded.arguments[:20]]}

    call = call_text(name, "f", x) if h is None else call_text(name, "f", x, h)
    given = describe(f, x)

    def judge(obs: Observation) -> None:
        got = real_scalar(obs.value["value"], call)
        want, neglected = quotient(f, [x], step, method)
        tolerance = _rounding(f, [x], step if method == "forward" else 2 * step) + neglected
        if mismatch(got, want, tolerance):
            other = "central" if method == "forward" else "forward"
            wrong_default = 1e-5 if default_h == 1e-6 else 1e-6
            derivative = f.partial([x], 0)
            probes: list[Probe] = [
                (CENTRAL_FOR_FORWARD if method == "forward" else ONE_SIDED, quotient(f, [x], step, other)[0]),
                (DIVIDES_BY_H, 2 * want) if method == "central" else (DIVIDES_BY_2H, want / 2),
                (SIGN_SWAPPED, -want),
            ]
            if h is None:
                probes.append((WRONG_DEFAULT_STEP, quotient(f, [x], wrong_default, method)[0]))
            mistake = diagnose(got, probes, tolerance=tolerance, truth=want)
            raise failure(
                call,
                f"the {method} difference quotient is wrong (it should be f'(x) = {derivative:.12g} "
                f"plus its truncation error, within {tolerance:.1e}).",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        expected_points = [x + step, x] if method == "forward" else [x + step, x - step]
        seen = _points_seen(obs.value["points"])
        stray = [p for p in seen if min(abs(p - q) for q in expected_points) > 4 * EPS * (abs(x) + step)]
        if stray or not seen:
            raise failure(
                call,
                f"the {method} difference evaluates f at {' and '.join(f'{p:.10g}' for p in expected_points)} "
                f"only, but f was evaluated at {', '.join(f'{p:.10g}' for p in seen) or 'no point'}.",
                given=given,
                mistake="use the step h that was passed in, and only the two points of the formula.",
            )

    Case(call, given).run(observe, judge)


def check_forward_difference(
    forward_difference: Callable,
    f: str | None = None,
    x: float | None = None,
    h: float | None = None,
    *,
    seed: int | None = None,
    count: int = 6,
) -> None:
    """Check forward_difference(f, x[, h]) = (f(x+h) - f(x)) / h, default h = 1e-6."""
    __tracebackhide__ = True
    for g, point in _cases(f, x, seed, count):
        _difference_check("forward_difference", "forward", 1e-6, forward_difference, g, point, h)


def check_central_difference(
    central_difference: Callable,
    f: str | None = None,
    x: float | None = None,
    h: float | None = None,
    *,
    seed: int | None = None,
    count: int = 6,
) -> None:
    """Check central_difference(f, x[, h]) = (f(x+h) - f(x-h)) / (2h), default h = 1e-5."""
    __tracebackhide__ = True
    for g, point in _cases(f, x, seed, count):
        _difference_check("central_difference", "central", 1e-5, central_difference, g, point, h)


# --- numerical_gradient ---------------------------------------------------------------------------


def _gradient_truth(f: RandomExpression, x: np.ndarray, h: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    point = np.asarray(x, dtype=float).reshape(-1)
    want, tolerance = np.empty(point.size), np.empty(point.size)
    for i in range(point.size):
        want[i], neglected = quotient(f, point, h, method, axis=i)
        tolerance[i] = _rounding(f, point, h if method == "forward" else 2 * h) + neglected
    return want.reshape(np.shape(x)), tolerance.reshape(np.shape(x))


def _truncated_gradient(fun: Callable, x: np.ndarray, h: float, method: str) -> np.ndarray:
    """The gradient a difference quotient gives when x_i ± h is stored in x's integer array (truncated)."""
    base = x.astype(float)
    values = np.empty(x.size)
    for i in range(x.size):
        plus, minus = base.copy(), base.copy()
        plus.flat[i] = np.trunc(base.flat[i] + h)
        minus.flat[i] = np.trunc(base.flat[i] - h)
        with np.errstate(all="ignore"):
            if method == "central":
                values[i] = (fun(plus) - fun(minus)) / (2 * h)
            else:
                values[i] = (fun(plus) - fun(base)) / h
    return values.reshape(x.shape)


def check_numerical_gradient(
    numerical_gradient: Callable,
    f: str | None = None,
    x: Any = None,
    h: float | None = None,
    method: str | None = None,
    *,
    seed: int | None = None,
    count: int = 4,
    counts_only: bool = False,
) -> None:
    """Check numerical_gradient(f, x, h=1e-5, method="central") on f: R^n -> R.

    `x` is used as `np.array(x)`: nested lists give 2-D points, integer lists integer arrays (the
    function must still work). Checks the value (Taylor oracle), the shape, that x is unchanged and
    that f is called exactly 2n (central) or n + 1 (forward) times. With `counts_only`, the value is
    checked loosely and the number of calls strictly.
    """
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        shapes = [(1,), (2,), (3,), (2, 2), (3, 1), (4,)]
        for k in range(count):
            shape = shapes[(seed + k) % len(shapes)]
            n = int(np.prod(shape))
            g = random_case(seed * 1000 + k, n, 2)
            point = g.point(generator).reshape(shape)
            if k % 3 == 2:  # an integer point: x + h must not be truncated
                point = np.clip(np.round(point), g.low, g.high).astype(int)
            cases.append((g, point))
        return cases

    cases = explicit_or_seeded(seed, lambda: (expression(f), np.array(x)), draw)
    for g, point in cases:
        _gradient_case(numerical_gradient, g, point, h, method, counts_only)


def _gradient_case(
    student: Callable, f: RandomExpression, x: np.ndarray, h: float | None, method: str | None, counts_only: bool
) -> None:
    kwargs = {k: v for k, v in (("h", h), ("method", method)) if v is not None}
    step, kind = h or 1e-5, method or "central"
    n = x.size
    fun = f.array_function()

    def observe() -> dict:
        given = x.copy()
        recorded = Recorded(fun)
        out = student(recorded, given, **kwargs)
        return {"value": out, "calls": recorded.calls, "x_after": given}

    call = call_text("numerical_gradient", "f", x, **kwargs)
    given = describe(f, x)

    def judge(obs: Observation) -> None:
        after = obs.value["x_after"]
        if not (isinstance(after, np.ndarray) and after.dtype == x.dtype and np.array_equal(after, x)):
            changed = isinstance(after, np.ndarray) and after.shape == x.shape  # the only way to change it
            raise failure(
                call,
                "changed the caller's x.",
                expected=x,
                got=after,
                mistake=X_CHANGED
                if changed
                else "perturb a copy (np.array(x, dtype=float)) and never write x[i] += h on the array you were given.",
            )
        got = real_array(obs.value["value"], x.shape, call, "gradient")
        want, tolerance = _gradient_truth(f, x, step, kind)
        if counts_only:
            tolerance = np.maximum(tolerance, 1e-4 * (1 + np.abs(want)))
        if mismatch(got, want, tolerance):
            other = "forward" if kind == "central" else "central"
            probes: list[Probe] = [
                (CENTRAL_FOR_FORWARD if kind == "forward" else ONE_SIDED, _gradient_truth(f, x, step, other)[0]),
                (DIVIDES_BY_H, 2 * want) if kind == "central" else (DIVIDES_BY_2H, want / 2),
                (SIGN_SWAPPED, -want),
            ]
            if x.dtype.kind in "iu":
                truncated = _truncated_gradient(fun, x, step, kind)
                probes.insert(
                    0, Candidate(INTEGER_TRUNCATED, truncated, 1e-9 * (1 + np.abs(truncated)), zero_is_evidence=True)
                )
                # the gradient kept in an integer array as well (np.zeros_like(x)): each entry truncated too
                fraction = np.abs(truncated - np.round(truncated))
                near_integer = np.where(np.isfinite(fraction) & (fraction < 1e-6), 1.0, 0.0)  # either side
                stored = np.trunc(truncated)
                probes.insert(
                    1,
                    Candidate(
                        INTEGER_TRUNCATED, stored, 1e-9 * (1 + np.abs(stored)) + near_integer, zero_is_evidence=True
                    ),
                )
            mistake = diagnose(got, probes, tolerance=tolerance, truth=want)
            if mistake is None and x.dtype.kind in "iu" and _whole(got) and not _whole(want):
                # no probe matched, but whole numbers where the truth has fractions: something was truncated
                mistake = (
                    "x has integer entries here and every entry of your gradient is a whole number: an integer "
                    "array truncates what is stored in it (x + h, or the gradient); use x.astype(float)."
                )
            raise failure(
                call,
                f"the gradient is wrong by up to {largest_gap(got, want):.2e} (allowed: "
                f"{float(np.max(tolerance)):.1e}).",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        calls = int(obs.value["calls"])
        needed = 2 * n if kind == "central" else n + 1
        if calls != needed:
            formula = "2n" if kind == "central" else "n + 1"
            extra = calls - needed
            # one call too many per coordinate (n >= 2: else it is one extra call), or, forward only,
            # f(x) evaluated inside the loop instead of once before it (n >= 3: else ambiguous)
            per_coordinate = (extra == n >= 2) or (kind == "forward" and extra == n - 1 >= 2)
            raise failure(
                call,
                f"f was called {calls} times; the {kind} difference gradient in n = {n} dimensions needs "
                f"exactly {formula} = {needed} calls.",
                mistake=EXTRA_CALLS if per_coordinate else None,
            )

    Case(call, given).run(observe, judge)


def _whole(values: np.ndarray) -> bool:
    """Whether every entry is a finite whole number."""
    array = np.asarray(values, dtype=float)
    return bool(np.all(np.isfinite(array)) and np.array_equal(array, np.round(array)))


# --- numerical_jacobian ---------------------------------------------------------------------------


def check_numerical_jacobian(
    numerical_jacobian: Callable,
    f: Sequence[str] | None = None,
    x: Any = None,
    h: float | None = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check numerical_jacobian(f, x[, h]): the (m, n) central-difference Jacobian of f: R^n -> R^m."""
    __tracebackhide__ = True

    def explicit() -> Any:
        rows = [expression(text) for text in f]
        names = sorted({str(s) for r in rows for s in r.symbols})
        symbols = tuple(next(s for r in rows for s in r.symbols if str(s) == name) for name in names)
        outputs = [RandomExpression(expr=r.expr, symbols=symbols, low=r.low, high=r.high) for r in rows]
        return (outputs, np.array(x, dtype=float))

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            n, m = [(2, 3), (3, 2), (1, 3), (4, 2)][k % 4]
            vector = random_vector_function(seed * 1000 + k, n_vars=n, n_outputs=m)
            outputs = [
                RandomExpression(expr=e, symbols=vector.symbols, low=vector.low, high=vector.high) for e in vector.exprs
            ]
            cases.append((outputs, vector.point(generator)))
        return cases

    cases = explicit_or_seeded(seed, explicit, draw)
    for outputs, point in cases:
        _jacobian_case(numerical_jacobian, outputs, point, h)


def _jacobian_case(student: Callable, outputs: list[RandomExpression], x: np.ndarray, h: float | None) -> None:
    functions = [g.array_function() for g in outputs]
    m, n = len(outputs), x.size
    step = h or 1e-5
    kwargs = {} if h is None else {"h": h}

    def observe() -> dict:
        given = x.copy()
        out = student(lambda v: np.array([g(v) for g in functions]), given, **kwargs)
        return {"value": out, "x_after": given}

    call = call_text("numerical_jacobian", "f", x, **kwargs)
    given = f"f(x) = ({', '.join(str(g) for g in outputs)}), so n = {n} and m = {m}, at x = {x.tolist()}"

    def judge(obs: Observation) -> None:
        if obs.value["value"] is not None and np.shape(obs.value["value"]) == (n, m) and n != m:
            raise failure(
                call,
                f"returned an array of shape ({n}, {m}): the Jacobian is transposed.",
                given=given,
                mistake=TRANSPOSED,
            )
        got = real_array(obs.value["value"], (m, n), call, "Jacobian")
        want, tolerance = np.empty((m, n)), np.empty((m, n))
        for j, g in enumerate(outputs):
            for i in range(n):
                want[j, i], neglected = quotient(g, x, step, "central", axis=i)
                tolerance[j, i] = _rounding(g, x, 2 * step) + neglected
        after = obs.value["x_after"]
        if not np.array_equal(after, x):
            changed = isinstance(after, np.ndarray) and after.shape == x.shape
            raise failure(
                call,
                "changed the caller's x.",
                expected=x,
                got=after,
                mistake=X_CHANGED if changed else "perturb a copy of x, not x itself.",
            )
        if mismatch(got, want, tolerance):
            forward = np.array([[quotient(g, x, step, "forward", axis=i)[0] for i in range(n)] for g in outputs])
            mistake = diagnose(
                got,
                [(ONE_SIDED, forward), (TRANSPOSED, want.T), (DIVIDES_BY_H, 2 * want), (SIGN_SWAPPED, -want)],
                tolerance=float(np.max(tolerance)),
                truth=want,
            )
            raise failure(
                call,
                f"the Jacobian is wrong by up to {largest_gap(got, want):.2e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )

    Case(call, given).run(observe, judge)


# --- relative_error and gradient_check ------------------------------------------------------------


def _exact_relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max_i |a_i - b_i| / (|a_i| + |b_i|) in exact rational arithmetic; entries with a = b = 0 give 0."""
    best = Fraction(0)
    for p, q in zip(np.ravel(a).tolist(), np.ravel(b).tolist(), strict=True):
        p, q = Fraction(p), Fraction(q)
        denominator = abs(p) + abs(q)
        if denominator:
            best = max(best, abs(p - q) / denominator)
    return float(best)


def check_relative_error(
    relative_error: Callable,
    a: Any = None,
    b: Any = None,
    expected: float | None = None,
    *,
    seed: int | None = None,
    count: int = 6,
) -> None:
    """Check relative_error(a, b) = max |a - b| / max(|a| + |b|, tiny), elementwise then max.

    Random cases include negative entries, 2-D arrays, scalars, zeros in both arrays and a = -b.
    """
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            shape = [(3,), (2, 3), (), (5,)][k % 4]
            p = generator.uniform(-5, 5, size=shape)
            q = p + generator.normal(0, 10.0 ** generator.uniform(-8, 0), size=shape)
            if k % 3 == 1 and shape:  # exact zeros in both: the guard against 0/0
                p.flat[0] = q.flat[0] = 0.0
            if k % 4 == 3:
                q = -p  # opposite signs: the answer is 1
            cases.append((p, q, None))
        return cases

    cases = explicit_or_seeded(seed, lambda: (np.array(a, dtype=float), np.array(b, dtype=float), expected), draw)
    for p, q, stated in cases:
        _relative_error_case(relative_error, p, q, stated)


def _relative_error_case(student: Callable, a: np.ndarray, b: np.ndarray, stated: float | None) -> None:
    def observe() -> dict:
        a_in, b_in = a.copy(), b.copy()
        return {"forward": student(a_in, b_in), "swapped": student(b.copy(), a.copy())}

    call = call_text("relative_error", a, b)

    def judge(obs: Observation) -> None:
        want = _exact_relative_error(a, b) if stated is None else stated
        got = real_scalar(obs.value["forward"], call)
        tolerance = 1e-12 * max(want, 1e-300) + 1e-15
        if mismatch(got, want, tolerance):
            flat_a, flat_b = np.ravel(a), np.ravel(b)
            with np.errstate(all="ignore"):
                only_b = np.max(np.abs(flat_a - flat_b) / np.maximum(np.abs(flat_b), 1e-300))
                ratio_of_maxima = np.max(np.abs(flat_a - flat_b)) / np.max(np.abs(flat_a) + np.abs(flat_b))
                signed = np.max(np.abs(flat_a - flat_b) / np.maximum(np.abs(flat_a + flat_b), 1e-300))
            mistake: Mistake | str | None = None
            if np.isnan(got):
                both_zero = bool(np.any((flat_a == 0) & (flat_b == 0)))
                mistake = NO_GUARD if both_zero else None  # else the nan's cause does not show
            mistake = mistake or diagnose(
                got,
                [(DIVIDES_BY_B, only_b), (RATIO_OF_MAXIMA, ratio_of_maxima), (DIVIDES_BY_SUM, signed)],
                tolerance=tolerance,
                truth=want,
            )
            raise failure(call, "the relative error is wrong.", expected=want, got=got, mistake=mistake)
        swapped = real_scalar(obs.value["swapped"], call_text("relative_error", b, a))
        if mismatch(swapped, got, tolerance):
            raise failure(
                call,
                f"is not symmetric: relative_error(b, a) returned {swapped!r}.",
                mistake="divide by |a| + |b|, which does not depend on the order.",
            )
        if obs.warnings:
            division = any("divide" in w or "invalid value" in w for w in obs.warnings)  # numpy's 0/0, x/0
            raise failure(
                call,
                f"emitted a warning ({obs.warnings[0]}).",
                mistake="guard the denominator so that 0/0 never happens." if division else None,
            )

    Case(call).run(observe, judge)


def check_gradient_check(
    gradient_check: Callable, f: str | None = None, x: Any = None, *, seed: int | None = None, count: int = 3
) -> None:
    """Check gradient_check(f, grad_f, x): small for the exact gradient, the right size for a wrong one.

    For each case the exact gradient (SymPy) must give a relative error below 1e-7, and the
    exact gradient with one entry off by a known relative amount must give that amount (within 1%).
    """
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            g = random_case(seed * 1000 + k, 2 + k % 2, 2)
            for _ in range(100):  # entries of the gradient must not be tiny (relative error blows up)
                point = g.point(generator)
                if np.min(np.abs(g.gradient(point))) > 0.1:
                    break
            cases.append((g, point))
        return cases

    cases = explicit_or_seeded(seed, lambda: (expression(f), np.array(x, dtype=float)), draw)
    for g, point in cases:
        _gradient_check_case(gradient_check, g, point)


def _gradient_check_mistake(
    bad: float, want: float, doubled: Any, wrong: np.ndarray, exact: np.ndarray
) -> Mistake | None:
    """The absolute error, if both answers are max|a - b|: for `wrong` against `exact`, and for 2 * exact.

    With the gradient doubled the relative error is 1/3 everywhere, the absolute one max|g|, and one
    divided by |b| or |a| only gives 1 or 1/2: the second answer tells them apart where |g| = 1 does not.
    """
    absolute = float(np.max(np.abs(wrong - exact)))
    if (
        diagnose(
            bad,
            [(ABSOLUTE_NOT_RELATIVE, absolute)],
            tolerance=0.01 * max(want, absolute),
            truth=want,
        )
        is None
    ):
        return None
    try:
        second = float(doubled)
    except (TypeError, ValueError):
        return None
    largest, tolerance = float(np.max(np.abs(exact))), 1e-3 * max(float(np.max(np.abs(exact))), 1.0)
    if abs(second - largest) > tolerance or any(abs(largest - v) <= 2 * tolerance for v in (1 / 3, 0.5, 1.0)):
        return None  # not the absolute error, or max|g| happens to be what another formula gives
    return ABSOLUTE_NOT_RELATIVE


def _gradient_check_case(student: Callable, f: RandomExpression, x: np.ndarray) -> None:
    fun = f.array_function()
    exact = f.gradient(x).reshape(x.shape)
    wrong = exact.copy()
    wrong.flat[-1] += 1e-3 * (abs(wrong.flat[-1]) + 1.0)  # a plausible bug: one entry a little off

    def observe() -> dict:
        results = []
        for gradient in (exact, wrong):
            given = x.copy()
            results.append(student(fun, lambda _v, g=gradient: g.copy(), given))
        try:  # for diagnoses only: a gradient twice too large tells the absolute error from others
            doubled = student(fun, lambda _v: 2 * exact, x.copy())
        except Exception:
            doubled = None
        return {"exact": results[0], "wrong": results[1], "doubled": doubled}

    call = call_text("gradient_check", "f", "grad_f", x)
    given = describe(f, x)

    def judge(obs: Observation) -> None:
        good = real_scalar(obs.value["exact"], call)
        if not (0 <= good < 1e-7):
            forward = np.array([quotient(f, x.ravel(), 1e-5, "forward", axis=i)[0] for i in range(x.size)])
            one_sided = _exact_relative_error(exact.ravel(), forward)
            mistake = diagnose(good, [(ONE_SIDED_CHECK, one_sided, 0.01 * one_sided)], tolerance=1e-7, truth=0.0)
            if mistake is None and 1e-7 <= good < 1e-4:
                mistake = (
                    "compare with the central-difference gradient (h = 1e-5): a forward difference "
                    "leaves an error near 1e-6"
                )
            raise failure(
                call,
                f"with the exact gradient, the relative error should be below 1e-7, but it is {good:.3e}.",
                given=given,
                mistake=mistake,
            )
        want = _exact_relative_error(wrong, exact)
        bad = real_scalar(obs.value["wrong"], call)
        if abs(bad - want) > 0.01 * want:
            mistake = _gradient_check_mistake(bad, want, obs.value.get("doubled"), wrong, exact)
            raise failure(
                call,
                "with a gradient whose last entry is off by 0.1%, the relative error is wrong.",
                expected=want,
                got=bad,
                given=given,
                mistake=mistake,
            )

    Case(call, given).run(observe, judge)


# --- step_size_errors, best_step, complex_step ------------------------------------------------------


def _error_model(g: RandomExpression, x: float, h: float, method: str) -> tuple[float, float, float]:
    """(truncation, rounding, floor): the error of `method` with step h, its rounding bound and a floor."""
    truncation = truncation_error(g, [x], h, method)
    rounding = 0.0 if method == "complex" else _rounding(g, [x], h if method == "forward" else 2 * h)
    return truncation, rounding, 4 * EPS * abs(g.partial([x], 0))


def _follows(errors: np.ndarray, g: RandomExpression, x: float, steps: np.ndarray, method: str) -> bool:
    """True when `errors` are the errors of `method` at every step where its truncation error dominates.

    Needs at least one such step; elsewhere (rounding) the errors are noise and say nothing.
    """
    seen = 0
    for value, h in zip(errors, steps, strict=True):
        truncation, rounding, floor = _error_model(g, x, h, method)
        if truncation > 100 * (rounding + floor):
            if not abs(value - truncation) <= 1e-3 * truncation + rounding + floor:
                return False
            seen += 1
    return seen > 0


def _other_method(asked: str, used: str) -> Mistake:
    """The mistake of giving `used`'s errors for method `asked`, named after what was computed."""
    formula, function = {
        "forward": ("(f(x + h) - f(x)) / h", "forward_difference"),
        "central": ("(f(x + h) - f(x - h)) / (2h)", "central_difference"),
        "complex": ("Im f(x + ih) / h", "complex_step"),
    }[asked]
    name = {
        ("forward", "central"): CENTRAL_FOR_FORWARD.name,
        ("central", "forward"): ONE_SIDED.name,
        ("complex", "forward"): REAL_STEP.name,
    }[asked, used]
    rule = f"for method={asked!r} the errors are those of {formula}: call {function}, and check that it computes that."
    return Mistake(name, rule, STEP_ERRORS)


def _step_errors_mistake(
    got: np.ndarray, g: RandomExpression, x: float, steps: np.ndarray, method: str
) -> Mistake | None:
    """Which known mistake the failed error curve `got` is: relative errors, or another method's errors."""
    if _follows(got, g, x, steps, method):  # right where truncation dominates: nothing to recognise
        return None
    if _follows(got * abs(g.partial([x], 0)), g, x, steps, method):
        return RELATIVE_NOT_ABSOLUTE
    # the complex step and the central difference share their truncation error: only the forward
    # difference (first order) is told apart from the other two by its truncation regime
    used = "central" if method == "forward" else "forward"
    return _other_method(method, used) if _follows(got, g, x, steps, used) else None


def check_step_size_errors(
    step_size_errors: Callable,
    f: str = "exp(x)",
    x: float = 1.0,
    method: str = "forward",
    hs: Sequence[float] | None = None,
) -> None:
    """Check step_size_errors(f, df, x, hs, method): absolute errors, one per step, for a method.

    Where truncation dominates (large h), each error must match the Taylor oracle to 1e-3
    relative; where rounding dominates it must be of the rounding size (between 0 and a bound).
    """
    __tracebackhide__ = True
    g = expression(f)
    steps = np.logspace(-14, -1, 27) if hs is None else np.asarray(hs, dtype=float)
    fun, dfun = (
        g.function(),
        RandomExpression(expr=g.derivative(0), symbols=g.symbols, low=g.low, high=g.high).function(),
    )

    def observe() -> Any:
        return student_call(step_size_errors, fun, dfun, x, steps.copy(), method)

    call = call_text("step_size_errors", "f", "df", x, steps, method)
    given = f"f(x) = {g}, df its exact derivative, x = {x} and method = {method!r}"

    def judge(obs: Observation) -> None:
        got = real_array(obs.value, steps.shape, call, "array of errors")
        if np.any(got < 0):
            raise failure(
                call,
                "returned negative errors.",
                got=got,
                given=given,
                mistake=SIGNED_ERRORS
                if _follows(np.abs(got), g, x, steps, method)
                else "the error is the absolute value |approximation - df(x)|.",
            )
        for i, h in enumerate(steps):
            truncation, rounding, floor = _error_model(g, x, h, method)
            if truncation > 100 * (rounding + floor):  # truncation regime: must match closely
                if abs(got[i] - truncation) > 1e-3 * truncation + rounding + floor:
                    raise failure(
                        call,
                        f"at h = {h:.3g} the error should be the truncation error {truncation:.6e} "
                        f"(rounding is negligible there), but it is {got[i]:.6e}.",
                        given=given,
                        mistake=_step_errors_mistake(got, g, x, steps, method),
                    )
            elif got[i] > 10 * (truncation + rounding) + floor + 1e-15:
                raise failure(
                    call,
                    f"at h = {h:.3g} the error {got[i]:.3e} is larger than truncation plus rounding "
                    f"allow ({truncation + rounding:.3e}).",
                    given=given,
                    mistake=_step_errors_mistake(got, g, x, steps, method),
                )

    Case(call, given).run(observe, judge)


def student_call(function: Callable, *args: Any) -> Any:
    """Call the student's function with positional arguments (a separate frame for tracebacks)."""
    return function(*args)


def _fake_curve(minimum: float) -> Callable:
    def step_size_errors(f: Callable, df: Callable, x: float, hs: Any, method: str = "forward") -> np.ndarray:
        steps = np.asarray(hs, dtype=float)
        return 1e-6 * (steps / minimum + minimum / steps)

    return step_size_errors


FAKE_MINIMA = {"forward": 1e-3, "central": 1e-2}


def check_best_step(best_step: Callable) -> None:
    """Check best_step(method): near sqrt(eps) (forward) and eps^(1/3) (central), read off a curve.

    The step must lie within a factor of 30 of the theory; and when the notebook's
    `step_size_errors` is replaced by a made-up curve with its minimum elsewhere, best_step must
    follow it (within a factor of 3), which proves the step is found from the curve, not typed in.
    """
    __tracebackhide__ = True

    def observe() -> dict:
        found = {method: best_step(method) for method in ("forward", "central")}
        followed: dict[str, Any] = {}
        namespace = getattr(best_step, "__globals__", None)
        if namespace is not None and "step_size_errors" in namespace:
            original = namespace["step_size_errors"]
            try:
                for method, minimum in FAKE_MINIMA.items():
                    namespace["step_size_errors"] = _fake_curve(minimum)
                    followed[method] = best_step(method)
            finally:
                namespace["step_size_errors"] = original
        return {"found": found, "followed": followed}

    def judge(obs: Observation) -> None:
        if obs.raised:
            raise raised("best_step(method)", obs.raised)
        theory = {"forward": EPS**0.5, "central": EPS ** (1 / 3)}
        for method, target in theory.items():
            call = call_text("best_step", method)
            got = real_scalar(obs.value["found"][method], call)
            if not target / 30 <= got <= target * 30:
                raise failure(
                    call,
                    f"the best step should be near {target:.2e} "
                    f"({'sqrt(eps)' if method == 'forward' else 'eps^(1/3)'}, within a factor of 30), "
                    f"but it is {got:.3e}.",
                )
        for method, minimum in FAKE_MINIMA.items():
            call = call_text("best_step", method)
            followed = obs.value["followed"].get(method)
            if followed is None:
                raise failure(
                    call,
                    "could not be checked: best_step must call the notebook's "
                    "step_size_errors (defined in the cell above).",
                )
            got = real_scalar(followed, call)
            if not minimum / 3 <= got <= minimum * 3:
                unmoved = got == real_scalar(obs.value["found"][method], call)  # the curve made no difference
                raise failure(
                    call,
                    f"did not follow the error curve: with step_size_errors replaced by a curve whose "
                    f"minimum is at h = {minimum:g}, best_step returned {got:.3e}.",
                    mistake=TYPED_IN if unmoved else None,  # it moved with the curve: nothing typed in
                )

    run_check(observe, judge)


def check_complex_step(
    complex_step: Callable,
    f: str | None = None,
    x: float | None = None,
    h: float | None = None,
    *,
    seed: int | None = None,
    count: int = 6,
) -> None:
    """Check complex_step(f, x[, h]) = Im f(x + ih) / h, default h = 1e-20, exact to rounding."""
    __tracebackhide__ = True
    for g, point in _cases(f, x, seed, count):
        _complex_step_case(complex_step, g, point, h)


def _complex_step_case(student: Callable, f: RandomExpression, x: float, h: float | None) -> None:
    step = 1e-20 if h is None else h
    fun = f.function()

    def observe() -> dict:
        recorded = Recorded(lambda t: fun(t))
        out = student(recorded, x) if h is None else student(recorded, x, h)
        return {"value": out, "points": [complex(a[0]) for a in recorded.arguments[:5]]}

    def judge(obs: Observation) -> None:
        call = call_text("complex_step", "f", x) if h is None else call_text("complex_step", "f", x, h)
        given = describe(f, x)
        if obs.raised:  # the error says what it is; whether f got a complex number does not show
            raise raised(call, obs.raised, given=given)
        got = real_scalar(obs.value["value"], call)
        want, neglected = quotient(f, [x], step, "complex")
        tolerance = 16 * EPS * (abs(want) + 1e-3) + neglected
        if mismatch(got, want, tolerance):
            (real_step, neglected), rounding = quotient(f, [x], step, "forward"), _rounding(f, [x], step)
            probes: list[Probe] = [
                (NOT_DIVIDED, want * step, 1e-9 * abs(want * step)),
                (REAL_PART, f.value([x]), tolerance),
            ]
            if rounding < 1e-3 * abs(real_step - want):  # a real step's value is distinct, not noise
                probes.append((REAL_STEP, real_step, tolerance + rounding + neglected))
            if x + step == x:  # a real step is lost entirely: f(x + h) - f(x) is exactly 0
                probes.append(Candidate(REAL_STEP, 0.0, 0.0, zero_is_evidence=True))
            mistake = diagnose(got, probes, tolerance=tolerance, truth=want)
            raise failure(
                call,
                "the complex-step derivative is wrong; it should be exact to rounding.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        points = obs.value["points"]
        if not points or any(abs(p.imag - step) > 1e-6 * step or abs(p.real - x) > 4 * EPS * abs(x) for p in points):
            seen = ", ".join(f"{p}" for p in points) or "no point"
            raise failure(
                call,
                f"f should be evaluated at x + i h = {complex(x, step)}, but was evaluated at {seen}.",
                mistake="use the h that was passed in, as an imaginary step.",
            )

    run_check(observe, judge)
