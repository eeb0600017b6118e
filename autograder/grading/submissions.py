"""Build student submissions from the release: solved, half-done, untouched, or with a cell replaced.

A submission is the released notebook with some solution cells filled in, written where nbgrader
collects it: submitted/<student>/<assignment>/<assignment>.ipynb.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import nbformat

SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def solution_code(source_cell: nbformat.NotebookNode) -> str:
    """The source cell's code with the solution markers removed (what a perfect student writes)."""
    return "\n".join(line for line in source_cell.source.splitlines() if not SOLUTION_MARKER.match(line))


def solution_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Solution cells by grade id."""
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in notebook.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def fill(
    release: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    solved: Iterable[str] | None = None,
    replaced: Mapping[str, str] | None = None,
) -> nbformat.NotebookNode:
    """A copy of `release` with the source's solution in each cell of `solved` (None: every cell)
    and the code of `replaced` (grade id -> code) in the others. Raises KeyError for unknown ids."""
    notebook = nbformat.from_dict(release)
    answers = solution_cells(source)
    targets = solution_cells(notebook)
    chosen = set(answers) if solved is None else set(solved)
    for grade_id in (*chosen, *(replaced or {})):
        if grade_id not in targets:
            raise KeyError(f"no solution cell {grade_id!r} in the release; it has {sorted(targets)}")
    for grade_id in chosen:
        targets[grade_id].source = solution_code(answers[grade_id])
    for grade_id, code in (replaced or {}).items():
        targets[grade_id].source = code
    return notebook


def write(root: Path, assignment: str, student: str, notebook: nbformat.NotebookNode) -> Path:
    """Write `notebook` as `student`'s submission of `assignment`; returns its path."""
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    return path


def load_pair(root: Path, assignment: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(release notebook, source notebook) of `assignment`."""
    release = nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return release, source
