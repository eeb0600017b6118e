"""`autograder check NOTEBOOK [--json] [--thorough [--seed N]]`: the self-check from the command line.

The notebook runs top to bottom in a fresh kernel, in its own folder, with its graded test cells
left out (the self-check runs them, once), and errors allowed, as "Run All" would in JupyterLab.
Then the self-check runs every visible test on the student's code and the command prints its
summary (or, with --json, its machine-readable results). Unlike `nbgrader validate`, which exits 0
either way, the exit status says what happened: 0 every visible test passes, 1 some fail, 2 the
notebook could not be checked (unreadable, no test cells, the kernel died).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from autograder.self_check import TestResult, is_test_cell, summary
from autograder.thorough import ExerciseResult
from autograder.thorough import summary as thorough_summary

PASSED, FAILED, NOT_CHECKED = 0, 1, 2
SELF_CHECK_CELL = "self_check"


def notebook_to_run(
    notebook: nbformat.NotebookNode, name: str, thorough: bool = False, seed: int | None = None
) -> nbformat.NotebookNode:
    """A copy of `notebook` without its test and self-check cells, ending with a JSON self-check
    (thorough, from run seed `seed`, if asked)."""
    copy = nbformat.v4.new_notebook(metadata=notebook.metadata)
    for cell in notebook.cells:
        self_check_cell = cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith(SELF_CHECK_CELL)
        if cell.cell_type != "code" or is_test_cell(cell) or self_check_cell:
            continue
        copy.cells.append(nbformat.v4.new_code_cell(cell.source))
    options = f", thorough=True, seed={seed!r}" if thorough else ""
    runner = f"from autograder.self_check import self_check\n\nself_check({name!r}, output='json'{options})"
    copy.cells.append(nbformat.v4.new_code_cell(runner, metadata={"tags": [SELF_CHECK_CELL]}))
    return copy


def _results(cell: nbformat.NotebookNode) -> dict | None:
    """The JSON line the self-check printed in `cell`, if any."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def check(
    path: Path, timeout: float = 300.0, as_json: bool = False, thorough: bool = False, seed: int | None = None
) -> int:
    """Check the notebook at `path`; print the summary (or JSON) on stdout; return the exit status.

    `timeout` is the limit in seconds for each cell of the notebook, and for each test in the
    self-check. With `thorough`, every graded check also runs on fresh random cases from the run
    seed `seed` (a new one if None; the summary prints it). Problems that stop the check are
    explained on stderr.
    """
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        print(f"autograder check: cannot read {path}: {error}", file=sys.stderr)
        return NOT_CHECKED
    tests = sum(1 for c in notebook.cells if is_test_cell(c))
    if tests == 0:
        print(f"autograder check: {path} has no graded test cells (is it a course notebook?)", file=sys.stderr)
        return NOT_CHECKED
    runnable = notebook_to_run(notebook, path.name, thorough, seed)
    print(f"Running {path.name} ({len(runnable.cells) - 1} cells) and its {tests} visible tests...", file=sys.stderr)

    def cell_timeout(cell: nbformat.NotebookNode) -> float:
        return timeout * (2 * tests + 1) if SELF_CHECK_CELL in cell.metadata.get("tags", []) else timeout

    client = NotebookClient(
        runnable,
        timeout_func=cell_timeout,
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up warnings among the results
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    try:
        client.execute()
    except DeadKernelError as error:
        print(f"autograder check: the kernel died while running {path.name} ({error}).", file=sys.stderr)
        print("Run the notebook in JupyterLab to find the cell that crashes it.", file=sys.stderr)
        return NOT_CHECKED
    results = _results(runnable.cells[-1])
    if results is None:
        errors = [o for o in runnable.cells[-1].outputs if o.get("output_type") == "error"]
        why = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else "it printed no results"
        print(f"autograder check: the self-check did not run ({why}).", file=sys.stderr)
        return NOT_CHECKED
    deep = results.get("thorough")
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print(summary([TestResult(**t) for t in results["tests"]], results["notebook"]))
        if deep:
            exercises = [ExerciseResult(**{k: v for k, v in e.items() if k != "passed"}) for e in deep["exercises"]]
            print()
            print(thorough_summary(exercises, results["notebook"], deep["seed"]))
    return PASSED if results["passed"] and (not deep or deep["passed"]) else FAILED
