"""Running student code that may hang or recurse, and counting its backward passes (observing half).

`guarded` runs a computation under a wall-clock alarm (SIGALRM, main thread only) and reports what
happened as data: its result, a time-out or the exception it raised. `BackwardPasses` counts the
calls of a class's `backward` method while a driver (grad, vjp, hvp, ...) runs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any, TypedDict

GUARD_SECONDS = 3.0  # wall-clock limit of one guarded backward pass


class Outcome(TypedDict, total=False):
    """What a guarded computation did: `result`, or `timed_out` (the limit in s), or `raised` (+ `recursion`)."""

    result: Any
    timed_out: float
    raised: str
    recursion: bool


class _TimedOut(BaseException):  # a BaseException, so that `except Exception` in student code lets it pass
    """Raised by the alarm inside a guarded call."""


def guarded(compute: Callable[[], Any], seconds: float = GUARD_SECONDS) -> Outcome:
    """{"result": compute()} or {"timed_out": seconds} or {"raised": description}; SIGALRM-guarded.

    The alarm is one-shot and may fire anywhere inside the outer `try`, even while the timer is
    being cancelled: it is always caught here, and the previous handler is always restored.
    """
    guard = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous = None
    if guard:

        def alarm(signum: int, frame: Any) -> None:
            raise _TimedOut

        previous = signal.signal(signal.SIGALRM, alarm)
    try:
        try:
            if guard:
                signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                return {"result": compute()}
            finally:
                if guard:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except _TimedOut:
            return {"timed_out": seconds}
        except RecursionError as error:
            return {"raised": f"RecursionError: {error}"[:300], "recursion": True}
        except Exception as error:
            return {"raised": f"{type(error).__name__}: {error}"[:300]}
    finally:
        if guard:
            signal.signal(signal.SIGALRM, previous)


class BackwardPasses:
    """Counts the calls of `cls.backward` while a driver runs (the class is restored afterwards)."""

    def __init__(self, cls: Any) -> None:
        self.cls, self.count = cls, 0

    def __enter__(self) -> BackwardPasses:
        self.own = "backward" in vars(self.cls) if isinstance(self.cls, type) else False
        self.original = getattr(self.cls, "backward", None)
        if isinstance(self.cls, type) and callable(self.original):
            original, passes = self.original, self

            def backward(node: Any, *args: Any, **kwargs: Any) -> Any:
                passes.count += 1
                return original(node, *args, **kwargs)

            self.cls.backward = backward
        return self

    def __exit__(self, *exc: Any) -> None:
        if isinstance(self.cls, type) and callable(self.original):
            if self.own:
                self.cls.backward = self.original
            else:
                delattr(self.cls, "backward")
