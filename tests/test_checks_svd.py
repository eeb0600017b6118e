"""Unit 05's `check_svd_vjp` on its own: the reference passes, the oracle is finite differences of
the singular values, and each common wrong formula fails with its diagnosis (or, when the evidence
does not single it out, with none)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks.svd import (
    SVD_SHAPES,
    check_svd_vjp,
    singular_value_loss,
    well_separated,
)
from autograder.feedback import CheckFailure
from autograder.finite_differences import central_gradient


def _factors(A):  # noqa: N803
    return np.linalg.svd(np.asarray(A, dtype=float), full_matrices=False)


def right(A, s_bar):  # noqa: N803
    u, _, vh = _factors(A)
    return u @ np.diag(s_bar) @ vh


def without_vt(A, s_bar):  # noqa: N803
    u, _, _ = _factors(A)
    return u @ np.diag(s_bar)


def transposed(A, s_bar):  # noqa: N803
    u, _, vh = _factors(A)
    return vh.T @ np.diag(s_bar) @ u.T


def s_bar_ignored(A, s_bar):  # noqa: N803
    u, _, vh = _factors(A)
    return u @ vh


def vh_transposed_again(A, s_bar):  # noqa: N803
    u, _, vh = _factors(A)
    return u @ np.diag(s_bar) @ vh.T


def test_the_reference_passes_visible_and_seeded_cases():
    check_svd_vjp(right, [[3.0, 0.0], [4.0, 5.0]], [1.0, 0.0])
    check_svd_vjp(right, [[0.0, 4.0, 0.0], [2.0, 0.0, 0.0]], [1.0, 3.0])
    for seed in (5901, 1_000_123):
        check_svd_vjp(right, seed=seed)


@pytest.mark.parametrize(("m", "n"), SVD_SHAPES)
def test_test_matrices_have_well_separated_singular_values_and_the_oracle_agrees_with_the_formula(m, n):
    A = well_separated(17, m, n)  # noqa: N806
    s = np.linalg.svd(A, compute_uv=False)
    assert s.min() >= 1.0 - 1e-12 and (len(s) == 1 or np.diff(s).max() <= -0.5 + 1e-12)
    s_bar = np.linspace(-1.0, 2.0, len(s))
    oracle = central_gradient(lambda a: singular_value_loss(a, s_bar), A, h=1e-3)
    assert np.abs(oracle - right(A, s_bar)).max() < 1e-9


@pytest.mark.parametrize(
    ("student", "diagnosis"),
    [
        (without_vt, "Vᵀ left out"),
        (transposed, "U and V swapped"),
        (s_bar_ignored, "s̄ ignored"),
        (vh_transposed_again, "vh transposed again"),
    ],
)
def test_each_wrong_formula_fails_with_its_diagnosis(student, diagnosis):
    with pytest.raises(CheckFailure) as caught:
        check_svd_vjp(student, seed=5901)
    assert caught.value.diagnosis == diagnosis, str(caught.value)
    assert "Expected" in str(caught.value) or "shape" in str(caught.value)


def test_a_wrong_shape_on_a_wide_matrix_is_named_and_states_the_shape_once():
    with pytest.raises(CheckFailure) as caught:
        check_svd_vjp(transposed, [[0.0, 4.0, 0.0], [2.0, 0.0, 0.0]], [1.0, 3.0])
    message = " ".join(str(caught.value).split())
    assert caught.value.diagnosis == "U and V swapped"
    assert "has shape (3, 2), but it must have shape (2, 3)" in message
    assert message.count("(shape (2, 3)") == 1


def test_an_unrecognised_wrong_answer_gets_no_diagnosis():
    # 1.7 times the truth: no known mistake, and no clean relation (2 times would be "off by a constant factor")
    with pytest.raises(CheckFailure) as caught:
        check_svd_vjp(lambda A, s_bar: 1.7 * right(A, s_bar), seed=5901)
    assert caught.value.diagnosis == "" and "Likely mistake" not in str(caught.value)


def test_a_large_matrix_is_checked_by_the_dot_product_test():
    def right_only_when_small(A, s_bar):  # noqa: N803
        out = right(A, s_bar)
        return out if out.size < 100 else out + 1e-4

    with pytest.raises(CheckFailure, match="dot-product test"):
        check_svd_vjp(right_only_when_small, seed=5901)


def test_modifying_the_input_and_the_stub_are_explained():
    def in_place(A, s_bar):  # noqa: N803
        out = right(A, s_bar)
        A[...] = 0.0
        return out

    with pytest.raises(CheckFailure, match="modified its input A in place"):
        check_svd_vjp(in_place, seed=5901)

    def stub(A, s_bar):  # noqa: N803
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_svd_vjp(stub, [[3.0, 0.0], [4.0, 5.0]], [1.0, 0.0])
