"""Whether a submission can be graded at all, decided in the worker on its private copy of the course.

A submission is flagged (not graded; an earlier grade stays in the gradebook) when a notebook of the
assignment is missing, empty or unreadable, when it is another assignment's notebook, or when none
of its cells can be recognised as the assignment's (`recovery`). These checks read every submitted
notebook, so they run in the workers, not in the coordinator: the coordinator only reads the files'
bytes to know whether they changed since the last run.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.grading import recovery


def notebook_names(root: Path, assignment: str) -> list[str]:
    """The assignment's notebooks (names without .ipynb), from `root`/source/."""
    return sorted(p.stem for p in (root / "source" / assignment).glob("*.ipynb"))


def test_ids(path: Path | NotebookNode) -> set[str]:
    """Grade ids of the cells a notebook (file) marks as test cells (whatever their cell type)."""
    notebook = recovery.read_notebook(path) if isinstance(path, Path) else path
    cells = (c.get("metadata", {}).get("nbgrader", {}) for c in notebook.cells)
    return {str(m["grade_id"]) for m in cells if m.get("grade") and not m.get("solution") and "grade_id" in m}


def other_assignments_tests(root: Path, assignment: str) -> dict[str, frozenset[str]]:
    """Test ids of every other assignment's source notebooks (assignment -> ids), read once per run: how a
    worker recognises a notebook of another assignment without the other assignments' files."""
    import json

    found: dict[str, set[str]] = {}
    for other in sorted((root / "source").glob("*/*.ipynb")):
        if other.parent.name != assignment:  # the instructor's own notebooks: read as JSON, not validated
            notebook = nbformat.from_dict(json.loads(other.read_text()))
            found.setdefault(other.parent.name, set()).update(test_ids(notebook))
    return {name: frozenset(ids) for name, ids in sorted(found.items())}


def problems(root: Path, assignment: str, folder: Path) -> list[str]:
    """Why the submission in `folder` cannot be read (empty if it can); `root` holds the assignment's source/."""
    found = []
    for name in notebook_names(root, assignment):
        path = folder / f"{name}.ipynb"
        if not path.exists():
            others = sorted(p.name for p in folder.glob("*.ipynb"))
            found.append(f"no {name}.ipynb in the submission (it has {others or 'no notebook'})")
            continue
        if path.stat().st_size == 0:
            found.append(f"{name}.ipynb is an empty file")
            continue
        try:
            recovery.read_notebook(path)
        except Exception as error:  # nbformat raises JSON, validation and version errors
            found.append(f"{name}.ipynb is not a readable notebook ({type(error).__name__}: {str(error)[:120]})")
    return found


def foreign_assignment(root: Path, assignment: str, folder: Path, others: dict[str, frozenset[str]]) -> str | None:
    """The other assignment whose test cells a submitted notebook carries instead of this one's, if any
    (`others`: `other_assignments_tests`)."""
    for name in notebook_names(root, assignment):
        submitted = test_ids(folder / f"{name}.ipynb")
        if submitted & test_ids(root / "source" / assignment / f"{name}.ipynb"):
            continue
        for other, ids in others.items():
            if submitted & ids:
                return other
    return None


def unrecognised(root: Path, assignment: str, folder: Path) -> list[str]:
    """Why a readable submission cannot be graded: a notebook with none of the assignment's cells (empty if none)."""
    found = []
    for name in notebook_names(root, assignment):
        reference = recovery.reference_notebook(root, assignment, name)
        if reference is None:
            continue
        submitted = recovery.read_notebook(folder / f"{name}.ipynb")
        if not recovery.recover(submitted, reference).found:
            found.append(recovery.unmatched_message(name, assignment))
    return found


def reasons_not_to_grade(root: Path, assignment: str, folder: Path, others: dict[str, frozenset[str]]) -> list[str]:
    """Every reason the submission in `folder` is flagged instead of graded (empty: grade it)."""
    found = problems(root, assignment, folder)
    if found:
        return found
    other = foreign_assignment(root, assignment, folder, others)
    if other:
        return [f"this is the notebook of {other}, not of {assignment}: not graded (submit the right one)"]
    return unrecognised(root, assignment, folder)
