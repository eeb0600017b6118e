"""Run one student's notebook in a fresh (sandboxed) kernel: the work a grading worker does.

A task is plain data (the sanitized notebook as JSON, the assignment's other files as bytes), so it
can travel to a local worker process or a Dask worker on another machine; so is the result (the
executed notebook as JSON, the checks' record file as text, and notes for the instructor). Workers
never touch the course folder or the gradebook.

Cells run one by one. A cell that exceeds the wall-clock limit is interrupted; if the kernel ignores
the interrupt, or dies (`os._exit`, a segfault, the memory limit), that cell gets an error output,
a new kernel re-runs the earlier non-test cells (outputs discarded) and execution goes on after the
failed cell: a crash costs the cells that need it, not the submission.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

from autograder import runtime
from autograder.grading import sandbox
from autograder.grading.trusted_judge import error_output, test_cell_id

MAX_KERNEL_STARTS = 4  # the first kernel and at most three replacements after crashes or hangs
RECORDS_LIMIT = 64 * 1024**2  # bytes of the checks' record file read back
OUTPUT_LIMIT = 100_000  # characters of text output kept per cell; the rest is cut
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]


@dataclass(frozen=True)
class Task:
    """One notebook to execute. `files` are the assignment's other files (relative path -> bytes)."""

    student: str
    assignment: str
    notebook_name: str
    notebook_json: str
    files: dict[str, bytes] = field(default_factory=dict)
    cell_timeout: float = 60.0
    use_sandbox: bool = True
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)


@dataclass(frozen=True)
class Result:
    """What executing a Task produced: the executed notebook, the records, what went wrong, the time."""

    student: str
    assignment: str
    notebook_name: str
    notebook_json: str
    records: str
    notes: tuple[str, ...]
    seconds: float
    error: str = ""  # set when the worker itself failed (not the student's code): nothing to grade


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside `sandbox.wrap` and talks over unix sockets."""

    scratch: Path
    uid: int
    limits: sandbox.Limits

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # Signals reach bwrap, not the kernel inside it: interrupt by a control message instead.
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"
        # Called after the connection file is written: hand the scratch folder to the kernel's user.
        if os.geteuid() == 0:
            for path in (self.scratch, *self.scratch.rglob("*")):
                os.chown(path, self.uid, self.uid, follow_symlinks=False)
        return sandbox.wrap(super().format_kernel_cmd(extra_arguments), self.scratch, self.uid, self.limits)


def kernel_environment(scratch: Path, records: Path) -> dict[str, str]:
    """The kernel's environment: nothing of the grader's but what Python needs, and the record file."""
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": sandbox.package_path(),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        runtime.RECORDS_VARIABLE: str(records),
    }


def _kernel_manager(task: Task, scratch: Path) -> AsyncKernelManager:
    if not task.use_sandbox:
        return AsyncKernelManager(kernel_name="python3", connection_file=str(scratch / "kernel.json"))
    manager = SandboxedKernelManager(
        kernel_name="python3", transport="ipc", ip=str(scratch / "k"), connection_file=str(scratch / "kernel.json")
    )
    manager.scratch, manager.uid, manager.limits = scratch, sandbox.kernel_uid(os.getpid()), task.limits
    return manager


def _cut_outputs(cell: NotebookNode) -> None:
    """Keep at most OUTPUT_LIMIT characters of each text output (megabytes of prints stay out of the gradebook)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and len(output.get("text", "")) > OUTPUT_LIMIT:
            output.text = output.text[:OUTPUT_LIMIT] + f"\n... [output cut at {OUTPUT_LIMIT} characters]\n"
        for key, value in list(output.get("data", {}).items()):
            if isinstance(value, str) and len(value) > 10 * OUTPUT_LIMIT:
                output.data[key] = f"[{key} output of {len(value)} characters removed]"


