"""Stand-ins for the names a student's notebook defines, when a test cell runs without the student's code.

The trusted judge (`autograder.grading.trusted_judge`) runs test cells in judge mode, where the checks
read what the kernel recorded and never call the student's functions; `prewarm` runs them against
stand-ins to fill the checks' caches. Both execute a cell with `StandInNames` as its local names: a name
the cell does not define and no builtin has is a `StandIn`, which raises `error` when called.
"""

from __future__ import annotations

import builtins
from typing import Any


class StandIn:
    """Stands in for the student's `name`; calling it raises `error(message)`."""

    def __init__(self, name: str, message: str = "{name} is a stand-in", error: type[Exception] = RuntimeError):
        self.name, self.message, self.error = name, message, error

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error(self.message.format(name=self.name))

    def __repr__(self) -> str:
        return f"<stand-in for {self.name}>"


class StandInNames(dict):
    """A test cell's local names: anything it does not define and no builtin has is a `StandIn` (made with
    the `message` and `error` given here)."""

    def __init__(self, message: str = "{name} is a stand-in", error: type[Exception] = RuntimeError) -> None:
        super().__init__()
        self.message, self.error = message, error

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name):
            raise KeyError(name)
        return StandIn(name, self.message, self.error)
