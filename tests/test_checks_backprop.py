# ruff: noqa: E501 - the substituted code is kept as students would write it
"""Unit 06's checks on their own, in one process: the reference passes every check, and named mistakes
fail with a readable diagnosis (the whole grading pipeline is exercised in test_grading.py)."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

import autograder.checks.backprop as checks
from autograder.checks.backprop import mistakes
from autograder.feedback import CheckFailure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.backprop import ALTERNATIVES, ATTACKS, MUTANTS

SOURCE = nbformat.read(REPO / "source" / "06_backprop" / "06_backprop.ipynb", as_version=4)
LOCKED = ("engine", "network_by_engine")
CELLS = ("modules_code", "forward_code", "backward_code", "train_code", "cost_code")


def namespace(replaced: dict[str, str] | None = None) -> dict:
    """The locked engine cells and the solution cells of the source notebook, run in order."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    ns: dict = {}
    exec("import time\nimport numpy as np", ns)
    for cell in (*LOCKED, *CELLS):
        code = (replaced or {}).get(cell) or submissions.solution_code(by_id[cell])
        exec(compile(code, cell, "exec"), ns)
    return ns


def run_checks(ns: dict, which: str) -> None:
    tensor = ns["Tensor"]
    if which == "modules":
        checks.check_linear(ns["Linear"], tensor, seed=6101)
        checks.check_sequential(ns["Sequential"], ns["Linear"], ns["ReLU"], tensor, seed=6201)
    elif which == "forward":
        checks.check_mlp_forward(ns["mlp_forward"], seed=6301)
    elif which == "backward":
        checks.check_mlp_backward(ns["mlp_backward"], seed=6401)
    elif which == "train":
        checks.check_train(ns["train"], tensor, "steps")
        checks.check_train(ns["train"], tensor, "steps", seed=6602)
        checks.check_train(ns["train"], tensor, "two or not two")
        checks.check_train(ns["train"], tensor, "determinism")
        checks.check_train(ns["train"], tensor, "ten digits")
    elif which == "steps":
        checks.check_train(ns["train"], tensor, "steps")
        checks.check_train(ns["train"], tensor, "steps", seed=6602)
    elif which == "cost":
        checks.check_gradient_cost_ratio(
            ns["gradient_cost_ratio"], ns["network_loss"], ns["network_gradient"], seed=6701
        )
    elif which == "small cost":  # the hidden 4-3-2 network alone: fast
        checks.cases._cost_case(
            ns["gradient_cost_ratio"], ns["network_loss"], ns["network_gradient"], (4, 3, 2), 1, checks.cases.HIDDEN_H
        )


def test_reference_solution_passes_every_check():
    ns = namespace()
    for which in ("modules", "forward", "backward", "train", "cost"):
        run_checks(ns, which)


@pytest.mark.parametrize(
    ("mutant", "which", "phrase"),
    [
        ("linear_zero_init", "modules", "every weight has the same value"),
        ("linear_weight_not_transposed", "modules", "x @ self.weight.T + self.bias"),
        ("linear_forward_on_data", "modules", "no gradient reached it"),
        ("sequential_not_chaining", "modules", "x = module(x) for every module"),
        ("parameters_duplicates_shared_layer", "modules", "list each Tensor once"),
        ("parameters_not_into_lists", "modules", "into the lists and tuples that hold modules"),
        ("parameters_only_own_attributes", "modules", "however deeply nested"),
        ("zero_grad_does_nothing", "modules", "left a gradient in place"),
        ("softmax_for_one_output", "forward", "uses the sigmoid"),
        ("dW_transposed", "backward", "the transpose of W2"),
        ("bias_grad_not_summed", "backward", "one row per example"),
        ("relu_mask_forgotten", "backward", "dZ1 = dY1 * (Z1 > 0)"),
        ("missing_one_over_B", "backward", "(Y - onehot) / B"),
        ("softmax_gradient_sign", "backward", "prediction minus target"),
        ("hidden_gradient_uses_W_transpose", "backward", "dY1 = dZ2 @ W2"),
        ("train_update_rebinds_loop_variable", "train", "never changed the model's parameters"),
        ("train_ignores_seed", "train", "np.random.default_rng(5), made once at the start"),
        ("train_gradient_ascent", "train", "a + climbs the loss"),
        ("train_without_zero_grad", "train", "the sum of all earlier gradients"),
        ("train_epoch_loss_summed", "train", "not their sum"),
        ("train_stale_gradient", "train", "step 1 (epoch 1, minibatch 1"),
        ("train_same_order_every_epoch", "train", "draws the same permutation every time"),
        ("train_last_batch_loss", "train", "not the loss of its last minibatch"),
        ("train_loss_weighted_by_batch_size", "train", "the short last one too"),
        ("cost_ratio_inverted", "cost", "about P / 3"),
        ("cost_forward_differences", "cost", "2P calls"),
        ("cost_gradient_timed_with_differences", "small cost", "before gradient(params)"),
        ("cost_several_gradients_timed", "small cost", "with call 3 of gradient"),
    ],
)
def test_named_mistake_fails_with_its_diagnosis(mutant, which, phrase):
    """The first failure names the mutant's mistake (its diagnosis) and says the rule."""
    m = MUTANTS[mutant]
    with pytest.raises(CheckFailure) as caught:
        run_checks(namespace({m.cell: m.code(SOURCE)}), which)
    assert (caught.value.diagnosis,) == m.diagnoses, str(caught.value)
    assert phrase in " ".join(str(caught.value).split()), str(caught.value)


