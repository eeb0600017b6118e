"""Old path of `autograder.oracles.truncation` (kept for the tests' imports)."""

from autograder.oracles.truncation import METHODS, quotient, taylor_coefficients, truncation_error

__all__ = ["METHODS", "quotient", "taylor_coefficients", "truncation_error"]
