"""Tolerances and closeness of numbers and arrays: the one place that says what "equal" means.

`relative_tolerance` bounds each entry by its own size (results exact to rounding); `tolerance`
gives one bound for a whole array from its largest entry (results that add many terms, where a
small entry inherits the rounding of the large ones). `within` is the comparison every matcher
uses; `close` reads a student's (possibly foreign) value first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.compare import mismatch
from autograder.observations import Foreign

EXACT_TO_ROUNDING = 1e-9  # automatic differentiation is exact up to a few ulps per operation, generously


def relative_tolerance(want: object, relative: float = EXACT_TO_ROUNDING) -> np.ndarray:
    """Allowed |got - want|, entry by entry: `relative` times (1 + |want|)."""
    return relative * (1.0 + np.abs(np.asarray(want, dtype=float)))


def tolerance(want: Any, relative: float) -> float:
    """`relative` times (1 + the largest |entry| of want): one bound for the whole array."""
    return relative * (1.0 + float(np.max(np.abs(np.asarray(want, dtype=float)), initial=0.0)))


def within(got: Any, want: Any, allowed: Any) -> bool:
    """Whether `got` has want's shape and every |got - want| <= allowed (both finite)."""
    if got is None or isinstance(got, Foreign) or np.shape(got) != np.shape(want):
        return False
    with np.errstate(all="ignore"):
        return not mismatch(got, want, allowed)


def all_zero(value: Any, allowed: Any = 0.0) -> bool:
    """Whether every entry of `value` is 0 (within `allowed`)."""
    with np.errstate(all="ignore"):
        return not mismatch(value, np.zeros(np.shape(value)), allowed)


def close(got: Any, want: Any, relative: float) -> bool:
    """Whether `got` is a real array of want's shape within `tolerance(want, relative)` of it."""
    if got is None or isinstance(got, Foreign) or np.shape(got) != np.shape(want):
        return False
    try:
        return within(np.asarray(got, dtype=float), want, tolerance(want, relative))
    except (TypeError, ValueError):
        return False


def relative_to_entries(relative: float = EXACT_TO_ROUNDING) -> Any:
    """The per-candidate tolerance `relative_tolerance(value, relative)`, for `diagnose`."""
    return lambda value: relative_tolerance(value, relative)


def relative_to_largest(relative: float) -> Any:
    """The per-candidate tolerance `tolerance(value, relative)`, for `diagnose`."""
    return lambda value: tolerance(value, relative)


TO_ROUNDING = relative_to_entries(EXACT_TO_ROUNDING)
"""The tolerance of a result exact to rounding (automatic differentiation), for `diagnose`."""
