"""Reading the student's AD objects and functions (observing half), and failures of guarded runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autograder.checks.kit.guard import Outcome
from autograder.feedback import Mistake, failure, raised
from autograder.oracles.expressions import ELEMENTARY

Functions = Mapping[str, Callable] | Sequence[Callable]
"""The student's elementary functions: a dict by name, or a sequence in the order of `ELEMENTARY`
(sin, cos, tan, exp, log, sqrt, tanh), possibly followed by relu."""


def functions_data(functions: Functions) -> dict[str, Callable]:
    """The student's elementary functions by name, for lambdify (observing half only)."""
    if not isinstance(functions, Mapping):
        functions = dict(zip((*ELEMENTARY, "relu"), functions, strict=False))
    return {name: functions[name] for name in ELEMENTARY if functions.get(name) is not None}


def read(node: Any, attribute: str) -> Any:
    """`node.attribute`, or a text saying it could not be read (a hostile or missing attribute)."""
    try:
        return getattr(node, attribute)
    except Exception as error:
        return f"<no {attribute}: {type(error).__name__}>"


def is_var(obj: Any) -> bool:
    """Whether `obj` looks like a reverse-mode node: it has value, grad and backward."""
    try:
        return hasattr(obj, "value") and hasattr(obj, "grad") and hasattr(obj, "backward")
    except Exception:
        return False


RECURSION_HINT = (
    "backward (or the topological sort) is recursive, and a deep graph is deeper than Python's "
    "recursion limit: build the order with a loop and an explicit stack (or Kahn's algorithm)."
)


def guarded_failure(call: str, outcome: Outcome, given: str, recursion: Mistake | str = RECURSION_HINT) -> None:
    """Raise the failure for a guarded call (`kit.guard.guarded`) that timed out or raised; else nothing.

    `recursion` is the likely mistake of a RecursionError (a unit names a recursive traversal where
    only that can explain it).
    """
    if outcome.get("timed_out"):
        raise failure(
            call,
            f"did not finish within {outcome['timed_out']:g} s.",
            given=given,
            mistake="backward calls backward on its parents recursively, so a node reached by k paths is "
            "visited k times: exponential work on shared sub-expressions. Sort the graph once "
            "(topologically) and visit every node once, in reverse order.",
        )
    if outcome.get("recursion"):
        raise raised(call, outcome["raised"], given=given, mistake=recursion)
    if "raised" in outcome:
        raise raised(call, outcome["raised"], given=given)
