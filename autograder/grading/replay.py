"""ReplayExecution: the autograde step that takes a worker's execution instead of running a kernel.

The grading pipeline runs every student's notebook in a sandboxed worker (`execution.execute`) and
then asks nbgrader to autograde as usual, with nbgrader's `Execute` replaced by this preprocessor:
it copies the worker's outputs into the notebook nbgrader has just sanitized (the same cells, in the
same order, or it refuses) and hands the worker's records to `JudgeRecords`.
"""

from __future__ import annotations

import os
import tempfile

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.grading.execution import Result
from autograder.grading.trusted_judge import RESOURCE_KEY, error_output, test_cell_id

# (student, notebook name) -> the worker's Result; filled by the pipeline just before it autogrades.
RESULTS: dict[tuple[str, str], Result] = {}
# (student, notebook name) -> grade ids of test cells missing from what the student submitted.
DELETED: dict[tuple[str, str], set[str]] = {}
DELETED_MESSAGE = (
    "This test cell was missing from your notebook (deleted, or its grade id changed). It was put back "
    "for grading and scores 0: never delete or edit test cells."
)


class ReplayMismatch(RuntimeError):
    """The executed notebook does not match the notebook nbgrader sanitized (should never happen)."""


class ReplayExecution(NbGraderPreprocessor):
    """In place of nbgrader's Execute: the outputs and records of the worker that ran this notebook."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        student = resources["nbgrader"]["student"]
        name = resources["unique_key"]
        result = RESULTS.get((student, name))
        if result is None:
            raise ReplayMismatch(f"no execution of {name} for {student}")
        executed = nbformat.reads(result.notebook_json, as_version=4)
        if [c.source for c in executed.cells] != [c.source for c in nb.cells]:
            raise ReplayMismatch(f"the executed {name} of {student} is not the notebook nbgrader sanitized")
        deleted = DELETED.get((student, name), set())
        for cell, ran in zip(nb.cells, executed.cells, strict=True):
            if cell.cell_type == "code":
                cell.outputs = ran.get("outputs", [])
                cell.execution_count = ran.get("execution_count")
                if test_cell_id(cell) in deleted:
                    cell.outputs = [error_output(DELETED_MESSAGE, "MissingTestCell")]
        handle, path = tempfile.mkstemp(prefix="autograder-", suffix=".records.jsonl")
        with os.fdopen(handle, "w") as sink:
            sink.write(result.records)
        resources[RESOURCE_KEY] = path
        return nb, resources
