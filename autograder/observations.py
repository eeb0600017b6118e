"""Observations: what a check saw the student's code do, as plain JSON-safe data.

The observing half of a check may run in another process than the judging half, so what it
hands over is encoded here: numbers, complex numbers, numpy arrays (values, dtype and shape),
lists, tuples and dicts of those. Anything else becomes a `Foreign` placeholder that keeps the type
name and a short repr, so the judge can say "returned a str" instead of crashing. Without numpy (a
browser kernel) no value is a numpy one, and an encoded array decodes to a `Foreign`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

try:
    import numpy as np
except ModuleNotFoundError:  # a browser kernel (Pyodide)
    np = None

# The numpy types next to each Python type (none without numpy).
_INTEGERS = (int, np.integer) if np is not None else (int,)
_FLOATS = (float, np.floating) if np is not None else (float,)
_COMPLEXES = (complex, np.complexfloating) if np is not None else (complex,)
_ARRAYS = (np.ndarray,) if np is not None else ()


@dataclass(frozen=True)
class Foreign:
    """A value that could not be encoded: its type name and a short repr."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def _float(value: float) -> Any:
    return value if math.isfinite(value) else {"float": repr(value)}


def encode(value: object, depth: int = 0) -> Any:
    """Encode `value` as JSON-safe data (see the module docstring); never raises."""
    if depth > 8:
        return {"foreign": [type(value).__name__, "nested too deeply"]}
    try:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, _INTEGERS):
            return {"int": int(value)}
        if isinstance(value, _FLOATS):
            return _float(float(value))
        if isinstance(value, _COMPLEXES):
            return {"complex": [_float(value.real), _float(value.imag)]}
        if isinstance(value, _ARRAYS) and value.dtype.kind in "biufc":
            flat = _plain_entries(value) if depth < 8 else None
            if flat is None:
                flat = [encode(v.item(), depth + 1) for v in value.ravel()]
            return {"ndarray": flat, "dtype": value.dtype.str, "shape": list(value.shape)}
        if isinstance(value, list | tuple):
            kind = "list" if isinstance(value, list) else "tuple"
            return {kind: [encode(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    except Exception as error:  # a hostile __float__ or __iter__ must not break grading
        return {"foreign": [type(value).__name__, f"could not be read: {error!r}"[:200]]}
    try:
        text = repr(value)[:200]
    except Exception:
        text = "?"
    return {"foreign": [type(value).__name__, text]}


def _plain_entries(value: Any) -> list | None:
    """The entries of a plain ndarray of a standard dtype encoded at once (`tolist`), exactly as
    entry by entry; None for anything else (subclasses, long doubles), which goes entry by entry."""
    if type(value) is not np.ndarray or value.dtype.itemsize > {"c": 16}.get(value.dtype.kind, 8):
        return None
    items = value.ravel().tolist()
    kind = value.dtype.kind
    if kind == "b":
        return items
    if kind in "iu":
        return [{"int": v} for v in items]
    if kind == "f":
        return items if bool(np.isfinite(value).all()) else [_float(v) for v in items]
    return [{"complex": [_float(v.real), _float(v.imag)]} for v in items]


def decode(data: Any) -> Any:
    """Invert `encode`; unknown shapes of data decode to `Foreign`."""
    if data is None or isinstance(data, bool | str | float):
        return data
    if isinstance(data, dict) and len(data) >= 1:
        if "int" in data:
            return int(data["int"])
        if "float" in data:
            return float(data["float"])
        if "complex" in data:
            re, im = (decode(v) for v in data["complex"])
            return complex(re, im)
        if "ndarray" in data:
            if np is None:
                return Foreign("ndarray", "an array, which cannot be read without numpy")
            flat = data["ndarray"]
            if isinstance(flat, list) and all(type(v) is float for v in flat):
                values = flat  # decode(v) is v for a float
            else:
                values = [decode(v) for v in flat]
            return np.array(values, dtype=np.dtype(data["dtype"])).reshape(data["shape"])
        if "list" in data:
            return [decode(v) for v in data["list"]]
        if "tuple" in data:
            return tuple(decode(v) for v in data["tuple"])
        if "dict" in data:
            return {decode(k): decode(v) for k, v in data["dict"]}
        if "foreign" in data:
            return Foreign(*data["foreign"])
    return Foreign(type(data).__name__, repr(data)[:200])


def dumps(value: object) -> str:
    """One JSON line for `value`."""
    return json.dumps(encode(value))


def loads(line: str) -> Any:
    """Inverse of `dumps`."""
    return decode(json.loads(line))
