"""Checks for unit 05's gradient of the singular values: `svd_vjp(A, s_bar)`.

For L(A) = <s̄, s(A)>, with s(A) the singular values of A in numpy's (descending) order, the
gradient is U diag(s̄) Vᵀ when the singular values are distinct and nonzero. The truth is never that
formula: small cases compare with the fourth-order central differences of L itself (singular values
from `np.linalg.svd(..., compute_uv=False)`), a large case with the dot-product test
<svd_vjp(A, s̄), U> = d/dt L(A + tU). Test matrices are built as Q1 diag(s) Q2ᵀ with random
orthonormal Q1, Q2 and singular values at least 0.5 apart and at least 1, so that L is smooth near A
and the differences are accurate to about 1e-11.

The known wrong answers (Vᵀ left out, the transpose, s̄ ignored, numpy's vh transposed again) are
computed by the judge from numpy's SVD of the same matrix; they only choose the "Likely mistake" of a
failure, never its verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.checks.kit.arrays import Wrong
from autograder.checks.vjp.cases import compare_array
from autograder.compare import mismatch, real_scalar
from autograder.feedback import Mistake, failure, raised, show
from autograder.finite_differences import central_gradient, directional_derivative
from autograder.inputs import rng
from autograder.runtime import Observation, run_check

RELATIVE = 1e-7  # against fourth-order differences of a smooth function, scaled by the answer's size
H = 1e-3  # the stencil's step: truncation (h^4 / gap^3) and rounding (eps |L| / h) both below 1e-11

SECTION = "section 8 (`svd_vjp`: the gradient of the singular values) of 05_vjp.ipynb"
LECTURE = "section 10 (The gradient of the singular values) of notebooks/05_vjp.ipynb"
VT_LEFT_OUT = Mistake(
    "Vᵀ left out",
    "ds_i = u_iᵀ dA v_i involves both singular vectors, so each term of dL/dA is s̄_i u_i v_iᵀ: the right "
    "factor Vᵀ belongs in the product, which then has the shape (m, n) of A.",
    LECTURE,
)
SVD_TRANSPOSED = Mistake(
    "U and V swapped",
    "dL/dA has the shape (m, n) of A: U diag(s̄) Vᵀ, with U (m, k) on the left; V diag(s̄) Uᵀ is its transpose.",
    LECTURE,
)
S_BAR_IGNORED = Mistake(
    "s̄ ignored",
    "U Vᵀ is the gradient of the sum of the singular values only; each u_i v_iᵀ is weighted by s̄_i: U diag(s̄) Vᵀ.",
    LECTURE,
)
VH_TRANSPOSED_AGAIN = Mistake(
    "vh transposed again",
    "np.linalg.svd returns vh = Vᵀ (its rows are the right singular vectors), already the transposed factor: "
    "vh.T is V.",
    SECTION,
)

SVD_SHAPES = ((3, 3), (4, 2), (2, 5), (1, 3), (5, 1), (4, 4))
"""(m, n) of the small hidden cases: square, tall, wide, one row, one column."""
LARGE_SHAPE = (60, 40)


def well_separated(seed: int, m: int, n: int, gap: float = 0.5) -> np.ndarray:
    """A random (m, n) matrix Q1 diag(s) Q2ᵀ whose k = min(m, n) singular values are at least 1 and
    at least `gap` apart (Q1, Q2 random with orthonormal columns)."""
    generator = rng(seed)
    k = min(m, n)
    q1, _ = np.linalg.qr(generator.normal(size=(m, k)))
    q2, _ = np.linalg.qr(generator.normal(size=(n, k)))
    steps = gap + generator.uniform(0.0, 0.5, size=k)
    s = np.sort(1.0 + np.cumsum(steps) - steps[0])[::-1]
    return q1 @ np.diag(s) @ q2.T


def singular_value_loss(A: np.ndarray, s_bar: np.ndarray) -> float:  # noqa: N803
    """L(A) = <s̄, s(A)>, the singular values in descending order: the oracle's forward function."""
    return float(np.asarray(s_bar) @ np.linalg.svd(A, compute_uv=False))


