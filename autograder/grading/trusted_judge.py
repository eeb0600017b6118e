"""The trusted judge: nbgrader autograde preprocessors that decide test cells outside the student's reach.

nbgrader scores a test cell by the outputs of the student's kernel, and student code runs in that
kernel first: it can replace `np.allclose`, patch this package, blank later cells with an IPython
transformer or hide every traceback. So the kernel is only asked what the student's code *does*:

1. `StartRecording` (before `Execute`) points the kernel at a scratch record file. In a kernel that
   sees it, every check only observes (calls the student's code, records plain data) and judges
   nothing (`autograder.runtime`, collect mode).
2. `JudgeRecords` (after `Execute`) runs each test cell's code here, in the grader's process, in
   judge mode: every check compares the recorded observation with its oracle. No student code runs
   in this process; forged or missing records can only fail. A test cell passes only if the judge
   passes and the kernel raised no error in it. On failure its outputs become one error output with
   the readable message (and no code, so hidden tests never show in feedback); displayed results
   are dropped, since nbgrader would read a displayed number as partial credit.
"""

from __future__ import annotations

import functools
import os
import tempfile
from types import CodeType
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder import runtime
from autograder.checks.kit.stand_ins import StandInNames
from autograder.feedback import CheckFailure

RESOURCE_KEY = "autograder_records"


def test_cell_id(cell: NotebookNode) -> str | None:
    """The grade id of an nbgrader test cell (graded, not a solution), else None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
        return str(meta.get("grade_id"))
    return None


def _quiet(*args: Any, **kwargs: Any) -> None:
    """`print` of a test cell while judging: the grader's log is not the student's screen."""


def judge_cell(source: str, cell_id: str, records: dict[str, list[runtime.Observation]]) -> str | None:
    """Run a test cell's code in judge mode on `records`; the failure message, or None if it passes."""
    names = StandInNames("judge mode must not call the student's {name}", RuntimeError)
    with runtime.judging(records):
        runtime.begin_cell(source)
        try:
            scope = {"__name__": "__judge__", "print": _quiet}
            exec(_compiled(source, cell_id), scope, names)
        except CheckFailure as error:
            return str(error).strip()
        except Exception as error:  # an observation the check could not read, or a broken test cell
            return f"The test could not judge this submission: {type(error).__name__}: {error}"
    return None


@functools.lru_cache(maxsize=256)
def _compiled(source: str, cell_id: str) -> CodeType:
    """A test cell's code, compiled once per worker (every student's test cells are the source's)."""
    return compile(source, f"<test cell {cell_id}>", "exec")


def error_output(message: str, name: str = "CheckFailure") -> NotebookNode:
    """An nbformat error output that shows `message` and no code."""
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class StartRecording(NbGraderPreprocessor):
    """Before Execute: make the student's kernel record observations to a scratch file."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        handle, path = tempfile.mkstemp(prefix="autograder-", suffix=".records.jsonl")
        os.close(handle)
        resources[RESOURCE_KEY] = path
        # The kernel inherits the grader's environment; JudgeRecords removes the variable again.
        os.environ[runtime.RECORDS_VARIABLE] = path
        return nb, resources


class JudgeRecords(NbGraderPreprocessor):
    """After Execute: judge every test cell here, from the kernel's records."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        os.environ.pop(runtime.RECORDS_VARIABLE, None)
        path = resources.pop(RESOURCE_KEY, None)
        records = runtime.read_records(path) if path else {}
        if path and os.path.exists(path):
            os.remove(path)
        for cell in nb.cells:
            cell_id = test_cell_id(cell)
            if cell_id is not None:
                self._decide(cell, cell_id, records)
        from autograder.grading.feedback_guard import redact_errors

        redact_errors(nb)  # test cells' messages reach exports: no hidden test line in them
        return nb, resources

    def _decide(self, cell: NotebookNode, cell_id: str, records: dict[str, list[runtime.Observation]]) -> None:
        outputs = [o for o in cell.get("outputs", []) if o.output_type != "execute_result"]
        for output in outputs:
            if output.output_type == "stream" and output.name == "stderr":
                output.name = "stdout"
        errors = [o for o in outputs if o.output_type == "error"]
        for output in errors:
            output.traceback = [f"{output.ename}: {output.evalue}"]
        verdict = judge_cell(cell.source, cell_id, records)
        if errors:  # the kernel's own error (a NameError, a timeout, ...) says most
            cell.outputs = errors
        elif verdict is not None:
            cell.outputs = [error_output(verdict)]
        else:
            cell.outputs = outputs
