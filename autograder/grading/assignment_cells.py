"""What the grader reads from an assignment's notebooks before grading it, once per run.

- `visible_test_cells`: the test cells of the released notebooks (the students' copies, without hidden
  tests), whose checks' caches a worker's fork server fills before it forks kernels (`fork_server`).
- `display_only_cells`: the cells the instructor marked display-only in the source notebooks
  (`"autograder": {"display_only": true}` in a cell's metadata): locked cells that only show a plot or
  a demo of the student's code. They are not run at grading (a note takes their place in the feedback);
  tests/test_release.py checks that no later cell uses a name they define.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.self_check import is_test_cell

HIDDEN_MARK = "BEGIN HIDDEN TESTS"


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def visible_test_cells(root: Path, assignment: str) -> tuple[str, ...]:
    """The sources of the released notebooks' test cells, in order (none holds a hidden test: a cell that
    does, in a release not made by nbgrader, is left out)."""
    cells: list[str] = []
    for path in sorted((root / "release" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_test_cell(cell) and HIDDEN_MARK not in cell.source:
                cells.append(cell.source)
    return tuple(cells)


def is_display_only(cell: nbformat.NotebookNode) -> bool:
    """A locked code cell, neither test nor answer, that the instructor marked display-only."""
    meta = _nbgrader(cell)
    marked = bool(cell.get("metadata", {}).get("autograder", {}).get("display_only"))
    return (
        marked
        and cell.cell_type == "code"
        and bool(meta.get("locked"))
        and not meta.get("grade")
        and not meta.get("solution")
        and "grade_id" in meta
    )


def display_only_cells(root: Path, assignment: str) -> tuple[str, ...]:
    """The grade ids of the source notebooks' display-only cells (see the module's docstring)."""
    ids: list[str] = []
    for path in sorted((root / "source" / assignment).glob("*.ipynb")):
        ids += [str(_nbgrader(c)["grade_id"]) for c in nbformat.read(path, as_version=4).cells if is_display_only(c)]
    return tuple(ids)
