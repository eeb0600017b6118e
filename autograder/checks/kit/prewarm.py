"""Filling the checks' per-process caches before any student's kernel starts (for a fork server).

Most of what a test cell costs in a fresh kernel is not the student's code but the checks' own setup:
drawing the hidden random expressions (SymPy builds and queries every candidate), lambdifying them,
SymPy's first-use caches. All of it depends on the seeds only, and the checks keep it per process
(`random_case`, `random_vector_function`, `_numeric_default`, SymPy's cache). A process that forks
every student's kernel can pay it once: `prewarm(test_cells)` runs the test cells' checks in collect
mode against stand-ins for every name the student defines, which raise when called, so no student code
and no reference solution runs, nothing is recorded, and each check goes on after the stand-in raised
(observing a raise is an observation like any other); what stays behind is the caches.

Afterwards `autograder.runtime`'s state is exactly what it was (mode, record file, counters), the
namespace is dropped, and `prewarm` verifies that no object made by the test cells' own code is still
reachable (it raises `RuntimeError` if one is). The caller must not keep the cells' sources reachable
either (not in `sys.argv`, not in a global) if hidden tests are among them.

What a forked kernel can then see in memory is the checks' caches: the seeds and random expressions
of the hidden tests. That tells a student nothing an oracle does not check again, with one exception:
unit 02's `derivative_rules` must not use `sympy.diff`, which `_DiffWatch` enforces only while the
student's function runs; with the hidden expressions readable beforehand, their derivatives could be
computed ahead, outside the watch (a student can already draw the generator's expressions for many
seeds, but not know which ones the hidden tests use). So `test_cells(notebook)`, which gives the
sources to prewarm, leaves unit 02's watched cells out (NOT_PREWARMED).

Measured (`python benchmarks/check_cost.py --prewarm --modes collect,judge` against the same without
--prewarm: CPU seconds of all test cells in a collecting kernel, reference solutions): 01 0.76 -> 0.18,
03 0.57 -> 0.16, 04 0.58 -> 0.38, 07 0.34 -> 0.15; 05 and 06 draw nothing, and 02 gains little
with its watched cells left out. What remains is mostly the student's own code. `prewarm` itself takes
about a second per unit, once per fork server.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import types
from collections.abc import Iterable

from autograder import runtime
from autograder.checks.kit import stand_ins

FILENAME = "<autograder prewarm>"
NOT_PREWARMED = frozenset(
    {"derivative_rules_basic", "derivative_rules_chain", "derivative_rules_random"}
    | {"gradient_expr", "jacobian_expr", "hessian_expr"}
)
"""Grade ids of the test cells `test_cells` leaves out: unit 02's cells that watch SymPy's differentiation."""


def test_cells(notebook: dict) -> list[str]:
    """The sources of an instructor notebook's graded test cells (hidden tests included), in order,
    without those of NOT_PREWARMED: what to hand `prewarm`. `notebook` is an nbformat notebook (or its
    JSON as a dict)."""
    sources = []
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        graded_test = cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution")
        if graded_test and meta.get("grade_id") not in NOT_PREWARMED:
            source = cell["source"]
            sources.append(source if isinstance(source, str) else "".join(source))
    return sources


STAND_IN_MESSAGE = "{name} is a stand-in while the checks' caches are filled"


class StandIn(stand_ins.StandIn):
    """Stands in for a name the student's notebook defines: calling it raises NotImplementedError."""

    def __init__(self, name: str) -> None:
        super().__init__(name, STAND_IN_MESSAGE, NotImplementedError)


def prewarm(test_cells: Iterable[str]) -> int:
    """Run the checks of `test_cells` (Python sources of test cells) once against stand-ins, in collect
    mode with nothing recorded, to fill the checks' per-process caches. Returns how many cells ran to
    their end (a cell stops where its own code, not a check, needs a student's value).

    Raises RuntimeError when an object made by the cells' code is still reachable afterwards.
    """
    saved = copy.copy(runtime._state)
    saved_counts = dict(runtime._state.counts)
    completed = 0
    try:
        runtime._state.mode, runtime._state.sink = runtime.COLLECT, None
        for source in test_cells:
            names = stand_ins.StandInNames(STAND_IN_MESSAGE, NotImplementedError)
            try:
                _run_cell(source, names)
                completed += 1
            except Exception:  # a cell that needs a real value of the student's: its remaining checks are cold
                pass
            finally:
                names.clear()
    finally:
        runtime._state.mode, runtime._state.sink = saved.mode, saved.sink
        runtime._state.cell, runtime._state.index, runtime._state.records = saved.cell, saved.index, saved.records
        runtime._state.counts.clear()
        runtime._state.counts.update(saved_counts)
    _verify_nothing_left()
    return completed


def _run_cell(source: str, names: dict) -> None:
    """Compile and run one cell, its output discarded (in a frame of its own: no local keeps its code)."""
    code = compile(source, FILENAME, "exec")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(code, {"__name__": "__prewarm__"}, names)


def _verify_nothing_left() -> None:
    """Raise RuntimeError if a function or code object compiled from the cells is still reachable.

    Functions are tracked by the garbage collector; code objects are not (nor are tuples and dicts that
    hold only such objects), so those are looked for among what tracked objects refer to, recursively."""
    gc.collect()
    tracked = gc.get_objects()
    for item in tracked:
        if isinstance(item, types.FunctionType) and item.__code__.co_filename == FILENAME:
            raise RuntimeError(f"prewarm left {item!r} reachable: a cache keeps an object of the test cells")
    seen: set[int] = set()
    pending = [item for item in gc.get_referents(*tracked) if not gc.is_tracked(item)]
    del tracked
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, types.CodeType):
            if item.co_filename == FILENAME:
                raise RuntimeError(f"prewarm left {item!r} reachable: a cache keeps an object of the test cells")
        else:
            pending.extend(referent for referent in gc.get_referents(item) if not gc.is_tracked(referent))
