"""Benchmark of the grading pipeline (not a test): N demo submissions of one assignment graded three ways.

1. stock `nbgrader autograde ASSIGNMENT` (nbgrader's own command, its default preprocessors, sequential);
2. `autograder grade ASSIGNMENT --jobs 1` (sandboxed kernels, trusted judge, one worker);
3. `autograder grade ASSIGNMENT --jobs 2`.

Each way grades a fresh copy of the course holding the same submissions (reference, half-done and
untouched samples, repeated). Prints, in one run, wall seconds per submission, the coordinating
process's own CPU seconds per submission (`getrusage(RUSAGE_SELF)`, kernels and workers excluded) and
where the time went per stage.

Run from the repository root: `python benchmarks/grading_pipeline.py [--count 24] [--assignment 01_numerical]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.grading import submissions
from autograder.grading.release import release

REPO = Path(__file__).resolve().parents[1]


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
        submissions.write(target, assignment, f"student-{number:03d}", notebook)
    return target


def inner(way: str, root: Path, assignment: str) -> None:
    """Grade in this process (run as a child of the benchmark) and print one JSON line: the coordinator's
    own CPU seconds (`getrusage(RUSAGE_SELF)`, children excluded) and the pipeline's stages."""
    import contextlib
    import io
    import json
    import resource

    os.chdir(root)
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    log = io.StringIO()
    stages: dict[str, float] = {}
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        if way == "stock":
            from nbgrader.apps.nbgraderapp import NbGraderApp

            with contextlib.suppress(SystemExit):
                NbGraderApp.launch_instance(argv=["autograde", assignment])
        else:
            from autograder.cli import main as cli
            from autograder.grading import pipeline

            cli(["grade", assignment, *way.split()])
            stages = dict(pipeline.STAGES)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        json.dumps({"cpu": cpu, "wall": time.perf_counter() - began, "stages": stages, "log": log.getvalue()[-3000:]})
    )


def measured(way: str, root: Path, assignment: str) -> dict:
    """Run `inner` in a fresh interpreter; its JSON plus the wall time of the whole process."""
    import json

    start = time.perf_counter()
    command = [sys.executable, __file__, "--inner", way, "--root", str(root), "--assignment", assignment]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{way} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = seconds
    return figures


def stage_line(stages: dict[str, float], count: int) -> str:
    """The per-submission breakdown: worker stages first, then the coordinator's, in seconds."""
    order = sorted(stages, key=lambda name: (not name.startswith("worker"), -stages[name]))
    return ", ".join(f"{name} {stages[name] / count:.3f}" for name in order if stages[name] / count >= 0.0005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--assignment", default="01_numerical")
    parser.add_argument("--skip-stock", action="store_true", help="leave stock nbgrader out (it is the slowest way)")
    parser.add_argument("--inner", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    if args.inner:
        inner(args.inner, args.root, args.assignment)
        return
    ways = [
        ("stock nbgrader autograde", "stock", True),
        ("autograder grade --jobs 1", "--jobs 1", False),
        ("autograder grade --jobs 2", "--jobs 2", False),
    ]
    if args.skip_stock:
        ways = ways[1:]
    figures = {}
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as folder:
        for number, (name, way, stock) in enumerate(ways):
            root = course_with_submissions(Path(folder) / f"course{number}", args.assignment, args.count, stock)
            print(f"{name}: grading {args.count} submissions ...", flush=True)
            figures[name] = measured(way, root, args.assignment)
    count = args.count
    print()
    print(f"{count} submissions of {args.assignment} (a third complete, a third half-done, a third untouched)")
    print(f"{'way':<28} {'wall s':>7} {'s / sub':>8} {'vs stock':>9} {'coord CPU s / sub':>18}")
    stock_time = figures.get("stock nbgrader autograde", {}).get("process")
    for name, data in figures.items():
        total = data["process"]
        ratio = f"{stock_time / total:8.2f}x" if stock_time else f"{'-':>9}"
        print(f"{name:<28} {total:7.1f} {total / count:8.2f} {ratio} {data['cpu'] / count:18.3f}")
    print("\nper submission, seconds (worker stages summed over workers; coordinator stages are its wall time):")
    for name, data in figures.items():
        if data["stages"]:
            print(f"  {name}: {stage_line(data['stages'], count)}")
    jobs1, jobs2 = figures["autograder grade --jobs 1"]["process"], figures["autograder grade --jobs 2"]["process"]
    print(f"\nspeed-up of --jobs 2 over --jobs 1: {jobs1 / jobs2:.2f}x on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
