"""Benchmark of the course's checks (not a test): the seconds of every test cell of every unit.

For each unit in source/ it runs the instructor notebook (reference solutions filled in, hidden tests
included) cell by cell in one plain Jupyter kernel with nbclient, no sandbox, after the warm-up
imports the grader's kernels make (`autograder.grading.worker_grading.warmup_modules`, not timed),
and times each graded test cell in the three modes of `autograder.runtime`:

* collect: the kernel starts with AUTOGRADER_RECORDS set, as the grader starts a student's kernel
  (`autograder.grading.execution.kernel_environment`): the checks observe and record only;
* judge: the grader's half, in this process: each test cell runs again in judge mode on the records
  the collecting kernel wrote (`autograder.grading.trusted_judge.judge_cell`), timed the second
  time (a worker judges many submissions: one-off imports are paid once);
* plain: the kernel starts without the variable: observe and judge in the kernel, what a student
  sees when running the notebook.

It prints one table per unit, slowest test cell first (collect, judge, plain seconds), and the total
of each unit. Seconds are CPU seconds by default (of the kernel's process, read by a probe cell
before and after each test cell; of this process for the judge), which other work on a shared
machine disturbs far less than wall seconds (--clock wall). With --prewarm, each kernel first runs
`autograder.checks.kit.prewarm` on the unit's test cells (`prewarm.test_cells`, untimed), as a fork
server could once for all the kernels it forks: the checks' caches (random draws, lambdified
functions) are then warm.

With --profile it runs the notebook's cells in this process instead (exec'd in order in one
namespace, no IPython) and profiles the named test cells with cProfile: their collect half, then
their judge half (its second run: a worker's judge is warm), or the whole cell with --profile-mode
plain; it prints the hot functions of each.

Run from the repository root, e.g.

    python benchmarks/check_cost.py                      # every unit, all three modes
    python benchmarks/check_cost.py 02_symbolic --modes collect,judge
    python benchmarks/check_cost.py 01_numerical --profile forward_difference --profile-top 25

Even CPU seconds vary by some percent between runs on a loaded machine: compare runs made back to
back (or use --repeat N, which keeps each cell's fastest time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source"
RECORDS_VARIABLE = "AUTOGRADER_RECORDS"  # autograder.runtime.RECORDS_VARIABLE (not imported: see below)
PREWARM = False  # --prewarm: fill the checks' caches in each kernel before the notebook runs (not timed)
CLOCK = "cpu"  # or "wall" (--clock): CPU seconds are steadier on a machine shared with other work
KERNEL_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def units(selected: list[str]) -> list[Path]:
    """The source notebooks of the selected units (all of them when none is named)."""
    found = sorted(p for p in SOURCE.glob("0*/*.ipynb"))
    if not selected:
        return found
    chosen = [p for p in found if p.parent.name in selected or p.parent.name.split("_", 1)[-1] in selected]
    if len(chosen) != len(selected):
        raise SystemExit(f"unknown unit among {selected}; units: {[p.parent.name for p in found]}")
    return chosen


def test_cell_id(cell: nbformat.NotebookNode) -> str | None:
    """The grade id of a graded test cell (graded, not a solution), else None (as the grader reads it)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
        return str(meta.get("grade_id"))
    return None


