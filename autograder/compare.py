"""Reading student results and comparing them with oracle values.

Every reader returns a plain float or float array, or raises `CheckFailure` with a message that
names the call and says what kind of value came back instead ("returned None: is a `return`
missing?"). numpy's functions are bound here at import, before any student code can run in this
process, so replacing `np.allclose`, `np.abs` or `builtins.abs` later changes nothing here.
"""

from __future__ import annotations

from numpy import abs as _abs
from numpy import all as _all
from numpy import array as _array
from numpy import isfinite as _isfinite
from numpy import max as _max
from numpy import ndarray

from autograder.feedback import CheckFailure, failure, show
from autograder.observations import Foreign


def _kind(value: object) -> str:
    if value is None:
        return "None: is a `return` missing?"
    if isinstance(value, Foreign):
        return f"a {value.type_name} ({value.text})"
    return f"a {type(value).__name__} ({show(value, 60)})"


def real_scalar(value: object, call: str) -> float:
    """`value` as a float: ints, floats, numpy scalars and 0-d or one-entry arrays are accepted."""
    if isinstance(value, bool) or value is None or isinstance(value, Foreign | str):
        raise failure(call, f"should return a real number, but returned {_kind(value)}.")
    if isinstance(value, complex):
        if value.imag != 0:
            raise failure(
                call,
                "returned a complex number; the derivative of a real function is real.",
                got=value,
                mistake="take the real or imaginary part as the formula says (np.imag(...) / h for the complex step).",
            )
        value = value.real
    if isinstance(value, ndarray):
        if value.size != 1:
            raise failure(call, f"should return one number, but returned an array of shape {value.shape}.")
        return real_scalar(value.reshape(()).item(), call)
    if isinstance(value, list | tuple):
        raise failure(call, f"should return one number, but returned {_kind(value)}.")
    return float(value)


def real_array(value: object, shape: tuple[int, ...], call: str, what: str = "result") -> ndarray:
    """`value` as a float array of exactly `shape`; lists and tuples are converted."""
    if value is None or isinstance(value, Foreign | str):
        raise failure(call, f"should return an array of shape {shape}, but returned {_kind(value)}.")
    try:
        array = _array(value)
    except (TypeError, ValueError) as error:
        raise failure(call, f"returned something that is not an array of numbers ({error}).") from None
    if array.dtype.kind == "c":
        if _all(array.imag == 0):
            array = array.real
        else:
            raise failure(call, "returned complex numbers; the derivatives of a real function are real.")
    if array.dtype.kind not in "iuf":
        raise failure(call, f"should return numbers, but returned {_kind(value)}.")
    if array.shape != tuple(shape):
        raise failure(
            call,
            f"the {what} has shape {array.shape}, but it must have shape {tuple(shape)}.",
            got=array,
        )
    return array.astype(float)


def mismatch(got: ndarray | float, want: ndarray | float, tolerance: ndarray | float) -> bool:
    """True when any |got - want| exceeds `tolerance` (elementwise), or either is not finite."""
    got_array, want_array = _array(got, dtype=float), _array(want, dtype=float)
    if not (_all(_isfinite(got_array)) and _all(_isfinite(want_array))):
        return True
    return bool(_max(_abs(got_array - want_array) - tolerance) > 0)


def largest_gap(got: ndarray | float, want: ndarray | float) -> float:
    """max |got - want| (inf when got is not finite)."""
    got_array, want_array = _array(got, dtype=float), _array(want, dtype=float)
    if not _all(_isfinite(got_array)):
        return float("inf")
    return float(_max(_abs(got_array - want_array)))


__all__ = ["CheckFailure", "largest_gap", "mismatch", "real_array", "real_scalar"]
