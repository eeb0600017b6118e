"""Checks for unit 01, numerical differentiation.

The truth always comes from SymPy: exact derivatives, and the exact value of each difference
quotient from its Taylor series (`autograder.oracles.truncation`), so a check can tell a one-sided
difference from a central one, or a wrong default step, by the size of the truncation error.
Where f is evaluated, and how often, is observed with `Recorded`.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.numerical import check_...`).
"""

from __future__ import annotations

from autograder.checks.numerical import cases, mistakes
from autograder.checks.numerical.cases import (
    check_best_step,
    check_central_difference,
    check_complex_step,
    check_forward_difference,
    check_gradient_check,
    check_numerical_gradient,
    check_numerical_jacobian,
    check_relative_error,
    check_step_size_errors,
)

__all__ = [
    "cases",
    "check_best_step",
    "check_central_difference",
    "check_complex_step",
    "check_forward_difference",
    "check_gradient_check",
    "check_numerical_gradient",
    "check_numerical_jacobian",
    "check_relative_error",
    "check_step_size_errors",
    "mistakes",
]
