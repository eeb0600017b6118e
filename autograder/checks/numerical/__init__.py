"""Checks for unit 01, numerical differentiation.

The truth always comes from SymPy: exact derivatives, and the exact value of each difference
quotient from its Taylor series (`autograder.oracles.truncation`), so a check can tell a one-sided
difference from a central one, or a wrong default step, by the size of the truncation error.
Where f is evaluated, and how often, is observed with `Recorded`.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.numerical import check_...`).
"""

from __future__ import annotations

from autograder.checks.numerical import cases as cases
from autograder.checks.numerical import mistakes as mistakes
from autograder.checks.numerical.cases import check_best_step as check_best_step
from autograder.checks.numerical.cases import check_central_difference as check_central_difference
from autograder.checks.numerical.cases import check_complex_step as check_complex_step
from autograder.checks.numerical.cases import check_forward_difference as check_forward_difference
from autograder.checks.numerical.cases import check_gradient_check as check_gradient_check
from autograder.checks.numerical.cases import check_numerical_gradient as check_numerical_gradient
from autograder.checks.numerical.cases import check_numerical_jacobian as check_numerical_jacobian
from autograder.checks.numerical.cases import check_relative_error as check_relative_error
from autograder.checks.numerical.cases import check_step_size_errors as check_step_size_errors