def test_watched_parameters_do_not_change_training():
    """The parameters `check_train` watches (grad and data assignments) train exactly like plain Tensors."""
    ns = namespace()
    X, labels, _, _ = checks.cases._split()
    runs = []
    for watch in (None, checks.cases._Watch(0.2, X[:200], labels[:200])):
        model = checks.cases._Network(ns["Tensor"], (64, 8, 10), 5, watch)
        losses = ns["train"](model, X[:200], labels[:200], 2, 0.2, 3)
        runs.append((losses, [p.data.copy() for p in model.parameters()]))
        if watch is not None:
            counts = watch.report()["counts"]
            assert counts["descent"] > 0 and counts["clears"] > 0 and not counts["ascent"] and not counts["stacked"]
            assert len(watch.report()["batch_losses"]) == 2 * 7  # 200 rows in batches of 32, twice
    (losses, params), (watched_losses, watched_params) = runs
    assert losses == watched_losses
    assert all(np.array_equal(a, b) for a, b in zip(params, watched_params, strict=True))


def test_finite_difference_gradients_fail_the_exact_case():
    attack = ATTACKS["finite_differences_instead_of_backprop"]
    with pytest.raises(CheckFailure) as caught:
        run_checks(namespace(attack.cells), "backward")
    assert "exactly 1/4" in " ".join(str(caught.value).split())


# Mistakes of the step-by-step and timing checks that are not graded mutants (each would cost a whole
# grading run): the reference with one substitution, run in this process only.
IN_PROCESS = {
    "train_drops_short_batch": (
        "train_code",
        ("for start in range(0, len(X), batch_size):", "for start in range(0, len(X) - batch_size + 1, batch_size):"),
        "steps",
        mistakes.LAST_BATCH_DROPPED,
    ),
    "train_losses_kept_across_epochs": (
        "train_code",
        (
            "    losses = []\n    for _ in range(epochs):\n        order = generator.permutation(len(X))\n        batch_losses = []\n",
            "    losses = []\n    batch_losses = []\n    for _ in range(epochs):\n        order = generator.permutation(len(X))\n",
        ),
        "steps",
        mistakes.LOSSES_NOT_RESET,
    ),
    "train_generator_per_epoch": (
        "train_code",
        (
            "    for _ in range(epochs):\n        order = generator.permutation(len(X))",
            "    for epoch in range(epochs):\n        order = np.random.default_rng(seed + epoch).permutation(len(X))",
        ),
        "steps",
        mistakes.GENERATOR_PER_EPOCH,
    ),
    "train_global_numpy_seed": (
        "train_code",
        ("generator = np.random.default_rng(seed)", "np.random.seed(seed)\n    generator = np.random"),
        "steps",
        mistakes.GLOBAL_NUMPY_SEED,
    ),
    "train_unseeded_shuffle": (
        "train_code",
        ("order = generator.permutation(len(X))", "order = np.random.permutation(len(X))"),
        "steps",
        mistakes.UNSEEDED_SHUFFLE,
    ),
    "cost_loss_at_params_timed": (
        "cost_code",
        (
            "    start = time.perf_counter()\n    fd_gradient = {}",
            "    start = time.perf_counter()\n    loss(params)\n    fd_gradient = {}",
        ),
        "small cost",
        mistakes.EXTRA_LOSS_TIMED,
    ),
    "cost_one_loss_extrapolated": (
        "cost_code",
        (
            "    fd_seconds = time.perf_counter() - start\n",
            "    start = time.perf_counter()\n    loss(params)\n    fd_seconds = 2 * sum(a.size for a in params.values()) * (time.perf_counter() - start)\n",
        ),
        "small cost",
        mistakes.ONE_LOSS_EXTRAPOLATED,
    ),
    "cost_step_ignores_h": (
        "cost_code",
        (
            "def gradient_cost_ratio(loss, gradient, params, h=1e-5):\n",
            "def gradient_cost_ratio(loss, gradient, params, h=1e-5):\n    h = 1e-5\n",
        ),
        "small cost",
        mistakes.STEP_NOT_H,
    ),
}


