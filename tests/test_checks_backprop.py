"""Unit 06's checks on their own, in one process: the reference passes every check, and named mistakes
fail with a readable diagnosis (the whole grading pipeline is exercised in test_grading.py)."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

import autograder.checks.backprop as checks
from autograder.feedback import CheckFailure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.backprop import ATTACKS, MUTANTS

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
        checks.check_train(ns["train"], tensor, "two or not two")
        checks.check_train(ns["train"], tensor, "determinism")
        checks.check_train(ns["train"], tensor, "ten digits")
    elif which == "cost":
        checks.check_gradient_cost_ratio(
            ns["gradient_cost_ratio"], ns["network_loss"], ns["network_gradient"], seed=6701
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
        ("train_update_rebinds_loop_variable", "train", "did not change"),
        ("train_ignores_seed", "train", "the seed is not used"),
        ("cost_ratio_inverted", "cost", "the inverse of the ratio"),
        ("cost_forward_differences", "cost", "2P calls"),
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
