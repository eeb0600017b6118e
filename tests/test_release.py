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