class _Run:
    """Executes the cells of one notebook, replacing the kernel when it dies or hangs."""

    def __init__(self, task: Task, notebook: NotebookNode, scratch: Path) -> None:
        self.task, self.notebook, self.scratch = task, notebook, scratch
        self.notes: list[str] = []
        self.failed: set[int] = set()
        self.records = scratch / "records.jsonl"
        self.records.touch()
        self.work = scratch / "work"

    def client(self) -> NotebookClient:
        # The client writes each executed cell back into its notebook at the given index: give it a copy,
        # so that replayed cells and the probe cell never land in the notebook being graded.
        return NotebookClient(
            nbformat.from_dict(self.notebook),
            km=_kernel_manager(self.task, self.scratch),
            timeout=self.task.cell_timeout,
            startup_timeout=60,
            allow_errors=True,
            interrupt_on_timeout=False,
            record_timing=False,
            extra_arguments=list(KERNEL_ARGUMENTS),
            resources={"metadata": {"path": str(self.work)}},
        )

    def execute(self) -> None:
        start, starts = 0, 0
        while start is not None and starts < MAX_KERNEL_STARTS:
            starts += 1
            start = self._one_kernel(start)
        if start is not None:
            self.notes.append(f"gave up after {MAX_KERNEL_STARTS} kernels; cells from {start} on were not run")
            for index in range(start, len(self.notebook.cells)):
                self._fail(index, "not run: the kernel kept crashing or hanging in earlier cells")

    def _one_kernel(self, start: int) -> int | None:
        """Run cells from `start` in a new kernel (after replaying earlier cells); the index to resume at, or None."""
        client = self.client()
        env = kernel_environment(self.scratch, self.records)
        if self.task.use_sandbox:
            sandbox.kill_all(sandbox.kernel_uid(os.getpid()))  # nothing left over from an earlier kernel
        try:
            with client.setup_kernel(env=env, cwd=str(self.work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                self._replay(client, start)
                for index in range(start, len(self.notebook.cells)):
                    if not self._cell(client, index):
                        return index + 1
        except DeadKernelError:
            return None if start >= len(self.notebook.cells) else start
        except RuntimeError as error:  # the kernel did not start (e.g. a fork loop left the sandbox full)
            self.notes.append(f"a kernel did not start: {error}")
            return start
        finally:
            if self.task.use_sandbox:
                sandbox.kill_all(sandbox.kernel_uid(os.getpid()))  # forked children outlive their kernel
        return None

    def _replay(self, client: NotebookClient, end: int) -> None:
        """Re-run earlier code cells (not test cells, not the ones that failed) in a new kernel, outputs discarded."""
        for index in range(end):
            cell = self.notebook.cells[index]
            if cell.cell_type == "code" and test_cell_id(cell) is None and index not in self.failed:
                copy = nbformat.from_dict(cell)
                try:
                    client.execute_cell(copy, index)
                except (CellTimeoutError, DeadKernelError):
                    self.failed.add(index)

    def _cell(self, client: NotebookClient, index: int) -> bool:
        """Run one cell; False when the kernel must be replaced."""
        cell = self.notebook.cells[index]
        if cell.cell_type != "code":
            return True
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            run_sync(client.km.interrupt_kernel)()
            reason = f"did not finish within {self.task.cell_timeout:g} s (an infinite loop?) and was stopped"
            if not self._responsive(client):
                reason += "; the kernel ignored the interrupt and was replaced"
                self._fail(index, reason)
                return False
            self._fail(index, reason)
        except DeadKernelError:
            self._fail(index, "the kernel died while running this cell (os._exit, a crash, or the memory limit)")
            return False
        _cut_outputs(cell)
        return True

    def _responsive(self, client: NotebookClient) -> bool:
        probe = nbformat.v4.new_code_cell("pass")
        client.timeout = 5
        try:
            client.execute_cell(probe, -1)
            return True
        except (CellTimeoutError, DeadKernelError):
            return False
        finally:
            client.timeout = self.task.cell_timeout

    def _fail(self, index: int, reason: str) -> None:
        cell = self.notebook.cells[index]
        self.failed.add(index)
        if cell.cell_type == "code":
            cell.outputs = [*cell.get("outputs", []), error_output(f"This cell {reason}.", "GradingError")]
        self.notes.append(f"cell {index} ({test_cell_id(cell) or 'code'}): {reason}")


def execute(task: Task) -> Result:
    """Execute `task`'s notebook in a fresh kernel (sandboxed unless `task.use_sandbox` is False)."""
    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="autograder-run-"))
    try:
        work = scratch / "work"
        work.mkdir()
        for relative, content in task.files.items():
            target = work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        notebook = nbformat.reads(task.notebook_json, as_version=4)
        run = _Run(task, notebook, scratch)
        run.execute()
        with open(run.records, "rb") as handle:  # the kernel may have written garbage: read a bounded amount
            records = handle.read(RECORDS_LIMIT).decode("utf-8", errors="replace")
        return Result(
            task.student,
            task.assignment,
            task.notebook_name,
            nbformat.writes(notebook),
            records,
            tuple(run.notes),
            time.perf_counter() - start,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def execute_safely(task: Task) -> Result:
    """`execute`, with a failure of the worker itself (not of the student's code) returned in `Result.error`."""
    try:
        return execute(task)
    except Exception as error:  # a broken machine must not stop the class: report it with this submission
        return Result(task.student, task.assignment, task.notebook_name, task.notebook_json, "", (), 0.0, repr(error))
