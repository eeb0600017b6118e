"""The checks of unit 07 (the package docstring says where their truth comes from)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from autograder.checks.ad.student import Functions, functions_data, is_var, read
from autograder.checks.higher_order.mistakes import (
    CHECKPOINT_FORWARD_RECORDS,
    CHECKPOINT_KEEPS_GRAPH,
    CHECKPOINT_LEAVES_RECORDING_OFF,
    CHECKPOINT_ON_ARGUMENTS,
    CHECKPOINT_SEEDED_ONE,
    CHECKPOINT_STORES_ALL,
    CONFUSION,
    CONSTANT_TANGENT,
    DROPPED_OUTER_TANGENT,
    HESSIAN_EXTRA_PASS,
    HESSIAN_ONES,
    HESSIAN_TRIANGLE,
    HESSIAN_TWO_PER_COLUMN,
    HVP_FIRST_ONLY,
    HVP_FULL_HESSIAN,
    HVP_GRADIENT,
    HVP_ONES,
    HVP_OUTPUT_SEEDED,
    HVP_PLAIN_GRAD,
    NEVER_DISABLED,
    NEWTON_GRADIENT,
    NEWTON_MINUS_STEP,
    NEWTON_MULTIPLIED,
    NEWTON_PLUS,
    NEWTON_STEP_ONLY,
    NOT_RESTORED_AFTER_RAISE,
    NOT_RESUMED,
    RESTORES_TRUE,
    ROSENBROCK,
    SWALLOWED,
    hvp_repeated_passes,
)
from autograder.checks.kit.case import Case, explicit_or_seeded
from autograder.checks.kit.dependencies import fails_first, prefixed
from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.guard import BackwardPasses, guarded
from autograder.checks.kit.text import expression, random_case
from autograder.checks.kit.tolerance import relative_tolerance
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.feedback import CheckFailure, failure, raised, show
from autograder.inputs import Recorded, rng
from autograder.observations import Foreign
from autograder.oracles.expressions import RandomExpression
from autograder.runtime import Observation, run_check

SECOND_ORDER = 1e-8  # second derivatives by AD are exact to a few ulps per operation; generous

# --- shared helpers ----------------------------------------------------------------------------------


def _given(g: RandomExpression, x: np.ndarray) -> str:
    return f"f({', '.join(map(str, g.symbols))}) = {g} at x = {show(x, 80)}"


def _guarded_failure(call: str, outcome: dict, given: str) -> None:
    """Raise the failure of a guarded call that timed out or raised; else nothing.

    Unlike the units where students write `backward`, no hint about a recursive traversal: here the
    engine's backward is given (a loop over the tape), so nothing observed points at one cause.
    """
    if outcome.get("timed_out"):
        raise failure(call, f"did not finish within {outcome['timed_out']:g} s.", given=given)
    if "raised" in outcome:
        raise raised(call, outcome["raised"], given=given)


def _grad_mode(var: Any) -> Any:
    """The engine's GradMode (the class whose `enabled` says whether Vars record), found next to Var."""
    mode = getattr(getattr(var, "__init__", None), "__globals__", {}).get("GradMode")
    return mode if hasattr(mode, "enabled") else None


@contextmanager
def _recording_on(var: Any) -> Iterator[None]:
    """Run a block with recording on (GradMode.enabled = True), then put back the mode found before.

    Every check starts from the state the exercises assume, whatever an earlier cell (or a broken
    no_grad run by an earlier check) left behind, and leaves the kernel as it found it: a broken
    no_grad observed here does not switch recording off for the checks that run after it.
    """
    mode = _grad_mode(var)
    if mode is None:
        yield
        return
    saved = mode.enabled
    mode.enabled = True
    try:
        yield
    finally:
        mode.enabled = saved


def _after_dependency(first: str | None, judge: Callable[[], None]) -> None:
    """Run `judge`; when it fails and `first` (kit.dependencies.fails_first) names a wrong exercise this
    one calls, the failure starts with that sentence and names no mistake of this exercise's own."""
    __tracebackhide__ = True
    try:
        judge()
    except CheckFailure as error:
        if first is None:
            raise
        raise prefixed(error, first) from None


def _type_name(obj: Any) -> str:
    return type(obj).__name__


def _argument_data(arguments: Sequence[Any]) -> list[dict]:
    """What one call of f received: Var or not, the type of each value, a Dual value's tangent."""
    out = []
    for arg in arguments:
        entry: dict[str, Any] = {"var": is_var(arg), "type": _type_name(arg)}
        if entry["var"]:
            value = read(arg, "value")
            entry["value_type"] = _type_name(value)
            tangent = read(value, "tangent")
            if isinstance(tangent, int | float | np.number):
                entry["tangent"] = float(tangent)
        out.append(entry)
    return out


def _same(values: Sequence[float], want: np.ndarray) -> bool:
    """values equal want, entry by entry (both of the same length)."""
    return len(values) == len(want) and not mismatch(np.array(values, dtype=float), want, 1e-12)


def _seeds(arguments: list[dict]) -> list[float] | None:
    """The tangents of a call's Var(Dual) arguments, or None when some argument is not one."""
    tangents = [a.get("tangent") for a in arguments if a.get("value_type") == "Dual"]
    return tangents if len(tangents) == len(arguments) and None not in tangents else None


def _scalar_cases(
    f: str | None, x: Any, seed: int | None, count: int, sizes: Sequence[int]
) -> list[tuple[RandomExpression, np.ndarray]]:
    if seed is None:
        return [(expression(f), np.array(x, dtype=float))]
    generator = rng(seed)
    cases = []
    for k in range(count):
        g = random_case(seed * 100 + k, sizes[k % len(sizes)], 2 + k % 2)
        cases.append((g, g.point(generator)))
    return cases


