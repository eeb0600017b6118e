"""The grading pipeline: every submission of an assignment, executed in parallel, judged and recorded here.

For each student with `submitted/<student>/<assignment>/`:

1. check: every notebook of the assignment is there, is a notebook, and is this assignment's (not
   another's); otherwise the submission is flagged with the reason and left alone (an earlier grade
   stays in the gradebook);
2. sanitize (this process, nbgrader's own preprocessors with no execution): test and locked cells
   restored from the gradebook, deleted ones re-inserted, duplicates dropped;
3. execute (a worker: a local process, or a Dask worker with `--scheduler`): the sanitized notebook
   runs in a fresh sandboxed kernel (`execution.execute`); workers return plain data;
4. autograde (this process, nbgrader's autograde with `ReplayExecution` in place of `Execute`):
   the worker's outputs and records are judged by `JudgeRecords`, grades saved, feedback written.

Only this coordinating process writes the gradebook, one submission at a time, as soon as its
execution arrives: an interrupted run loses nothing graded so far, and the next run regrades only
submissions whose files (or the assignment's source) changed. A lock file refuses a second run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import queue
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor

from autograder.grading import execution, recovery, replay
from autograder.grading.course import load_config, nbgrader_api
from autograder.grading.progress import ProgressBar
from autograder.reporting import results

LOCK_FILE = ".autograder-grading.lock"
STATE_FILE = ".autograder-state.json"  # in autograded/: what was graded, from which files
STATUS_FILE = ".autograder-status.json"  # in autograded/: each submission's last status and why (grades.csv)
TICK_SECONDS = 2.0  # how often the progress display is refreshed while submissions run


class GradingBusy(RuntimeError):
    """Another `autograder grade` is running on this course."""


@dataclass
class Report:
    """What happened to one submission: graded (with notes), skipped as unchanged, or flagged."""

    student: str
    status: str  # "graded", "unchanged", "flagged", "failed"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False  # a notebook ran out of its time bound and was killed
    slowest: list[tuple[str, float]] = field(default_factory=list)  # its slowest cells (label, seconds)


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold the course's grading lock; raises GradingBusy if another run holds it."""
    handle = open(root / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise GradingBusy(
                f"another `autograder grade` is running on {root} (lock {LOCK_FILE}); wait for it to finish"
            ) from error
        yield
    finally:
        handle.close()


def notebook_names(root: Path, assignment: str) -> list[str]:
    """The assignment's notebooks (names without .ipynb), from source/."""
    return sorted(p.stem for p in (root / "source" / assignment).glob("*.ipynb"))


def students(root: Path, assignment: str) -> list[str]:
    """Students with a submission folder for `assignment`."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


def problems(root: Path, assignment: str, student: str) -> list[str]:
    """Why this submission cannot be graded (empty if it can)."""
    folder = root / "submitted" / student / assignment
    found = []
    for name in notebook_names(root, assignment):
        path = folder / f"{name}.ipynb"
        if not path.exists():
            others = sorted(p.name for p in folder.glob("*.ipynb"))
            found.append(f"no {name}.ipynb in the submission (it has {others or 'no notebook'})")
            continue
        if path.stat().st_size == 0:
            found.append(f"{name}.ipynb is an empty file")
            continue
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises JSON, validation and version errors
            found.append(f"{name}.ipynb is not a readable notebook ({type(error).__name__}: {str(error)[:120]})")
    return found


def unrecognised(root: Path, assignment: str, student: str) -> list[str]:
    """Why a readable submission cannot be graded: a notebook with none of the assignment's cells (empty if none)."""
    return [
        recovery.unmatched_message(name, assignment)
        for name, found in recovered(root, assignment, student).items()
        if not found.found
    ]


def recovered(root: Path, assignment: str, student: str) -> dict[str, recovery.Recovery]:
    """Per notebook name: the submitted notebook with the assignment's cells recognised (`recovery.recover`)."""
    folder = root / "submitted" / student / assignment
    found = {}
    for name in notebook_names(root, assignment):
        submitted = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        reference = recovery.reference_notebook(root, assignment, name)
        found[name] = recovery.recover(submitted, reference) if reference is not None else recovery.Recovery(submitted)
    return found


def foreign_assignment(root: Path, assignment: str, student: str) -> str | None:
    """The other assignment whose test cells a submitted notebook carries instead of this one's, if any."""
    folder = root / "submitted" / student / assignment
    for name in notebook_names(root, assignment):
        submitted = test_ids(folder / f"{name}.ipynb")
        if submitted & test_ids(root / "source" / assignment / f"{name}.ipynb"):
            continue
        for other in sorted((root / "source").glob("*/*.ipynb")):
            if other.parent.name != assignment and submitted & test_ids(other):
                return other.parent.name
    return None


def test_ids(path: Path | nbformat.NotebookNode) -> set[str]:
    """Grade ids of the cells a notebook (file) marks as test cells (whatever their cell type)."""
    notebook = nbformat.read(path, as_version=4) if isinstance(path, Path) else path
    cells = (c.get("metadata", {}).get("nbgrader", {}) for c in notebook.cells)
    return {str(m["grade_id"]) for m in cells if m.get("grade") and not m.get("solution") and "grade_id" in m}


def deleted_tests(root: Path, assignment: str, student: str) -> dict[str, set[str]]:
    """Per notebook name: the source's test cells that the submitted notebook lacks (once recovered)."""
    return {
        name: test_ids(root / "source" / assignment / f"{name}.ipynb") - test_ids(found.notebook)
        for name, found in recovered(root, assignment, student).items()
    }


def digest(root: Path, assignment: str, student: str) -> str:
    """A hash of the submission's files, the assignment's source and the autograder's own code."""
    import autograder

    sha = hashlib.sha256()
    package = Path(autograder.__file__).parent
    folders = [root / "submitted" / student / assignment, root / "source" / assignment, package]
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            sha.update(str(path.relative_to(folder)).encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def _state(root: Path) -> dict[str, str]:
    path = root / "autograded" / STATE_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_state(root: Path, state: dict[str, str]) -> None:
    path = root / "autograded" / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
    temporary.replace(path)


def _nbgrader_error(outcome: dict[str, Any]) -> str:
    """The useful part of a failed nbgrader API call: the last exception line of its log."""
    log = (outcome.get("log") or "") + "\n" + (outcome.get("error") or "")
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "Error:" in line or "Exception:" in line]
    useful = [line for line in errors if "Please see the" not in line]
    return (useful or errors or lines or ["nbgrader failed"])[-1][:800]


class Coordinator:
    """nbgrader's API on the course, configured for the two steps that run in this process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        sanitize_only = with_guards(load_config(root))
        sanitize_only.Autograde.autograde_preprocessors = []
        self.sanitizer = nbgrader_api(root, config=sanitize_only)
        judging = with_guards(load_config(root))
        steps = list(judging.Autograde.autograde_preprocessors or [])
        judging.Autograde.autograde_preprocessors = replay_steps(steps)
        self.grader = nbgrader_api(root, config=judging)

    def sanitize(self, assignment: str, student: str) -> dict[str, str]:
        """Sanitized notebooks by name (JSON); raises RuntimeError with nbgrader's message on failure."""
        outcome = self.sanitizer.autograde(assignment, student, force=True, create=True)
        if not outcome["success"]:
            raise RuntimeError(_nbgrader_error(outcome))
        folder = self.root / "autograded" / student / assignment
        return {name: (folder / f"{name}.ipynb").read_text() for name in notebook_names(self.root, assignment)}

    def record(self, assignment: str, student: str, feedback: bool) -> None:
        """Autograde from the replayed executions (in `replay.RESULTS`), then write feedback."""
        outcome = self.grader.autograde(assignment, student, force=True, create=True)
        if not outcome["success"]:
            raise RuntimeError(_nbgrader_error(outcome))
        if feedback:
            self.grader.generate_feedback(assignment, student, force=True)


def with_guards(config: Any) -> Any:
    """The course's configuration with the pipeline's own steps, whatever nbgrader_config.py says:
    `RecoverCells` first when sanitizing, `WithholdHiddenOutputs` last when writing feedback."""
    from nbgrader.preprocessors import ClearOutput, DeduplicateIds, OverwriteCells

    from autograder.grading.feedback_guard import WithholdHiddenOutputs
    from autograder.grading.sanitize import ForgetBrokenMetadata

    sanitize = list(config.Autograde.get("sanitize_preprocessors", None) or [])
    if not sanitize:
        sanitize = [ClearOutput, DeduplicateIds, ForgetBrokenMetadata, OverwriteCells]
    config.Autograde.sanitize_preprocessors = [
        recovery.RecoverCells,
        *(s for s in sanitize if s is not recovery.RecoverCells),
    ]
    feedback = list(config.GenerateFeedback.get("preprocessors", None) or [])
    if not feedback:
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.preprocessors import ClearHiddenTests, GetGrades

        feedback = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    config.GenerateFeedback.preprocessors = [
        *(f for f in feedback if f is not WithholdHiddenOutputs),
        WithholdHiddenOutputs,
    ]
    return config


def _status_path(root: Path) -> Path:
    return root / "autograded" / STATUS_FILE


def statuses(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    """The last status of every submission: assignment -> student -> {"status", "reason"}."""
    try:
        return json.loads(_status_path(root).read_text())
    except (OSError, ValueError):
        return {}


def _save_statuses(root: Path, assignment: str, reports: Iterable[Report]) -> None:
    everything = statuses(root)
    known = everything.setdefault(assignment, {})
    for report in reports:
        if report.status == "unchanged" and report.student in known:
            continue  # the status of the run that graded it stands
        reason = "; ".join(report.notes)
        if report.status == "flagged":
            reason += " (earlier grade kept)" if report.student in known and known[report.student].get("graded") else ""
        graded = report.status in ("graded", "unchanged") or bool(known.get(report.student, {}).get("graded"))
        known[report.student] = {"status": report.status, "reason": reason, "graded": "yes" if graded else ""}
    path = _status_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(everything, indent=1, sort_keys=True))
    temporary.replace(path)


def replay_steps(steps: list[Any]) -> list[Any]:
    """The course's autograde preprocessors, the kernel steps (StartRecording, Execute) replaced by ReplayExecution."""
    from nbgrader.preprocessors import Execute

    from autograder.grading.trusted_judge import StartRecording

    kept = [s for s in steps if s not in (StartRecording, Execute)]
    if not kept:
        kept = [ClearMetadataPreprocessor]
    return [replay.ReplayExecution, *kept]


def assignment_files(root: Path, assignment: str, student: str) -> dict[str, bytes]:
    """The files a kernel needs next to the notebook: what nbgrader copied into autograded/ (not notebooks)."""
    folder = root / "autograded" / student / assignment
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".ipynb" and not p.name.startswith(".")
    }


