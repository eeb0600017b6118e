"""`autograder gradescope-autograder ASSIGNMENT`: the zip Gradescope runs, grading with this course's pipeline.

Gradescope's autograder specification: the zip holds `setup.sh` (run once when Gradescope builds its
Docker image) and `run_autograder` (run for every submission, working directory /autograder); the
zip is unpacked in /autograder/source, the student's files are in /autograder/submission, and
/autograder/results/results.json is what Gradescope reads.

The zip built here holds:

- `setup.sh`: installs Python 3.11, bubblewrap (the grading sandbox) and this package with its
  dependencies (`pyproject.toml`, `README.md`, `autograder/`) into /autograder/venv;
- `run_autograder`: runs `python -m autograder.reporting.gradescope` (`run` below);
- `course/`: `nbgrader_config.py`, `source/header.ipynb` and `source/<assignment>/`: the instructor
  notebook with its solutions and hidden tests, which never leaves the autograder.

For each submission, `run` copies `course/` into a scratch folder, releases the assignment there
(nbgrader records its test cells in a fresh gradebook), puts the submitted notebook in
`submitted/<student>/<assignment>/`, grades it with `pipeline.grade` (sandboxed when bubblewrap
starts in the container; otherwise without it, said in the instructor's output) and writes
results.json from the recorded results (`exports.gradescope_results`): one test per graded test
cell with its points and the readable message. A submission that cannot be graded (no notebook,
another assignment's notebook, an unreadable file) gets 0 points and the reason.

The environment variable AUTOGRADER_GRADESCOPE_ROOT (default /autograder) moves the whole layout, so
that `run_autograder` can be tried locally; AUTOGRADER_PYTHON chooses the Python that runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT_VARIABLE = "AUTOGRADER_GRADESCOPE_ROOT"
STUDENT = "submission"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap util-linux
python3.11 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install /autograder/source/package
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write /autograder/results/results.json.
# AUTOGRADER_GRADESCOPE_ROOT moves /autograder (to try it locally); AUTOGRADER_PYTHON picks the Python.
set -uo pipefail
ROOT="${AUTOGRADER_GRADESCOPE_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export PATH="$(dirname "$PYTHON"):$PATH"
exec "$PYTHON" -m autograder.reporting.gradescope --root "$ROOT" --assignment "%(assignment)s"
"""


def build_zip(root: Path, assignment: str, output: Path | None = None) -> Path:
    """Write the autograder zip of `assignment` (default `exports/gradescope/<assignment>-autograder.zip`)."""
    import autograder

    folder = root / "source" / assignment
    if not (folder / f"{assignment}.ipynb").is_file():
        raise FileNotFoundError(f"no source/{assignment}/{assignment}.ipynb")
    target = output or root / "exports" / "gradescope" / f"{assignment}-autograder.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    package = Path(autograder.__file__).parent
    project = package.parent

    def executable(archive: zipfile.ZipFile, name: str, text: str) -> None:
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, text)

    def tree(archive: zipfile.ZipFile, source: Path, prefix: str) -> None:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                archive.write(path, f"{prefix}/{path.relative_to(source)}")

    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        executable(archive, "setup.sh", SETUP_SH)
        executable(archive, "run_autograder", RUN_AUTOGRADER % {"assignment": assignment})
        archive.write(root / "nbgrader_config.py", "course/nbgrader_config.py")
        if (root / "source" / "header.ipynb").is_file():
            archive.write(root / "source" / "header.ipynb", "course/source/header.ipynb")
        tree(archive, folder, f"course/source/{assignment}")
        for name in ("pyproject.toml", "README.md"):
            if (project / name).is_file():
                archive.write(project / name, f"package/{name}")
        tree(archive, package, "package/autograder")
    return target


def _submitted_notebook(submission: Path, assignment: str) -> Path | None:
    """The submitted notebook: `<assignment>.ipynb` anywhere in the submission, else its only notebook."""
    notebooks = sorted(p for p in submission.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    if named:
        return named[0]
    return notebooks[0] if len(notebooks) == 1 else None


def _write(results_folder: Path, document: dict) -> None:
    results_folder.mkdir(parents=True, exist_ok=True)
    (results_folder / "results.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def run(gradescope_root: Path, assignment: str) -> dict:
    """Grade the submission in `gradescope_root`/submission; write and return results.json's content."""
    from autograder.grading import pipeline, sandbox
    from autograder.grading.release import release
    from autograder.reporting import exports, results

    results_folder = gradescope_root / "results"
    notebook = _submitted_notebook(gradescope_root / "submission", assignment)
    if notebook is None:
        document = {
            "score": 0.0,
            "output": f"No notebook found: submit {assignment}.ipynb (the assignment's notebook, with your answers).",
            "visibility": "visible",
            "tests": [],
        }
        _write(results_folder, document)
        return document
    scratch = Path(tempfile.mkdtemp(prefix="autograder-gradescope-"))
    try:
        course = scratch / "course"
        shutil.copytree(gradescope_root / "source" / "course", course)
        release(course, [assignment])
        target = course / "submitted" / STUDENT / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(notebook, target)
        try:
            sandbox.probe()
            use_sandbox = True
        except sandbox.SandboxUnavailable as error:
            print(f"WARNING: grading without the sandbox: {error}")
            use_sandbox = False
        reports = pipeline.grade(course, assignment, jobs=1, use_sandbox=use_sandbox, feedback=False, progress=False)
        for report in reports:
            print(f"{report.student}: {report.status} {'; '.join(report.notes)}")
        recorded = results.load(course, assignment)
        if not recorded:
            raise RuntimeError("the pipeline recorded no result")
        document = exports.gradescope_results(recorded[0])
        if recorded[0].status != "graded":
            document["score"] = 0.0  # nothing of a flagged or failed submission counts here (no earlier grade)
            document["tests"] = []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _write(results_folder, document)
    return document


def main(argv: list[str] | None = None) -> int:
    """`run_autograder`'s entry point."""
    parser = argparse.ArgumentParser(description="Grade a Gradescope submission with the course's pipeline.")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_VARIABLE, "/autograder")))
    parser.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    document = run(args.root, args.assignment)
    passed = sum(t["status"] == "passed" for t in document["tests"])
    print(f"score {document['score']:g}; {passed} of {len(document['tests'])} tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
