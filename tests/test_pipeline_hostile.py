"""Issue 14: a class with hostile and unlucky submissions, graded once, beside correct ones.

One course with unit 01 (the cheapest) and a class of: correct notebooks; a kernel that attacks the
record file and plants links in its folder; one that makes every cell slow (a `pre_run_cell` hook)
until its time bound stops it; notebooks saved by other editors (nbgrader metadata removed, cell ids
renumbered, both) and one with nothing left to recognise; an empty file; and three students whose
code prints the hidden tests (input history, the caller's frame and `linecache`, a stash printed
later, HTML and image outputs, a file, an exception, a returned value). The class is graded by
`pipeline.grade` with a short time bound; the tests read the reports, the gradebook, grades.csv,
the feedback folder and what the progress display printed.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.grading import (
    execution,
    feedback_guard,
    grade_command,
    gradebook_table,
    grades_csv,
    pipeline,
    progress,
    recovery,
    sandbox,
    submissions,
)
from autograder.grading.course import db_url
from autograder.grading.release import release
from tests.conftest import CELL_TIMEOUT, copy_course

ASSIGNMENT = "01_numerical"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
TIME_BOUND = 45.0  # seconds per notebook for this class (the default bound, from the cell limit, is minutes)
JOBS = 3
NBGRADER_SECONDS = 30.0  # a generous allowance per submission for nbgrader's steps on a loaded machine

try:
    sandbox.probe()
    SANDBOX = True
except sandbox.SandboxUnavailable:
    SANDBOX = False

CORRECT = ["reference", "renumbered-ids", "no-nbgrader-metadata", "metadata-and-ids-rewritten"]
LEAKER = "prints-hidden-tests"  # history and a stash printed later, frames and linecache, HTML and images, ...

RECORD_FILE_ATTACK = """
import os
_records = os.environ.get("AUTOGRADER_RECORDS", "")
ATTEMPTS = []
for _kind in ("fifo", "dev-zero", "root-file", "directory"):
    _new = _records + "." + _kind
    try:
        if _kind == "fifo":
            os.mkfifo(_new)
        elif _kind == "dev-zero":
            os.symlink("/dev/zero", _new)
        elif _kind == "root-file":
            os.symlink({target!r}, _new)
        else:
            os.mkdir(_new)
        os.replace(_new, _records)
        ATTEMPTS.append(_kind)
    except OSError as error:
        ATTEMPTS.append(f"{{_kind}}: {{error}}")
try:
    with open(_records, "a") as _sink:  # 72 MB of garbage: more than the grader reads back
        _sink.write("x" * (72 * 1024**2))
except OSError:
    pass
"""

PLANT_AND_CRASH = """
import os
for _name, _make in [("link-to-root-file", lambda p: os.symlink({target!r}, p)),
                     ("link-to-root", lambda p: os.symlink("/", p)),
                     ("a-fifo", os.mkfifo)]:
    try:
        _make(_name)
    except OSError:
        pass
os._exit(1)
"""

SLOW_EVERY_CELL = f"""
import time
from IPython import get_ipython
get_ipython().events.register("pre_run_cell", lambda *args: time.sleep({0.3 * CELL_TIMEOUT}))
"""

LEAK_HISTORY = """
from IPython import get_ipython
STASH = []
_forward = forward_difference
def forward_difference(f, x, h=1e-6):
    running = get_ipython().user_ns["In"][-1]  # the test cell being run, hidden block included
    if "BEGIN " + "HIDDEN" in running and running not in STASH:
        STASH.append(running)
        print(running)
        print(get_ipython().user_ns["_ih"][-1].encode().hex())
    return _forward(f, x, h)
"""
LEAK_LATER = 'print("\\n".join(STASH))'

LEAK_FRAME = """
import base64, inspect, io, linecache
from IPython.display import HTML, Image, display
_central = central_difference
SHOWN = []
def central_difference(f, x, h=1e-5):
    for info in inspect.stack(0) if not SHOWN else []:  # once: walking frames and drawing figures is slow
        text = "".join(linecache.getlines(info.filename))
        if "BEGIN " + "HIDDEN" in text:  # the test cell's frame
            SHOWN.append(text)
            print(text)
            print(info.frame.f_code.co_consts)
            display(HTML("<pre>" + text + "</pre>"))
            display({"text/plain": text, "image/svg+xml": "<svg>" + "<text>" + text + "</text></svg>"}, raw=True)
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            figure = plt.figure()
            figure.text(0, 0.5, text[-300:], fontsize=4)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            plt.close(figure)
            display(Image(buffer.getvalue()), metadata={"leak": text})
            break
    return _central(f, x, h)
"""

LEAK_FILE_ERROR_VALUE = """
import os
from IPython import get_ipython

