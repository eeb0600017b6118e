"""The one matcher of the package: which known mistake, if any, a wrong answer shows.

A check that has failed hands `diagnose` the student's answer and the known wrong answers of the
exercise, each a `Candidate` (the mistake, the value that mistake gives, and optionally how close
an answer must be to count as that value). The rule, the same for every unit:

* a candidate whose value equals the truth (within the check's tolerance) is skipped: that mistake
  would not show on this input;
* a candidate whose value is all zero is skipped (an answer of 0, as a stub's `return 0`, is no
  evidence of any rule), unless it says that zero is the evidence (`zero_is_evidence`);
* a mistake is named only when exactly one known mistake matches; two different mistakes (by
  name) that give the same answer here cannot be told apart, so neither is named.

It is called only after a check has failed: it chooses the failure's "Likely mistake", never the
verdict. This module imports no numpy (unit 02 runs in a browser without it): the closeness test
for numbers and arrays is imported when first needed, and a unit whose answers are other data
(SymPy values at points) passes its own `close` and `is_zero`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from autograder.feedback import Mistake

Allowed = Any
"""A tolerance: a number, an array of per-entry bounds, or a function of the candidate's value giving one."""

_NO_TRUTH = object()


@dataclass(frozen=True)
class Candidate:
    """A known wrong answer: `mistake` gives `value` (within `tolerance`, or the diagnosis's default)."""

    mistake: Mistake | str
    value: Any
    tolerance: Allowed = None
    zero_is_evidence: bool = False


CandidateLike = Candidate | tuple[Any, ...]
"""A `Candidate`, or a tuple (mistake, value) or (mistake, value, tolerance)."""


def _candidate(item: CandidateLike) -> Candidate:
    return item if isinstance(item, Candidate) else Candidate(*item)


def key(mistake: Mistake | str) -> str:
    """What tells two mistakes apart: a Mistake's name, or a hint's text."""
    return mistake.name if isinstance(mistake, Mistake) else mistake


def _bound(allowed: Allowed, value: Any) -> Any:
    return allowed(value) if callable(allowed) else allowed


def diagnose(
    got: Any,
    candidates: Iterable[CandidateLike],
    *,
    tolerance: Allowed = 0.0,
    truth: Any = _NO_TRUTH,
    truth_tolerance: Allowed = None,
    close: Callable[[Any, Any, Any], bool] | None = None,
    is_zero: Callable[[Any, Any], bool] | None = None,
) -> Mistake | str | None:
    """The one mistake of `candidates` whose value `got` matches, or None (see the module docstring).

    `tolerance` is the default per-candidate tolerance; `truth` (when given) is the right answer,
    and candidates within `truth_tolerance` (default: `tolerance`) of it are skipped.
    `close(a, b, allowed)` says whether a is b within allowed; `is_zero(value, allowed)` whether a
    candidate is all zero. Both default to numpy's reading of numbers and arrays (`kit.tolerance`).
    A candidate whose value cannot be computed or compared never matches.
    """
    if close is None or is_zero is None:
        from autograder.checks.kit import tolerance as numeric  # numpy: not needed by unit 02's callers

        close = close or numeric.within
        is_zero = is_zero or numeric.all_zero
    found: list[Mistake | str] = []
    for item in candidates:
        candidate = _candidate(item)
        try:
            allowed = _bound(tolerance if candidate.tolerance is None else candidate.tolerance, candidate.value)
            if truth is not _NO_TRUTH:
                against = _bound(tolerance if truth_tolerance is None else truth_tolerance, truth)
                if close(candidate.value, truth, against):
                    continue  # this mistake does not show on this input
            if not candidate.zero_is_evidence and is_zero(candidate.value, allowed):
                continue  # 0 is what an empty answer gives: no evidence of a rule
            if not close(got, candidate.value, allowed):
                continue
        except (TypeError, ValueError, ArithmeticError):
            continue
        if all(key(candidate.mistake) != key(other) for other in found):
            found.append(candidate.mistake)
    return found[0] if len(found) == 1 else None
