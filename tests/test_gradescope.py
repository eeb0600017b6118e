"""`autograder gradescope-autograder`: the zip, unpacked and run as Gradescope runs it, in a temporary /autograder.

The layout is Gradescope's (source/ = the unpacked zip, submission/ = the student's files,
results/results.json = the output), under a temporary folder named by AUTOGRADER_GRADESCOPE_ROOT;
`run_autograder` runs with this environment's Python (AUTOGRADER_PYTHON) instead of the venv that
setup.sh would build. The reference earns every point; a mutant loses the tests it must lose and
keeps the ones it must keep; a submission without a notebook gets 0 and the reason.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.feedback import diagnoses_in
from autograder.grading import submissions
from autograder.reporting.gradescope import build_zip
from tests.conftest import REPO
from tests.test_exports import validate
from tests.units import harness
from tests.units.numerical import UNIT

ASSIGNMENT = UNIT.assignment


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return build_zip(REPO, ASSIGNMENT, tmp_path_factory.mktemp("zip") / "autograder.zip")


@pytest.fixture(scope="module")
def built() -> dict[str, nbformat.NotebookNode]:
    released, source = submissions.load_pair(REPO, ASSIGNMENT)
    return harness.build(UNIT, released, source)


def gradescope_run(zip_path: Path, folder: Path, notebook: nbformat.NotebookNode | None) -> dict:
    """Lay out `folder` as Gradescope's /autograder, run run_autograder, return results.json."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder / "source")
    runner = folder / "run_autograder"  # Gradescope copies it to /autograder/run_autograder
    runner.write_bytes((folder / "source" / "run_autograder").read_bytes())
    runner.chmod(runner.stat().st_mode | stat.S_IXUSR)
    (folder / "submission").mkdir()
    if notebook is not None:
        nbformat.write(notebook, folder / "submission" / f"{ASSIGNMENT}.ipynb")
    environment = {**os.environ, "AUTOGRADER_GRADESCOPE_ROOT": str(folder), "AUTOGRADER_PYTHON": sys.executable}
    run = subprocess.run([str(runner)], cwd=folder, env=environment, capture_output=True, text=True, timeout=1200)
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / f"gradescope-{folder.name}.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((folder / "results" / "results.json").read_text())


def test_the_zip_holds_what_gradescope_needs_and_no_release(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {
        "setup.sh",
        "run_autograder",
        "course/nbgrader_config.py",
        f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
    } <= names
    assert {"package/pyproject.toml", "package/autograder/cli.py", "package/autograder/grading/pipeline.py"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert not any("__pycache__" in n for n in names)


def test_the_reference_gets_full_marks(autograder_zip, built, tmp_path):
    document = gradescope_run(autograder_zip, tmp_path / "reference", built["reference"])
    validate(document)
    assert document["score"] == pytest.approx(100)
    assert document["tests"] and all(t["status"] == "passed" for t in document["tests"])


def test_a_mutant_loses_the_tests_its_mistake_costs(autograder_zip, built, tmp_path):
    name = "gradient_check_forward_difference"
    mutant = UNIT.mutants[name]
    document = gradescope_run(autograder_zip, tmp_path / "mutant", built[f"mutant-{name}"])
    validate(document)
    failed = {t["name"]: t for t in document["tests"] if t["status"] == "failed"}
    assert set(mutant.loses) <= set(failed)
    assert not set(mutant.keeps) & set(failed)
    assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]))
    assert document["score"] < 100
    for cell in mutant.loses:
        assert mutant.diagnoses[0] in diagnoses_in(failed[cell]["output"])


def test_no_notebook_gets_zero_and_the_reason(autograder_zip, tmp_path):
    document = gradescope_run(autograder_zip, tmp_path / "empty", None)
    validate(document)
    assert document["score"] == 0 and f"{ASSIGNMENT}.ipynb" in document["output"]