def run_in_kernel(path: Path, records: str | None, timeout: int = 600) -> dict[str, float]:
    """Run the notebook cell by cell in a fresh kernel; the seconds of each test cell by grade id.

    With `records`, the kernel's environment names that record file (collect mode)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    env = {**os.environ, **KERNEL_THREADS}
    env.pop(RECORDS_VARIABLE, None)
    if records is not None:
        env[RECORDS_VARIABLE] = records
    seconds: dict[str, float] = {}
    with client.setup_kernel(env=env):
        # The grader's kernels import these before any student code (`warmup_modules`): not timed.
        client.execute_cell(nbformat.v4.new_code_cell(_warmup_code(path)), 0)
        if PREWARM:  # what a fork server could do once for all its kernels (autograder.checks.kit.prewarm)
            from autograder.checks.kit.prewarm import test_cells

            code = f"from autograder.checks.kit.prewarm import prewarm as _p\n_p({test_cells(notebook)!r})\ndel _p"
            client.execute_cell(nbformat.v4.new_code_cell(code), 0)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            cell_id = test_cell_id(cell)
            start = _kernel_cpu(client) if CLOCK == "cpu" and cell_id else time.perf_counter()
            client.execute_cell(cell, index)
            elapsed = (_kernel_cpu(client) if CLOCK == "cpu" and cell_id else time.perf_counter()) - start
            if cell_id is not None:
                errors = [o for o in cell.outputs if o.output_type == "error"]
                if errors:
                    print(f"  ! {path.parent.name}:{cell_id} raised {errors[0].ename}: {errors[0].evalue[:200]}")
                seconds[cell_id] = elapsed
    return seconds


def warmup(path: Path) -> tuple[str, ...]:
    """The modules the grader imports into a kernel before any student code, for this unit."""
    from autograder.grading.worker_grading import warmup_modules

    return warmup_modules(ROOT, path.parent.name)


def _warmup_code(path: Path) -> str:
    return (
        "import importlib as _warm\n"
        f"for _module in {warmup(path)!r}:\n"
        "    try:\n"
        "        _warm.import_module(_module)\n"
        "    except Exception:\n"
        "        pass\n"
        "del _warm, _module\n"
    )


def _kernel_cpu(client: NotebookClient) -> float:
    """The kernel process's CPU seconds so far (read by a cell of its own, between the notebook's cells)."""
    probe = nbformat.v4.new_code_cell("print(repr(__import__('time').process_time()))")
    client.execute_cell(probe, 0)
    return float("".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream").strip())


def _clock() -> float:
    return time.process_time() if CLOCK == "cpu" else time.perf_counter()


def judge_in_process(path: Path, records_path: str) -> dict[str, float]:
    """Judge every test cell of the notebook in this process on the kernel's records (the grader's half)."""
    from autograder import runtime
    from autograder.grading.trusted_judge import judge_cell

    records = runtime.read_records(records_path)
    notebook = nbformat.read(path, as_version=4)
    exec(_warmup_code(path), {})
    seconds: dict[str, float] = {}
    for cell in notebook.cells:
        cell_id = test_cell_id(cell)
        if cell_id is None:
            continue
        # A worker judges many submissions: the first judgement pays one-off imports, not timed.
        judge_cell(cell.source, cell_id, records)
        start = _clock()
        verdict = judge_cell(cell.source, cell_id, records)
        seconds[cell_id] = _clock() - start
        if verdict is not None:
            print(f"  ! {path.parent.name}:{cell_id} failed in judge mode: {verdict[:300]}")
    return seconds


def measure(path: Path, modes: list[str]) -> dict[str, dict[str, float]]:
    """Seconds per test cell in each mode."""
    result: dict[str, dict[str, float]] = {}
    if "collect" in modes or "judge" in modes:
        handle, records = tempfile.mkstemp(prefix="check-cost-", suffix=".records.jsonl")
        os.close(handle)
        try:
            collected = run_in_kernel(path, records)
            if "collect" in modes:
                result["collect"] = collected
            if "judge" in modes:
                result["judge"] = judge_in_process(path, records)
        finally:
            os.remove(records)
    if "plain" in modes:
        result["plain"] = run_in_kernel(path, None)
    return result


def best_of(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per mode and cell, the fastest of several runs."""
    best: dict[str, dict[str, float]] = {}
    for run in runs:
        for mode, cells in run.items():
            for cell, seconds in cells.items():
                best.setdefault(mode, {})[cell] = min(seconds, best.get(mode, {}).get(cell, float("inf")))
    return best


def print_table(unit: str, timings: dict[str, dict[str, float]], modes: list[str]) -> None:
    """One line per test cell, slowest first (by the first mode measured)."""
    key = modes[0]
    cells = sorted(timings[key], key=lambda c: -timings[key][c])
    print(f"\n{unit}" + "".join(f"{m:>10}" for m in modes))
    for cell in cells:
        print(f"  {cell:<28}" + "".join(f"{timings[m].get(cell, float('nan')):10.3f}" for m in modes))
    print(f"  {'total':<28}" + "".join(f"{sum(timings[m].values()):10.3f}" for m in modes))


