"""Kernels forked by the fork server (`fork_server`): as isolated as a kernel started in bwrap.

Each test runs real kernels through `execution.execute` (the worker's code path) and asks them what
they see: their own pid namespace, user id, limits, no capabilities, no network, a fresh /tmp, only
their own scratch folder, no trace of the student before them (files, module attributes, the random
state), and no way to reach the server. The server itself refuses requests that are not a kernel's.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading import execution, fork_server, sandbox

try:
    sandbox.probe()
    SANDBOX = True
except sandbox.SandboxUnavailable:
    SANDBOX = False

WARMUP = ("numpy", "autograder.runtime")
pytestmark = pytest.mark.skipif(not SANDBOX, reason="the fork server needs the sandbox (root, bubblewrap)")


def _run(student: str, code: str, more: bool = True) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    task = execution.Task(student, "fork", "fork", nbformat.writes(notebook), {}, 60, True, warmup=WARMUP, more=more)
    result = execution.execute(task)
    outputs = nbformat.reads(result.notebook_json, as_version=4).cells[0].outputs
    return "".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in outputs)


def _report(code: str) -> dict:
    return json.loads(_run("reporter", code + "\nimport json\nprint(json.dumps(seen))").strip().splitlines()[-1])


@pytest.fixture(scope="module")
def server() -> fork_server.ForkServer:
    found = fork_server.server_for(WARMUP)
    assert found is not None, f"the fork server did not start: {fork_server.unavailable_reason()}"
    return found


LOOK = """
import os, resource, socket, sys, pathlib
status = dict(line.split(':', 1) for line in open('/proc/self/status'))
work = pathlib.Path.cwd()
seen = {
    'pid': os.getpid(), 'processes': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
    'uid': os.getuid(), 'euid': os.geteuid(), 'groups': os.getgroups(),
    'cap_eff': status['CapEff'].strip(), 'cap_bnd': status['CapBnd'].strip(),
    'no_new_privs': status['NoNewPrivs'].strip(),
    'memory': resource.getrlimit(resource.RLIMIT_AS)[0], 'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0],
    'siblings': sorted(os.listdir(work.parent.parent)), 'scratch': str(work.parent),
    'numpy_warm': 'numpy' in sys.modules,
}
try:
    socket.create_connection(('10.0.0.1', 80), timeout=1)
    seen['network'] = True
except OSError:
    seen['network'] = False
