"""Run one student's notebook in a fresh (sandboxed) kernel: the work a grading worker does.

A task is plain data (the sanitized notebook as JSON, the assignment's other files as bytes), so it
can travel to a local worker process or a Dask worker on another machine; so is the result (the
executed notebook as JSON, the checks' record file as text, and notes for the instructor). Workers
never touch the course folder or the gradebook.

Cells run one by one. A cell that exceeds the wall-clock limit is interrupted; if the kernel ignores
the interrupt, or dies (`os._exit`, a segfault, the memory limit), that cell gets an error output,
a new kernel re-runs the earlier non-test cells (outputs discarded) and execution goes on after the
failed cell: a crash costs the cells that need it, not the submission.

Every path the kernel can write is hostile: the scratch folder itself belongs to the grader (the
kernel can write only in `work/`, `home/`, `sockets/` and the record file, and cannot replace the
record file or the connection file); the record file is read without following links, without
blocking and never beyond `RECORDS_LIMIT`. A whole task has a hard wall-clock bound (`time_bound`):
a watchdog thread of the worker kills the kernel's processes when it runs out, and the notebook is
graded from what was recorded until then, with a note saying so. The same code runs in local worker
processes and on Dask workers.

Starting a kernel (a fresh Python with IPython, numpy, SymPy, matplotlib and the autograder's checks
imported) takes longer than most notebooks run. Two things make it cheap. A sandboxed kernel is forked
from the worker's fork server (`fork_server`), which imported those modules once, and makes its own
sandbox before any student code (where the server cannot run, each kernel is a fresh Python in bwrap).
And each worker thread keeps one kernel started ahead (`KernelPool`): while student k's notebook runs,
student k+1's kernel starts in its own fresh scratch folder, as its own unprivileged user (two
alternating user ids per worker thread), with those modules imported (`warmup`). It holds no student
data: the student's files are written into its folder when it is taken for that student. A kernel
serves one student only and is killed after it; one left over is shut down when the worker exits, and
dies with the worker (`--die-with-parent`).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import stat
import subprocess
import tempfile
import threading
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
from autograder.grading import fork_server, sandbox
from autograder.grading.trusted_judge import error_output, test_cell_id

MAX_KERNEL_STARTS = 4  # the first kernel and at most three replacements after crashes or hangs
RECORDS_LIMIT = 64 * 1024**2  # bytes of the checks' record file read back
OUTPUT_LIMIT = 100_000  # characters of text output kept per cell; the rest is cut
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
STARTUP_SECONDS = 60.0  # how long a kernel may take to start
PROBE_SECONDS = 5.0  # how long an interrupted kernel may take to answer again
SLOWEST_CELLS = 3  # cells named in a Result's timing summary
SKIPPED_NOTE = (
    "Not run at grading: the instructor marked this cell display-only (it shows a plot or a demo of your "
    "code and defines nothing that later cells use). Its output is the one in your own notebook.\n"
)


def time_bound(code_cells: int, cell_timeout: float) -> float:
    """The hard wall-clock bound of one notebook, in seconds.

    What the per-cell limits allow at most: every code cell running into its limit once and an
    interrupt probe after it, plus starting every kernel the run may need. Nothing well-behaved comes
    near it; the bound exists for what escapes the per-cell limits.
    """
    return code_cells * (cell_timeout + PROBE_SECONDS) + MAX_KERNEL_STARTS * STARTUP_SECONDS


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
    time_bound: float | None = None  # seconds for the whole notebook; None: `time_bound(code cells, cell_timeout)`
    warmup: tuple[str, ...] = ()  # modules the kernel imports before any student code
    prewarm: tuple[str, ...] = ()  # visible test cells whose checks' caches the fork server fills (`fork_server`)
    skip: tuple[str, ...] = ()  # grade ids of display-only cells: not run, a note in their place (`SKIPPED_NOTE`)
    more: bool = False  # another task follows in this worker: start its kernel ahead (`KernelPool`)

    def bound(self) -> float:
        """The task's hard wall-clock bound in seconds."""
        if self.time_bound is not None:
            return self.time_bound
        notebook = nbformat.reads(self.notebook_json, as_version=4)
        return time_bound(sum(c.cell_type == "code" for c in notebook.cells), self.cell_timeout)


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
    stopped: bool = False  # the task ran out of its time bound and its kernel was killed
    slowest: tuple[tuple[str, float], ...] = ()  # the slowest cells ("cell 7 (forward_difference)", seconds)
    stages: tuple[tuple[str, float], ...] = ()  # where the worker's time went: ("kernel start", s), ("executing", s)
    cells: tuple[tuple[str, float], ...] = ()  # every cell that ran ("cell 7 (forward_difference)", seconds)
    slow_start: str = ""  # why this sandboxed kernel was a fresh Python, not a fork of the fork server ("": it was)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside `sandbox.wrap` and talks over unix sockets."""

    scratch: Path
    uid: int
    limits: sandbox.Limits
    server: fork_server.ForkServer | None = None  # forks the kernel (`fork_server`); None: a fresh Python

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # Signals reach bwrap, not the kernel inside it: interrupt by a control message instead.
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"
        # Called after the connection file is written (by this process, in the grader's own folder,
        # where the kernel cannot plant a link): only that file is handed to the kernel's user.
        if os.geteuid() == 0:
            os.chown(self.connection_file, self.uid, self.uid, follow_symlinks=False)
        argv = super().format_kernel_cmd(extra_arguments)
        if self.server is not None:
            return self.server.kernel_command(argv, self.scratch, self.uid, self.limits, cwd=self.scratch / "work")
        return sandbox.wrap(argv, self.scratch, self.uid, self.limits, cwd=self.scratch / "work")