def profile_cells(path: Path, cell_ids: list[str], mode: str, top: int) -> None:
    """Run the notebook's cells in this process (no IPython) and profile the named test cells."""
    from autograder import runtime

    if mode == "collect":
        runtime.start_collecting(os.devnull)
    exec(_warmup_code(path), {})
    notebook = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            cell_id = test_cell_id(cell)
            code = compile(cell.source, f"<{path.parent.name}:{cell_id or 'cell'}>", "exec")
            if cell_id not in cell_ids:
                with io.StringIO() as sink:
                    saved, sys.stdout = sys.stdout, sink
                    try:
                        exec(code, namespace)
                    finally:
                        sys.stdout = saved
                continue
            with io.StringIO() as sink:
                saved, sys.stdout = sys.stdout, sink
                try:
                    if mode == "collect":  # the kernel's half, then the grader's half on its records
                        handle, records = tempfile.mkstemp(suffix=".jsonl")
                        os.close(handle)
                        halves = {
                            "collect": partial(_collect, code, namespace, records),
                            "judge": partial(_judge_recorded, cell.source, cell_id, records),
                        }
                    else:
                        halves = {"plain": partial(exec, code, namespace)}
                    profiles = {"collect": _profiled(halves["collect"])} if mode == "collect" else {}
                    if mode == "collect":  # a worker judges many submissions: profile a warm judge
                        halves["judge"]()
                    profiles.update((half, _profiled(run)) for half, run in halves.items() if half not in profiles)
                    if mode == "collect":
                        os.remove(records)
                finally:
                    sys.stdout = saved
            for half, (seconds, profiler) in profiles.items():
                print(f"\n=== {path.parent.name}:{cell_id} ({half}), {seconds:.3f} s in-process")
                stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
                stats.print_stats(top)
                stats.sort_stats("tottime").print_stats(top)
    finally:
        os.chdir(cwd)


def _profiled(run: object) -> tuple[float, cProfile.Profile]:
    """Run `run()` under cProfile: its seconds and the profile."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    try:
        run()
    finally:
        profiler.disable()
    return time.perf_counter() - start, profiler


def _collect(code: object, namespace: dict, records: str) -> None:
    """Run a test cell in collect mode into `records` (no IPython here: the cell key is empty)."""
    from autograder import runtime

    saved = runtime._state.sink
    runtime._state.sink = open(records, "a", encoding="utf-8")  # noqa: SIM115
    runtime._state.counts.pop("", None)
    try:
        exec(code, namespace)
    finally:
        runtime._state.sink.close()
        runtime._state.sink = saved


def _judge_recorded(source: str, cell_id: str, records: str) -> None:
    """Judge a test cell on the records `_collect` wrote (under the empty cell key)."""
    from autograder import runtime
    from autograder.grading.trusted_judge import judge_cell

    judge_cell(source, cell_id, {runtime.cell_key(source): runtime.read_records(records).get("", [])})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("units", nargs="*", help="unit folders of source/ (default: all), e.g. 02_symbolic")
    parser.add_argument("--modes", default="collect,judge,plain", help="comma-separated: collect, judge, plain")
    parser.add_argument("--repeat", type=int, default=1, help="runs per unit; each cell's fastest is kept")
    parser.add_argument(
        "--clock", default="cpu", choices=("cpu", "wall"), help="CPU seconds of the kernel (default) or wall seconds"
    )
    parser.add_argument("--profile", default="", help="comma-separated test cell ids to profile in-process")
    parser.add_argument("--profile-mode", default="collect", choices=("collect", "plain"))
    parser.add_argument("--profile-top", type=int, default=20)
    parser.add_argument(
        "--prewarm",
        action="store_true",
        help="run autograder.checks.kit.prewarm on the unit's test cells in each kernel first (not timed): "
        "the state a fork server could hand every kernel",
    )
    args = parser.parse_args()
    global CLOCK, PREWARM
    CLOCK, PREWARM = args.clock, args.prewarm
    modes = [m for m in args.modes.split(",") if m]
    paths = units(args.units)
    if args.profile:
        for path in paths:
            profile_cells(path, args.profile.split(","), args.profile_mode, args.profile_top)
        return
    grand = dict.fromkeys(modes, 0.0)
    for path in paths:
        timings = best_of([measure(path, modes) for _ in range(args.repeat)])
        print_table(path.parent.name, timings, modes)
        for mode in modes:
            grand[mode] += sum(timings[mode].values())
    print("\nall units" + "".join(f"{m:>10}" for m in modes))
    print(f"  {'total':<28}" + "".join(f"{grand[m]:10.3f}" for m in modes))


if __name__ == "__main__":
    main()
