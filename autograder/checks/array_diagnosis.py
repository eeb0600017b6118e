"""Compare an array answer with the truth and, when it is wrong, name the mistake it matches.

Shared by the checks of units 05 (vector-Jacobian products) and 06 (backpropagation). A check
passes the known wrong answers of an exercise as `(mistake, value)` pairs, each value computed by
the check itself from formulas and oracles (a transpose, a missing factor 1/B, a sum left out),
never by a near-solution. They are looked at only after the answer has failed, so they never change
a verdict: they only decide which "Likely mistake" the failure message gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.compare import largest_gap, mismatch, real_array
from autograder.feedback import Mistake, failure
from autograder.observations import Foreign

Wrong = Sequence[tuple[str | Mistake, Any]]
"""Known wrong answers: (the mistake, as a recognised `Mistake` or a plain hint, and its value)."""


def tolerance(want: Any, relative: float) -> float:
    """`relative` times (1 + the largest |entry| of want): one bound for the whole array."""
    return relative * (1.0 + float(np.max(np.abs(np.asarray(want, dtype=float)), initial=0.0)))


def close(got: Any, want: Any, relative: float) -> bool:
    """Whether `got` is a real array of want's shape within `tolerance(want, relative)` of it."""
    if got is None or isinstance(got, Foreign) or np.shape(got) != np.shape(want):
        return False
    try:
        return not mismatch(np.asarray(got, dtype=float), want, tolerance(want, relative))
    except (TypeError, ValueError):
        return False


def matching(got: Any, wrong: Wrong, relative: float) -> str | Mistake | None:
    """The first mistake of `wrong` whose value `got` equals (same shape, within the tolerance), or None."""
    return next((mistake for mistake, value in wrong if close(got, value, relative)), None)


def compare(
    call: str,
    what: str,
    got: Any,
    want: np.ndarray,
    given: str,
    wrong: Wrong = (),
    relative: float = 1e-7,
    hint: str | None = None,
) -> None:
    """Raise a `CheckFailure` unless `got` is a real array of want's shape within the tolerance.

    The failure names the first mistake of `wrong` whose value `got` matches; a wrong shape that
    matches a wrong answer is reported as such. When nothing matches, `hint` (a general, plain-string
    hint, or None) is given instead.
    """
    shape = np.shape(want)
    if not isinstance(got, Foreign) and got is not None and np.shape(got) != shape:
        mistake = matching(got, wrong, relative)
        if mistake is not None:
            raise failure(
                call,
                f"{what} has shape {np.shape(got)}, but it must have the shape of its input, {shape}.",
                given=given,
                mistake=mistake,
            )
    array = real_array(got, shape, call, what)
    if mismatch(array, want, tolerance(want, relative)):
        raise failure(
            call,
            f"{what} is wrong by up to {largest_gap(array, want):.3g}.",
            expected=want,
            got=array,
            given=given,
            mistake=matching(array, wrong, relative) or hint,
        )