def kernel_environment(scratch: Path, records: Path) -> dict[str, str]:
    """The kernel's environment: nothing of the grader's but what Python needs, and the record file."""
    return {**sandbox.python_environment(scratch / "home"), runtime.RECORDS_VARIABLE: str(records)}


def _kernel_manager(
    use_sandbox: bool,
    limits: sandbox.Limits,
    scratch: Path,
    uid: int,
    warmup: tuple[str, ...] = (),
    prewarm: tuple[str, ...] = (),
) -> AsyncKernelManager:
    """A manager for a kernel in `scratch`: sandboxed (forked by this process's fork server for `warmup` when
    `scratch` is one of its folders, else a fresh Python in bwrap), or a plain local kernel."""
    client = "autograder.grading.kernel_client.PromptKernelClient"
    if not use_sandbox:
        return AsyncKernelManager(
            kernel_name="python3", connection_file=str(scratch / "kernel.json"), client_class=client
        )
    manager = SandboxedKernelManager(
        kernel_name="python3",
        client_class=client,
        transport="ipc",
        ip=str(scratch / "sockets" / "k"),
        connection_file=str(scratch / "kernel.json"),
    )
    manager.scratch, manager.uid, manager.limits = scratch, uid, limits
    server = fork_server.server_for(warmup, prewarm)
    manager.server = server if server is not None and scratch.parent == server.folder else None
    return manager


def kernel_arguments(warmup: tuple[str, ...]) -> list[str]:
    """The kernel's command-line options: no history file, quiet, and the warm-up (imports of `warmup`,
    before the kernel answers; nothing is left in the user's namespace or history)."""
    arguments = list(KERNEL_ARGUMENTS)
    if warmup:
        code = (
            "import importlib as _warm\n"
            f"for _module in {tuple(warmup)!r}:\n"
            "    try:\n"
            "        _warm.import_module(_module)\n"
            "    except Exception:\n"
            "        pass\n"
            "del _warm, _module"
        )
        arguments.append(f"--IPKernelApp.exec_lines={code}")
    return arguments


