"""When an exercise builds on another: say first that the other one fails, and why this one may.

A `Tensor` calls the student's `unbroadcast`; `hessian` and `newton_step` call the student's `hvp`.
When the exercise below fails because the one it builds on is wrong, its own "Likely mistake"
would blame the wrong code. The check of the dependent exercise therefore runs a quick check of
the dependency first and, if its own check fails, starts its message with the sentence
"`unbroadcast` fails above: fix it first." (the form every unit uses, `fails_first(name)`).

How a check uses it (the test cell passes the student's dependency, e.g. `unbroadcast=unbroadcast`)::

    first = depends_on("unbroadcast", quick_check(observe_unbroadcast, unbroadcast_holds))
    try:
        ...  # the check's own cases
    except CheckFailure as error:
        raise prefixed(error, first) if first else error

Order matters at grading time. There the student's kernel only *records* observations (every
`run_check` appends one) and the grader judges them later, in order, by position within the test
cell. So:

* `depends_on` must run *before* the check's own cases, every time (not only after a failure);
* the dependency check must make the same number of `run_check` calls whether it passes or
  fails. `quick_check` makes exactly one (it observes every case at once), which is why a check
  built with it is the safe choice; a full `check_...` function that stops at its first failing
  case is not.

While recording (collect mode) nothing is judged, so `depends_on` returns None there; the verdict
comes when the grader judges the same test cell.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any

from autograder.feedback import CheckFailure
from autograder.runtime import Observation, run_check


def fails_first(name: str) -> str:
    """The sentence a dependent check's message starts with: "`name` fails above: fix it first."."""
    return f"`{name}` fails above: fix it first."


def quick_check(observe: Callable[[], Any], holds: Callable[[Any], bool]) -> Callable[[], None]:
    """A dependency check of exactly one `run_check`, for `depends_on`.

    `observe()` calls the student's dependency on a few fixed inputs and returns plain data (arrays,
    numbers, lists of them); `holds(value)` says whether that data is right. The check raises a
    bare `CheckFailure` when the dependency raised, or when `holds` is False or
    itself raises (data of the wrong kind is a failing dependency).
    """

    def judge(obs: Observation) -> None:
        if obs.raised:
            raise CheckFailure(f"raised {obs.raised}")
        try:
            right = bool(holds(obs.value))
        except Exception:  # data of the wrong shape or type: the dependency is wrong
            right = False
        if not right:
            raise CheckFailure("wrong")

    def check() -> None:
        run_check(observe, judge)

    return check


def depends_on(name: str, check: Callable[[], None]) -> str | None:
    """Run `check` (a quick check of the student's `name`); `fails_first(name)` if it fails, else None.

    `check` raises `CheckFailure` when the dependency is wrong; it must make the same number of
    `run_check` calls whether it passes or fails (see the module docstring: `quick_check` makes
    one). Call this before the dependent check's own cases. It returns None while recording
    (nothing is judged then) and when `check` passes.
    """
    try:
        check()
    except CheckFailure:
        return fails_first(name)
    return None


LIKELY = re.compile(r"\s+Likely mistake\b.*\Z", re.S)


def prefixed(error: CheckFailure, first: str) -> CheckFailure:
    """`error` with `first` (from `depends_on`) as its opening sentence and without its "Likely mistake".

    When the exercise it builds on is wrong, a hint about this exercise's own code has no evidence
    behind it, so it is cut, and the diagnosis is cleared: what remains says what is wrong here
    (call, inputs, expected, got) after saying where to start.
    """
    text = LIKELY.sub("", " ".join(str(error).split()))
    result = CheckFailure("\n" + textwrap.fill(f"{first} {text}", width=100))
    result.diagnosis = ""
    return result
