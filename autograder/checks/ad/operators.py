"""The operations AD classes are driven by, and the mistakes of the reflected operators."""

from __future__ import annotations

from autograder.feedback import Mistake

ARITHMETIC = (
    "x + y",
    "x + 3",
    "3 + x",
    "x - y",
    "x - 3",
    "3 - x",
    "-x",
    "x * y",
    "x * 3",
    "3 * x",
    "x * x",
    "x / y",
    "x / 3",
    "3 / x",
    "x * y - 3 / y + x / 2",
)
"""The operations the arithmetic checks try by default, as Python source in x and y."""


def rsub_swapped(where: str) -> Mistake:
    """`3 - x` computed as x - 3, taught at `where` (the unit's notebook section)."""
    return Mistake(
        "the operands of __rsub__ swapped",
        "`3 - x` calls x.__rsub__(3), which must compute other - self = 3 - x, not x - 3.",
        where,
    )


def rtruediv_swapped(where: str) -> Mistake:
    """`3 / x` computed as x / 3, taught at `where` (the unit's notebook section)."""
    return Mistake(
        "the operands of __rtruediv__ swapped",
        "`3 / x` calls x.__rtruediv__(3), which must compute other / self = 3 / x, not x / 3.",
        where,
    )
