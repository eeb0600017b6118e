"""Everything per submission that does not need the course's gradebook, done in the worker.

The coordinator builds a `CourseKit` once per run: plain data holding the course's nbgrader
configuration, the assignment's source and release files, and a gradebook that knows the assignment's
notebooks and cells but no student. A worker (a local process, or a Dask worker on another machine:
both are trusted instructor processes; only the student's kernel is sandboxed) lays the kit out once
as a private copy of the course and keeps nbgrader's API on it. For each `SubmissionTask` it then runs
nbgrader's own `autograde` there (sanitizing with the course's preprocessors, `WorkerExecution` in place
of `Execute`: the notebook runs in a fresh sandboxed kernel through `execution.execute`; `JudgeRecords`
judges the test cells from the kernel's records; nbgrader's `SaveAutoGrades` scores them) and its own
`GenerateFeedback` (one per course copy, `KeptFeedback`, which keeps its HTML exporter), and returns plain
data (`Graded`): the autograded and feedback folders' files, each grade cell's score, each solution
cell's automatic comment, the notes. The student is then removed from the private gradebook, so a
worker's memory and disk stay flat however many students it grades. What does not change from one
student to the next is prepared once per course copy (`_prepare`, `_keep_engine`) and changes no result.

The coordinator writes the scores into the course's gradebook through nbgrader's `Gradebook` API, in
batches (`pipeline`); it stays the only writer of `gradebook.db`.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.grading import admission, assignment_cells, execution, recovery
from autograder.grading.course import CONFIG_FILE
from autograder.grading.trusted_judge import RESOURCE_KEY, error_output, test_cell_id

DELETED_MESSAGE = (
    "This test cell was missing from your notebook (deleted, or its grade id changed). It was put back "
    "for grading and scores 0: never delete or edit test cells."
)

GRADEBOOK = "gradebook.db"


@dataclass(frozen=True)
class CourseKit:
    """What a worker needs to grade one assignment (built once per run by `build_kit`); `key` names it."""

    assignment: str
    course_id: str
    config_py: str  # the course's nbgrader_config.py
    gradebook: bytes  # a gradebook with the assignment's notebooks and cells, no student
    files: dict[str, bytes]  # path relative to the course root (source/<a>/..., release/<a>/...) -> content
    key: str = ""
    others: dict[str, frozenset[str]] = field(default_factory=dict)  # other assignments' test ids (admission)
    warmup: tuple[str, ...] = ()  # modules a kernel imports before any student code (`execution.KernelPool`)
    prewarm: tuple[str, ...] = ()  # the visible test cells (`assignment_cells.visible_test_cells`)
    display_only: tuple[str, ...] = ()  # grade ids of cells not run at grading (`assignment_cells`)


@dataclass(frozen=True)
class SubmissionTask:
    """One student's submission: its files (relative to submitted/<student>/<assignment>/) and how to run it."""

    student: str
    assignment: str
    files: dict[str, bytes]
    cell_timeout: float = 60.0
    use_sandbox: bool = True
    time_bound: float | None = None
    feedback: bool = True
    manual: tuple[ManualGrade, ...] = ()  # the instructor's grades and comments, shown in the feedback
    more: bool = True  # more tasks follow this one in the run: start the next kernel ahead


@dataclass(frozen=True)
class ManualGrade:
    """An instructor's manual score, extra credit or comment on one cell of a submission (from the gradebook)."""

    notebook: str
    cell: str
    kind: str  # "grade" (manual score and extra credit) or "comment"
    score: float | None = None
    extra_credit: float | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Graded:
    """What a worker made of a SubmissionTask, as plain data (nothing in it was written to the course)."""

    student: str
    assignment: str
    autograded: dict[str, bytes] = field(default_factory=dict)  # the autograded/<student>/<a>/ folder's files
    feedback: dict[str, bytes] = field(default_factory=dict)  # the feedback/<student>/<a>/ folder's files
    grades: tuple[tuple[str, str, float | None], ...] = ()  # (notebook, grade cell, auto score)
    comments: tuple[tuple[str, str, str | None], ...] = ()  # (notebook, solution cell, automatic comment)
    penalties: tuple[tuple[str, float | None], ...] = ()  # (notebook, late submission penalty)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    error: str = ""  # the worker (or nbgrader in it) failed: nothing to record
    stopped: bool = False
    slowest: tuple[tuple[str, float], ...] = ()
    stages: tuple[tuple[str, float], ...] = ()  # where the worker's time went
    cells: tuple[dict[str, Any], ...] = ()  # `results.CellResult`s (as dicts) by the gradebook's scores, for reports
    flagged: tuple[str, ...] = ()  # why the submission is not graded (`admission`): nothing to record
    cell_seconds: tuple[tuple[str, float], ...] = ()  # every cell that ran: ("<notebook>: cell 7 (id)", seconds)
    slow_start: str = ""  # why its kernels started without the fork server (`execution.Result.slow_start`)