def _as_given(values: np.ndarray, k: int) -> Any:
    """Hand x to the student as a list, a tuple or an array, in turn: all are sequences of length n."""
    return [values.tolist(), tuple(values.tolist()), values.copy()][k % 3]


# --- hvp -----------------------------------------------------------------------------------------------


def check_hvp(
    hvp: Callable,
    Var: Any,
    functions: Functions,
    f: str | None = None,
    x: Any = None,
    v: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check hvp(f, x, v) = ∂²f(x) v (SymPy's exact Hessian times v), an array of shape (n,), from
    one call of f on Var(Dual(x_i, v_i)) inputs and one reverse pass. `f` is SymPy source in x1, x2,
    ...; with a seed, `count` random expressions of 2 to 4 variables and random directions."""
    __tracebackhide__ = True
    cases = _scalar_cases(f, x, seed, count, (2, 3, 4))
    if seed is None:
        directions = [np.array(v, dtype=float)]
    else:
        generator = rng(seed + 1)
        directions = [generator.uniform(0.5, 2.0, g.n_vars) * generator.choice([-1, 1], g.n_vars) for g, _ in cases]
    for k, ((g, point), direction) in enumerate(zip(cases, directions, strict=True)):
        _hvp_case(hvp, Var, functions, g, point, direction, k)


def _hvp_case(
    student: Callable, var: Any, functions: Functions, g: RandomExpression, x: np.ndarray, v: np.ndarray, k: int
) -> None:
    def observe() -> dict:
        recorded = Recorded(g.function(functions_data(functions)))

        def run() -> dict:
            with _recording_on(var), BackwardPasses(var) as passes:
                out = student(recorded, _as_given(x, k), _as_given(v, k))
            return {"value": out, "passes": passes.count}

        outcome = guarded(run)
        outcome["calls"] = recorded.calls
        outcome["arguments"] = _argument_data(recorded.arguments[0] if recorded.arguments else ())
        outcome["seeds"] = [_seeds(_argument_data(arguments)) for arguments in recorded.arguments[:8]]
        return outcome

    def judge(obs: Observation) -> None:
        n = g.n_vars
        call = f"hvp(f, {show(x, 60)}, {show(v, 60)})"
        given = _given(g, x)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        description = obs.value.get("raised") or ""
        seeds = _seeds(obs.value["arguments"])
        if "has no attribute 'tangent'" in description and seeds is not None and _same(seeds, v):
            # f ran on the right Var(Dual(x_i, v_i)) inputs; reading a tangent afterwards failed
            raise raised(call, description, given=given, mistake=HVP_PLAIN_GRAD)
        _guarded_failure(call, obs.value, given)
        hessian, gradient = g.hessian(x), g.gradient(x)
        want = hessian @ v
        got = real_array(obs.value["result"]["value"], (n,), call, "Hessian-vector product")
        tolerance = relative_tolerance(want, SECOND_ORDER) + SECOND_ORDER * np.abs(hessian) @ np.abs(v)
        if mismatch(got, want, tolerance):
            candidates = [
                (HVP_GRADIENT, gradient),
                (HVP_ONES, hessian @ np.ones(n)),
                (HVP_OUTPUT_SEEDED, want + gradient),
                (
                    "the tangents of the grads were dropped (all zero): the local derivatives must be "
                    "computed from the Dual values, and the answer is the tangent of each input's grad.",
                    np.zeros(n),
                ),
                (HVP_FIRST_ONLY, hessian[:, 0] * v[0]),
            ]
            passes = obs.value["result"]["passes"]
            if isinstance(passes, int) and passes > 1:  # every pass adds ∂²f(x) v to the leaves' grads again
                candidates.append((hvp_repeated_passes(passes), passes * want))
            mistake = diagnose(got, candidates, tolerance=tolerance)
            raise failure(
                call,
                f"the Hessian-vector product is wrong by up to {largest_gap(got, want):.3e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        _judge_forward_over_reverse(call, obs.value, v, given, n)

    run_check(observe, judge)


def _judge_forward_over_reverse(call: str, obs: dict, v: np.ndarray, given: str, n: int) -> None:
    passes, calls = obs["result"]["passes"], obs["calls"]
    if passes != 1:
        # n passes, one per call of f on inputs seeded with the unit vectors e_1, ..., e_n: a whole Hessian
        seeds = obs.get("seeds") or []
        units = sorted(map(tuple, np.eye(n).tolist()))
        whole = n > 1 and passes == calls == n and None not in seeds and sorted(map(tuple, seeds)) == units
        hint = None
        if whole:
            hint = HVP_FULL_HESSIAN
        elif n > 1 and passes == n:  # n passes, but not seeded with the unit vectors: a hint, not a name
            hint = (
                f"{n} passes for n = {n} inputs is the cost of the whole Hessian (one pass per column): seed "
                "the direction v into the inputs, Var(Dual(x_i, v_i)), and run backward() once."
            )
        problem = "ran no reverse pass (no call of backward)" if passes == 0 else f"ran {passes} reverse passes"
        raise failure(
            call,
            f"{problem}; an HVP takes exactly one.",
            given=given,
            mistake=hint,
        )
    if calls != 1:
        raise failure(
            call,
            f"called f {calls} times; hvp calls f exactly once, on Var(Dual(x_i, v_i)) inputs, and a call on "
            "plain numbers counts too.",
            given=given,
        )
    arguments = obs["arguments"]
    if not all(a.get("var") for a in arguments):
        kinds = ", ".join(sorted({a.get("type", "?") for a in arguments}))
        raise failure(
            call,
            f"called f with {kinds}, not with Vars.",
            given=given,
            mistake="the reverse pass needs a graph: call f on Var(Dual(x_i, v_i)) inputs.",
        )
    if not all(a.get("value_type") == "Dual" for a in arguments):
        kinds = ", ".join(sorted({a.get("value_type", "?") for a in arguments}))
        raise failure(
            call,
            f"called f on Vars whose values are {kinds}, not Duals.",
            given=given,
            mistake="this exercise is forward-over-reverse: the values of the input Vars are dual numbers "
            "Dual(x_i, v_i) (a Var of Vars is reverse-over-reverse).",
        )
    tangents = [a.get("tangent") for a in arguments]
    if any(t is None for t in tangents) or mismatch(np.array(tangents, dtype=float), v, 1e-12):
        raise failure(
            call,
            "the tangents of the inputs' Dual values are not the direction v.",
            expected=v,
            got=tangents,
            given=given,
        )


# --- hessian -------------------------------------------------------------------------------------------


def check_hessian(
    hessian: Callable,
    Var: Any,
    functions: Functions,
    f: str | None = None,
    x: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check hessian(f, x): SymPy's exact (n, n) Hessian, from exactly n reverse passes (n HVPs).
    With a seed, `count` random expressions of 2 to 4 variables."""
    __tracebackhide__ = True
    for k, (g, point) in enumerate(_scalar_cases(f, x, seed, count, (3, 2, 4))):
        _hessian_case(hessian, Var, functions, g, point, k)


def _hessian_case(
    student: Callable, var: Any, functions: Functions, g: RandomExpression, x: np.ndarray, k: int
) -> None:
    def observe() -> dict:
        function = g.function(functions_data(functions))

        def run() -> dict:
            with _recording_on(var), BackwardPasses(var) as passes:
                out = student(function, _as_given(x, k))
            return {"value": out, "passes": passes.count}

        outcome = guarded(run)
        if "result" in outcome and not _right_hessian(outcome["result"], g, x):
            outcome["own_hvp"] = _own_hvp(student, var, function, x)  # whose mistake is it: hessian's or hvp's?
        return outcome

    def judge(obs: Observation) -> None:
        call = f"hessian(f, {show(x, 60)})"
        given = _given(g, x)
        own = obs.value.get("own_hvp") if isinstance(obs.value, dict) else None
        # the notebook's hvp, which hessian calls, is wrong: say so first, and name no mistake of hessian's own
        first = fails_first("hvp") if own and not _hvp_holds(own, g, x) else None
        _after_dependency(first, lambda: _judge_hessian(obs, call, given, hvp_right=own is None or first is None))

    def _judge_hessian(obs: Observation, call: str, given: str, hvp_right: bool) -> None:
        n = g.n_vars
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        _guarded_failure(call, obs.value, given)
        want = g.hessian(x)
        got = real_array(obs.value["result"]["value"], (n, n), call, "Hessian")
        tolerance = relative_tolerance(want, SECOND_ORDER)
        if mismatch(got, want, tolerance):
            candidates = [
                (HESSIAN_TRIANGLE, np.triu(want)),
                (HESSIAN_TRIANGLE, np.tril(want)),
                (HESSIAN_ONES, np.tile((want @ np.ones(n))[:, None], (1, n))),  # every column ∂²f (1, ..., 1)
                (HESSIAN_ONES, np.tile(want @ np.ones(n), (n, 1))),  # the same, stacked as rows
            ]
            mistake = diagnose(got, candidates, tolerance=tolerance) if hvp_right else None
            if mistake is None and not mismatch(np.diag(got), np.diag(want), tolerance):
                mistake = "the diagonal is right but not the rest: column j is hvp(f, x, e_j), row i of it is H[i, j]."
            raise failure(
                call,
                f"the Hessian is wrong by up to {largest_gap(got, want):.3e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        passes = obs.value["result"]["passes"]
        if passes != n:
            named = {n + 1: HESSIAN_EXTRA_PASS, 2 * n: HESSIAN_TWO_PER_COLUMN} if hvp_right else {}
            hint = named.get(passes)
            if hint is None and hvp_right and passes > n:  # more passes than columns: something extra ran
                hint = (
                    "one hvp(f, x, e_j) per column j, nothing else: no extra call to find n or the "
                    "gradient, no second product per column to symmetrise (the HVP columns are exact)."
                )
            raise failure(
                call,
                f"ran {passes} reverse passes; n = {n} Hessian-vector products (one each) are enough.",
                given=given,
                mistake=hint,
            )

    run_check(observe, judge)


def _close(value: Any, want: np.ndarray, tolerance: np.ndarray) -> bool:
    """value is a real array of want's shape within tolerance of it (False for anything else)."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return array.shape == want.shape and not mismatch(array, want, tolerance)


def _right_hessian(result: dict, g: RandomExpression, x: np.ndarray) -> bool:
    """hessian's answer is ∂²f(x) from n reverse passes (the judge decides; this only spares the probe)."""
    want = g.hessian(x)
    return result.get("passes") == g.n_vars and _close(
        result.get("value"), want, relative_tolerance(want, SECOND_ORDER)
    )


def _refers_to(function: Any, name: str) -> bool:
    """Whether the code of `function` (or of a function defined inside it) uses the global `name`."""
    stack = [getattr(function, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        if name in code.co_names:
            return True
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return False


def _dependency(student: Any, name: str) -> Callable | None:
    """The notebook's `name` (e.g. hvp) when the student's function calls it, else None."""
    found = getattr(student, "__globals__", {}).get(name)
    return found if callable(found) and _refers_to(student, name) else None


def _probe_direction(n: int) -> np.ndarray:
    """A direction with distinct entries of both signs, 1, -1.5, 2, ...: a wrong hvp cannot match by luck."""
    return np.array([(1.0 + k / 2) * (-1) ** k for k in range(n)])


def _own_hvp(student: Callable, var: Any, function: Callable, x: np.ndarray) -> dict | None:
    """The notebook's own hvp (the one `student` calls) on `_probe_direction`, and its reverse passes;
    None when `student` does not call a function named hvp."""
    hvp = _dependency(student, "hvp")
    if hvp is None:
        return None

    def run() -> dict:
        with _recording_on(var), BackwardPasses(var) as passes:
            out = hvp(function, x.copy(), _probe_direction(len(x)))
        return {"value": out, "passes": passes.count}

    return guarded(run)


def _hvp_holds(own: dict, g: RandomExpression, x: np.ndarray) -> bool:
    """The notebook's hvp (`_own_hvp`'s observation) gave ∂²f(x) d for the probe direction d, in one pass."""
    result = own.get("result") or {}
    want = g.hessian(x) @ _probe_direction(g.n_vars)
    tolerance = relative_tolerance(want, SECOND_ORDER) + SECOND_ORDER * np.abs(g.hessian(x)).sum(axis=1)
    return result.get("passes") == 1 and _close(result.get("value"), want, tolerance)


# --- newton_step ---------------------------------------------------------------------------------------


def _rosenbrock_points(generator: np.random.Generator, count: int) -> list[np.ndarray]:
    """Points in [-1.5, 1.5] x [-0.5, 2] where the Rosenbrock Hessian is far from singular
    (det H = 80000 (x² - y) + 400 vanishes on y = x² + 0.005)."""
    points = []
    while len(points) < count:
        p = np.array([generator.uniform(-1.5, 1.5), generator.uniform(-0.5, 2.0)])
        if abs(p[1] - p[0] ** 2 - 0.005) > 0.3:
            points.append(p)
    return points


@lru_cache(maxsize=64)
def _quadratic(seed: int, n: int) -> tuple[RandomExpression, str]:
    """f(x) = ½ xᵀ A x + bᵀ x with A symmetric positive definite, integer entries."""
    generator = rng(seed)
    m = generator.integers(-3, 4, size=(n, n))
    a = m @ m.T + n * np.eye(n, dtype=int)
    b = generator.integers(-5, 6, size=n)
    symbols = tuple(sympy.Symbol(f"x{i + 1}", real=True) for i in range(n))
    expr = sum(sympy.Rational(int(a[i, j]), 2) * symbols[i] * symbols[j] for i in range(n) for j in range(n)) + sum(
        int(b[i]) * symbols[i] for i in range(n)
    )
    return RandomExpression(expr=sympy.expand(expr), symbols=symbols, low=-1e9, high=1e9), "quadratic"


def check_newton_step(
    newton_step: Callable,
    Var: Any,
    functions: Functions,
    f: str | None = None,
    x: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check newton_step(f, x) = x - ∂²f(x)⁻¹ ∇f(x) with SymPy's exact gradient and Hessian. With a
    seed: the Rosenbrock function at `count` random points and `count` random convex quadratics of
    2 to 4 variables (where one step lands on the minimiser -A⁻¹b)."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = [(expression(ROSENBROCK), p) for p in _rosenbrock_points(generator, count)]
        for k in range(count):
            g, _ = _quadratic(seed * 100 + k, 2 + k % 3)
            cases.append((g, generator.uniform(-3.0, 3.0, size=g.n_vars)))
        return cases

    cases = explicit_or_seeded(seed, lambda: (expression(f), np.array(x, dtype=float)), draw)
    for k, (g, point) in enumerate(cases):
        _newton_case(newton_step, Var, functions, g, point, k)


def _newton_want(g: RandomExpression, x: np.ndarray) -> np.ndarray:
    return x - np.linalg.solve(g.hessian(x), g.gradient(x))


def _own_hessian(student: Callable, function: Callable, x: np.ndarray) -> dict | None:
    """The notebook's own hessian (the one `student` calls) at x; None when `student` does not call one."""
    hessian = _dependency(student, "hessian")
    return None if hessian is None else guarded(lambda: hessian(function, x.copy()))


def _newton_dependency(obs: dict, g: RandomExpression, x: np.ndarray) -> str | None:
    """`fails_first(...)` for the exercise newton_step builds on that is wrong (hvp before hessian), else None."""
    own_hessian, own_hvp = obs.get("own_hessian"), obs.get("own_hvp")
    if own_hvp and not _hvp_holds(own_hvp, g, x):
        return fails_first("hvp")
    if own_hessian and not _close(
        own_hessian.get("result"), g.hessian(x), relative_tolerance(g.hessian(x), SECOND_ORDER)
    ):
        return fails_first("hessian")
    return None


def _newton_case(student: Callable, var: Any, functions: Functions, g: RandomExpression, x: np.ndarray, k: int) -> None:
    def observe() -> dict:
        function = g.function(functions_data(functions))
        with _recording_on(var):
            outcome = guarded(lambda: student(function, _as_given(x, k)))
            want = _newton_want(g, x)
            if not _close(outcome.get("result"), want, relative_tolerance(want, SECOND_ORDER)):
                # whose mistake is it: newton_step's, or that of the hessian (and the hvp) it calls?
                outcome["own_hessian"] = _own_hessian(student, function, x)
                hessian = _dependency(student, "hessian")
                outcome["own_hvp"] = None if hessian is None else _own_hvp(hessian, var, function, x)
        return outcome

    def judge(obs: Observation) -> None:
        call = f"newton_step(f, {show(x, 60)})"
        given = _given(g, x)
        first = _newton_dependency(obs.value, g, x) if isinstance(obs.value, dict) else None
        _after_dependency(first, lambda: _judge_newton(obs, call, given, named=first is None))

    def _judge_newton(obs: Observation, call: str, given: str, named: bool) -> None:
        n = g.n_vars
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        _guarded_failure(call, obs.value, given)
        hessian, gradient = g.hessian(x), g.gradient(x)
        step = np.linalg.solve(hessian, gradient)
        want = x - step
        got = real_array(obs.value["result"], (n,), call, "new point")
        tolerance = relative_tolerance(want, SECOND_ORDER) + 1e-14 * np.linalg.cond(hessian) * (1 + np.abs(step))
        if mismatch(got, want, tolerance):
            candidates = [
                (NEWTON_PLUS, x + step),
                (NEWTON_GRADIENT, x - gradient),
                (NEWTON_MULTIPLIED, x - hessian @ gradient),
                (NEWTON_STEP_ONLY, step),
                (NEWTON_MINUS_STEP, -step),
            ]
            if n > 1 and np.all(np.diag(hessian) != 0):  # a Hessian with only one triangle filled
                for triangle in (np.triu(hessian), np.tril(hessian)):
                    candidates.append((HESSIAN_TRIANGLE, x - np.linalg.solve(triangle, gradient)))
            mistake = diagnose(got, candidates, tolerance=tolerance) if named else None
            raise failure(
                call,
                f"the new point is wrong by up to {largest_gap(got, want):.3e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )

    run_check(observe, judge)


# --- nested derivatives: perturbation confusion --------------------------------------------------------


def _nested(text: str, d: Callable, functions: dict) -> Callable[[Any], Any]:
    """The test function named `text`, built with the student's derivative `d`."""
    if text == "x * d/dy(x*y)":
        return lambda x: x * d(lambda y: x * y, 1.0)
    if text == "x * d/dy(x + y)":
        return lambda x: x * d(lambda y: x + y, 1.0)
    if text == "x * d/dy(x*x)":
        return lambda x: x * d(lambda y: x * x, 1.0)
    if text == "x * d/dy(y * d/dz(x*y*z))":
        return lambda x: x * d(lambda y: y * d(lambda z: x * y * z, 1.0), 2.0)
    if text == "constant":
        return lambda x: 3.0
    raise KeyError(text)


NESTED = {  # name: (f'(x), what one kind of ε for every call gives, when different)
    "x * d/dy(x*y)": (lambda x: 2 * x, lambda x: x + 1),
    "x * d/dy(x + y)": (lambda x: 1.0, lambda x: 2.0),
    "x * d/dy(x*x)": (lambda x: 0.0, lambda x: 2 * x),
    "x * d/dy(y * d/dz(x*y*z))": (lambda x: 8 * x, None),
    "constant": (lambda x: 0.0, None),
}
"""f(x) for the nested cases, with the inner derivatives at y = 1 (y = 2, z = 1 for the triple)."""

DROPPED = {  # name: f'(x) when derivative returns only the .value of a tangent that is a Dual of an outer tag
    "x * d/dy(x*y)": lambda x: x,  # d/dy(x y) = x comes back as a number: f = x · x₀, f' = x₀
    "x * d/dy(y * d/dz(x*y*z))": lambda x: 2 * x,  # the middle call's tangent 2x comes back as a number
}


def check_nested_derivative(
    derivative: Callable,
    functions: Functions,
    cases: str | Sequence[str] | None = None,
    x: Any = (1.5,),
    *,
    seed: int | None = None,
    count: int = 3,
) -> None:
    """Check derivative(f, x) where f itself calls derivative: each case of `NESTED` (e.g.
    "x * d/dy(x*y)", f'(x) = 2x), or a SymPy expression in x (a plain first derivative), at every
    point of `x`. With a seed: every case of `NESTED` at random points, `count` first derivatives
    and `count` second derivatives derivative(lambda t: derivative(g, t), x) of random expressions."""
    __tracebackhide__ = True
    if seed is None:
        names = [cases] if isinstance(cases, str) else list(cases)
        points = [float(p) for p in np.atleast_1d(np.array(x, dtype=float))]
        plan = [(name, None if name in NESTED else expression(name), 1, p) for name in names for p in points]
    else:
        generator = rng(seed)
        plan = [(name, None, 1, float(generator.uniform(-2.0, 2.0))) for name in NESTED for _ in range(2)]
        for k in range(count):
            for order in (1, 2):
                g = random_case(seed * 100 + 2 * k + order, 1, 2)
                plan.append((str(g), g, order, float(g.point(generator)[0])))
    for name, g, order, point in plan:
        _nested_case(derivative, functions, name, g, order, point)


def _nested_case(
    student: Callable, functions: Functions, name: str, g: RandomExpression | None, order: int, x: float
) -> None:
    def observe() -> dict:
        data = functions_data(functions)
        if g is None:
            f = _nested(name, student, data)
        else:
            inner = g.function(data)
            f = inner if order == 1 else (lambda t: student(inner, t))
        return guarded(lambda: student(f, x))

    def judge(obs: Observation) -> None:
        if g is None:
            call = f"derivative(f, {x!r})"
            given = "f(x) = 3, a constant" if name == "constant" else f"f(x) = {name}, inner derivatives at y = 1"
            if name == "x * d/dy(y * d/dz(x*y*z))":
                given = f"f(x) = {name}, inner derivatives at y = 2 and z = 1"
            want, confused = NESTED[name][0](x), NESTED[name][1]
        else:
            call = f"derivative(f, {x!r})" if order == 1 else f"derivative(lambda t: derivative(g, t), {x!r})"
            given = f"f(x) = {name}" if order == 1 else f"g(x) = {name}, so the result is g''(x)"
            want, confused = g.partial([x], *([0] * order)), None
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        description = obs.value.get("raised") or ""
        if name == "constant" and g is None and "float' object has no attribute 'tangent'" in description:
            raise raised(call, description, given=given, mistake=CONSTANT_TANGENT)  # f returned the number 3.0
        _guarded_failure(call, obs.value, given)
        result = obs.value["result"]
        if isinstance(result, Foreign) and result.type_name == "Dual":
            raise failure(
                call,
                f"returned a Dual ({result.text}), not a number.",
                given=given,
                mistake="read off the tangent of your own tag only; a Dual of another tag belongs to an outer "
                "call (return it only inside one), and at the outermost level the answer is a number.",
            )
        got = real_scalar(result, call)
        if mismatch(got, want, relative_tolerance(want, SECOND_ORDER)):
            candidates = []
            if confused is not None:
                candidates.append((CONFUSION, confused(x)))  # the inner derivative read the outer call's ε as its own
            if g is None and name in DROPPED:
                candidates.append((DROPPED_OUTER_TANGENT, DROPPED[name](x)))
            mistake = diagnose(got, candidates, tolerance=lambda value: relative_tolerance(value, 1e-6), truth=want)
            raise failure(
                call,
                "the derivative is wrong.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )

    run_check(observe, judge)


# --- no_grad -------------------------------------------------------------------------------------------

SCENARIOS = ("records nothing", "resumes", "backward", "nested", "exception")


class _Probe(Exception):
    """The exception raised inside a no_grad block by the "exception" scenario."""


def _parents(node: Any) -> int:
    try:
        return len(node.parents)
    except Exception:
        return -1


def _scenario(no_grad: Callable, var: Any, name: str) -> dict:
    x = var(2.0)
    if name == "records nothing":
        with no_grad():
            y = x * 3.0 + 1.0
        return {"value": y.value, "parents": _parents(y)}
    if name == "resumes":
        before = _parents(x * 3.0)
        with no_grad():
            x * 3.0
        return {"parents": _parents(x * 3.0), "before": before}
    if name == "backward":
        with no_grad():
            c = x * x
        out = c * x
        out.backward()
        return {"grad": x.grad}
    if name == "nested":
        with no_grad():
            with no_grad():
                x * 2.0
            inside = _parents(x * 2.0)
        return {"inside": inside, "after": _parents(x * 2.0)}
    propagated = False
    try:
        with no_grad():
            raise _Probe("raised inside the block")
    except _Probe:
        propagated = True
    return {"propagated": propagated, "after": _parents(x * 2.0)}


def _no_grad_probe(no_grad: Callable, var: Any) -> dict:
    """Parents of x * 3 inside a no_grad block and after it (x = Var(2.0)): 0 and 2 when no_grad is right."""
    x = var(2.0)
    with no_grad():
        inside = _parents(x * 3.0)
    return {"inside": inside, "after": _parents(x * 3.0)}


def _no_grad_holds(outcome: dict) -> bool:
    """`_no_grad_probe`'s guarded observation shows a working no_grad: nothing recorded inside, recording after."""
    result = outcome.get("result") or {}
    return result.get("inside") == 0 and (result.get("after") or 0) > 0


def check_no_grad(no_grad: Callable, Var: Any, scenarios: str | Sequence[str] = SCENARIOS) -> None:
    """Check the context manager no_grad() on x = Var(2.0):

    - "records nothing": inside, y = x * 3 + 1 has value 7 and no parents;
    - "resumes": after the block, x * 3 records its parents again;
    - "backward": c = x * x computed inside is a constant: (c * x).backward() gives x.grad = 4;
    - "nested": leaving an inner no_grad inside an outer one still records nothing; after both, it does;
    - "exception": an exception raised inside reaches the caller, and recording is back afterwards.
    """
    __tracebackhide__ = True
    for name in (scenarios,) if isinstance(scenarios, str) else tuple(scenarios):
        _no_grad_case(no_grad, Var, name)


def _no_grad_case(no_grad: Callable, var: Any, name: str) -> None:
    def observe() -> dict:
        with _recording_on(var):
            return guarded(lambda: _scenario(no_grad, var, name))

    def judge(obs: Observation) -> None:
        calls = {
            "records nothing": "with no_grad(): y = x * 3 + 1",
            "resumes": "with no_grad(): ...; then z = x * 3",
            "backward": "with no_grad(): c = x * x; then out = c * x; out.backward()",
            "nested": "with no_grad(): (with no_grad(): ...); y = x * 2 inside the outer block",
            "exception": "with no_grad(): raise an exception; then z = x * 2",
        }
        call, given = calls[name], "x = Var(2.0)"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        _guarded_failure(call, obs.value, given)
        result = obs.value["result"]
        if name == "records nothing":
            value = real_scalar(result["value"], call)
            if mismatch(value, 7.0, 1e-12):
                raise failure(
                    call,
                    "the value of y is wrong: no_grad changes what is recorded, not the values.",
                    expected=7.0,
                    got=value,
                    given=given,
                )
            if result["parents"] != 0:
                raise failure(
                    call,
                    f"y recorded {result['parents']} parents inside no_grad; it must record none.",
                    given=given,
                    mistake=NEVER_DISABLED,
                )
        elif name == "resumes":
            if result["parents"] <= 0:
                raise failure(
                    call,
                    "after the no_grad block, new Vars still record no parents.",
                    given=given,
                    mistake=NOT_RESUMED if result.get("before", 0) > 0 else None,  # recording was on before it
                )
        elif name == "backward":
            grad = real_scalar(result["grad"], call)
            if mismatch(grad, 4.0, 1e-12):
                raise failure(
                    call,
                    "x.grad should be c = 4: c was computed under no_grad, so it is a constant.",
                    expected=4.0,
                    got=grad,
                    given=given,
                    mistake=NEVER_DISABLED if not mismatch(grad, 12.0, 1e-12) else None,  # 12 = 3x²: c recorded
                )
        elif name == "nested":
            if result["inside"] != 0:
                raise failure(
                    call,
                    "after an inner no_grad ended, recording was on again inside the outer block.",
                    given=given,
                    mistake=RESTORES_TRUE,
                )
            if result["after"] <= 0:
                raise failure(call, "after both blocks, new Vars still record no parents.", given=given)
        else:
            if not result["propagated"]:
                raise failure(
                    call,
                    "the exception raised inside the block did not reach the caller: no_grad swallowed it.",
                    given=given,
                    mistake=SWALLOWED,
                )
            if result["after"] <= 0:
                raise failure(
                    call,
                    "after an exception inside the block, new Vars record no parents: the mode was not restored.",
                    given=given,
                    mistake=NOT_RESTORED_AFTER_RAISE,
                )

    run_check(observe, judge)


# --- checkpoint ----------------------------------------------------------------------------------------

BLOCKS = (
    "sin(u*w) + 0.5*u",
    "tanh(u)*w + 0.3*u + 0.1",
    "exp(-u*u)*w + 0.5*u",
    "sqrt(u*u + 1)*0.5 + cos(w*u)*0.4",
    "log(u*u + 1)*w - 0.2*u",
)


def _recorded_nodes(out: Any) -> int:
    """Nodes with parents reachable from `out` through `.parents` (iterative, each node once)."""
    seen, stack, count = set(), [out], 0
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        parents = getattr(node, "parents", ()) or ()
        if parents:
            count += 1
        stack.extend(parents)
    return count


def _is_recorded(out: Any) -> bool:
    try:
        return bool(getattr(out, "parents", ()))
    except Exception:
        return False


@lru_cache(maxsize=64)
def _chain_truth(block: str, blocks: int) -> RandomExpression:
    u, w, x = sympy.symbols("u w x", real=True)
    expr = sympy.sympify(block, locals={"u": u, "w": w}, rational=True)
    y: sympy.Expr = x
    for _ in range(blocks):
        y = expr.subs({u: y, w: w})
    return RandomExpression(expr=y, symbols=(x, w), low=-1e9, high=1e9)


def _seeded_with_one(block: str, x: float, w: float, blocks: int) -> np.ndarray:
    """(x.grad, w.grad) when every checkpoint's VJP ignores its adjoint g (backward() seeded with 1):
    block k hands ∂fn/∂u and ∂fn/∂w at its own input y_(k-1) to its parents, whatever comes after."""
    value, du, dw = _block_parts(block)
    ys = [x]
    for _ in range(blocks - 1):
        ys.append(value(ys[-1], w))
    return np.array([du(ys[0], w), sum(dw(y, w) for y in ys)])


@lru_cache(maxsize=16)
def _block_parts(block: str) -> tuple[Callable[[float, float], float], ...]:
    """fn(u, w), ∂fn/∂u and ∂fn/∂w of a block as float functions (SymPy's derivatives)."""
    u, w = sympy.symbols("u w", real=True)
    expr = sympy.sympify(block, locals={"u": u, "w": w}, rational=True)
    return tuple(sympy.lambdify((u, w), e, "math") for e in (expr, expr.diff(u), expr.diff(w)))


def check_checkpoint(
    checkpoint: Callable,
    Var: Any,
    functions: Functions,
    block: str | None = None,
    x: float = 0.8,
    w: float = 1.3,
    blocks: int = 4,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check checkpoint(fn, *args) on a chain: y = Var(x); `blocks` times y = checkpoint(fn, y, w)
    with fn(u, w) = `block` and w = Var(w); then y.backward(). The value and the grads of x and w
    are SymPy's; the graph from y stores one recorded node per call (the same chain without
    checkpointing stores every operation); fn records nothing in the forward pass and runs again,
    recording, once per call in backward. With a seed, `count` random blocks, points and lengths."""
    __tracebackhide__ = True
    if seed is None:
        plan = [(block, float(x), float(w), int(blocks))]
    else:
        generator = rng(seed)
        plan = [
            (
                BLOCKS[(seed + k) % len(BLOCKS)],
                float(generator.uniform(-1.0, 1.0)),
                float(generator.uniform(0.5, 1.5)),
                int(generator.integers(2, 7)),
            )
            for k in range(count)
        ]
    for text, x0, w0, length in plan:
        _checkpoint_case(checkpoint, Var, functions, text, x0, w0, length)


def _checkpoint_case(
    student: Callable, var: Any, functions: Functions, block: str, x: float, w: float, blocks: int
) -> None:
    def observe() -> dict:
        namespace = {"__builtins__": {}, **functions_data(functions)}
        raw = eval(compile(f"lambda u, w: {block}", f"<{block}>", "eval"), namespace)
        phase, calls, weight = ["forward"], [], [None]

        def fn(u: Any, w: Any) -> Any:
            out = raw(u, w)
            calls.append([phase[0], _is_recorded(out), w is weight[0]])  # w itself, or a fresh leaf?
            return out

        def plain() -> int:
            y = var(x)
            wv = var(w)
            for _ in range(blocks):
                y = raw(y, wv)
            return _recorded_nodes(y)

        def run() -> dict:
            xv, wv = var(x), var(w)
            weight[0] = wv
            y = xv
            for _ in range(blocks):
                y = student(fn, y, wv)
            left_off = _parents(var(1.0) * 2.0) == 0  # recording not back on after checkpoint returned
            if not is_var(y):
                return {"var": False, "type": _type_name(y), "left_off": left_off}
            stored = _recorded_nodes(y)
            phase[0] = "backward"
            y.backward()
            return {"var": True, "value": y.value, "gx": xv.grad, "gw": wv.grad, "stored": stored, "left_off": left_off}

        with _recording_on(var):
            outcome = guarded(run)
        outcome["calls"] = calls
        with _recording_on(var):
            outcome["plain"] = guarded(plain)
        no_grad = _dependency(student, "no_grad")
        if no_grad is not None:  # the notebook's no_grad, which checkpoint calls: right on its own?
            with _recording_on(var):
                outcome["own_no_grad"] = guarded(lambda: _no_grad_probe(no_grad, var))
        return outcome

    call = f"y = Var({x!r}); {blocks} times y = checkpoint(fn, y, w); y.backward()"
    given = f"fn(u, w) = {block} and w = Var({w!r})"

    def judge(obs: Observation) -> None:
        own = obs.value.get("own_no_grad") if isinstance(obs.value, dict) else None
        # the notebook's no_grad, which checkpoint calls, is wrong: say so first, and name no mistake of checkpoint's
        first = fails_first("no_grad") if own is not None and not _no_grad_holds(own) else None
        _after_dependency(first, lambda: _judge_checkpoint(obs, named=first is None))

    def _judge_checkpoint(obs: Observation, named: bool) -> None:
        _guarded_failure(call, obs.value, given)
        result = obs.value["result"]
        if result.get("left_off"):
            raise failure(
                call,
                "after checkpoint returned, new Vars record no parents: recording was left off, so the checkpoint "
                "nodes made after it record no parents either, and backward cannot reach x and w.",
                given=given,
                mistake=CHECKPOINT_LEAVES_RECORDING_OFF if named else None,
            )
        if not result.get("var"):
            raise failure(call, f"checkpoint returned a {result.get('type')}, not a Var.", given=given)
        truth = _chain_truth(block, blocks)
        value = real_scalar(result["value"], f"{call} (value of y)")
        if mismatch(value, truth.value([x, w]), relative_tolerance(truth.value([x, w]))):
            raise failure(call, "the value of y is wrong.", expected=truth.value([x, w]), got=value, given=given)
        want = truth.gradient([x, w])
        got = np.array([real_scalar(result[k], f"{call} (grad)") for k in ("gx", "gw")])
        if mismatch(got, want, relative_tolerance(want)):
            on_arguments = any(own for phase, _, own in obs.value["calls"] if phase == "backward")
            mistake = CHECKPOINT_ON_ARGUMENTS if on_arguments else None
            mistake = mistake or diagnose(
                got,
                [(CHECKPOINT_SEEDED_ONE, _seeded_with_one(block, x, w, blocks))],
                tolerance=relative_tolerance(want),
            )
            raise failure(
                call,
                f"(x.grad, w.grad) is wrong by up to {largest_gap(got, want):.3e}: checkpointing must not change "
                "the gradients.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        plain = obs.value["plain"].get("result")
        stored = result["stored"]
        if stored > blocks:
            raise failure(
                call,
                f"the graph from y stores {stored} recorded nodes; with one node per checkpoint call it is "
                f"{blocks} (without checkpointing, this chain stores {plain}).",
                given=given,
                mistake=CHECKPOINT_STORES_ALL  # exactly the chain's own graph: no checkpoint node at all
                if stored == plain
                else "run fn in the forward pass with recording off (inside no_grad()) and return one new "
                "Var(value, args, vjp) whose parents are the arguments.",
            )
        calls = obs.value["calls"]
        forward = [recorded for phase, recorded, _ in calls if phase == "forward"]
        backward = [recorded for phase, recorded, _ in calls if phase == "backward"]
        if any(forward):
            raise failure(
                call,
                "fn recorded a graph in the forward pass (its result had parents).",
                given=given,
                # no recomputation in backward: the VJP backpropagates through the recorded forward graph
                mistake=CHECKPOINT_KEEPS_GRAPH if not backward else CHECKPOINT_FORWARD_RECORDS,
            )
        if len(forward) != blocks or len(backward) != blocks:
            hint = None
            if not backward:  # never recomputed: the VJP used something kept from the forward pass
                hint = "recompute in backward: the VJP calls fn again on fresh leaves Var(a.value)."
            elif len(forward) > blocks:
                hint = "call fn once per checkpoint call in the forward pass (with recording off)."
            elif len(backward) > blocks:
                hint = "call fn once per VJP call: one recomputation per checkpoint node."
            raise failure(
                call,
                f"fn ran {len(forward)} times in the forward pass and {len(backward)} times in backward; each "
                f"of the {blocks} checkpoint calls runs it once in each.",
                given=given,
                mistake=hint,
            )
        if not all(backward):
            raise failure(call, "fn recorded no graph when it ran again in backward.", given=given)

    Case(call, given).run(observe, judge)
