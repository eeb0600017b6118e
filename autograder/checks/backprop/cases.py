"""The checks of unit 06 (the package docstring says where their truth comes from)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import mpmath
import numpy as np

from autograder.checks.backprop.mistakes import (
    CONSTANT_WEIGHTS,
    CROSS_ENTROPY_FOR_ONE,
    DB_NOT_SUMMED,
    DW_TRANSPOSED,
    EPOCH_LOSS_SUMMED,
    EXTRA_LOSS_TIMED,
    FORWARD_DIFFERENCE,
    GRADIENT_ASCENT,
    GRADIENT_SIGN,
    GRADIENT_TIMED_WITH_DIFFERENCES,
    GRADIENTS_NEVER_RESET,
    GRAPH_CUT,
    LINEAR_FORWARD,
    LISTS_NOT_SEARCHED,
    LOGITS_RETURNED,
    LOSS_SUMMED,
    MISSING_ONE_OVER_B,
    NEVER_UPDATED,
    NO_MAX_SHIFT,
    NO_RELU,
    NOT_CHAINED,
    ONE_LOSS_EXTRAPOLATED,
    ONLY_FIRST_ARRAY,
    RATIO_INVERTED,
    RELU_MASK_FORGOTTEN,
    SEED_IGNORED,
    SEVERAL_ENTRIES_CHANGED,
    SEVERAL_GRADIENTS_TIMED,
    SHARED_LAYER_TWICE,
    SIGMOID_DERIVATIVE_TWICE,
    SIGMOID_FOR_SEVERAL,
    SOFTMAX_OF_ONE_LOGIT,
    SOFTMAX_OVER_COLUMNS,
    STEP_NOT_H,
    SUBMODULES_NOT_SEARCHED,
    UNSEEDED_SHUFFLE,
    W2_TRANSPOSED_IN_HIDDEN,
    WEIGHT_NOT_TRANSPOSED,
    ZERO_GRAD_CLEARS_NOTHING,
)
from autograder.checks.kit.arrays import compare
from autograder.checks.kit.case import Case, explicit_or_table
from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.guard import guarded
from autograder.checks.kit.memo import by_value
from autograder.checks.kit.tolerance import relative_to_largest, tolerance
from autograder.checks.virtual_clock import VirtualClock
from autograder.compare import largest_gap, mismatch, real_array, real_scalar
from autograder.datasets import load_digits
from autograder.feedback import Mistake, failure, raised, show
from autograder.inputs import rng
from autograder.observations import Foreign
from autograder.oracles.finite_differences import central_gradient, directional_derivative, mp_stencil
from autograder.oracles.losses import mp_cross_entropy
from autograder.runtime import Observation, describe_error, run_check

RELATIVE = 1e-7  # against finite differences of smooth (or piecewise linear) functions
KINK_MARGIN = 0.05  # every pre-activation of a small test network is at least this far from 0
PARAMETER_KEYS = ("W1", "b1", "W2", "b2")

# --- helpers -------------------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    return describe_error(error)[:300]


def _data(value: Any) -> Any:
    """The numpy array inside a Tensor (or the value itself); None stays None."""
    if value is None:
        return None
    data = getattr(value, "data", value)
    try:
        return np.array(data, dtype=float)
    except (TypeError, ValueError):
        return data


def _compare(call: str, what: str, got: Any, want: np.ndarray, given: str, wrong: Any = ()) -> None:
    """`got` must equal `want` (a real array of its shape); a failure names the first matching mistake of
    `wrong`, else the one relation of got to want (`kit.relations`), else no cause: a hint is given only
    when the wrong value shows it."""
    compare(call, what, got, want, given, wrong, RELATIVE)


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _clean(estimate: np.ndarray) -> np.ndarray:
    """A finite-difference estimate with its rounding noise around 0 shown as 0 (far below any tolerance)."""
    return np.where(np.abs(estimate) < 1e-10, 0.0, estimate)


# --- Linear ------------------------------------------------------------------------------------------

LINEAR_CASES = ((1, 1, 1), (5, 3, 4), (3, 3, 2), (64, 32, 8), (2, 6, 1))
"""(in_features, out_features, batch) of the hidden cases."""


def check_linear(
    Linear: Callable,
    Tensor: Callable,
    in_features: int = 3,
    out_features: int = 2,
    batch: int = 4,
    *,
    seed: int | None = None,
) -> None:
    """Check Linear(in_features, out_features, seed): weight (out, in) and bias (out,) are parameters
    drawn uniformly from [-1/sqrt(in), 1/sqrt(in)] (the same seed gives the same layer), parameters()
    lists both, and layer(x) = x Wᵀ + b with gradients (for weight, bias and x) equal to finite
    differences. With a seed, every case of `LINEAR_CASES`."""
    __tracebackhide__ = True
    for (n_in, n_out, rows), case_seed in explicit_or_table(
        seed, lambda: (in_features, out_features, batch), LINEAR_CASES, 10
    ):
        _linear_case(Linear, Tensor, n_in, n_out, rows, case_seed)


def _linear_arrays(n_in: int, n_out: int, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = rng(seed)
    return np.round(generator.uniform(-2, 2, (rows, n_in)), 3), np.round(generator.uniform(-2, 2, (rows, n_out)), 3)


@by_value()
def _linear_gradients(
    X: np.ndarray,  # noqa: N803
    G: np.ndarray,  # noqa: N803
    W: np.ndarray,  # noqa: N803
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of sum(G * (X Wᵀ + b)) in W, b and X by finite differences (kept per process by
    value: a correct layer records the same seeded weights in every submission)."""
    return (
        central_gradient(lambda w: float(np.sum(G * (X @ w.T + b))), W),
        central_gradient(lambda c: float(np.sum(G * (X @ W.T + c))), b),
        central_gradient(lambda x: float(np.sum(G * (x @ W.T + b))), X),
    )


def _linear_case(student: Callable, tensor: Callable, n_in: int, n_out: int, rows: int, seed: int) -> None:
    X, G = _linear_arrays(n_in, n_out, rows, seed)

    def observe() -> dict:
        record: dict[str, Any] = {}
        try:
            layer = student(n_in, n_out, seed=seed)
            weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
            record["weight"], record["bias"] = _data(weight), _data(bias)
            record["requires_grad"] = [
                bool(getattr(weight, "requires_grad", False)),
                bool(getattr(bias, "requires_grad", False)),
            ]
            record["same_seed"] = bool(
                np.array_equal(_data(student(n_in, n_out, seed=seed).weight), record["weight"])
                and np.array_equal(_data(student(n_in, n_out, seed=seed).bias), record["bias"])
            )
            record["other_seed"] = not np.array_equal(
                _data(student(n_in, n_out, seed=seed + 1).weight), record["weight"]
            )
            labels = {id(weight): "weight", id(bias): "bias"}
            record["parameters"] = [labels.get(id(p), "another object") for p in layer.parameters()]
            x = tensor(X.copy(), requires_grad=True)
            out = layer(x)
            record["out"] = _data(out)
            (out * tensor(G)).sum().backward()
            record["grads"] = [_data(weight.grad), _data(bias.grad), _data(x.grad)]
        except Exception as error:
            record["error"] = _describe(error)
            if "out" not in record and "parameters" in record:  # the forward failed: try a square layer
                record["square"] = _square_probe(lambda: student(n_in, n_in, seed=seed), tensor, X)
        return record

    call = f"Linear({n_in}, {n_out}, seed={seed})"
    given = f"x = Tensor(X, requires_grad=True) with X = {show(X, 80)}"  # show gives X's shape

    def judge(obs: Observation) -> None:
        record = obs.value
        _judge_linear_layer(call, record, n_in, n_out)
        if "parameters" in record and sorted(record["parameters"]) != ["bias", "weight"]:
            raise failure(
                f"{call}.parameters()",
                f"should list the layer's weight and bias, each once; it listed {record['parameters']}.",
                mistake="parameters() collects every Tensor attribute with requires_grad=True (and those of "
                "submodules), each once.",
            )
        if "error" in record:
            mistake = _forward_error_mistake(record, X) if "square" in record else _linear_hint(record["error"])
            raise raised(f"{call}(x), then backward()", record["error"], given=given, mistake=mistake)
        W, b = record["weight"], record["bias"]
        wrong = [(WEIGHT_NOT_TRANSPOSED, X @ W + b)] if n_in == n_out else []
        _compare(f"{call}(x)", "the output", record["out"], X @ W.T + b, given, wrong)
        names = ("weight.grad", "bias.grad", "x.grad")
        wants = _linear_gradients(X, G, W, b)
        for name, got, want in zip(names, record["grads"], wants, strict=True):
            if got is None:
                raise failure(
                    f"{call}: out = layer(x); (out * G).sum().backward()",
                    f"{name} is None: no gradient reached it.",
                    given=given,
                    mistake=GRAPH_CUT,  # the output was right, yet no gradient came back: the graph was cut
                )
            _compare(
                f"{call}: out = layer(x); (out * G).sum().backward()",
                name,
                got,
                want,
                f"{given} and G = {show(G, 60)}",
            )

    Case(call, given).run(observe, judge)


def _square_probe(make: Callable[[], Any], tensor: Callable, X: np.ndarray) -> dict:
    """A layer of as many outputs as inputs, where x @ weight fits as well as x @ weight.T: its weight,
    bias and output on X (or nothing when it fails too)."""
    try:
        layer = make()
        return {"weight": _data(layer.weight), "bias": _data(layer.bias), "out": _data(layer(tensor(X.copy())))}
    except Exception:
        return {}


