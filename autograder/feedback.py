"""Readable check failures: one short paragraph a student can act on.

A failing check says what it called, on which input, what it expected, what came back and the
likely mistake. `CheckFailure` subclasses `AssertionError`, so nbgrader scores the cell 0, and its
text is the whole message: the grading pipeline shows students only this text, never the code of
a hidden test.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np


class CheckFailure(AssertionError):
    """A check failed; `str(error)` is the complete, student-facing explanation."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message alone (no checker internals)."""
        return ["\x1b[0;31mCheckFailure\x1b[0m: a test failed.", *str(self).strip().splitlines()]


def show(value: object, limit: int = 160) -> str:
    """A compact, readable rendering of a value for a failure message."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=10, threshold=12, edgeitems=3, linewidth=limit):
            text = np.array2string(value, separator=", ")
        if value.ndim != 1 or value.dtype.kind in "iub":
            text += f" (shape {value.shape}, {value.dtype})"
    elif isinstance(value, float | np.floating):
        text = repr(float(value))
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def raised(call: str, description: str, given: str | None = None, mistake: str | None = None) -> CheckFailure:
    """The failure for a student function that raised (`description` as "TypeError: ... (in f, line 3)")."""
    if re.fullmatch(r"NotImplementedError: \s*(\(in .*\))?", description):  # the stub's bare raise
        return failure(call, "is not implemented yet: replace `raise NotImplementedError()` with your code.")
    return failure(call, f"raised {description}.", given=given, mistake=mistake)


def failure(
    call: str,
    problem: str,
    *,
    expected: object = None,
    got: object = None,
    mistake: str | None = None,
    given: str | None = None,
) -> CheckFailure:
    """Build the failure for `call` (e.g. "forward_difference(f, 1.0, h=0.001)").

    `problem` says what is wrong in one sentence; `expected` and `got` are shown when given;
    `given` describes the inputs (e.g. "f(x) = sin(x1)"); `mistake` names the likely cause.
    """
    parts = [f"{call}: {problem}"]
    if given:
        parts.append(f"Here {given}.")
    if expected is not None:
        parts.append(f"Expected {show(expected)}.")
    if got is not None:
        parts.append(f"Got {show(got)}.")
    if mistake:
        parts.append(f"Likely mistake: {mistake}")
    text = " ".join(parts)
    return CheckFailure("\n" + textwrap.fill(text, width=100))
