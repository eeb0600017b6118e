"""A fork server for students' kernels: Python, IPython, numpy, SymPy and the checks imported once per
worker, and every student's kernel forked from that, each in a sandbox of its own.

Starting a kernel the usual way costs a whole Python start and about a second of imports for every
student. A fork server pays that once: the worker starts one server process in a bubblewrap sandbox
(the same read-only view of the system and the Python environment as a kernel's, no network, no
course), which imports the warm-up modules and then only forks. It never runs student code, so every
fork starts from the same pristine state: nothing of an earlier student can be left in it.

For each kernel the server forks a child, which makes the student's sandbox before any student code:

- new mount, network, IPC, UTS and process namespaces (the kernel's process is pid 2 of its own
  namespace, under a small reaper as pid 1: everything the kernel starts dies with it);
- a fresh `/tmp`, a fresh `/proc`, and of the worker's kernel folders only this kernel's scratch
  folder (the others and the server's socket are hidden under an empty read-only tmpfs);
- the resource limits (`sandbox.Limits`), no new privileges, an empty capability bounding set, and
  the student's unprivileged user id;
- the kernel's own environment, working directory, a freshly seeded `numpy.random`, the checks'
  record file; then IPython's kernel starts (`ipykernel.kernelapp`).

jupyter_client starts `fork_launcher.py` (a Python without site or imports) as the kernel's process;
the launcher asks the server for the kernel over the server's unix socket (reachable by the grader
only: in a kernel's mount namespace it is hidden) and lives as long as the kernel does, so that
jupyter_client's liveness checks, shutdown and kill work as with any kernel. When the launcher dies,
the server kills the kernel's sandbox.

Run as a program by `ForkServer` (`python -m autograder.grading.fork_server FOLDER`), never imported
by a kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from autograder.grading.assignment_cells import HIDDEN_MARK  # a cell holding it never runs in the server

SOCKET_NAME = "fork-server.sock"
READY_NAME = "fork-server.ready"  # written by the server when it listens (or "failed: <why>")
PREWARM_NAME = "prewarm.json"  # the visible test cells whose checks' caches the server fills
RUN_PREFIX = "autograder-run-"  # the kernels' scratch folders, inside the server's folder
READY_SECONDS = 60.0  # how long the server may take to import its modules

# Linux constants (sched.h, sys/mount.h, linux/prctl.h, linux/capability.h)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"

WARM_ALWAYS = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "jupyter_client.session")


class ForkServerUnavailable(RuntimeError):
    """The fork server did not start here; the message says why (kernels then start the usual way)."""


# --- the worker's side ------------------------------------------------------------------------------


class ForkServer:
    """A running fork server (one per worker process and warm-up list) and its folder.

    Kernels' scratch folders must be made with `scratch_folder()` (inside the server's folder); their
    kernel command is `kernel_command(...)`. `close()` stops the server and removes the folder.
    """

    def __init__(self, warmup: tuple[str, ...], prewarm: tuple[str, ...] = ()) -> None:
        from autograder.grading import sandbox

        self.warmup, self.prewarm = warmup, prewarm
        self.folder = Path(tempfile.mkdtemp(prefix="autograder-kernels-"))
        os.chmod(self.folder, 0o700)
        (self.folder / PREWARM_NAME).write_text(json.dumps(list(prewarm)))
        self.socket = self.folder / SOCKET_NAME
        environment = server_environment()
        command = sandbox.server_wrap(
            [sys.executable, "-m", "autograder.grading.fork_server", str(self.folder), json.dumps(list(warmup))],
            self.folder,
        )
        self.process = subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> None:
        ready = self.folder / READY_NAME
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if ready.exists():
                status = ready.read_text()
                if status.startswith("ok"):
                    return
                raise ForkServerUnavailable(status.strip())
            if self.process.poll() is not None:
                error = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                raise ForkServerUnavailable(f"the fork server exited ({self.process.returncode}): {error[-500:]}")
            time.sleep(0.02)
        raise ForkServerUnavailable(f"the fork server did not start within {READY_SECONDS:g} s")

    def alive(self) -> bool:
        return self.process.poll() is None

    def scratch_folder(self) -> Path:
        """A new, empty scratch folder for one kernel, inside the server's folder."""
        return Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.folder))

    def kernel_command(self, argv: list[str], scratch: Path, uid: int, limits: Any, cwd: Path) -> list[str]:
        """The command that starts kernel `argv` (ipykernel's usual command line) as a fork of the server:
        the launcher, which jupyter_client runs as the kernel's process. `limits` is a `sandbox.Limits`."""
        from dataclasses import asdict

        request = {"scratch": str(scratch), "cwd": str(cwd), "uid": uid, "limits": asdict(limits)}
        launcher = str(Path(__file__).with_name("fork_launcher.py"))
        return [sys.executable, "-I", "-S", launcher, str(self.socket), json.dumps(request), *argv]

    def close(self) -> None:
        """Stop the server (its kernels die with it) and remove its folder."""
        import shutil

        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def server_environment() -> dict[str, str]:
    """The server's environment: what a kernel's is, with a home of its own in the server's /tmp."""
    from autograder.grading import sandbox

    return {**sandbox.python_environment(Path("/tmp/fork-server-home")), "TMPDIR": "/tmp"}