def _forward_error_mistake(record: dict, X: np.ndarray) -> Mistake | str:
    """WEIGHT_NOT_TRANSPOSED when the square layer of `_square_probe` computed x @ weight + bias."""
    probe = record.get("square") or {}
    try:
        W, b = np.asarray(probe["weight"], dtype=float), np.asarray(probe["bias"], dtype=float)
        if W.shape == (X.shape[1], X.shape[1]) and b.shape == (X.shape[1],):
            return diagnose(
                probe["out"], [(WEIGHT_NOT_TRANSPOSED, X @ W + b)], tolerance=relative_to_largest(RELATIVE)
            ) or _linear_hint(record.get("error"))
    except (KeyError, TypeError, ValueError):
        pass
    return _linear_hint(record.get("error"))


def _linear_hint(error: Any) -> str | None:
    """LINEAR_FORWARD when the error is numpy's about shapes (a product or a sum that does not fit: the
    formula's shapes are its evidence); None for any other error."""
    text = str(error or "")
    return LINEAR_FORWARD if re.search(r"matmul|not aligned|could not be broadcast", text) else None


def _judge_linear_layer(call: str, record: dict, n_in: int, n_out: int) -> None:
    W, b = record.get("weight"), record.get("bias")
    if W is None or b is None or isinstance(W, Foreign) or isinstance(b, Foreign):
        if "error" in record:
            raise raised(call, record["error"])
        raise failure(call, "should have attributes weight and bias, both Tensors.")
    if np.shape(W) == (n_in, n_out) and n_in != n_out:
        raise failure(
            call,
            f"weight has shape {np.shape(W)}, but it must be (out_features, in_features) = ({n_out}, {n_in}).",
            mistake="store W as in z = W y + b (and PyTorch's nn.Linear): one row per output.",
        )
    real_array(W, (n_out, n_in), call, "weight")
    real_array(b, (n_out,), call, "bias")
    if record.get("requires_grad") != [True, True]:
        raise failure(call, "weight and bias must be created with requires_grad=True: they are parameters.")
    bound = 1.0 / np.sqrt(n_in)
    for name, value in (("weight", W), ("bias", b)):
        if np.max(np.abs(value)) > bound * (1 + 1e-12):
            raise failure(
                call,
                f"{name} has entries outside [-1/sqrt(in_features), 1/sqrt(in_features)] = "
                f"[{-bound:.4g}, {bound:.4g}].",
                got=value,
                mistake="draw with np.random.default_rng(seed).uniform(-bound, bound, size=...).",
            )
    if not np.any(W) or (W.size >= 2 and np.ptp(W) == 0):
        raise failure(call, "every weight has the same value.", got=W, mistake=CONSTANT_WEIGHTS)
    if W.size >= 64 and np.std(W) < 0.25 * bound:
        raise failure(call, "the weights are far more concentrated than uniform on [-bound, bound].", got=W)
    if not record.get("same_seed"):
        raise failure(call, "two layers made with the same seed differ.", mistake="use np.random.default_rng(seed).")
    if not record.get("other_seed"):
        raise failure(call, "layers made with different seeds are equal.", mistake="use np.random.default_rng(seed).")


# --- ReLU, Sequential, parameters(), zero_grad() ---------------------------------------------------------

ARCHITECTURES: dict[str, tuple] = {
    "chain": ("seq", ("lin", 3, 4, 1), ("relu",), ("lin", 4, 2, 2)),
    "nested": ("seq", ("seq", ("lin", 3, 4, 3), ("relu",)), ("lin", 4, 2, 4)),
    "shared": ("seq", ("lin", 3, 3, 5), ("relu",), ("same", 0)),
    "deep": (
        "seq",
        ("lin", 4, 6, 6),
        ("relu",),
        ("seq", ("lin", 6, 5, 7), ("relu",), ("seq", ("lin", 5, 3, 8))),
        ("relu",),
        ("lin", 3, 2, 9),
    ),
    "relu": ("relu",),
}
"""Networks as nested specs: ("seq", *children), ("lin", in, out, seed), ("relu",), ("same", k): the
k-th Linear created, used again."""

ARCHITECTURE_TEXT = {
    "chain": "Sequential(Linear(3, 4, seed=1), ReLU(), Linear(4, 2, seed=2))",
    "nested": "Sequential(Sequential(Linear(3, 4, seed=3), ReLU()), Linear(4, 2, seed=4))",
    "shared": "layer = Linear(3, 3, seed=5); Sequential(layer, ReLU(), layer)",
    "deep": "Sequential(Linear(4, 6), ReLU(), Sequential(Linear(6, 5), ReLU(), Sequential(Linear(5, 3))), ReLU(), "
    "Linear(3, 2))",
    "relu": "ReLU()",
}


def _spec_dims(spec: tuple) -> tuple[int, int]:
    """(input width, output width) of a spec."""
    widths: list[int] = []
    created: list[tuple[int, int]] = []

    def walk(node: tuple) -> None:
        if node[0] == "lin":
            created.append((node[1], node[2]))
            widths.extend(node[1:3])
        elif node[0] == "same":
            widths.extend(created[node[1]])
        elif node[0] == "seq":
            for child in node[1:]:
                walk(child)

    walk(spec)
    return (widths[0], widths[-1]) if widths else (3, 3)


