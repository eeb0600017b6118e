"""The checks of unit 04 (the package docstring says where their truth comes from)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from autograder.checks.ad.operators import ARITHMETIC
from autograder.checks.ad.student import RECURSION_HINT, Functions, functions_data, guarded_failure, is_var, read
from autograder.checks.ad.traces import check_trace_dict, check_trace_function
from autograder.checks.kit.case import Case, explicit_or_seeded
from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.guard import GUARD_SECONDS, BackwardPasses, guarded
from autograder.checks.kit.text import expression, random_case
from autograder.checks.kit.tolerance import EXACT_TO_ROUNDING, TO_ROUNDING, relative_tolerance
from autograder.checks.reverse.mistakes import (
    ADJOINT_OVERWRITTEN,
    ADJOINT_SIGN,
    DIVISION_PLUS,
    DIVISION_Y,
    EXP_ARGUMENT,
    EXTRA_CALL,
    FINITE_DIFFERENCES,
    INNER_NOT_RESET,
    LEAVES_NOT_RESET,
    LEAVES_RESET,
    OVERWRITTEN,
    PASS_PER_OUTPUT,
    PRODUCT_LOCALS_SWAPPED,
    RECURSIVE,
    RSUB_SWAPPED,
    RTRUEDIV_SWAPPED,
    SUBTRACTION_PLUS,
    TRANSPOSED,
    U_IGNORED,
    VALUES_NOT_GRADS,
    sign_flipped,
)
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.feedback import Mistake, failure, raised, show
from autograder.inputs import Recorded, rng
from autograder.observations import Foreign
from autograder.oracles.expressions import ELEMENTARY, RandomExpression, random_vector_function
from autograder.runtime import Observation, run_check

RELATIVE = EXACT_TO_ROUNDING
POWERS = ("x**2", "x**3", "x**-1", "x**(1/2)", "2**x", "x**y")

# --- running the student's code (observing half only) ------------------------------------------------


# --- comparing ---------------------------------------------------------------------------------------


def _number(value: Any, call: str, what: str) -> float:
    if isinstance(value, Foreign) and value.type_name in ("Var", "ReverseDiff"):
        raise failure(
            call,
            f"the {what} is a {value.type_name} ({value.text}), not a number.",
            mistake="a Var holds numbers: its value and its grad are floats; never store a Var in .grad "
            "or in .value (multiply numbers, the values of the nodes, in backward).",
        )
    if value is None:
        raise failure(
            call,
            f"the {what} is None.",
            mistake="start every grad at 0.0 and add to it in backward (a node that got no gradient keeps 0.0)."
            if "grad" in what
            else None,
        )
    return real_scalar(value, f"{call} ({what})")


# --- operators ---------------------------------------------------------------------------------------

X, Y = sympy.Symbol("x", real=True), sympy.Symbol("y", real=True)


@lru_cache(maxsize=256)
def _operation(text: str) -> tuple[Callable[..., Any], RandomExpression]:
    function = eval(compile(f"lambda x, y: {text}", f"<{text}>", "eval"), {"__builtins__": {}})
    truth = sympy.sympify(text, locals={"x": X, "y": Y}, rational=True)
    return function, RandomExpression(expr=truth, symbols=(X, Y), low=-1e9, high=1e9)


def _op_hints(op: str, a: float, b: float) -> list[tuple[Mistake | str, float, float]]:
    """(mistake, wrong x.grad, wrong y.grad) after out = op; out.backward() at x = Var(a), y = Var(b)."""
    with np.errstate(all="ignore"):
        return {
            "x * y": [(PRODUCT_LOCALS_SWAPPED, a, b)],
            "5*x + 7*y": [(PRODUCT_LOCALS_SWAPPED, a, b)],
            "x * 3": [(PRODUCT_LOCALS_SWAPPED, a, 0.0)],
            "3 * x": [(PRODUCT_LOCALS_SWAPPED, a, 0.0)],
            "x * x": [(OVERWRITTEN, a, 0.0)],
            "x - y": [(SUBTRACTION_PLUS, 1.0, 1.0)],
            "x / y": [(DIVISION_PLUS, 1 / b, a / b**2), (DIVISION_Y, b, -a / b**2)],
            "3 / x": [
                ("__rtruediv__ computes 3 / x (local derivative -3 / x²), not x / 3.", 1 / 3, 0.0),
                (DIVISION_PLUS, 3 / a**2, 0.0),
            ],
            "3 - x": [(SUBTRACTION_PLUS, 1.0, 0.0)],
        }.get(op, [])


def _wrong_values(op: str, a: float) -> list[tuple[Mistake, float]]:
    """(mistake, wrong value of out) for a reflected operation computed the wrong way round."""
    return {"3 - x": [(RSUB_SWAPPED, a - 3)], "3 / x": [(RTRUEDIV_SWAPPED, a / 3)]}.get(op, [])


def _ops_case(name: str, student: Callable, ops: Sequence[str], x: float, y: float) -> None:
    def observe() -> list:
        results = []
        for op in ops:
            function = _operation(op)[0]

            def run(function: Callable = function) -> dict:
                vx, vy = student(x), student(y)
                out = function(vx, vy)
                if not is_var(out):
                    return {"var": False, "type": type(out).__name__}
                out.backward()
                return {"var": True, "value": out.value, "gx": read(vx, "grad"), "gy": read(vy, "grad")}

            results.append(guarded(run))
        return results

    def judge(obs: Observation) -> None:
        given = f"x = Var({x!r}) and y = Var({y!r}), then out.backward()"
        if obs.raised:
            raise raised(f"{name}: Var(...)", obs.raised, given=given)
        if not isinstance(obs.value, list) or len(obs.value) != len(ops):
            raise failure(name, "the observation of the operations is missing or damaged.")
        for op, outcome in zip(ops, obs.value, strict=True):
            call = f"out = {op}; out.backward()"
            guarded_failure(call, outcome, given)
            result = outcome["result"]
            if not result.get("var"):
                raise failure(
                    call,
                    f"`{op}` returned a {result.get('type')}, not a Var.",
                    given=given,
                    mistake="an operation with a Var operand returns a new Var that remembers its parents.",
                )
            truth = _operation(op)[1]
            want_value = truth.value([x, y])
            gradient = truth.gradient([x, y])
            got_value = _number(result["value"], call, "value of out")
            if mismatch(got_value, want_value, relative_tolerance(want_value)):
                raise failure(
                    call,
                    "the value of out is wrong.",
                    expected=want_value,
                    got=got_value,
                    given=given,
                    mistake=diagnose(got_value, _wrong_values(op, x), tolerance=TO_ROUNDING),
                )
            used = ["x"] + (["y"] if "y" in op else [])
            got = [_number(result["g" + v], call, f"{v}.grad") for v in used]
            want = [float(gradient[0]), float(gradient[1])][: len(used)]
            if mismatch(np.array(got), np.array(want), relative_tolerance(want)):
                hints = [(text, np.array([gx, gy][: len(used)])) for text, gx, gy in _op_hints(op, x, y)]
                mistake = diagnose(np.array(got), hints, tolerance=TO_ROUNDING)
                raise failure(
                    call,
                    f"the gradients are wrong: ({', '.join(v + '.grad' for v in used)}) should be {show(want)}.",
                    expected=want,
                    got=got,
                    given=given,
                    mistake=mistake,
                )

    run_check(observe, judge)


def check_var_arithmetic(
    Var: Callable,
    ops: str | Sequence[str] | None = None,
    x: float = 1.5,
    y: float = -2.5,
    *,
    seed: int | None = None,
    count: int = 3,
) -> None:
    """Check `+ - * / **` on Var with a Var or a number on either side: after out.backward(),
    x.grad and y.grad are SymPy's partial derivatives of out (default ops: `ARITHMETIC`; powers
    are tried at positive x). With a seed, `count` random pairs (x, y)."""
    __tracebackhide__ = True
    chosen = ARITHMETIC if ops is None else (ops,) if isinstance(ops, str) else tuple(ops)
    if seed is None:
        _ops_case("Var arithmetic", Var, chosen, float(x), float(y))
        return
    generator = rng(seed)
    for _ in range(count):
        a, b = generator.uniform(0.5, 2.0, size=2) * generator.choice([-1, 1], size=2)
        _ops_case("Var arithmetic", Var, chosen, float(a), float(b))
        _ops_case("Var powers", Var, POWERS, float(abs(a)), float(b))


# --- elementary functions and whole expressions ------------------------------------------------------


def check_var_functions(Var: Callable, functions: Functions, x: float = 0.7, relu: Callable | None = None) -> None:
    """Check each of sin, cos, tan, exp, log, sqrt, tanh (and relu) on Var(x): out = g(3 x) and
    x.grad = 3 g'(3 x) (the chain rule), and g on the plain float x."""
    __tracebackhide__ = True
    for name in ELEMENTARY:
        _function_case(Var, functions, name, float(x))
    if relu is not None:
        _relu_case(Var, relu, float(x))


