"""Old path of `autograder.oracles.finite_differences` (kept for the notebooks' and tests' imports)."""

from autograder.oracles.finite_differences import (
    STENCIL,
    central_gradient,
    central_jacobian,
    complex_step_gradient,
    directional_derivative,
    mp_stencil,
)

__all__ = [
    "STENCIL",
    "central_gradient",
    "central_jacobian",
    "complex_step_gradient",
    "directional_derivative",
    "mp_stencil",
]
