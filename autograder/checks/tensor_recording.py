"""Checks for unit 05: the `Tensor` records an operation only when one of its inputs requires grad.

PyTorch's rule (its "Autograd mechanics" note): an operation's result requires grad if one of its
inputs does; if none does, nothing is recorded and the result has no graph behind it. The check builds
leaves with a chosen `requires_grad` mask, evaluates an expression with the student's `Tensor` and
observes, without relying on how the student names the graph's attributes:

* whether the result requires grad (`bool(out.requires_grad)`);
* which leaves are still alive once every reference the check holds to them is dropped (weak
  references and `gc.collect()`): a leaf that enters the expression only through operations none of
  whose inputs requires grad must be freed, since no recorded parent or backward closure keeps it;
* after `backward()` (only when the result requires grad), the `.grad` of every leaf.

The judge decides from a trace of the same expression on plain arrays (`_Traced`): its values, which
results must require grad, which leaves nothing may keep; gradients come from fourth-order central
differences of the forward function, never from a second implementation.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from autograder.checks.kit.dependencies import depends_on, prefixed
from autograder.checks.vjp.cases import compare_array, tensor_given, unbroadcast_dependency
from autograder.compare import mismatch, real_scalar
from autograder.feedback import CheckFailure, Mistake, failure, raised
from autograder.finite_differences import central_gradient
from autograder.inputs import random_point, rng
from autograder.runtime import Observation, run_check

RULE = "section 2 (`Tensor`: reverse mode on numpy arrays) of 05_vjp.ipynb"
LECTURE = "section 11 (What PyTorch records) of notebooks/05_vjp.ipynb"
RECORDS_WITHOUT_GRAD = Mistake(
    "records when nothing requires grad",
    "an operation none of whose inputs requires grad records nothing: its result gets no parents and no "
    "backward closure (so its inputs can be freed), as in PyTorch.",
    LECTURE,
)
REQUIRES_GRAD_NOT_PROPAGATED = Mistake(
    "result does not require grad when a parent does",
    "an operation's result requires grad as soon as one of its inputs does: requires_grad = any(parent "
    "requires grad), or later operations on it record nothing and the gradient never reaches the leaves.",
    LECTURE,
)
REQUIRES_GRAD_WITHOUT_PARENT = Mistake(
    "result requires grad though no input does",
    "requires_grad propagates from the inputs: when none of them requires grad, the result does not either.",
    LECTURE,
)
GRAD_WITHOUT_REQUIRES_GRAD = Mistake(
    "a .grad on a tensor that does not require grad",
    "backward() stores a .grad only on the leaves created with requires_grad=True; a tensor that does not "
    "require grad keeps .grad None, as in PyTorch.",
    RULE,
)


class _Traced:
    """An expression evaluated on plain arrays, with what the recording rule implies for each result:
    `requires` (must it require grad) and `holds` (the leaves that the result may keep alive)."""

    __array_ufunc__ = None

    def __init__(self, data: Any, requires: bool = False, holds: frozenset[str] = frozenset()) -> None:
        self.data = np.asarray(data, dtype=float)
        self.requires = requires
        self.holds = holds

    @staticmethod
    def lift(other: Any) -> _Traced:
        return other if isinstance(other, _Traced) else _Traced(other)

    @staticmethod
    def op(data: Any, *inputs: _Traced) -> _Traced:
        """The result of an operation: recorded (holding its inputs) only when an input requires grad."""
        if not any(i.requires for i in inputs):
            return _Traced(data)
        return _Traced(data, True, frozenset().union(*(i.holds for i in inputs)))

    def _binary(self, other: Any, f: Callable, reflected: bool = False) -> _Traced:
        o = _Traced.lift(other)
        a, b = (o, self) if reflected else (self, o)
        return _Traced.op(f(a.data, b.data), a, b)

    def __add__(self, o: Any) -> _Traced:
        return self._binary(o, np.add)

    def __radd__(self, o: Any) -> _Traced:
        return self._binary(o, np.add, True)

    def __sub__(self, o: Any) -> _Traced:
        return self._binary(o, np.subtract)

    def __rsub__(self, o: Any) -> _Traced:
        return self._binary(o, np.subtract, True)

    def __mul__(self, o: Any) -> _Traced:
        return self._binary(o, np.multiply)

    def __rmul__(self, o: Any) -> _Traced:
        return self._binary(o, np.multiply, True)

    def __truediv__(self, o: Any) -> _Traced:
        return self._binary(o, np.divide)

    def __rtruediv__(self, o: Any) -> _Traced:
        return self._binary(o, np.divide, True)

    def __matmul__(self, o: Any) -> _Traced:
        return self._binary(o, np.matmul)

    def __neg__(self) -> _Traced:
        return _Traced.op(-self.data, self)

    def sum(self, axis: int | None = None) -> _Traced:
        return _Traced.op(self.data.sum(axis=axis), self)

    def mean(self) -> _Traced:
        return _Traced.op(self.data.mean(), self)

    def exp(self) -> _Traced:
        return _Traced.op(np.exp(self.data), self)

    def log(self) -> _Traced:
        return _Traced.op(np.log(self.data), self)

    def tanh(self) -> _Traced:
        return _Traced.op(np.tanh(self.data), self)

    def relu(self) -> _Traced:
        return _Traced.op(np.maximum(self.data, 0.0), self)

    def reshape(self, *shape: Any) -> _Traced:
        return _Traced.op(self.data.reshape(*shape), self)

    @property
    def T(self) -> _Traced:  # noqa: N802 - numpy's name
        return _Traced.op(self.data.T, self)


RECORDING_CASES = (
    ("(a * b).sum()", {"a": (2, 3), "b": (3,)}, ()),
    ("(a * b).sum()", {"a": (2, 3), "b": (3,)}, ("a",)),
    ("((a.exp() + b) * c).sum()", {"a": (3,), "b": (2, 3), "c": (2, 3)}, ("c",)),
    ("((x @ w + b).tanh() * c).sum()", {"x": (4, 3), "w": (3, 2), "b": (2,), "c": (4, 2)}, ("w", "b")),
    ("(a / ((b * b + 1).log() + 1) - c.sum(axis=0)).mean()", {"a": (2, 3), "b": (2, 3), "c": (4, 3)}, ("a",)),
    ("(a.T.reshape((6,)) * b.relu()).sum()", {"a": (2, 3), "b": (6,)}, ("b",)),
    ("(2.5 * a - 1 + b / 4).sum()", {"a": (3,), "b": (3,)}, ()),
    ("(a.relu() @ b - c).sum()", {"a": (2, 3), "b": (3, 2), "c": (2, 2)}, ("a", "b", "c")),
)
"""(expression, shapes of its variables, the variables that require grad): the hidden test runs each
with this mask and with a random one."""


def _expression(text: str, names: Sequence[str]) -> Callable:
    return eval(compile(f"lambda {', '.join(names)}: {text}", f"<{text}>", "eval"), {"__builtins__": {}})  # noqa: S307


def check_tensor_recording(
    Tensor: Callable,  # noqa: N803
    expr: str | None = None,
    shapes: dict | None = None,
    requires: Sequence[str] = (),
    *,
    seed: int | None = None,
    unbroadcast: Callable | None = None,
) -> None:
    """Check that Tensor records an operation only when an input requires grad: build each variable
    of `expr` as Tensor(data, requires_grad=<name in requires>), evaluate `expr`; its result must
    require grad exactly when a variable it depends on through recorded operations does, a variable
    used only by operations that record nothing must not be kept alive by the result, and after
    backward() (when the result requires grad) the variables in `requires` get the finite-difference
    gradient while the others keep .grad None. With a seed, every case of `RECORDING_CASES`, each with
    its own mask and with a random one.

    `unbroadcast`, the student's (which their Tensor calls), is checked first on its own: when it is
    wrong and this check fails, the message starts with "`unbroadcast` fails above: fix it first."
    """
    __tracebackhide__ = True
    first = depends_on("unbroadcast", unbroadcast_dependency(unbroadcast)) if unbroadcast is not None else None
    if seed is None:
        cases = [(expr, dict(shapes or {}), tuple(requires))]
    else:
        cases = []
        for k, (text, sizes, mask) in enumerate(RECORDING_CASES):
            cases.append((text, sizes, mask))
            chosen = rng(seed * 100 + 50 + k).integers(0, 2, size=len(sizes))
            cases.append((text, sizes, tuple(n for n, c in zip(sizes, chosen, strict=True) if c)))
    base = 0 if seed is None else seed
    try:
        with _older_objects_frozen():
            for k, (text, sizes, mask) in enumerate(cases):
                _recording_case(Tensor, text, sizes, mask, base * 100 + k)
    except CheckFailure as error:
        if first:
            raise prefixed(error, first) from None
        raise


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Within the block, `gc.collect()` scans only the objects created in it (`gc.freeze()`).

    A full collection walks every object of the process (SymPy, numpy, IPython: about 90 ms each
    time); the reference cycles that can keep a leaf alive are made of the Tensors, closures and
    arrays the check's own expressions create, all of them newer than the block's start. Objects
    frozen by someone else before (a fork server's `gc.freeze()`) stay frozen.
    """
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def _values(seed: int, shapes: dict) -> dict[str, np.ndarray]:
    generator = rng(seed)
    return {n: np.round(random_point(generator, s, -2.0, 2.0, avoid=(0.0,), margin=0.2), 3) for n, s in shapes.items()}


