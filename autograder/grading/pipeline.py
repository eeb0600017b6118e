"""The grading pipeline: every submission of an assignment graded in parallel workers, recorded here.

For each student with `submitted/<student>/<assignment>/`:

1. read (this process): the submission's files, as bytes. Unchanged submissions (same files, assignment
   source and autograder code as when last graded) are skipped unless forced;
2. grade (a worker: a local process, or a Dask worker with `--scheduler`; `worker_grading`): first
   `admission`: every notebook of the assignment is there, is a notebook, and is this assignment's (not
   another's) with some of its cells; otherwise the submission is flagged with the reason and left
   alone (an earlier grade stays in the gradebook). Then nbgrader's own autograde on the worker's
   private copy of the course: sanitizing, executing in a fresh sandboxed kernel (started ahead, while
   the previous student's notebook ran: `execution.KernelPool`), judging the test cells from the
   kernel's records (`trusted_judge`), scoring, feedback HTML (with the instructor's manual grades,
   read from the gradebook once per run). Tasks and results are plain data; workers never touch this
   course folder or its gradebook;
3. record (this process): the autograded and feedback folders are written, and the scores go into the
   gradebook in batches through nbgrader's `Gradebook` API and its tables (a few queries and one
   commit per batch; this process is its only writer), with the state of what was graded and
   `results/` for reports.

Nothing in this process reads a notebook or imports anything per submission: its work per submission
is reading and hashing the files, writing the two folders and its share of a batch.

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

from nbconvert.preprocessors import ClearMetadataPreprocessor

from autograder.grading import execution, recovery, worker_grading
from autograder.grading.course import db_url, load_config
from autograder.grading.progress import ProgressBar
from autograder.reporting import results

LOCK_FILE = ".autograder-grading.lock"
STATE_FILE = ".autograder-state.json"  # in autograded/: what was graded, from which files
STATUS_FILE = ".autograder-status.json"  # in autograded/: each submission's last status and why (grades.csv)
TICK_SECONDS = 2.0  # how often the progress display is refreshed while submissions run
BATCH_SIZE = 64  # graded submissions recorded in the gradebook at once ...
BATCH_SECONDS = 10.0  # ... or after this long, whichever comes first
# Where the last run's time went, in seconds: the coordinator's stages (wall time in this process) and
# the workers' ("worker: kernel start", "worker: executing"). Read by benchmarks/grading_pipeline.py.
STAGES: dict[str, float] = {}
# The coordinator's own CPU seconds in the last run (all its threads): "start-up" (state, digest, course kit,
# manual grades) and "grading" (everything after: reading, recording, waiting). Read by the benchmarks.
CPU: dict[str, float] = {}
# Seconds each cell took in the last run, summed over its submissions ("<notebook>: cell 7 (id)" -> [runs, s]).
CELLS: dict[str, list[float]] = {}
# Why kernels of the last run started as fresh Pythons instead of forks of a fork server (for the instructor).
SLOW_STARTS: set[str] = set()


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


def students(root: Path, assignment: str) -> list[str]:
    """Students with a submission folder for `assignment`."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


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
        self.book: Any = None  # nbgrader's Gradebook, opened at the first batch and kept (its queries stay compiled)

    def close(self) -> None:
        """Record what is queued and close the gradebook."""
        try:
            self.flush()
        finally:
            if self.book is not None:
                self.book.close()
                self.book = None

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
        """nbgrader's `SaveAutoGrades` and `AssignLatePenalties`, for a whole batch in one transaction and a few
        queries (nbgrader's own `add_submission` and `find_grade` commit or query once per student and per
        cell); the students whose scores are not all the automatic ones (an instructor's manual grade)."""
        from nbgrader.api import Comment, Grade, Gradebook, Notebook, Student, SubmittedAssignment, SubmittedNotebook

        students = [graded.student for graded, _, _ in batch]
        manual = set()
        if self.book is None:
            self.book = Gradebook(db_url(self.root), self.course_id)
        db = self.book.db
        try:
            assignment = self.book.find_assignment(self.assignment)
            known = {student for (student,) in db.query(Student.id).filter(Student.id.in_(students))}
            for student in dict.fromkeys(students):
                if student not in known:
                    db.add(Student(id=student))
            submissions = {
                s.student_id: s
                for s in db.query(SubmittedAssignment).filter(
                    SubmittedAssignment.assignment_id == assignment.id, SubmittedAssignment.student_id.in_(students)
                )
            }
            for graded, _, _ in batch:
                folder = self.root / "submitted" / graded.student / self.assignment
                timestamp = self.coursedir.get_existing_timestamp(str(folder))
                submission = submissions.get(graded.student)
                if submission is None:  # as nbgrader's Gradebook.add_submission, without its commit
                    submission = SubmittedAssignment(assignment=assignment, student_id=graded.student)
                    if timestamp is not None:
                        submission.timestamp = timestamp
                    for notebook in assignment.notebooks:
                        submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
                        for cell in notebook.grade_cells:
                            Grade(cell_id=cell.id, notebook=submitted)
                        for cell in notebook.solution_cells:
                            Comment(cell_id=cell.id, notebook=submitted)
                        for cell in notebook.task_cells:
                            Comment(cell_id=cell.id, notebook=submitted)
                            Grade(cell_id=cell.id, notebook=submitted)
                    db.add(submission)
                    submissions[graded.student] = submission
                elif timestamp is not None and submission.timestamp != timestamp:
                    submission.timestamp = timestamp
            db.flush()
            grades = _by_cell(db, Grade, self.assignment, students)
            comments = _by_cell(db, Comment, self.assignment, students)
            notebooks = {
                (student, name): notebook
                for notebook, student, name in db.query(
                    SubmittedNotebook, SubmittedAssignment.student_id, Notebook.name
                )
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
                .filter(
                    SubmittedAssignment.assignment_id == assignment.id, SubmittedAssignment.student_id.in_(students)
                )
            }
            for graded, _, _ in batch:
                for notebook, cell, score in graded.grades:
                    grade = grades[(graded.student, notebook, cell)]
                    grade.auto_score = score
                    # as nbgrader: a manual grade, or no automatic score, needs the instructor's review
                    grade.needs_manual_grade = grade.manual_score is not None or score is None
                    if grade.manual_score is not None:
                        manual.add(graded.student)
                for notebook, cell, text in graded.comments:
                    comments[(graded.student, notebook, cell)].auto_comment = text
                for notebook, penalty in graded.penalties:
                    notebooks[(graded.student, notebook)].late_submission_penalty = penalty
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return manual


