"""The grading pipeline: every submission of an assignment graded in parallel workers, recorded here.

For each student with `submitted/<student>/<assignment>/`:

1. check (this process): every notebook of the assignment is there, is a notebook, and is this
   assignment's (not another's) with some of its cells; otherwise the submission is flagged with the
   reason and left alone (an earlier grade stays in the gradebook). Unchanged submissions (same files,
   assignment source and autograder code as when last graded) are skipped unless forced;
2. grade (a worker: a local process, or a Dask worker with `--scheduler`; `worker_grading`): nbgrader's
   own autograde on the worker's private copy of the course: sanitizing, executing in a fresh sandboxed
   kernel, judging the test cells from the kernel's records (`trusted_judge`), scoring, feedback HTML.
   Tasks and results are plain data; workers never touch this course folder or its gradebook;
3. record (this process): the autograded and feedback folders are written, and the scores go into the
   gradebook in batches through nbgrader's `Gradebook` API (this process is its only writer), with the
   state of what was graded and `results/` for reports.

A batch is recorded every `BATCH_SIZE` submissions or `BATCH_SECONDS`, and when the run ends or is
interrupted: an interrupted run loses nothing it recorded, and the next run regrades only submissions
whose files (or the assignment's source, or the autograder) changed. A lock file refuses a second run.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor

from autograder.grading import recovery, worker_grading
from autograder.grading.course import db_url, load_config
from autograder.grading.progress import ProgressBar
from autograder.reporting import results

LOCK_FILE = ".autograder-grading.lock"
STATE_FILE = ".autograder-state.json"  # in autograded/: what was graded, from which files
STATUS_FILE = ".autograder-status.json"  # in autograded/: each submission's last status and why (grades.csv)
TICK_SECONDS = 2.0  # how often the progress display is refreshed while submissions run
BATCH_SIZE = 16  # graded submissions recorded in the gradebook at once ...
BATCH_SECONDS = 5.0  # ... or after this long, whichever comes first
# Where the last run's time went, in seconds: the coordinator's stages (wall time in this process) and
# the workers' ("worker: kernel start", "worker: executing"). Read by benchmarks/grading_pipeline.py.
STAGES: dict[str, float] = {}


@contextmanager
def _stage(name: str) -> Iterator[None]:
    """Add the wall time of the block to STAGES[name]."""
    began = time.perf_counter()
    try:
        yield
    finally:
        STAGES[name] = STAGES.get(name, 0.0) + time.perf_counter() - began


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


def shared_digest(root: Path, assignment: str) -> str:
    """A hash of what every submission's grade depends on besides its files: the assignment's source and the
    autograder's own code (read once per run, not once per student)."""
    import autograder

    sha = hashlib.sha256()
    for folder in (root / "source" / assignment, Path(autograder.__file__).parent):
        for relative, content in _folder_files(folder).items():
            sha.update(relative.encode())
            sha.update(content)
    return sha.hexdigest()


def _folder_files(folder: Path) -> dict[str, bytes]:
    """The files under `folder` (relative path -> content), sorted, caches left out."""
    found = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return {str(p.relative_to(folder)): p.read_bytes() for p in found}


def submission_files(root: Path, assignment: str, student: str) -> dict[str, bytes]:
    """The files of `student`'s submission (relative to submitted/<student>/<assignment>/)."""
    return _folder_files(root / "submitted" / student / assignment)


def digest(
    root: Path, assignment: str, student: str, shared: str | None = None, files: dict[str, bytes] | None = None
) -> str:
    """A hash of the submission's files (`files` if given, as read), the assignment's source and the
    autograder's own code (`shared`: `shared_digest`, computed once per run)."""
    sha = hashlib.sha256((shared or shared_digest(root, assignment)).encode())
    for relative, content in (files if files is not None else submission_files(root, assignment, student)).items():
        sha.update(relative.encode())
        sha.update(content)
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


