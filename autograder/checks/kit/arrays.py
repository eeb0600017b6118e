"""Compare an array answer with the truth and, when it is wrong, name the mistake it shows.

A check passes the known wrong answers of an exercise as `(mistake, value)` pairs, each value
computed by the check itself from formulas and oracles (a transpose, a missing factor 1/B, a sum
left out), never by a near-solution. They are looked at only after the answer has failed, so they
never change a verdict: `diagnose` chooses the "Likely mistake" the failure message gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.checks.kit.diagnose import diagnose
from autograder.checks.kit.relations import RELATIVE, relate
from autograder.checks.kit.tolerance import relative_to_largest, tolerance
from autograder.compare import largest_gap, mismatch, real_array
from autograder.feedback import Mistake, failure
from autograder.observations import Foreign

Wrong = Sequence[tuple[str | Mistake, Any]]
"""Known wrong answers: (the mistake, as a recognised `Mistake` or a plain hint, and its value)."""


def matching(got: Any, wrong: Wrong, want: Any, relative: float) -> str | Mistake | None:
    """`diagnose` with the tolerance of `compare`: relative to each candidate's largest entry."""
    return diagnose(
        got, wrong, tolerance=relative_to_largest(relative), truth=want, truth_tolerance=tolerance(want, relative)
    )


def compare(
    call: str,
    what: str,
    got: Any,
    want: np.ndarray,
    given: str,
    wrong: Wrong = (),
    relative: float = 1e-7,
    hint: str | None = None,
    *,
    batch: int | None = None,
    per_example: Any = None,
    steps: Sequence[Any] | None = None,
    step: int | None = None,
) -> None:
    """Raise a `CheckFailure` unless `got` is a real array of want's shape within the tolerance.

    The failure names the mistake `diagnose` finds among `wrong`; a wrong shape that
    matches a wrong answer is reported as such. When none matches, the one relation of `got` to
    `want` (`relations.relate`: a clean multiple, the opposite sign, the transpose, the first row, the
    first example of `per_example`, a neighbouring step of `steps`; `batch` the batch size B when
    known) is the diagnosis; when none holds either, `hint` (a general, plain-string hint, or None).
    """
    shape = np.shape(want)

    def related(value: Any) -> Mistake | None:
        return relate(
            want,
            value,
            what,
            relative=max(relative, RELATIVE),
            batch=batch,
            per_example=per_example,
            steps=steps,
            step=step,
        )

    try:
        got_shape = None if isinstance(got, Foreign) or got is None else np.shape(got)
    except (TypeError, ValueError):  # a ragged list: real_array says what came back
        got_shape = None
    if got_shape is not None and got_shape != shape:
        mistake = matching(got, wrong, want, relative) or related(got)
        if mistake is not None:
            raise failure(
                call,
                f"{what} has shape {got_shape}, but it must have shape {shape}.",
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
            mistake=matching(array, wrong, want, relative) or related(array) or hint,
            relate=False,  # asked above, with the per-example and step truths the check gave
        )
