"""`train` step by step: every SGD step of the student's `train` on a tiny data set, judged by oracles.

A tiny two-layer ReLU network (on the notebook's `Tensor`, with the interface of the unit's modules)
records, every time it is called, the rows it is fed and a copy of its parameters. The student's
`train` runs on a handful of rows with a small `batch_size` (so that an epoch's last minibatch is
short), twice with the same seed. From the recorded rows and parameters alone, the judge verifies:

* the minibatches: every epoch is ceil(N / batch_size) calls of the model, batch_size rows each (the
  last one the rows left over), together every row exactly once;
* every step: the parameters after it minus those its minibatch saw are -lr times the gradient of
  that minibatch's mean loss at those parameters; the gradient is the fourth-order central
  difference of the loss written from its definition (`autograder.oracles.finite_differences`), never
  a training loop of the judge's own;
* the order: each epoch's minibatches are those of the permutations that one
  `np.random.default_rng(seed)`, made once, draws (`permutation`, or `shuffle` of an index array,
  which draws the same; fresh each epoch or applied to the previous epoch's order), and a second run
  with the same seed feeds the same minibatches;
* the returned losses: the plain mean of each epoch's minibatch losses, each computed here at the
  parameters its minibatch saw.

Calls of the model with more rows than batch_size (an evaluation on all of X, say) are allowed and
left out. Rows within a minibatch may come in any order. A failure names the step (epoch, minibatch,
rows) and, when it recognises one, the mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.checks.backprop.cases import _loss  # the network's mean divergence, the oracle's loss
from autograder.checks.backprop.mistakes import (
    CROSS_ENTROPY_FOR_ONE,
    EPOCH_LOSS_SUMMED,
    GENERATOR_PER_EPOCH,
    GLOBAL_NUMPY_SEED,
    GRADIENT_ASCENT,
    GRADIENTS_NEVER_RESET,
    LAST_BATCH_DROPPED,
    LAST_BATCH_LOSS,
    LOSSES_NOT_RESET,
    NEVER_UPDATED,
    ROW_WEIGHTED_MEAN,
    SAME_ORDER_EVERY_EPOCH,
    SEED_IGNORED,
    STALE_GRADIENT,
    UNSEEDED_SHUFFLE,
)
from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.guard import guarded
from autograder.checks.kit.memo import by_value
from autograder.compare import real_scalar
from autograder.feedback import Mistake, failure, raised, show
from autograder.inputs import rng
from autograder.oracles.finite_differences import central_gradient
from autograder.runtime import Observation, run_check

KEYS = ("W1", "b1", "W2", "b2")
STEP_SECONDS = 2.0  # wall-clock guard of one call of train on the tiny data set (a correct one: milliseconds)
RECORDED = 300  # calls of the model recorded per run at most (a correct run makes a few)
H = 1e-5  # step of the finite differences
KINK = 1e-3  # a step whose pre-activations come nearer than this to the ReLU kink is not judged
START_MARGIN = 0.1  # every pre-activation of a case is at least this far from the kink at the start
STEP_RELATIVE = 1e-6  # a step must be -lr * gradient within this (relative to its largest entry)
LOSS_RELATIVE = 1e-9  # the engine's loss and the loss from the definition agree to rounding


@dataclass(frozen=True)
class StepCase:
    """A tiny training run: N rows of D features, a D-H-C network, the batch size, epochs, learning rate."""

    rows: int
    sizes: tuple[int, int, int]
    batch: int
    epochs: int
    lr: float

    @property
    def batch_sizes(self) -> list[int]:
        """The sizes of one epoch's minibatches: batch_size each, the last one the rows left over."""
        return [min(self.batch, self.rows - start) for start in range(0, self.rows, self.batch)]


VISIBLE = StepCase(7, (3, 4, 3), 3, 2, 0.5)
"""The visible case: 7 rows in minibatches of 3, 3 and 1, for 2 epochs; ten digits' softmax on 3 classes."""
HIDDEN = (StepCase(8, (4, 3, 1), 3, 3, 0.5), StepCase(6, (2, 5, 4), 4, 2, 0.5))
"""Hidden cases: one sigmoid output (binary_cross_entropy) over 3 epochs, and a softmax of 4 classes."""