class Leak(BaseException):
    pass

def _running():
    return get_ipython().user_ns["In"][-1]

_relative = relative_error
def relative_error(a, b):
    text = _running()
    for folder in (".", os.environ.get("HOME", ".")):
        with open(os.path.join(folder, "leak.txt"), "w") as handle:
            handle.write(text)
    raise Leak(text[text.index("BEGIN HIDDEN"):])  # a BaseException: the kernel's own error in the test cell

def gradient_check(f, grad_f, x, h=1e-5):
    text = _running()
    return text[text.index("BEGIN HIDDEN") + 20:]  # a string where a verdict is expected: the judge says what it got
"""


def hidden_lines(source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> set[str]:
    """Stripped lines of the source's hidden test blocks that students never see (release.secret_lines-style)."""
    visible = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
    found = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 8 and not line.strip().startswith("#"):
                found.add(line.strip())
    return found - visible


def _with_code(released, source, cell: str, code: str, later: str | None = None) -> nbformat.NotebookNode:
    notebook = submissions.fill(released, source)
    submissions.solution_cells(notebook)[cell].source += "\n" + code
    if later:
        notebook.cells.append(nbformat.v4.new_code_cell(later))
    return notebook


def _without_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What VS Code or Colab may save: every cell's nbgrader metadata gone."""
    notebook = nbformat.from_dict(notebook)
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    return notebook