def worker_steps(steps: list[Any]) -> list[Any]:
    """The course's autograde preprocessors for a worker: the kernel steps (StartRecording, Execute) replaced
    by `WorkerExecution`, which runs the notebook in a fresh sandboxed kernel and hands its records over."""
    from nbgrader.preprocessors import Execute

    from autograder.grading.trusted_judge import StartRecording

    kept = [s for s in steps if s not in (StartRecording, Execute, worker_grading.WorkerExecution)]
    if not kept:
        kept = [ClearMetadataPreprocessor]
    return [worker_grading.WorkerExecution, *kept]


def _write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Replace `folder` by `files` (relative path -> content), as nbgrader replaces a regraded folder."""
    import shutil

    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    top = folder.resolve()
    for relative, content in files.items():
        path = folder / relative
        if not path.resolve().is_relative_to(top):
            continue  # a worker's path outside the folder: never written
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


class Recorder:
    """Records graded submissions in batches: files, then the gradebook through nbgrader's `Gradebook` API
    (one transaction per batch), then the state of what was graded and `results/` for reports."""

    def __init__(self, root: Path, assignment: str, state: dict[str, str], feedback: bool) -> None:
        import warnings

        from nbgrader.coursedir import CourseDirectory

        # nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every submission: noise.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        self.root, self.assignment, self.state, self.feedback = root, assignment, state, feedback
        config = load_config(root)
        self.course_id = str(config.CourseDirectory.get("course_id", "") or "default_course")
        self.coursedir = CourseDirectory(config=config)
        self.batch: list[tuple[worker_grading.Graded, Report, str]] = []
        self.last = time.monotonic()

    def add(self, graded: worker_grading.Graded, report: Report, digest_: str) -> None:
        """Queue a graded submission; its folders are written now, its grades with the batch."""
        with _stage("writing files"):
            folder = self.root / "autograded" / graded.student / self.assignment
            _write_folder(folder, graded.autograded)
            if self.feedback:
                _write_folder(self.root / "feedback" / graded.student / self.assignment, graded.feedback)
        self.batch.append((graded, report, digest_))
        if len(self.batch) >= BATCH_SIZE or time.monotonic() - self.last >= BATCH_SECONDS:
            self.flush()

    def due(self) -> None:
        """Record the batch if it has waited BATCH_SECONDS."""
        if self.batch and time.monotonic() - self.last >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Record the queued submissions (a failure of nbgrader's marks the batch's submissions as failed)."""
        batch, self.batch, self.last = self.batch, [], time.monotonic()
        if not batch:
            return
        try:
            with _stage("gradebook"):
                manual = self._gradebook(batch)
        except Exception as error:  # nbgrader's own failure: keep going with the class
            for _, report, _ in batch:
                report.status = "failed"
                report.notes.append(f"nbgrader could not record the grades: {error}")
            return
        with _stage("state file"):
            for graded, _, digest_ in batch:
                self.state[f"{self.assignment}/{graded.student}"] = digest_
            _save_state(self.root, self.state)
        with _stage("results file"):
            for graded, report, _ in batch:
                if graded.student in manual:  # the gradebook's points differ from the worker's: read them back
                    results.record(self.root, self.assignment, graded.student, report.status, report.notes)
                    continue
                cells = [results.CellResult(**cell) for cell in graded.cells]
                score = sum(c.points for c in cells) if cells else None
                top = sum(c.max_points for c in cells) if cells else None
                stamp = datetime.now(UTC).isoformat(timespec="seconds")  # as `results.record` stamps it
                found = results.SubmissionResult(
                    self.assignment, graded.student, report.status, list(report.notes), stamp, score, top, cells
                )
                results.save(self.root, found)

    def _gradebook(self, batch: list[tuple[worker_grading.Graded, Report, str]]) -> set[str]:
        """nbgrader's `SaveAutoGrades` and `AssignLatePenalties`, for a batch, in one transaction; the students
        whose scores are not all the automatic ones (an instructor's manual grade)."""
        from nbgrader.api import Gradebook, MissingEntry

        manual = set()
        with Gradebook(db_url(self.root), self.course_id) as gradebook:
            for graded, _, _ in batch:
                try:
                    gradebook.find_student(graded.student)
                except MissingEntry:
                    gradebook.add_student(graded.student)
                folder = self.root / "submitted" / graded.student / self.assignment
                timestamp = self.coursedir.get_existing_timestamp(str(folder))
                try:
                    submission = gradebook.find_submission(self.assignment, graded.student)
                    if timestamp is not None and submission.timestamp != timestamp:
                        submission.timestamp = timestamp
                except MissingEntry:
                    extra = {"timestamp": timestamp} if timestamp is not None else {}
                    gradebook.add_submission(self.assignment, graded.student, **extra)
                for notebook, cell, score in graded.grades:
                    grade = gradebook.find_grade(cell, notebook, self.assignment, graded.student)
                    grade.auto_score = score
                    # as nbgrader: a manual grade, or no automatic score, needs the instructor's review
                    grade.needs_manual_grade = grade.manual_score is not None or score is None
                    if grade.manual_score is not None:
                        manual.add(graded.student)
                for notebook, cell, text in graded.comments:
                    gradebook.find_comment(cell, notebook, self.assignment, graded.student).auto_comment = text
                for notebook, penalty in graded.penalties:
                    found = gradebook.find_submission_notebook(notebook, self.assignment, graded.student)
                    found.late_submission_penalty = penalty
            gradebook.db.commit()
        return manual


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
    STAGES.clear()
    timeout = cell_timeout or float(load_config(root).Execute.get("timeout", 60) or 60)
    state = _state(root)
    with _stage("digest"):
        shared = shared_digest(root, assignment)
    reports: dict[str, Report] = {}
    todo: list[str] = []
    for student in students(root, assignment):
        with _stage("checking"):
            found = problems(root, assignment, student)
            other = None if found else foreign_assignment(root, assignment, student)
            if other:
                found = [f"this is the notebook of {other}, not of {assignment}: not graded (submit the right one)"]
            elif not found:
                found = unrecognised(root, assignment, student)
        if found:
            reports[student] = Report(student, "flagged", found)
            continue
        if not force:
            with _stage("digest"):
                known = state.get(f"{assignment}/{student}") == digest(root, assignment, student, shared)
            if known:
                reports[student] = Report(student, "unchanged")
                continue
        todo.append(student)

    bar = ProgressBar(len(todo), f"grading {assignment}", enabled=progress)
    recorder = Recorder(root, assignment, state, feedback)
    digests: dict[str, str] = {}

    def tasks() -> Iterator[worker_grading.SubmissionTask]:
        """One plain-data task per submission, read as the workers ask for them."""
        for student in todo:
            with _stage("reading submissions"):
                files = submission_files(root, assignment, student)
                digests[student] = digest(root, assignment, student, shared, files)
            reports[student] = Report(student, "graded")
            yield worker_grading.SubmissionTask(student, assignment, files, timeout, use_sandbox, time_bound, feedback)

    running: dict[str, float] = {}  # student -> when their grading started (or was queued, on Dask)
    try:
        if todo:
            with _stage("course kit"):
                kit = worker_grading.build_kit(root, assignment)
            for graded in _execute(tasks(), kit, jobs, scheduler, running):
                if graded is None:  # nothing finished for a while: say what is still running
                    now = time.monotonic()
                    bar.running({student: now - began for student, began in running.items()})
                    recorder.due()
                    continue
                for name, seconds in graded.stages:
                    STAGES[f"worker: {name}"] = STAGES.get(f"worker: {name}", 0.0) + seconds
                report = reports[graded.student]
                report.notes.extend(graded.notes)
                report.seconds += graded.seconds
                report.stopped = report.stopped or graded.stopped
                report.slowest = sorted([*report.slowest, *graded.slowest], key=lambda item: -item[1])[:3]
                if graded.error:
                    report.status = "failed"
                    report.notes.append(f"the worker could not grade it: {graded.error}")
                    bar.advance(graded.student, "failed")
                    continue
                recorder.add(graded, report, digests.pop(graded.student))
                bar.advance(graded.student, "needs attention" if report.notes else "ok")
    finally:
        recorder.flush()  # what was graded is recorded, even when the run is interrupted
        bar.close()
    _save_statuses(root, assignment, reports.values())
    results.record_run(root, assignment, reports.values())  # flagged, failed, missing files
    return [reports[s] for s in sorted(reports)]


