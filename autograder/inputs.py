"""Seeded random inputs and a call-recording wrapper for the functions handed to students.

Every random test draws from `rng(seed)`, so a submission always meets the same inputs and gets
the same grade. Points are drawn inside a domain and away from a set of kinks or singularities.
Without numpy (a browser kernel, Pyodide), `rng(seed)` is `PurePCG64`, a pure-Python copy of
numpy's generator whose `uniform` draws are bit for bit numpy's: the symbolic unit's checks meet
the same points, and say the same, in the browser as at grading time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograder.pcg64 import PurePCG64

try:
    import numpy as np
except ModuleNotFoundError:  # a browser kernel (Pyodide): rng and Recorded work, random_point does not
    np = None


def rng(seed: int) -> np.random.Generator | PurePCG64:
    """The generator every test uses: numpy's PCG64 seeded with `seed` (`PurePCG64` without numpy)."""
    return np.random.default_rng(seed) if np is not None else PurePCG64(seed)


def random_point(
    generator: np.random.Generator,
    shape: int | tuple[int, ...] = (),
    low: float = -2.0,
    high: float = 2.0,
    avoid: Sequence[float] = (),
    margin: float = 0.1,
) -> np.ndarray:
    """Uniform float64 values of `shape` in [low, high], each at least `margin` from every `avoid`.

    Raises ValueError when the constraints leave no room (after 1000 redraws of an entry).
    """
    out = generator.uniform(low, high, size=shape)
    flat = np.atleast_1d(out).reshape(-1)
    for i in range(flat.size):
        for _ in range(1000):
            if all(abs(flat[i] - a) >= margin for a in avoid):
                break
            flat[i] = generator.uniform(low, high)
        else:
            raise ValueError(f"no point in [{low}, {high}] is {margin} away from {list(avoid)}")
    return flat.reshape(np.shape(out)) if np.ndim(out) else np.float64(flat[0])


class Recorded:
    """Wraps a function, counting its calls and keeping a copy of each call's arguments.

    `calls` is the number of calls; `arguments[k]` is a tuple with a copy of the positional
    arguments of call k (arrays are copied, so later mutation by the caller does not rewrite
    history). Use it to check "f is called exactly 2n times" and "f saw x + h and x - h".
    """

    def __init__(self, function: Callable[..., Any], keep: int = 10_000) -> None:
        self.function = function
        self.calls = 0
        self.arguments: list[tuple[Any, ...]] = []
        self._keep = keep

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if len(self.arguments) < self._keep:
            arrays = np.ndarray if np is not None else ()
            self.arguments.append(tuple(np.array(a, copy=True) if isinstance(a, arrays) else a for a in args))
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        name = getattr(self.function, "__name__", "f")
        return f"<recorded {name}: {self.calls} calls>"