"""


def test_a_forked_kernel_is_sandboxed_like_a_bwrap_kernel(server):
    seen = _report(LOOK)
    assert Path(seen["scratch"]).parent == server.folder, "the kernel was forked by the server"
    assert seen["pid"] == 2 and seen["processes"] == [1, 2], "its own pid namespace: a reaper and the kernel"
    assert seen["uid"] == seen["euid"] >= sandbox.FIRST_UID and seen["groups"] == []
    assert seen["cap_eff"] == seen["cap_bnd"] == "0000000000000000" and seen["no_new_privs"] == "1"
    limits = sandbox.Limits()
    assert (seen["memory"], seen["nproc"]) == (limits.memory_bytes, limits.processes)
    assert seen["network"] is False
    assert seen["siblings"] == [Path(seen["scratch"]).name], "no other kernel's folder, no server socket"
    assert seen["numpy_warm"], "numpy was imported by the server, before any student code"


def test_nothing_of_the_student_before_is_left(server):
    first = _run(
        "alice",
        "import numpy, os\nnumpy.alice = 'secret'\nopen('/tmp/alice.txt', 'w').write('secret')\n"
        "os.environ['ALICE'] = '1'\nprint(numpy.random.rand())",
    )
    second = _run(
        "bob",
        "import numpy, os, pathlib\n"
        "print(hasattr(numpy, 'alice'), os.path.exists('/tmp/alice.txt'), 'ALICE' in os.environ)\n"
        "print(numpy.random.rand())",
    )
    lines = second.strip().splitlines()
    assert lines[0] == "False False False", second
    assert float(lines[1]) != float(first.strip()), "numpy's global generator is reseeded for every kernel"


def test_a_kernel_cannot_reach_the_server(server):
    seen = _report(
        f"import socket\nseen = {{}}\ns = socket.socket(socket.AF_UNIX)\n"
        f"try:\n    s.connect({str(server.socket)!r})\n    seen['connected'] = True\n"
        "except OSError as error:\n    seen['connected'] = error.strerror"
    )
    assert seen["connected"] is not True


def _ask(server: fork_server.ForkServer, request: dict) -> str:
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(str(server.socket))
        connection.sendall(json.dumps(request).encode() + b"\n")
        connection.settimeout(10)
        return connection.recv(4096).decode()


def test_the_server_refuses_what_is_not_a_kernel_request(server, tmp_path):
    scratch = server.scratch_folder()
    limits = {"memory_bytes": 1 << 30, "cpu_seconds": 10, "processes": 8, "file_bytes": 1 << 20}
    good = {"scratch": str(scratch), "cwd": str(scratch), "uid": sandbox.FIRST_UID, "limits": limits}
    good |= {"argv": [], "env": {}}
    assert _ask(server, {**good, "uid": 0}).startswith("error the user id")
    assert _ask(server, {**good, "scratch": str(tmp_path), "cwd": str(tmp_path)}).startswith("error")
    assert _ask(server, {**good, "cwd": "/"}).startswith("error")
    assert _ask(server, {"scratch": str(scratch)}).startswith("error malformed")


def test_a_killed_launcher_takes_its_kernel_with_it(server):
    pool = execution.kernel_pool()
    pool.close()
    kernel = execution.launch(True, sandbox.Limits(), WARMUP, pool.next_uid())
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _processes_of(kernel.uid):
            time.sleep(0.05)
        assert _processes_of(kernel.uid), "the kernel runs as its student's user"
        kernel.manager.provisioner.process.kill()  # what jupyter_client's shutdown(now=True) does
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _processes_of(kernel.uid):
            time.sleep(0.05)
        assert not _processes_of(kernel.uid), "the server killed the kernel of a launcher that died"
    finally:
        kernel.discard()


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_kernels_start_the_usual_way_when_the_server_is_switched_off(monkeypatch, server):
    monkeypatch.setenv("AUTOGRADER_FORK_SERVER", "0")
    pool = execution.kernel_pool()
    pool.close()
    code = "import os, pathlib\nprint(pathlib.Path.cwd().parent.parent, os.getuid())"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    task = execution.Task("dave", "fork", "fork", nbformat.writes(notebook), {}, 60, True, warmup=WARMUP, more=False)
    result = execution.execute(task)
    folder, uid = nbformat.reads(result.notebook_json, as_version=4).cells[0].outputs[0]["text"].split()
    assert "autograder-kernels-" not in folder, "a fresh Python in bwrap, in a folder of its own"
    assert int(uid) >= sandbox.FIRST_UID
    assert result.slow_start == "AUTOGRADER_FORK_SERVER=0", "the instructor is told why kernels start slowly"
    monkeypatch.setenv("AUTOGRADER_FORK_SERVER", "1")
    assert execution.execute(task).slow_start == "", "a forked kernel is no slow start"


def test_grade_says_once_why_kernels_started_slowly(capsys, monkeypatch):
    from autograder.grading import grade_command, pipeline

    monkeypatch.setattr(pipeline, "students", lambda root, assignment: ["erin"])
    monkeypatch.setattr(pipeline, "grade", lambda *args, **kwargs: [pipeline.Report("erin", "graded")])
    monkeypatch.setattr(pipeline, "SLOW_STARTS", {"failed: no user namespaces"})
    monkeypatch.setattr(grade_command.gradebook_table, "read", lambda *args: ([], []))
    monkeypatch.setattr(grade_command.gradebook_table, "render", lambda *args: "")
    monkeypatch.setattr(grade_command.grades_csv, "write", lambda root, names: root / "grades.csv")
    monkeypatch.setattr(grade_command.sandbox, "probe", lambda: None)

    status = grade_command.run_grade(Path("/nonexistent-course"), ["01_numerical"])
    printed = capsys.readouterr().out
    assert status == 0
    lines = [line for line in printed.splitlines() if "fork server" in line]
    assert lines == [
        "01_numerical: note: kernels started as a fresh Python each (about a second more per submission), "
        "not forked from a fork server: failed: no user namespaces"
    ], printed
