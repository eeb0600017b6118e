"""Kernels started ahead (`execution.KernelPool`): faster, never shared, never left running.

Each worker starts the next student's kernel while the current notebook runs. These tests check that
the kernel a student gets is fresh (its own process, its own folder, nothing of the previous student's
files or names), has imported the warm-up modules before any student code, and that no kernel is left
behind when a run ends or is interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grading import execution, sandbox, submissions
from autograder.grading.release import release
from tests.conftest import copy_course
from tests.test_pipeline import _wait_for

ASSIGNMENT = "01_numerical"

try:
    sandbox.probe()
    SANDBOX = True
except sandbox.SandboxUnavailable:
    SANDBOX = False


def _task(student: str, code: str, files: dict[str, bytes], more: bool) -> execution.Task:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return execution.Task(
        student,
        "pool",
        "pool",
        nbformat.writes(notebook),
        files,
        cell_timeout=60,
        use_sandbox=SANDBOX,
        warmup=("numpy",),
        more=more,
    )


def _printed(result: execution.Result) -> str:
    notebook = nbformat.reads(result.notebook_json, as_version=4)
    return "".join(o.get("text", "") for o in notebook.cells[0].outputs)


def test_the_next_student_gets_a_fresh_kernel_started_ahead():
    pool = execution.kernel_pool()
    first = _task(
        "alice",
        "import os, sys\nsecret = 'alice'\nopen('left-behind.txt', 'w').write(secret)\n"
        "print('numpy' in sys.modules, sorted(os.listdir('.')), os.getcwd())",
        {"data.txt": b"alice's data"},
        more=True,
    )
    printed = _printed(execution.execute(first))
    # warm (numpy imported before the student's code), in a folder with the student's own files
    assert printed.startswith("True ['data.txt', 'left-behind.txt']"), printed
    alice_folder = printed.split()[-1]
    ahead = pool.ahead
    assert ahead is not None, "the next student's kernel was started while alice's notebook ran"
    assert ahead.scratch != Path(alice_folder).parent and not Path(alice_folder).exists()
    second = _task(
        "bob",
        "import os, sys\nprint('numpy' in sys.modules, 'secret' in globals(), sorted(os.listdir('.')), "
        "open('data.txt').read(), os.getcwd())",
        {"data.txt": b"bob's data"},
        more=False,
    )
    printed = _printed(execution.execute(second))
    assert printed.startswith("True False ['data.txt'] bob's data"), printed
    assert printed.split()[-1] == str(ahead.scratch / "work")
    assert pool.ahead is None, "no kernel is started ahead for the last task"
    assert not ahead.scratch.exists(), "a student's folder is removed after their notebook"


def _kernels_under(folder: Path) -> list[str]:
    """Command lines of running processes that use a scratch folder under `folder` (kernels, bwrap, fork
    servers and the kernels they forked, whose command line is their server's, and the kernels' launchers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in command and any(word in command for word in ("ipykernel", "bwrap", "fork_server")):
            found.append(f"{entry.name}: {command[:160]}")
    return found


@pytest.fixture
def small_class(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = copy_course(tmp_path / "course")
    release(root, [ASSIGNMENT])
    released, source = submissions.load_pair(root, ASSIGNMENT)
    for number in range(5):
        submissions.write(root, ASSIGNMENT, f"student-{number}", submissions.fill(released, source))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    environment = {**os.environ, "TMPDIR": str(scratch), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return root, environment


def _command() -> list[str]:
    command = [sys.executable, "-m", "autograder.cli", "grade", ASSIGNMENT, "--jobs", "2", "--no-feedback"]
    return command if SANDBOX else [*command, "--no-sandbox"]


def test_no_kernel_is_left_running_after_a_run(small_class):
    root, environment = small_class
    scratch = Path(environment["TMPDIR"])
    done = subprocess.run(_command(), cwd=root, env=environment, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _wait_for(lambda: not _kernels_under(scratch), 20), _kernels_under(scratch)
    assert not list(scratch.glob("autograder-run-*")), "every kernel's scratch folder is removed"
    assert not list(scratch.glob("autograder-kernels-*")), "every fork server's folder is removed"


def test_no_kernel_is_left_running_after_ctrl_c(small_class):
    root, environment = small_class
    scratch = Path(environment["TMPDIR"])
    run = subprocess.Popen(
        _command(),
        cwd=root,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        # two workers, each with a kernel running and one started ahead: interrupt in the middle of that
        assert _wait_for(lambda: len([k for k in _kernels_under(scratch) if "ipykernel" in k]) >= 3, 300)
    finally:
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        try:
            run.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(30)
            pytest.fail("`autograder grade` did not stop within 120 s of Ctrl-C")
    assert _wait_for(lambda: not _kernels_under(scratch), 30), _kernels_under(scratch)


def test_display_only_cells_are_not_run_and_say_so():
    demo = nbformat.v4.new_code_cell("open('ran.txt', 'w').write('x')\nprint('demo ran')")
    demo.metadata["nbgrader"] = {"grade_id": "demo", "locked": True, "grade": False, "solution": False}
    answer = nbformat.v4.new_code_cell("import os\nprint('answer ran', os.path.exists('ran.txt'))")
    answer.metadata["nbgrader"] = {"grade_id": "demo", "solution": True, "grade": False}  # same id: still runs
    notebook = nbformat.v4.new_notebook(cells=[demo, answer])
    task = execution.Task(
        "carol", "pool", "pool", nbformat.writes(notebook), {}, 60, SANDBOX, warmup=("numpy",), skip=("demo",)
    )
    cells = nbformat.reads(execution.execute(task).notebook_json, as_version=4).cells
    assert [o.get("text") for o in cells[0].outputs] == [execution.SKIPPED_NOTE]
    assert "answer ran False" in "".join(o.get("text", "") for o in cells[1].outputs), "an answer cell always runs"
