"""Benchmark of the grading pipeline (not a test): N demo submissions of one assignment graded four ways.

1. stock `nbgrader autograde ASSIGNMENT` (nbgrader's own command, its default preprocessors, sequential);
2. `autograder grade ASSIGNMENT --jobs 1` (sandboxed kernels, trusted judge, one worker);
3. `autograder grade ASSIGNMENT --jobs 2`;
4. `autograder grade ASSIGNMENT --scheduler tcp://...`: a local `dask scheduler` and two `dask worker`
   processes (one thread each), started by the benchmark (left out when the `dask` command is missing).

Each way grades a fresh copy of the course holding the same submissions (reference, half-done and
untouched samples, repeated). Prints, in one run, wall seconds per submission, the coordinating
process's own CPU seconds per submission (`getrusage(RUSAGE_SELF)`, kernels and workers excluded: in
total, start-up and imports included, and while grading, which is what grows with the class) and
where the time went per stage, per submission.

`--students N` grades one class of N students in one run (`--jobs 2`, or `--dask`) and reports the
coordinator's and the workers' memory as the class goes (resident set size after 10 %, 50 % and 100 %
of the class, and the peaks) and the time projected for 7,000 notebooks from the measured rate.

Run from the repository root: `python benchmarks/grading_pipeline.py [--count 24] [--assignment 01_numerical]`
or `python benchmarks/grading_pipeline.py --students 100`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from autograder.grading import submissions
from autograder.grading.release import release

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_IN_A_COURSE = 7000  # 1,000 students, seven assignments

# The per-stage columns: (heading, stage names summed into it). Worker stages are summed over workers.
COLUMNS = (
    ("kernel start", ("worker: kernel start",)),
    ("executing", ("worker: executing",)),
    ("judging, scoring", ("worker: sanitizing, judging, scoring (nbgrader autograde)",)),
    ("feedback", ("worker: feedback",)),
    ("gradebook", ("gradebook",)),
)


def course_with_submissions(target: Path, assignment: str, count: int, stock: bool) -> Path:
    """A course copy at `target` with `count` submissions; `stock` drops the course's own nbgrader settings."""
    target.mkdir(parents=True)
    shutil.copytree(REPO / "source", target / "source")
    if stock:
        (target / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(target)!r}\n"
            f"c.IncludeHeaderFooter.header = {str(target / 'source' / 'header.ipynb')!r}\n"
            f"c.Exchange.root = {str(target / 'exchange')!r}\n"
        )
    else:
        shutil.copy(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    release(target, [assignment])
    released, source = submissions.load_pair(target, assignment)
    cells = list(submissions.solution_cells(source))
    kinds = [None, cells[: (len(cells) + 1) // 2], []]
    for number in range(count):
        notebook = submissions.fill(released, source, kinds[number % 3])
        submissions.write(target, assignment, f"student-{number:04d}", notebook)
    return target


def inner(way: str, root: Path, assignment: str) -> None:
    """Grade in this process (run as a child of the benchmark) and print one JSON line: the coordinator's
    own CPU seconds (`getrusage(RUSAGE_SELF)`, children excluded), its peak memory and the pipeline's stages."""
    import io
    import resource

    os.chdir(root)
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    log = io.StringIO()
    stages: dict[str, float] = {}
    cpu_parts: dict[str, float] = {}
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        if way == "stock":
            from nbgrader.apps.nbgraderapp import NbGraderApp

            with contextlib.suppress(SystemExit):
                NbGraderApp.launch_instance(argv=["autograde", assignment])
        else:
            from autograder.cli import main as cli
            from autograder.grading import pipeline

            cli(["grade", assignment, *way.split()])
            stages, cpu_parts = dict(pipeline.STAGES), dict(getattr(pipeline, "CPU", {}))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures = {
        "cpu": cpu,
        "cpu_parts": cpu_parts,
        "wall": time.perf_counter() - began,
        "stages": stages,
        "peak_rss_mb": after.ru_maxrss / 1024,
        "log": log.getvalue()[-3000:],
    }
    print(json.dumps(figures))


def _rss_mb(pid: int) -> float:
    """The resident set size of process `pid` now, in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    """The direct child processes of `pid`."""
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


class MemoryWatch:
    """Samples the coordinator's and the workers' resident memory every second while a class is graded, and
    notes it when the count of graded submissions (results/ files) passes each of `marks`."""

    def __init__(self, root: Path, assignment: str, marks: list[int], workers: list[int] | None = None) -> None:
        self.root, self.assignment, self.marks = root, assignment, sorted(marks)
        self.fixed_workers = workers  # Dask workers; else the coordinator's Python children
        self.pid = 0
        self.samples: list[tuple[int, float, float]] = []  # (graded, coordinator MB, largest worker MB)
        self.peak_worker = 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self, pid: int) -> None:
        self.pid = pid
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(5)

    def _workers(self) -> list[int]:
        if self.fixed_workers is not None:
            return self.fixed_workers
        return [c for c in _children(self.pid) if "python" in Path(f"/proc/{c}/comm").read_text(errors="ignore")]

    def _watch(self) -> None:
        folder = self.root / "results" / self.assignment
        pending = list(self.marks)
        while not self.done.wait(1.0):
            with contextlib.suppress(OSError):
                workers = max((_rss_mb(w) for w in self._workers()), default=0.0)
                self.peak_worker = max(self.peak_worker, workers)
                graded = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
                while pending and graded >= pending[0]:
                    self.samples.append((pending.pop(0), _rss_mb(self.pid), workers))


def measured(way: str, root: Path, assignment: str, watch: MemoryWatch | None = None) -> dict:
    """Run `inner` in a fresh interpreter; its JSON plus the wall time of the whole process."""
    start = time.perf_counter()
    command = [sys.executable, __file__, "--inner", way, "--root", str(root), "--assignment", assignment]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if watch is not None:
        watch.start(process.pid)
    try:
        stdout, stderr = process.communicate()
    finally:
        if watch is not None:
            watch.stop()
    seconds = time.perf_counter() - start
    if process.returncode != 0 or not stdout.strip():
        raise SystemExit(f"{way} failed:\n{stderr[-3000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["process"] = seconds
    return figures


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[int]]]:
    """A local `dask scheduler` and `workers` single-threaded `dask worker` processes: (address, worker pids)."""
    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    if dask is None:
        raise RuntimeError("the `dask` command is not installed (pip install distributed)")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    processes = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    try:
        for _ in range(workers):
            processes.append(
                subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny"], **quiet)
            )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, [p.pid for p in processes[1:]]
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def stage_line(stages: dict[str, float], count: int) -> str:
    """The full per-submission breakdown: worker stages first, then the coordinator's, in seconds."""
    order = sorted(stages, key=lambda name: (not name.startswith("worker"), -stages[name]))
    return ", ".join(f"{name} {stages[name] / count:.3f}" for name in order if stages[name] / count >= 0.0005)


def load() -> str:
    """The machine's load averages (1, 5, 15 min): the machine is shared."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def compare(args: argparse.Namespace) -> None:
    """Grade `args.count` submissions each way and print the side-by-side table."""
    ways = [
        ("stock nbgrader autograde", "stock", True),
        ("autograder grade --jobs 1", "--jobs 1", False),
        ("autograder grade --jobs 2", "--jobs 2", False),
        ("autograder grade, Dask (2 workers)", "dask", False),
    ]
    if args.skip_stock:
        ways = [w for w in ways if w[1] != "stock"]
    if args.skip_dask:
        ways = [w for w in ways if w[1] != "dask"]
    if args.only:
        ways = [w for w in ways if w[1].removeprefix("--jobs ") in args.only.split(",")]
    figures: dict[str, dict] = {}
    loads: dict[str, str] = {}
    count = args.count
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as folder:
        for number, (name, way, stock) in enumerate(ways):
            root = course_with_submissions(Path(folder) / f"course{number}", args.assignment, count, stock)
            print(f"{name}: grading {count} submissions ... ({load()})", flush=True)
            if way == "dask":
                try:
                    with dask_cluster(Path(folder)) as (address, _):
                        figures[name] = measured(f"--scheduler {address}", root, args.assignment)
                except RuntimeError as error:
                    print(f"  left out: {error}")
                    continue
            else:
                figures[name] = measured(way, root, args.assignment)
            loads[name] = load()
    print()
    print(f"{count} submissions of {args.assignment} (a third complete, a third half-done, a third untouched)")
    print("coordinator CPU: the grading process's own CPU seconds per submission, in total (imports and start-up")
    print("included) and while grading (what grows with the class); stages: seconds per submission, worker stages")
    print("summed over the workers, gradebook is the coordinator's wall time recording scores")
    heads = "".join(f" {h:>10}" for h, _ in COLUMNS)
    print(f"\n{'way':<36} {'wall s':>7} {'s / sub':>8} {'vs stock':>9} {'coord CPU':>10} {'grading':>8}{heads}  load")
    stock_time = figures.get("stock nbgrader autograde", {}).get("process")
    for name, data in figures.items():
        total = data["process"]
        ratio = f"{stock_time / total:8.2f}x" if stock_time else f"{'-':>9}"
        grading = data.get("cpu_parts", {}).get("grading")
        grading_text = f"{grading / count:8.3f}" if grading is not None else f"{'-':>8}"
        cells = ""
        for _, names in COLUMNS:
            value = sum(data["stages"].get(n, 0.0) for n in names)
            cells += f" {value / count:10.3f}" if data["stages"] else f" {'-':>10}"
        print(
            f"{name:<36} {total:7.1f} {total / count:8.2f} {ratio} {data['cpu'] / count:10.3f} {grading_text}{cells}"
            f"  {loads[name]}"
        )
    print("\nevery stage, per submission, seconds:")
    for name, data in figures.items():
        if data["stages"]:
            print(f"  {name}: {stage_line(data['stages'], count)}")
    one, two = figures.get("autograder grade --jobs 1"), figures.get("autograder grade --jobs 2")
    if one and two:
        print(f"\nspeed-up of --jobs 2 over --jobs 1: {one['process'] / two['process']:.2f}x on {os.cpu_count()} cores")


def large_class(args: argparse.Namespace) -> None:
    """Grade one class of `args.students` in one run; memory as it goes, and the projection for 7,000 notebooks."""
    count = args.students
    marks = sorted({max(1, count // 10), max(1, count // 2), count})
    with tempfile.TemporaryDirectory(prefix="grading-large-class-") as folder:
        began = time.perf_counter()
        root = course_with_submissions(Path(folder) / "course", args.assignment, count, stock=False)
        print(f"{count} students of {args.assignment} written in {time.perf_counter() - began:.0f} s; grading ...")
        print(f"  at start: {load()}", flush=True)
        if args.dask:
            with dask_cluster(Path(folder)) as (address, pids):
                watch = MemoryWatch(root, args.assignment, marks, workers=pids)
                figures = measured(f"--scheduler {address}", root, args.assignment, watch)
            way = "Dask, 2 workers"
        else:
            watch = MemoryWatch(root, args.assignment, marks)
            figures = measured(f"--jobs {args.jobs}", root, args.assignment, watch)
            way = f"--jobs {args.jobs}"
        graded = len(list((root / "results" / args.assignment).glob("*.json")))
        print(f"  at end: {load()}")
    total = figures["process"]
    each = total / count
    print(f"\n{count} students of {args.assignment} graded in one run ({way}), {graded} results written")
    print(f"wall {total:.0f} s: {each:.2f} s per submission")
    grading = figures.get("cpu_parts", {}).get("grading", 0.0)
    print(f"coordinator CPU {figures['cpu']:.1f} s in total ({figures['cpu'] / count:.3f} s per submission), ")
    print(f"  of which grading {grading:.1f} s ({grading / count:.3f} s per submission)")
    print(
        f"peak resident memory: coordinator {figures['peak_rss_mb']:.0f} MB, largest worker {watch.peak_worker:.0f} MB"
    )
    print("resident memory as the class is graded (coordinator, largest worker):")
    for done, coordinator, worker in watch.samples:
        print(f"  after {done:>5} graded: {coordinator:6.0f} MB, {worker:6.0f} MB")
    hours = each * NOTEBOOKS_IN_A_COURSE / 3600
    print(
        f"projected for {NOTEBOOKS_IN_A_COURSE} notebooks (1,000 students x 7 assignments) at this rate on this "
        f"machine: {hours:.1f} h (from the measured {each:.2f} s per submission; this benchmark did not grade 7,000)"
    )
    print(f"per submission: {stage_line(figures['stages'], count)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--assignment", default="01_numerical")
    parser.add_argument("--skip-stock", action="store_true", help="leave stock nbgrader out (it is the slowest way)")
    parser.add_argument("--skip-dask", action="store_true", help="leave the Dask cluster out")
    parser.add_argument("--only", default="", help="comma-separated ways to run: stock, 1, 2, dask")
    parser.add_argument("--students", type=int, default=0, help="grade one class of this many students instead")
    parser.add_argument("--jobs", type=int, default=2, help="local workers for --students")
    parser.add_argument("--dask", action="store_true", help="grade --students on a local Dask cluster")
    parser.add_argument("--inner", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    if args.inner:
        inner(args.inner, args.root, args.assignment)
    elif args.students:
        large_class(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