def _observe_expression(student: Callable, function: Callable, values: dict, mask: Sequence[str]) -> dict:
    """Evaluate with the student's Tensor; record requires_grad, the grads, and which leaves the result
    keeps alive once the check has dropped its own references to them."""
    names = list(values)
    leaves = {n: student(values[n].copy(), requires_grad=n in mask) for n in names}
    try:
        refs: dict[str, Any] = {n: weakref.ref(leaf) for n, leaf in leaves.items()}
    except TypeError:  # a Tensor without weak references (__slots__): liveness is not observed
        refs = {}
    out = function(*leaves.values())
    requires = bool(out.requires_grad)
    if requires:
        out.backward()
    grads = {n: None if leaf.grad is None else np.asarray(leaf.grad) for n, leaf in leaves.items()}
    value = np.asarray(out.data)
    del leaves
    if any(ref() is not None for ref in refs.values()):  # only reference cycles are left to collect
        gc.collect()
    alive = {n: ref() is not None for n, ref in refs.items()}
    return {"value": value, "requires": requires, "grads": grads, "alive": alive if refs else None}


def _recording_case(student: Callable, text: str, shapes: dict, mask: Sequence[str], seed: int) -> None:
    names = list(shapes)
    values = _values(seed, shapes)
    function = _expression(text, names)

    def observe() -> dict:
        return _observe_expression(student, function, values, mask)

    def judge(obs: Observation) -> None:
        call = f"{text}, then backward()" if mask else text
        given = tensor_given(values, requires=mask)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        leaves = {n: _Traced(values[n], n in mask, frozenset({n})) for n in names}
        traced = function(*leaves.values())
        got_value = real_scalar(obs.value["value"], f"{text} (its .data)")
        if mismatch(got_value, float(traced.data), 1e-10 * (1 + abs(float(traced.data)))):
            raise failure(
                text, "the forward value (.data) is wrong.", expected=float(traced.data), got=got_value, given=given
            )
        _judge_requires(text, given, mask, traced, obs.value["requires"])
        _judge_alive(text, given, names, traced, obs.value["alive"])
        _judge_grads(call, given, names, mask, values, function, obs.value["grads"])

    run_check(observe, judge)


