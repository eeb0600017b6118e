"""Where the two halves of a check run.

Every check is split in two halves:

* `observe()` calls the student's code and returns plain data: numbers, arrays, call counts;
* `judge(observation)` compares that data with an oracle and raises `CheckFailure`.

In a student's kernel both halves run in the same process (mode "local"): that is what the visible
tests and a self-learner see. At autograde time (`autograder.grading.trusted_judge`) the kernel
starts with the environment variable AUTOGRADER_RECORDS naming a record file: this module then
starts in mode "collect" (observe only; each observation is appended to the file under a hash of
its test cell's source and its position there), and afterwards the grader runs the test cells in
its own process in mode "judge" (judge only, on the recorded observations). Student code never
runs in the judging process, so nothing it patches (numpy, builtins, this package, `sys.modules`,
IPython's transformers) can turn a wrong answer into a pass: the worst it can do is hand over
wrong or missing observations, which fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TextIO

try:
    import numpy as np
except ModuleNotFoundError:  # a browser kernel (Pyodide): nothing to silence in numpy
    np = None

from autograder import observations
from autograder.feedback import CheckFailure

LOCAL, COLLECT, JUDGE = "local", "collect", "judge"
RECORDS_VARIABLE = "AUTOGRADER_RECORDS"


@dataclass(frozen=True)
class Observation:
    """What `observe` returned (`value`), or the exception the student's code raised (`raised`)."""

    value: Any = None
    raised: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class _State:
    mode: str = LOCAL
    cell: str | None = None
    index: int = 0
    sink: TextIO | None = None
    records: dict[str, list[Observation]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_state = _State()


def mode() -> str:
    """The current mode: "local", "collect" or "judge"."""
    return _state.mode


def begin_cell(source: str) -> None:
    """Judge mode: the test cell with this source starts; its checks take its records in order."""
    _state.cell = cell_key(source)
    _state.index = 0


def cell_key(source: str) -> str:
    """The key under which a test cell's observations are recorded: a hash of its source."""
    return hashlib.sha256(source.strip().encode()).hexdigest()[:20]


def _running_cell_key() -> str:
    """In an IPython kernel, the key of the cell being executed (from its raw input history)."""
    try:
        from IPython import get_ipython

        return cell_key(get_ipython().history_manager.input_hist_raw[-1])
    except Exception:  # not in IPython, or history was tampered with: records then match nothing
        return ""


def describe_error(error: BaseException) -> str:
    """'TypeError: message (in function, line 3)': the exception and the innermost frame it came from."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (in {last.name}, line {last.lineno})"
    return f"{type(error).__name__}: {error}{where}"


def _observe(observe: Callable[[], Any]) -> Observation:
    quiet = np.errstate(all="ignore") if np is not None else nullcontext()
    with warnings.catch_warnings(record=True) as caught, quiet:
        warnings.simplefilter("always")
        try:
            value = observe()
        except Exception as error:  # the student's code raised: that is an observation too
            return Observation(raised=describe_error(error))
    seen = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    # A round trip through the wire format makes local and split runs judge identical data.
    return Observation(value=observations.decode(observations.encode(value)), warnings=seen)


def run_check(observe: Callable[[], Any], judge: Callable[[Observation], None]) -> None:
    """Run one check in the current mode; raises `CheckFailure` when it fails (local, judge).

    Warnings raised by the student's code are captured (nbgrader would zero a cell for any text
    on stderr) and handed to `judge` in the observation.
    """
    __tracebackhide__ = True
    if _state.mode == COLLECT:
        obs = _observe(observe)
        cell = _running_cell_key()
        index = _state.counts.get(cell, 0)
        _state.counts[cell] = index + 1
        record = {"cell": cell, "index": index, "raised": obs.raised, "warnings": list(obs.warnings)}
        record["value"] = observations.encode(obs.value)
        if _state.sink is not None:
            _state.sink.write(json.dumps(record) + "\n")
            _state.sink.flush()
        return
    if _state.mode == JUDGE:
        queue = _state.records.get(_state.cell or "", [])
        position = _state.index
        _state.index += 1
        if position >= len(queue):
            raise CheckFailure(
                "\nAt grading time your notebook never reached this check: it stopped, timed out or was "
                "altered before this test cell ran. Restart the kernel and run all cells to see why."
            )
        judge(queue[position])
        return
    judge(_observe(observe))


def start_collecting(path: str) -> None:
    """Switch this process to collect mode, appending records to `path`."""
    _state.mode = COLLECT
    _state.sink = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


if os.environ.get(RECORDS_VARIABLE):  # a kernel started by the autograder: observe and record only
    start_collecting(os.environ[RECORDS_VARIABLE])


def read_records(path: str) -> dict[str, list[Observation]]:
    """Parse a record file into observations per cell, in order; malformed lines are skipped."""
    per_cell: dict[str, dict[int, Observation]] = {}
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                cell, index = str(record["cell"]), int(record["index"])
                obs = Observation(
                    value=observations.decode(record.get("value")),
                    raised=record.get("raised"),
                    warnings=tuple(str(w) for w in record.get("warnings", ())),
                )
            except (ValueError, KeyError, TypeError):
                continue
            per_cell.setdefault(cell, {}).setdefault(index, obs)
    result = {}
    for cell, by_index in per_cell.items():
        ordered = []
        while len(ordered) in by_index:  # stop at the first gap
            ordered.append(by_index[len(ordered)])
        result[cell] = ordered
    return result


@contextmanager
def judging(records: dict[str, list[Observation]]) -> Iterator[None]:
    """Judge mode for the duration of the block, on `records` (from `read_records`)."""
    saved = (_state.mode, _state.cell, _state.index, _state.records)
    _state.mode, _state.records = JUDGE, records
    try:
        yield
    finally:
        _state.mode, _state.cell, _state.index, _state.records = saved
