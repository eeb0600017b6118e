"""The mean softmax cross-entropy in high precision, straight from its definition (no shift)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import mpmath


def mp_cross_entropy(logits: Iterable[Sequence[Any]], labels: Sequence[int], digits: int = 30) -> mpmath.mpf:
    """mean over rows of log(sum_c exp(z_c)) - z_label, in `digits`-digit arithmetic.

    `logits` are rows of numbers (floats or mpmath numbers, taken exactly as they are); exp of a
    large logit does not overflow in mpmath, so no shift by the row maximum is needed.
    """
    with mpmath.workdps(digits):
        total = mpmath.mpf(0)
        for row, label in zip(logits, labels, strict=True):
            entries = [v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v)) for v in row]
            total += mpmath.log(mpmath.fsum(mpmath.exp(v) for v in entries)) - entries[int(label)]
        return total / len(labels)