def _by_cell(db: Any, table: Any, assignment: str, students: list[str]) -> dict[tuple[str, str, str], Any]:
    """nbgrader's `Grade` or `Comment` rows of `students`' submissions of `assignment`, in one query:
    (student, notebook, cell name) -> row."""
    from nbgrader.api import SubmittedAssignment

    rows = _cell_rows(db, table, assignment).filter(SubmittedAssignment.student_id.in_(students))
    return {(student, notebook, cell): row for row, student, notebook, cell in rows}


def _cell_rows(db: Any, table: Any, assignment: str) -> Any:
    """A query of nbgrader's `Grade` or `Comment` rows of `assignment` as (row, student, notebook, cell name)."""
    from nbgrader.api import Assignment, BaseCell, Notebook, SubmittedAssignment, SubmittedNotebook

    return (
        db.query(table, SubmittedAssignment.student_id, Notebook.name, BaseCell.name)
        .join(BaseCell, BaseCell.id == table.cell_id)
        .join(SubmittedNotebook, SubmittedNotebook.id == table.notebook_id)
        .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
        .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
        .filter(Assignment.name == assignment)
    )


def manual_grades(root: Path, assignment: str) -> dict[str, tuple[worker_grading.ManualGrade, ...]]:
    """The instructor's manual scores, extra credit and comments on `assignment`, by student (one query each
    for grades and comments, once per run): the workers put them in the feedback."""
    from nbgrader.api import Comment, Grade, Gradebook

    found: dict[str, list[worker_grading.ManualGrade]] = {}
    course_id = str(load_config(root).CourseDirectory.get("course_id", "") or "default_course")
    with Gradebook(db_url(root), course_id) as gradebook:
        for table, wanted in (
            (Grade, (Grade.manual_score.isnot(None)) | (Grade.extra_credit.isnot(None))),
            (Comment, Comment.manual_comment.isnot(None)),
        ):
            for row, student, notebook, cell in _cell_rows(gradebook.db, table, assignment).filter(wanted):
                if table is Grade:
                    entry = worker_grading.ManualGrade(notebook, cell, "grade", row.manual_score, row.extra_credit)
                else:
                    entry = worker_grading.ManualGrade(notebook, cell, "comment", comment=row.manual_comment)
                found.setdefault(student, []).append(entry)
    return {student: tuple(entries) for student, entries in found.items()}


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
    CPU.clear()
    CELLS.clear()
    SLOW_STARTS.clear()
    cpu_began = time.process_time()
    timeout = cell_timeout or float(load_config(root).Execute.get("timeout", 60) or 60)
    state = _state(root)
    with _stage("digest"):
        shared = shared_digest(root, assignment)
    reports: dict[str, Report] = {}
    todo: list[str] = []
    for student in students(root, assignment):
        if not force and f"{assignment}/{student}" in state:
            with _stage("digest"):
                known = state[f"{assignment}/{student}"] == digest(root, assignment, student, shared)
            if known:
                reports[student] = Report(student, "unchanged")
                continue
        todo.append(student)

    bar = ProgressBar(len(todo), f"grading {assignment}", enabled=progress)
    recorder = Recorder(root, assignment, state, feedback)
    digests: dict[str, str] = {}
    workers = _workers(jobs, scheduler)
    manual: dict[str, tuple[worker_grading.ManualGrade, ...]] = {}  # read once, when there is something to grade

    def tasks() -> Iterator[worker_grading.SubmissionTask]:
        """One plain-data task per submission, read as the workers ask for them."""
        for number, student in enumerate(todo):
            with _stage("reading submissions"):
                files = submission_files(root, assignment, student)
                digests[student] = digest(root, assignment, student, shared, files)
            reports[student] = Report(student, "graded")
            # the last `workers` tasks start no kernel ahead: no task would use it
            more = number < len(todo) - workers
            yield worker_grading.SubmissionTask(
                student,
                assignment,
                files,
                timeout,
                use_sandbox,
                time_bound,
                feedback,
                manual.get(student, ()),
                more,
            )

    running: dict[str, float] = {}  # student -> when their grading started (or was queued, on Dask)
    try:
        if todo:
            with _stage("course kit"):
                kit = worker_grading.build_kit(root, assignment)
            with _stage("manual grades"):
                manual.update(manual_grades(root, assignment))
            CPU["start-up"] = time.process_time() - cpu_began
            for graded in _execute(tasks(), kit, jobs, scheduler, running):
                if graded is None:  # nothing finished for a while: say what is still running
                    now = time.monotonic()
                    bar.running({student: now - began for student, began in running.items()})
                    recorder.due()
                    continue
                for name, seconds in graded.stages:
                    STAGES[f"worker: {name}"] = STAGES.get(f"worker: {name}", 0.0) + seconds
                if graded.slow_start:
                    SLOW_STARTS.add(graded.slow_start)
                for label, seconds in graded.cell_seconds:
                    runs = CELLS.setdefault(label, [0, 0.0])
                    runs[0], runs[1] = runs[0] + 1, runs[1] + seconds
                report = reports[graded.student]
                digest_ = digests.pop(graded.student)
                if graded.flagged:  # not gradable (admission): an earlier grade stays
                    report.status = "flagged"
                    report.notes.extend(graded.flagged)
                    bar.advance(graded.student, "flagged")
                    continue
                report.seconds += graded.seconds
                report.notes.extend(graded.notes)
                report.stopped = report.stopped or graded.stopped
                report.slowest = sorted([*report.slowest, *graded.slowest], key=lambda item: -item[1])[:3]
                if graded.error:
                    report.status = "failed"
                    report.notes.append(f"the worker could not grade it: {graded.error}")
                    bar.advance(graded.student, "failed")
                    continue
                recorder.add(graded, report, digest_)
                bar.advance(graded.student, "needs attention" if report.notes else "ok")
    finally:
        recorder.close()  # what was graded is recorded, even when the run is interrupted
        bar.close()
    _save_statuses(root, assignment, reports.values())
    results.record_run(root, assignment, reports.values())  # flagged, failed, missing files
    CPU["grading"] = time.process_time() - cpu_began - CPU.get("start-up", 0.0)
    return [reports[s] for s in sorted(reports)]


def _workers(jobs: int | None, scheduler: str | None) -> int:
    """How many submissions run at once: local worker processes, or (on Dask) a guess of 2 until connected."""
    if scheduler:
        return 2
    return max(1, jobs or os.cpu_count() or 1)


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


def _on_dask(
    client: Any, todo: Iterator[worker_grading.SubmissionTask], kit: worker_grading.CourseKit, running: dict[str, float]
) -> Iterator[worker_grading.Graded | None]:
    """`_execute` on a Dask cluster: the kit broadcast once, two tasks per worker thread in flight."""
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
            try:
                yield from _on_dask(client, todo, kit, running)
            finally:  # the kernels the workers started ahead are not left running between runs
                with contextlib.suppress(Exception):
                    client.run(execution.close_kernel_pools)
        return
    context = multiprocessing.get_context("spawn")  # worker processes start on demand, up to max_workers
    started = context.Queue()
    workers = _workers(jobs, None)
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
