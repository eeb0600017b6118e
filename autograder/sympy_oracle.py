"""Old path of `autograder.oracles.expressions` (kept for the notebooks' and tests' imports)."""

from autograder.oracles.expressions import (
    DEFAULT_HIGH,
    DEFAULT_LOW,
    ELEMENTARY,
    RandomExpression,
    RandomVectorFunction,
    random_expression,
    random_vector_function,
)

__all__ = [
    "DEFAULT_HIGH",
    "DEFAULT_LOW",
    "ELEMENTARY",
    "RandomExpression",
    "RandomVectorFunction",
    "random_expression",
    "random_vector_function",
]
