"""Benchmark of the grading pipeline (not a test): N demo submissions of one assignment graded three ways.

1. stock `nbgrader autograde ASSIGNMENT` (nbgrader's own command, its default preprocessors, sequential);
2. `autograder grade ASSIGNMENT --jobs 1` (sandboxed kernels, trusted judge, one worker);
3. `autograder grade ASSIGNMENT --jobs 2`.

Each way grades a fresh copy of the course holding the same submissions (reference, half-done and
untouched samples, repeated). Prints seconds per submission and the ratios, in one run.

Run from the repository root: `python benchmarks/grading_pipeline.py [--count 40] [--assignment 01_numerical]`.
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


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--assignment", default="01_numerical")
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    bin_dir = Path(sys.executable).parent
    ways = [
        ("stock nbgrader autograde (sequential)", [str(bin_dir / "nbgrader"), "autograde", args.assignment], True),
        ("autograder grade --jobs 1", [str(bin_dir / "autograder"), "grade", args.assignment, "--jobs", "1"], False),
        ("autograder grade --jobs 2", [str(bin_dir / "autograder"), "grade", args.assignment, "--jobs", "2"], False),
    ]
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as folder:
        for number, (name, command, stock) in enumerate(ways):
            root = course_with_submissions(Path(folder) / f"course{number}", args.assignment, args.count, stock)
            print(f"{name}: grading {args.count} submissions ...", flush=True)
            seconds[name] = timed(command, root)
    print()
    print(f"{'way':<40} {'total s':>9} {'s / submission':>15} {'vs stock':>9}")
    stock_time = seconds[ways[0][0]]
    for name, total in seconds.items():
        print(f"{name:<40} {total:9.1f} {total / args.count:15.2f} {stock_time / total:8.2f}x")
    jobs1, jobs2 = seconds[ways[1][0]], seconds[ways[2][0]]
    print(f"\nspeed-up of --jobs 2 over --jobs 1: {jobs1 / jobs2:.2f}x on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
