"""`autograder collect PATH`: import submissions into submitted/<student>/<assignment>/.

PATH is a folder (or one file) of notebooks and LMS-style zip files. The student id comes from the
file name: what remains of the name once the assignment's name is taken out, e.g.
`alice_01_numerical.ipynb`, `01_numerical-alice.ipynb` or `alice.zip` (holding `01_numerical.ipynb`,
in any folder). The assignment comes from the notebook's own test cells, so a misnamed file still
lands in the right place. Names it cannot place (no student id left, several notebooks for one slot,
no test cell of any assignment) are listed, not guessed.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grading.course import assignments
from autograder.grading.trusted_judge import test_cell_id

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


@dataclass(frozen=True)
class Found:
    """One notebook found under PATH: where it came from, and its bytes."""

    origin: str
    stem: str  # the file name (zip name for a notebook inside a zip) without extension
    content: bytes


def _notebooks(path: Path) -> tuple[list[Found], list[str]]:
    found, unreadable = [], []
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file.suffix == ".ipynb":
            found.append(Found(str(file), file.stem, file.read_bytes()))
        elif file.suffix == ".zip":
            try:
                with zipfile.ZipFile(file) as archive:
                    for name in archive.namelist():
                        if name.endswith(".ipynb") and "__MACOSX" not in name and "checkpoint" not in name:
                            found.append(Found(f"{file}:{name}", file.stem, archive.read(name)))
            except zipfile.BadZipFile:
                unreadable.append(f"{file}: not a zip file")
    return found, unreadable


def _assignment_of(content: bytes, tests: dict[str, set[str]]) -> str | None:
    try:
        notebook = nbformat.read(io.BytesIO(content), as_version=4)
    except Exception:  # an unreadable notebook is placed by its name alone
        return None
    ids = {i for i in (test_cell_id(c) for c in notebook.cells) if i}
    matches = [name for name, own in tests.items() if ids & own]
    return matches[0] if len(matches) == 1 else None


def _student_of(stem: str, assignment: str) -> str | None:
    rest = re.sub(r"[\s_.-]{2,}", "_", stem.replace(assignment, "_")).strip(" _.-")
    return rest if rest and STUDENT_ID.match(rest) else None


def collect(root: Path, path: Path) -> int:
    """Copy every placeable notebook under `path` into submitted/ and print what it did.

    Returns the exit code: 0, or 1 if some file was left out (each is listed with the reason).
    """
    if not path.exists():
        print(f"autograder collect: {path} does not exist")
        return 2
    names = assignments(root)
    tests = {}
    for name in names:
        notebook = nbformat.read(root / "source" / name / f"{name}.ipynb", as_version=4)
        tests[name] = {i for i in (test_cell_id(c) for c in notebook.cells) if i}
    found, problems = _notebooks(path)
    placed: dict[tuple[str, str], list[Found]] = {}
    for item in found:
        by_name = [n for n in names if n in item.stem or n in item.origin]
        assignment = _assignment_of(item.content, tests) or (by_name[0] if len(by_name) == 1 else None)
        if assignment is None:
            problems.append(f"{item.origin}: no test cell of any assignment, and no assignment name in its name")
            continue
        student = _student_of(item.stem, assignment)
        if student is None:
            problems.append(f"{item.origin}: cannot tell the student id from the file name")
            continue
        placed.setdefault((student, assignment), []).append(item)
    written = 0
    for (student, assignment), items in sorted(placed.items()):
        if len(items) > 1:
            problems.append(
                f"{student} / {assignment}: {len(items)} notebooks ({', '.join(i.origin for i in items)}); none taken"
            )
            continue
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_bytes(items[0].content)
        written += 1
        print(f"  {items[0].origin} -> submitted/{student}/{assignment}/{assignment}.ipynb")
    print(f"collected {written} submission(s) into submitted/")
    if problems:
        print(f"could not place {len(problems)}:")
        for problem in problems:
            print(f"  {problem}")
    return 1 if problems else 0