_SERVERS: dict[tuple[tuple[str, ...], tuple[str, ...]], ForkServer | None] = {}  # (warm-up, prewarm) -> server
_SERVERS_LOCK = threading.Lock()
_WHY_NOT: list[str] = []


def server_for(warmup: tuple[str, ...], prewarm: tuple[str, ...] = ()) -> ForkServer | None:
    """This process's fork server for `warmup` (modules) and `prewarm` (visible test cells, see `serve`),
    started on first use; None when it cannot run here (the reason is kept in `unavailable_reason()`, and
    kernels start the usual way)."""
    if os.environ.get("AUTOGRADER_FORK_SERVER", "1") == "0":
        return None
    key = (warmup, prewarm)
    with _SERVERS_LOCK:
        if key in _SERVERS:
            server = _SERVERS[key]
            if server is None or server.alive():
                return server
            server.close()
        try:
            server = ForkServer(warmup, prewarm)
        except (ForkServerUnavailable, OSError) as error:
            server = None
            _WHY_NOT.append(str(error))
        _SERVERS[key] = server
        return server


def unavailable_reason() -> str | None:
    """Why the last fork server could not start in this process, or None."""
    return _WHY_NOT[-1] if _WHY_NOT else None


def close_servers() -> None:
    """Stop every fork server of this process (at exit)."""
    with _SERVERS_LOCK:
        servers = [s for s in _SERVERS.values() if s is not None]
        _SERVERS.clear()
    for server in servers:
        server.close()


# --- the server's side ------------------------------------------------------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: None if text is None else text.encode()  # noqa: E731
    _call(_LIBC.mount(encode(source), encode(target), encode(kind), flags, encode(data)), f"mount {target}")


