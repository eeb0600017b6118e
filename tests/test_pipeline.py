"""The instructor's grading pipeline on bad input: each bad submission is graded or flagged on its own,
the rest of the class is graded normally, and the gradebook, source/ and other students' work stay intact.

One course with unit 01 and a class of bad submissions is graded once (four workers, sandboxed when
the machine allows it); the tests read the gradebook, the run's reports and the files afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.grading import gradebook_table, grades_csv, pipeline, sandbox, submissions, worker_grading
from autograder.grading.course import db_url
from autograder.grading.release import release
from tests.conftest import CELL_TIMEOUT, copy_course

ASSIGNMENT = "01_numerical"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

try:
    sandbox.probe()
    SANDBOX, NO_SANDBOX_REASON = True, ""
except sandbox.SandboxUnavailable as error:
    SANDBOX, NO_SANDBOX_REASON = False, str(error)

needs_sandbox = pytest.mark.skipif(not SANDBOX, reason=f"grading sandbox unavailable: {NO_SANDBOX_REASON}")

# Code appended to the reference solution of one cell (the `differences_code` cell defines
# forward_difference and central_difference; numerical_gradient_code defines numerical_gradient).
AFTER_GRADIENT = "numerical_gradient_code"
DELETED = "relative_error"
LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


def _with_code(released, source, cell: str, code: str) -> nbformat.NotebookNode:
    notebook = submissions.fill(released, source)
    submissions.solution_cells(notebook)[cell].source += "\n" + code
    return notebook


def _test_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        c
        for c in notebook.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
    ]


@dataclass
class Graded:
    root: Path
    rows: dict[str, gradebook_table.Row]
    reports: dict[str, pipeline.Report]
    source_hash: str


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _class(root: Path) -> dict[str, nbformat.NotebookNode | bytes]:
    released, source = submissions.load_pair(root, ASSIGNMENT)
    other_released = nbformat.read(root / "release" / "02_symbolic" / "02_symbolic.ipynb", as_version=4)
    reference = submissions.fill(released, source)

    deleted = submissions.fill(released, source)
    deleted.cells = [
        c for c in deleted.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "relative_error"
    ]

    edited = submissions.fill(released, source)
    for cell in _test_cells(edited):
        if cell.metadata["nbgrader"]["grade_id"] == "central_difference":
            cell.source = "assert True"
    edited_wrong = submissions.fill(released, source)
    for cell in submissions.solution_cells(edited_wrong).values():
        cell.source = cell.source.replace("(2 * h)", "h")
    for cell in _test_cells(edited_wrong):
        cell.source = "pass"

    duplicated = submissions.fill(released, source)
    first_test = _test_cells(duplicated)[0]
    duplicated.cells.insert(duplicated.cells.index(first_test), nbformat.from_dict(first_test))

    reordered = submissions.fill(released, source)
    moved = _test_cells(reordered)[0]
    reordered.cells.remove(moved)
    reordered.cells.append(moved)

    retyped = submissions.fill(released, source)
    for cell in _test_cells(retyped)[:2]:
        cell.cell_type = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)

    renamed = submissions.fill(released, source)
    _test_cells(renamed)[0].metadata["nbgrader"]["grade_id"] = "my_own_test"

    gradebook = root / "gradebook.db"
    source_notebook = root / "source" / ASSIGNMENT / NOTEBOOK
    snoop = f"""
import os
for path in [{str(gradebook)!r}, {str(source_notebook)!r}, "../../../gradebook.db", {str(root / "submitted")!r}]:
    try:
        with open(path, "r+b") as handle:
            handle.write(b"overwritten by a student")
    except OSError:
        pass
    try:
        os.remove(path)
    except OSError:
        pass
def forward_difference(f, x, h=1e-6):
    return 0.0
