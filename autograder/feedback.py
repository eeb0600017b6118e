"""Readable check failures: one short paragraph a student can act on.

A failing check says what it called, on which input, what it expected, what came back and the
likely mistake. `CheckFailure` subclasses `AssertionError`, so nbgrader scores the cell 0, and its
text is the whole message: the grading pipeline shows students only this text, never the code of
a hidden test.
"""

from __future__ import annotations

import re
import sys
import textwrap
from dataclasses import dataclass


class CheckFailure(AssertionError):
    """A check failed; `str(error)` is the complete, student-facing explanation.

    `diagnosis` is the name of the common mistake the check recognised (a `Mistake`), or "".
    """

    diagnosis: str = ""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message alone (no checker internals)."""
        return ["\x1b[0;31mCheckFailure\x1b[0m: a test failed.", *str(self).strip().splitlines()]


def show(value: object, limit: int = 160) -> str:
    """A compact, readable rendering of a value for a failure message."""
    np = sys.modules.get("numpy")  # not imported here: without numpy (a browser kernel) no value is an array
    suffix = ""
    if np is not None and isinstance(value, np.ndarray):
        with np.printoptions(precision=10, threshold=12, edgeitems=3, linewidth=limit):
            text = np.array2string(value, separator=", ")
        if value.ndim != 1 or value.dtype.kind in "iub":
            suffix = f" (shape {value.shape}, {value.dtype})"  # kept whole when the entries are cut
    elif isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        text = repr(float(value))
    else:
        text = repr(value)
    return shorten(" ".join(text.split()), limit - len(suffix)) + suffix


_CLOSING = {"(": ")", "[": "]", "{": "}"}


def shorten(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters at a token boundary (after a comma or a space, never
    inside a number or word), marked ", ..." and with every bracket it left open closed again."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 5, 8)]
    comma, space = cut.rfind(", "), cut.rfind(" ")
    boundary, gap = (comma, ", ") if comma >= len(cut) // 2 else (space, " ")  # a list: after an entry
    if boundary > 0:
        cut = cut[:boundary]
    cut = cut.rstrip(" ,")
    if cut.endswith(tuple(_CLOSING)):
        gap = ""
    opened: list[str] = []
    for char in cut:
        if char in _CLOSING:
            opened.append(_CLOSING[char])
        elif opened and char == opened[-1]:
            opened.pop()
    quote = text[0] if text[0] in "'\"" and cut.count(text[0]) % 2 else ""
    return f"{cut}{gap}...{quote}{''.join(reversed(opened))}"


def raised(call: str, description: str, given: str | None = None, mistake: str | Mistake | None = None) -> CheckFailure:
    """The failure for a student function that raised (`description` as "TypeError: ... (in f, line 3)")."""
    if re.fullmatch(r"NotImplementedError: \s*(\(in .*\))?", description):  # the stub's bare raise
        return failure(call, "is not implemented yet: replace `raise NotImplementedError()` with your code.")
    return failure(call, f"raised {description}.", given=given, mistake=mistake)


@dataclass(frozen=True)
class Mistake:
    """A common mistake a check can recognise from a wrong answer (a diagnosis).

    `name` says what the student did, in a few words and without parentheses ("a one-sided
    difference"); `rule` says what is right, in a sentence; `where` points to the lecture notebook
    section that teaches it. A failure carrying a Mistake reads "Likely mistake (name): rule See where."
    """

    name: str
    rule: str
    where: str = ""

    def __post_init__(self) -> None:
        if not self.name or "(" in self.name or ")" in self.name:
            raise ValueError(f"a mistake's name is a few words without parentheses, not {self.name!r}")

    @property
    def see(self) -> str:
        """`where` as a student reads it, saying which notebook: the lecture or the assignment."""
        return section_reference(self.where)

    def __str__(self) -> str:
        see = f" See {self.see}." if self.where else ""
        return f"({self.name}): {self.rule}{see}"


def section_reference(where: str) -> str:
    """A section reference that says which notebook it means.

    The lecture and the assignment of a unit share a file name and have different sections, so
    "section 2 (Title) of notebooks/07_higher_order.ipynb" becomes "... of the lecture notebook
    notebooks/07_higher_order.ipynb" and "... of 07_higher_order.ipynb" (the assignment) becomes
    "... of the assignment 07_higher_order.ipynb". Anything else is returned unchanged.
    """
    match = re.fullmatch(r"(.*) of (notebooks/\S+\.ipynb)", where, re.S)
    if match:
        return f"{match[1]} of the lecture notebook {match[2]}"
    match = re.fullmatch(r"(.*) of (\S+\.ipynb)", where, re.S)
    if match and "/" not in match[2]:
        return f"{match[1]} of the assignment {match[2]}"
    return where


DIAGNOSIS = re.compile(r"Likely mistake \(([^()]+)\):")


def diagnoses_in(text: str) -> list[str]:
    """The names of the mistakes a failure message (possibly wrapped over lines) diagnoses."""
    # textwrap may have broken a hyphenated name ("one-sided") at the hyphen: join it back.
    return [" ".join(name.split()).replace("- ", "-") for name in DIAGNOSIS.findall(" ".join(text.split()))]


def failure(
    call: str,
    problem: str,
    *,
    expected: object = None,
    got: object = None,
    mistake: str | Mistake | None = None,
    given: str | None = None,
    relate: bool = True,
) -> CheckFailure:
    """Build the failure for `call` (e.g. "forward_difference(f, 1.0, h=0.001)").

    `problem` says what is wrong in one sentence; `expected` and `got` are shown when given;
    `given` describes the inputs (e.g. "f(x) = sin(x1)"); `mistake` names the likely cause: a
    recognised `Mistake` (which becomes the failure's `diagnosis`) or a general hint. Without one,
    when `problem` names the quantity that is wrong ("the gradient is wrong ...") and got is a clean
    relation of expected (twice it, its transpose, ...), that relation is the diagnosis
    (`autograder.checks.kit.relations.fallback`); a hint the check gives is never replaced.
    `relate=False` leaves that out (a caller that asked `relations.relate` itself, with more truths).
    """
    if relate and not mistake and expected is not None and got is not None:
        from autograder.checks.kit.relations import fallback  # here: relations imports this module

        mistake = fallback(problem, expected, got)
    parts = [f"{call}: {problem}"]
    if given:
        parts.append(f"Here {given}.")
    if expected is not None:
        parts.append(f"Expected {show(expected)}.")
    if got is not None:
        parts.append(f"Got {show(got)}.")
    if isinstance(mistake, Mistake):
        parts.append(f"Likely mistake {mistake}")
    elif mistake:
        parts.append(f"Likely mistake: {mistake}")
    error = CheckFailure("\n" + textwrap.fill(" ".join(parts), width=100))
    error.diagnosis = mistake.name if isinstance(mistake, Mistake) else ""
    return error