_STARTED: Any = None  # in a local worker process: the queue on which it says when it starts a task
_KIT: worker_grading.CourseKit | None = None  # in a local worker process: the run's course kit


def _set_up_worker(started: Any, kit: worker_grading.CourseKit) -> None:
    global _STARTED, _KIT
    _STARTED, _KIT = started, kit


def _grade_and_tell(task: worker_grading.SubmissionTask) -> worker_grading.Graded:
    """`worker_grading.grade_submission` in a local worker process, telling the coordinator when it starts."""
    if _STARTED is not None:
        with contextlib.suppress(Exception):
            _STARTED.put((task.student, time.time()))
    assert _KIT is not None
    return worker_grading.grade_submission(task, _KIT)


def _execute(
    tasks: Iterable[worker_grading.SubmissionTask],
    kit: worker_grading.CourseKit,
    jobs: int | None,
    scheduler: str | None,
    running: dict[str, float] | None = None,
) -> Iterator[worker_grading.Graded | None]:
    """Graded submissions in completion order: on a Dask cluster at `scheduler`, else in local processes.

    The kit goes to each worker once (the pool's initializer; a broadcast on Dask). Each task is
    submitted as soon as `tasks` yields it, at most a few per worker ahead of the results, so that the
    coordinator's memory stays flat however large the class. While nothing finishes, None is yielded
    every TICK_SECONDS; `running` (student -> start, by `time.monotonic`) holds the submissions being
    graded: local workers say when they start a task; on Dask, a submission counts from when it was
    submitted.
    """
    running = {} if running is None else running
    todo = iter(tasks)
    if scheduler:
        from distributed import Client

        with Client(scheduler, timeout="30s") as client:
            shared = client.scatter(kit, broadcast=True)
            ahead = 2 * max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            futures: dict[Any, str] = {}

            def submit() -> bool:
                task = next(todo, None)
                if task is None:
                    return False
                futures[client.submit(worker_grading.grade_submission, task, shared, pure=False)] = task.student
                running.setdefault(task.student, time.monotonic())
                return True

            while len(futures) < ahead and submit():
                pass
            while futures:
                done = [f for f in futures if f.done()]
                if not done:
                    yield None
                    time.sleep(min(TICK_SECONDS, 0.2))
                    continue
                for future in done:
                    student = futures.pop(future)
                    running.pop(student, None)
                    result = future.result()
                    submit()
                    yield result
        return
    context = multiprocessing.get_context("spawn")  # worker processes start on demand, up to max_workers
    started = context.Queue()
    workers = max(1, jobs or os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, context, initializer=_set_up_worker, initargs=(started, kit)) as pool:
        submitted: dict[Future[worker_grading.Graded], str] = {}

        def submit() -> bool:
            task = next(todo, None)
            if task is None:
                return False
            submitted[pool.submit(_grade_and_tell, task)] = task.student
            return True

        try:
            while len(submitted) < 2 * workers and submit():
                pass
            while submitted:
                done, _ = wait(set(submitted), timeout=TICK_SECONDS, return_when=FIRST_COMPLETED)
                with contextlib.suppress(queue.Empty, OSError, ValueError):
                    while True:
                        student, since = started.get_nowait()
                        running.setdefault(student, time.monotonic() - (time.time() - since))
                if not done:
                    yield None
                    continue
                for future in done:
                    student = submitted.pop(future)
                    running.pop(student, None)
                    submit()
                    yield future.result()
        except BaseException:
            for future in submitted:
                future.cancel()
            raise
