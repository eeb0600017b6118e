"""Relational diagnoses: what a wrong answer is, relative to the right one, from the two values alone.

A check names a known mistake when its own probes recognise the wrong answer (`diagnose`). When none
does, the failure falls back on the relations here, computed from the expected and the got value
(and, when the check passes them, the per-example contributions of a batch sum or the truths of
neighbouring steps):

* `SCALED`: got is exactly c times the truth, c in ±{2, 3, 4, 1/2, 1/3, 1/4} or ±B, ±1/B (B the
  batch size, when the check gives it): "dW is exactly 2 times the right value: a missing factor 1/2?";
* `OPPOSITE_SIGN`: c = -1: "dW is the right value with the opposite sign: ...";
* `TRANSPOSED`: got is the truth transposed (a square truth that is not symmetric, or got of the
  reversed shape of a non-square truth);
* `FIRST_ROW`: got has the shape of one row of the truth and is its first row (its first entry for a
  vector);
* `FIRST_EXAMPLE`: got is the first example's contribution to a sum over the batch (`per_example`);
* `ONE_STEP_OFF`: got is the truth of the step before or after (`steps`, `step`), or, for a
  sequence of at least 3 entries, the right sequence shifted by one entry.

The rule of every diagnosis holds here too: a relation is reported only when exactly one holds, the
truth is not degenerate (all zero: every scaling holds; symmetric: the transpose is the truth;
constant: every shift is the truth), and only when no specific mistake was recognised (the callers
ask only then). Each relation is a `Mistake` whose name says the relation and whose rule names the
quantity ("dW", "the gradient") and suggests the slip in a question.

No numpy at import (unit 02 runs in a browser without it): arrays are read with numpy only when a
value is already a numpy array or numpy is loaded; SymPy expressions are compared by their values
at a few fixed points (scalings and the sign only).
"""

from __future__ import annotations

import cmath
import re
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from autograder.feedback import Mistake

SCALED = "off by a constant factor"
OPPOSITE_SIGN = "the opposite sign"
TRANSPOSED = "the transpose"
FIRST_ROW = "the first row only"
FIRST_EXAMPLE = "the first example only"
ONE_STEP_OFF = "one step off"
NAMES = (SCALED, OPPOSITE_SIGN, TRANSPOSED, FIRST_ROW, FIRST_EXAMPLE, ONE_STEP_OFF)
"""The names (`Mistake.name`) of the relational diagnoses."""

RELATIVE = 1e-6
"""How close got must be to the related value: relative to the related value's largest entry."""

FACTORS = (2, 3, 4, Fraction(1, 2), Fraction(1, 3), Fraction(1, 4))
"""The clean constants c (and -c) of `SCALED`, besides the batch size B and 1/B."""

_POINTS = 4  # points at which SymPy expressions are compared


def _numpy() -> Any:
    return sys.modules.get("numpy")


def _sympy_expr(value: Any) -> bool:
    sympy = sys.modules.get("sympy")
    return sympy is not None and isinstance(value, sympy.Expr)


def _array(value: Any) -> Any:
    """`value` as a finite real float array, or None (not numbers, complex, non-finite, no numpy)."""
    np = _numpy()
    if value is None or isinstance(value, bool | str) or np is None:
        return None
    if isinstance(value, int | float | np.ndarray | np.number | list | tuple):
        try:
            array = np.asarray(value)
            if array.dtype.kind not in "iuf" or array.size == 0:
                return None
            array = array.astype(float)
        except (TypeError, ValueError, OverflowError):
            return None
        return array if np.all(np.isfinite(array)) else None
    return None


