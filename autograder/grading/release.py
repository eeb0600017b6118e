"""Generate release/ from source/ with nbgrader, and prove that nothing secret leaked into it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from autograder.grading.course import assignments, nbgrader_api

MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


class ReleaseError(RuntimeError):
    """nbgrader failed, or a released notebook holds a solution or a hidden test."""


def secret_lines(source: nbformat.NotebookNode) -> set[str]:
    """Stripped lines of a source notebook that must never reach students: solutions and hidden tests."""
    secret: set[str] = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if re.search(r"BEGIN SOLUTION|BEGIN HIDDEN TESTS", line):
                inside = True
            elif re.search(r"END SOLUTION|END HIDDEN TESTS", line):
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#"):
                secret.add(line.strip())
    return secret


def leaks(source_path: Path, release_path: Path) -> list[str]:
    """What of the source's secrets appears in the release: marker lines, solution or hidden lines."""
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    secret = secret_lines(source)
    found = []
    for index, cell in enumerate(release.cells):
        for line in cell.source.splitlines():
            if MARKERS.search(line) or line.strip() in secret:
                found.append(f"cell {index}: {line.strip()}")
    return found


def release(root: Path, names: list[str] | None = None, quiet: bool = True) -> list[Path]:
    """Regenerate release/<name>/ for each assignment (default: all); returns the notebooks written.

    Raises ReleaseError when nbgrader fails or when a released notebook leaks a secret.
    """
    api = nbgrader_api(root, quiet=quiet)
    written = []
    for name in names or assignments(root):
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            log = f"{result.get('log') or ''}{result.get('error') or ''}"
            if "Cannot add or remove cells" in log:
                raise ReleaseError(
                    f"the gradebook already holds submissions of {name}, and nbgrader refuses to add or remove "
                    "cells of a notebook that has been graded. Keep the cells as they are, or release the change "
                    "as a new assignment (or, for a course not yet graded, `make clean` and release again)."
                )
            raise ReleaseError(f"nbgrader could not generate {name}:\n{result.get('error') or result.get('log')}")
        source_path = root / "source" / name / f"{name}.ipynb"
        release_path = root / "release" / name / f"{name}.ipynb"
        found = leaks(source_path, release_path)
        if found:
            raise ReleaseError(f"release/{name} leaks solutions or hidden tests:\n" + "\n".join(found))
        written.append(release_path)
    return written
