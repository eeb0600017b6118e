"""The checks of unit 05 (the package docstring says where their truth comes from)."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import mpmath
import numpy as np

from autograder.checks.kit.arrays import Wrong, compare, matching
from autograder.checks.kit.case import Case, explicit_or_seeded, explicit_or_table
from autograder.checks.kit.dependencies import depends_on, prefixed, quick_check
from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.memo import by_value
from autograder.checks.kit.text import entries
from autograder.checks.kit.tolerance import close, tolerance
from autograder.checks.vjp.mistakes import (
    ADJOINT_TRANSPOSED,
    ADJOINTS_SWAPPED,
    DA_SIGN,
    DA_TRANSPOSED,
    DB_AVERAGED,
    DB_NOT_SUMMED,
    DW_TRANSPOSED,
    DX_WITHOUT_TRANSPOSE,
    GRADIENT_NOT_UNBROADCAST,
    GRADIENT_SIGN,
    INVERSE_FORMED,
    LINEAR_PAIR_SWAPPED,
    LOSS_SUMMED,
    MATMUL_PAIR_SWAPPED,
    MISSING_ONE_OVER_B,
    NO_MAX_SHIFT,
    NOTHING_SUMMED,
    ONEHOT_NOT_SUBTRACTED,
    ONLY_A_X,
    SIZE_ONE_AXES_NOT_SUMMED,
    SOLVE_PAIR_SWAPPED,
    SOLVE_WITHOUT_TRANSPOSE,
    TWO_A_X,
)
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.feedback import CheckFailure, Mistake, failure, raised, show
from autograder.inputs import random_point, rng
from autograder.observations import Foreign
from autograder.oracles.finite_differences import central_gradient, directional_derivative, mp_stencil
from autograder.oracles.losses import mp_cross_entropy
from autograder.runtime import Observation, run_check

RELATIVE = 1e-7  # against finite differences of smooth functions, scaled by the size of the answer
EXACT = 1e-12  # integer-valued inputs: the product rules are exact in floating point

# --- helpers -------------------------------------------------------------------------------------


def _changed(copies: dict[str, np.ndarray], given: dict[str, Any]) -> list[str]:
    return [name for name, before in copies.items() if not np.array_equal(np.asarray(given[name]), before)]


def _judge_unchanged(call: str, changed: Any) -> None:
    if changed:
        raise failure(
            call,
            f"modified its input {', '.join(map(str, changed))} in place.",
            mistake="compute new arrays (g = g.sum(...), A.T, a + b) instead of writing into the "
            "arguments (`+=`, `[...] =`, `.sort()`): the caller still needs them.",
        )


def _pair(out: Any, call: str, names: Sequence[str]) -> Sequence[Any]:
    if isinstance(out, list | tuple) and len(out) == len(names):
        return out
    raise failure(
        call,
        f"should return a tuple ({', '.join(names)}), but returned {show(out, 100)}.",
        mistake=f"end with `return {', '.join(names)}`.",
    )


def _shape_first(
    call: str,
    what: str,
    got: Any,
    want: np.ndarray,
    given: str,
    wrong: Wrong,
    relative: float,
    must: str | None = None,
    **related: Any,
) -> None:
    """Fail when `got` is an array of another shape than want's: with the inputs, and the mistake that
    `wrong` (or `compare`'s relations, given `related`) names for that shape, if any. `must` says what
    the shape must be (default "shape (m, n)"). Anything that is not an array of numbers is left to
    `compare`, which says what came back."""
    if got is None or isinstance(got, Foreign | str):
        return
    try:
        shape = np.shape(got)
    except (TypeError, ValueError):  # a ragged list
        raise failure(
            call, f"{what} is not an array of numbers of one shape: it is {show(got, 80)}.", given=given
        ) from None
    if shape == np.shape(want):
        return
    mistake = matching(got, wrong, want, relative)
    if mistake is None:
        try:
            compare(call, what, got, want, given, wrong, relative, **related)
        except CheckFailure as error:
            if error.diagnosis:  # a relation of got to want (the transpose, a first row, ...) named it
                raise
    raise failure(
        call,
        f"{what} has shape {shape}, but it must have {must or f'shape {np.shape(want)}'}.",
        given=given,
        mistake=mistake,
    )


def compare_array(
    call: str,
    what: str,
    got: Any,
    want: np.ndarray,
    given: str,
    wrong: Wrong,
    relative: float,
    must: str | None = None,
    **related: Any,
) -> None:
    """`kit.arrays.compare`, with a wrong shape reported with the inputs (`given`) and as what it must be:
    `got` must be an array of want's shape within the tolerance; else a diagnosis from `wrong`
    (`related`: what `kit.arrays.compare` needs for its relations, such as `per_example`)."""
    _shape_first(call, what, got, want, given, wrong, relative, must, **related)
    compare(call, what, got, want, given, wrong, relative, **related)


APPROXIMATE = 1e-4  # an answer this close to the exact one (relative), but not exact, is an approximation


def _exactness(call: str, what: str, got: Any, want: np.ndarray, given: str, wrong: Wrong = ()) -> None:
    """On integer-valued inputs the matrix formula is exact: `got` must equal `want` to rounding.

    A wrong formula is named from `wrong`. An answer right to about four digits but not exact is what a
    finite difference gives (its rounding error grows with the function's value): only then is the
    message about exactness and finite differences.
    """
    _shape_first(call, what, got, want, given, wrong, RELATIVE)
    array = real_array(got, np.shape(want), call, what)
    if not mismatch(array, want, EXACT * (1.0 + np.abs(want))):
        return
    gap = largest_gap(array, want)
    mistake = matching(array, wrong, want, RELATIVE)
    if mistake is None and not mismatch(array, want, tolerance(want, APPROXIMATE)):
        raise failure(
            call,
            f"{what} is off by up to {gap:.3g} on integer-valued inputs, where the matrix formula is exact in "
            "floating point (every sum of products of these integers is below 2^53).",
            expected=want,
            got=array,
            given=given,
            mistake="an answer right to about four digits but not exact is what finite differences give (their "
            "rounding error grows with the size of the function value); a VJP is a product of matrices, exact "
            "here: use the formula.",
        )
    raise failure(call, f"{what} is wrong by up to {gap:.3g}.", expected=want, got=array, given=given, mistake=mistake)


def _integer_valued(arrays: dict[str, np.ndarray]) -> bool:
    """Whether every input is integer-valued and small enough for the matrix formulas to be exact."""
    return all(
        np.all(np.isfinite(a)) and np.array_equal(a, np.round(a)) and np.max(np.abs(a), initial=0.0) < 2.0**20
        for a in arrays.values()
    )


def _close(got: Any, want: np.ndarray) -> bool:
    """`close` within RELATIVE, False for anything that is not an array of numbers (a ragged list)."""
    try:
        return close(got, want, RELATIVE)
    except (TypeError, ValueError):
        return False


def _swapped(
    call: str, got: Sequence[Any], wants: Sequence[np.ndarray], names: Sequence[str], given: str, mistake: Mistake
) -> None:
    """Fail naming `mistake` when two returned entries are each other's right answers (within RELATIVE)."""
    for i in range(len(wants)):
        for j in range(i + 1, len(wants)):
            if close(wants[i], wants[j], RELATIVE):
                continue  # the two answers are the same here: an order cannot show
            if _close(got[i], wants[j]) and _close(got[j], wants[i]):
                raise failure(
                    call,
                    f"the entries {i + 1} and {j + 1} of the returned tuple are swapped: entry {i + 1} is "
                    f"{names[j]} (shape {np.shape(wants[j])}) and entry {j + 1} is {names[i]} (shape "
                    f"{np.shape(wants[i])}).",
                    given=given,
                    mistake=mistake,
                )


def _observe_call(student: Callable, arrays: dict[str, Any]) -> dict:
    copies = {k: np.array(v, copy=True) for k, v in arrays.items() if isinstance(v, np.ndarray)}
    out = student(*arrays.values())
    return {"out": out, "changed": _changed(copies, arrays)}


def _integers(generator: np.random.Generator, shape: tuple[int, ...], size: int) -> np.ndarray:
    return generator.integers(-size, size + 1, size=shape).astype(float)


# --- unbroadcast ------------------------------------------------------------------------------------

UNBROADCAST_CASES = (
    ((2, 3), (3,)),
    ((2, 3), (1, 3)),
    ((2, 3), (2, 1)),
    ((4, 2, 3), (2, 1)),
    ((4, 2, 3), (3,)),
    ((4, 2, 3), (4, 1, 3)),
    ((4, 2, 3), (1, 1, 1)),
    ((5, 1, 3), (1, 3)),
    ((2, 3), ()),
    ((2, 3), (1,)),
    ((2, 3), (2, 3)),
    ((3,), (1,)),
)
"""(shape of g, target shape) pairs the hidden test tries: prepended axes, size-1 axes, scalars."""


def _adjoint_of_broadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Entry i is <g, broadcast_to(e_i, g.shape)>: the definition of the adjoint, entry by entry."""
    out = np.zeros(shape)
    for i in range(out.size):
        unit = np.zeros(shape)
        unit.flat[i] = 1.0
        out.flat[i] = np.sum(g * np.broadcast_to(unit, g.shape))
    return out


def check_unbroadcast(
    unbroadcast: Callable, g_shape: tuple | None = None, shape: tuple | None = None, *, seed: int | None = None
) -> None:
    """Check unbroadcast(g, shape): the sum of g over the axes broadcasting added or stretched.

    With a seed, every pattern of `UNBROADCAST_CASES` and one large case (by the dot-product test).
    """
    __tracebackhide__ = True
    for (gs, s), case_seed in explicit_or_table(seed, lambda: (tuple(g_shape), tuple(shape)), UNBROADCAST_CASES, 100):
        _unbroadcast_case(unbroadcast, gs, s, case_seed)
    if seed is not None:
        _unbroadcast_large(unbroadcast, (64, 32, 16), (32, 1), seed)


def _unbroadcast_case(student: Callable, g_shape: tuple, shape: tuple, seed: int) -> None:
    g = np.round(rng(seed).uniform(-2, 2, size=g_shape), 3)

    def observe() -> dict:
        return _observe_call(lambda a, s: student(a, s), {"g": g.copy(), "shape": shape})

    def judge(obs: Observation) -> None:
        call = f"unbroadcast(g, {shape})"
        given = f"g = {entries(g, 120)}, of shape {g_shape}"
        lead = None  # g summed over the prepended axes only
        if len(shape) <= len(g_shape):
            lead = g.sum(axis=tuple(range(len(g_shape) - len(shape)))) if len(g_shape) > len(shape) else g
        if obs.raised:
            raise raised(call, obs.raised, given=given, mistake=_reshape_diagnosis(obs.raised, lead, shape))
        _judge_unchanged(call, obs.value["changed"])
        want = _adjoint_of_broadcast(g, shape)
        wrong = []
        if lead is not None and lead.shape != g.shape:
            wrong.append((SIZE_ONE_AXES_NOT_SUMMED, lead))
        wrong.append((NOTHING_SUMMED, g))
        compare_array(call, "the result", obs.value["out"], want, given, wrong, 1e-12, must=f"the target shape {shape}")

    run_check(observe, judge)


def unbroadcast_dependency(unbroadcast: Callable) -> Callable[[], None]:
    """A quick check of the student's `unbroadcast` on every pattern of `UNBROADCAST_CASES`, in one
    observation (for `kit.dependencies.depends_on`: the checks of `Tensor` build on it)."""
    cases = [(np.round(rng(4000 + k).uniform(-2, 2, size=gs), 3), s) for k, (gs, s) in enumerate(UNBROADCAST_CASES)]

    def observe() -> list:
        return [np.asarray(unbroadcast(g.copy(), s), dtype=float) for g, s in cases]

    def holds(outs: list) -> bool:
        return len(outs) == len(cases) and all(
            np.shape(out) == s and not mismatch(out, _adjoint_of_broadcast(g, s), 1e-9 * (1 + np.abs(g).sum()))
            for out, (g, s) in zip(outs, cases, strict=True)
        )

    return quick_check(observe, holds)


def _reshape_diagnosis(description: str, lead: np.ndarray | None, shape: tuple) -> Mistake | None:
    """SIZE_ONE_AXES_NOT_SUMMED when the error is a final reshape of an array of the size that summing
    only the prepended axes leaves (not the size of `shape`), else None."""
    found = re.search(r"cannot reshape array of size (\d+) into shape", description)
    size = int(np.prod(shape, dtype=int))
    if found and lead is not None and int(found.group(1)) == lead.size != size:
        return SIZE_ONE_AXES_NOT_SUMMED
    return None


def _unbroadcast_large(student: Callable, g_shape: tuple, shape: tuple, seed: int) -> None:
    def arrays() -> tuple[np.ndarray, np.ndarray]:
        generator = rng(seed + 7)
        return generator.normal(size=g_shape), generator.normal(size=shape)

    def observe() -> dict:
        g, u = arrays()
        out = np.asarray(student(g, shape), dtype=float)
        return {"shape": list(out.shape), "inner": float(np.sum(out * u)) if out.shape == shape else None}

    call = f"unbroadcast(g, {shape})"
    given = f"g is a random array of shape {g_shape}"

    def judge(obs: Observation) -> None:
        got_shape = tuple(obs.value["shape"])
        if got_shape != shape:
            raise failure(call, f"returned shape {got_shape}, not {shape}.", given=given)
        g, u = arrays()
        want = float(np.sum(g * np.broadcast_to(u, g_shape)))  # the adjoint: <g, broadcast(u)>
        got = real_scalar(obs.value["inner"], call)
        if mismatch(got, want, 1e-9 * (1 + abs(want))):
            raise failure(
                call,
                "fails the dot-product test <unbroadcast(g), u> = <g, broadcast_to(u, g.shape)> for a random u.",
                expected=want,
                got=got,
                given=given,
            )

    Case(call, given).run(observe, judge)


# --- Tensor -----------------------------------------------------------------------------------------


class _Plain:
    """The forward evaluation of a Tensor expression on plain numpy arrays (for the oracle).

    Each value knows the variables it was computed from (`names`); an elementwise operation whose
    operand has another shape than its result (numpy broadcast it) adds that operand's variables to
    `broadcast`, a set shared by the whole evaluation: which variables the expression broadcasts.
    """

    __array_ufunc__ = None

    def __init__(self, data: Any, names: frozenset[str] = frozenset(), broadcast: set[str] | None = None) -> None:
        self.data = np.asarray(data, dtype=float)
        self.names = names
        self.broadcast = broadcast

    def _unary(self, data: Any) -> _Plain:
        return _Plain(data, self.names, self.broadcast)

    def _binary(self, other: Any, f: Callable, reflected: bool = False, elementwise: bool = True) -> _Plain:
        o = other if isinstance(other, _Plain) else _Plain(other)
        a, b = (o, self) if reflected else (self, o)
        data = np.asarray(f(a.data, b.data), dtype=float)
        broadcast = self.broadcast if self.broadcast is not None else o.broadcast
        if elementwise and broadcast is not None:
            for operand in (a, b):
                if operand.data.shape != data.shape:
                    broadcast |= operand.names
        return _Plain(data, a.names | b.names, broadcast)

    def __add__(self, o: Any) -> _Plain:
        return self._binary(o, np.add)

    def __radd__(self, o: Any) -> _Plain:
        return self._binary(o, np.add, True)

    def __sub__(self, o: Any) -> _Plain:
        return self._binary(o, np.subtract)

    def __rsub__(self, o: Any) -> _Plain:
        return self._binary(o, np.subtract, True)

    def __mul__(self, o: Any) -> _Plain:
        return self._binary(o, np.multiply)

    def __rmul__(self, o: Any) -> _Plain:
        return self._binary(o, np.multiply, True)

    def __truediv__(self, o: Any) -> _Plain:
        return self._binary(o, np.divide)

    def __rtruediv__(self, o: Any) -> _Plain:
        return self._binary(o, np.divide, True)

    def __matmul__(self, o: Any) -> _Plain:
        return self._binary(o, np.matmul, elementwise=False)

    def __neg__(self) -> _Plain:
        return self._unary(-self.data)

    def sum(self, axis: int | None = None) -> _Plain:
        return self._unary(self.data.sum(axis=axis))

    def mean(self) -> _Plain:
        return self._unary(self.data.mean())

    def exp(self) -> _Plain:
        return self._unary(np.exp(self.data))

    def log(self) -> _Plain:
        return self._unary(np.log(self.data))

    def tanh(self) -> _Plain:
        return self._unary(np.tanh(self.data))

    def relu(self) -> _Plain:
        return self._unary(np.maximum(self.data, 0.0))

    def reshape(self, *shape: Any) -> _Plain:
        return self._unary(self.data.reshape(*shape))

    @property
    def T(self) -> _Plain:  # noqa: N802 - numpy's name
        return self._unary(self.data.T)


def broadcast_variables(function: Callable, values: dict[str, np.ndarray]) -> set[str]:
    """The variables that `function` (an expression of them) broadcasts in an elementwise operation."""
    broadcast: set[str] = set()
    function(*[_Plain(v, frozenset({n}), broadcast) for n, v in values.items()])
    return broadcast


TENSOR_CASES = (
    ("(a * b - c).sum()", {"a": (2, 3), "b": (1, 3), "c": (2, 1)}),
    ("(a * b).mean()", {"a": (4, 2, 3), "b": (2, 1)}),
    ("(a * b).sum()", {"a": (), "b": (2, 3)}),
    ("(a / (b * b + 1)).sum()", {"a": (3, 1), "b": (1, 4)}),
    ("(2.5 * a + 1 - a / 4 + 3 - a + 2 / (a * a + 1)).sum()", {"a": (3,)}),
    ("(a * a * a).sum()", {"a": (2, 2)}),
    ("((x @ w + b).tanh() * c).sum()", {"x": (4, 3), "w": (3, 2), "b": (2,), "c": (4, 2)}),
    ("(a.exp() + (b * b + 1).log()).sum(axis=0).sum()", {"a": (2, 3), "b": (2, 3)}),
    ("(a.sum(axis=1) * b).sum()", {"a": (3, 4), "b": (3,)}),
    ("(a.relu() * b).sum()", {"a": (2, 3), "b": (2, 3)}),
    ("(a.reshape((3, 2)).T @ b).mean()", {"a": (6,), "b": (3, 4)}),
    ("(a.T * b).sum()", {"a": (3, 2), "b": (2, 3)}),
)
"""(expression, shapes of its variables) the hidden test differentiates with the student's Tensor."""


def _expression(text: str, names: Sequence[str]) -> Callable:
    return eval(compile(f"lambda {', '.join(names)}: {text}", f"<{text}>", "eval"), {"__builtins__": {}})


def check_tensor(
    Tensor: Callable,  # noqa: N803 - the student's class
    expr: str | None = None,
    shapes: dict | None = None,
    *,
    seed: int | None = None,
    unbroadcast: Callable | None = None,
) -> None:
    """Check Tensor: build each variable as Tensor(data, requires_grad=True), evaluate `expr`, call
    backward() on the scalar result; every variable's .grad must have its shape and equal the
    finite-difference gradient of the same expression. With a seed, every case of `TENSOR_CASES`.

    `unbroadcast`, the student's (which their Tensor calls), is checked first on its own: when it is
    wrong and the Tensor fails, the message starts with "`unbroadcast` fails above: fix it first."
    """
    __tracebackhide__ = True
    first = depends_on("unbroadcast", unbroadcast_dependency(unbroadcast)) if unbroadcast is not None else None
    try:
        for (text, sizes), case_seed in explicit_or_table(seed, lambda: (expr, dict(shapes or {})), TENSOR_CASES, 100):
            _tensor_case(Tensor, text, sizes, case_seed)
    except CheckFailure as error:
        if first:
            raise prefixed(error, first) from None
        raise


def tensor_given(values: dict[str, np.ndarray], requires: Sequence[str] | None = None) -> str:
    """'a = Tensor([[...]], requires_grad=True) of shape (2, 3), ...': each variable once, its shape once."""
    parts = []
    for n, v in values.items():
        flag = ", requires_grad=True" if requires is None or n in requires else ""
        parts.append(f"{n} = Tensor({entries(v, 60)}{flag})" + (f" of shape {v.shape}" if v.ndim != 1 else ""))
    return ", ".join(parts)


def _tensor_case(student: Callable, text: str, shapes: dict, seed: int) -> None:
    names = list(shapes)
    generator = rng(seed)
    values = {n: np.round(random_point(generator, shapes[n], -2.0, 2.0, avoid=(0.0,), margin=0.2), 3) for n in names}
    function = _expression(text, names)

    def observe() -> dict:
        leaves = [student(values[n].copy(), requires_grad=True) for n in names]
        out = function(*leaves)
        out.backward()
        grads = [None if leaf.grad is None else np.asarray(leaf.grad) for leaf in leaves]
        return {
            "value": np.asarray(out.data),
            "grads": grads,
            "changed": [n for n, leaf in zip(names, leaves, strict=True) if not np.array_equal(leaf.data, values[n])],
        }

    call = f"{text}.backward()"
    given = tensor_given(values)

    def judge(obs: Observation) -> None:
        value = float(function(*[_Plain(values[n]) for n in names]).data)
        got_value = real_scalar(obs.value["value"], f"{text} (its .data)")
        if mismatch(got_value, value, tolerance(value, 1e-10)):
            raise failure(f"{text}", "the forward value (.data) is wrong.", expected=value, got=got_value, given=given)
        _judge_unchanged(call, obs.value["changed"])
        wants = {n: _tensor_gradient(function, values, n) for n in names}
        grads = dict(zip(names, obs.value["grads"], strict=True))
        broadcast = broadcast_variables(function, values)
        for n in names:
            got = grads[n]
            if got is None:
                raise failure(call, f"{n}.grad is None after backward().", given=given)
            wrong = _tensor_wrong(n, wants, grads)
            if np.shape(got) != np.shape(wants[n]):
                raise failure(
                    call,
                    f"{n}.grad has shape {np.shape(got)}, not the shape of {n}.data, {np.shape(wants[n])}.",
                    given=given,
                    mistake=matching(got, wrong, wants[n], 1e-7) or _unsummed_gradient(got, wants[n], n in broadcast),
                )
            compare_array(call, f"{n}.grad", got, wants[n], given, wrong, 1e-7)

    Case(call, given).run(observe, judge)


def _tensor_gradient(function: Callable, values: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The gradient of the expression with respect to the variable `name`: fourth-order differences."""

    def partial(v: np.ndarray) -> float:
        return float(function(*[_Plain(v if m == name else values[m]) for m in values]).data)

    return central_gradient(partial, values[name], h=1e-4)


def _tensor_wrong(name: str, wants: dict[str, np.ndarray], grads: dict[str, Any]) -> Wrong:
    """The known wrong gradients of variable `name`, each backed by evidence from the other variables.

    * ADJOINTS_SWAPPED: `name`'s gradient is another variable's, and that variable's is `name`'s
      (a VJP returning its adjoints in the wrong order, as (a.T @ g, g @ b.T) for a @ b);
    * ADJOINT_TRANSPOSED: the transpose of the right gradient (of a 2-D variable).
    """
    wrong: list[tuple[Mistake, np.ndarray]] = []
    for other, want in wants.items():
        if other != name and grads.get(other) is not None and close(grads[other], wants[name], 1e-7):
            wrong.append((ADJOINTS_SWAPPED, want))
    if np.ndim(wants[name]) == 2:
        wrong.append((ADJOINT_TRANSPOSED, wants[name].T))
    return wrong


# --- matmul_vjp and linear_backward ----------------------------------------------------------------


def _random_arrays(seed: int, shapes: dict[str, tuple], integer: bool = False) -> dict[str, np.ndarray]:
    generator = rng(seed)
    if integer:
        return {n: _integers(generator, s, 9999) for n, s in shapes.items()}
    return {n: np.round(generator.normal(size=s), 3) for n, s in shapes.items()}


def check_matmul_vjp(
    matmul_vjp: Callable,
    X: Any = None,
    W: Any = None,
    G: Any = None,
    *,
    seed: int | None = None,
) -> None:
    """Check matmul_vjp(X, W, G) = (G Wᵀ, Xᵀ G) for Y = X W: small cases against finite differences
    of <G, X W>, an integer case exactly, a layer of realistic size by the dot-product test."""
    __tracebackhide__ = True
    if seed is None:
        cases = [{"X": np.asarray(X, float), "W": np.asarray(W, float), "G": np.asarray(G, float)}]
        integer = [_integer_valued(cases[0])]  # integer-valued inputs: exact, as the notebook says
    else:
        dims = [(1, 3, 2), (4, 2, 5), (3, 3, 3), (5, 4, 1)]
        cases = [
            _random_arrays(seed * 10 + k, {"X": (n, k_), "W": (k_, m), "G": (n, m)})
            for k, (n, k_, m) in enumerate(dims)
        ]
        cases.append(_random_arrays(seed * 10 + 9, {"X": (6, 5), "W": (5, 4), "G": (6, 4)}, integer=True))
        integer = [False] * len(dims) + [True]
    for arrays, exact in zip(cases, integer, strict=True):
        _matmul_case(matmul_vjp, arrays, exact)
    if seed is not None:
        _large_case("matmul_vjp", matmul_vjp, {"X": (128, 256), "W": (256, 64), "G": (128, 64)}, seed)


def _unsummed_gradient(got: Any, want: np.ndarray, broadcast: bool) -> Mistake | str | None:
    """Why `got`, of another shape than the variable's gradient `want`, may have that shape.

    GRADIENT_NOT_UNBROADCAST when `got` has a shape the variable broadcasts to and, summed back to the
    variable's shape, is the right gradient; a general hint about summing back when the expression
    does broadcast that variable (`broadcast`) to got's shape; else None (nothing supports a hint).
    """
    try:
        array = np.asarray(got, dtype=float)
        stretched = np.broadcast_shapes(array.shape, np.shape(want)) == array.shape
    except (TypeError, ValueError):
        return None
    if not stretched:
        return None
    summed = _adjoint_of_broadcast(array, np.shape(want))
    if not mismatch(summed, want, tolerance(want, RELATIVE)):
        return GRADIENT_NOT_UNBROADCAST
    if broadcast:
        return (
            f"the expression broadcasts this variable of shape {np.shape(want)}, so its gradient must be summed "
            "back to its shape, unbroadcast(g, shape)."
        )
    return None


def _matmul_case(student: Callable, arrays: dict, exact: bool) -> None:
    X, W, G = arrays["X"], arrays["W"], arrays["G"]

    def observe() -> dict:
        return _observe_call(student, {k: v.copy() for k, v in arrays.items()})

    call = "matmul_vjp(X, W, G)"
    given = f"X = {show(X, 80)}, W = {show(W, 80)}, G = {show(G, 80)}, Y = X W has shape {G.shape}"

    def judge(obs: Observation) -> None:
        _judge_unchanged(call, obs.value["changed"])
        dX, dW = _pair(obs.value["out"], call, ("dX", "dW"))
        if exact:
            Xi, Wi, Gi = (a.astype(np.int64) for a in (X, W, G))
            want_x, want_w = (Gi @ Wi.T).astype(float), (Xi.T @ Gi).astype(float)
        else:
            want_x = central_gradient(lambda x: float(np.sum(G * (x @ W))), X)
            want_w = central_gradient(lambda w: float(np.sum(G * (X @ w))), W)
        _swapped(call, (dX, dW), (want_x, want_w), ("dW = Xᵀ G", "dX = G Wᵀ")[::-1], given, MATMUL_PAIR_SWAPPED)
        wrong_x = [(DX_WITHOUT_TRANSPOSE, G @ W)] if G.shape[1] == W.shape[0] else []
        wrong_x.append((MATMUL_PAIR_SWAPPED, want_w))
        wrong_w = [(DW_TRANSPOSED, want_w.T), (MATMUL_PAIR_SWAPPED, want_x)]
        if exact:
            _exactness(call, "dX (the first entry)", dX, want_x, given, wrong_x)
            _exactness(call, "dW (the second entry)", dW, want_w, given, wrong_w)
            return
        compare_array(call, "dX (the first entry)", dX, want_x, given, wrong_x, RELATIVE)
        compare_array(call, "dW (the second entry)", dW, want_w, given, wrong_w, RELATIVE)

    Case(call, given).run(observe, judge)


def _large_arrays_of(shapes: tuple[tuple[str, tuple], ...], seed: int) -> tuple[dict, dict]:
    """The arrays of `_large_case` (`shapes` as (name, shape) pairs) and the random directions of its inputs."""
    sizes = dict(shapes)
    inputs = [n for n in sizes if n not in ("G", "dY")]
    given = _random_arrays(seed + 5, sizes)
    directions = _random_arrays(seed + 6, {n: sizes[n] for n in inputs})
    return given, directions


def _layer_forward(values: dict) -> np.ndarray:
    y = values["X"] @ values["W"]
    return y + values["b"] if "b" in values else y


@lru_cache(maxsize=64)
def _large_want(shapes: tuple[tuple[str, tuple], ...], seed: int, n: str) -> float:
    """d/dt <upstream, Y(n + t U)> of `_large_case` for its input `n` (kept per process: every submission
    meets the same layer)."""
    values, directions = _large_arrays_of(shapes, seed)
    upstream = "G" if "G" in values else "dY"

    def along(t_values: np.ndarray) -> float:
        return float(np.sum(values[upstream] * _layer_forward({**values, n: t_values})))

    return float(directional_derivative(along, values[n], directions[n]))


def _large_case(name: str, student: Callable, shapes: dict[str, tuple], seed: int) -> None:
    """The dot-product test on a layer of realistic size: <dIn, U> = d/dt <G, f(In + t U)>."""
    inputs = [n for n in shapes if n not in ("G", "dY")]
    upstream = "G" if "G" in shapes else "dY"

    def arrays() -> tuple[dict, dict]:
        return _large_arrays_of(tuple(shapes.items()), seed)

    def observe() -> dict:
        given, directions = arrays()
        result = _observe_call(student, given)
        out = result["out"]
        shapes_out = [list(np.shape(o)) for o in out] if isinstance(out, list | tuple) else None
        inner = None
        if shapes_out is not None and len(out) == len(inputs):
            inner = [
                float(np.sum(np.asarray(o, dtype=float) * directions[n])) if np.shape(o) == shapes[n] else None
                for o, n in zip(out, inputs, strict=True)
            ]
        return {"shapes": shapes_out, "inner": inner, "changed": result["changed"]}

    call = f"{name}({', '.join(shapes)})"
    given = "a layer of realistic size: " + ", ".join(f"{n} of shape {s}" for n, s in shapes.items())

    def judge(obs: Observation) -> None:
        _judge_unchanged(call, obs.value["changed"])
        got_shapes = obs.value["shapes"]
        if got_shapes is None or len(got_shapes) != len(inputs):
            raise failure(
                call,
                f"should return a tuple of {len(inputs)} arrays ({', '.join('d' + n for n in inputs)}).",
                given=given,
            )
        for n, s in zip(inputs, got_shapes, strict=True):
            if tuple(s) != shapes[n]:
                raise failure(call, f"d{n} has shape {tuple(s)}, but {n} has shape {shapes[n]}.", given=given)
        for n, got in zip(inputs, obs.value["inner"], strict=True):
            want = _large_want(tuple(shapes.items()), seed, n)
            got_value = real_scalar(got, call)
            if mismatch(got_value, want, 1e-8 * (1 + abs(want))):
                raise failure(
                    call,
                    f"fails the dot-product test for d{n}: <d{n}, U> must equal the directional derivative of "
                    f"<{upstream}, Y> along a random U.",
                    expected=want,
                    got=got_value,
                    given=given,
                )

    Case(call, given).run(observe, judge)


def check_linear_backward(
    linear_backward: Callable,
    X: Any = None,
    W: Any = None,
    b: Any = None,
    dY: Any = None,
    *,
    seed: int | None = None,
) -> None:
    """Check linear_backward(X, W, b, dY) = (dX, dW, db) for Y = X W + b, b of shape (m,) broadcast
    over the batch: finite differences of <dY, X W + b>, an integer case exactly, and a large layer."""
    __tracebackhide__ = True
    if seed is None:
        arrays = {k: np.asarray(v, float) for k, v in {"X": X, "W": W, "b": b, "dY": dY}.items()}
        cases = [(arrays, _integer_valued(arrays))]
    else:
        dims = [(1, 3, 2), (5, 4, 3), (3, 3, 3), (4, 2, 6)]
        cases = [
            (_random_arrays(seed * 10 + k, {"X": (n, i), "W": (i, o), "b": (o,), "dY": (n, o)}), False)
            for k, (n, i, o) in enumerate(dims)
        ]
        cases.append((_random_arrays(seed * 10 + 9, {"X": (6, 5), "W": (5, 4), "b": (4,), "dY": (6, 4)}, True), True))
    for arrays, exact in cases:
        _linear_case(linear_backward, arrays, exact)
    if seed is not None:
        _large_case(
            "linear_backward", linear_backward, {"X": (128, 256), "W": (256, 64), "b": (64,), "dY": (128, 64)}, seed + 1
        )


def _linear_case(student: Callable, arrays: dict, exact: bool) -> None:
    X, W, b, dY = arrays["X"], arrays["W"], arrays["b"], arrays["dY"]

    def observe() -> dict:
        return _observe_call(student, {k: v.copy() for k, v in arrays.items()})

    call = "linear_backward(X, W, b, dY)"
    given = f"X = {show(X, 70)}, W = {show(W, 70)}, b = {show(b, 40)}, dY = {show(dY, 70)}"

    def judge(obs: Observation) -> None:
        _judge_unchanged(call, obs.value["changed"])
        dX, dW, db = _pair(obs.value["out"], call, ("dX", "dW", "db"))
        if exact:
            Xi, Wi, Gi = (a.astype(np.int64) for a in (X, W, dY))
            want_x, want_w, want_b = (Gi @ Wi.T).astype(float), (Xi.T @ Gi).astype(float), Gi.sum(axis=0) * 1.0
        else:

            def loss(x: np.ndarray = X, w: np.ndarray = W, c: np.ndarray = b) -> float:
                return float(np.sum(dY * (x @ w + c)))

            want_x = central_gradient(lambda x: loss(x=x), X)
            want_w = central_gradient(lambda w: loss(w=w), W)
            want_b = central_gradient(lambda c: loss(c=c), b)
        names = ("dX = dY Wᵀ", "dW = Xᵀ dY", "db = dY.sum(axis=0)")
        _swapped(call, (dX, dW, db), (want_x, want_w, want_b), names, given, LINEAR_PAIR_SWAPPED)
        wrong_x = [(DX_WITHOUT_TRANSPOSE, dY @ W)] if dY.shape[1] == W.shape[0] else []
        wrong_x.append((LINEAR_PAIR_SWAPPED, want_w))
        wrong_w = [(DW_TRANSPOSED, want_w.T), (LINEAR_PAIR_SWAPPED, want_x)]
        wrong_b = [(DB_NOT_SUMMED, dY), (DB_AVERAGED, dY.mean(axis=0))]
        if exact:
            _exactness(call, "dX (the first entry)", dX, want_x, given, wrong_x)
            _exactness(call, "dW (the second entry)", dW, want_w, given, wrong_w)
            _exactness(call, "db (the third entry)", db, want_b, given, wrong_b)
            return
        compare_array(call, "dX (the first entry)", dX, want_x, given, wrong_x, RELATIVE)
        # the per-example contributions (row i of X and of dY): for the "first example only" diagnosis
        each_w = X[:, :, None] * dY[:, None, :]
        compare_array(call, "dW (the second entry)", dW, want_w, given, wrong_w, RELATIVE, per_example=each_w)
        compare_array(call, "db (the third entry)", db, want_b, given, wrong_b, RELATIVE, per_example=dY)

    Case(call, given).run(observe, judge)


# --- quadratic_form_grad ---------------------------------------------------------------------------


def check_quadratic_form_grad(
    quadratic_form_grad: Callable, A: Any = None, x: Any = None, *, seed: int | None = None
) -> None:
    """Check quadratic_form_grad(A, x) = ∇(xᵀ A x) = (A + Aᵀ) x for non-symmetric A: finite differences
    on small cases, exactly on an integer case."""
    __tracebackhide__ = True
    if seed is None:
        arrays = {"A": np.asarray(A, float), "x": np.asarray(x, float)}
        cases = [(arrays, _integer_valued(arrays))]
    else:
        cases = [(_random_arrays(seed * 10 + k, {"A": (n, n), "x": (n,)}), False) for k, n in enumerate((1, 3, 5))]
        cases.append((_random_arrays(seed * 10 + 9, {"A": (30, 30), "x": (30,)}, True), True))
    for arrays, exact in cases:
        _quadratic_case(quadratic_form_grad, arrays, exact)


def _quadratic_case(student: Callable, arrays: dict, exact: bool) -> None:
    A, x = arrays["A"], arrays["x"]

    def observe() -> dict:
        return _observe_call(student, {k: v.copy() for k, v in arrays.items()})

    call = "quadratic_form_grad(A, x)"
    given = f"A = {show(A, 90)} (not symmetric), x = {show(x, 60)}"

    def judge(obs: Observation) -> None:
        _judge_unchanged(call, obs.value["changed"])
        wrong = [(TWO_A_X, 2 * A @ x), (ONLY_A_X, A @ x)]
        if exact:
            Ai, xi = A.astype(np.int64), x.astype(np.int64)
            _exactness(call, "the gradient", obs.value["out"], ((Ai + Ai.T) @ xi).astype(float), given, wrong)
            return
        want = central_gradient(lambda v: float(v @ A @ v), x)
        compare_array(call, "the gradient", obs.value["out"], want, given, wrong, RELATIVE)

    Case(call, given).run(observe, judge)


# --- softmax cross-entropy -------------------------------------------------------------------------

SOFTMAX_CASES = ((3, 5, 1.0), (4, 10, 1000.0), (1, 7, 1000.0), (5, 3, 50.0), (2, 4, 0.0))
"""(batch B, classes C, scale of the logits) of the hidden cases; scale 1000 overflows exp."""


@by_value()
def _mp_gradient(logits: np.ndarray, labels: Sequence[int], h: float = 1e-4) -> np.ndarray:
    """The gradient of the 30-digit cross-entropy by the fourth-order stencil, in 30-digit arithmetic.

    Kept per process by value: every submission meets the same hidden logits."""
    grad = np.empty(logits.shape)
    for i in range(logits.size):

        def shifted_loss(t: mpmath.mpf, i: int = i) -> mpmath.mpf:
            shifted = logits.astype(object)
            shifted.flat[i] = mpmath.mpf(float(logits.flat[i])) + t
            return mp_cross_entropy(shifted, labels)

        grad.flat[i] = mp_stencil(shifted_loss, h)
    return grad


def check_softmax_cross_entropy(
    softmax_cross_entropy: Callable,
    softmax_cross_entropy_vjp: Callable,
    logits: Any = None,
    labels: Any = None,
    *,
    seed: int | None = None,
) -> None:
    """Check the mean softmax cross-entropy and its gradient (softmax - onehot) / B against a
    30-digit evaluation of the definition; logits of size 1000 must give finite values, no warning."""
    __tracebackhide__ = True

    def draw(seed: int) -> list[Any]:
        cases = []
        for k, (batch, classes, scale) in enumerate(SOFTMAX_CASES):
            generator = rng(seed * 10 + k)
            z = np.round(generator.uniform(-scale, scale, size=(batch, classes)), 3)
            y = generator.integers(0, classes, size=batch)
            cases.append((z, y.tolist() if k % 2 else y))
        return cases

    cases = explicit_or_seeded(seed, lambda: (np.asarray(logits, dtype=float), [int(v) for v in labels]), draw)
    for z, y in cases:
        _softmax_case(softmax_cross_entropy, softmax_cross_entropy_vjp, z, y)


OVERFLOW = float(np.log(np.finfo(float).max))  # exp(z) is inf for z above this (about 709.8)


def _overflows(logits: np.ndarray) -> bool:
    """Whether exp of the unshifted logits overflows (after the shift by the row maximum it never does)."""
    return bool(np.max(logits) > OVERFLOW)


def _label_underflows(logits: np.ndarray, labels: Any) -> bool:
    """Whether the softmax probability of some row's label is below the smallest float (it rounds to 0)."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return bool(np.min(log_p[np.arange(len(logits)), np.asarray(labels)]) < np.log(np.finfo(float).smallest_subnormal))


def _finite(value: Any, shape: tuple) -> bool:
    """Whether `value` is an array of `shape` with only finite entries (anything else counts as finite:
    it is not evidence of an overflow)."""
    if isinstance(value, Foreign) or value is None or np.shape(value) != shape:
        return True
    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return True


def _softmax_case(loss: Callable, vjp: Callable, logits: np.ndarray, labels: Any) -> None:
    def observe() -> dict:
        z = logits.copy()
        y = labels.copy() if isinstance(labels, np.ndarray) else list(labels)
        # "no warning": numpy's overflow, invalid-value and divide-by-zero warnings are raised (and recorded
        # as the observation's warnings, never printed); an underflow to 0 is no fault of the code.
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            value = loss(z, y)
            grad = vjp(z, y)
        changed = not np.array_equal(z, logits) or not np.array_equal(np.asarray(y), np.asarray(labels))
        return {"loss": value, "grad": grad, "changed": ["logits or labels"] if changed else []}

    def judge(obs: Observation) -> None:
        batch = logits.shape[0]
        given = f"logits = {show(logits, 110)}, labels = {show(labels, 40)}"
        call = "softmax_cross_entropy(logits, labels)"
        if obs.raised:
            raise raised("softmax_cross_entropy / softmax_cross_entropy_vjp", obs.raised, given=given)
        _judge_unchanged(call, obs.value["changed"])
        want = float(mp_cross_entropy(logits, labels))
        got = real_scalar(obs.value["loss"], call)
        if mismatch(got, want, 1e-9 * (1 + abs(want))):
            mistake: str | Mistake | None = None
            if not np.isfinite(got):
                if _overflows(logits) and not _finite(obs.value["grad"], logits.shape):
                    mistake = NO_MAX_SHIFT  # the gradient's softmax overflowed too: no shift anywhere
                elif got == np.inf and _label_underflows(logits, labels):
                    mistake = (
                        "the softmax probability of a label underflows to 0 here (it is below 1e-308), and "
                        "log(0) = -inf: compute log-softmax directly, (z - m) - log(sum(exp(z - m))), and never "
                        "take the log of a probability."
                    )
                elif _overflows(logits):
                    mistake = (
                        "exp of large logits overflows to inf (inf / inf = nan): subtract each row's maximum "
                        "first, softmax(z) = softmax(z - max z), and compute log-softmax as "
                        "(z - m) - log(sum(exp(z - m)))."
                    )
            elif batch > 1 and abs(got - want * batch) < 1e-9 * (1 + abs(want * batch)):
                mistake = LOSS_SUMMED
            raise failure(call, "the loss is wrong.", expected=want, got=got, given=given, mistake=mistake)
        call = "softmax_cross_entropy_vjp(logits, labels)"
        want_grad = _mp_gradient(logits, labels)
        onehot = np.zeros_like(logits)
        onehot[np.arange(batch), np.asarray(labels)] = 1.0
        value = obs.value["grad"]
        if not isinstance(value, Foreign) and value is not None and np.shape(value) == logits.shape:
            array = np.asarray(value, dtype=float)
            if not np.all(np.isfinite(array)):
                raise failure(
                    call,
                    "returned nan or inf.",
                    got=array,
                    given=given,
                    mistake=NO_MAX_SHIFT if _overflows(logits) else None,
                )
        wrong = [
            (MISSING_ONE_OVER_B, want_grad * batch),
            (GRADIENT_SIGN, -want_grad),
            (ONEHOT_NOT_SUBTRACTED, want_grad + onehot / batch),
        ]
        compare_array(call, "the gradient", value, want_grad, given, wrong, 1e-8)
        if obs.warnings:  # right values, but the notebook says: no warning
            overflow = any("overflow" in w for w in obs.warnings) and _overflows(logits)
            raise failure(
                "softmax_cross_entropy / softmax_cross_entropy_vjp",
                f"raised a warning: {obs.warnings[0]}; logits of size 1000 must give no warning.",
                given=given,
                mistake="exp of a logit above 709.8 overflows, and warns, even where the result is then "
                "discarded: subtract each row's maximum before every exp."
                if overflow
                else None,
            )

    run_check(observe, judge)


# --- solve_vjp --------------------------------------------------------------------------------------


def _system(seed: int, n: int) -> dict[str, np.ndarray]:
    generator = rng(seed)
    A = generator.normal(size=(n, n)) + 2.0 * np.sqrt(n) * np.eye(n)
    b = generator.normal(size=n)
    return {"A": A, "b": b, "x": np.linalg.solve(A, b), "gx": generator.normal(size=n)}


def check_solve_vjp(
    solve_vjp: Callable,
    A: Any = None,
    b: Any = None,
    gx: Any = None,
    *,
    seed: int | None = None,
) -> None:
    """Check solve_vjp(A, b, x, gx) = (dA, db) = (-A⁻ᵀ gx xᵀ, A⁻ᵀ gx) for x = A⁻¹ b: finite
    differences of <gx, solve(A, b)> on small systems, the dot-product test on a large one."""
    __tracebackhide__ = True
    if seed is None:
        A, b = np.asarray(A, float), np.asarray(b, float)
        cases = [{"A": A, "b": b, "x": np.linalg.solve(A, b), "gx": np.asarray(gx, float)}]
    else:
        cases = [_system(seed * 10 + k, n) for k, n in enumerate((1, 2, 4, 6))]
    for arrays in cases:
        _solve_case(solve_vjp, arrays)
    if seed is not None:
        _solve_large(solve_vjp, seed, 200)


class InverseWatch:
    """Context manager: which of numpy's (and SciPy's, when loaded) matrix inverses the block called.

    A profile hook (`sys.setprofile`) sees every call of the Python code of `np.linalg.inv` and
    `np.linalg.pinv` however the student named them (`inv = np.linalg.inv`, `from numpy.linalg import
    inv`, `np.linalg.matrix_power(A, -1)`), and a `np.linalg.solve(A, I)` whose right-hand side is an
    identity matrix (the inverse by a solve); `tampered` is set when the hook was switched off or
    replaced in the block.
    """

    def __init__(self) -> None:
        self.used: list[str] = []
        self.tampered = False
        self.watched = {inspect.unwrap(np.linalg.inv).__code__: "np.linalg.inv"}
        self.watched[inspect.unwrap(np.linalg.pinv).__code__] = "np.linalg.pinv"
        self.solve = inspect.unwrap(np.linalg.solve).__code__
        scipy_linalg = sys.modules.get("scipy.linalg")
        for name in ("inv", "pinv"):
            function = getattr(scipy_linalg, name, None)
            code = getattr(inspect.unwrap(function), "__code__", None) if function is not None else None
            if code is not None:
                self.watched[code] = f"scipy.linalg.{name}"

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        name = self.watched.get(frame.f_code)
        if name is None and frame.f_code is self.solve and _identity(frame.f_locals.get("b")):
            name = "np.linalg.solve(A, I)"
        if name is not None and name not in self.used:
            self.used.append(name)

    def __enter__(self) -> InverseWatch:
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        hook = sys.getprofile()
        sys.setprofile(self._previous)
        if getattr(hook, "__self__", None) is not self:
            self.tampered = True

    def report(self) -> dict[str, Any]:
        return {"used": list(self.used), "tampered": self.tampered}


def _identity(value: Any) -> bool:
    """Whether `value` is a square identity matrix of size at least 2 (a solve with it forms an inverse)."""
    try:
        array = np.asarray(value)
        return array.ndim == 2 and array.shape[0] == array.shape[1] > 1 and np.array_equal(array, np.eye(len(array)))
    except (TypeError, ValueError):
        return False


def _judge_no_inverse(call: str, report: Any, given: str) -> None:
    """Fail when solve_vjp formed A⁻¹ (or switched the watch off): the notebook says never to."""
    if not isinstance(report, dict):
        raise failure(call, "could not be checked: the record of this test is damaged.")
    used = [str(u) for u in report.get("used") or []]
    if used:
        raise failure(
            call,
            f"called {', '.join(used)}: it formed A⁻¹ (or a pseudo-inverse), which this exercise must never do.",
            given=given,
            mistake=INVERSE_FORMED,
        )
    if report.get("tampered"):
        raise failure(call, "switched off the grader's watch on np.linalg.inv while it ran.", given=given)


@by_value()
def _solve_gradients(A: np.ndarray, b: np.ndarray, gx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """The gradients of <gx, solve(A, b)> in A and in b by finite differences (kept per process by value)."""
    want_a = central_gradient(lambda a: float(gx @ np.linalg.solve(a, b)), A, h=1e-4)
    want_b = central_gradient(lambda c: float(gx @ np.linalg.solve(A, c)), b, h=1e-4)
    return want_a, want_b


def _solve_case(student: Callable, arrays: dict) -> None:
    A, b, x, gx = arrays["A"], arrays["b"], arrays["x"], arrays["gx"]

    def observe() -> dict:
        with InverseWatch() as watch:
            result = _observe_call(student, {k: v.copy() for k, v in arrays.items()})
        return {**result, "inverse": watch.report()}

    call = "solve_vjp(A, b, x, gx)"
    given = f"A = {show(A, 90)}, b = {show(b, 50)}, x = A⁻¹ b = {show(x, 50)}, gx = {show(gx, 50)}"

    def judge(obs: Observation) -> None:
        _judge_unchanged(call, obs.value["changed"])
        _judge_no_inverse(call, obs.value.get("inverse"), given)
        dA, db = _pair(obs.value["out"], call, ("dA", "db"))
        want_a, want_b = _solve_gradients(A, b, gx)
        _swapped(call, (dA, db), (want_a, want_b), ("dA = -λ xᵀ", "db = λ"), given, SOLVE_PAIR_SWAPPED)
        lam = np.linalg.solve(A, gx)  # without the transpose: the likely mistake
        wrong_b = [(SOLVE_WITHOUT_TRANSPOSE, lam), (SOLVE_PAIR_SWAPPED, want_a)]
        compare_array(call, "db (the second entry)", db, want_b, given, wrong_b, 1e-7)
        wrong_a = [
            (SOLVE_WITHOUT_TRANSPOSE, -np.outer(lam, x)),
            (DA_SIGN, -want_a),
            (DA_TRANSPOSED, want_a.T),
            (SOLVE_PAIR_SWAPPED, want_b),
        ]
        compare_array(call, "dA (the first entry)", dA, want_a, given, wrong_a, 1e-7)

    Case(call, given).run(observe, judge)


def _large_arrays(seed: int, n: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """The large system of `_solve_large` and its random directions U (for dA) and u (for db)."""
    system = _system(seed + 11, n)
    generator = rng(seed + 12)
    return system, generator.normal(size=(n, n)), generator.normal(size=n)


@lru_cache(maxsize=16)
def _large_truth(seed: int, n: int) -> tuple[float, float, dict[str, float]]:
    """<dA, U> and <db, u> by directional derivatives, and their values for the untransposed solve
    (kept per process: every submission meets the same large system)."""
    system, U, u = _large_arrays(seed, n)
    A, b, gx = system["A"], system["b"], system["gx"]
    want_a = float(directional_derivative(lambda a: gx @ np.linalg.solve(a, b), A, U, h=1e-4))
    want_b = float(directional_derivative(lambda c: gx @ np.linalg.solve(A, c), b, u, h=1e-4))
    lam = np.linalg.solve(A, gx)  # without the transpose: <-λ xᵀ, U> and <λ, u> of that mistake
    untransposed = {"dA": float(np.sum(-np.outer(lam, system["x"]) * U)), "db": float(lam @ u)}
    return want_a, want_b, untransposed


def _solve_large(student: Callable, seed: int, n: int) -> None:
    def arrays() -> tuple[dict, np.ndarray, np.ndarray]:
        return _large_arrays(seed, n)

    def observe() -> dict:
        system, U, u = arrays()
        with InverseWatch() as watch:
            result = _observe_call(student, system)
        out = result["out"]
        shapes = [list(np.shape(o)) for o in out] if isinstance(out, list | tuple) and len(out) == 2 else None
        inner = None
        if shapes == [[n, n], [n]]:
            inner = [float(np.sum(np.asarray(out[0], float) * U)), float(np.sum(np.asarray(out[1], float) * u))]
        return {"shapes": shapes, "inner": inner, "changed": result["changed"], "inverse": watch.report()}

    call = "solve_vjp(A, b, x, gx)"
    given = f"a random well-conditioned non-symmetric A of shape ({n}, {n})"

    def judge(obs: Observation) -> None:
        _judge_unchanged(call, obs.value["changed"])
        _judge_no_inverse(call, obs.value.get("inverse"), given)
        if obs.value["shapes"] != [[n, n], [n]]:
            raise failure(
                call,
                f"should return (dA, db) of shapes ({n}, {n}) and ({n},), got shapes {obs.value['shapes']}.",
                given=given,
            )
        want_a, want_b, untransposed = _large_truth(seed, n)
        for what, got, want in (("dA", obs.value["inner"][0], want_a), ("db", obs.value["inner"][1], want_b)):
            got_value = real_scalar(got, call)
            if mismatch(got_value, want, 1e-6 * (1 + abs(want))):
                raise failure(
                    call,
                    f"fails the dot-product test for {what}: <{what}, U> must equal the directional derivative of "
                    "<gx, A⁻¹ b> along a random U.",
                    expected=want,
                    got=got_value,
                    given=given,
                    mistake=diagnose(
                        got_value,
                        [(SOLVE_WITHOUT_TRANSPOSE, untransposed[what])],
                        tolerance=1e-6 * (1 + abs(want)),
                        truth=want,
                    ),
                )

    Case(call, given).run(observe, judge)