def _factor_text(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"


def _scaled(what: str, verb: str, c: Fraction, batch: int | None) -> Mistake:
    """The `SCALED` (or `OPPOSITE_SIGN`) diagnosis for got = c * truth."""
    size = abs(c)
    sign = "the opposite sign and " if c < 0 else ""
    if c == -1:
        return Mistake(
            OPPOSITE_SIGN,
            f"{what} {verb} the right value with the opposite sign: a minus sign missing or one too many?",
        )
    if batch is not None and batch > 1 and size in (batch, Fraction(1, batch)):
        if size == batch:
            factor, hint = f"B = {batch}", "summed over the batch where the mean is asked for (a missing factor 1/B)"
        else:
            factor, hint = (
                f"1/B = 1/{batch}",
                "the mean over the batch where the sum is asked for (a factor B left out)",
            )
        return Mistake(
            SCALED, f"{what} {verb} exactly {factor} times the right value (B the batch size): {sign}{hint}?"
        )
    missing = f"a missing factor 1/{_factor_text(size)}"
    hint = missing if size > 1 else f"a factor {_factor_text(1 / size)} left out"
    return Mistake(SCALED, f"{what} {verb} exactly {_factor_text(c)} times the right value: {sign}{hint}?")


def _factors(batch: int | None) -> list[Fraction]:
    """Every c of `SCALED` and `OPPOSITE_SIGN`, without repeats (B = 2 is the same relation as 2)."""
    sizes = [Fraction(1), *(Fraction(f) for f in FACTORS)]
    if batch is not None and batch > 1:
        sizes += [Fraction(batch), Fraction(1, batch)]
    out: list[Fraction] = []
    for size in sizes:
        for c in (size, -size):
            if c != 1 and c not in out:
                out.append(c)
    return out


def _close(np: Any, got: Any, want: Any, relative: float) -> bool:
    """got has want's shape and max |got - want| <= relative * max |want| (want not all zero)."""
    if got.shape != want.shape:
        return False
    scale = float(np.max(np.abs(want)))
    return scale > 0 and float(np.max(np.abs(got - want))) <= relative * scale


def _array_relations(
    want: Any,
    got: Any,
    what: str,
    verb: str,
    relative: float,
    batch: int | None,
    per_example: Any,
    steps: Sequence[Any] | None,
    step: int | None,
) -> list[tuple[Any, Mistake]]:
    """Every relation that holds between the arrays got and want, each as (key, Mistake)."""
    np = _numpy()
    found: list[tuple[Any, Mistake]] = []
    if float(np.max(np.abs(want))) == 0.0 or _close(np, got, want, relative):
        return found  # a zero truth: every scaling holds; got the truth: nothing to say
    for c in _factors(batch):
        if _close(np, got, float(c) * want, relative):
            found.append((("scale", c), _scaled(what, verb, c, batch)))
    if want.ndim == 2 and not _close(np, want.T, want, relative) and _close(np, got, want.T, relative):
        found.append(
            (
                "transpose",
                Mistake(
                    TRANSPOSED,
                    f"{what} {verb} the transpose of the right answer: the factors of a product in the wrong "
                    "order, or a .T missing or one too many?",
                ),
            )
        )
    if want.ndim >= 1 and len(want) > 1 and got.shape == want.shape[1:]:
        first = want[0]
        alike = all(_close(np, row, first, relative) for row in want[1:])  # every row the first: degenerate
        if not alike and _close(np, got, first, relative):
            part = "row" if want.ndim >= 2 else "entry"
            rule = f"{what} {verb} only the first {part} of the right answer: a loop or an index that stops there?"
            found.append(("first row", Mistake(FIRST_ROW, rule)))
    if per_example is not None:
        parts = _array(per_example)
        if parts is not None and parts.ndim >= 1 and len(parts) > 1:
            first = parts[0]
            if not _close(np, first, want, relative) and _close(np, got, first, relative):
                found.append(
                    (
                        "first example",
                        Mistake(
                            FIRST_EXAMPLE,
                            f"{what} {verb} only the first example's contribution, not summed over the batch.",
                        ),
                    )
                )
    if steps is not None and step is not None:
        for offset, hint in (
            (-1, "of the step before: one step too few"),
            (1, "of the step after: one step too many"),
        ):
            k = step + offset
            if 0 <= k < len(steps):
                other = _array(steps[k])
                if other is not None and not _close(np, other, want, relative) and _close(np, got, other, relative):
                    found.append(
                        (
                            ("step", offset),
                            Mistake(ONE_STEP_OFF, f"{what} {verb} the right value {hint}, an off-by-one?"),
                        )
                    )
    if want.ndim == 1 and len(want) >= 3 and got.shape == want.shape and not _close(np, want[1:], want[:-1], relative):
        for offset, hint in (
            (1, "entry i holds the right entry i + 1: one step ahead"),
            (-1, "entry i holds the right entry i - 1: one step behind"),
        ):
            mine, truth = (got[:-1], want[1:]) if offset == 1 else (got[1:], want[:-1])
            if _close(np, mine, truth, relative):
                found.append(
                    (
                        ("shift", offset),
                        Mistake(
                            ONE_STEP_OFF,
                            f"{what} {verb} the right sequence shifted by one step ({hint}): an off-by-one?",
                        ),
                    )
                )
    return found


def _values(expr: Any, symbols: Sequence[Any]) -> list[complex]:
    """expr's values at `_POINTS` fixed points (each symbol its own value; nan where undefined)."""
    sympy = sys.modules["sympy"]
    out = []
    for k in range(_POINTS):
        subs = {s: sympy.Float(0.3 + 0.173 * i + 0.291 * k, 30) for i, s in enumerate(symbols)}
        try:
            out.append(complex(expr.xreplace(subs).evalf(30)))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            out.append(complex("nan"))
    return out


def _value_relations(pairs: list[tuple[complex, complex]], what: str, verb: str, relative: float) -> list:
    """The scalings (and sign) that hold at every pair (got, want) of numbers: pure Python, the same
    with and without numpy. Pairs where want is 0 or either is undefined are left out."""
    pairs = [
        (g, w)
        for g, w in pairs
        if not (cmath.isnan(g) or cmath.isnan(w) or cmath.isinf(g) or cmath.isinf(w)) and w != 0
    ]
    if not pairs or all(abs(g - w) <= relative * abs(w) for g, w in pairs):
        return []  # a zero truth (every scaling holds), or got is the truth
    found = []
    for c in _factors(None):
        if all(abs(g - float(c) * w) <= relative * abs(float(c) * w) for g, w in pairs):
            found.append((("scale", c), _scaled(what, verb, c, None)))
    return found


def _expression_relations(want: Any, got: Any, what: str, verb: str) -> list[tuple[Any, Mistake]]:
    """The scalings (and sign) that hold between two SymPy expressions at the fixed points."""
    symbols = sorted(want.free_symbols | got.free_symbols, key=str)
    pairs = list(zip(_values(got, symbols), _values(want, symbols), strict=True))
    defined = [(g, w) for g, w in pairs if not (cmath.isnan(g) or cmath.isnan(w)) and abs(w) > 1e-12]
    if len(defined) < (3 if symbols else 1):
        return []  # the truth is undefined or zero at too many points: degenerate
    return _value_relations(defined, what, verb, 1e-12)


def _scalar(value: Any) -> float | None:
    """A real number (int, float or numpy scalar, not bool) as a float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) and type(value).__module__ != "numpy":
        return None
    try:
        if getattr(value, "shape", ()) != () or isinstance(value, complex) or getattr(value, "imag", 0) != 0:
            return None
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def relate(
    want: Any,
    got: Any,
    what: str = "the result",
    *,
    verb: str = "is",
    relative: float = RELATIVE,
    batch: int | None = None,
    per_example: Any = None,
    steps: Sequence[Any] | None = None,
    step: int | None = None,
) -> Mistake | None:
    """The one relation (see the module docstring) between `got` and the truth `want`, or None.

    `what` names the quantity in the message ("dW", "the gradient") with its `verb` ("is"/"are");
    `relative` is how close got must be to the related value, relative to its largest entry;
    `batch` is the batch size B, when the check knows it (c = ±B, ±1/B); `per_example` the
    per-example contributions whose sum is the truth (first axis: the example); `steps` the truths of a
    sequence of steps with `step` the index of want's step. Never raises: a value that cannot be
    read as numbers (or two SymPy expressions) gives None.
    """
    try:
        if _sympy_expr(want) and _sympy_expr(got):
            found = _expression_relations(want, got, what, verb)
        elif _scalar(want) is not None and _scalar(got) is not None and steps is None and per_example is None:
            # two numbers: in pure Python, so that a message is the same with and without numpy
            found = _value_relations([(_scalar(got), _scalar(want))], what, verb, max(relative, 1e-12))
        else:
            want_array, got_array = _array(want), _array(got)
            if want_array is None or got_array is None:
                return None
            found = _array_relations(
                want_array, got_array, what, verb, max(relative, 1e-12), batch, per_example, steps, step
            )
    except Exception:  # a diagnosis is a hint: it never turns a failure into a crash
        return None
    return found[0][1] if len(found) == 1 else None


_SUBJECT = re.compile(r"(?P<what>.+?),? (?P<verb>is|are) wrong\b", re.S)


def subject(problem: str) -> tuple[str, str] | None:
    """The quantity a failure's `problem` says is wrong, and its verb: "the gradient is wrong by up to 0.1."
    gives ("the gradient", "is"); a bare "is wrong." ("sin(0.5): is wrong.") gives ("the result", "is");
    a problem that does not say a quantity is wrong gives None.
    """
    if re.match(r"(?:is|are) wrong\b", problem):
        return "the result", "is"
    match = _SUBJECT.match(problem)
    if match is None:
        return None
    what = match["what"].strip()
    if what.lower().startswith(("with ", "at ", "after ", "for ", "on ", "when ")) and ", " in what:
        what = what.rsplit(", ", 1)[1]  # "with a gradient ..., the relative error is wrong" -> "the relative error"
    elif ", " in what and problem[match.end("what")] == ",":
        what += ","  # an apposition keeps its closing comma: "uᵀJ, the second entry, is ..."
    return what, match["verb"]


def fallback(problem: str, expected: Any, got: Any) -> Mistake | None:
    """The relation between `got` and `expected` (`relate`) for a failure whose `problem` names the
    quantity that is wrong (`subject`); None when it names none or no single relation holds."""
    try:
        named = subject(problem)
    except Exception:
        return None
    if named is None:
        return None
    what, verb = named
    return relate(expected, got, what, verb=verb)