@dataclass
class Kernel:
    """A started kernel for one task: its own scratch folder and user id, its manager (not yet connected)."""

    scratch: Path
    uid: int
    manager: AsyncKernelManager
    use_sandbox: bool
    limits: sandbox.Limits
    warmup: tuple[str, ...]
    prewarm: tuple[str, ...] = ()

    def fits(self, task: Task) -> bool:
        """Whether this kernel was started as `task` asks (sandbox, limits, warm-up)."""
        mine = (self.use_sandbox, self.limits, self.warmup, self.prewarm)
        return mine == (task.use_sandbox, task.limits, task.warmup, task.prewarm)

    def alive(self) -> bool:
        try:
            return bool(run_sync(self.manager.is_alive)())
        except Exception:
            return False

    def discard(self) -> None:
        """Kill the kernel and everything it started, and remove its folder."""
        if self.use_sandbox:
            sandbox.kill_all(self.uid)
        _shut_down(self.manager)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _shut_down(manager: AsyncKernelManager | None, client: object | None = None) -> None:
    """Stop a kernel client's channels and its kernel, and free the manager's resources (never raises)."""
    channels = getattr(client, "kc", None)
    if channels is not None:
        with contextlib.suppress(Exception):
            channels.stop_channels()
    if manager is None:
        return
    # A sandboxed kernel's bwrap exits by itself once `kill_all` killed the kernel: let it, so that it reaps
    # its own child (killed first, that child would be left a zombie of the init process).
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    if process is not None and isinstance(manager, SandboxedKernelManager):
        with contextlib.suppress(Exception):
            process.wait(timeout=5)
    with contextlib.suppress(Exception):
        if run_sync(manager.is_alive)():
            run_sync(manager.shutdown_kernel)(now=True)
    with contextlib.suppress(Exception):
        run_sync(manager.cleanup_resources)()


