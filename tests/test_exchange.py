"""The JupyterHub workflow, end to end, with nbgrader's exchange in a local folder and no JupyterHub.

Instructor: `autograder release` (nbgrader generate_assignment), `nbgrader release_assignment`.
Two students, each with their own home folder (HOME, so each has their own nbgrader cache) and
`--student` (on a hub it is the login name): `nbgrader fetch_assignment`, answer, `nbgrader submit`.
Instructor: `nbgrader collect`, `autograder grade` (the pipeline writes feedback/), `nbgrader
release_feedback`. Students: `nbgrader fetch_feedback`, which finds the pipeline's feedback by the
hash of their submission's secret. Alice submits the reference, Bob a named mistake: Bob's
feedback names it and shows no hidden test code; both see their points.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.feedback import diagnoses_in
from autograder.grading import submissions
from autograder.grading.release import release
from tests.conftest import CELL_TIMEOUT, copy_course, sandboxed
from tests.units.numerical import UNIT

ASSIGNMENT = UNIT.assignment
COURSE_ID = "computational-differentiation"  # c.CourseDirectory.course_id in nbgrader_config.py
MUTANT = "gradient_check_forward_difference"
BIN = Path(sys.executable).parent


def command(args: list[str], cwd: Path, home: Path | None = None) -> str:
    """Run a command as the instructor (in the course) or as a student (in `home`); its output."""
    environment = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    if home is not None:
        environment["HOME"] = str(home)
        environment.pop("JUPYTER_DATA_DIR", None)
    run = subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, (args, run.stdout, run.stderr)
    return run.stdout + run.stderr


def test_release_fetch_submit_collect_grade_release_feedback_fetch_feedback(tmp_path):
    course = copy_course(tmp_path / "course")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange_option = f"--Exchange.root={exchange}"
    release(course, [ASSIGNMENT])
    command([str(BIN / "nbgrader"), "release_assignment", ASSIGNMENT, exchange_option], course)

    released, source = submissions.load_pair(course, ASSIGNMENT)
    answers = {
        "alice": submissions.fill(released, source),
        "bob": submissions.fill(
            released,
            source,
            replaced={UNIT.mutants[MUTANT].cell: UNIT.mutants[MUTANT].code(source)},
            solved=set(submissions.solution_cells(source)) - {UNIT.mutants[MUTANT].cell},
        ),
    }
    student_options = [f"--course={COURSE_ID}", exchange_option]
    for student, notebook in answers.items():
        home = tmp_path / "home" / student
        home.mkdir(parents=True)
        command([str(BIN / "nbgrader"), "fetch_assignment", ASSIGNMENT, *student_options], home, home)
        fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert fetched.is_file()
        nbformat.write(notebook, fetched)
        command([str(BIN / "nbgrader"), "submit", ASSIGNMENT, f"--student={student}", *student_options], home, home)

    command([str(BIN / "nbgrader"), "collect", ASSIGNMENT, exchange_option], course)
    for student in answers:
        assert (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").is_file()

    grade = [str(BIN / "autograder"), "grade", ASSIGNMENT, "--jobs", "1"]
    if not sandboxed():
        grade.append("--no-sandbox")
    (course / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text() + f"\nc.Execute.timeout = {CELL_TIMEOUT}\n"
    )
    printed = command(grade, course)
    assert "2 graded" in printed, printed
    for student in answers:
        for name in ("timestamp.txt", "submission_secret.txt", f"{ASSIGNMENT}.html"):
            assert (course / "feedback" / student / ASSIGNMENT / name).is_file(), (student, name)

    command([str(BIN / "nbgrader"), "release_feedback", ASSIGNMENT, exchange_option], course)
    assert len(list((exchange / COURSE_ID / "feedback").glob("*.html"))) == 2

    pages = {}
    for student in answers:
        home = tmp_path / "home" / student
        command(
            [str(BIN / "nbgrader"), "fetch_feedback", ASSIGNMENT, f"--student={student}", *student_options], home, home
        )
        found = list((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert len(found) == 1, (student, found)
        pages[student] = found[0].read_text()
    assert pages["alice"] != pages["bob"]
    alice_score = re.search(r"Score: ([\d.]+) / ([\d.]+)", pages["alice"])
    bob_score = re.search(r"Score: ([\d.]+) / ([\d.]+)", pages["bob"])
    assert alice_score and float(alice_score.group(1)) == float(alice_score.group(2)) == 100
    assert bob_score and float(bob_score.group(1)) < 100
    text = " ".join(re.sub(r"<[^>]+>", " ", pages["bob"]).split())
    assert UNIT.mutants[MUTANT].diagnoses[0] in diagnoses_in(html.unescape(text))
    assert "BEGIN HIDDEN TESTS" not in pages["bob"]
    hidden = [line.strip() for line in source_hidden_lines(source) if len(line.strip()) > 25]
    assert hidden and not [line for line in hidden if line in pages["bob"]]


def source_hidden_lines(source: nbformat.NotebookNode) -> list[str]:
    """The code lines between BEGIN and END HIDDEN TESTS in the source notebook."""
    lines, inside = [], False
    for cell in source.cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#"):
                lines.append(line)
    return lines