@pytest.mark.parametrize("name", sorted(IN_PROCESS))
def test_in_process_mistake_is_named(name):
    cell, (old, new), which, mistake = IN_PROCESS[name]
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    code = submissions.solution_code(by_id[cell])
    assert code.count(old) == 1, f"{name}: the substitution does not apply once"
    with pytest.raises(CheckFailure) as caught:
        run_checks(namespace({cell: code.replace(old, new)}), which)
    assert caught.value.diagnosis == mistake.name, str(caught.value)


# Correct trains written differently: every step check passes them.
CORRECT_TRAINS = {
    # the graded alternative's: the order shuffled in place every epoch (a permutation of the previous
    # order), zero_grad after the update, an extra forward on all rows per epoch (an evaluation)
    "compounded_shuffle": ALTERNATIVES["compounded_shuffle_and_per_call_timing"].cells["train_code"],
    # X and y themselves permuted every epoch, minibatches taken by slicing, choice without replacement
    "permuted_arrays": """
def train(model, X, y, epochs, lr, seed, batch_size=32):
    generator = np.random.default_rng(seed)
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    out = []
    for _ in range(epochs):
        order = generator.choice(len(X), size=len(X), replace=False)
        Xs, ys = X[order], y[order]
        total, count = 0.0, 0
        for start in range(0, len(Xs), batch_size):
            xb, yb = Xs[start:start + batch_size], ys[start:start + batch_size]
            logits = model.forward(Tensor(xb))
            loss = cross_entropy(logits, yb) if logits.shape[1] > 1 else binary_cross_entropy(logits, yb)
            for p in model.parameters():
                p.grad = None
            loss.backward()
            for p in model.parameters():
                p.data = p.data - lr * p.grad
            total += float(loss.data)
            count += 1
        out.append(total / count)
    return out
""",
}


@pytest.mark.parametrize("name", sorted(CORRECT_TRAINS))
def test_correct_train_passes_the_step_checks(name):
    run_checks(namespace({"train_code": CORRECT_TRAINS[name]}), "steps")


def test_virtual_clock_restores_the_real_clocks():
    import time

    from autograder.checks.virtual_clock import VirtualClock

    real = time.perf_counter
    namespace_ = {"perf_counter": real}
    clock = VirtualClock()
    with clock.installed(namespace_):
        first = time.perf_counter()
        clock.advance(2_500)
        assert time.perf_counter() - first == pytest.approx(2.5e-6, rel=1e-6)
        assert namespace_["perf_counter"] is not real and namespace_["perf_counter"]() == time.perf_counter()
        assert time.perf_counter_ns() == clock.ns
    assert time.perf_counter is real and namespace_["perf_counter"] is real and clock.reads == 5


# --- issue 21: a hint only when the observation supports it ----------------------------------------


def _backward_with(old: str, new: str) -> dict:
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    code = submissions.solution_code(by_id["backward_code"])
    assert code.count(old) == 1, old
    return namespace({"backward_code": code.replace(old, new)})


def test_a_wrong_hidden_layer_gets_no_recipe_when_no_probe_matches():
    """dZ1 = dY1 * Y1 (the activation where the ReLU mask belongs): no probe matches. The old fallback
    gave the recipe "the output layer is right but the hidden layer is not: ... (the mask is easy to
    forget) ...", naming a forgotten mask that is not forgotten; now the message says which gradients are
    right and which is wrong, and stops."""
    ns = _backward_with("dZ1 = dY1 * (Z1 > 0)", "dZ1 = dY1 * Y1")
    with pytest.raises(CheckFailure) as caught:
        checks.check_mlp_backward(ns["mlp_backward"], seed=6401)
    text = " ".join(str(caught.value).split())
    assert "grads['b1'] is wrong by up to" in text and "(grads['b2'] and grads['W2'] are right)" in text, text
    assert "mask is easy to forget" not in text and "Likely mistake" not in text, text


