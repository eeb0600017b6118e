"""release/ is exactly what nbgrader generates from source/, and holds no solution or hidden test."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.grading.course import assignments
from autograder.grading.release import leaks, secret_lines
from tests.conftest import REPO

ASSIGNMENTS = assignments(REPO)


def normalised(path):
    notebook = nbformat.read(path, as_version=4)
    return json.loads(nbformat.writes(notebook))


def test_every_assignment_is_released():
    assert ASSIGNMENTS, "no assignment in source/"
    for name in ASSIGNMENTS:
        assert (REPO / "release" / name / f"{name}.ipynb").is_file(), f"release/{name} missing: run make release"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_committed_release_is_what_nbgrader_generates(course, name):
    committed = normalised(REPO / "release" / name / f"{name}.ipynb")
    generated = normalised(course / "release" / name / f"{name}.ipynb")
    assert committed == generated, f"release/{name} is out of date: run `make release` and commit it"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_holds_no_solution_and_no_hidden_test(name):
    source = REPO / "source" / name / f"{name}.ipynb"
    release = REPO / "release" / name / f"{name}.ipynb"
    assert secret_lines(nbformat.read(source, as_version=4)), "the source has no solution to protect?"
    assert leaks(source, release) == []


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebooks_are_stored_without_outputs(name):
    for folder in ("source", "release"):
        notebook = nbformat.read(REPO / folder / name / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{folder}/{name} has outputs"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_starts_with_the_header(name):
    notebook = nbformat.read(REPO / "release" / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells[:3])
    assert "restart the kernel" in text and 'NAME = ""' in text and 'COLLABORATORS = ""' in text


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_test_cell_has_visible_and_hidden_parts_or_is_fully_visible(name):
    notebook = nbformat.read(REPO / "source" / name / f"{name}.ipynb", as_version=4)
    points = 0.0
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            points += float(meta["points"])
            visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "check_" in visible, f"{meta['grade_id']} has no visible test"
    assert points == 100


def _top_level_names(source: str) -> set[str]:
    """Names a cell binds at its top level (assignments, definitions, imports, loop targets)."""
    import ast

    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, ast.Import | ast.ImportFrom):
                names.update((alias.asname or alias.name).split(".")[0] for alias in sub.names)
    return names


def _loaded_names(source: str) -> set[str]:
    """Global names a cell reads: at its top level, and in its functions and comprehensions where they are
    not local (symtable resolves the scopes)."""
    import symtable

    used: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (table.get_type() == "module" or symbol.is_global()):
                used.add(symbol.get_name())
        for child in table.get_children():
            visit(child)

    visit(symtable.symtable(source, "<cell>", "exec"))
    return used


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_display_only_cells_are_locked_demos_that_no_later_cell_needs(name):
    """A cell marked display-only is not run at grading: it must be a locked cell that is neither a test nor
    an answer, and no later code cell may use a name it binds (unless that cell binds the name itself)."""
    from autograder.grading.assignment_cells import display_only_cells, is_display_only

    notebook = nbformat.read(REPO / "source" / name / f"{name}.ipynb", as_version=4)
    marked = [
        i for i, c in enumerate(notebook.cells) if c.get("metadata", {}).get("autograder", {}).get("display_only")
    ]
    assert len(display_only_cells(REPO, name)) == len(marked), "a marked cell is a test, an answer or unlocked"
    for index in marked:
        cell = notebook.cells[index]
        assert is_display_only(cell)
        bound = _top_level_names(cell.source)
        for later in notebook.cells[index + 1 :]:
            if later.cell_type == "code":
                needed = (_loaded_names(later.source) - _top_level_names(later.source)) & bound
                assert not needed, f"{cell.metadata.nbgrader.grade_id} is display-only but a later cell uses {needed}"