def launch(
    use_sandbox: bool, limits: sandbox.Limits, warmup: tuple[str, ...], uid: int, prewarm: tuple[str, ...] = ()
) -> Kernel:
    """Start a kernel in a fresh scratch folder as user `uid`, without waiting for it to answer."""
    server = None
    if use_sandbox:
        sandbox.kill_all(uid)  # nothing left over from the last kernel of this user id
        server = fork_server.server_for(warmup, prewarm)
    scratch = server.scratch_folder() if server is not None else Path(tempfile.mkdtemp(prefix="autograder-run-"))
    try:
        _prepare(scratch, uid if use_sandbox else None)
        manager = _kernel_manager(use_sandbox, limits, scratch, uid, warmup, prewarm)
        run_sync(manager.start_kernel)(
            extra_arguments=kernel_arguments(warmup),
            env=kernel_environment(scratch, scratch / "records.jsonl"),
            cwd=str(scratch / "work"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except BaseException:
        if use_sandbox:
            sandbox.kill_all(uid)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Kernel(scratch, uid, manager, use_sandbox, limits, warmup, prewarm)


class KernelPool:
    """One worker thread's kernel started ahead for its next task (at most one), and the user ids it uses.

    Two user ids alternate: the kernel started ahead never shares one with the kernel running now, so
    killing everything of the running kernel's user (the watchdog, a crash) never touches it.
    """

    def __init__(self, thread_slot: int) -> None:
        self.thread_slot = thread_slot
        self.turn = itertools.count()
        self.ahead: Kernel | None = None

    def next_uid(self) -> int:
        return sandbox.kernel_uid(os.getpid(), 2 * self.thread_slot + next(self.turn) % 2)

    def take(self, task: Task) -> Kernel:
        """A kernel for `task`: the one started ahead if it fits and is alive, else one started now."""
        kernel, self.ahead = self.ahead, None
        if kernel is not None and kernel.fits(task) and kernel.alive():
            return kernel
        if kernel is not None:
            kernel.discard()
        return launch(task.use_sandbox, task.limits, task.warmup, self.next_uid(), task.prewarm)

    def start_ahead(self, task: Task) -> None:
        """Start the next task's kernel now (like `task`'s); a failure only means it starts later."""
        if self.ahead is not None:
            return
        try:
            self.ahead = launch(task.use_sandbox, task.limits, task.warmup, self.next_uid(), task.prewarm)
        except Exception:
            self.ahead = None

    def close(self) -> None:
        """Shut down the kernel started ahead, if any."""
        kernel, self.ahead = self.ahead, None
        if kernel is not None:
            kernel.discard()


_POOLS: dict[int, KernelPool] = {}  # thread id -> its pool
_POOLS_LOCK = threading.Lock()


def kernel_pool() -> KernelPool:
    """This thread's KernelPool (Dask runs tasks in threads; a local worker process has one)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(threading.get_ident())
        if pool is None:
            pool = _POOLS[threading.get_ident()] = KernelPool(len(_POOLS) % sandbox.THREAD_SLOTS)
        return pool


def close_kernel_pools() -> int:
    """Shut down every kernel started ahead in this process (at the end of a run, and at exit); how many."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
    closed = 0
    for pool in pools:
        closed += pool.ahead is not None
        pool.close()
    return closed


atexit.register(fork_server.close_servers)  # runs after close_kernel_pools (atexit is last in, first out)
atexit.register(close_kernel_pools)


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

    def __init__(self, task: Task, notebook: NotebookNode, kernel: Kernel) -> None:
        self.task, self.notebook, self.scratch = task, notebook, kernel.scratch
        self.uid = kernel.uid
        self.started: Kernel | None = kernel  # the first kernel, started already (by the pool)
        self.notes: list[str] = []
        self.failed: set[int] = set()
        self.records = kernel.scratch / "records.jsonl"
        self.work = kernel.scratch / "work"
        self.timings: dict[int, float] = {}
        self.kernel_seconds = 0.0  # spent starting kernels (until each answered)
        self.expired = threading.Event()  # set by the watchdog when the task's time bound runs out
        self.client_now: NotebookClient | None = None  # the client of the kernel running now (for the watchdog)
        self.bound = task.bound()

    def client(self) -> NotebookClient:
        # The client writes each executed cell back into its notebook at the given index: give it a copy,
        # so that replayed cells and the probe cell never land in the notebook being graded.
        started, self.started = self.started, None
        if started is not None:  # connect to the kernel started ahead (nbclient does not start it again)
            manager = started.manager
        else:
            task = self.task
            manager = _kernel_manager(task.use_sandbox, task.limits, self.scratch, self.uid, task.warmup, task.prewarm)
        return NotebookClient(
            nbformat.from_dict(self.notebook),
            km=manager,
            timeout=self.task.cell_timeout,
            startup_timeout=STARTUP_SECONDS,
            allow_errors=True,
            interrupt_on_timeout=False,
            record_timing=False,
            extra_arguments=kernel_arguments(self.task.warmup),
            resources={"metadata": {"path": str(self.work)}},
        )

    def execute(self) -> None:
        start, starts = 0, 0
        while start is not None and starts < MAX_KERNEL_STARTS and not self.expired.is_set():
            ahead = self.started is not None
            starts += 1
            start = self._one_kernel(start)
            if ahead and start == 0 and not self.timings:  # the kernel started ahead never answered: not
                starts -= 1  # the student's doing (no cell ran); a fresh kernel takes its place
                self.notes = [n for n in self.notes if not n.startswith("a kernel did not start")]
        if start is not None and self.expired.is_set():
            bound = self.bound
            self.notes.append(
                f"stopped after {bound:.0f} s, the time bound of this notebook (the per-cell limit did not stop it; "
                f"its kernel was killed): graded from what it recorded until then; cells from {start} on were not run"
            )
            for index in range(start, len(self.notebook.cells)):
                reason = f"was not run: the notebook used up its {bound:.0f} s time bound in earlier cells"
                self._fail(index, reason, note=False)
        elif start is not None:
            self.notes.append(f"gave up after {MAX_KERNEL_STARTS} kernels; cells from {start} on were not run")
            for index in range(start, len(self.notebook.cells)):
                self._fail(index, "was not run: the kernel kept crashing or hanging in earlier cells")

    def kill(self) -> None:
        """Kill the kernel running now and everything it started (called by the watchdog thread)."""
        if self.task.use_sandbox:
            sandbox.kill_all(self.uid)
            return
        client = self.client_now
        process = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()

    def _one_kernel(self, start: int) -> int | None:
        """Run cells from `start` in a new kernel (after replaying earlier cells); the index to resume at, or None."""
        fresh = self.started is None
        client = self.client()
        self.client_now = client
        env = kernel_environment(self.scratch, self.records)
        if self.task.use_sandbox and fresh:
            sandbox.kill_all(self.uid)  # nothing left over from an earlier kernel
        try:
            if self.expired.is_set():
                return start
            began = time.perf_counter()
            with client.setup_kernel(env=env, cwd=str(self.work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                self.kernel_seconds += time.perf_counter() - began
                self._replay(client, start)
                for index in range(start, len(self.notebook.cells)):
                    if not self._cell(client, index):
                        return index + 1
        except DeadKernelError:
            return None if start >= len(self.notebook.cells) else start
        except RuntimeError as error:  # the kernel did not start (e.g. a fork loop left the sandbox full)
            if not self.expired.is_set():
                self.notes.append(f"a kernel did not start: {error}")
            return start
        finally:
            if self.task.use_sandbox:
                sandbox.kill_all(self.uid)  # forked children outlive their kernel
            _shut_down(client.km, client)  # a kernel serves one student, once
        return None

    def _replay(self, client: NotebookClient, end: int) -> None:
        """Re-run earlier code cells (not test cells, not the ones that failed) in a new kernel, outputs discarded."""
        for index in range(end):
            cell = self.notebook.cells[index]
            runs = cell.cell_type == "code" and test_cell_id(cell) is None and not self._skipped(cell)
            if runs and index not in self.failed:
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
        if self._skipped(cell):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            cell.execution_count = None
            return True
        bound = self.bound
        if self.expired.is_set():
            self._fail(index, f"was not run: the notebook used up its {bound:.0f} s time bound", note=False)
            return False
        began = time.perf_counter()
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            if self.expired.is_set():
                self._fail(index, f"was stopped: the notebook used up its {bound:.0f} s time bound", note=False)
                return False
            run_sync(client.km.interrupt_kernel)()
            reason = f"did not finish within {self.task.cell_timeout:g} s (an infinite loop?) and was stopped"
            if not self._responsive(client):
                reason += "; the kernel ignored the interrupt and was replaced"
                self._fail(index, reason)
                return False
            self._fail(index, reason)
        except DeadKernelError:
            if self.expired.is_set():
                self._fail(index, f"was stopped: the notebook used up its {bound:.0f} s time bound", note=False)
                return False
            self._fail(index, "the kernel died while running this cell (os._exit, a crash, or the memory limit)")
            return False
        finally:
            self.timings[index] = time.perf_counter() - began
        _cut_outputs(cell)
        return True

    def _skipped(self, cell: NotebookNode) -> bool:
        """Whether `cell` is one of the task's display-only cells (never a test or an answer cell)."""
        meta = cell.get("metadata", {}).get("nbgrader", {})
        return (
            cell.cell_type == "code"
            and meta.get("grade_id") in self.task.skip
            and test_cell_id(cell) is None
            and not meta.get("solution")
        )

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

    def _fail(self, index: int, reason: str, note: bool = True) -> None:
        cell = self.notebook.cells[index]
        self.failed.add(index)
        if cell.cell_type == "code":
            _cut_outputs(cell)
            cell.outputs = [*cell.get("outputs", []), error_output(f"This cell {reason}.", "GradingError")]
        if note:
            self.notes.append(f"{cell_label(self.notebook, index)}: {reason}")

    def cell_seconds(self) -> tuple[tuple[str, float], ...]:
        """Every cell that ran, in notebook order: (label, seconds)."""
        return tuple((cell_label(self.notebook, index), seconds) for index, seconds in sorted(self.timings.items()))

    def slowest(self) -> tuple[tuple[str, float], ...]:
        """The slowest cells that ran, slowest first: (label, seconds)."""
        ranked = sorted(self.timings.items(), key=lambda item: -item[1])[:SLOWEST_CELLS]
        return tuple((cell_label(self.notebook, index), round(seconds, 1)) for index, seconds in ranked)


def cell_label(notebook: NotebookNode, index: int) -> str:
    """'cell 7 (forward_difference)': a cell's index and its grade id (or 'code')."""
    meta = notebook.cells[index].get("metadata", {}).get("nbgrader", {})
    return f"cell {index} ({meta.get('grade_id') or 'code'})"


class Watchdog:
    """A thread that calls `run.kill()` when `seconds` have passed, and again every second until stopped:
    a kernel started after the bound ran out dies too. Works in any thread (Dask runs tasks in threads)."""

    def __init__(self, run: _Run, seconds: float) -> None:
        self.run, self.seconds = run, seconds
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="autograder-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(10)

    def _watch(self) -> None:
        if self.done.wait(self.seconds):
            return
        self.run.expired.set()
        while not self.done.is_set():
            self.run.kill()
            self.done.wait(1.0)


def read_untrusted(path: Path, limit: int) -> tuple[bytes, str | None]:
    """At most `limit` bytes of a file the kernel could have replaced, and what was wrong with it (or None).

    Opened without following a symbolic link and without blocking (a FIFO), and read only if it is a
    regular file with one link: a directory, a FIFO, a socket, a link to /dev/zero or to a root-only
    file is refused, never read.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        handle = os.open(path, flags)
    except FileNotFoundError:
        return b"", f"{path.name} was deleted"
    except OSError as error:
        return b"", f"{path.name} could not be opened safely ({error.strerror}: a symbolic link?)"
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            kinds = {stat.S_IFIFO: "a FIFO", stat.S_IFDIR: "a directory", stat.S_IFSOCK: "a socket"}
            kind = kinds.get(stat.S_IFMT(info.st_mode), "something that is not a file")
            return b"", f"{path.name} was replaced by {kind}"
        if info.st_nlink != 1:
            return b"", f"{path.name} has {info.st_nlink} links"
        chunks, remaining = [], limit
        while remaining > 0:
            chunk = os.read(handle, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        problem = f"{path.name} was cut at {limit} bytes" if info.st_size > limit else None
        return b"".join(chunks), problem
    finally:
        os.close(handle)


def _prepare(scratch: Path, uid: int | None) -> None:
    """Lay out the scratch folder before its kernel starts. It stays the grader's (the kernel cannot replace
    what is in it); the kernel's user `uid` owns only `work/` (the notebook's folder), `home/`, `sockets/`
    and the record file."""
    os.chmod(scratch, 0o755)
    for folder in ("work", "home", "sockets"):
        (scratch / folder).mkdir()
    (scratch / "records.jsonl").touch()
    if uid is not None and os.geteuid() == 0:
        for path in (scratch / "home", scratch / "sockets", scratch / "records.jsonl", scratch / "work"):
            os.chown(path, uid, uid, follow_symlinks=False)


def _add_files(task: Task, kernel: Kernel) -> None:
    """Write the task's files into the kernel's `work/` folder, owned by its user, before any cell runs.

    The folder is written through paths this process checks: a kernel started ahead has run only the
    warm-up, never student code, so nothing in it can be a planted link."""
    work = (kernel.scratch / "work").resolve()
    for relative, content in task.files.items():
        target = work / relative
        if not target.resolve().is_relative_to(work):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if kernel.use_sandbox and os.geteuid() == 0:
            for path in [target, *target.parents]:
                if path == work:
                    break
                os.chown(path, kernel.uid, kernel.uid, follow_symlinks=False)


def execute(task: Task) -> Result:
    """Execute `task`'s notebook in a fresh kernel (sandboxed unless `task.use_sandbox` is False), within
    the task's time bound: when it runs out, the kernel is killed and the result holds what ran until then."""
    start = time.perf_counter()
    pool = kernel_pool()
    kernel = pool.take(task)
    try:
        if task.more:  # the next student's kernel starts while this one runs
            pool.start_ahead(task)
        _add_files(task, kernel)
        preparing = time.perf_counter() - start
        notebook = nbformat.reads(task.notebook_json, as_version=4)
        run = _Run(task, notebook, kernel)
        with Watchdog(run, run.bound):
            run.execute()
        if task.use_sandbox:
            sandbox.kill_all(kernel.uid)
        content, problem = read_untrusted(run.records, RECORDS_LIMIT)
        if problem:
            run.notes.append(
                f"the checks' record file was tampered with ({problem}): the test cells were judged from what "
                "could be read of it"
            )
        seconds = time.perf_counter() - start
        slow_start = ""
        if task.use_sandbox and getattr(kernel.manager, "server", None) is None:  # a fresh Python in bwrap
            slow_start = fork_server.unavailable_reason() or "AUTOGRADER_FORK_SERVER=0"
        return Result(
            task.student,
            task.assignment,
            task.notebook_name,
            nbformat.writes(notebook),
            content.decode("utf-8", errors="replace"),
            tuple(run.notes),
            seconds,
            stopped=run.expired.is_set(),
            slowest=run.slowest(),
            cells=run.cell_seconds(),
            slow_start=slow_start,
            stages=(
                ("kernel start", preparing + run.kernel_seconds),
                ("executing", seconds - preparing - run.kernel_seconds),
            ),
        )
    finally:
        kernel.discard()  # killed and removed, whatever happened (rmtree is fd-based: never follows links)