def build_kit(root: Path, assignment: str) -> CourseKit:
    """The CourseKit of `assignment` in the course at `root` (reads the gradebook, never writes it)."""
    from nbgrader.api import Gradebook

    from autograder.grading.course import db_url, load_config

    # nbgrader's Gradebook shells out to `alembic` when it creates a database
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    course_id = str(load_config(root).CourseDirectory.get("course_id", "") or "default_course")
    files = {}
    for folder in ("source", "release"):
        base = root / folder / assignment
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                files[str(path.relative_to(root))] = path.read_bytes()
    with (
        tempfile.TemporaryDirectory(prefix="autograder-kit-", dir=private_folder_parent()) as scratch,
        _alembic_version_of(root / GRADEBOOK),
    ):
        target = Path(scratch) / GRADEBOOK
        with Gradebook(db_url(root), course_id) as source, Gradebook(f"sqlite:///{target}", course_id) as copy:
            found = source.find_assignment(assignment)
            copy.add_assignment(found.name, duedate=found.duedate)
            for notebook in found.notebooks:
                copy.add_notebook(notebook.name, found.name)
                for cell in notebook.grade_cells:
                    copy.add_grade_cell(
                        cell.name, notebook.name, found.name, max_score=cell.max_score, cell_type=cell.cell_type
                    )
                for cell in notebook.solution_cells:
                    copy.add_solution_cell(cell.name, notebook.name, found.name)
                for cell in notebook.task_cells:
                    copy.add_task_cell(
                        cell.name, notebook.name, found.name, max_score=cell.max_score, cell_type=cell.cell_type
                    )
                for cell in notebook.source_cells:
                    copy.add_source_cell(
                        cell.name,
                        notebook.name,
                        found.name,
                        cell_type=cell.cell_type,
                        locked=cell.locked,
                        source=cell.source,
                        checksum=cell.checksum,
                    )
        gradebook = target.read_bytes()
    config_py = (root / CONFIG_FILE).read_text()
    others = admission.other_assignments_tests(root, assignment)
    warmup = warmup_modules(root, assignment)
    prewarm = assignment_cells.visible_test_cells(root, assignment)
    display_only = assignment_cells.display_only_cells(root, assignment)
    sha = hashlib.sha256(config_py.encode() + gradebook)
    for name, content in files.items():
        sha.update(name.encode())
        sha.update(content)
    sha.update(repr((sorted((k, sorted(v)) for k, v in others.items()), warmup, prewarm, display_only)).encode())
    key = sha.hexdigest()
    return CourseKit(assignment, course_id, config_py, gradebook, files, key, others, warmup, prewarm, display_only)


@contextlib.contextmanager
def _alembic_version_of(database: Path) -> Any:
    """While creating a gradebook, take its schema version from the course's `database` instead of running
    `alembic heads` in a subprocess as nbgrader does (a whole Python start: seconds on a busy machine)."""
    import sqlite3

    import nbgrader.api

    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            version = str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])
    except Exception:  # no such table or file: let nbgrader ask alembic
        yield
        return
    original = nbgrader.api.get_alembic_version
    nbgrader.api.get_alembic_version = lambda: version
    try:
        yield
    finally:
        nbgrader.api.get_alembic_version = original


ALWAYS_WARM = (
    "numpy",
    "sympy",
    "matplotlib",
    "matplotlib.pyplot",
    "autograder.runtime",
    "autograder.self_check",
    # What the first sympy.lambdify(..., "numpy") of a kernel imports (its `from numpy import *` loads
    # numpy's lazy submodules): about 0.45 s of every submission's first check, measured on unit 01.
    "mpmath",
    "sympy.utilities.lambdify",
    "numpy.testing",
    "numpy.f2py",
    "numpy.ma",
    "numpy.polynomial",
    "numpy.random",
    "numpy.fft",
    "numpy.ctypeslib",
    "numpy.typing",
    "numpy.char",
    "numpy.rec",
    "numpy.strings",
    # What the first plot of a kernel imports (matplotlib's Agg canvas, Pillow's features)
    "matplotlib.backends.backend_agg",
    "PIL.features",
)