def _renumbered(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What another editor may save: cell ids rewritten."""
    notebook = nbformat.from_dict(notebook)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"vscode-{index:03d}"
    return notebook


@dataclass
class Graded:
    root: Path
    rows: dict[str, gradebook_table.Row]
    reports: dict[str, pipeline.Report]
    seconds: float
    progress: str
    secret: set[str]
    target: Path


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = copy_course(tmp_path_factory.mktemp("hostile") / "course")
    release(root, [ASSIGNMENT])
    released, source = submissions.load_pair(root, ASSIGNMENT)
    target = root / "root-only.txt"  # a file only the grader's user may read: the kernel must not reach it
    target.write_text("the grader's own file\n")
    target.chmod(0o600)
    solved = submissions.fill(released, source)
    stripped_and_renumbered = _renumbered(_without_metadata(solved))
    stripped_and_renumbered.cells[3].source += "\n\nSome notes of mine."  # content matching is not exact matching
    hostile_files = _with_code(released, source, "step_size_code", RECORD_FILE_ATTACK.format(target=str(target)))
    submissions.solution_cells(hostile_files)["numerical_gradient_code"].source += "\n" + PLANT_AND_CRASH.format(
        target=str(target)
    )
    leaker = _with_code(released, source, "differences_code", LEAK_HISTORY + LEAK_FRAME, later=LEAK_LATER)
    submissions.solution_cells(leaker)["gradient_check_code"].source += "\n" + LEAK_FILE_ERROR_VALUE
    unrecognisable = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("My notes"), nbformat.v4.new_code_cell("print('hello')")]
    )
    students = {
        "reference": solved,
        "attacks-its-files": hostile_files,
        "slow-every-cell": _with_code(released, source, "differences_code", SLOW_EVERY_CELL),
        "no-nbgrader-metadata": _without_metadata(solved),
        "renumbered-ids": _renumbered(solved),
        "metadata-and-ids-rewritten": stripped_and_renumbered,
        "unrecognisable": unrecognisable,
        LEAKER: leaker,
    }
    for student, notebook in students.items():
        submissions.write(root, ASSIGNMENT, student, notebook)
    empty = root / "submitted" / "empty-file" / ASSIGNMENT
    empty.mkdir(parents=True)
    (empty / NOTEBOOK).write_bytes(b"")

    shown = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stderr(shown):
        reports = pipeline.grade(
            root, ASSIGNMENT, jobs=JOBS, use_sandbox=SANDBOX, cell_timeout=CELL_TIMEOUT, time_bound=TIME_BOUND
        )
    seconds = time.perf_counter() - began
    print(f"\nhostile class graded in {seconds:.0f} s:", {r.student: round(r.seconds) for r in reports})
    _, rows = gradebook_table.read(db_url(root), ASSIGNMENT)
    return Graded(
        root,
        {r.student: r for r in rows},
        {r.student: r for r in reports},
        seconds,
        shown.getvalue(),
        hidden_lines(source, released),
        target,
    )


def test_correct_submissions_keep_full_marks_and_the_class_finishes_within_its_bound(hostile_class):
    for student in CORRECT:
        assert hostile_class.rows[student].total == 100, (student, hostile_class.reports[student])
    executed = sum(r.status == "graded" for r in hostile_class.reports.values())
    # Every notebook's bound, JOBS at a time, and nbgrader's own steps (sanitize, record, feedback: serial here).
    bound = TIME_BOUND * -(-executed // JOBS) + NBGRADER_SECONDS * len(hostile_class.reports)
    assert hostile_class.seconds < bound, (hostile_class.seconds, bound)


# 1. One submission must not stop the class.


def test_read_untrusted_refuses_what_is_not_a_regular_file(tmp_path):
    regular = tmp_path / "records.jsonl"
    regular.write_text('{"cell": "a"}\n')
    assert execution.read_untrusted(regular, 100) == (b'{"cell": "a"}\n', None)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened for reading with no writer: a plain open() would block forever
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    folder = tmp_path / "folder"
    folder.mkdir()
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * 5000)
    assert execution.read_untrusted(fifo, 100) == (b"", "fifo was replaced by a FIFO")
    assert execution.read_untrusted(link, 100)[0] == b"" and "symbolic link" in execution.read_untrusted(link, 100)[1]
    assert execution.read_untrusted(folder, 100) == (b"", "folder was replaced by a directory")
    content, problem = execution.read_untrusted(huge, 1000)
    assert len(content) == 1000 and "cut at 1000 bytes" in problem


def test_a_record_file_attack_is_refused_and_the_submission_graded_from_its_records(hostile_class):
    scores = hostile_class.rows["attacks-its-files"].scores
    assert scores["forward_difference"] > 0 and scores["complex_step"] > 0, scores  # recorded before the attack
    if SANDBOX:  # the kernel cannot replace the file; its 72 MB of garbage are cut at the limit
        notes = hostile_class.reports["attacks-its-files"].notes
        assert any("record file was tampered with" in n and "cut at" in n for n in notes), notes


def test_links_planted_in_the_scratch_folder_are_never_followed(hostile_class):
    info = hostile_class.target.stat()
    assert info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == 0o600
    assert hostile_class.target.read_text() == "the grader's own file\n"
    report = hostile_class.reports["attacks-its-files"]
    assert any("died" in n for n in report.notes), report.notes  # os._exit after planting: a new kernel went on


def test_a_notebook_slower_than_its_time_bound_is_stopped_and_graded_from_what_it_recorded(hostile_class):
    report = hostile_class.reports["slow-every-cell"]
    assert report.stopped and report.status == "graded", report
    assert report.seconds < TIME_BOUND + 30, report.seconds
    assert any(f"stopped after {TIME_BOUND:.0f} s" in n for n in report.notes), report.notes
    scores = hostile_class.rows["slow-every-cell"].scores
    assert scores["forward_difference"] > 0, scores  # ran before the bound
    assert scores["best_step"] == 0, scores  # never reached


# 2. Notebooks saved by another editor.


def test_notebooks_saved_by_other_editors_are_recovered_and_the_instructor_is_told(hostile_class):
    for student in ("no-nbgrader-metadata", "metadata-and-ids-rewritten"):
        notes = hostile_class.reports[student].notes
        assert any("had lost the assignment's cell metadata" in n and "restored on" in n for n in notes), notes
    assert "by cell id" in " ".join(hostile_class.reports["no-nbgrader-metadata"].notes)
    both = " ".join(hostile_class.reports["metadata-and-ids-rewritten"].notes)
    assert "by the names their code defines" in both and "by content" in both, both
    assert hostile_class.reports["renumbered-ids"].notes == []  # nothing to repair: nbgrader reads grade ids


def test_a_notebook_with_nothing_to_recognise_is_flagged_with_what_to_ask(hostile_class):
    report = hostile_class.reports["unrecognisable"]
    assert report.status == "flagged", report
    assert "none of the assignment's cells" in report.notes[0] and "ask the student" in report.notes[0]


def test_recovery_matches_by_position_between_recognised_cells(hostile_class):
    released, _ = submissions.load_pair(hostile_class.root, ASSIGNMENT)
    notebook = _renumbered(
        _without_metadata(submissions.fill(released, submissions.load_pair(hostile_class.root, ASSIGNMENT)[1]))
    )
    answer = next(i for i, c in enumerate(notebook.cells) if "def complex_step" in c.source)
    notebook.cells[answer].source = "# rewritten from scratch\nimport cmath\nanswer = cmath.pi"  # no known name
    found = recovery.recover(notebook, released)
    assert found.found["complex_step_code"] == "position"
    assert found.notebook.cells[answer].metadata["nbgrader"]["grade_id"] == "complex_step_code"


# 3. Every student in grades.csv.


def test_every_student_with_a_folder_has_a_row_in_grades_csv(hostile_class):
    path = grades_csv.write(hostile_class.root, [ASSIGNMENT])
    with open(path, newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(pipeline.students(hostile_class.root, ASSIGNMENT))
    for student in ("empty-file", "unrecognisable"):
        assert rows[student][f"{ASSIGNMENT}/total"] == "" and rows[student]["total"] == ""
        assert rows[student][f"{ASSIGNMENT}/status"].startswith("flagged: "), rows[student]
    assert "empty file" in rows["empty-file"][f"{ASSIGNMENT}/status"]
    assert rows["reference"][f"{ASSIGNMENT}/status"] == "graded" and rows["reference"]["total"] == "100"
    assert rows["slow-every-cell"][f"{ASSIGNMENT}/status"].startswith("graded: ")
    assert "stopped after" in rows["slow-every-cell"][f"{ASSIGNMENT}/status"]


# 4. Hidden tests never reach the feedback.


def _text_of(path: Path) -> str:
    raw = path.read_text(errors="replace")
    return raw + "\n" + html.unescape(re.sub(r"<[^>]+>", "", raw))


def _cells(graded: Graded, student: str, folder: str = "autograded") -> dict[str, nbformat.NotebookNode]:
    notebook = nbformat.read(graded.root / folder / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    named = {c.metadata.get("nbgrader", {}).get("grade_id", f"cell-{i}"): c for i, c in enumerate(notebook.cells)}
    named["last"] = notebook.cells[-1]
    return named


def test_the_attacks_did_read_the_hidden_tests(hostile_class):
    """Without this the next test could pass by accident: each way out got hidden lines into the autograded copy."""
    cells = _cells(hostile_class, LEAKER)

    def leaks(cell: str, kind: str = "") -> bool:
        outputs = [o for o in cells[cell].outputs if kind in str(o.get("data", {}).keys()) or not kind]
        return any(line in str(outputs) for line in hostile_class.secret)

    assert leaks("forward_difference"), "input history printed in the test cell"
    assert leaks("last"), "a stash printed by a later cell"
    assert leaks("central_difference", "text/html") and leaks("central_difference", "image/svg+xml"), "frames"
    assert any("image/png" in o.get("data", {}) for o in cells["central_difference"].outputs), "an image"
    # An exception and a returned value reach the test cell's message: redacted when judged (see below).
    assert "Leak" in str(cells["relative_error"].outputs), "an exception carrying the hidden block"
    assert "returned a str" in str(cells["gradient_check"].outputs), "a returned value shown by the judge"


def test_test_cell_messages_carry_no_hidden_line_even_in_the_instructors_copy(hostile_class):
    """Those messages leave the autograded copy (reports, Gradescope exports): redacted when judged."""
    cells = _cells(hostile_class, LEAKER)
    for name in ("relative_error", "gradient_check"):
        errors = [o for o in cells[name].outputs if o.output_type == "error"]
        assert errors and feedback_guard.REDACTED in errors[0].evalue, errors
        assert not [line for line in hostile_class.secret if line in str(errors)], errors


@pytest.mark.parametrize("student", [LEAKER, "reference"])
def test_no_hidden_line_reaches_the_feedback(hostile_class, student):
    folder = hostile_class.root / "feedback" / student / ASSIGNMENT
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [f"{ASSIGNMENT}.html"], files  # nothing from the scratch folder
    text = _text_of(files[0])
    leaked = sorted(line for line in hostile_class.secret if line in text)
    assert not leaked, leaked
    assert "BEGIN HIDDEN TESTS" not in text
    assert "data:image/png" not in text and "<svg><text>" not in text


def test_feedback_keeps_the_verdicts_and_says_why_outputs_are_missing(hostile_class):
    text = _text_of(hostile_class.root / "feedback" / LEAKER / ASSIGNMENT / f"{ASSIGNMENT}.html")
    assert "Leak" in text and feedback_guard.REDACTED in text
    assert "Output not shown in feedback" in text
    reference = _text_of(hostile_class.root / "feedback" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    assert "CheckFailure" not in reference and "forward_difference: visible tests passed" in reference


# 5. Long runs say more.


def test_progress_shows_what_is_still_running_and_the_summary_says_why(hostile_class):
    assert re.search(r"still running: .*slow-every-cell \d+ s", hostile_class.progress), hostile_class.progress
    lines = grade_command.slow_or_stopped(list(hostile_class.reports.values()))
    stopped = [line for line in lines if "slow-every-cell" in line]
    assert stopped and "stopped at its time bound" in stopped[0] and "slowest cells: cell" in stopped[0], lines
    crashed = [line for line in lines if "attacks-its-files" in line]
    assert crashed and "died" in crashed[0], lines
    print("\n".join(line for line in hostile_class.progress.splitlines() if "still running" in line))
    print("\n".join(lines))


def test_progress_bar_running_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = progress.ProgressBar(3, "grading", stream=stream)
    bar.running({"alice": 65.0, "bob": 3.0})
    assert "running: alice 65 s, bob 3 s" in stream.getvalue()