def _judge_requires(text: str, given: str, mask: Sequence[str], traced: _Traced, got: bool) -> None:
    want = traced.requires
    if got == want:
        return
    if want:
        raise failure(
            text,
            f"the result has requires_grad False, but {', '.join(mask)} "
            f"{'requires' if len(mask) == 1 else 'require'} grad and the result depends on "
            f"{'it' if len(mask) == 1 else 'them'}.",
            given=given,
            mistake=REQUIRES_GRAD_NOT_PROPAGATED,
        )
    why = (
        "no input requires grad"
        if not mask
        else f"only {mask[0]} requires grad and the result does not depend on it"
        if len(mask) == 1
        else f"only {', '.join(mask)} require grad and the result depends on none of them"
    )
    raise failure(
        text, f"the result has requires_grad True, but {why}.", given=given, mistake=REQUIRES_GRAD_WITHOUT_PARENT
    )


def _judge_alive(text: str, given: str, names: Sequence[str], traced: _Traced, alive: dict | None) -> None:
    if alive is None:
        return
    kept = [n for n in names if n not in traced.holds and alive.get(n)]
    if kept:
        raise failure(
            text,
            f"the result keeps {', '.join(kept)} alive (after every other reference to "
            f"{'it' if len(kept) == 1 else 'them'} was dropped), though {', '.join(kept)} only enter"
            f"{'s' if len(kept) == 1 else ''} operations none of whose inputs requires grad: such an operation "
            "must not record its inputs.",
            given=given,
            mistake=RECORDS_WITHOUT_GRAD,
        )


def _judge_grads(
    call: str,
    given: str,
    names: Sequence[str],
    mask: Sequence[str],
    values: dict,
    function: Callable,
    grads: dict,
) -> None:
    stray = [n for n in names if n not in mask and grads.get(n) is not None]
    if stray:
        raise failure(
            call,
            f"{', '.join(f'{n}.grad' for n in stray)} should stay None: "
            f"{'it does' if len(stray) == 1 else 'they do'} not require grad.",
            given=given,
            mistake=GRAD_WITHOUT_REQUIRES_GRAD,
        )
    for i, n in enumerate(names):
        if n not in mask:
            continue

        def partial(v: np.ndarray, i: int = i) -> float:
            args = [_Traced(v if j == i else values[m]) for j, m in enumerate(names)]
            return float(function(*args).data)

        want = central_gradient(partial, values[n], h=1e-4)
        got = grads.get(n)
        if got is None:
            raise failure(call, f"{n}.grad is None after backward(), though {n} requires grad.", given=given)
        compare_array(call, f"{n}.grad", got, want, given, (), 1e-7)