def problem(case: StepCase, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(initial params, X, y) of a case: distinct rows, every pre-activation at least START_MARGIN from 0."""
    n_in, hidden, classes = case.sizes
    for attempt in range(1000):
        generator = rng(seed * 1000 + attempt)
        X = np.round(generator.uniform(-1, 1, (case.rows, n_in)), 3)
        params = {
            "W1": np.round(generator.uniform(-1, 1, (hidden, n_in)), 3),
            "b1": np.round(generator.uniform(-1, 1, hidden), 3),
            "W2": np.round(generator.uniform(-1, 1, (classes, hidden)), 3),
            "b2": np.round(generator.uniform(-0.5, 0.5, classes), 3),
        }
        y = generator.integers(0, max(classes, 2), case.rows)
        distinct = len(np.unique(X, axis=0)) == case.rows
        if distinct and np.min(np.abs(_pre_activations(params, X))) >= START_MARGIN:
            return params, X, y
    raise RuntimeError("no tiny network away from the kinks")  # pragma: no cover


# --- the loss from its definition, on plain arrays --------------------------------------------------


def _pre_activations(params: dict, X: np.ndarray) -> np.ndarray:
    return X @ params["W1"].T + params["b1"]


@by_value()
def _minibatch_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray, shapes: list[tuple[int, ...]]) -> np.ndarray:  # noqa: N803
    """Central differences of a minibatch's mean loss at the parameters `theta` (flat, in the order of KEYS),
    rounding noise around 0 shown as 0. Kept per process by value: a class's correct submissions take the
    same steps."""
    estimate = central_gradient(lambda v: _loss(_unflatten(v, shapes), X, y), theta, H)
    return np.where(np.abs(estimate) < 1e-9, 0.0, estimate)


def _unflatten(theta: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for key, shape in zip(KEYS, shapes, strict=True):
        size = math.prod(shape)
        out[key] = theta[start : start + size].reshape(shape)
        start += size
    return out


# --- observing: a network that records what it is fed -----------------------------------------------


class _RecordingNetwork:
    """Linear-ReLU-Linear on the notebook's Tensor with the modules' interface (parameters(), zero_grad(),
    calling it on a Tensor); every call records the rows it is given and a copy of every parameter."""

    def __init__(self, tensor: Callable, params: dict[str, np.ndarray]) -> None:
        self.tensors = [tensor(np.array(params[k], dtype=float), requires_grad=True) for k in KEYS]
        self.calls: list[dict] = []
        self.overflow = False

    def parameters(self) -> list:
        return list(self.tensors)

    def zero_grad(self) -> None:
        for t in self.tensors:
            t.grad = None

    def snapshot(self) -> list:
        out = []
        for t in self.tensors:
            try:
                out.append(np.array(t.data, dtype=float))
            except (TypeError, ValueError):
                out.append(None)
        return out

    def __call__(self, x: Any) -> Any:
        if len(self.calls) < RECORDED:
            try:
                rows = np.array(getattr(x, "data", x), dtype=float)
            except (TypeError, ValueError):
                rows = None
            self.calls.append({"rows": rows, "params": self.snapshot()})
        else:
            self.overflow = True
        W1, b1, W2, b2 = self.tensors
        return (x @ W1.T + b1).relu() @ W2.T + b2

    forward = __call__


def check_steps(student: Callable, tensor: Callable, seed: int | None = None) -> None:
    """Check train step by step on `VISIBLE` (seed None) or on every case of `HIDDEN` (seeded)."""
    __tracebackhide__ = True
    cases = [(VISIBLE, 0, 5)] if seed is None else [(case, seed * 10 + k, seed + k) for k, case in enumerate(HIDDEN)]
    for case, data_seed, train_seed in cases:
        _steps_case(student, tensor, case, data_seed, train_seed)


def _steps_case(student: Callable, tensor: Callable, case: StepCase, data_seed: int, seed: int) -> None:
    params, X, y = problem(case, data_seed)

    def observe() -> list:
        runs = []
        for _ in range(2):
            model = _RecordingNetwork(tensor, params)
            outcome = guarded(
                lambda model=model: student(
                    model, X.copy(), y.copy(), case.epochs, case.lr, seed, batch_size=case.batch
                ),
                STEP_SECONDS,
            )
            runs.append(
                {
                    "outcome": {k: v for k, v in outcome.items() if k != "result"},
                    "losses": outcome.get("result"),
                    "calls": model.calls,
                    "final": model.snapshot(),
                    "overflow": model.overflow,
                }
            )
            if "result" not in outcome:
                break
        return runs

    call = f"train(model, X, y, epochs={case.epochs}, lr={case.lr}, seed={seed}, batch_size={case.batch})"
    n_in, hidden, classes = case.sizes
    output = "one sigmoid output, binary_cross_entropy" if classes == 1 else f"{classes} classes, cross_entropy"
    given = (
        f"model is a {n_in}-{hidden}-{classes} ReLU network ({output}); X = {show(X, 90)}, "
        f"y = {show(y, 40)}; an epoch is {len(case.batch_sizes)} minibatches of {case.batch_sizes} rows"
    )

    def judge(obs: Observation) -> None:
        _Judge(case, params, X, y, seed, call, given).run(obs.value)

    run_check(observe, judge)


# --- judging -----------------------------------------------------------------------------------------


@dataclass
class _Step:
    """One call of the model on a minibatch: the row indices of X it was fed, the parameters it saw."""

    rows: list[int]
    theta: np.ndarray  # every parameter, flattened in the order W1, b1, W2, b2


class _Judge:
    def __init__(
        self, case: StepCase, params: dict, X: np.ndarray, y: np.ndarray, seed: int, call: str, given: str
    ) -> None:
        self.case, self.X, self.y, self.seed, self.call, self.given = case, X, y, seed, call, given
        self.shapes = [params[k].shape for k in KEYS]
        self.gradients: dict[int, np.ndarray] = {}

    def fail(self, problem: str, mistake: Mistake | str | None = None, **shown: Any) -> Exception:
        return failure(self.call, problem, given=self.given, mistake=mistake, **shown)

    # the observation, read
    def run(self, runs: list) -> None:
        first = runs[0]
        self.outcome(first)
        losses = self.losses_returned(first["losses"])
        steps, final = self.read_steps(first)
        self.updates(steps, final)
        self.minibatches(steps)
        self.each_step(steps, final)
        self.repeatable(steps, runs)
        self.order(steps)
        self.epoch_losses(steps, losses)

    def outcome(self, run: dict) -> None:
        outcome = run["outcome"]
        if outcome.get("timed_out"):
            raise self.fail(f"did not finish within {STEP_SECONDS:g} s on {self.case.rows} rows.")
        if "raised" in outcome:
            hint: Mistake | str | None = None
            if "batch_size" in outcome["raised"] and "TypeError" in outcome["raised"]:
                hint = "keep the signature of the notebook: train(model, X, y, epochs, lr, seed, batch_size=32)."
            elif self.case.sizes[-1] == 1:
                hint = "a network with one output column uses binary_cross_entropy(logits, targets), not cross_entropy."
                if "out of bounds" in outcome["raised"]:
                    hint = CROSS_ENTROPY_FOR_ONE
            raise raised(self.call, outcome["raised"], given=self.given, mistake=hint)

    def losses_returned(self, value: Any) -> np.ndarray:
        epochs = self.case.epochs
        if not isinstance(value, list | tuple | np.ndarray) or len(value) != epochs:
            raise self.fail(f"should return a list of {epochs} per-epoch mean losses, but returned {show(value, 100)}.")
        return np.array([real_scalar(v, f"{self.call} (a loss)") for v in value])

    def read_steps(self, run: dict) -> tuple[list[_Step], np.ndarray]:
        """The calls of the model on at most batch_size rows, with the rows as indices of X; the final parameters."""
        if run["overflow"]:
            raise self.fail(f"called the model more than {RECORDED} times.")
        steps = []
        for k, record in enumerate(run["calls"]):
            rows = record["rows"]
            if not isinstance(rows, np.ndarray) or rows.ndim != 2 or rows.shape[1] != self.X.shape[1]:
                raise self.fail(
                    f"call {k + 1} of the model got {show(rows, 80)}, not a Tensor of rows of X.",
                    "call the model on a Tensor of whole rows: logits = model(Tensor(X[rows])).",
                )
            if len(rows) > self.case.batch:  # an evaluation on more rows than a minibatch: allowed, not a step
                continue
            indices = [self.row_index(row) for row in rows]
            if None in indices:
                raise self.fail(
                    f"call {k + 1} of the model got the row {show(rows[indices.index(None)], 60)}, which is not a "
                    "row of X.",
                    "feed the model the rows of X as they are, X[rows] for the minibatch's row indices.",
                )
            steps.append(_Step([int(i) for i in indices], self.flat(record["params"])))
        return steps, self.flat(run["final"])

    def row_index(self, row: np.ndarray) -> int | None:
        found = np.flatnonzero(np.all(np.abs(self.X - row) <= 1e-9, axis=1))  # rows differ by 1e-3 or more
        return int(found[0]) if found.size == 1 else None

    def flat(self, params: list) -> np.ndarray:
        try:
            pairs = zip(params, self.shapes, strict=True)
            return np.concatenate([np.asarray(p, dtype=float).reshape(shape).ravel() for p, shape in pairs])
        except (TypeError, ValueError):
            raise self.fail("left a parameter that is not an array of its shape.") from None

    # the checks, in order
    def updates(self, steps: list[_Step], final: np.ndarray) -> None:
        thetas = [s.theta for s in steps] + [final]
        if all(np.array_equal(thetas[0], t) for t in thetas[1:]):
            raise self.fail("never changed the model's parameters.", NEVER_UPDATED)

    def minibatches(self, steps: list[_Step]) -> None:
        case, sizes = self.case, self.case.batch_sizes
        got = [len(s.rows) for s in steps]
        if got != sizes * case.epochs:
            mistake: Mistake | str = (
                "walk through the epoch's permutation in minibatches of batch_size rows, the last one the rows left "
                "over, and call the model once per minibatch."
            )
            full = [case.batch] * (case.rows // case.batch)
            if case.rows % case.batch and got == full * case.epochs:
                mistake = LAST_BATCH_DROPPED
            raise self.fail(
                f"called the model on minibatches of {got} rows; {case.epochs} epochs of {case.rows} rows in "
                f"minibatches of {case.batch} are {sizes * case.epochs}.",
                mistake,
            )
        for epoch, batches in enumerate(self.epochs(steps)):
            seen = sorted(i for rows in batches for i in rows)
            if seen != list(range(case.rows)):
                twice = sorted({i for i in seen if seen.count(i) > 1})
                never = sorted(set(range(case.rows)) - set(seen))
                raise self.fail(
                    f"epoch {epoch + 1} fed the rows {[list(b) for b in batches]} (indices of X): row(s) {twice} "
                    f"more than once and {never} never. Every epoch visits each row exactly once.",
                    "draw one permutation of all the rows per epoch, generator.permutation(len(X)), and cut it into "
                    "minibatches; do not draw each minibatch's rows on their own.",
                )

    def epochs(self, steps: list[_Step]) -> list[list[list[int]]]:
        per = len(self.case.batch_sizes)
        return [[s.rows for s in steps[e * per : (e + 1) * per]] for e in range(self.case.epochs)]

    def where(self, steps: list[_Step], k: int) -> str:
        per = len(self.case.batch_sizes)
        return f"step {k + 1} (epoch {k // per + 1}, minibatch {k % per + 1}: rows {steps[k].rows} of X)"

    def gradient(self, steps: list[_Step], k: int) -> np.ndarray:
        """The oracle: central differences of minibatch k's mean loss at the parameters it saw."""
        if k not in self.gradients:
            rows = steps[k].rows
            self.gradients[k] = _minibatch_gradient(steps[k].theta, self.X[rows], self.y[rows], list(self.shapes))
        return self.gradients[k]

    def near_kink(self, step: _Step) -> bool:
        pre = _pre_activations(_unflatten(step.theta, self.shapes), self.X[step.rows])
        return bool(np.min(np.abs(pre)) < KINK)

    def each_step(self, steps: list[_Step], final: np.ndarray) -> None:
        lr = self.case.lr
        after = [s.theta for s in steps[1:]] + [final]
        for k, step in enumerate(steps):
            if self.near_kink(step):
                continue  # the finite differences would straddle a kink of ReLU
            moved, want = after[k] - step.theta, -lr * self.gradient(steps, k) + 0.0  # no -0. shown
            if _close(moved, want):
                continue
            mistake = self.step_mistake(steps, after, k)
            raise self.fail(
                f"{self.where(steps, k)}: the parameters moved by the wrong amount. An SGD step moves them by -lr "
                "times the gradient of this minibatch's mean loss at the parameters the minibatch was evaluated at "
                "(the expected step is from finite differences; entries in the order W1, b1, W2, b2).",
                mistake,  # a named step mistake, or none: no guessed cause
                expected=want,
                got=moved,
            )

    def step_mistake(self, steps: list[_Step], after: list[np.ndarray], k: int) -> Mistake | str | None:
        lr = self.case.lr
        moves = [a - s.theta for a, s in zip(after, steps, strict=True)]
        judged = [j for j in range(len(steps)) if not self.near_kink(steps[j])]
        previous = [j for j in judged if j >= 1 and not self.near_kink(steps[j - 1])]
        if (
            previous
            and all(_close(moves[j], -lr * self.gradient(steps, j - 1)) for j in previous)
            and (not np.any(moves[0]) or _close(moves[0], -lr * self.gradient(steps, 0)))
        ):
            return STALE_GRADIENT  # every step used the previous minibatch's gradient (the first: none, or its own)
        if k in judged and all(not self.near_kink(steps[j]) for j in range(k + 1)):
            summed = -lr * sum(self.gradient(steps, j) for j in range(k + 1))
        else:
            summed = None
        candidates = [(GRADIENT_ASCENT, lr * self.gradient(steps, k))]
        if summed is not None and k > 0:
            candidates.append((GRADIENTS_NEVER_RESET, summed))
        return diagnose(moves[k], candidates, tolerance=lambda v: _allowed(v), truth=-lr * self.gradient(steps, k))

    def repeatable(self, steps: list[_Step], runs: list) -> None:
        again = runs[1] if len(runs) > 1 else None
        first = [s.rows for s in steps]
        second = None
        if again is not None and "raised" not in again["outcome"] and not again["outcome"].get("timed_out"):
            try:
                second = [
                    [self.row_index(r) for r in record["rows"]]
                    for record in again["calls"]
                    if isinstance(record["rows"], np.ndarray) and len(record["rows"]) <= self.case.batch
                ]
            except (TypeError, ValueError):
                second = None
        if second != first:
            raise self.fail(
                "a second run with the same seed, on a fresh copy of the same network, fed the model other "
                "minibatches.",
                UNSEEDED_SHUFFLE,
                expected=first,
                got=second,
            )

    def order(self, steps: list[_Step]) -> None:
        case, epochs = self.case, self.epochs(steps)
        got = [[sorted(rows) for rows in batches] for batches in epochs]
        for orders in _generator_orders(self.seed, case.rows, case.epochs).values():
            if got == [self.cut(order) for order in orders]:
                return
        want = [self.cut(order) for order in _generator_orders(self.seed, case.rows, case.epochs)["permutation"]]
        mistake = None
        if all(g == got[0] for g in got):
            mistake = SEED_IGNORED if got[0] == self.cut(np.arange(case.rows)) else SAME_ORDER_EVERY_EPOCH
        else:
            for named, orders in _wrong_orders(self.seed, case.rows, case.epochs):
                if got == [self.cut(order) for order in orders]:
                    mistake = named
                    break
        raise self.fail(
            "the minibatches (rows of X, by epoch) are not those of the permutations that one "
            f"np.random.default_rng({self.seed}), made once at the start, draws: generator.permutation({case.rows}) in "
            "every epoch.",
            mistake,  # a named order mistake, or none: the problem already says what the order must be
            expected=want,
            got=got,
        )

    def cut(self, order: np.ndarray) -> list[list[int]]:
        b = self.case.batch
        return [sorted(int(i) for i in order[start : start + b]) for start in range(0, len(order), b)]

    def epoch_losses(self, steps: list[_Step], losses: np.ndarray) -> None:
        per = len(self.case.batch_sizes)
        batch = np.array([_loss(_unflatten(s.theta, self.shapes), self.X[s.rows], self.y[s.rows]) for s in steps])
        table = batch.reshape(self.case.epochs, per)
        means = table.mean(axis=1)
        if _close(losses, means, LOSS_RELATIVE):
            return
        sizes = np.array(self.case.batch_sizes, dtype=float)
        candidates = [
            (EPOCH_LOSS_SUMMED, table.sum(axis=1)),
            (LAST_BATCH_LOSS, table[:, -1]),
            (ROW_WEIGHTED_MEAN, table @ sizes / sizes.sum()),
            (LOSSES_NOT_RESET, np.cumsum(table.sum(axis=1)) / (per * np.arange(1, self.case.epochs + 1))),
        ]
        mistake = diagnose(losses, candidates, tolerance=lambda v: _allowed(v, LOSS_RELATIVE), truth=means)
        raise self.fail(
            "returned per-epoch losses that are not the means of each epoch's minibatch losses. Each minibatch's "
            "loss is computed here from its logits at the parameters it saw (before its update); the minibatch "
            f"losses were {show(table, 120)} (one row per epoch).",
            mistake,  # a named loss mistake, or none: no guessed cause
            expected=means,
            got=losses,
        )


def _allowed(value: Any, relative: float = STEP_RELATIVE) -> float:
    return relative * (1e-3 + float(np.max(np.abs(value), initial=0.0)))


def _close(got: np.ndarray, want: np.ndarray, relative: float = STEP_RELATIVE) -> bool:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    return bool(np.max(np.abs(got - want), initial=0.0) <= _allowed(want, relative))


def _generator_orders(seed: int, n: int, epochs: int) -> dict[str, list[np.ndarray]]:
    """The row orders of every epoch that the contract allows: one np.random.default_rng(seed) made once, a
    permutation drawn from it every epoch, fresh or applied to the previous epoch's order. `choice` without
    replacement and an argsort of uniform numbers are accepted as ways to draw a permutation too."""
    draws: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
        "permutation": lambda g: g.permutation(n),  # also shuffle(arange(n)) and permuted(arange(n)): the same draws
        "choice": lambda g: g.choice(n, n, replace=False),
        "argsort": lambda g: np.argsort(g.random(n), kind="stable"),
    }
    out = {}
    for name, draw in draws.items():
        generator = np.random.default_rng(seed)
        fresh = [draw(generator) for _ in range(epochs)]
        out[name] = fresh
        composed, order = [], np.arange(n)
        for permutation in fresh:
            order = order[permutation]
            composed.append(order)
        out[f"{name}, applied to the previous order"] = composed
    return out


def _wrong_orders(seed: int, n: int, epochs: int) -> list[tuple[Mistake, list[np.ndarray]]]:
    """Orders that named mistakes give: a generator per epoch, numpy's global seeded state."""
    out = []
    for offset in (0, 1):
        out.append(
            (GENERATOR_PER_EPOCH, [np.random.default_rng(seed + e + offset).permutation(n) for e in range(epochs)])
        )
    legacy = np.random.RandomState(seed)
    fresh = [legacy.permutation(n) for _ in range(epochs)]
    out.append((GLOBAL_NUMPY_SEED, fresh))
    composed, order = [], np.arange(n)
    for permutation in fresh:
        order = order[permutation]
        composed.append(order)
    out.append((GLOBAL_NUMPY_SEED, composed))
    return out
