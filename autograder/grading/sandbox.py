"""The sandbox a student's kernel runs in while it is graded: bubblewrap plus resource limits.

The kernel sees a file system made of the operating system (read-only), the Python environment
(read-only), the `autograder` package (read-only) and one scratch folder (its working directory,
writable); not the course (`source/`, `gradebook.db`, other students' work), not /tmp, not home
folders. It has no network (its own network namespace; the grader talks to it over unix sockets in
the scratch folder), its own process namespace (everything dies with the kernel), runs as an
unprivileged user id, and under rlimits: address space, CPU time, processes, file size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import autograder

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt")
FIRST_UID = 1_000_000  # kernels run as user ids from here on (`kernel_uid`): unprivileged, their own rlimit count
THREAD_SLOTS = 8  # worker threads per process with user ids of their own (Dask may run tasks in threads)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student's kernel."""

    memory_bytes: int = 2 * 1024**3  # address space (RLIMIT_AS): a bigger allocation is a MemoryError
    cpu_seconds: int = 900  # CPU time of the whole kernel (RLIMIT_CPU), beyond the per-cell wall clock
    processes: int = 64  # processes and threads of the kernel's user (RLIMIT_NPROC): fork loops stop
    file_bytes: int = 256 * 1024**2  # largest file it may write (RLIMIT_FSIZE)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start on this machine; the message says why and what to do."""


def missing_tools() -> list[str]:
    """Programs the sandbox needs that are not on PATH (bwrap from bubblewrap; setpriv, prlimit from util-linux)."""
    return [tool for tool in ("bwrap", "setpriv", "prlimit") if shutil.which(tool) is None]


def readable_paths() -> list[Path]:
    """Folders a kernel must read: the Python environment and the autograder package."""
    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    paths.add(Path(autograder.__file__).resolve().parent)
    # Keep the outermost folders only: binding a folder twice would hide nothing but costs a mount.
    ordered = sorted(paths, key=lambda p: len(p.parts))
    return [p for i, p in enumerate(ordered) if not any(p.is_relative_to(q) for q in ordered[:i])]


def package_path() -> str:
    """The folder to put on a kernel's PYTHONPATH so that it imports the grader's own `autograder`."""
    return str(Path(autograder.__file__).resolve().parent.parent)


def python_environment(home: Path) -> dict[str, str]:
    """The environment of a sandboxed Python (a kernel, a fork server): nothing of the grader's but what
    Python needs, the autograder on its path, matplotlib's Agg backend, one BLAS thread, `home` as its
    home and temporary folder."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": package_path(),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def kernel_uid(worker_pid: int, slot: int = 0) -> int:
    """The unprivileged user id of a kernel started by the worker process `worker_pid`, in `slot` (0 to
    2 * THREAD_SLOTS - 1: two per worker thread, so that the kernel started ahead for the next student
    never shares the user id of the kernel running now).

    Distinct for every live worker and slot, so one kernel's process limit and `kill_all` never touch another's.
    """
    return FIRST_UID + worker_pid * 2 * THREAD_SLOTS + slot % (2 * THREAD_SLOTS)


def kill_all(uid: int) -> None:
    """Kill every process of user `uid` (a kernel's leftovers: forked children, a fork loop)."""
    if os.geteuid() == 0:
        subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "kill", "-KILL", "-1"],
            capture_output=True,
            check=False,
        )


def _namespaces(writable: Path, cwd: Path) -> list[str]:
    """bwrap's options for the view every sandboxed process gets: its own network, process, IPC and host
    name namespaces, a fresh /tmp, /proc and /dev, the system and the Python environment read-only, and
    `writable` as its only writable mount; `cwd` its working directory."""
    # --die-with-parent: a sandboxed process never outlives the worker that started it (killed, crashed)
    command = ["bwrap", "--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    # ipykernel exits when it sees its parent gone; in a pid namespace its parent pid means nothing.
    command += ["--unsetenv", "JPY_PARENT_PID", "--new-session", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for folder in SYSTEM_DIRS:
        command += ["--ro-bind-try", folder, folder]
    readable = readable_paths()
    # Mount points are created with their host parent's mode; /root is 0700, so open the path up.
    parents = {q for p in (*readable, writable) for q in p.parents if q != Path("/")}
    for folder in sorted(parents, key=lambda q: len(q.parts)):
        command += ["--perms", "0755", "--dir", str(folder)]
    for folder in readable:
        command += ["--ro-bind", str(folder), str(folder)]
    return command + ["--bind", str(writable), str(writable), "--chdir", str(cwd)]


def wrap(argv: list[str], scratch: Path, uid: int, limits: Limits, cwd: Path | None = None) -> list[str]:
    """The command that runs `argv` in the sandbox, with `scratch` as its only writable mount and `cwd`
    (default: `scratch`) as its working directory. What `uid` may write inside `scratch` is up to the caller."""
    command = _namespaces(scratch, cwd or scratch)
    command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
    command += [
        "prlimit",
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_bytes}",
        "--",
    ]
    return command + argv


def server_wrap(argv: list[str], folder: Path) -> list[str]:
    """The command that runs a kernel fork server (`fork_server`) in the sandbox's view, with `folder` (its
    socket and its kernels' scratch folders) writable. The server keeps root's capabilities: every kernel
    it forks makes its own namespaces and mounts with them, then drops them all and becomes its student's
    user (see `fork_server`). The server runs no student code."""
    return [*_namespaces(folder, Path("/tmp")), "--cap-add", "ALL", *argv]


def probe(limits: Limits | None = None) -> None:
    """Start a sandboxed Python once; raises SandboxUnavailable with the reason if it cannot."""
    missing = missing_tools()
    if missing:
        raise SandboxUnavailable(
            f"the grading sandbox needs {', '.join(missing)} on PATH (Debian: apt-get install bubblewrap "
            "util-linux; `make sandbox` does it as root). Install them, or grade with --no-sandbox to run "
            "student code with your own permissions."
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as folder:
        scratch = Path(folder)
        uid = kernel_uid(os.getpid())
        if os.geteuid() == 0:
            os.chown(scratch, uid, uid)
        code = "import numpy, autograder.runtime; print('ok')"
        try:
            done = subprocess.run(
                wrap([sys.executable, "-c", code], scratch, uid, limits or Limits()),
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "PYTHONPATH": package_path()},
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"the grading sandbox did not start: {error}") from error
    if done.returncode != 0 or done.stdout.strip() != "ok":
        raise SandboxUnavailable(
            "the grading sandbox did not start (bubblewrap needs root or unprivileged user namespaces, and "
            f"setpriv needs root): {(done.stderr or done.stdout).strip()[-500:]}. Fix that, or grade with "
            "--no-sandbox to run student code with your own permissions."
        )