def _function_case(student: Callable, functions: Functions, name: str, x: float) -> None:
    def observe() -> dict:
        function = functions_data(functions).get(name)
        if function is None:
            return {"missing": True}

        def run() -> dict:
            v = student(x)
            out = function(v * 3)
            if not is_var(out):
                return {"var": False, "type": type(out).__name__}
            out.backward()
            return {"var": True, "value": out.value, "grad": read(v, "grad")}

        plain = guarded(lambda: function(x))
        if "result" in plain and is_var(plain["result"]):
            plain = {"result": None, "var": True}
        return {"var": guarded(run), "plain": plain}

    call = f"out = {name}(x * 3); out.backward()"
    given = f"x = Var({x!r})"

    def judge(obs: Observation) -> None:
        if obs.value.get("missing"):
            raise failure(call, f"there is no function {name} in the functions the test received.")
        g = RandomExpression(expr=getattr(sympy, name)(3 * X), symbols=(X,), low=-1e9, high=1e9)
        outcome = obs.value["var"]
        guarded_failure(call, outcome, given)
        result = outcome["result"]
        if not result.get("var"):
            raise failure(call, f"{name} of a Var returned a {result.get('type')}, not a Var.", given=given)
        value = _number(result["value"], call, "value")
        if mismatch(value, g.value([x]), relative_tolerance(g.value([x]))):
            raise failure(call, "the value is wrong.", expected=g.value([x]), got=value, given=given)
        want = float(g.gradient([x])[0])
        got = _number(result["grad"], call, "x.grad")
        if mismatch(got, want, relative_tolerance(want)):
            slope = want / 3
            candidates: list[tuple[Mistake | str, float]] = [
                (f"the gradient of the argument is missing: the parent's grad gets ū · {name}'(u).", slope),
                (sign_flipped(name), -want),
                (PRODUCT_LOCALS_SWAPPED, x * slope),  # u = x * 3 passed x the local x, not 3
            ]
            if name == "exp":
                candidates.append((EXP_ARGUMENT, 3 * (3 * x)))
            mistake = diagnose(got, candidates, tolerance=TO_ROUNDING) or (
                f"the local derivative of {name} is wrong (see the table above the exercise)."
            )
            raise failure(
                call,
                f"x.grad should be 3 {name}'(3x).",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        plain = obs.value["plain"]
        plain_call = f"{name}({x!r})"
        if plain.get("var"):
            raise failure(plain_call, "returned a Var for a plain number; return a plain number.")
        if "raised" in plain:
            raise raised(plain_call, plain["raised"], mistake="the functions must also accept a plain number.")
        truth = g.value([x / 3])
        got_plain = _number(plain["result"], plain_call, "result")
        if mismatch(got_plain, truth, relative_tolerance(truth)):
            raise failure(plain_call, "is wrong.", expected=truth, got=got_plain)

    Case(call, given).run(observe, judge)


def _relu_case(student: Callable, relu: Callable, x: float) -> None:
    points = (abs(x), -abs(x))

    def observe() -> list:
        out = []
        for p in points:

            def run(p: float = p) -> dict:
                v = student(p)
                y = relu(v * 2)
                y.backward()
                return {"value": y.value, "grad": read(v, "grad")}

            out.append(guarded(run))
        return out

    def judge(obs: Observation) -> None:
        if obs.raised:
            raise raised("relu", obs.raised)
        for p, outcome in zip(points, obs.value, strict=True):
            call = "out = relu(x * 2); out.backward()"
            given = f"x = Var({p!r})"
            guarded_failure(call, outcome, given)
            want = (2 * p, 2.0) if p > 0 else (0.0, 0.0)
            got = (
                _number(outcome["result"]["value"], call, "value"),
                _number(outcome["result"]["grad"], call, "x.grad"),
            )
            if mismatch(np.array(got), np.array(want), relative_tolerance(want)):
                raise failure(
                    call,
                    "(value, x.grad) is wrong: relu(u) = max(u, 0) with local derivative 1 for u > 0, else 0.",
                    expected=want,
                    got=got,
                    given=given,
                )

    run_check(observe, judge)


def check_var_expression(
    Var: Callable,
    functions: Functions,
    f: str | None = None,
    x: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check a whole expression: out = f(Var(x1), ..., Var(xn)); out.backward(); the grads of the
    inputs are SymPy's exact gradient. With a seed, random expressions of 1 to 3 variables."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            g = random_case(seed * 100 + k, 1 + k % 3, 3)
            cases.append((g, g.point(generator)))
        return cases

    cases = explicit_or_seeded(
        seed, lambda: (expression(f, 0.05, 100.0), np.atleast_1d(np.array(x, dtype=float))), draw
    )
    for g, point in cases:
        _expression_case(Var, functions, g, point)


def _expression_case(student: Callable, functions: Functions, g: RandomExpression, x: np.ndarray) -> None:
    def observe() -> dict:
        fun = g.function(functions_data(functions))

        def run() -> dict:
            leaves = [student(v) for v in x.tolist()]
            out = fun(*leaves)
            if not is_var(out):
                return {"var": False, "type": type(out).__name__}
            out.backward()
            return {"var": True, "value": out.value, "grads": [read(v, "grad") for v in leaves]}

        return guarded(run)

    def judge(obs: Observation) -> None:
        variables = ", ".join(f"Var({v!r})" for v in x.tolist())
        call = f"out = f({variables}); out.backward()"
        given = f"f({', '.join(map(str, g.symbols))}) = {g}, built with your Var and your functions"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        guarded_failure(call, obs.value, given)
        result = obs.value["result"]
        if not result.get("var"):
            raise failure(call, f"f returned a {result.get('type')}, not a Var.", given=given)
        value = _number(result["value"], call, "value")
        if mismatch(value, g.value(x), relative_tolerance(g.value(x))):
            raise failure(call, "the value is wrong.", expected=g.value(x), got=value, given=given)
        want = g.gradient(x)
        got = np.array([_number(v, call, f"x{i + 1}.grad") for i, v in enumerate(result["grads"])])
        if mismatch(got, want, relative_tolerance(want)):
            raise failure(
                call,
                f"the gradient (the grads of the inputs) is wrong by up to {largest_gap(got, want):.3e}.",
                expected=want,
                got=got,
                given=given,
            )

    run_check(observe, judge)


# --- the graph: shared nodes, a deep diamond, a long chain, accumulation -----------------------------

GRAPHS = ("shared", "diamond", "chain", "accumulate")
DIAMOND_DEPTH = 40
CHAIN_LENGTH = 100_000
CHAIN_FACTOR = 1.00001
CHAIN_SECONDS = 30.0  # the chain is linear for a correct backward: a generous guard against a hang


def _diamond_truth(a: float) -> tuple[float, float]:
    """y <- 0.75 y + 0.1 y y, DIAMOND_DEPTH times: the value and dy/da, in floats."""
    y, dy = a, 1.0
    for _ in range(DIAMOND_DEPTH):
        y, dy = 0.75 * y + 0.1 * y * y, (0.75 + 0.2 * y) * dy
    return y, dy


def _deep_observe(student: Callable, graph: str, a: float) -> dict:
    """Build the diamond or the chain (unguarded), then run backward under the wall-clock guard.

    The cyclic garbage collector is paused meanwhile: it would rescan the 10^5 fresh nodes many
    times and make a linear backward look slow on a busy machine.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        va = student(a)
        y = va
        if graph == "diamond":
            for _ in range(DIAMOND_DEPTH):
                y = y * 0.75 + y * y * 0.1
        else:
            for _ in range(CHAIN_LENGTH):
                y = y * CHAIN_FACTOR
        outcome = guarded(y.backward, GUARD_SECONDS if graph == "diamond" else CHAIN_SECONDS)
        if "result" in outcome:
            outcome = {"result": {"value": y.value, "a": read(va, "grad")}}
        return outcome
    finally:
        if enabled:
            gc.enable()


def _graph_observe(student: Callable, graph: str, a: float) -> dict:
    if graph == "shared":

        def run() -> dict:
            va = student(a)
            b = va * 3
            d = b * b + b
            d.backward()
            return {"value": d.value, "a": read(va, "grad"), "b": read(b, "grad"), "d": read(d, "grad")}

    elif graph in ("diamond", "chain"):
        return _deep_observe(student, graph, a)
    else:

        def run() -> dict:
            va = student(a)
            b = va * 3
            d = b * b + b
            d.backward()
            d.backward()
            twice = read(va, "grad")
            d.zero_grad()
            zeroed = (read(va, "grad"), read(b, "grad"))
            d.backward(2.0)
            return {"twice": twice, "zeroed": list(zeroed), "after": read(va, "grad"), "b": read(b, "grad")}

    return guarded(run)


def check_backward_graph(Var: Callable, graphs: str | Sequence[str] = GRAPHS, a: float = 2.0) -> None:
    """Check `backward` on graphs built with `*` and `+` from a = Var(a):

    - "shared": b = 3a; d = b*b + b: a.grad = 3(2b + 1), b.grad = 2b + 1, d.grad = 1;
    - "diamond": y = 0.75 y + 0.1 y y, 40 times (every node used three times: a backward that
      follows every path takes 3^40 steps; this one is stopped after a few seconds);
    - "chain": y = 1.00001 y, 100 000 times (a recursive backward hits the recursion limit);
    - "accumulate": two d.backward() add up in a.grad; d.zero_grad() sets every grad of the graph to
      0; then d.backward(2.0) gives twice the gradient.
    """
    __tracebackhide__ = True
    for graph in (graphs,) if isinstance(graphs, str) else tuple(graphs):
        _graph_case(Var, graph, float(a))


def _graph_case(student: Callable, graph: str, a: float) -> None:
    def observe() -> dict:
        return _graph_observe(student, graph, a)

    def judge(obs: Observation) -> None:
        b = 3 * a
        calls = {
            "shared": ("b = a * 3; d = b * b + b; d.backward()", f"a = Var({a!r})"),
            "diamond": (
                f"y = a; {DIAMOND_DEPTH} times y = y * 0.75 + y * y * 0.1; y.backward()",
                f"a = Var({a!r}); every node is used three times by the next level",
            ),
            "chain": (
                f"y = a; {CHAIN_LENGTH} times y = y * {CHAIN_FACTOR}; y.backward()",
                f"a = Var({a!r}), a chain of {CHAIN_LENGTH} operations",
            ),
            "accumulate": (
                "b = a * 3; d = b * b + b; d.backward(); d.backward(); d.zero_grad(); d.backward(2.0)",
                f"a = Var({a!r})",
            ),
        }
        call, given = calls[graph]
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        guarded_failure(call, obs.value, given, RECURSIVE if graph == "chain" else RECURSION_HINT)
        result = obs.value["result"]
        if graph == "shared":
            want = {"a": 3 * (2 * b + 1), "b": 2 * b + 1, "d": 1.0}
            for key, value in want.items():
                got = _number(result[key], call, f"{key}.grad")
                if mismatch(got, value, relative_tolerance(value)):
                    mistake = _shared_mistake(result, b) if key == "a" else None
                    if mistake is None and key == "a" and _passed_on_early(result):
                        mistake = (
                            "a.grad is not 3 * b.grad (a = Var, b = a * 3): b passed on a grad that was not yet "
                            "complete; process the nodes in reverse topological order, each once all of its "
                            "children are done."
                        )
                    raise failure(call, f"{key}.grad is wrong.", expected=value, got=got, given=given, mistake=mistake)
        elif graph in ("diamond", "chain"):
            if graph == "diamond":
                value, slope = _diamond_truth(a)
            else:
                value, slope = a * CHAIN_FACTOR**CHAIN_LENGTH, CHAIN_FACTOR**CHAIN_LENGTH
            got_value = _number(result["value"], call, "value")
            if mismatch(got_value, value, relative_tolerance(value, 1e-7)):
                raise failure(call, "the value is wrong.", expected=value, got=got_value, given=given)
            got = _number(result["a"], call, "a.grad")
            if mismatch(got, slope, relative_tolerance(slope, 1e-7)):
                raise failure(
                    call,
                    "a.grad is wrong.",
                    expected=slope,
                    got=got,
                    given=given,
                )
        else:
            once = 3 * (2 * b + 1)
            twice = _number(result["twice"], call, "a.grad after two backward calls")
            if mismatch(twice, 2 * once, relative_tolerance(2 * once)):
                # A second pass on top of the first, without resetting the inner nodes: d's own grad
                # either accumulates too (d = 2) or is set to the seed (d = 1); the shares then add up.
                mistake = diagnose(
                    twice,
                    [(LEAVES_RESET, once), (INNER_NOT_RESET, 3 * (4 + 10 * b)), (INNER_NOT_RESET, 3 * (3 + 8 * b))],
                    tolerance=TO_ROUNDING,
                )
                if mistake is None and abs(twice) > abs(2 * once):
                    mistake = (
                        "the inner nodes kept their grads from the first pass and passed them on again: "
                        "reset the grads of the inner (non-leaf) nodes at the start of every backward."
                    )
                raise failure(
                    call,
                    f"after two d.backward(), a.grad should be twice {once:g}.",
                    expected=2 * once,
                    got=twice,
                    given=given,
                    mistake=mistake,
                )
            zeroed = [_number(v, call, "grad after zero_grad") for v in result["zeroed"]]
            if any(v != 0 for v in zeroed):
                raise failure(
                    call,
                    "after d.zero_grad(), (a.grad, b.grad) should be (0, 0).",
                    expected=[0.0, 0.0],
                    got=zeroed,
                    given=given,
                    mistake="zero_grad sets .grad = 0.0 on every node of the graph that ends at d.",
                )
            after = _number(result["after"], call, "a.grad after zero_grad and d.backward(2.0)")
            if mismatch(after, 2 * once, relative_tolerance(once)):
                raise failure(
                    call,
                    "after zero_grad, d.backward(2.0) should give a.grad = 2 dd/da.",
                    expected=2 * once,
                    got=after,
                    given=given,
                    mistake=None
                    if mismatch(after, once, relative_tolerance(once))
                    else "a.grad is dd/da, as if seeded with 1: backward(grad) seeds the output with grad.",
                )

    run_check(observe, judge)


def _passed_on_early(result: dict) -> bool:
    """Whether a.grad differs from 3 * b.grad in b = a * 3: b's grad, whatever it is at the end, is not
    what b passed on to a (it was passed on before all of its shares arrived, or more than once)."""
    try:
        got_a, got_b = float(result["a"]), float(result["b"])
    except (TypeError, ValueError, KeyError):
        return False
    return bool(np.isfinite(got_a) and np.isfinite(got_b) and mismatch(got_a, 3 * got_b, relative_tolerance(3 * got_b)))


def _shared_mistake(result: dict, b: float) -> Mistake | None:
    """b = 3a; d = b*b + b: b's three uses send it the shares b, b and 1. A grad overwritten instead of
    accumulated keeps one share (b.grad is 1 or b), and a.grad = 3 b.grad passes that one share on."""
    try:
        got_a, got_b = float(result["a"]), float(result["b"])
    except (TypeError, ValueError, KeyError):
        return None
    one_share = diagnose(got_b, [(OVERWRITTEN, 1.0), (OVERWRITTEN, b)], tolerance=TO_ROUNDING)
    if one_share is not None and not mismatch(got_a, 3 * got_b, relative_tolerance(3 * got_b)):
        return OVERWRITTEN
    return None


# --- the adjoint trace of the lecture ----------------------------------------------------------------

X1, X2, T = sympy.Symbol("x1", real=True), sympy.Symbol("x2", real=True), sympy.Symbol("t", real=True)
_V1, _V2, _V3 = sympy.log(X1), X1 * X2, sympy.sin(X2)
ADJOINTS = {
    "y_1": T,
    "v_5": T,
    "v_4": T - _V3,
    "v_3": _V1 + _V2 - T,
    "v_2": _V1 + T - _V3,
    "v_1": T + _V2 - _V3,
    "v_0": sympy.log(X1) + X1 * T - sympy.sin(T),
    "v_-1": sympy.log(T) + T * X2 - sympy.sin(X2),
}
"""y = ln(x1) + x1 x2 - sin(x2) with the node v_i replaced by the symbol t: v̄_i = ∂y/∂t at t = v_i."""
_NODES = {
    "y_1": _V1 + _V2 - _V3,
    "v_5": _V1 + _V2 - _V3,
    "v_4": _V1 + _V2,
    "v_3": _V3,
    "v_2": _V2,
    "v_1": _V1,
    "v_0": X2,
    "v_-1": X1,
}
_ADJOINT_MISTAKES: dict[str, list[tuple[Mistake, Callable[[float, float, float], float]]]] = {
    "v_3": [(ADJOINT_SIGN, lambda x1, x2, ybar: ybar)],
    "v_0": [
        (ADJOINT_OVERWRITTEN, lambda x1, x2, ybar: ybar * x1),
        (ADJOINT_OVERWRITTEN, lambda x1, x2, ybar: -ybar * float(np.cos(x2))),
    ],
    "v_-1": [
        (ADJOINT_OVERWRITTEN, lambda x1, x2, ybar: ybar * x2),
        (ADJOINT_OVERWRITTEN, lambda x1, x2, ybar: ybar / x1),
    ],
}
"""For a wrong adjoint v̄_i: the mistakes that give it away, with the wrong value each gives at (x1, x2, ȳ1)."""
_ADJOINT_HINTS = {
    "v_3": "v3 enters y with a minus sign: v̄3 = -v̄5.",
    "v_0": "x2 is used twice (v2 = x1 x2 and v3 = sin x2): v̄0 = v̄2 v-1 + v̄3 cos(v0), both terms added.",
    "v_-1": "x1 is used twice (v1 = ln x1 and v2 = x1 x2): v̄-1 = v̄1 / v-1 + v̄2 v0, both terms added.",
}
ADJOINT_PROBE = ((1.7, 0.6), -1.3)
"""A point and an output seed where the trace's common mistakes give different adjoints (a diagnosis probe)."""


def _adjoint_mistake(key: str, got: float, x: tuple, ybar: float, probe: Any) -> Mistake | str | None:
    """The mistake in v̄_key: from the probe's trace when it is wrong there too, else from `got` itself."""
    candidates = _ADJOINT_MISTAKES.get(key, [])
    found = None
    if candidates and isinstance(probe, dict) and key in probe:
        try:
            at_probe = float(probe[key])
        except (TypeError, ValueError):
            at_probe = None
        want = _adjoint_truth(*ADJOINT_PROBE)[key]
        if at_probe is not None and mismatch(at_probe, want, relative_tolerance(want)):
            point, seed_bar = ADJOINT_PROBE
            found = diagnose(at_probe, [(m, wrong(*point, seed_bar)) for m, wrong in candidates], tolerance=TO_ROUNDING)
    if found is None and candidates:
        found = diagnose(got, [(m, wrong(*x, ybar)) for m, wrong in candidates], tolerance=TO_ROUNDING)
    return found or _ADJOINT_HINTS.get(key)


def _adjoint_truth(x: tuple[float, float], ybar: float) -> dict[str, float]:
    out = {}
    for key, expr in ADJOINTS.items():
        at = float(_NODES[key].subs({X1: x[0], X2: x[1]}))
        out[key] = ybar * float(sympy.diff(expr, T).subs({X1: x[0], X2: x[1], T: at}))
    return out


def _judge_adjoints(call: str, trace: Any, x: tuple[float, float], ybar: float, probe: Any = None) -> None:
    want = _adjoint_truth(x, ybar)
    if not isinstance(trace, dict):
        raise failure(call, f"should be a dict from the names {list(ADJOINTS)} to the adjoints, not {show(trace, 80)}.")
    missing = [k for k in ADJOINTS if k not in trace]
    if missing:
        raise failure(
            call,
            f"has no entry for {', '.join(missing)}; the keys are {', '.join(ADJOINTS)} (the key of v̄_i is "
            f"'v_i'), but it has {', '.join(map(str, list(trace)[:10]))}.",
        )
    for key in ("y_1", "v_5", "v_4", "v_3", "v_2", "v_1", "v_0", "v_-1"):
        got = _number(trace[key], call, f"entry {key!r}")
        if mismatch(got, want[key], relative_tolerance(want[key])):
            raise failure(
                call,
                f"the adjoint {key} is wrong.",
                expected=want[key],
                got=got,
                given=f"f(x1, x2) = ln(x1) + x1 x2 - sin(x2) at (x1, x2) = {x} with ȳ1 = {ybar}",
                mistake=_adjoint_mistake(key, got, x, ybar, probe),
            )


def check_reverse_trace(reverse_trace: Any) -> None:
    """Check the dict `reverse_trace`: the lecture's reverse trace at (2, 5) with ȳ1 = 1
    (v̄5 = v̄4 = v̄1 = v̄2 = 1, v̄3 = -1, v̄0 = x̄2 = 1.716, v̄-1 = x̄1 = 5.5)."""
    __tracebackhide__ = True

    check_trace_dict(
        "reverse_trace", reverse_trace, lambda call, trace, _: _judge_adjoints(call, trace, (2.0, 5.0), 1.0)
    )


def check_adjoint_trace(
    adjoint_trace: Callable,
    x: tuple[float, float] | None = None,
    ybar: float = 1.0,
    *,
    seed: int | None = None,
    count: int = 3,
) -> None:
    """Check adjoint_trace(x1, x2, ybar): the dict of adjoints v̄_i at any point and output seed."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = [
            (
                (float(generator.uniform(0.3, 3.0)), float(generator.uniform(-3.0, 3.0))),
                float(generator.uniform(1.2, 2.5) * generator.choice([-1, 1])),
            )
            for _ in range(count)
        ]
        return cases

    cases = explicit_or_seeded(seed, lambda: (tuple(map(float, x)), float(ybar)), draw)
    for point, seed_bar in cases:
        check_trace_function(
            f"adjoint_trace({point[0]!r}, {point[1]!r}, {seed_bar!r})",
            lambda point=point, seed_bar=seed_bar: adjoint_trace(*point, seed_bar),
            lambda: adjoint_trace(*ADJOINT_PROBE[0], ADJOINT_PROBE[1]),
            lambda call, trace, probe, point=point, seed_bar=seed_bar: _judge_adjoints(
                call, trace, point, seed_bar, probe
            ),
        )


# --- drivers: grad, vjp, jacobian_reverse ------------------------------------------------------------


def _kind(arguments: Sequence[Any]) -> str:
    """What one call of f received: "vars" (every argument a Var), "plain" (no Var) or "mixed"."""
    on_vars = [is_var(a) for a in arguments]
    return "vars" if on_vars and all(on_vars) else "mixed" if any(on_vars) else "plain"


def _call_data(recorded: Recorded) -> dict:
    """How often f was called, and what each call received: its kind ("vars", "plain", "mixed") and the
    types of its arguments that were not Vars."""
    calls = recorded.arguments[:100]
    return {
        "calls": recorded.calls,
        "kinds": [_kind(args) for args in calls],
        "types": sorted({type(a).__name__ for args in calls for a in args if not is_var(a)}),
        "with_vars": [any(is_var(a) for a in args) for args in calls],
    }


def _never_on_vars(obs: dict) -> bool:
    """f was called several times and never on a Var: the derivatives came from differences of values."""
    with_vars = obs.get("with_vars")
    return isinstance(with_vars, list) and len(with_vars) >= 2 and not any(v is True for v in with_vars)


GRAD_PROBE = (lambda a, b: a + b + b, (1.5, -0.5))
"""grad(f)(1.5, -0.5) of f(a, b) = a + b + b, built from additions alone: (1, 2), and (1.5, -0.5) if the
leaves' values are returned."""
VJP_PROBE = (lambda a, b: [a + b, b + b], [1.5, -0.5], [2.0, -3.0])
"""vjp(f, x, u) of f(a, b) = (a + b, 2b): uᵀJ = (2, -4), and 1ᵀJ = (1, 3) if u is ignored."""


def _probe(compute: Callable[[], Any]) -> list[float] | None:
    """A diagnosis probe's numbers (observing half): the student's driver on a tiny f, or None if it fails."""
    try:
        return [float(v) for v in compute()]
    except Exception:
        return None


def _probe_shows(answer: Any, wrong: Sequence[float]) -> bool:
    """Whether a probe's answer is the wrong answer a mistake gives."""
    return (
        isinstance(answer, list)
        and len(answer) == len(wrong)
        and not mismatch(np.array(answer), np.array(wrong), relative_tolerance(wrong))
    )


def _judge_passes(call: str, obs: dict, needed: int, given: str, outputs: int = 1) -> None:
    """f was called on Vars (at least once, every input a Var), and backward ran `needed` times (f has
    `outputs` outputs). Calls of f on plain numbers besides are not judged here: each driver's contract
    says whether they are allowed (`_judge_one_call`)."""
    calls = obs.get("calls")
    if not calls:
        raise failure(call, "never called f.", given=given)
    kinds = obs.get("kinds") or []
    if "vars" not in kinds:
        types = ", ".join(obs.get("types") or ["?"])
        raise failure(
            call,
            f"f was called {calls} time{'s' if calls != 1 else ''}, "
            + ("with some inputs Vars and some " if "mixed" in kinds else "always with ")
            + f"{types}, not with Var inputs.",
            given=given,
            mistake=FINITE_DIFFERENCES
            if _never_on_vars(obs)
            else "make every input a leaf Var(x_i), call f on them, and run backward on the result.",
        )
    passes = obs.get("passes")
    if passes != needed:
        raise failure(
            call,
            f"ran {passes} reverse passes (calls of backward); it takes exactly {needed}.",
            given=given,
            mistake=PASS_PER_OUTPUT
            if needed == 1 and outputs > 1 and passes == outputs
            else "one backward call per output (for a gradient or a vjp: a single pass, seeded with u "
            "through the weighted sum Σ u_i y_i or by backward(u_i) on each output before any reset).",
        )


def _judge_one_call(call: str, obs: dict, driver: str, given: str) -> None:
    """grad and vjp call f exactly once (their contract): a call on plain numbers counts too."""
    calls, kinds = obs.get("calls"), obs.get("kinds") or []
    if calls == 1:
        return
    plain = kinds.count("plain")
    extra = len(kinds) == calls and kinds.count("vars") == 1 and plain == calls - 1
    raise failure(
        call,
        f"f was called {calls} times"
        + (f" ({plain} on plain numbers)" if plain else "")
        + f"; {driver} calls f exactly once, on the leaves Var(x_i), and a call on plain numbers counts too.",
        given=given,
        mistake=EXTRA_CALL if extra else None,
    )


def check_grad(
    grad: Callable,
    Var: Any,
    functions: Functions,
    f: str | None = None,
    x: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check grad(f)(*x): the gradient of a scalar f as n numbers, with one call of f on Vars and
    one reverse pass. `f` is SymPy source; with a seed, random expressions of 1 to 3 variables."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        generator = rng(seed)
        cases = []
        for k in range(count):
            g = random_case(seed * 100 + k, 1 + (k + 1) % 3, 2)
            cases.append((g, g.point(generator)))
        return cases

    cases = explicit_or_seeded(seed, lambda: (expression(f, 0.05, 100.0), np.array(x, dtype=float)), draw)
    for g, point in cases:
        _grad_case(grad, Var, functions, g, point)


def _grad_case(student: Callable, var: Any, functions: Functions, g: RandomExpression, x: np.ndarray) -> None:
    def observe() -> dict:
        recorded = Recorded(g.function(functions_data(functions)))

        def run() -> dict:
            with BackwardPasses(var) as passes:
                out = student(recorded)(*x.tolist())
            return {"value": out, "passes": passes.count}

        outcome = guarded(run)
        outcome.update(_call_data(recorded))
        outcome["probe"] = _probe(lambda: student(GRAD_PROBE[0])(*GRAD_PROBE[1]))
        return outcome

    call = f"grad(f)({', '.join(map(repr, x.tolist()))})"
    given = f"f({', '.join(map(str, g.symbols))}) = {g}"

    def judge(obs: Observation) -> None:
        guarded_failure(call, obs.value, given)
        out = obs.value["result"]["value"]
        want = g.gradient(x)
        n = len(want)
        if n == 1 and not isinstance(out, list | tuple | np.ndarray | Foreign):
            out = [out]
        got = real_array(out, (n,), call, "gradient")
        if mismatch(got, want, relative_tolerance(want)):
            mistake = None
            if _never_on_vars(obs.value):
                mistake = FINITE_DIFFERENCES
            elif _probe_shows(obs.value.get("probe"), GRAD_PROBE[1]):
                mistake = diagnose(got, [(VALUES_NOT_GRADS, x)], tolerance=TO_ROUNDING)
            elif not mismatch(got, np.zeros(n), 1e-12):
                mistake = "run backward() on the output before reading the inputs' grads."
            raise failure(call, "the gradient is wrong.", expected=want, got=got, given=given, mistake=mistake)
        _judge_passes(call, {**obs.value, "passes": obs.value["result"]["passes"]}, 1, given)
        _judge_one_call(call, obs.value, "grad(f)", given)

    Case(call, given).run(observe, judge)


def _vector_cases(
    f: Sequence[str] | None, x: Any, seed: int | None, count: int, shapes: Sequence[tuple[int, int]]
) -> list:
    if seed is None:
        from autograder.oracles.expressions import RandomVectorFunction

        rows = [expression(text, 0.05, 100.0) for text in f]
        names = sorted({str(s) for r in rows for s in r.symbols})
        symbols = tuple(next(s for r in rows for s in r.symbols if str(s) == name) for name in names)
        return [(RandomVectorFunction(tuple(r.expr for r in rows), symbols, 0.05, 100.0), np.array(x, dtype=float))]
    generator = rng(seed)
    cases = []
    for k in range(count):
        n, m = shapes[k % len(shapes)]
        h = random_vector_function(seed * 100 + k, n_vars=n, n_outputs=m)
        cases.append((h, generator.uniform(-2.0, 2.0, size=n)))
    return cases


def _text(h: Any) -> str:
    return f"f({', '.join(map(str, h.symbols))}) = (" + ", ".join(str(e) for e in h.exprs) + ")"


def check_vjp(
    vjp: Callable,
    Var: Any,
    functions: Functions,
    f: Sequence[str] | None = None,
    x: Any = None,
    u: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check vjp(f, x, u) = (f(x), uᵀJ) for f returning a list of m outputs: arrays of shapes (m,)
    and (n,), from one call of f on Vars and one reverse pass."""
    __tracebackhide__ = True
    cases = _vector_cases(f, x, seed, count, [(3, 2), (2, 3), (4, 1), (2, 2)])
    if seed is None:
        weights = [np.array(u, dtype=float)]
    else:
        generator = rng(seed + 1)
        weights = [
            generator.uniform(1.2, 2.5, size=h.n_outputs) * generator.choice([-1, 1], h.n_outputs) for h, _ in cases
        ]
    for (h, point), w in zip(cases, weights, strict=True):
        _vjp_case(vjp, Var, functions, h, point, w)


def _vjp_case(student: Callable, var: Any, functions: Functions, h: Any, x: np.ndarray, u: np.ndarray) -> None:
    def observe() -> dict:
        recorded = Recorded(h.function(functions_data(functions)))

        def run() -> dict:
            with BackwardPasses(var) as passes:
                out = student(recorded, x.tolist(), u.tolist())
            return {"value": out, "passes": passes.count}

        outcome = guarded(run)
        outcome.update(_call_data(recorded))
        outcome["probe"] = _probe(lambda: student(*VJP_PROBE)[1])
        return outcome

    call = f"vjp(f, {show(x, 60)}, {show(u, 60)})"
    given = _text(h)

    def judge(obs: Observation) -> None:
        guarded_failure(call, obs.value, given)
        out = obs.value["result"]["value"]
        if not (isinstance(out, list | tuple) and len(out) == 2):
            raise failure(call, f"should return a pair (f(x), uᵀJ), but returned {show(out, 80)}.", given=given)
        value, jacobian = h.value(x), h.jacobian(x)
        got_value = real_array(out[0], (h.n_outputs,), call, "value f(x)")
        if mismatch(got_value, value, relative_tolerance(value)):
            raise failure(call, "f(x), the first entry, is wrong.", expected=value, got=got_value, given=given)
        want = u @ jacobian
        got = real_array(out[1], (h.n_vars,), call, "product uᵀJ")
        if mismatch(got, want, relative_tolerance(want)):
            mistake = None
            ones = np.ones(h.n_outputs) @ jacobian
            if _probe_shows(obs.value.get("probe"), [1.0, 3.0]):  # the probe's 1ᵀJ, not its uᵀJ = (2, -4)
                mistake = diagnose(got, [(U_IGNORED, ones)], tolerance=TO_ROUNDING)
            raise failure(
                call, "uᵀJ, the second entry, is wrong.", expected=want, got=got, given=given, mistake=mistake
            )
        _judge_passes(call, {**obs.value, "passes": obs.value["result"]["passes"]}, 1, given, h.n_outputs)
        _judge_one_call(call, obs.value, "vjp", given)

    Case(call, given).run(observe, judge)


def check_jacobian_reverse(
    jacobian_reverse: Callable,
    Var: Any,
    functions: Functions,
    f: Sequence[str] | None = None,
    x: Any = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check jacobian_reverse(f, x): the (m, n) Jacobian with exactly m reverse passes on Vars."""
    __tracebackhide__ = True
    for h, point in _vector_cases(f, x, seed, count, [(3, 2), (2, 3), (1, 2), (3, 3)]):
        _jacobian_case(jacobian_reverse, Var, functions, h, point)


def _marks(n: int, m: int) -> np.ndarray:
    """K, what `_marked` adds to the Jacobian on Var inputs: K[i, i mod n] = i + 1, 0 elsewhere."""
    marks = np.zeros((m, n))
    for i in range(m):
        marks[i, i % n] = i + 1.0
    return marks


def _marked(function: Callable, n: int) -> Callable:
    """f whose outputs on Var inputs carry the derivative J + K (`_marks`), and on plain numbers J.

    Output i on Vars is y_i + (i + 1) (x_j - x_j.value) with j = i mod n: the same value, built with the
    student's own Var arithmetic. An answer computed from the Var calls is J + K; one computed from values
    of f at plain numbers (finite differences) is J (observing half only).
    """

    def marked(*args: Any) -> Any:
        out = function(*args)
        if not (args and all(is_var(a) for a in args)):
            return out
        rows = [y + (i + 1.0) * (args[i % n] - float(read(args[i % n], "value"))) for i, y in enumerate(out)]
        return type(out)(rows) if isinstance(out, tuple) else rows

    return marked


def _jacobian_case(student: Callable, var: Any, functions: Functions, h: Any, x: np.ndarray) -> None:
    def observe() -> dict:
        recorded = Recorded(h.function(functions_data(functions)))

        def run() -> dict:
            with BackwardPasses(var) as passes:
                out = student(recorded, x.tolist())
            return {"value": out, "passes": passes.count}

        outcome = guarded(run)
        outcome.update(_call_data(recorded))
        marked = _marked(h.function(functions_data(functions)), h.n_vars)
        outcome["marked"] = guarded(lambda: student(marked, x.tolist()))
        return outcome

    def judge(obs: Observation) -> None:
        n, m = h.n_vars, h.n_outputs
        call = f"jacobian_reverse(f, {show(x, 60)})"
        given = _text(h) + f", so n = {n} and m = {m}"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        guarded_failure(call, obs.value, given)
        out = obs.value["result"]["value"]
        if out is not None and not isinstance(out, Foreign) and np.shape(out) == (n, m) and n != m:
            raise failure(
                call,
                f"returned an array of shape ({n}, {m}): the Jacobian is transposed.",
                given=given,
                mistake=TRANSPOSED,
            )
        want = h.jacobian(x)
        got = real_array(out, (m, n), call, "Jacobian")
        if mismatch(got, want, relative_tolerance(want)):
            candidates = [(LEAVES_NOT_RESET, np.cumsum(want, axis=0))] if m > 1 else []
            if n == m:  # the shape could not tell a transposed Jacobian
                candidates.append((TRANSPOSED, want.T))
            mistake = diagnose(got, candidates, tolerance=TO_ROUNDING)
            raise failure(
                call,
                f"the Jacobian is wrong by up to {largest_gap(got, want):.2e}.",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )
        _judge_passes(call, {**obs.value, "passes": obs.value["result"]["passes"]}, m, given)
        _judge_from_the_passes(call, obs.value.get("marked"), want, _marks(n, m), given)

    run_check(observe, judge)


def _judge_from_the_passes(call: str, marked: Any, want: np.ndarray, marks: np.ndarray, given: str) -> None:
    """The Jacobian comes from the calls of f on Vars: run on f whose Var outputs carry the derivative
    J + K but whose plain values keep J, the driver returns J + K. Returning J there means the answer
    was read off f's values at plain numbers (finite differences); anything else is not judged here."""
    value = (marked or {}).get("result")
    try:
        got = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return
    tolerance = relative_tolerance(want)
    if got.shape != want.shape or not mismatch(got, want + marks, relative_tolerance(want + marks)):
        return
    if not mismatch(got, want, tolerance):
        raise failure(
            call,
            "the Jacobian does not come from the reverse passes: given an f whose outputs on Vars have other "
            "derivatives than its values at plain numbers, it returned the Jacobian of the plain values (f "
            "evaluated at shifted points).",
            given=given,
            mistake=FINITE_DIFFERENCES,
        )
