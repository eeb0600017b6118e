"""TrustedRecheck: an nbgrader autograde preprocessor that decides test cells outside the student's reach.

nbgrader scores a test cell by the outputs the student's kernel produced, and student code runs in
that kernel first: it can replace `np.allclose`, patch this package, blank later cells with an
IPython transformer or hide every traceback. This preprocessor runs after `Execute`:

1. it writes the executed notebook (whose test cells nbgrader has restored from the gradebook) to a
   scratch folder and runs it again in a child process (`autograder.grading.collect`), which
   records what every check observed the student's code do;
2. it runs each test cell's code here, in the grader's process, in judge mode: every check
   compares the recorded observations with its oracle. No student code runs in this process.
3. a test cell passes only if the kernel run and the judge both pass. A failing judge replaces the
   cell's outputs with one error output carrying the readable message. Every error output of a
   test cell is reduced to its message, so tracebacks never show hidden test code, and results
   displayed by a test cell are dropped (nbgrader would read a displayed number as partial credit).
"""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
import tempfile
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from autograder import runtime
from autograder.feedback import CheckFailure
from autograder.grading.collect import test_cell_id


class StudentName:
    """Stands in, while judging, for a name the student's notebook defines (never called)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"judge mode must not call the student's {self.name}")

    def __repr__(self) -> str:
        return f"<student's {self.name}>"


class _JudgeNames(dict):
    """Local names of a test cell being judged: unknown names stand for the student's objects."""

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name):
            raise KeyError(name)
        return StudentName(name)


def _quiet(*args: Any, **kwargs: Any) -> None:
    """`print` of a test cell while judging: the grader's log is not the student's screen."""


def judge_cell(source: str, cell_id: str, records: dict[str, list[runtime.Observation]]) -> str | None:
    """Run a test cell's code in judge mode on `records`; the failure message, or None if it passes."""
    names = _JudgeNames()
    with runtime.judging(records):
        runtime.begin_cell(cell_id)
        try:
            scope = {"__name__": "__judge__", "print": _quiet}
            exec(compile(source, f"<test cell {cell_id}>", "exec"), scope, names)
        except CheckFailure as error:
            return str(error).strip()
        except Exception as error:  # an observation the check could not read, or a broken test cell
            return f"The test could not judge this submission: {type(error).__name__}: {error}"
    return None


def error_output(message: str, name: str = "CheckFailure") -> NotebookNode:
    """An nbformat error output that shows `message` and no code."""
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class TrustedRecheck(NbGraderPreprocessor):
    """Re-run the notebook in a child process and judge every test cell in this process."""

    cell_timeout = Integer(60, help="Seconds a cell may run in the child before it is abandoned").tag(config=True)
    total_timeout = Integer(600, help="Seconds the whole child run may take").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        records = self._collect(nb, resources)
        for cell in nb.cells:
            cell_id = test_cell_id(cell)
            if cell_id is None:
                continue
            verdict = judge_cell(cell.source, cell_id, records)
            outputs = [o for o in cell.get("outputs", []) if o.output_type != "execute_result"]
            for output in outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
            kernel_failed = any(o.output_type == "error" for o in outputs)
            if verdict is not None and not kernel_failed:
                self.log.warning("Test cell %s: the trusted re-check failed where the kernel passed", cell_id)
                outputs = [error_output(verdict)]
            cell.outputs = outputs
        return nb, resources

    def _collect(self, nb: NotebookNode, resources: ResourcesDict) -> dict[str, list[runtime.Observation]]:
        workdir = resources.get("metadata", {}).get("path") or os.getcwd()
        with tempfile.TemporaryDirectory(prefix="autograder-recheck-") as scratch:
            notebook_path = os.path.join(scratch, "notebook.ipynb")
            records_path = os.path.join(scratch, "records.jsonl")
            nbformat.write(nb, notebook_path)
            command = [sys.executable, "-m", "autograder.grading.collect", notebook_path, records_path,
                       "--cell-timeout", str(self.cell_timeout)]
            env = {**os.environ, "MPLBACKEND": "Agg", runtime.MODE_VARIABLE: runtime.COLLECT}
            try:
                subprocess.run(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=self.total_timeout, check=False)
            except subprocess.TimeoutExpired:
                self.log.warning("The trusted re-run timed out after %s s", self.total_timeout)
            return runtime.read_records(records_path)
