"""A clock for timing checks: time passes on it only when the check says so (observing half).

A check that grades a measurement of time (unit 06's `gradient_cost_ratio`) cannot judge real
seconds exactly: a shared machine makes them noisy. While `VirtualClock.installed()` is active, the
clocks of the `time` module (`perf_counter`, `monotonic`, `time`, `process_time` and their `_ns`
forms, and `timeit.default_timer`) read this clock instead, in the thread that installed it; the
check's own wrappers of the functions under measurement `advance` it by a known number of
nanoseconds per call. A student's measurement then has one exact right value, which the judge can
compute from the calls it saw. Other threads (the kernel's heartbeat, say) keep the real clocks,
and everything is restored afterwards.

Names that the student's namespace bound to a real clock before (`from time import perf_counter`)
are swapped for the virtual one too, for the duration, when the namespace is given.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

CLOCKS = (
    "perf_counter",
    "perf_counter_ns",
    "monotonic",
    "monotonic_ns",
    "time",
    "time_ns",
    "process_time",
    "process_time_ns",
)
START_NS = 1_000_000_000_000  # the virtual clock starts at 1000 s (any origin is allowed for perf_counter)


class VirtualClock:
    """A clock in whole nanoseconds that moves only by `advance`; `reads` counts the readings it gave."""

    def __init__(self) -> None:
        self.ns = START_NS
        self.reads = 0

    def advance(self, nanoseconds: int) -> None:
        self.ns += int(nanoseconds)

    def _reader(self, original: Callable[[], Any], integer: bool, thread: int) -> Callable[[], Any]:
        def read() -> Any:
            if threading.get_ident() != thread:
                return original()
            self.reads += 1
            return self.ns if integer else self.ns / 1e9

        read.__name__ = getattr(original, "__name__", "clock")
        return read

    @contextmanager
    def installed(self, namespace: MutableMapping[str, Any] | None = None) -> Iterator[VirtualClock]:
        """Make the clocks of `time` (and `timeit.default_timer`, and any name in `namespace` bound to one
        of them) read this clock in the current thread, until the block ends."""
        thread = threading.get_ident()
        originals = {name: getattr(time, name) for name in CLOCKS if hasattr(time, name)}
        readers = {name: self._reader(f, name.endswith("_ns"), thread) for name, f in originals.items()}
        by_identity = {id(f): readers[name] for name, f in originals.items()}
        swapped: list[tuple[Any, str, Any]] = []
        timeit = sys.modules.get("timeit")
        try:
            for name, reader in readers.items():
                swapped.append((time, name, originals[name]))
                setattr(time, name, reader)
            if timeit is not None and id(getattr(timeit, "default_timer", None)) in by_identity:
                swapped.append((timeit, "default_timer", timeit.default_timer))
                timeit.default_timer = by_identity[id(timeit.default_timer)]
            if namespace is not None:
                for key, value in list(namespace.items()):
                    if callable(value) and id(value) in by_identity:
                        swapped.append((namespace, key, value))
                        namespace[key] = by_identity[id(value)]
            yield self
        finally:
            for owner, name, value in reversed(swapped):
                if isinstance(owner, MutableMapping):
                    owner[name] = value
                else:
                    setattr(owner, name, value)
