"""Memoizing an oracle by the values of its arguments, numpy arrays included.

A judge meets the same hidden cases in every submission of a class (their inputs come from seeds),
and for a correct submission often the same recorded values too (a layer's seeded weights). An
oracle that is a pure function of such values (a finite-difference gradient in 30-digit arithmetic,
say) then computes the same result again and again: `by_value` keeps its results per process,
keyed by the arguments' contents (an array by its dtype, shape and bytes), and hands out copies, so
no caller can change a cached result. Arguments it cannot key by content (callables, object arrays,
mpmath numbers, dicts with other than str keys, ...) make the call go straight to the function,
uncached.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

try:
    import numpy as np
except ModuleNotFoundError:  # a browser kernel (Pyodide): no arrays to key
    np = None

F = TypeVar("F", bound=Callable[..., Any])

_PLAIN = (bool, int, str, bytes, type(None))


class _Unkeyable(Exception):
    """An argument that has no key by content."""


def _key(value: Any) -> Any:
    """A hashable key equal for equal contents and types; raises _Unkeyable otherwise."""
    if type(value) in _PLAIN:
        return (type(value).__name__, value)
    if type(value) in (float, complex):  # by repr: -0.0 is not 0.0, and nan is nan
        return (type(value).__name__, repr(value))
    if np is None:
        raise _Unkeyable
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biufc":
            raise _Unkeyable
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return ("generic", value.dtype.str, value.tobytes())
    if type(value) in (list, tuple):
        return (type(value).__name__, tuple(_key(v) for v in value))
    if type(value) is dict and all(type(k) is str for k in value):
        return ("dict", tuple((k, _key(value[k])) for k in sorted(value)))
    raise _Unkeyable


def _size(key: Any) -> int:
    """Roughly how many bytes a key holds (its arrays' bytes)."""
    if isinstance(key, bytes):
        return len(key)
    if isinstance(key, tuple):
        return sum(_size(k) for k in key)
    return 0


def _copy(value: Any) -> Any:
    """A copy of a result that no caller can use to change the cached one."""
    if np is not None and isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value  # numbers, strings, mpmath numbers: immutable


def by_value(maxsize: int = 256, max_key_bytes: int = 1 << 20) -> Callable[[F], F]:
    """Decorator: memoize a pure function by the contents of its positional and keyword arguments.

    The function must depend on nothing but its arguments' values (no randomness, no global state).
    At most `maxsize` results are kept (least recently used dropped first), and none whose arguments
    hold more than `max_key_bytes` of array data (a submission's oversized arrays are not kept);
    every call returns a fresh copy of the result (arrays, and lists, tuples and dicts of them).
    """

    def decorate(function: F) -> F:
        cache: OrderedDict[Any, Any] = OrderedDict()

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                key = (_key(args), tuple((name, _key(v)) for name, v in sorted(kwargs.items())))
            except _Unkeyable:
                return function(*args, **kwargs)
            if _size(key) > max_key_bytes:
                return function(*args, **kwargs)
            if key in cache:
                cache.move_to_end(key)
                return _copy(cache[key])
            result = function(*args, **kwargs)
            cache[key] = _copy(result)
            if len(cache) > maxsize:
                cache.popitem(last=False)
            return result

        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