def _spec_forward(spec: tuple, weights: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The spec's output on plain arrays, with `weights[k]` = (W, b) of the k-th Linear created."""
    counter = [0]

    def run(node: tuple, value: np.ndarray) -> np.ndarray:
        if node[0] == "lin":
            W, b = weights[counter[0]]
            counter[0] += 1
            return value @ W.T + b
        if node[0] == "same":
            W, b = weights[node[1]]
            return value @ W.T + b
        if node[0] == "relu":
            return _relu(value)
        for child in node[1:]:
            value = run(child, value)
        return value

    return run(spec, x)


def check_sequential(
    Sequential: Callable,
    Linear: Callable,
    ReLU: Callable,
    Tensor: Callable,
    architecture: str = "chain",
    *,
    seed: int | None = None,
) -> None:
    """Check ReLU and Sequential on a network of `ARCHITECTURES` ("chain", "nested", "shared", "deep",
    "relu"): the output and every gradient (finite differences of the same network on plain arrays),
    parameters() listing every Linear's weight and bias exactly once, and zero_grad() clearing them
    so that a second backward gives the same gradients. With a seed, every architecture."""
    __tracebackhide__ = True
    for name, case_seed in explicit_or_table(seed, lambda: architecture, ARCHITECTURES, 10):
        _sequential_case(Sequential, Linear, ReLU, Tensor, name, case_seed)


def _sequential_arrays(spec: tuple, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n_in, n_out = _spec_dims(spec)
    generator = rng(seed)
    X = np.round(generator.uniform(-2, 2, (5, n_in)), 3)
    X[np.abs(X) < 0.1] = 0.5  # ReLU alone: keep its inputs off the kink
    return X, np.round(generator.uniform(-2, 2, (5, n_out)), 3)


def _sequential_case(
    sequential: Callable, linear: Callable, relu: Callable, tensor: Callable, name: str, seed: int
) -> None:
    spec = ARCHITECTURES[name]
    X, G = _sequential_arrays(spec, seed)

    def observe() -> dict:
        record: dict[str, Any] = {"stage": "building the network"}
        try:
            layers: list[Any] = []

            def build(node: tuple) -> Any:
                if node[0] == "lin":
                    layers.append(linear(node[1], node[2], seed=node[3]))
                    return layers[-1]
                if node[0] == "same":
                    return layers[node[1]]
                if node[0] == "relu":
                    return relu()
                return sequential(*[build(child) for child in node[1:]])

            model = build(spec)
            params = [(layer.weight, layer.bias) for layer in layers]
            record["weights"] = [(_data(w), _data(b)) for w, b in params]
            labels = {}
            for k, (w, b) in enumerate(params):
                labels[id(w)], labels[id(b)] = f"layer {k} weight", f"layer {k} bias"
            record["stage"] = "model.parameters()"
            record["parameters"] = [labels.get(id(p), "another object") for p in model.parameters()]
            if len(record["parameters"]) < len(labels):
                record["nesting"] = _nesting_probe(linear)
            record["stage"] = "out = model(x); (out * G).sum().backward()"
            x = tensor(X.copy(), requires_grad=True)
            try:
                out = model(x)
            except Exception:
                record["square"] = _square_network_probe(sequential, linear, relu, tensor)
                raise
            record["out"] = _data(out)
            (out * tensor(G)).sum().backward()
            record["grads"] = [(_data(w.grad), _data(b.grad)) for w, b in params]
            record["x_grad"] = _data(x.grad)
            record["stage"] = "model.zero_grad()"
            model.zero_grad()
            record["cleared"] = [all(t.grad is None or not np.any(_data(t.grad)) for t in pair) for pair in params]
            record["stage"] = "a second forward and backward after zero_grad()"
            (model(tensor(X.copy())) * tensor(G)).sum().backward()
            record["second_grads"] = [(_data(w.grad), _data(b.grad)) for w, b in params]
            del record["stage"]
        except Exception as error:
            record["error"] = _describe(error)
        return record

    call = ARCHITECTURE_TEXT[name]
    given = f"x = Tensor({show(X, 70)}, requires_grad=True), G = {show(G, 50)}"

    def judge(obs: Observation) -> None:
        record = obs.value
        if "error" in record and "weights" not in record:
            raise raised(call, record["error"], given=given)
        weights = [(np.asarray(w, float), np.asarray(b, float)) for w, b in record["weights"]]
        expected_labels = sorted(f"layer {k} {part}" for k in range(len(weights)) for part in ("weight", "bias"))
        if "parameters" in record:
            _judge_parameters(call, record["parameters"], expected_labels, name, record.get("nesting"))
        if "error" in record:
            mistake = _stage_hint(record["stage"], record["error"])
            if "square" in record:
                mistake = _square_network_mistake(record["square"]) or mistake
            raise raised(f"{call}: {record['stage']}", record["error"], given=given, mistake=mistake)
        want = _spec_forward(spec, weights, X)
        _compare(
            f"{call}(x)",
            "the output",
            record["out"],
            want,
            given,
            wrong=_chaining_mistakes(spec, weights, X),
        )
        truth = _sequential_gradients(spec, weights, X, G)
        backward_call = f"{call}: out = model(x); (out * G).sum().backward()"
        for k, ((gw, gb), (tw, tb)) in enumerate(zip(record["grads"], truth[0], strict=True)):
            for part, got, want_grad in (("weight", gw, tw), ("bias", gb, tb)):
                if got is None:
                    raise failure(
                        backward_call,
                        f"layer {k}'s {part}.grad is None: no gradient reached it.",
                        given=given,
                        mistake=GRAPH_CUT,  # the output was right, yet no gradient came back: the graph was cut
                    )
                _compare(backward_call, f"layer {k}'s {part}.grad", got, want_grad, given)
        if record["x_grad"] is None:
            raise failure(backward_call, "x.grad is None: no gradient reached the input.", given=given)
        _compare(backward_call, "x.grad", record["x_grad"], truth[1], given)
        if not all(record["cleared"]):
            raise failure(
                f"{call}: model.zero_grad()",
                "left a gradient in place (every parameter's grad must be None or zeros afterwards).",
                mistake=ZERO_GRAD_CLEARS_NOTHING
                if not any(record["cleared"])
                else "zero_grad resets every tensor that parameters() returns, nested modules included.",
            )
        for k, ((gw, gb), (tw, tb)) in enumerate(zip(record["second_grads"], truth[0], strict=True)):
            for part, got, want_grad in (("weight", gw, tw), ("bias", gb, tb)):
                _compare(
                    f"{call}: zero_grad(), then a second forward and backward",
                    f"layer {k}'s {part}.grad",
                    got,
                    want_grad,
                    given,
                    wrong=[(ACCUMULATED_TWICE, 2 * want_grad)],
                )

    Case(call, given).run(observe, judge)


ACCUMULATED_TWICE = (
    "the second backward's gradient is exactly twice the right one: a gradient kept from the first backward "
    "(of a parameter or of an intermediate tensor) was added again; after zero_grad, backward must give the "
    "gradient once."
)
"""A plain hint, given only when the second backward's .grad is exactly twice the gradient."""


SQUARE_SEEDS = (11, 12)
SQUARE_X = np.round(rng(6200).uniform(-2, 2, (5, 3)), 3)
"""The probe for a forward that failed: Sequential(Linear(3, 3, seed=11), ReLU(), Linear(3, 3, seed=12)) on
SQUARE_X, where chaining mistakes and an untransposed weight give wrong values instead of errors."""


def _square_network_probe(sequential: Callable, linear: Callable, relu: Callable, tensor: Callable) -> dict:
    try:
        first, last = (linear(3, 3, seed=s) for s in SQUARE_SEEDS)
        out = sequential(first, relu(), last)(tensor(SQUARE_X.copy()))
        return {
            "weights": [(_data(layer.weight), _data(layer.bias)) for layer in (first, last)],
            "out": _data(out),
        }
    except Exception:
        return {}


def _square_network_mistake(probe: dict) -> Mistake | None:
    """The mistake whose value the square network's output matches, if any."""
    try:
        weights = [(np.asarray(w, dtype=float), np.asarray(b, dtype=float)) for w, b in probe["weights"]]
        if any(w.shape != (3, 3) or b.shape != (3,) for w, b in weights):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    (W1, b1), (W2, b2) = weights
    wrong = [
        (NOT_CHAINED, SQUARE_X @ W2.T + b2),
        (WEIGHT_NOT_TRANSPOSED, _relu(SQUARE_X @ W1 + b1) @ W2 + b2),
    ]
    mistake = diagnose(probe.get("out"), wrong, tolerance=relative_to_largest(RELATIVE))
    return mistake if isinstance(mistake, Mistake) else None


def _chaining_mistakes(spec: tuple, weights: list, X: np.ndarray) -> list:
    """The output of a Sequential that does not chain: its last module (here always the last Linear
    created) applied to x itself, when the shapes allow it."""
    if spec[0] != "seq" or not weights or weights[-1][0].shape[1:] != X.shape[1:]:
        return []
    W, b = weights[-1]
    return [(NOT_CHAINED, X @ W.T + b)]


def _nesting_probe(linear: Callable) -> dict:
    """How many parameters a Linear reports with one more Linear attached as an attribute, and in a list
    (4 each when parameters() searches submodules and lists, 2 when it does not)."""
    found: dict[str, int] = {}
    for kind in ("attribute", "list"):
        try:
            holder, child = linear(2, 2, seed=1), linear(2, 2, seed=2)
            holder.probe_child = child if kind == "attribute" else [child]
            found[kind] = len(holder.parameters())
        except Exception:
            pass
    return found


def _stage_hint(stage: str, error: Any) -> str | None:
    """How Sequential chains, when its forward failed with numpy's shape error (a module applied to
    something other than the previous module's output does not fit); None for any other error."""
    if stage.startswith("out = model") and re.search(r"matmul|not aligned|could not be broadcast", str(error or "")):
        return "Sequential.forward applies every module in order: x = module(x) for each, then return x."
    return None


def _judge_parameters(call: str, got: Any, expected: list[str], name: str, nesting: dict | None = None) -> None:
    if not isinstance(got, list) or sorted(got) == expected:
        return
    missing = sorted(set(expected) - set(got))
    twice = sorted({label for label in got if got.count(label) > 1})
    mistake: str | Mistake | None = None
    if missing:
        mistake = (
            "parameters() must descend into every submodule, however deeply nested, and into lists or "
            "tuples of modules (Sequential keeps its modules in one)."
        )
        nesting = nesting or {}
        if nesting.get("attribute") == 2:
            mistake = SUBMODULES_NOT_SEARCHED
        elif nesting.get("attribute") == 4 and nesting.get("list") == 2:
            mistake = LISTS_NOT_SEARCHED
    elif twice:
        mistake = SHARED_LAYER_TWICE
    elif "another object" in got:
        mistake = "return the parameter Tensors themselves (not copies, not inputs or outputs)."
    problem = f"should list every Linear's weight and bias exactly once: {expected}; it listed {got}."
    if name == "relu":
        problem = f"a ReLU has no parameters, so parameters() must be []; it listed {got}."
    raise failure(f"{call}.parameters()", problem, mistake=mistake)


@by_value()
def _sequential_gradients(
    spec: tuple,
    weights: list[tuple[np.ndarray, np.ndarray]],
    X: np.ndarray,
    G: np.ndarray,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Finite differences of sum(G * network(X)) for every parameter and for X (piecewise linear:
    a small step, exact away from the kinks). Kept per process by value."""

    def value(replaced: dict[tuple[int, int], np.ndarray], x: np.ndarray = X) -> float:
        current = [tuple(replaced.get((k, j), arr) for j, arr in enumerate(pair)) for k, pair in enumerate(weights)]
        return float(np.sum(G * _spec_forward(spec, current, x)))

    grads = []
    for k, (W, b) in enumerate(weights):
        gw = central_gradient(lambda w, k=k: value({(k, 0): w}), W, h=1e-5)
        gb = central_gradient(lambda c, k=k: value({(k, 1): c}), b, h=1e-5)
        grads.append((_clean(gw), _clean(gb)))
    return grads, _clean(central_gradient(lambda x: value({}, x), X, h=1e-5))


# --- the two-layer network on plain arrays --------------------------------------------------------


def _forward(params: dict, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Z1, Z2) of the network: the definition, for the oracle."""
    Z1 = X @ params["W1"].T + params["b1"]
    return Z1, _relu(Z1) @ params["W2"].T + params["b2"]


def _output(Z2: np.ndarray) -> np.ndarray:
    if Z2.shape[1] == 1:
        return 0.5 * (1.0 + np.tanh(Z2 / 2.0))
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _loss(params: dict, X: np.ndarray, y: np.ndarray) -> float:
    """The mean divergence of the network, straight from its definition (computed stably)."""
    return _logit_loss(_forward(params, X)[1], y)


def _logit_loss(Z2: np.ndarray, y: np.ndarray) -> float:
    """The mean divergence of the output layer as a function of its logits Z2 (B, C)."""
    if Z2.shape[1] == 1:
        d = y.reshape(-1, 1).astype(float)
        return float(np.mean(np.logaddexp(0.0, Z2) - d * Z2))
    m = Z2.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(Z2 - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(lse - Z2[np.arange(len(y)), y]))


@lru_cache(maxsize=64)
def _network(
    sizes: tuple[int, int, int], batch: int, seed: int, scale: float = 1.0, margin: float = KINK_MARGIN
) -> tuple[dict, np.ndarray, np.ndarray]:
    """(params, X, y) of a random network, every pre-activation at least `margin` from 0."""
    n_in, hidden, classes = sizes
    for attempt in range(1000):
        generator = rng(seed * 1000 + attempt)
        params = {
            "W1": generator.uniform(-1, 1, (hidden, n_in)),
            "b1": generator.uniform(-1, 1, hidden),
            "W2": scale * generator.uniform(-1, 1, (classes, hidden)),
            "b2": scale * generator.uniform(-1, 1, classes),
        }
        X = generator.uniform(-1, 1, (batch, n_in))
        y = generator.integers(0, max(classes, 2), size=batch)
        if np.min(np.abs(_forward(params, X)[0])) >= margin:
            return params, X, y
    raise RuntimeError("no network away from the kinks")  # pragma: no cover


def _copies(params: dict, X: np.ndarray, y: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    return {k: v.copy() for k, v in params.items()}, X.copy(), y.copy()


def _unchanged(params: dict, X: np.ndarray, y: np.ndarray, given: tuple) -> bool:
    p, x, labels = given
    return all(np.array_equal(params[k], p[k]) for k in params) and np.array_equal(X, x) and np.array_equal(y, labels)


def _network_text(params: dict, X: np.ndarray, y: np.ndarray) -> str:
    shapes = ", ".join(f"{k} {params[k].shape}" for k in PARAMETER_KEYS)
    return f"params has shapes {shapes}; X = {show(X, 60)}; y = {show(y, 40)}"  # show gives X's shape


# --- mlp_forward ---------------------------------------------------------------------------------

FORWARD_CASES = (
    ((64, 32, 10), 16, 1.0),
    ((5, 3, 1), 4, 1.0),
    ((2, 2, 2), 1, 1.0),
    ((4, 6, 4), 3, 1000.0),
    ((3, 4, 1), 5, 1000.0),
    ((6, 8, 5), 7, 1.0),
)
"""(sizes (D, H, C), batch B, scale of the second layer) of the hidden cases; 1000 gives logits
far beyond where exp overflows."""


def check_mlp_forward(
    mlp_forward: Callable, sizes: tuple[int, int, int] = (4, 5, 3), batch: int = 2, *, seed: int | None = None
) -> None:
    """Check mlp_forward(params, X): the (B, C) output sigmoid(Z2) for C == 1, softmax rows otherwise,
    of the two-layer ReLU network; finite and without warnings for huge logits. With a seed, every case
    of `FORWARD_CASES`."""
    __tracebackhide__ = True
    for (dims, rows, scale), case_seed in explicit_or_table(
        seed, lambda: (tuple(sizes), batch, 1.0), FORWARD_CASES, 10
    ):
        _forward_case(mlp_forward, dims, rows, scale, case_seed)


def _forward_case(student: Callable, sizes: tuple, rows: int, scale: float, seed: int) -> None:
    params, X, y = _network(sizes, rows, seed, scale, margin=0.0)

    def observe() -> dict:
        given = _copies(params, X, y)
        out = student(given[0], given[1])
        return {"out": out, "unchanged": _unchanged(params, X, y, given)}

    call = "mlp_forward(params, X)"
    given = _network_text(params, X, y)

    def judge(obs: Observation) -> None:
        if obs.warnings:
            raise failure(
                call,
                f"raised a warning: {obs.warnings[0]}.",
                given=given,
                mistake="exp of a large logit overflows: subtract each row's maximum before exp, and use a "
                "stable sigmoid such as 0.5 * (1 + tanh(z / 2))."
                if "overflow" in obs.warnings[0]
                else None,
            )
        if not obs.value["unchanged"]:
            raise failure(call, "modified params or X in place.", given=given)
        Z1, Z2 = _forward(params, X)
        want = _output(Z2)
        got = obs.value["out"]
        candidates = [(LOGITS_RETURNED, Z2), (NO_RELU, _output(Z1 @ params["W2"].T + params["b2"]))]
        if Z2.shape[1] > 1:
            E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
            sigmoid = 0.5 * (1 + np.tanh(Z2 / 2))
            candidates += [(SOFTMAX_OVER_COLUMNS, E / E.sum(axis=0)), (SIGMOID_FOR_SEVERAL, sigmoid)]
        else:
            candidates.append((SOFTMAX_OF_ONE_LOGIT, np.ones_like(Z2)))
        array = real_array(got, want.shape, call, "output")  # real_array says "the output has shape ..."
        if mismatch(array, want, 1e-9):
            mistake: str | Mistake | None = diagnose(array, candidates, tolerance=relative_to_largest(1e-9))
            overflows = np.max(np.abs(Z2)) > np.log(np.finfo(float).max)  # exp of some logit is inf
            if mistake is None and not np.all(np.isfinite(array)) and overflows:
                mistake = "exp of a large logit overflows to inf: subtract each row's maximum first."
                if Z2.shape[1] > 1 and np.max(Z2) > np.log(np.finfo(float).max):
                    mistake = NO_MAX_SHIFT  # inf / inf: exp of the unshifted logits overflowed
            raise failure(
                call,
                f"the output is wrong by up to {largest_gap(array, want):.3g}.",
                expected=want,
                got=array,
                given=given,
                mistake=mistake,
            )

    Case(call, given).run(observe, judge, on_raise="Z1 = X @ W1.T + b1: W1 has shape (H, D), one row per hidden unit.")


# --- mlp_backward --------------------------------------------------------------------------------

BACKWARD_CASES = (((3, 4, 3), 2), ((5, 3, 1), 6), ((2, 6, 4), 1), ((6, 2, 2), 5), ((4, 4, 4), 3), ((3, 5, 1), 1))
"""(sizes (D, H, C), batch B) of the hidden cases checked against finite differences."""

EXACT = 1e-13  # the exact case: rounding of a correct backward is about 1e-16


def check_mlp_backward(
    mlp_backward: Callable, sizes: tuple[int, int, int] = (4, 5, 3), batch: int = 3, *, seed: int | None = None
) -> None:
    """Check mlp_backward(params, X, y) = (loss, grads): the mean loss and a gradient per parameter of
    its shape, against finite differences of the loss. With a seed: every case of `BACKWARD_CASES`, a
    case where every softmax output is exactly 1/4 (against 30-digit finite differences, tolerance
    `EXACT`), and a 64-32-10 network on 50 digits by the dot-product test."""
    __tracebackhide__ = True
    for (dims, rows), case_seed in explicit_or_table(seed, lambda: (tuple(sizes), batch), BACKWARD_CASES, 10):
        params, X, y = _network(dims, rows, case_seed)
        _backward_case(mlp_backward, params, X, y, "small")
    if seed is not None:
        params, X, y = _exact_network(seed)
        _backward_case(mlp_backward, params, X, y, "exact")
        params, X, y = _digits_network(seed)
        _backward_case(mlp_backward, params, X, y, "digits")


@lru_cache(maxsize=8)
def _exact_network(seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Integer X and W1, half-integer b1, four equal rows of W2 and equal b2: every logit of a row is the
    same, so the softmax is exactly 1/4 and a correct backward is exact to a few roundings."""
    generator = rng(seed + 17)
    row = generator.integers(-2, 3, size=4).astype(float)
    row[row == 0] = 1.0
    params = {
        "W1": generator.integers(-2, 3, size=(4, 3)).astype(float),
        "b1": generator.integers(-2, 2, size=4) + 0.5,
        "W2": np.tile(row, (4, 1)),
        "b2": np.full(4, 1.0),
    }
    X = generator.integers(-2, 3, size=(4, 3)).astype(float)
    return params, X, generator.integers(0, 4, size=4)


@lru_cache(maxsize=8)
def _digits_network(seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """A 64-32-10 network on 50 digits, every pre-activation at least 1e-3 from the kink."""
    images, labels = _digits()
    for attempt in range(2000):  # about 1 draw in 70 keeps every pre-activation away from the kink
        generator = rng(seed * 100 + attempt)
        rows = generator.permutation(len(images))[:50]
        params = {
            "W1": generator.uniform(-0.125, 0.125, (32, 64)),
            "b1": generator.uniform(-0.125, 0.125, 32),
            "W2": generator.uniform(-0.18, 0.18, (10, 32)),
            "b2": generator.uniform(-0.18, 0.18, 10),
        }
        X = images[rows]
        if np.min(np.abs(_forward(params, X)[0])) >= 1e-3:
            return params, X, labels[rows]
    raise RuntimeError("no network away from the kinks")  # pragma: no cover


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_digits()
    return images.reshape(len(images), 64) / 16.0, labels


def _mp_loss(params: dict, X: np.ndarray, y: np.ndarray, replaced: tuple[str, int, Any] | None = None) -> Any:
    """The mean cross-entropy in mpmath from its definition, with one entry optionally replaced."""
    p = {k: [mpmath.mpf(float(v)) for v in params[k].ravel()] for k in PARAMETER_KEYS}
    if replaced:
        p[replaced[0]][replaced[1]] = replaced[2]
    hidden, n_in = params["W1"].shape
    classes = params["W2"].shape[0]
    logits = []
    for row in X:
        h = [
            max(mpmath.fsum(p["W1"][j * n_in + i] * float(row[i]) for i in range(n_in)) + p["b1"][j], 0)
            for j in range(hidden)
        ]
        logits.append(
            [mpmath.fsum(p["W2"][c * hidden + j] * h[j] for j in range(hidden)) + p["b2"][c] for c in range(classes)]
        )
    return mp_cross_entropy(logits, y)


@by_value()
def _mp_gradient(params: dict, X: np.ndarray, y: np.ndarray, h: str = "1e-12") -> dict:
    """The gradients of the 30-digit mean cross-entropy by the fourth-order stencil (kept per process by
    value: every submission meets the same hidden networks)."""
    grads = {}
    with mpmath.workdps(30):
        for key in PARAMETER_KEYS:
            grad = np.empty(params[key].shape)
            for i in range(params[key].size):
                centre = mpmath.mpf(float(params[key].flat[i]))
                grad.flat[i] = mp_stencil(
                    lambda t, key=key, i=i, centre=centre: _mp_loss(params, X, y, (key, i, centre + t)), h
                )
            grads[key] = grad
    return grads


def _backward_case(student: Callable, params: dict, X: np.ndarray, y: np.ndarray, kind: str) -> None:
    def observe() -> dict:
        given = _copies(params, X, y)
        try:
            out = student(*given)
        except Exception as error:  # a probe on a network with square W2, where dZ2 @ W2.T does not raise
            return {"error": _describe(error), "square": _guarded_call(student, *_copies(*_square_backward()))}
        return {"out": out, "unchanged": _unchanged(params, X, y, given)}

    def judge(obs: Observation) -> None:
        call = "mlp_backward(params, X, y)"
        given = _network_text(params, X, y)
        if kind == "digits":
            given = "a 64-32-10 network on 50 digits (X of shape (50, 64))"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        if "error" in obs.value:
            raise raised(call, obs.value["error"], given=given, mistake=_square_backward_mistake(obs.value["square"]))
        if obs.warnings:
            raise failure(call, f"raised a warning: {obs.warnings[0]}.", given=given)
        if not obs.value["unchanged"]:
            raise failure(call, "modified params, X or y in place.", given=given)
        out = obs.value["out"]
        if isinstance(out, dict):
            raise failure(call, "returned only a dict: it must return (loss, grads).", given=given)
        if not (isinstance(out, list | tuple) and len(out) == 2):
            raise failure(call, f"should return (loss, grads), but returned {show(out, 100)}.", given=given)
        loss, grads = out
        want_loss = float(_mp_loss(params, X, y)) if kind == "exact" else _loss(params, X, y)
        got_loss = real_scalar(loss, f"{call} (the loss)")
        if mismatch(got_loss, want_loss, 1e-9 * (1 + abs(want_loss))):
            batch = len(y)
            mistake = LOSS_SUMMED if abs(got_loss - batch * want_loss) < 1e-6 * (1 + abs(batch * want_loss)) else None
            raise failure(call, "the loss is wrong.", expected=want_loss, got=got_loss, given=given, mistake=mistake)
        if not isinstance(grads, dict) or sorted(map(str, grads)) != sorted(PARAMETER_KEYS):
            keys = sorted(map(str, grads)) if isinstance(grads, dict) else show(grads, 60)
            raise failure(call, f"grads must be a dict with the keys W1, b1, W2, b2; got {keys}.", given=given)
        if kind == "exact":
            truth = _mp_gradient(params, X, y)
        elif kind == "digits":
            truth = None
        else:
            truth = {
                k: _clean(central_gradient(lambda v, k=k: _loss({**params, k: v}, X, y), params[k]))
                for k in PARAMETER_KEYS
            }
        for key in ("b2", "W2", "b1", "W1"):
            _judge_shape(call, key, grads[key], params, len(y), given)
        if kind == "digits":
            _judge_directional(call, grads, params, X, y, given)
            return
        for key in ("b2", "W2", "b1", "W1"):
            got = real_array(grads[key], params[key].shape, call, f"grads[{key!r}]")
            want = truth[key]
            allowed = EXACT * (1.0 + np.abs(want)) if kind == "exact" else tolerance(want, RELATIVE)
            if mismatch(got, want, allowed):
                if kind == "exact" and not mismatch(got, want, tolerance(want, RELATIVE)):
                    raise failure(
                        call,
                        f"grads[{key!r}] is off by {largest_gap(got, want):.3g} on a case where every softmax output "
                        "is exactly 1/4 and backpropagation is exact to rounding (about 1e-16).",
                        expected=want,
                        got=got,
                        given=given,
                        mistake="finite differences are approximate; compute the gradient with the backward formulas.",
                    )
                right = {"b1": " (grads['b2'] and grads['W2'] are right)", "W1": " (the other three are right)"}
                raise failure(
                    call,
                    f"grads[{key!r}] is wrong by up to {largest_gap(got, want):.3g}{right.get(key, '')}.",
                    expected=want,
                    got=got,
                    given=given,
                    mistake=_backward_mistake(key, got, want, params, X, y),
                )

    run_check(observe, judge)


def _judge_shape(call: str, key: str, got: Any, params: dict, batch: int, given: str) -> None:
    shape = params[key].shape
    got_shape = np.shape(got) if not isinstance(got, Foreign) and got is not None else None
    if got_shape == shape:
        return
    if key.startswith("W") and got_shape == shape[::-1]:
        raise failure(
            call,
            f"grads[{key!r}] has shape {got_shape}, the transpose of {key}'s {shape}.",
            given=given,
            mistake=DW_TRANSPOSED,
        )
    if key.startswith("b") and got_shape == (batch, shape[0]):
        raise failure(
            call,
            f"grads[{key!r}] has shape {got_shape}: one row per example.",
            given=given,
            mistake=DB_NOT_SUMMED,
        )
    real_array(got, shape, call, f"grads[{key!r}]")


def _backward_mistake(key: str, got: np.ndarray, want: np.ndarray, params: dict, X: np.ndarray, y: np.ndarray) -> Any:
    """The mistake whose gradient `got` (of parameter `key`) matches, else None (the failure then gives the
    one relation of got to the truth, if any: no guessed cause).

    The wrong gradients come from oracles: dZ2 and dY1, the gradients of the loss with respect to the
    logits and to the hidden activations, are finite differences of the loss as a function of them.
    """
    batch, classes = len(y), params["W2"].shape[0]
    wrong: list[tuple[Mistake, np.ndarray]] = []
    if batch > 1:
        wrong.append((MISSING_ONE_OVER_B, batch * want))
    wrong.append((GRADIENT_SIGN, -want))
    if got.ndim == 2 and got.shape == got.T.shape:
        wrong.append((DW_TRANSPOSED, want.T))
    Z1, Z2 = _forward(params, X)
    Y1 = _relu(Z1)
    if key in ("b2", "W2") and classes == 1:
        s = _output(Z2)
        dZ2 = _logit_gradient(Z2, y) * s * (1.0 - s)
        wrong.append((SIGMOID_DERIVATIVE_TWICE, dZ2.sum(axis=0) if key == "b2" else dZ2.T @ Y1))
    if key in ("b1", "W1"):
        dY1 = central_gradient(lambda v: _logit_loss(v @ params["W2"].T + params["b2"], y), Y1)
        wrong.append((RELU_MASK_FORGOTTEN, dY1.sum(axis=0) if key == "b1" else dY1.T @ X))
        if params["W2"].shape[0] == params["W2"].shape[1]:
            dZ1 = (_logit_gradient(Z2, y) @ params["W2"].T) * (Z1 > 0)
            wrong.append((W2_TRANSPOSED_IN_HIDDEN, dZ1.sum(axis=0) if key == "b1" else dZ1.T @ X))
    return diagnose(got, wrong, tolerance=relative_to_largest(1e-6))


def _logit_gradient(Z2: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dZ2, the gradient of the loss with respect to the logits, by finite differences (an oracle)."""
    return central_gradient(lambda z: _logit_loss(z, y), Z2)


def _square_backward() -> tuple[dict, np.ndarray, np.ndarray]:
    """The probe network for a backward that raised: W2 is square (C = H = 4), so that dZ2 @ W2.T fits."""
    return _network((3, 4, 4), 3, 6499)


def _guarded_call(student: Callable, *args: Any) -> Any:
    """student(*args), or None when it raises (a probe must never raise)."""
    try:
        return student(*args)
    except Exception:
        return None


def _square_backward_mistake(out: Any) -> Mistake | None:
    """W2_TRANSPOSED_IN_HIDDEN when the probe's grads["b1"] is the one that dY1 = dZ2 @ W2.T gives."""
    if not (isinstance(out, list | tuple) and len(out) == 2 and isinstance(out[1], dict)):
        return None
    params, X, y = _square_backward()
    Z1, Z2 = _forward(params, X)
    dZ1 = (_logit_gradient(Z2, y) @ params["W2"].T) * (Z1 > 0)
    mistake = diagnose(
        out[1].get("b1"), [(W2_TRANSPOSED_IN_HIDDEN, dZ1.sum(axis=0))], tolerance=relative_to_largest(1e-6)
    )
    return mistake if isinstance(mistake, Mistake) else None


def _judge_directional(call: str, grads: dict, params: dict, X: np.ndarray, y: np.ndarray, given: str) -> None:
    generator = rng(int(X.shape[0]) * 7 + 1)
    for key in PARAMETER_KEYS:
        direction = generator.normal(size=params[key].shape)
        got = float(np.sum(real_array(grads[key], params[key].shape, call, f"grads[{key!r}]") * direction))
        want = float(
            directional_derivative(lambda v, key=key: _loss({**params, key: v}, X, y), params[key], direction, h=1e-6)
        )
        if mismatch(got, want, 1e-6 * (1 + abs(want))):
            raise failure(
                call,
                f"fails the dot-product test for grads[{key!r}]: <grads[{key!r}], U> must equal the derivative "
                f"of the loss along a random direction U of {key}.",
                expected=want,
                got=got,
                given=given,
            )


# --- train -----------------------------------------------------------------------------------------

TASKS = {
    "two or not two": {"sizes": (64, 16, 1), "epochs": 3, "lr": 0.5, "accuracy": 0.97, "first_loss": 1.0},
    "ten digits": {"sizes": (64, 64, 10), "epochs": 12, "lr": 0.2, "accuracy": 0.95, "first_loss": 3.0},
}
"""The training runs of the tests: network sizes, epochs, learning rate, the held-out accuracy the
trained network must reach, and a bound on the first epoch's mean loss."""

TRAIN_SECONDS = 4.0  # wall-clock guard of one call of train (a correct one takes well under a second)
SPLIT = 1437  # the fixed split of the notebook: rows rng(0).permutation(1797)[:1437] train, the rest held out


class _Watch:
    """What a training loop did to the parameters of a `_Network` (for diagnoses; never raises).

    `counts`: "clears" (a grad set to None or zeros), "stacked" (a grad set while an earlier nonzero one
    was still there: gradients accumulated across steps), "updates" (data assigned), "descent" and
    "ascent" (an update of -lr * grad or +lr * grad, among the first `CHECKED` updates).
    `batch_losses`: the mean loss of every forward pass on training rows, computed here from the logits.
    """

    CHECKED = 16

    def __init__(self, lr: float, rows: np.ndarray, targets: np.ndarray) -> None:
        self.lr = lr
        self.counts = dict.fromkeys(("clears", "stacked", "updates", "descent", "ascent"), 0)
        self.batch_losses: list[float] = []
        self.weights = rng(0).integers(1, 2**62, size=rows.shape[1])
        self.targets = dict(zip(self._keys(rows).tolist(), targets.tolist(), strict=True))
        self.recording = True

    def _keys(self, rows: np.ndarray) -> np.ndarray:
        """An integer hash of every row of digits (pixel values are multiples of 1/16), exact arithmetic."""
        return np.rint(rows * 16).astype(np.int64) @ self.weights

    def grad_set(self, old: Any, new: Any) -> None:
        try:
            if old is None or not np.any(old):
                return
            if new is None or not np.any(new):
                self.counts["clears"] += 1
            else:
                self.counts["stacked"] += 1
        except Exception:
            pass

    def data_set(self, old: Any, new: Any, grad: Any) -> None:
        try:
            self.counts["updates"] += 1
            if grad is None or self.counts["updates"] > self.CHECKED:
                return
            step, g = np.asarray(new, dtype=float) - np.asarray(old, dtype=float), np.asarray(grad, dtype=float)
            if step.shape == g.shape and np.any(g):
                if np.allclose(step, -self.lr * g, rtol=1e-6, atol=1e-12):
                    self.counts["descent"] += 1
                elif np.allclose(step, self.lr * g, rtol=1e-6, atol=1e-12):
                    self.counts["ascent"] += 1
        except Exception:
            pass

    def forward(self, x: Any, logits: Any) -> None:
        if not self.recording:
            return
        try:
            rows = np.asarray(getattr(x, "data", x), dtype=float)
            targets = np.array([self.targets[key] for key in self._keys(rows).tolist()])
            self.batch_losses.append(_logit_loss(np.asarray(logits.data, dtype=float), targets))
        except Exception:
            pass

    def report(self) -> dict:
        return {"counts": dict(self.counts), "batch_losses": list(self.batch_losses)}


def _watched(tensor: Callable, watch: _Watch) -> Callable:
    """A subclass of the notebook's Tensor whose grad and data assignments `watch` sees."""

    class Watched(tensor):  # type: ignore[misc, valid-type]
        @property
        def grad(self) -> Any:
            return self.__dict__.get("_watched_grad")

        @grad.setter
        def grad(self, value: Any) -> None:
            watch.grad_set(self.__dict__.get("_watched_grad"), value)
            self.__dict__["_watched_grad"] = value

        @property
        def data(self) -> Any:
            return self.__dict__.get("_watched_data")

        @data.setter
        def data(self, value: Any) -> None:
            if "_watched_data" in self.__dict__:
                watch.data_set(self.__dict__["_watched_data"], value, self.__dict__.get("_watched_grad"))
            self.__dict__["_watched_data"] = value

    return Watched


class _Network:
    """The model the tests hand to train: Linear-ReLU-...-Linear on the notebook's Tensor, with the
    interface of the unit's modules (parameters(), zero_grad(), calling it on a Tensor). With a
    `_Watch`, its parameters report how they are updated and every forward pass its loss."""

    def __init__(self, tensor: Callable, sizes: Sequence[int], seed: int, watch: _Watch | None = None) -> None:
        generator = rng(seed)
        self.watch = watch
        if watch is not None:
            tensor = _watched(tensor, watch)
        self.layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / np.sqrt(n_in)
            weight = tensor(generator.uniform(-bound, bound, (n_out, n_in)), requires_grad=True)
            bias = tensor(generator.uniform(-bound, bound, n_out), requires_grad=True)
            self.layers.append((weight, bias))

    def parameters(self) -> list:
        return [t for pair in self.layers for t in pair]

    def zero_grad(self) -> None:
        for t in self.parameters():
            t.grad = None

    def __call__(self, x: Any) -> Any:
        given = x
        for k, (weight, bias) in enumerate(self.layers):
            x = x @ weight.T + bias
            if k < len(self.layers) - 1:
                x = x.relu()
        if self.watch is not None:
            self.watch.forward(given, x)
        return x

    forward = __call__


def _split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, labels = _digits()
    order = rng(0).permutation(len(X))
    return X[order[:SPLIT]], labels[order[:SPLIT]], X[order[SPLIT:]], labels[order[SPLIT:]]


def _targets(labels: np.ndarray, classes: int) -> np.ndarray:
    return (labels == 2).astype(int) if classes == 1 else labels


def check_train(train: Callable, Tensor: Callable, task: str = "ten digits", *, seed: int | None = None) -> None:
    """Check train(model, X, y, epochs, lr, seed) on the digits: task "two or not two" (a 64-16-1
    network, sigmoid output) or "ten digits" (64-64-10, softmax), with the settings of `TASKS`: the
    returned per-epoch mean losses and the held-out accuracy of the trained network, measured here.
    Task "determinism": the same seed gives the same losses and parameters, another seed other losses.
    Task "steps": every SGD step on a tiny data set, the minibatches, their order and the returned
    means, against finite differences (`autograder.checks.backprop.sgd_steps`).
    `seed` (hidden tests) changes the shuffling seed and the network's initial weights (for "steps":
    the cases of `sgd_steps.HIDDEN`)."""
    __tracebackhide__ = True
    if task == "steps":
        from autograder.checks.backprop.sgd_steps import check_steps  # it imports this module's catalogue

        check_steps(train, Tensor, seed)
    elif task == "determinism":
        _determinism_case(train, Tensor)
    else:
        _training_case(train, Tensor, task, 0 if seed is None else seed)


def _training_case(student: Callable, tensor: Callable, task: str, seed: int) -> None:
    settings = TASKS[task]
    sizes, epochs, lr = settings["sizes"], settings["epochs"], settings["lr"]
    classes = sizes[-1]

    def observe() -> dict:
        X_train, labels_train, X_test, _ = _split()
        watch = _Watch(lr, X_train, _targets(labels_train, classes))
        model = _Network(tensor, sizes, 61 + seed, watch)
        before = [np.array(p.data) for p in model.parameters()]
        outcome = guarded(
            lambda: student(model, X_train.copy(), _targets(labels_train, classes), epochs, lr, seed), TRAIN_SECONDS
        )
        watch.recording = False
        record: dict[str, Any] = {"outcome": {k: v for k, v in outcome.items() if k != "result"}}
        record["losses"] = outcome.get("result")
        record["watch"] = watch.report()
        logits = np.asarray(model(tensor(X_test)).data, dtype=float)
        record["predictions"] = (logits[:, 0] > 0).astype(int) if classes == 1 else logits.argmax(axis=1)
        record["moved"] = any(not np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))
        return record

    def judge(obs: Observation) -> None:
        call = f"train(model, X_train, y_train, epochs={epochs}, lr={lr}, seed={seed})"
        what = '"2 or not 2" (y = 1 for a 2, else 0)' if classes == 1 else "all ten digits"
        given = f"model is a {'-'.join(map(str, sizes))} ReLU network, trained on {SPLIT} digits for {what}"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        outcome = obs.value["outcome"]
        if outcome.get("timed_out"):
            raise failure(
                call, f"did not finish within {TRAIN_SECONDS:g} s (a correct train takes under a second).", given=given
            )
        if "raised" in outcome:
            hint: str | Mistake | None = None
            if classes == 1 and re.search(r"index 1 is out of bounds for axis \d+ with size 1", outcome["raised"]):
                hint = CROSS_ENTROPY_FOR_ONE  # a label 1 used as a column index of the single output
            elif classes == 1 and re.search(r"\bcross_entropy\b", outcome["raised"]):  # the error arose in it
                hint = "a network with one output column uses binary_cross_entropy(logits, targets), not cross_entropy."
            raise raised(call, outcome["raised"], given=given, mistake=hint)
        losses = obs.value["losses"]
        if not isinstance(losses, list | tuple) or len(losses) != epochs:
            raise failure(
                call,
                f"should return a list of {epochs} per-epoch mean losses, but returned {show(losses, 100)}.",
                given=given,
            )
        values = np.array([real_scalar(v, f"{call} (a loss)") for v in losses])
        diagnosis = _training_mistake(obs.value["watch"], values, obs.value["moved"])
        _judge_progress(call, values, obs.value["moved"], given, settings["first_loss"], diagnosis)
        _, _, _, labels_test = _split()
        truth = _targets(labels_test, classes)
        predictions = real_array(obs.value["predictions"], truth.shape, call, "predictions")
        accuracy = float(np.mean(predictions == truth))
        if accuracy < settings["accuracy"]:
            raise failure(
                call,
                f"the trained network classifies {accuracy:.3f} of the {len(truth)} held-out digits correctly; it must "
                f"reach {settings['accuracy']}.",
                given=given + f"; its per-epoch losses were {show(values, 100)}",
                mistake=diagnosis
                or "check each step: logits = model(Tensor(X_batch)), the loss, model.zero_grad(), backward(), "
                "then p.data = p.data - lr * p.grad for every p in model.parameters().",
            )

    run_check(observe, judge)


def _training_mistake(watch: dict, losses: np.ndarray, moved: bool) -> Mistake | None:
    """The mistake that what `_Watch` saw during training shows, if any."""
    counts, batch_losses = watch["counts"], watch["batch_losses"]
    if not moved and counts["updates"] == 0:
        return NEVER_UPDATED
    if counts["ascent"] and not counts["descent"]:
        return GRADIENT_ASCENT
    if counts["stacked"] and not counts["clears"]:
        return GRADIENTS_NEVER_RESET
    epochs = len(losses)
    if batch_losses and len(batch_losses) % epochs == 0:
        per_epoch = np.reshape(batch_losses, (epochs, -1))
        sums, means = per_epoch.sum(axis=1), per_epoch.mean(axis=1)
        if per_epoch.shape[1] > 1 and np.allclose(losses, sums, rtol=1e-6) and not np.allclose(losses, means):
            return EPOCH_LOSS_SUMMED
    return None


def _judge_progress(
    call: str, losses: np.ndarray, moved: bool, given: str, first_bound: float, diagnosis: Mistake | None = None
) -> None:
    """Fail unless the parameters moved and the per-epoch losses are finite, decreasing and plausible;
    a failure names `diagnosis` (what `_training_mistake` found) when there is one, and no guessed cause
    otherwise (the watch saw none of the mistakes it knows: a hint about them would contradict it)."""
    if not moved:
        raise failure(
            call,
            "the model's parameters did not change.",
            given=given,
            mistake=diagnosis,
        )
    if not np.all(np.isfinite(losses)):
        raise failure(
            call,
            "returned a loss that is nan or inf: the training diverged.",
            got=losses,
            given=given,
            mistake=diagnosis,
        )
    if losses[-1] >= losses[0]:
        raise failure(
            call,
            "the loss did not decrease from the first epoch to the last.",
            got=losses,
            given=given,
            mistake=diagnosis,
        )
    if losses[0] > first_bound:
        raise failure(
            call,
            f"the first epoch's mean loss is {losses[0]:.4g}, more than an untrained network's (about "
            f"{0.7 if first_bound < 2 else 2.3}).",
            got=losses,
            given=given,
            mistake=diagnosis,
        )


def _determinism_case(student: Callable, tensor: Callable) -> None:
    def observe() -> list:
        X_train, labels_train, _, _ = _split()
        runs = []
        for seed in (1, 1, 2):
            model = _Network(tensor, (64, 8, 10), 5)
            outcome = guarded(
                lambda model=model, seed=seed: student(model, X_train[:300].copy(), labels_train[:300], 2, 0.2, seed),
                TRAIN_SECONDS,
            )
            runs.append(
                {
                    "outcome": {k: v for k, v in outcome.items() if k != "result"},
                    "losses": outcome.get("result"),
                    "params": [np.array(p.data) for p in model.parameters()],
                }
            )
        return runs

    call = "train(model, X, y, epochs=2, lr=0.2, seed=s)"
    given = "three fresh copies of one 64-8-10 network trained on 300 digits, with seeds s = 1, 1 and 2"

    def judge(obs: Observation) -> None:
        for run in obs.value:
            if "raised" in run["outcome"]:
                raise raised(call, run["outcome"]["raised"], given=given)
            if run["outcome"].get("timed_out"):
                raise failure(call, f"did not finish within {TRAIN_SECONDS:g} s.", given=given)
        first, again, other = obs.value
        for run in obs.value:
            run["losses"] = _float_list(run["losses"])
            if run["losses"] is None or len(run["losses"]) != 2:
                raise failure(call, "should return the list of the 2 per-epoch mean losses.", given=given)
        same = first["losses"] == again["losses"] and all(
            np.array_equal(a, b) for a, b in zip(first["params"], again["params"], strict=True)
        )
        if not same:
            raise failure(
                call,
                "two runs with the same seed gave different losses or parameters.",
                expected=first["losses"],
                got=again["losses"],
                given=given,
                mistake=UNSEEDED_SHUFFLE,  # the model and data are the same: the randomness is the student's
            )
        if first["losses"] == other["losses"]:
            raise failure(
                call,
                "seeds 1 and 2 gave exactly the same losses: the seed is not used to shuffle.",
                given=given,
                mistake=SEED_IGNORED,
            )

    Case(call, given).run(observe, judge)


def _float_list(value: Any) -> list[float] | None:
    try:
        values = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return values.tolist() if values.ndim == 1 else None


# --- gradient_cost_ratio ---------------------------------------------------------------------------

COST_CASES = ((64, 16, 10), (4, 3, 2))
"""Hidden networks (D, H, C) beyond the visible 64-32-10; the ratio is judged for D = 64 only (a
network with thousands of parameters), the evaluations for every network."""

COST_SECONDS = 10.0  # wall-clock guard against a hang only (a correct one: about 0.5 s, 3 s on a loaded machine)
DEFAULT_H = 1e-5  # the default step of the notebook's signature, gradient_cost_ratio(loss, gradient, params, h=1e-5)
HIDDEN_H = 1e-4  # the step the hidden cases pass explicitly
NO_CHANGE, SEVERAL, UNREADABLE = -1, -2, -3
LOSS_NS = (8_000, 9_000, 11_000, 13_000, 16_000)
"""On the check's clock, call k of loss takes LOSS_NS[k % 5] nanoseconds (so that 2P times one call is
never the time of the 2P calls)."""
RATIO_RELATIVE = 1e-6  # the ratio of two differences of clock readings, in floats, is exact to about 1e-9
_real_clock = time.perf_counter  # the real clock, read by the check itself (the student's clocks may be virtual)


def gradient_ns(j: int) -> int:
    """On the check's clock, the j-th call of gradient takes this many nanoseconds."""
    return 47_000 + 6_000 * j


class _CountingLoss:
    """Calls loss(params), recording which single entry of params differs from the original, how, and by how
    much; every call advances `clock` by its time on the check's clock (`LOSS_NS`)."""

    def __init__(self, loss: Callable, base: dict[str, np.ndarray], clock: VirtualClock) -> None:
        self.loss, self.keys, self.clock = loss, list(base), clock
        self.flat = np.concatenate([base[k].ravel() for k in self.keys])
        self.changes: list[int] = []  # 2 * index (+h) or 2 * index + 1 (-h), or NO_CHANGE, SEVERAL, UNREADABLE
        self.steps: list[float] = []  # |perturbation| of every call that changed one entry

    def __call__(self, params: Any) -> Any:
        try:
            flat = np.concatenate([np.asarray(params[k], dtype=float).ravel() for k in self.keys])
            diff = np.flatnonzero(flat != self.flat) if flat.shape == self.flat.shape else None
        except Exception:
            diff = None
        if diff is None:
            self.changes.append(UNREADABLE)
        elif diff.size == 0:
            self.changes.append(NO_CHANGE)
        elif diff.size > 1:
            self.changes.append(SEVERAL)
        else:
            index = int(diff[0])
            self.changes.append(2 * index + int(flat[index] < self.flat[index]))
            self.steps.append(float(abs(flat[index] - self.flat[index])))
        try:
            return self.loss(params)
        finally:
            self.clock.advance(LOSS_NS[(len(self.changes) - 1) % len(LOSS_NS)])


class _TimedGradient:
    """Calls gradient(params), recording its real duration; advances `clock` by `gradient_ns(j)` on call j."""

    def __init__(self, gradient: Callable, clock: VirtualClock) -> None:
        self.gradient, self.clock, self.seconds = gradient, clock, []

    def __call__(self, params: Any) -> Any:
        start = _real_clock()
        try:
            return self.gradient(params)
        finally:
            self.seconds.append(_real_clock() - start)
            self.clock.advance(gradient_ns(len(self.seconds) - 1))


def _cost_problem(sizes: tuple[int, int, int], seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    n_in, hidden, classes = sizes
    generator = rng(seed)
    params = {
        "W1": generator.uniform(-1, 1, (hidden, n_in)) / np.sqrt(n_in),
        "b1": np.zeros(hidden),
        "W2": generator.uniform(-1, 1, (classes, hidden)) / np.sqrt(hidden),
        "b2": np.zeros(classes),
    }
    if n_in == 64:
        X, labels = _digits()
        return params, X[:32], labels[:32] % classes
    return params, generator.uniform(-1, 1, (8, n_in)), generator.integers(0, classes, 8)


def check_gradient_cost_ratio(
    gradient_cost_ratio: Callable,
    loss: Callable,
    gradient: Callable,
    sizes: tuple[int, int, int] = (64, 32, 10),
    *,
    seed: int | None = None,
) -> None:
    """Check gradient_cost_ratio(loss, gradient, params[, h]) on the two-layer network of `sizes` (a batch
    of 32 digits), given the notebook's loss(params, X, y) and gradient(params, X, y): exactly 2P loss
    evaluations with one entry moved by exactly +h or -h (each entry once each way; up to two unperturbed
    extra), at least one gradient call, params left unchanged, and the ratio, timed on the check's own
    clock (`autograder.checks.virtual_clock`: every call of loss and of gradient takes a known time on
    it), equal to the time of the 2P perturbed calls divided by that of one gradient call. A student who
    reads no clock of `time` is judged on real times instead (a ratio above 10 that agrees within a
    factor of 10 with the times observed here). With a seed, the networks of `COST_CASES`, with h = 1e-4
    passed explicitly."""
    __tracebackhide__ = True
    cases = [tuple(sizes)] if seed is None else list(COST_CASES)
    for k, dims in enumerate(cases):
        h = None if seed is None else HIDDEN_H
        _cost_case(gradient_cost_ratio, loss, gradient, dims, (0 if seed is None else seed) * 10 + k, h)


def _cost_case(student: Callable, loss: Callable, gradient: Callable, sizes: tuple, seed: int, h: float | None) -> None:
    params, X, y = _cost_problem(sizes, seed)
    count = sum(v.size for v in params.values())

    def observe() -> dict:
        working = {k: v.copy() for k, v in params.items()}
        clock = VirtualClock()
        counter = _CountingLoss(lambda p: loss(p, X, y), params, clock)
        timer = _TimedGradient(lambda p: gradient(p, X, y), clock)
        extra = {} if h is None else {"h": h}
        start = _real_clock()
        with clock.installed(getattr(student, "__globals__", None)):
            outcome = guarded(lambda: student(counter, timer, working, **extra), COST_SECONDS)
        total = _real_clock() - start
        return {
            "outcome": {k: v for k, v in outcome.items() if k != "result"},
            "ratio": outcome.get("result"),
            "changes": counter.changes,
            "steps": [min(counter.steps, default=0.0), max(counter.steps, default=0.0)],
            "gradient_seconds": timer.seconds,
            "clock_reads": clock.reads,
            "total": total,
            "unchanged": all(np.array_equal(working[k], params[k]) for k in params),
        }

    def judge(obs: Observation) -> None:
        call = "gradient_cost_ratio(loss, gradient, params" + ("" if h is None else f", h={h:g}") + ")"
        shapes = ", ".join(f"{k} {v.shape}" for k, v in params.items())
        given = f"params of the {'-'.join(map(str, sizes))} network ({shapes}: P = {count} parameters)"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        outcome = obs.value["outcome"]
        if outcome.get("timed_out"):
            several = SEVERAL in obs.value["changes"]  # seen before the guard stopped it
            raise failure(
                call,
                f"did not finish within {COST_SECONDS:g} s.",
                given=given,
                mistake=SEVERAL_ENTRIES_CHANGED if several else None,
            )
        if "raised" in outcome:
            raise raised(call, outcome["raised"], given=given)
        _judge_evaluations(call, obs.value["changes"], params, count, given)
        _judge_step(call, obs.value["steps"], DEFAULT_H if h is None else h, given)
        if not obs.value["unchanged"]:
            raise failure(call, "left params changed.", given=given, mistake="restore every entry after perturbing it.")
        seconds = obs.value["gradient_seconds"]
        if not seconds:
            raise failure(call, "never called gradient(params): time one reverse-mode gradient.", given=given)
        ratio = real_scalar(obs.value["ratio"], call)
        if not np.isfinite(ratio) or ratio <= 0:
            raise failure(call, "should return a positive, finite time ratio.", got=ratio, given=given)
        if obs.value["clock_reads"]:
            _judge_virtual_ratio(call, ratio, obs.value["changes"], len(seconds), count, given)
        elif sizes[0] == 64:
            _judge_real_ratio(call, ratio, seconds, obs.value["total"], given)

    run_check(observe, judge)


def _judge_step(call: str, steps: list, h: float, given: str) -> None:
    """Every perturbation must be of size h (to rounding: |x + h - x| differs from h by about 1e-16 |x|)."""
    smallest, largest = float(steps[0]), float(steps[1])
    if abs(smallest - h) > 1e-6 * h or abs(largest - h) > 1e-6 * h:
        shown = f"{smallest:.3g}" if abs(largest - smallest) <= 1e-6 * h else f"{smallest:.3g} to {largest:.3g}"
        raise failure(
            call,
            f"moved the entries by {shown}, not by h = {h:g}.",
            given=given,
            mistake=STEP_NOT_H if smallest > 0 else None,
        )


def _judge_virtual_ratio(call: str, ratio: float, changes: list, calls: int, count: int, given: str) -> None:
    """The ratio must be the time, on the check's clock, of the 2P perturbed calls of loss divided by that of one
    call of gradient (any one, if gradient was called more than once)."""
    perturbed = [k for k, c in enumerate(changes) if int(c) >= 0]
    others = [k for k, c in enumerate(changes) if int(c) < 0]
    fd = sum(LOSS_NS[k % len(LOSS_NS)] for k in perturbed)
    grads = [gradient_ns(j) for j in range(calls)]
    rights = [fd / g for g in grads]
    if any(abs(ratio - r) <= RATIO_RELATIVE * r for r in rights):
        return
    candidates: list[tuple[Mistake, float]] = [(RATIO_INVERTED, 1 / r) for r in rights]
    candidates += [(GRADIENT_TIMED_WITH_DIFFERENCES, (fd + gi) / g) for gi in grads for g in grads]
    for a in range(calls):
        for b in range(a + 2, calls + 1):
            run = grads[a:b]
            summed, averaged = fd / sum(run), fd * len(run) / sum(run)  # timed together, or their mean
            candidates += [(SEVERAL_GRADIENTS_TIMED, summed), (SEVERAL_GRADIENTS_TIMED, averaged)]
    extras = [LOSS_NS[k % len(LOSS_NS)] for k in others]
    if extras:
        candidates += [(EXTRA_LOSS_TIMED, (fd + e) / g) for e in {*extras, sum(extras)} for g in grads]
    candidates += [(ONE_LOSS_EXTRAPOLATED, 2 * count * d / g) for d in LOSS_NS for g in grads]
    mistake = diagnose(ratio, candidates, tolerance=lambda v: RATIO_RELATIVE * abs(v))
    raise failure(
        call,
        f"returned {ratio:.6g}. The check times with a clock of its own, on which every call of loss and of "
        f"gradient takes a known time: the {len(perturbed)} calls of loss at perturbed params took {fd / 1e6:g} ms "
        f"in all, and {'the call' if calls == 1 else 'each call'} of gradient "
        f"{', '.join(f'{g / 1e6:g}' for g in grads)} ms, so the ratio is {_ratios_text(rights)}.",
        given=given,
        mistake=mistake
        or "read time.perf_counter() just before and just after the loop of 2P calls of loss (nothing else "
        "between), then just before and just after one call of gradient(params), and return the first time "
        "divided by the second.",
    )


def _ratios_text(rights: list[float]) -> str:
    if len(rights) == 1:
        return f"{rights[0]:.6g}"
    each = [f"{r:.6g} with call {j + 1} of gradient" for j, r in enumerate(rights)]
    return ", ".join(each[:-1]) + " or " + each[-1]


def _judge_real_ratio(call: str, ratio: float, seconds: list, total: float, given: str) -> None:
    """Without a reading of the check's clock (another clock), the ratio is judged on the real times seen here."""
    implied = max(total - sum(seconds), 1e-9) / min(seconds)
    if ratio < 1 and implied / 10 <= 1 / ratio <= implied * 10:
        raise failure(
            call,
            f"returned {ratio:.3g}: the inverse of the ratio (about {implied:.3g} here).",
            given=given,
            mistake=RATIO_INVERTED,
        )
    if ratio < 10 or not implied / 10 <= ratio <= implied * 10:
        raise failure(
            call,
            f"returned {ratio:.3g}, but the times observed here give about {implied:.3g} (the time of the 2P loss "
            "evaluations divided by that of one gradient call).",
            given=given,
        )


def _judge_evaluations(call: str, changes: list, params: dict, count: int, given: str) -> None:
    changes = [int(c) for c in changes]
    calls = len(changes)
    first = next(iter(params.values())).size
    mistake = None
    if calls in (count, count + 1):
        mistake = FORWARD_DIFFERENCE
    elif calls in (2 * first, 2 * first + 1, 2 * first + 2) and first < count:
        mistake = ONLY_FIRST_ARRAY
    if not 2 * count <= calls <= 2 * count + 2:
        raise failure(
            call,
            f"called loss {calls} times; a central-difference gradient needs 2P = {2 * count}.",
            given=given,
            mistake=mistake,
        )
    if SEVERAL in changes:
        raise failure(
            call,
            "called loss with several entries of params changed at once.",
            given=given,
            mistake=SEVERAL_ENTRIES_CHANGED,
        )
    if UNREADABLE in changes:
        raise failure(call, "called loss with something that is not a dict of arrays shaped like params.", given=given)
    perturbed = sorted(c for c in changes if c >= 0)
    if perturbed != list(range(2 * count)):
        raise failure(
            call,
            "did not perturb every entry of params exactly once by +h and once by -h.",
            given=given,
            mistake="for every array and every index i: array.flat[i] = saved + h, loss; saved - h, loss; restore.",
        )
