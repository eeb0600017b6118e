"""Checks for unit 01, numerical differentiation.

The truth always comes from SymPy: exact derivatives, and the exact value of each difference
quotient from its Taylor series (`autograder.truncation`), so a check can tell a one-sided
difference from a central one, or a wrong default step, by the size of the truncation error.
Where f is evaluated, and how often, is observed with `Recorded`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from autograder.checks.common import call_text, describe, expression, first_mistake, random_case
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.feedback import failure, raised
from autograder.inputs import Recorded, rng
from autograder.runtime import Observation, run_check
from autograder.sympy_oracle import RandomExpression, random_vector_function
from autograder.truncation import quotient, truncation_error

EPS = float(np.finfo(float).eps)
ROUNDING_ULPS = 64.0  # generous: a composite test function loses a few ulps per operation


def _cases(
    f: str | None, x: Any, seed: int | None, count: int, n_vars: int = 1, depth: int = 3
) -> list[tuple[RandomExpression, Any]]:
    """Explicit (f, x) or `count` random (expression, point) pairs drawn from `seed`."""
    if seed is None:
        if f is None or x is None:
            raise ValueError("give f and x, or a seed")
        return [(expression(f), x)]
    generator = rng(seed)
    cases = []
    for k in range(count):
        g = random_case(seed * 1000 + k, n_vars, depth)
        point = g.point(generator)
        cases.append((g, float(point[0]) if n_vars == 1 else point))
    return cases


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

    def judge(obs: Observation) -> None:
        call = call_text(name, "f", x) if h is None else call_text(name, "f", x, h)
        given = describe(f, x)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        got = real_scalar(obs.value["value"], call)
        want, neglected = quotient(f, [x], step, method)
        tolerance = _rounding(f, [x], step if method == "forward" else 2 * step) + neglected
        if mismatch(got, want, tolerance):
            other = "central" if method == "forward" else "forward"
            wrong_default = 1e-5 if default_h == 1e-6 else 1e-6
            derivative = f.partial([x], 0)
            mistake = first_mistake(
                got,
                [
                    (
                        f"this is the {other} difference; {name} uses the other formula.",
                        quotient(f, [x], step, other)[0],
                    ),
                    ("this is half the right value: the central difference divides by 2h, the forward by h.", want / 2),
                    ("this is twice the right value: the central difference divides by 2h, not h.", 2 * want),
                    (
                        f"this is the value for h = {wrong_default:g}; the default step is h = {default_h:g}.",
                        quotient(f, [x], wrong_default, method)[0] if h is None else np.nan,
                    ),
                    ("this has the wrong sign: subtract f at the smaller point from f at the larger one.", -want),
                ],
                tolerance,
            )
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

    run_check(observe, judge)


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
    if seed is None:
        cases = [(expression(f), np.array(x))]
    else:
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

    def judge(obs: Observation) -> None:
        call = call_text("numerical_gradient", "f", x, **kwargs)
        given = describe(f, x)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        after = obs.value["x_after"]
        if not (isinstance(after, np.ndarray) and after.dtype == x.dtype and np.array_equal(after, x)):
            raise failure(
                call,
                "changed the caller's x.",
                expected=x,
                got=after,
                mistake="perturb a copy (x.astype(float), then copy per coordinate) or restore each "
                "entry after use; never write x[i] += h on the array you were given.",
            )
        got = real_array(obs.value["value"], x.shape, call, "gradient")
        want, tolerance = _gradient_truth(f, x, step, kind)
        if counts_only:
            tolerance = np.maximum(tolerance, 1e-4 * (1 + np.abs(want)))
        if mismatch(got, want, tolerance):
            other = "forward" if kind == "central" else "central"
            mistake = first_mistake(
                got,
                [
                    (
                        f"this is the {other}-difference gradient; method={kind!r} was asked for.",
                        _gradient_truth(f, x, step, other)[0],
                    ),
                    ("this is half the gradient: the central difference divides by 2h.", want / 2),
                    ("this is twice the gradient: the central difference divides by 2h, not h.", want * 2),
                    (
                        "all zeros: x has integer entries, so x + h was truncated back to x; work on x.astype(float).",
                        np.zeros_like(want),
                    ),
                ],
                float(np.max(tolerance)),
            )
            if mistake is None and x.dtype.kind in "iu":
                mistake = "x has integer entries here: a copy of an integer array truncates x + h; use x.astype(float)."
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
            raise failure(
                call,
                f"f was called {calls} times; the {kind} difference gradient in n = {n} dimensions needs "
                f"exactly {formula} = {needed} calls.",
                mistake="forward: evaluate f(x) once and f(x + h e_i) once per coordinate; central: "
                "f(x + h e_i) and f(x - h e_i) per coordinate, nothing else.",
            )

    run_check(observe, judge)


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
    if seed is None:
        rows = [expression(text) for text in f]
        names = sorted({str(s) for r in rows for s in r.symbols})
        symbols = tuple(next(s for r in rows for s in r.symbols if str(s) == name) for name in names)
        outputs = [RandomExpression(expr=r.expr, symbols=symbols, low=r.low, high=r.high) for r in rows]
        cases = [(outputs, np.array(x, dtype=float))]
    else:
        generator = rng(seed)
        cases = []
        for k in range(count):
            n, m = [(2, 3), (3, 2), (1, 3), (4, 2)][k % 4]
            vector = random_vector_function(seed * 1000 + k, n_vars=n, n_outputs=m)
            outputs = [
                RandomExpression(expr=e, symbols=vector.symbols, low=vector.low, high=vector.high) for e in vector.exprs
            ]
            cases.append((outputs, vector.point(generator)))
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

    def judge(obs: Observation) -> None:
        call = call_text("numerical_jacobian", "f", x, **kwargs)
        given = f"f(x) = ({', '.join(str(g) for g in outputs)}), so n = {n} and m = {m}, at x = {list(x)}"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        if obs.value["value"] is not None and np.shape(obs.value["value"]) == (n, m) and n != m:
            raise failure(
                call,
                f"returned an array of shape ({n}, {m}): the Jacobian is transposed.",
                given=given,
                mistake="the Jacobian has one row per output and one column per input: shape (m, n); "
                "column j is (f(x + h e_j) - f(x - h e_j)) / 2h.",
            )
        got = real_array(obs.value["value"], (m, n), call, "Jacobian")
        want, tolerance = np.empty((m, n)), np.empty((m, n))
        for j, g in enumerate(outputs):
            for i in range(n):
                want[j, i], neglected = quotient(g, x, step, "central", axis=i)
                tolerance[j, i] = _rounding(g, x, 2 * step) + neglected
        if not np.array_equal(obs.value["x_after"], x):
            raise failure(
                call,
                "changed the caller's x.",
                expected=x,
                got=obs.value["x_after"],
                mistake="perturb a copy of x, not x itself.",
            )
        if mismatch(got, want, tolerance):
            forward = np.array([[quotient(g, x, step, "forward", axis=i)[0] for i in range(n)] for g in outputs])
            mistake = first_mistake(
                got,
                [
                    ("this is the forward-difference Jacobian; use central differences.", forward),
                    ("the Jacobian is transposed (here m = n, so the shape could not tell).", want.T),
                    ("this is half the Jacobian: divide by 2h, not 4h.", want / 2),
                ],
                float(np.max(tolerance)),
            )
            raise failure(
                call,
                f"the Jacobian is wrong by up to {largest_gap(got, want):.2e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )

    run_check(observe, judge)


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
    if seed is None:
        cases = [(np.array(a, dtype=float), np.array(b, dtype=float), expected)]
    else:
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
    for p, q, stated in cases:
        _relative_error_case(relative_error, p, q, stated)


def _relative_error_case(student: Callable, a: np.ndarray, b: np.ndarray, stated: float | None) -> None:
    def observe() -> dict:
        a_in, b_in = a.copy(), b.copy()
        return {"forward": student(a_in, b_in), "swapped": student(b.copy(), a.copy())}

    def judge(obs: Observation) -> None:
        call = call_text("relative_error", a, b)
        if obs.raised:
            raise raised(call, obs.raised)
        want = _exact_relative_error(a, b) if stated is None else stated
        got = real_scalar(obs.value["forward"], call)
        tolerance = 1e-12 * max(want, 1e-300) + 1e-15
        if mismatch(got, want, tolerance):
            flat_a, flat_b = np.ravel(a), np.ravel(b)
            with np.errstate(all="ignore"):
                only_b = np.max(np.abs(flat_a - flat_b) / np.maximum(np.abs(flat_b), 1e-300))
                ratio_of_maxima = np.max(np.abs(flat_a - flat_b)) / np.max(np.abs(flat_a) + np.abs(flat_b))
                signed = np.max(np.abs(flat_a - flat_b) / np.maximum(np.abs(flat_a + flat_b), 1e-300))
            mistake = None
            if np.isnan(got):
                mistake = (
                    "0/0 where both entries are zero: guard the denominator, e.g. "
                    "np.maximum(np.abs(a) + np.abs(b), 1e-300) (relative error 0 there)."
                )
            mistake = mistake or first_mistake(
                got,
                [
                    ("you divided by |b| only; the relative error is symmetric: divide by |a| + |b|.", only_b),
                    (
                        "you took the max of the numerator and of the denominator separately; divide "
                        "entry by entry, then take the max.",
                        ratio_of_maxima,
                    ),
                    ("you divided by |a + b| instead of |a| + |b|.", signed),
                ],
                tolerance,
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
            raise failure(
                call,
                f"emitted a warning ({obs.warnings[0]}).",
                mistake="guard the denominator so that 0/0 never happens.",
            )

    run_check(observe, judge)


def check_gradient_check(
    gradient_check: Callable, f: str | None = None, x: Any = None, *, seed: int | None = None, count: int = 3
) -> None:
    """Check gradient_check(f, grad_f, x): small for the exact gradient, the right size for a wrong one.

    For each case the exact gradient (SymPy) must give a relative error below 1e-7, and the
    exact gradient with one entry off by a known relative amount must give that amount (within 1%).
    """
    __tracebackhide__ = True
    if seed is None:
        cases = [(expression(f), np.array(x, dtype=float))]
    else:
        generator = rng(seed)
        cases = []
        for k in range(count):
            g = random_case(seed * 1000 + k, 2 + k % 2, 2)
            for _ in range(100):  # entries of the gradient must not be tiny (relative error blows up)
                point = g.point(generator)
                if np.min(np.abs(g.gradient(point))) > 0.1:
                    break
            cases.append((g, point))
    for g, point in cases:
        _gradient_check_case(gradient_check, g, point)


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
        return {"exact": results[0], "wrong": results[1]}

    def judge(obs: Observation) -> None:
        call = call_text("gradient_check", "f", "grad_f", x)
        given = describe(f, x)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        good = real_scalar(obs.value["exact"], call)
        if not (0 <= good < 1e-7):
            raise failure(
                call,
                f"with the exact gradient, the relative error should be below 1e-7, but it is {good:.3e}.",
                given=given,
                mistake="compare with the central-difference gradient (h = 1e-5): a forward difference "
                "leaves an error near 1e-6"
                if 1e-7 <= good < 1e-4
                else None,
            )
        want = _exact_relative_error(wrong, exact)
        bad = real_scalar(obs.value["wrong"], call)
        if abs(bad - want) > 0.01 * want:
            absolute = float(np.max(np.abs(wrong - exact)))
            mistake = first_mistake(
                bad, [("this is the absolute error max|a - b|; divide by |a| + |b|.", absolute)], 0.01 * absolute
            )
            raise failure(
                call,
                "with a gradient whose last entry is off by 0.1%, the relative error is wrong.",
                expected=want,
                got=bad,
                given=given,
                mistake=mistake,
            )

    run_check(observe, judge)


# --- step_size_errors, best_step, complex_step ------------------------------------------------------


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

    def judge(obs: Observation) -> None:
        call = call_text("step_size_errors", "f", "df", x, steps, method)
        given = f"f(x) = {g}, df its exact derivative, x = {x} and method = {method!r}"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        got = real_array(obs.value, steps.shape, call, "array of errors")
        if np.any(got < 0):
            raise failure(
                call,
                "returned negative errors.",
                got=got,
                given=given,
                mistake="the error is the absolute value |approximation - df(x)|.",
            )
        derivative = abs(g.partial([x], 0))
        for i, h in enumerate(steps):
            truncation = truncation_error(g, [x], h, method)
            effective = h if method == "forward" else 2 * h
            rounding = 0.0 if method == "complex" else _rounding(g, [x], effective)
            floor = 4 * EPS * derivative
            if truncation > 100 * (rounding + floor):  # truncation regime: must match closely
                if abs(got[i] - truncation) > 1e-3 * truncation + rounding + floor:
                    other = {"forward": "central", "central": "forward", "complex": "central"}[method]
                    mistake = first_mistake(
                        got[i],
                        [
                            (
                                "this is the relative error; return the absolute error |approx - df(x)|.",
                                truncation / max(derivative, 1e-300),
                            ),
                            (
                                f"this is the error of the {other} method; use the method asked for.",
                                truncation_error(g, [x], h, other),
                            ),
                        ],
                        1e-3 * truncation + rounding,
                    )
                    raise failure(
                        call,
                        f"at h = {h:.3g} the error should be the truncation error {truncation:.6e} "
                        f"(rounding is negligible there), but it is {got[i]:.6e}.",
                        given=given,
                        mistake=mistake,
                    )
            elif got[i] > 10 * (truncation + rounding) + floor + 1e-15:
                raise failure(
                    call,
                    f"at h = {h:.3g} the error {got[i]:.3e} is larger than truncation plus rounding "
                    f"allow ({truncation + rounding:.3e}).",
                    given=given,
                )

    run_check(observe, judge)


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
                    mistake="compute the errors with step_size_errors over np.logspace(-16, 0, ...) and return "
                    "the step with the smallest error (np.argmin).",
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
                raise failure(
                    call,
                    f"did not follow the error curve: with step_size_errors replaced by a curve whose "
                    f"minimum is at h = {minimum:g}, best_step returned {got:.3e}.",
                    mistake="do not type the answer in: call step_size_errors on a grid of steps and "
                    "return the step where the error is smallest.",
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
        if obs.raised:
            hint = "pass x + 1j * h to f (a complex number); f works on complex input."
            raise raised(call, obs.raised, given=given, mistake=hint if "complex" in obs.raised else None)
        got = real_scalar(obs.value["value"], call)
        want, neglected = quotient(f, [x], step, "complex")
        tolerance = 16 * EPS * (abs(want) + 1e-3) + neglected
        if mismatch(got, want, tolerance):
            mistake = first_mistake(
                got,
                [
                    (
                        "this is 0: with h = 1e-20, x + h == x in floating point; the step must be imaginary "
                        "(x + 1j*h).",
                        0.0,
                    ),
                    ("this is h times the derivative: divide the imaginary part by h.", want * step),
                    ("this is the real part of f(x + ih); the derivative sits in the imaginary part.", f.value([x])),
                ],
                tolerance,
            )
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