def warmup_modules(root: Path, assignment: str) -> tuple[str, ...]:
    """The modules a kernel imports before any student code: numpy, SymPy, matplotlib (Agg) and the
    autograder's runtime, and every module the instructor's source notebooks of `assignment` import
    (their checks, for instance). Only installed modules are listed; the list holds no student data."""
    import ast
    import importlib.util

    names = list(ALWAYS_WARM)
    for path in sorted((root / "source" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics: not Python
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    names += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.append(node.module)
    found = []
    for name in dict.fromkeys(names):
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                found.append(name)
        except (ImportError, ValueError):
            continue
    return tuple(found)


def private_folder_parent() -> str | None:
    """Where private course copies go: /dev/shm (memory) when it is there and writable, else the temporary
    folder. nbgrader commits its gradebook after nearly every change (a course kit: one commit per cell;
    autograde: several per student); in memory these commits cost no disk sync, which on a busy machine
    took seconds per student. Nothing there is kept: the copies are removed when the worker exits.
    /dev/shm is used only with at least SHM_FREE_BYTES free (a container's default is 64 MB)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK | os.X_OK)):
        return None
    try:
        free = shutil.disk_usage(shm).free
    except OSError:
        return None
    return str(shm) if free >= SHM_FREE_BYTES else None


SHM_FREE_BYTES = 1 << 30
"""Free memory /dev/shm must have for private course copies to go there (a few MB each, one per worker)."""


_COURSES: list[_Course] = []  # every private course copy of this process, removed at exit


@atexit.register
def _close_courses() -> None:
    for course in list(_COURSES):
        course.close()


class _Course:
    """A worker's private copy of the course (one per kit, process and thread) and nbgrader's API on it."""

    def __init__(self, kit: CourseKit) -> None:
        from autograder.grading.course import load_config, nbgrader_api
        from autograder.grading.pipeline import with_guards, worker_steps

        self.kit = kit
        self.root = Path(tempfile.mkdtemp(prefix="autograder-course-", dir=private_folder_parent()))
        _COURSES.append(self)
        (self.root / CONFIG_FILE).write_text(kit.config_py)
        (self.root / GRADEBOOK).write_bytes(kit.gradebook)
        for name, content in kit.files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        config = with_guards(load_config(self.root))
        config.Autograde.autograde_preprocessors = worker_steps(list(config.Autograde.autograde_preprocessors or []))
        _keep_engine(f"sqlite:///{self.root / GRADEBOOK}")
        _prepare(config, self.root, kit)
        self.api = nbgrader_api(self.root, config=config)
        self._feedback: Any = None  # KeptFeedback, made for the first student

    def generate_feedback(self, assignment: str, student: str) -> dict[str, Any]:
        """nbgrader's `generate_feedback` for `student` (what `NbGraderAPI.generate_feedback` does, with `force`),
        on this course's `KeptFeedback`: its HTML exporter is built once, not for every student."""
        from nbgrader.utils import capture_log, temp_attrs
        from traitlets.config import Config

        if self._feedback is None:
            feedback = kept_feedback_class()(coursedir=self.api.coursedir, parent=self.api)
            config = Config()
            config.HTMLExporter.template_name = "feedback"  # as NbGraderAPI.generate_feedback sets it
            feedback.update_config(config)
            feedback.force = True
            self._feedback = feedback
        with temp_attrs(self.api.coursedir, assignment_id=assignment, student_id=student):
            return capture_log(self._feedback)

    def close(self) -> None:
        _forget_engine(f"sqlite:///{self.root / GRADEBOOK}")
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(ValueError):
            _COURSES.remove(self)


_ENGINES: dict[str, Any] = {}  # a private course's gradebook URL -> its SQLAlchemy engine, for the course's life


def _keep_engine(url: str) -> None:
    """Every `nbgrader.api.Gradebook` opened on `url` (nbgrader opens a dozen per student) gets the same
    SQLAlchemy engine instead of a new one: its statements are compiled once (an engine's compiled cache
    is its own), its dialect is set up once. `Gradebook.close` disposes of the engine's connections, not
    of the engine. Only for the worker's private course (one thread uses it); other URLs are untouched."""
    import nbgrader.api
    from sqlalchemy import create_engine

    if not getattr(nbgrader.api.create_engine, "kept_engines", False):
        original = nbgrader.api.create_engine

        def kept_or_new(url: Any, *args: Any, **kwargs: Any) -> Any:
            engine = _ENGINES.get(str(url))
            return engine if engine is not None else original(url, *args, **kwargs)

        kept_or_new.kept_engines = True  # type: ignore[attr-defined]
        nbgrader.api.create_engine = kept_or_new
    _ENGINES[url] = create_engine(url, echo=False, future=True)  # as nbgrader.api.Gradebook creates it


def _forget_engine(url: str) -> None:
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def _prepare(config: Any, root: Path, kit: CourseKit) -> None:
    """The worker's own settings of nbgrader's steps, which change no result: the course's `CheckCellMetadata`
    with its schema prepared once (`sanitize.PreparedCheckCellMetadata`), and the assignment's source cells
    (fixed for the kit's life) handed to `ForgetBrokenMetadata` and `WithholdHiddenOutputs`, which otherwise
    read them from the gradebook for every student."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import CheckCellMetadata

    from autograder.grading.sanitize import PreparedCheckCellMetadata

    for steps in ("sanitize_preprocessors", "autograde_preprocessors"):
        found = list(config.Autograde.get(steps, None) or [])
        if CheckCellMetadata in found:
            config.Autograde[steps] = [PreparedCheckCellMetadata if s is CheckCellMetadata else s for s in found]
    with Gradebook(f"sqlite:///{root / GRADEBOOK}", kit.course_id) as gradebook:
        cells = {
            notebook.name: {cell.name: cell.source or "" for cell in notebook.source_cells}
            for notebook in gradebook.find_assignment(kit.assignment).notebooks
        }
    config.ForgetBrokenMetadata.source_cells = {kit.assignment: cells}
    config.WithholdHiddenOutputs.source_cells = {kit.assignment: cells}


@functools.cache
def kept_feedback_class() -> type:
    """`KeptFeedback`, made on first use (nbgrader is imported lazily: it takes seconds)."""
    from nbconvert.writers import FilesWriter
    from nbgrader.converters import GenerateFeedback

    class KeptFeedback(GenerateFeedback):
        """nbgrader's GenerateFeedback that keeps its HTML exporter from one student to the next (the feedback
        template's Jinja environment and compiled templates, the preprocessors), as one `nbgrader
        generate_feedback` run does for a whole class; a worker's course keeps one (`_Course.generate_feedback`).
        Everything else is `BaseConverter.start`'s, for every student."""

        kept: Any = None

        def start(self) -> None:
            try:
                if self.kept is None:
                    super().start()
                    self.kept = self.exporter
                    return
                self.init_notebooks()
                self.writer = FilesWriter(parent=self, config=self.config)
                self.exporter = self.kept
                currdir = os.getcwd()
                os.chdir(self.coursedir.root)
                try:
                    self.convert_notebooks()
                finally:
                    os.chdir(currdir)
            finally:
                # nbconvert keeps every converted notebook's metadata: a class of thousands would pile up
                with contextlib.suppress(AttributeError):
                    self.exporter._nb_metadata.clear()

    return KeptFeedback


_LOCAL = threading.local()  # per thread (Dask runs tasks in threads): the course copy and the task running


def _course(kit: CourseKit) -> _Course:
    course = getattr(_LOCAL, "course", None)
    if course is None or course.kit.key != kit.key:
        if course is not None:
            course.close()
        course = _LOCAL.course = _Course(kit)
    return course


class _Running:
    """What `WorkerExecution` needs of the task being graded, and what it found."""

    def __init__(self, task: SubmissionTask, deleted: dict[str, set[str]], kit: CourseKit | None = None) -> None:
        self.task, self.deleted = task, deleted
        self.warmup, self.prewarm, self.skip = (kit.warmup, kit.prewarm, kit.display_only) if kit else ((), (), ())
        self.results: list[execution.Result] = []


class WorkerExecution(NbGraderPreprocessor):
    """In place of nbgrader's Execute, in the worker: run the sanitized notebook in a fresh sandboxed kernel
    (`execution.execute`, within the task's time bounds), keep its outputs, hand its records to JudgeRecords.
    A test cell the student had deleted is put back by nbgrader and scores 0, with a message saying why."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        running: _Running = _LOCAL.running
        task = running.task
        name = resources["unique_key"]
        folder = Path(resources["metadata"]["path"])
        files = {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and p.suffix != ".ipynb" and not p.name.startswith(".")
        }
        run = execution.Task(
            task.student,
            task.assignment,
            name,
            nbformat.writes(nb),
            files,
            task.cell_timeout,
            task.use_sandbox,
            time_bound=task.time_bound,
            warmup=running.warmup,
            prewarm=running.prewarm,
            skip=running.skip,
            # another notebook of this submission, or another task, follows: start its kernel ahead
            more=task.more or len(running.results) + 1 < len(running.deleted),
        )
        result = execution.execute(run)
        running.results.append(result)
        executed = nbformat.reads(result.notebook_json, as_version=4)
        if [c.source for c in executed.cells] != [c.source for c in nb.cells]:
            raise RuntimeError(f"the executed {name} of {task.student} is not the notebook nbgrader sanitized")
        deleted = running.deleted.get(name, set())
        for cell, ran in zip(nb.cells, executed.cells, strict=True):
            if cell.cell_type == "code":
                cell.outputs = ran.get("outputs", [])
                cell.execution_count = ran.get("execution_count")
                if test_cell_id(cell) in deleted:
                    cell.outputs = [error_output(DELETED_MESSAGE, "MissingTestCell")]
        handle, path = tempfile.mkstemp(prefix="autograder-", suffix=".records.jsonl")
        with open(handle, "w") as sink:
            sink.write(result.records)
        resources[RESOURCE_KEY] = path
        return nb, resources


def _files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _nbgrader_error(outcome: dict[str, Any]) -> str:
    from autograder.grading.pipeline import _nbgrader_error as error

    return error(outcome)


def _test_ids(notebook: NotebookNode) -> set[str]:
    cells = (c.get("metadata", {}).get("nbgrader", {}) for c in notebook.cells)
    return {str(m["grade_id"]) for m in cells if m.get("grade") and not m.get("solution") and "grade_id" in m}


def repairs(course_root: Path, assignment: str, submitted: Path) -> tuple[list[str], dict[str, set[str]]]:
    """What recovery repaired (notes for the instructor) and, per notebook, the source's test cells that the
    submission lacks once recovered (put back by nbgrader, scored 0)."""
    notes: list[str] = []
    deleted: dict[str, set[str]] = {}
    for source in sorted((course_root / "source" / assignment).glob("*.ipynb")):
        name = source.stem
        notebook = recovery.read_notebook(submitted / f"{name}.ipynb")
        reference = recovery.reference_notebook(course_root, assignment, name)
        found = recovery.recover(notebook, reference) if reference is not None else recovery.Recovery(notebook)
        repaired = found.note(name)
        if repaired:
            notes.append(repaired)
        missing = _test_ids(recovery.read_notebook(source)) - _test_ids(found.notebook)
        deleted[name] = missing
        if missing:
            notes.append(f"test cells missing from {name}: {', '.join(sorted(missing))} (put back, scored 0)")
    return notes, deleted


def grade_submission(task: SubmissionTask, kit: CourseKit) -> Graded:
    """Autograde one submission in this worker (see the module's docstring); failures come back in `error`."""
    from nbgrader.api import Gradebook

    began = time.perf_counter()
    stages: dict[str, float] = {}
    removed = False  # the student is gone from the private gradebook
    try:
        course = _course(kit)
    except Exception as error:  # a broken worker must not stop the class: report it with this submission
        return Graded(task.student, task.assignment, error=f"the worker could not set up the course: {error!r}")
    submitted = course.root / "submitted" / task.student / task.assignment
    try:
        shutil.rmtree(submitted, ignore_errors=True)
        for name, content in task.files.items():
            path = submitted / name
            if path.resolve().is_relative_to(submitted.resolve()):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        mark = time.perf_counter()
        flagged = admission.reasons_not_to_grade(course.root, task.assignment, submitted, kit.others)
        if flagged:
            return Graded(task.student, task.assignment, flagged=tuple(flagged), seconds=time.perf_counter() - began)
        notes, deleted = repairs(course.root, task.assignment, submitted)
        running = _LOCAL.running = _Running(task, deleted, kit)
        outcome = course.api.autograde(task.assignment, task.student, force=True, create=True)
        autograde_seconds = time.perf_counter() - mark
        for result in running.results:
            notes.extend(result.notes)
        worker = {name: sum(dict(r.stages).get(name, 0.0) for r in running.results) for name in ("kernel start",)}
        executing = sum(r.seconds for r in running.results) - worker["kernel start"]
        stages["kernel start"] = worker["kernel start"]
        stages["executing"] = executing
        stages["sanitizing, judging, scoring (nbgrader autograde)"] = max(
            0.0, autograde_seconds - sum(r.seconds for r in running.results)
        )
        if not outcome["success"]:
            return Graded(
                task.student, task.assignment, notes=tuple(notes), error=f"nbgrader: {_nbgrader_error(outcome)}"
            )
        if task.manual:  # so that the feedback shows the instructor's grades, not the automatic ones
            _apply_manual(course, task)
        if task.feedback:
            mark = time.perf_counter()
            course.generate_feedback(task.assignment, task.student)
            stages["feedback"] = time.perf_counter() - mark
        from autograder.reporting import results

        grades, comments, penalties = [], [], []
        with Gradebook(f"sqlite:///{course.root / GRADEBOOK}", kit.course_id) as gradebook:
            found = results.cells_of(course.root, task.assignment, task.student, gradebook)
            cells = tuple(asdict(cell) for cell in found)
            submission = gradebook.find_submission(task.assignment, task.student)
            for notebook in submission.notebooks:
                penalties.append((notebook.name, notebook.late_submission_penalty))
                grades += [(notebook.name, g.name, g.auto_score) for g in notebook.grades]
                comments += [(notebook.name, c.name, c.auto_comment) for c in notebook.comments]
            gradebook.remove_student(task.student)  # the private gradebook stays as small as the kit's
        removed = True
        return Graded(
            task.student,
            task.assignment,
            _files(course.root / "autograded" / task.student / task.assignment),
            _files(course.root / "feedback" / task.student / task.assignment),
            tuple(grades),
            tuple(comments),
            tuple(penalties),
            tuple(notes),
            time.perf_counter() - began,
            stopped=any(r.stopped for r in running.results),
            slowest=tuple(sorted((s for r in running.results for s in r.slowest), key=lambda item: -item[1])[:3]),
            stages=tuple(stages.items()),
            cells=cells,
            cell_seconds=tuple((f"{r.notebook_name}: {label}", s) for r in running.results for label, s in r.cells),
            slow_start=next((r.slow_start for r in running.results if r.slow_start), ""),
        )
    except Exception as error:  # a broken machine must not stop the class: report it with this submission
        return Graded(task.student, task.assignment, error=repr(error))
    finally:
        _LOCAL.running = None
        for folder in ("submitted", "autograded", "feedback"):
            shutil.rmtree(course.root / folder / task.student, ignore_errors=True)
        if not removed:
            with contextlib.suppress(Exception):
                _remove_student(course, task.student)


def _apply_manual(course: _Course, task: SubmissionTask) -> None:
    """Copy the instructor's manual grades and comments of `task`'s submission into the private gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course.root / GRADEBOOK}", course.kit.course_id) as gradebook:
        for manual in task.manual:
            try:
                if manual.kind == "grade":
                    grade = gradebook.find_grade(manual.cell, manual.notebook, task.assignment, task.student)
                    grade.manual_score, grade.extra_credit = manual.score, manual.extra_credit
                else:
                    comment = gradebook.find_comment(manual.cell, manual.notebook, task.assignment, task.student)
                    comment.manual_comment = manual.comment
            except MissingEntry:  # a cell the assignment no longer has
                continue
        gradebook.db.commit()


def _remove_student(course: _Course, student: str) -> None:
    """Forget `student` in the private gradebook (after a failure too)."""
    from nbgrader.api import Gradebook, MissingEntry

    with (
        Gradebook(f"sqlite:///{course.root / GRADEBOOK}", course.kit.course_id) as gradebook,
        contextlib.suppress(MissingEntry),
    ):
        gradebook.remove_student(student)