def test_a_scaled_hidden_gradient_gets_its_relation_instead_of_the_recipe():
    """dY1 three times too large: a general hint was passed before, so the relation never showed; now
    the relational diagnosis falls back and says the factor."""
    ns = _backward_with("dY1 = dZ2 @ W2", "dY1 = 3.0 * (dZ2 @ W2)")
    with pytest.raises(CheckFailure) as caught:
        checks.check_mlp_backward(ns["mlp_backward"], seed=6401)
    text = " ".join(str(caught.value).split())
    assert "exactly 3 times the right value" in text, text
    assert caught.value.diagnosis == "off by a constant factor", text


def test_a_wrong_linear_inside_sequential_is_not_told_how_sequential_chains():
    """A Linear that subtracts its bias, checked through Sequential: the old hint ("Sequential applies
    its modules in order, each to the output of the previous one; ReLU is x.relu().") blamed the
    chaining, which is right; now the message says the output is wrong and stops."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    code = submissions.solution_code(by_id["modules_code"])
    old = "return x @ self.weight.T + self.bias"
    assert code.count(old) == 1
    ns = namespace({"modules_code": code.replace(old, "return x @ self.weight.T - self.bias")})
    with pytest.raises(CheckFailure) as caught:
        checks.check_sequential(ns["Sequential"], ns["Linear"], ns["ReLU"], ns["Tensor"], seed=6201)
    text = " ".join(str(caught.value).split())
    assert "the output is wrong by up to" in text, text
    assert "Sequential applies its modules" not in text and "Likely mistake" not in text, text


@pytest.mark.parametrize(
    ("forward", "hinted"),
    [("return x @ self.weight.T + self.bias.value", False), ("return x @ self.weight + self.bias", True)],
    ids=["attribute", "shapes"],
)
def test_a_linear_that_raises_gets_the_formula_only_for_a_shape_error(forward, hinted):
    """A Linear whose forward raises: an AttributeError (a Tensor has no .value) is not told the formula's
    shapes (the old message gave LINEAR_FORWARD for any error); numpy's shape error is its evidence."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    code = submissions.solution_code(by_id["modules_code"])
    old = "return x @ self.weight.T + self.bias"
    ns = namespace({"modules_code": code.replace(old, forward)})
    with pytest.raises(CheckFailure) as caught:
        checks.check_linear(ns["Linear"], ns["Tensor"], seed=6101)
    text = " ".join(str(caught.value).split())
    assert "raised" in text, text
    assert ("weight has shape (out_features, in_features)" in text) == hinted, text


def test_losses_returned_in_reverse_are_not_told_to_reset_or_step_against_the_gradient():
    """A correct training whose list of losses is returned reversed. The step check: the old message
    guessed "append float(loss.data) of every minibatch ...: the short last minibatch counts once"; now it
    says the losses are not the epoch means and stops. The training check: the watch saw descent steps and
    gradients cleared, yet the old message guessed "reset the gradients (model.zero_grad()) before every
    backward, and step against the gradient (p.data - lr * p.grad)."; now it says what is wrong and stops."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    code = submissions.solution_code(by_id["train_code"])
    assert code.count("    return losses") == 1
    ns = namespace({"train_code": code.replace("    return losses", "    return losses[::-1]")})
    with pytest.raises(CheckFailure) as caught:
        run_checks(ns, "steps")
    text = " ".join(str(caught.value).split())
    assert "not the means of each epoch's minibatch losses" in text, text
    assert "short last minibatch" not in text and "Likely mistake" not in text, text
    with pytest.raises(CheckFailure) as caught:
        checks.check_train(ns["train"], ns["Tensor"], "two or not two")
    text = " ".join(str(caught.value).split())
    assert "the loss did not decrease from the first epoch to the last." in text, text
    assert "zero_grad" not in text and "Likely mistake" not in text, text


def test_a_relu_that_raises_inside_sequential_is_not_told_how_sequential_chains():
    """ReLU.forward calling a method the Tensor does not have: the old hint ("Sequential.forward applies
    every module in order: x = module(x) for each, then return x.") blamed the chaining for any error in
    the model's forward; only numpy's shape error (a module fed the wrong input) supports it."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in SOURCE.cells}
    code = submissions.solution_code(by_id["modules_code"])
    assert code.count("return x.relu()") == 1
    ns = namespace({"modules_code": code.replace("return x.relu()", "return x.rectify()")})
    with pytest.raises(CheckFailure) as caught:
        checks.check_sequential(ns["Sequential"], ns["Linear"], ns["ReLU"], ns["Tensor"], seed=6201)
    text = " ".join(str(caught.value).split())
    assert "AttributeError" in text and "Sequential.forward applies" not in text, text
