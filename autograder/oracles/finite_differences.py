"""Finite-difference and complex-step oracles for checking derivatives.

These are references for hidden tests, written to be accurate rather than to match an exercise:
the gradient and Jacobian use the fourth-order central stencil
    f'(x) ~ (-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / (12 h),   error O(h^4),
(4n evaluations of f, not the 2n of the course's `numerical_gradient`), and the complex step
Im f(x + ih) / h with h = 1e-30 is exact to rounding for analytic f written with complex-safe
operations. Inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import numpy as np

STENCIL = ((-2, 1.0), (-1, -8.0), (1, 8.0), (2, -1.0))  # (offset in units of h, weight over 12 h)


def _stencil(f: Callable[[np.ndarray], object], x: np.ndarray, index: int, h: float) -> np.ndarray:
    total = 0.0
    for offset, weight in STENCIL:
        shifted = x.copy()
        shifted.flat[index] += offset * h
        total = total + weight * np.asarray(f(shifted), dtype=float)
    return total / (12.0 * h)


def central_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Gradient of scalar `f` at `x` (any shape) by the fourth-order central stencil.

    Returns a float array of x's shape. `f` receives float arrays of x's shape.
    """
    point = np.array(x, dtype=float)
    grad = np.empty_like(point)
    for i in range(point.size):
        grad.flat[i] = _stencil(f, point, i, h)
    return grad


def central_jacobian(f: Callable[[np.ndarray], object], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Jacobian of f: R^n -> R^m at `x` (shape (n,)) as an (m, n) array, fourth-order stencil."""
    point = np.array(x, dtype=float).reshape(-1)
    columns = [np.atleast_1d(_stencil(f, point, i, h)).reshape(-1) for i in range(point.size)]
    return np.stack(columns, axis=1)


def complex_step_gradient(f: Callable[[np.ndarray], complex], x: np.ndarray, h: float = 1e-30) -> np.ndarray:
    """Gradient of real-analytic scalar `f` at `x` by the complex step: Im f(x + i h e_k) / h.

    Exact to rounding; `f` must accept complex arrays and be analytic (no abs, no comparisons).
    """
    point = np.array(x, dtype=complex)
    grad = np.empty(point.shape, dtype=float)
    for i in range(point.size):
        shifted = point.copy()
        shifted.flat[i] += 1j * h
        grad.flat[i] = np.imag(f(shifted)) / h
    return grad


def directional_derivative(
    f: Callable[[np.ndarray], object], x: np.ndarray, v: np.ndarray, h: float = 1e-3
) -> np.ndarray:
    """(d/dt) f(x + t v) at t = 0 by the fourth-order stencil along v; one check of J v for large x."""
    point, direction = np.asarray(x, dtype=float), np.asarray(v, dtype=float)
    total = 0.0
    for offset, weight in STENCIL:
        total = total + weight * np.asarray(f(point + offset * h * direction), dtype=float)
    return total / (12.0 * h)


def mp_stencil(f: Callable[[mpmath.mpf], mpmath.mpf], h: str | float, digits: int = 30) -> float:
    """d/dt f(t) at t = 0 by the fourth-order stencil, every step in `digits`-digit arithmetic.

    `f` receives the offset t = k h as an mpmath number and returns an mpmath number; with 30
    digits, a tiny h (1e-12) leaves a truncation error far below a double's rounding.
    """
    with mpmath.workdps(digits):
        step = mpmath.mpf(h)
        total = mpmath.fsum(weight * f(offset * step) for offset, weight in STENCIL)
        return float(total / (12 * step))
