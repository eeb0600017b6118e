"""`autograder collect`: notebooks and LMS zip files are placed by student id and by their own test cells."""

from __future__ import annotations

import zipfile

import nbformat

from autograder.grading import submissions
from autograder.grading.collect import collect
from autograder.grading.release import release
from tests.conftest import copy_course


def test_collect_places_notebooks_and_zips_and_lists_what_it_cannot(tmp_path, capsys):
    root = copy_course(tmp_path / "course")
    release(root, ["01_numerical", "02_symbolic"])
    released, _ = submissions.load_pair(root, "01_numerical")
    symbolic = nbformat.read(root / "release" / "02_symbolic" / "02_symbolic.ipynb", as_version=4)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nbformat.write(released, inbox / "alice_01_numerical.ipynb")
    nbformat.write(symbolic, inbox / "bob-homework.ipynb")  # placed by its test cells, not its name
    with zipfile.ZipFile(inbox / "carol.zip", "w") as archive:
        archive.writestr("carol/01_numerical/01_numerical.ipynb", nbformat.writes(released))
    nbformat.write(released, inbox / "01_numerical.ipynb")  # no student id left in the name
    (inbox / "notes.ipynb").write_text("{}")  # not a notebook of any assignment
    code = collect(root, inbox)
    out = capsys.readouterr().out
    assert code == 1
    assert (root / "submitted" / "alice" / "01_numerical" / "01_numerical.ipynb").exists()
    assert (root / "submitted" / "bob-homework" / "02_symbolic" / "02_symbolic.ipynb").exists()
    assert (root / "submitted" / "carol" / "01_numerical" / "01_numerical.ipynb").exists()
    assert "cannot tell the student id" in out and "notes.ipynb" in out
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["alice", "bob-homework", "carol"]
