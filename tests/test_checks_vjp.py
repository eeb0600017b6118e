"""Unit 05's checks on their own, in one process: the reference passes every check, and each named
mistake fails with its diagnosis (the whole grading pipeline is exercised in test_grading.py)."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

import autograder.checks.vjp as checks
from autograder.checks.svd import check_svd_vjp
from autograder.checks.tensor_recording import check_tensor_recording
from autograder.feedback import CheckFailure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.vjp import ATTACKS, MUTANTS

SOURCE = nbformat.read(REPO / "source" / "05_vjp" / "05_vjp.ipynb", as_version=4)
CELLS = (
    "unbroadcast_code",
    "tensor_code",
    "matmul_code",
    "linear_code",
    "quadratic_code",
    "softmax_code",
    "solve_code",
    "svd_code",
)
CHECKS = {
    "unbroadcast": lambda ns: checks.check_unbroadcast(ns["unbroadcast"], seed=5101),
    "tensor": lambda ns: checks.check_tensor(ns["Tensor"], seed=5201),
    "matmul_vjp": lambda ns: checks.check_matmul_vjp(ns["matmul_vjp"], seed=5301),
    "linear_backward": lambda ns: checks.check_linear_backward(ns["linear_backward"], seed=5401),
    "quadratic_form_grad": lambda ns: checks.check_quadratic_form_grad(ns["quadratic_form_grad"], seed=5501),
    "softmax_cross_entropy": lambda ns: checks.check_softmax_cross_entropy(
        ns["softmax_cross_entropy"], ns["softmax_cross_entropy_vjp"], seed=5601
    ),
    "solve_vjp": lambda ns: checks.check_solve_vjp(ns["solve_vjp"], seed=5701),
    "tensor_recording": lambda ns: check_tensor_recording(ns["Tensor"], seed=5801),
    "svd_vjp": lambda ns: check_svd_vjp(ns["svd_vjp"], seed=5901),
}


def namespace(replaced: dict[str, str] | None = None) -> dict:
    """The solution cells of the source notebook (or their replacements), run in order."""
    cells = submissions.solution_cells(SOURCE)
    ns: dict = {}
    exec("import numpy as np", ns)
    for cell in CELLS:
        exec(compile((replaced or {}).get(cell) or submissions.solution_code(cells[cell]), cell, "exec"), ns)
    return ns


def test_reference_solution_passes_every_check():
    ns = namespace()
    for check in CHECKS.values():
        check(ns)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_named_mistake_fails_with_its_diagnosis(mutant):
    """Every test cell the mutant loses fails with a message naming its mistake (or with none)."""
    m = MUTANTS[mutant]
    ns = namespace({m.cell: m.code(SOURCE)})
    diagnoses = []
    for cell in m.loses:
        with pytest.raises(CheckFailure) as caught:
            CHECKS[cell](ns)
        assert caught.value.diagnosis in ("", *m.diagnoses), str(caught.value)
        diagnoses.append(caught.value.diagnosis)
    assert set(m.diagnoses) & set(diagnoses)


@pytest.mark.parametrize(
    ("code", "check", "diagnosis"),
    [
        (
            "def unbroadcast(g, shape):\n    return np.asarray(g, dtype=float)",
            "unbroadcast",
            "g returned without summing",
        ),
        (
            "def linear_backward(X, W, b, dY):\n    return dY @ W.T, X.T @ dY, dY.mean(axis=0)",
            "linear_backward",
            "db averaged over the batch",
        ),
        ("def matmul_vjp(X, W, G):\n    return G @ W.T, (X.T @ G).T", "matmul_vjp", "dW transposed"),
        ("def quadratic_form_grad(A, x):\n    return A @ x", "quadratic_form_grad", "only A x"),
        (
            "def solve_vjp(A, b, x, gx):\n    db = np.linalg.solve(A.T, gx)\n    return np.outer(db, x), db",
            "solve_vjp",
            "dA sign reversed",
        ),
    ],
)
def test_probes_name_other_common_mistakes(code, check, diagnosis):
    with pytest.raises(CheckFailure) as caught:
        CHECKS[check]({check: _defined(code)})
    assert caught.value.diagnosis == diagnosis, str(caught.value)


def _defined(code: str):
    ns: dict = {"np": np}
    exec(code, ns)
    return next(v for k, v in ns.items() if k not in ("np", "__builtins__"))


def test_finite_differences_get_a_hint_but_no_diagnosis():
    ns = namespace(ATTACKS["finite_differences_instead_of_formulas"].cells)
    with pytest.raises(CheckFailure) as caught:
        CHECKS["matmul_vjp"](ns)
    assert caught.value.diagnosis == "" and "exact" in str(caught.value)


def test_log_of_softmax_is_not_called_a_missing_shift():
    """A shifted softmax whose log underflows to -inf also returns an infinite loss: that is not an
    overflow, so it gets the general hint, not the diagnosis."""
    code = """
def softmax_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return float(-np.log((e / e.sum(axis=1, keepdims=True))[np.arange(len(labels)), labels]).mean())


def softmax_cross_entropy_vjp(logits, labels):
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    return p / len(labels)
"""
    ns = namespace({"softmax_code": code})
    with pytest.raises(CheckFailure) as caught:
        checks.check_softmax_cross_entropy(
            ns["softmax_cross_entropy"], ns["softmax_cross_entropy_vjp"], [[1000.0, -1000.0, 0.0]], [1]
        )
    assert caught.value.diagnosis == "" and "overflows" in str(caught.value)