def grade(
    root: Path,
    assignment: str,
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    use_sandbox: bool = True,
    feedback: bool = True,
    cell_timeout: float | None = None,
    progress: bool = True,
    time_bound: float | None = None,
) -> list[Report]:
    """Grade every submission of `assignment`; one Report per student. Raises GradingBusy if locked.

    Each notebook runs within a hard wall-clock bound: `time_bound` seconds, or by default
    `execution.time_bound` of its code cells and the cell timeout.
    """
    with exclusive(root):
        return _grade(
            root, assignment, jobs, scheduler, force, use_sandbox, feedback, cell_timeout, progress, time_bound
        )


def _grade(
    root: Path,
    assignment: str,
    jobs: int | None,
    scheduler: str | None,
    force: bool,
    use_sandbox: bool,
    feedback: bool,
    cell_timeout: float | None,
    progress: bool,
    time_bound: float | None = None,
) -> list[Report]:
    timeout = cell_timeout or float(load_config(root).Execute.get("timeout", 60) or 60)
    state = _state(root)
    reports: dict[str, Report] = {}
    todo: list[str] = []
    for student in students(root, assignment):
        found = problems(root, assignment, student)
        other = None if found else foreign_assignment(root, assignment, student)
        if other:
            found = [f"this is the notebook of {other}, not of {assignment}: not graded (submit the right one)"]
        elif not found:
            found = unrecognised(root, assignment, student)
        if found:
            reports[student] = Report(student, "flagged", found)
            continue
        if not force and state.get(f"{assignment}/{student}") == digest(root, assignment, student):
            reports[student] = Report(student, "unchanged")
            continue
        todo.append(student)

    coordinator = Coordinator(root)
    bar = ProgressBar(len(todo), f"grading {assignment}", enabled=progress)
    pending: dict[str, set[str]] = {}

    def tasks() -> Iterator[execution.Task]:
        """Sanitize each submission and hand it over at once: workers start while the rest is sanitized."""
        for student in todo:
            try:
                sanitized = coordinator.sanitize(assignment, student)
            except RuntimeError as error:
                reports[student] = Report(student, "failed", [f"nbgrader could not sanitize it: {error}"])
                bar.advance(student, "failed")
                continue
            notes = []
            for name, found in recovered(root, assignment, student).items():
                repaired = found.note(name)
                if repaired:
                    notes.append(repaired)
            for name, missing in deleted_tests(root, assignment, student).items():
                replay.DELETED[(student, name)] = missing
                if missing:
                    notes.append(f"test cells missing from {name}: {', '.join(sorted(missing))} (put back, scored 0)")
            reports[student] = Report(student, "graded", notes)
            files = assignment_files(root, assignment, student)
            pending[student] = set(sanitized)
            for name, text in sanitized.items():
                yield execution.Task(
                    student, assignment, name, text, files, timeout, use_sandbox, time_bound=time_bound
                )

    running: dict[str, float] = {}  # student -> when their first notebook started (or was queued, on Dask)
    for result in _execute(tasks(), jobs, scheduler, running):
        if result is None:  # nothing finished for a while: say what is still running
            now = time.monotonic()
            bar.running({student: now - began for student, began in running.items()})
            continue
        replay.RESULTS[(result.student, result.notebook_name)] = result
        report = reports[result.student]
        report.notes.extend(result.notes)
        report.seconds += result.seconds
        report.stopped = report.stopped or result.stopped
        report.slowest = sorted([*report.slowest, *result.slowest], key=lambda item: -item[1])[:3]
        if result.error:
            report.status = "failed"
            report.notes.append(f"the worker could not execute {result.notebook_name}: {result.error}")
        pending[result.student].discard(result.notebook_name)
        if pending[result.student] or report.status == "failed":
            if report.status == "failed" and not pending[result.student]:
                bar.advance(result.student, "failed")
            continue
        try:
            coordinator.record(assignment, result.student, feedback)
            state[f"{assignment}/{result.student}"] = digest(root, assignment, result.student)
            _save_state(root, state)
            results.record(root, assignment, result.student, report.status, report.notes)  # results/, for reports
        except Exception as error:  # nbgrader's own failure: keep going with the class
            report.status = "failed"
            report.notes.append(f"nbgrader could not record the grades: {error}")
        finally:
            for name in notebook_names(root, assignment):
                replay.RESULTS.pop((result.student, name), None)
                replay.DELETED.pop((result.student, name), None)
        bar.advance(result.student, "needs attention" if report.notes else "ok")
    bar.close()
    _save_statuses(root, assignment, reports.values())
    results.record_run(root, assignment, reports.values())  # flagged, failed, missing files
    return [reports[s] for s in sorted(reports)]