def _prctl(option: int, value: int) -> None:
    _call(_LIBC.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


_READ_ONLY_UNDER_TMP: list[Path] = []  # the sandbox's read-only folders under /tmp (a checkout or venv there)


def _isolate(folder: Path, scratch: Path) -> None:
    """In a fresh child: new namespaces, a fresh /tmp, and of `folder` (the server's, holding every kernel's
    scratch folder and the server's socket) only `scratch`, bound at its own path. The read-only folders
    of the sandbox that are under /tmp (the Python environment or the autograder, when they live there)
    are bound again, read-only, into the fresh /tmp."""
    _call(_LIBC.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    handle = os.open(scratch, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    kept = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in _READ_ONLY_UNDER_TMP]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    old = os.umask(0o022)
    for path, kept_handle in kept:
        path.mkdir(parents=True, exist_ok=True)
        _mount(f"/proc/self/fd/{kept_handle}", str(path), None, MS_BIND | MS_REC)
        _mount(None, str(path), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(kept_handle)
    os.umask(old)
    covered = None
    if folder.exists():  # not under /tmp: hide the other kernels' folders under an empty tmpfs
        covered = str(folder)
        _mount("tmpfs", covered, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k")
    old = os.umask(0o022)
    scratch.mkdir(parents=True)  # in the fresh tmpfs: root's folders, which the student cannot replace
    os.umask(old)
    _mount(f"/proc/self/fd/{handle}", str(scratch), None, MS_BIND | MS_REC)
    os.close(handle)
    if covered is not None:
        _mount(None, covered, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k")


def _become(uid: int, limits: dict[str, int]) -> None:
    """Limits, no new privileges, no capabilities, the student's user id."""
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    last = int(Path(CAP_LAST_CAP_FILE).read_text())
    for capability in range(last + 1):
        _prctl(PR_CAPBSET_DROP, capability)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("the kernel still runs as root")


def _start_kernel(request: dict[str, Any], argv: list[str], environment: dict[str, str], server_cwd: str) -> None:
    """In the kernel's process (after `_become`): its environment, folder, streams, then IPython's kernel."""
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    os.closerange(3, 65536)
    if sys.path and sys.path[0] == server_cwd:  # `python -m` put the server's folder first: the kernel's
        sys.path[0] = request["cwd"]
    if "numpy" in sys.modules:  # the global generator would be the server's, the same for every student
        sys.modules["numpy"].random.seed()
    import random

    random.seed()
    from autograder import runtime

    records = environment.get(runtime.RECORDS_VARIABLE)
    if records:
        runtime.start_collecting(records)
    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", *argv]
    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise


def _reap_until(pid: int) -> int:
    """As pid 1 of a namespace: reap every child until `pid` exits; its exit code."""
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            return 70
        if done == pid:
            return _exit_code(status)


def _forked(connection: socket.socket, request: dict[str, Any], folder: Path, server_pid: int) -> int:
    """The child the server forked for one kernel (never returns normally: it ends the process)."""
    scratch = Path(request["scratch"])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server_pid:
        return 70
    os.setsid()
    _isolate(folder, scratch)
    reaper = os.fork()
    if reaper:
        connection.close()
        _, status = os.waitpid(reaper, 0)
        return _exit_code(status)
    # pid 1 of the kernel's namespace
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    kernel = os.fork()
    if kernel:
        connection.close()
        return _reap_until(kernel)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _become(int(request["uid"]), request["limits"])
    environment, argv = request["env"], list(request["argv"])
    if "ipykernel_launcher" in argv:  # jupyter_client's command: python -m ipykernel_launcher -f FILE ...
        argv = argv[argv.index("ipykernel_launcher") + 1 :]
    connection.close()
    _start_kernel(request, argv, environment, request["server_cwd"])
    return 0


def _valid(request: dict[str, Any], folder: Path) -> str | None:
    """What is wrong with a kernel request, or None."""
    from autograder.grading.sandbox import FIRST_UID

    try:
        scratch = Path(request["scratch"])
        cwd = Path(request["cwd"])
        uid = int(request["uid"])
        limits = {k: int(request["limits"][k]) for k in ("memory_bytes", "cpu_seconds", "processes", "file_bytes")}
        if not isinstance(request["argv"], list) or not isinstance(request["env"], dict):
            return "argv and env must be a list and a mapping"
    except (KeyError, TypeError, ValueError) as error:
        return f"malformed request: {error!r}"
    if scratch.parent != folder or not scratch.name.startswith(RUN_PREFIX) or scratch.is_symlink():
        return f"{scratch} is not a kernel folder of this server"
    if not scratch.is_dir() or not cwd.is_relative_to(scratch):
        return f"{cwd} is not inside {scratch}"
    if uid < FIRST_UID or min(limits.values()) <= 0:
        return "the user id or the limits are not a student kernel's"
    return None


class _Server:
    """The server's loop: accept requests, fork kernels, report their exits, kill orphaned kernels."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(folder / SOCKET_NAME))
        os.chmod(folder / SOCKET_NAME, 0o600)
        self.listener.listen(16)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.wake_read, wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.wake_read, selectors.EVENT_READ, "child")
        self.buffers: dict[socket.socket, bytes] = {}
        self.kernels: dict[int, socket.socket] = {}  # forked child -> its launcher's connection
        self.connections: dict[socket.socket, int] = {}

    def run(self) -> None:
        while True:
            for key, _ in self.selector.select(timeout=1.0):
                if key.data == "accept":
                    self._accept()
                elif key.data == "child":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_read, 4096)
                else:
                    self._read(key.fileobj)  # type: ignore[arg-type]
            self._reap()

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        peer_uid = int.from_bytes(credentials[4:8], sys.byteorder)
        if peer_uid != os.getuid():  # only the grader (the kernels cannot even see the socket)
            connection.close()
            return
        self.buffers[connection] = b""
        self.selector.register(connection, selectors.EVENT_READ, "request")

    def _read(self, connection: socket.socket) -> None:
        try:
            data = connection.recv(1 << 20)
        except OSError:
            data = b""
        if not data:  # the launcher is gone: so is its kernel
            self._drop(connection)
            return
        if connection in self.connections:
            return  # one request per connection; anything after it is ignored
        self.buffers[connection] += data
        if b"\n" not in self.buffers[connection]:
            if len(self.buffers[connection]) > 1 << 22:
                self._drop(connection)
            return
        line = self.buffers.pop(connection).split(b"\n", 1)[0]
        try:
            request = json.loads(line)
            problem = _valid(request, self.folder)
        except ValueError as error:
            request, problem = {}, f"malformed request: {error}"
        if problem:
            self._send(connection, f"error {problem}\n")
            self._drop(connection)
            return
        request["server_cwd"] = os.getcwd()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                self.selector.close()
                self.listener.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for other in list(self.connections) + list(self.buffers):
                    if other is not connection:
                        other.close()
                # the kernel's process keeps nothing of the other kernels' requests (their paths, environments)
                self.buffers.clear()
                self.kernels.clear()
                self.connections.clear()
                code = _forked(connection, request, self.folder, os.getppid())
            except BaseException as error:  # noqa: BLE001 - report why the kernel could not start, then end
                with contextlib.suppress(Exception):
                    connection.sendall(f"error {error!r}\n".encode())
            finally:
                os._exit(code)
        self.kernels[pid] = connection
        self.connections[connection] = pid
        self._send(connection, f"pid {pid}\n")

    def _send(self, connection: socket.socket, text: str) -> None:
        with contextlib.suppress(OSError):
            connection.sendall(text.encode())

    def _drop(self, connection: socket.socket) -> None:
        pid = self.connections.pop(connection, None)
        if pid is not None and pid in self.kernels:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # its reaper and kernel get SIGKILL from their parent's death
        self.buffers.pop(connection, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(connection)
        connection.close()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.kernels.pop(pid, None)
            if connection is not None:
                self._send(connection, f"exit {_exit_code(status)}\n")
                self.connections.pop(connection, None)
                self._drop(connection)


def _self_test(folder: Path) -> str | None:
    """Fork once and make a kernel's sandbox (namespaces, mounts, user id) and check that the Python
    environment is still there: why it fails here, or None."""
    from autograder.grading.sandbox import FIRST_UID

    scratch = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=folder))
    reading, writing = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            os.close(reading)
            try:
                _isolate(folder, scratch)
                if os.fork() == 0:
                    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                    limits = {"memory_bytes": 1 << 31, "cpu_seconds": 60, "processes": 8, "file_bytes": 1}
                    _become(FIRST_UID, limits)
                    missing = [p for p in (sys.prefix, *map(str, _READ_ONLY_UNDER_TMP)) if not os.path.isdir(p)]
                    if os.getpid() != 1 or missing:
                        raise OSError(f"pid {os.getpid()}, missing {missing}")
                    os._exit(0)
                _, status = os.wait()
                os._exit(_exit_code(status))
            except BaseException as error:  # noqa: BLE001 - say why, then end this child
                os.write(writing, repr(error).encode()[:2000])
                os._exit(2)
        os.close(writing)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(reading, "rb") as pipe:
            why = pipe.read().decode(errors="replace")
        code = _exit_code(status)
        return None if code == 0 else f"a forked kernel could not make its sandbox here (code {code}): {why}"
    finally:
        os.rmdir(scratch)


def serve(folder: Path, warmup: list[str]) -> None:
    """The server's program: import, fill the checks' caches, check, listen, say ready, then fork kernels
    until killed.

    The caches are filled from the assignment's visible test cells only (the release's, which every student
    has): what a kernel inherits of them is public. Hidden tests never run here."""
    from autograder.grading import sandbox

    ready = folder / READY_NAME
    _READ_ONLY_UNDER_TMP[:] = [p for p in sandbox.readable_paths() if p.is_relative_to("/tmp")]
    for module in [*warmup, *WARM_ALWAYS, "autograder.runtime"]:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    prewarm = json.loads((folder / PREWARM_NAME).read_text()) if (folder / PREWARM_NAME).exists() else []
    if prewarm and not any(HIDDEN_MARK in cell for cell in prewarm):
        from autograder.checks.kit.prewarm import prewarm as fill_caches

        with contextlib.suppress(Exception):  # a cold cache only costs time
            fill_caches(prewarm)
        del prewarm
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        ready.write_text(f"failed: the server has {threads} threads after its imports; it must fork from one")
        return
    problem = _self_test(folder)
    if problem:
        ready.write_text(f"failed: {problem}")
        return
    server = _Server(folder)
    ready.write_text("ok")
    server.run()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), json.loads(sys.argv[2]))
