"""Shared fixtures: throw-away copies of the course, each unit graded once per test session.

Every module in tests/units/ that defines `UNIT` is a unit under test. Each unit is released once
(a template course); its submissions are split into jobs of at most JOB_SIZE students; jobs run in
parallel worker processes (one per core), each in its own copy of the template and its gradebook.
With AUTOGRADER_TEST_TIMINGS=<file>, the `graded` fixture writes where its time went there (JSON:
the pipeline's stages summed over every job, and each cell's runs and seconds).
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import pkgutil
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import tests.units
from autograder.grading import gradebook_table, pipeline, sandbox, submissions
from autograder.grading.course import db_url
from autograder.grading.release import release
from tests.units import harness

REPO = Path(__file__).resolve().parents[1]

# nbgrader runs `alembic` and kernels from the environment that runs the tests.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
os.environ.setdefault("MPLBACKEND", "Agg")


def _unit_modules() -> list[str]:
    """Unit modules under test; AUTOGRADER_TEST_UNITS="numerical,symbolic" narrows them while developing."""
    names = [f"tests.units.{m.name}" for m in pkgutil.iter_modules(tests.units.__path__)]
    wanted = [w.strip() for w in os.environ.get("AUTOGRADER_TEST_UNITS", "").split(",") if w.strip()]
    names = [n for n in names if not wanted or n.rsplit(".", 1)[-1] in wanted]
    return sorted(n for n in names if hasattr(importlib.import_module(n), "UNIT"))


UNIT_MODULES = _unit_modules()
UNITS: list[harness.Unit] = [importlib.import_module(name).UNIT for name in UNIT_MODULES]


CELL_TIMEOUT = 10  # seconds: the course's 60 s limit, shortened so that looping submissions grade quickly


def copy_course(target: Path) -> Path:
    """A copy of the course (config and source/, no release/, no runtime folders) at `target`."""
    target.mkdir(parents=True, exist_ok=True)
    config = (REPO / "nbgrader_config.py").read_text()
    (target / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    shutil.copytree(REPO / "source", target / "source")
    return target


# Students per job. Each job pays a worker's start-up (its Python, the course kit, the fork server's imports and
# prewarm): 20 graded every unit's submissions in 246 s against 269 s with 12 (16 jobs instead of 26).
JOB_SIZE = 20
# One job per core: two per core was measured slower (18 min against 16 min for the whole suite).
WORKERS = max(1, os.cpu_count() or 1)


def sandboxed() -> bool:
    """Whether the grading sandbox works here; the tests grade without it (and say so) where it does not."""
    try:
        sandbox.probe()
    except sandbox.SandboxUnavailable as error:
        print(f"NOTE: grading tests run WITHOUT the sandbox: {error}", file=sys.stderr)
        return False
    return True


@dataclass(frozen=True)
class GradedUnit:
    """A unit's gradebook rows by student, and the course folder where each student was graded."""

    rows: dict[str, gradebook_table.Row]
    where: dict[str, Path]


def release_template(module: str, root: Path) -> Path:
    """A course at `root` with the unit's assignment released (once per unit; jobs copy it)."""
    unit = importlib.import_module(module).UNIT
    copy_course(root)
    release(root, [unit.assignment])
    return root


def grade_job(
    module: str, part: int, parts: int, template: Path, root: Path
) -> tuple[dict[str, gradebook_table.Row], dict]:
    """In a copy of the released `template` at `root`: write every `parts`-th of the unit's submissions
    (starting at `part`), grade them with the grading pipeline (sandboxed where the machine allows).
    Returns the gradebook rows by student and where the time went; runs in a worker process.
    """
    unit = importlib.import_module(module).UNIT
    shutil.copytree(template, root)
    released, source = submissions.load_pair(root, unit.assignment)
    everything = harness.build(unit, released, source)
    built = {student: everything[student] for student in list(everything)[part::parts]}
    for student, notebook in built.items():
        submissions.write(root, unit.assignment, student, notebook)
    options = {"jobs": 1, "feedback": False, "cell_timeout": CELL_TIMEOUT, "progress": False}
    reports = pipeline.grade(root, unit.assignment, use_sandbox=sandboxed(), **options)
    failed = [r for r in reports if r.status != "graded"]
    if failed:
        raise RuntimeError(f"the grading pipeline could not grade: {failed}")
    _, rows = gradebook_table.read(db_url(root), unit.assignment)
    timings = {
        "stages": dict(pipeline.STAGES),
        "cells": {f"{unit.assignment}/{k}": v for k, v in pipeline.CELLS.items()},
    }
    timings["submissions"] = len(reports)
    return {row.student: row for row in rows}, timings


@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh course directory with release/ generated by nbgrader for every assignment."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    release(root)
    return root


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradedUnit]:
    """Every unit's submissions (reference, untouched, mutants, alternatives, attacks), autograded once."""
    began = time.perf_counter()
    jobs: dict[str, list[tuple[int, int, Path]]] = {}
    for module, unit in zip(UNIT_MODULES, UNITS, strict=True):
        count = 2 + len(unit.mutants) + len(unit.alternatives) + len(unit.attacks)
        parts = max(1, -(-count // JOB_SIZE))
        name = module.rsplit(".", 1)[-1]
        jobs[module] = [(part, parts, tmp_path_factory.mktemp(f"{name}-{part}") / "course") for part in range(parts)]
    results: dict[str, GradedUnit] = {unit.assignment: GradedUnit({}, {}) for unit in UNITS}
    stages: dict[str, float] = {}
    cells: dict[str, list[float]] = {}
    graded_count = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        # each unit is released once; its grading jobs are queued as soon as its release is done
        releases = {
            pool.submit(
                release_template, module, tmp_path_factory.mktemp(f"{module.rsplit('.', 1)[-1]}-release") / "course"
            ): module
            for module in UNIT_MODULES
        }
        grading = {}
        while releases or grading:
            done, _ = wait([*releases, *grading], return_when=FIRST_COMPLETED)
            for future in done:
                if future in releases:
                    module = releases.pop(future)
                    template = future.result()
                    for part, parts, root in jobs[module]:
                        grading[pool.submit(grade_job, module, part, parts, template, root)] = (module, root)
                    continue
                module, root = grading.pop(future)
                unit = importlib.import_module(module).UNIT
                rows, timings = future.result()
                for student, row in rows.items():
                    results[unit.assignment].rows[student] = row
                    results[unit.assignment].where[student] = root
                graded_count += timings["submissions"]
                for name, seconds in timings["stages"].items():
                    stages[name] = stages.get(name, 0.0) + seconds
                for label, (runs, seconds) in timings["cells"].items():
                    total = cells.setdefault(label, [0, 0.0])
                    total[0], total[1] = total[0] + runs, total[1] + seconds
    report = os.environ.get("AUTOGRADER_TEST_TIMINGS")
    if report:
        summary = {
            "seconds": time.perf_counter() - began,
            "submissions": graded_count,
            "stages": stages,
            "cells": cells,
        }
        Path(report).write_text(json.dumps(summary, indent=1, sort_keys=True))
    return results


def max_points(root: Path, assignment: str) -> dict[str, float]:
    """Points of every test cell of an assignment, from its source notebook."""
    notebook = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in notebook.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    }