_STARTED: Any = None  # in a local worker process: the queue on which it says when it starts a task


def _remember_queue(started: Any) -> None:
    global _STARTED
    _STARTED = started


def _execute_and_tell(task: execution.Task) -> execution.Result:
    """`execution.execute_safely` in a local worker process, telling the coordinator when it starts."""
    if _STARTED is not None:
        with contextlib.suppress(Exception):
            _STARTED.put((task.student, time.time()))
    return execution.execute_safely(task)


def _execute(
    tasks: Iterable[execution.Task], jobs: int | None, scheduler: str | None, running: dict[str, float] | None = None
) -> Iterator[execution.Result | None]:
    """Execution results in completion order: on a Dask cluster at `scheduler`, else in local processes.

    Each task is submitted as soon as `tasks` yields it; results come once every task is submitted.
    While nothing finishes, None is yielded every TICK_SECONDS; `running` (student -> start, by
    `time.monotonic`) holds the submissions being executed: local workers say when they start a
    task; on Dask, a submission counts from when it was submitted.
    """
    running = {} if running is None else running
    if scheduler:
        from distributed import Client

        with Client(scheduler, timeout="30s") as client:
            futures = {}
            for task in tasks:
                futures[client.submit(execution.execute_safely, task, pure=False)] = task.student
                running.setdefault(task.student, time.monotonic())
            pending = set(futures)
            while pending:
                done = {f for f in pending if f.done()}
                if not done:
                    yield None
                    time.sleep(TICK_SECONDS)
                    continue
                pending -= done
                for future in done:
                    result = future.result()
                    if not any(futures[f] == result.student for f in pending):
                        running.pop(result.student, None)
                    yield result
        return
    context = multiprocessing.get_context("spawn")  # worker processes start on demand, up to max_workers
    started = context.Queue()
    workers = max(1, jobs or os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, context, initializer=_remember_queue, initargs=(started,)) as pool:
        submitted: dict[Future[execution.Result], str] = {}
        try:
            for task in tasks:
                submitted[pool.submit(_execute_and_tell, task)] = task.student
            pending = set(submitted)
            while pending:
                done, pending = wait(pending, timeout=TICK_SECONDS, return_when=FIRST_COMPLETED)
                with contextlib.suppress(queue.Empty, OSError, ValueError):
                    while True:
                        student, since = started.get_nowait()
                        running.setdefault(student, time.monotonic() - (time.time() - since))
                if not done:
                    yield None
                    continue
                for future in done:
                    result = future.result()
                    if not any(submitted[f] == result.student for f in pending):
                        running.pop(result.student, None)
                    yield result
        except BaseException:
            for future in submitted:
                future.cancel()
            raise
