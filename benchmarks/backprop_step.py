"""Benchmark of unit 06 (not a test): one SGD step of the 64-64-10 digits network.

Prints, in one run of well under a minute:

* the time of one training step (forward, cross-entropy, zero_grad, backward, update) with the
  reference engine of unit 06, that is the locked `Tensor` and the reference `Module`, `Linear`,
  `ReLU`, `Sequential` of `source/06_backprop/06_backprop.ipynb` (read from the notebook, so the
  benchmark measures exactly the unit's code);
* the time of the same step written directly in numpy (the formulas of `mlp_backward`), and the
  ratio of the two;
* the cheap-gradient ratio: the time of the loss and its gradient divided by the time of the loss
  alone, for both.

Run from the repository root: `python benchmarks/backprop_step.py` (options: --batch, --repeats).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np

from autograder.datasets import load_digits

NOTEBOOK = Path(__file__).resolve().parents[1] / "source" / "06_backprop" / "06_backprop.ipynb"
CELLS = ("engine", "modules_code")  # the locked engine and the reference modules


def reference_engine() -> dict:
    """The names the notebook's engine and module cells define (Tensor, cross_entropy, Sequential, ...)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in notebook.cells}
    namespace: dict = {"np": np}
    for cell in CELLS:
        if cell not in by_id:
            raise SystemExit(f"{NOTEBOOK} has no cell {cell!r}: update CELLS in {__file__}")
        exec(compile(by_id[cell], f"{NOTEBOOK.name}:{cell}", "exec"), namespace)
    return namespace


def best_seconds(step: Callable[[], object], repeats: int, number: int) -> float:
    """The fastest of `repeats` runs of `number` calls of `step`, per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            step()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def numpy_params(engine_model: object) -> dict[str, np.ndarray]:
    first, last = engine_model.modules[0], engine_model.modules[-1]
    return {
        "W1": first.weight.data.copy(),
        "b1": first.bias.data.copy(),
        "W2": last.weight.data.copy(),
        "b2": last.bias.data.copy(),
    }


def numpy_loss(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> tuple[float, tuple]:  # noqa: N803
    Z1 = X @ params["W1"].T + params["b1"]  # noqa: N806
    Y1 = np.maximum(Z1, 0.0)  # noqa: N806
    Z2 = Y1 @ params["W2"].T + params["b2"]  # noqa: N806
    shifted = Z2 - Z2.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean()), (Z1, Y1, log_p)


def numpy_gradient(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:  # noqa: N803
    _, (Z1, Y1, log_p) = numpy_loss(params, X, y)  # noqa: N806
    dZ2 = np.exp(log_p)  # noqa: N806
    dZ2[np.arange(len(y)), y] -= 1.0
    dZ2 /= len(y)  # noqa: N806
    dZ1 = (dZ2 @ params["W2"]) * (Z1 > 0)  # noqa: N806
    return {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dZ2.T @ Y1, "b2": dZ2.sum(axis=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32, help="minibatch size (default 32)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats; the fastest counts (default 5)")
    args = parser.parse_args()

    ns = reference_engine()
    Tensor, cross_entropy = ns["Tensor"], ns["cross_entropy"]  # noqa: N806
    images, labels = load_digits()
    X, y = images.reshape(len(images), 64)[: args.batch] / 16.0, labels[: args.batch]  # noqa: N806
    model = ns["Sequential"](ns["Linear"](64, 64, seed=1), ns["ReLU"](), ns["Linear"](64, 10, seed=2))
    params = numpy_params(model)
    lr = 0.01

    def engine_step() -> None:
        loss = cross_entropy(model(Tensor(X)), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad

    def engine_loss() -> None:
        cross_entropy(model(Tensor(X)), y)

    def engine_loss_and_gradient() -> None:
        loss = cross_entropy(model(Tensor(X)), y)
        model.zero_grad()
        loss.backward()

    def numpy_step() -> None:
        for name, g in numpy_gradient(params, X, y).items():
            params[name] -= lr * g

    # Both sides compute the same gradient (a sanity check before timing).
    check = numpy_gradient(numpy_params(model), X, y)
    engine_loss_and_gradient()
    first = model.modules[0]
    gap = max(np.abs(check["W1"] - first.weight.grad).max(), np.abs(check["b1"] - first.bias.grad).max())
    if gap > 1e-10:
        raise SystemExit(f"engine and numpy gradients differ by {gap:.2e}")

    number = max(20, 6000 // args.batch)
    rows = [
        (
            "one training step",
            best_seconds(engine_step, args.repeats, number),
            best_seconds(numpy_step, args.repeats, number),
        ),
        (
            "loss alone (forward)",
            best_seconds(engine_loss, args.repeats, number),
            best_seconds(lambda: numpy_loss(params, X, y), args.repeats, number),
        ),
        (
            "loss and gradient",
            best_seconds(engine_loss_and_gradient, args.repeats, number),
            best_seconds(lambda: numpy_gradient(params, X, y), args.repeats, number),
        ),
    ]
    print(f"64-64-10 MLP, batch {args.batch}, best of {args.repeats} x {number} calls")
    print(f"{'':28s} {'engine (Tensor+Module)':>24s} {'numpy':>12s} {'engine / numpy':>16s}")
    for name, engine_time, numpy_time in rows:
        print(
            f"{name + ' (µs)':28s} {engine_time * 1e6:24.1f} {numpy_time * 1e6:12.1f} {engine_time / numpy_time:16.2f}"
        )
    engine_ratio, numpy_ratio = rows[2][1] / rows[1][1], rows[2][2] / rows[1][2]
    print(f"{'gradient / loss time':28s} {engine_ratio:24.2f} {numpy_ratio:12.2f}")


if __name__ == "__main__":
    main()