def known_wrong_answers(A: np.ndarray, s_bar: np.ndarray) -> Wrong:  # noqa: N803
    """The common wrong answers for this A and s̄ (for the diagnosis only)."""
    u, _, vh = np.linalg.svd(A, full_matrices=False)
    scaled = u * s_bar
    wrong: list[tuple[Mistake, np.ndarray]] = [
        (SVD_TRANSPOSED, vh.T @ np.diag(s_bar) @ u.T),
        (S_BAR_IGNORED, u @ vh),
        (VT_LEFT_OUT, scaled),
    ]
    if vh.shape[0] == vh.shape[1]:
        wrong.append((VH_TRANSPOSED_AGAIN, scaled @ vh.T))
    return wrong


def check_svd_vjp(svd_vjp: Callable, A: Any = None, s_bar: Any = None, *, seed: int | None = None) -> None:  # noqa: N803
    """Check svd_vjp(A, s_bar) = dL/dA for L(A) = <s̄, singular values of A>: against fourth-order
    central differences of L on small matrices; with a seed, every shape of `SVD_SHAPES` and a
    (60, 40) matrix by the dot-product test."""
    __tracebackhide__ = True
    if seed is None:
        cases = [(np.asarray(A, dtype=float), np.asarray(s_bar, dtype=float))]
    else:
        cases = []
        for k, (m, n) in enumerate(SVD_SHAPES):
            matrix = well_separated(seed * 10 + k, m, n)
            cases.append((matrix, np.round(rng(seed * 10 + k + 5000).normal(size=min(m, n)), 3)))
    for matrix, weights in cases:
        _svd_case(svd_vjp, matrix, weights)
    if seed is not None:
        _svd_large(svd_vjp, seed)


def _given(A: np.ndarray, s_bar: np.ndarray) -> str:  # noqa: N803
    s = np.linalg.svd(A, compute_uv=False)
    return f"A = {show(A, 120)}, singular values {show(np.round(s, 6), 60)}, s_bar = {show(s_bar, 60)}"


def _svd_case(student: Callable, A: np.ndarray, s_bar: np.ndarray) -> None:  # noqa: N803
    def observe() -> dict:
        a, w = A.copy(), s_bar.copy()
        out = student(a, w)
        changed = [name for name, now, before in (("A", a, A), ("s_bar", w, s_bar)) if not np.array_equal(now, before)]
        return {"out": out, "changed": changed}

    def judge(obs: Observation) -> None:
        call = "svd_vjp(A, s_bar)"
        given = _given(A, s_bar)
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        if obs.value["changed"]:
            raise failure(
                call,
                f"modified its input {', '.join(obs.value['changed'])} in place.",
                given=given,
                mistake="compute new arrays instead of writing into the arguments: the caller still needs them.",
            )
        want = central_gradient(lambda a: singular_value_loss(a, s_bar), A, h=H)
        compare_array(call, "dL/dA", obs.value["out"], want, given, known_wrong_answers(A, s_bar), RELATIVE)

    run_check(observe, judge)


def _svd_large(student: Callable, seed: int) -> None:
    m, n = LARGE_SHAPE

    def arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        matrix = well_separated(seed + 17, m, n)
        generator = rng(seed + 18)
        return matrix, np.round(generator.normal(size=min(m, n)), 3), generator.normal(size=(m, n))

    def observe() -> dict:
        matrix, weights, direction = arrays()
        out = np.asarray(student(matrix, weights), dtype=float)
        inner = float(np.sum(out * direction)) if out.shape == (m, n) else None
        return {"shape": list(out.shape), "inner": inner}

    def judge(obs: Observation) -> None:
        call = "svd_vjp(A, s_bar)"
        given = f"a random A of shape ({m}, {n}) with singular values from 1 to about 30, at least 0.5 apart"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        shape = tuple(obs.value["shape"])
        if shape != (m, n):
            raise failure(call, f"returned shape {shape}, not the shape of A, ({m}, {n}).", given=given)
        matrix, weights, direction = arrays()
        want = float(directional_derivative(lambda a: singular_value_loss(a, weights), matrix, direction, h=H))
        got = real_scalar(obs.value["inner"], call)
        if mismatch(got, want, 1e-7 * (1 + abs(want))):
            raise failure(
                call,
                "fails the dot-product test: <svd_vjp(A, s_bar), U> must equal the derivative of "
                "<s_bar, singular values of A + tU> at t = 0, for a random direction U.",
                expected=want,
                got=got,
                given=given,
            )

    run_check(observe, judge)
