"""Which graded exercise builds on which: the one table the self-check reads to trace a failure to its cause.

An exercise (a graded test cell, by its nbgrader grade id, as the self-check lists it) *builds on*
another when the code it tests calls the student's code of the other: unit 05's `Tensor` calls the
student's `unbroadcast`, unit 07's `hessian` calls `hvp` and `newton_step` calls `hessian`, and so on.
When an exercise fails and one it builds on fails above it, the real fault is probably there, so the
self-check (and the thorough self-check) starts the failure's text with "`hvp` fails above: fix it
first." (`kit.dependencies.fails_first`, the sentence the checks themselves use at grading time).

Only edges that hold for the reference solution *and* for any solution that follows the notebook's
instructions are listed: an exercise that tests the student's class (`Dual`, `Var`) builds on the
exercise that tests that class's arithmetic; a function the notebook tells the student to build from
another (jacobian_forward from jvp) builds on it. Pure Python, no numpy: it runs in a browser kernel.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from autograder.checks.kit.dependencies import fails_first

BUILDS_ON: dict[str, dict[str, tuple[str, ...]]] = {
    "03_forward": {
        # every exercise below runs the student's Dual; the elementary functions are written on it
        "dual_functions": ("dual_arithmetic",),
        "dual_powers": ("dual_arithmetic",),
        "dual_vectorized": ("dual_arithmetic", "dual_functions"),
        "derivative": ("dual_arithmetic", "dual_functions"),
        "programs": ("derivative",),
        "jvp": ("dual_arithmetic", "dual_functions"),
        "jacobian_forward": ("jvp",),
    },
    "04_reverse": {
        # every exercise below runs the student's Var and its backward
        "var_functions": ("var_arithmetic",),
        "backward_graph": ("var_arithmetic",),
        "grad": ("var_arithmetic", "var_functions", "backward_graph"),
        "programs": ("grad",),
        "vjp": ("var_arithmetic", "var_functions", "backward_graph"),
        "jacobian_reverse": ("var_arithmetic", "var_functions", "backward_graph"),
    },
    "05_vjp": {
        "tensor": ("unbroadcast",),  # every broadcast operation's VJP calls the student's unbroadcast
        "tensor_recording": ("tensor",),
    },
    "06_backprop": {
        "sequential": ("linear",),  # the checks stack the student's Linear layers
    },
    "07_higher_order": {
        "hessian": ("hvp",),  # column j is hvp(f, x, e_j)
        "newton_step": ("hessian",),  # solves with hessian(f, x)
        "checkpoint": ("no_grad",),  # runs fn inside `with no_grad():`
    },
}
"""Per assignment: exercise -> the exercises it builds on directly (all of them above it in the notebook)."""


def assignment_of(exercises: Collection[str]) -> str | None:
    """The assignment whose table names the most of `exercises` (a notebook's graded cells), or None."""
    best, overlap = None, 0
    for assignment, table in BUILDS_ON.items():
        names = set(table) | {d for ds in table.values() for d in ds}
        shared = len(names & set(exercises))
        if shared > overlap:
            best, overlap = assignment, shared
    return best


def builds_on(table: Mapping[str, Sequence[str]], exercise: str) -> list[str]:
    """Every exercise `exercise` builds on, directly or through another, nearest first."""
    found: list[str] = []
    frontier = list(table.get(exercise, ()))
    while frontier:
        name = frontier.pop(0)
        if name not in found and name != exercise:
            found.append(name)
            frontier.extend(table.get(name, ()))
    return found


def failing_cause(table: Mapping[str, Sequence[str]], exercise: str, failing: Collection[str]) -> str | None:
    """The failing exercise that `exercise` builds on and whose own dependencies all pass (the root
    cause to fix first), or None when everything it builds on passes."""
    for name in reversed(builds_on(table, exercise)):  # the deepest first: hvp before hessian
        if name in failing and not any(d in failing for d in builds_on(table, name)):
            return name
    return None


ALREADY_TRACED = re.compile(r"`[^`]+` fails above: fix it first\.")


def traced(message: str, cause: str | None) -> str:
    """`message` starting with "`cause` fails above: fix it first.", on a line of its own.

    A message that starts with such a sentence already is left as it is: the check that wrote it
    observed the dependency it names (e.g. the notebook's hvp, tried by the hessian check itself).
    """
    if cause is None or ALREADY_TRACED.match(" ".join(message.split())):
        return message
    return f"{fails_first(cause)}\n{message.strip()}"