"""
    return {
        "reference": reference,
        "malformed-json": b'{"cells": [ {"cell_type": "code", ',
        "empty-file": b"",
        "other-assignment": other_released,
        "deleted-test-cell": deleted,
        "edited-test-cell": edited,
        "edited-tests-wrong-answers": edited_wrong,
        "duplicated-test-cell": duplicated,
        "reordered-test-cells": reordered,
        "changed-cell-type": retyped,
        "changed-grade-id": renamed,
        "os-exit": _with_code(released, source, AFTER_GRADIENT, "import os\nos._exit(1)"),
        "sys-exit": _with_code(released, source, AFTER_GRADIENT, "import sys\nsys.exit(0)"),
        "sigint-proof-loop": _with_code(
            released,
            source,
            AFTER_GRADIENT,
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        ),
        "memory-bomb": _with_code(released, source, AFTER_GRADIENT, "hog = bytearray(16 * 1024**3)"),
        "fork-loop": _with_code(released, source, AFTER_GRADIENT, "import os\nwhile True:\n    os.fork()"),
        "megabytes-of-output": _with_code(released, source, AFTER_GRADIENT, "print('x' * 20_000_000)"),
        "stderr-warnings": _with_code(
            released,
            source,
            AFTER_GRADIENT,
            "import sys, warnings\nwarnings.warn('a warning')\nprint('noise', file=sys.stderr)\n"
            "sys.stderr = sys.stdout",
        ),
        "builtins-and-stderr-tamper": _with_code(
            released,
            source,
            "differences_code",
            "import builtins, sys, io\nbuiltins.abs = lambda v: 0\nsys.stderr = io.StringIO()\n"
            "def forward_difference(f, x, h=1e-6):\n    return 0.0",
        ),
        "reads-gradebook-and-source": _with_code(released, source, "differences_code", snoop),
    }


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = copy_course(tmp_path_factory.mktemp("pipeline") / "course")
    release(root, [ASSIGNMENT, "02_symbolic"])
    for student, content in _class(root).items():
        if isinstance(content, bytes):
            folder = root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            (folder / NOTEBOOK).write_bytes(content)
        else:
            submissions.write(root, ASSIGNMENT, student, content)
    source_hash = _hash(root / "source" / ASSIGNMENT / NOTEBOOK)
    reports = pipeline.grade(root, ASSIGNMENT, jobs=4, use_sandbox=SANDBOX, cell_timeout=CELL_TIMEOUT, progress=False)
    _, rows = gradebook_table.read(db_url(root), ASSIGNMENT)
    return Graded(root, {r.student: r for r in rows}, {r.student: r for r in reports}, source_hash)


def _total(graded: Graded, student: str) -> float | None:
    return graded.rows[student].total


def test_reference_is_graded_normally_beside_bad_submissions(graded_class):
    assert _total(graded_class, "reference") == 100
    assert graded_class.reports["reference"].notes == []


@pytest.mark.parametrize("student", ["malformed-json", "empty-file"])
def test_unreadable_notebook_is_flagged_with_the_reason_and_not_graded(graded_class, student):
    report = graded_class.reports[student]
    assert report.status == "flagged"
    assert "empty file" in report.notes[0] or "not a readable notebook" in report.notes[0], report.notes
    assert student not in graded_class.rows


def test_notebook_of_another_assignment_is_flagged_and_named(graded_class):
    report = graded_class.reports["other-assignment"]
    assert report.status == "flagged" and "02_symbolic" in report.notes[0], report
    assert "other-assignment" not in graded_class.rows


def test_deleted_or_renamed_test_cell_is_put_back_and_scores_zero(graded_class):
    scores = graded_class.rows["deleted-test-cell"].scores
    assert scores["relative_error"] == 0 and _total(graded_class, "deleted-test-cell") == 92
    renamed = graded_class.rows["changed-grade-id"].scores
    assert renamed["forward_difference"] == 0 and _total(graded_class, "changed-grade-id") == 92
    assert any("relative_error" in note for note in graded_class.reports["deleted-test-cell"].notes)
    feedback = graded_class.root / "feedback" / "deleted-test-cell" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert worker_grading.DELETED_MESSAGE.split(".")[0] in feedback.read_text()


def test_edited_duplicated_reordered_or_retyped_test_cells_are_restored(graded_class):
    assert _total(graded_class, "edited-test-cell") == 100
    assert _total(graded_class, "reordered-test-cells") == 100
    assert _total(graded_class, "duplicated-test-cell") == 100
    assert _total(graded_class, "changed-cell-type") == 100
    assert graded_class.rows["edited-tests-wrong-answers"].scores["central_difference"] == 0


@pytest.mark.parametrize("student", ["os-exit", "sys-exit", "sigint-proof-loop", "memory-bomb", "fork-loop"])
def test_a_crash_or_hang_costs_only_the_cells_that_need_it(graded_class, student):
    """The code runs at the end of the numerical_gradient cell: cells before it keep their points."""
    scores = graded_class.rows[student].scores
    for cell in ("forward_difference", "central_difference"):
        assert scores[cell] > 0, (student, scores)
    assert scores["complex_step"] > 0 and scores["step_size_errors"] > 0, scores
    if student in ("os-exit", "sigint-proof-loop"):  # the others are ordinary exceptions in that cell
        assert graded_class.reports[student].notes, "the instructor is told what happened"


@needs_sandbox
def test_sandbox_reports_the_kill_reasons(graded_class):
    assert any("died" in n for n in graded_class.reports["os-exit"].notes)
    assert any("did not finish" in n for n in graded_class.reports["sigint-proof-loop"].notes)


def test_output_flood_and_stderr_do_not_cost_points(graded_class):
    assert _total(graded_class, "megabytes-of-output") == 100
    assert _total(graded_class, "stderr-warnings") == 100


def test_tampering_gains_nothing(graded_class):
    assert graded_class.rows["builtins-and-stderr-tamper"].scores["forward_difference"] == 0
    assert graded_class.rows["reads-gradebook-and-source"].scores["forward_difference"] == 0


@needs_sandbox
def test_student_code_cannot_touch_the_gradebook_or_source(graded_class):
    assert _hash(graded_class.root / "source" / ASSIGNMENT / NOTEBOOK) == graded_class.source_hash
    _, rows = gradebook_table.read(db_url(graded_class.root), ASSIGNMENT)
    assert {r.student: r.total for r in rows}["reference"] == 100
    assert (graded_class.root / "submitted" / "reference" / ASSIGNMENT / NOTEBOOK).exists()


def test_grades_csv_has_one_row_per_student_and_a_column_per_exercise(graded_class):
    path = grades_csv.write(graded_class.root, [ASSIGNMENT])
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[0] == "student" and header[-1] == "total" and f"{ASSIGNMENT}/best_step" in header
    rows = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    assert rows["reference"][-1] == "100"


def test_unchanged_submissions_are_not_regraded_and_a_second_run_is_refused(graded_class):
    root = graded_class.root
    with pipeline.exclusive(root), pytest.raises(pipeline.GradingBusy):
        pipeline.grade(root, ASSIGNMENT, jobs=1, use_sandbox=SANDBOX, progress=False)
    reports = pipeline.grade(root, ASSIGNMENT, jobs=1, use_sandbox=SANDBOX, progress=False)
    assert {r.status for r in reports} <= {"unchanged", "flagged"}, [(r.student, r.status) for r in reports]


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_interrupted_run_keeps_every_grade_and_the_next_run_finishes(graded_class):
    root = graded_class.root
    released, source = submissions.load_pair(root, ASSIGNMENT)
    late = [f"late-{i}" for i in range(3)]
    for student in late:
        submissions.write(root, ASSIGNMENT, student, submissions.fill(released, source))
    before = {s: r.total for s, r in graded_class.rows.items()}
    command = [sys.executable, "-m", "autograder.cli", "grade", ASSIGNMENT, "--jobs", "1", "--no-feedback"]
    if not SANDBOX:
        command.append("--no-sandbox")
    state = root / "autograded" / pipeline.STATE_FILE
    graded_before = len(pipeline._state(root))
    run = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: state.exists() and len(pipeline._state(root)) > graded_before, 120)
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    _, rows = gradebook_table.read(db_url(root), ASSIGNMENT)
    after = {r.student: r.total for r in rows}
    assert all(after[s] == 100 for s in late), after
    assert all(after[s] == total for s, total in before.items()), "an earlier grade changed"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(shutil.which("dask", path=os.path.dirname(sys.executable)) is None, reason="dask CLI not installed")
def test_grading_on_a_dask_cluster_gives_the_same_grades(tmp_path):
    root = copy_course(tmp_path / "course")
    release(root, [ASSIGNMENT])
    released, source = submissions.load_pair(root, ASSIGNMENT)
    half = list(submissions.solution_cells(source))[:3]
    submissions.write(root, ASSIGNMENT, "reference", submissions.fill(released, source))
    submissions.write(root, ASSIGNMENT, "half-done", submissions.fill(released, source, half))
    submissions.write(root, ASSIGNMENT, "untouched", submissions.fill(released, source, []))
    port = _free_port()
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    processes = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    try:
        for _ in range(2):
            processes.append(
                subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny"], **quiet)
            )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        reports = pipeline.grade(
            root, ASSIGNMENT, scheduler=address, use_sandbox=SANDBOX, cell_timeout=CELL_TIMEOUT, progress=False
        )
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # a worker busy shutting down: it holds no state we need
                process.kill()
                process.wait(10)
    assert all(r.status == "graded" for r in reports), reports
    _, rows = gradebook_table.read(db_url(root), ASSIGNMENT)
    totals = {r.student: r.total for r in rows}
    assert totals["reference"] == 100 and totals["untouched"] == 0 and 0 < totals["half-done"] < 100
