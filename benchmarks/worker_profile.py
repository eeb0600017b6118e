"""Profile of a grading worker's own work per submission (not a test): everything but running the notebook.

`worker_grading.grade_submission` writes the submission into the worker's private course, checks it
(`admission`), recovers it (`repairs`), runs nbgrader's `autograde` (sanitizing, `WorkerExecution`,
judging, `SaveAutoGrades`), `generate_feedback`, reads the cells' results and the private gradebook,
and removes the student again. Only `execution.execute` (the student's kernel) runs outside this process.

This script builds a course copy with `--count` submissions (complete, half-done and untouched, in
turn: `grading_pipeline.course_with_submissions`), builds the kit once (`worker_grading.build_kit`) and
grades every submission in this process:

1. a recording round: `execution.execute` really runs (sandboxed unless `--no-sandbox`, no kernel
   started ahead), its results are kept, and its time is reported separately;
2. `--rounds` profiled rounds: the same submissions again under cProfile, with `execution.execute`
   replaced by a replay of the recorded results (no time spent executing), so the profile holds the
   worker's own work only;
3. `--repeat` rounds without the profiler (the same replay), timed, and one more with a timer around
   each step (`BREAKDOWN`: admission, recovery, every nbgrader preprocessor, the HTML export, ...).

It prints the wall and CPU time per submission of the worker's own work (fastest and median of the
rounds without the profiler: the machine may be shared; CPU time suffers less from it), where it goes
step by step, then the functions by cumulative and by own time. The recorded executions can be saved
and reused (`--executions FILE`): two versions of the code then grade the very same kernel outputs, and
`--save-graded FILE` writes what the worker returned (grades, comments, notes, cells, the autograded
and feedback files) as JSON, so that two versions' results can be compared byte for byte (`diff` the
files; the course's temporary path is replaced by COURSE).

Run from the repository root:
`python benchmarks/worker_profile.py [--assignment 01_numerical] [--count 3] [--rounds 2] [--top 35]`
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import io
import json
import os
import pickle
import pstats
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grading_pipeline import course_with_submissions  # noqa: E402

from autograder.grading import execution, pipeline, worker_grading  # noqa: E402


def _key(run: execution.Task) -> tuple[str, str, str]:
    return run.student, run.notebook_name, hashlib.sha256(run.notebook_json.encode()).hexdigest()


class Executions:
    """`execution.execute` recorded once, then replayed: (student, notebook, sanitized notebook's hash) -> Result."""

    def __init__(self, recorded: dict | None = None) -> None:
        self.recorded: dict[tuple[str, str, str], execution.Result] = dict(recorded or {})
        self.seconds = 0.0
        self.real = execution.execute

    def record(self, run: execution.Task) -> execution.Result:
        key = _key(run)
        if key in self.recorded:
            return self.recorded[key]
        began = time.perf_counter()
        result = self.real(run)
        self.seconds += time.perf_counter() - began
        self.recorded[key] = result
        return result

    def replay(self, run: execution.Task) -> execution.Result:
        key = _key(run)
        if key not in self.recorded:
            raise KeyError(f"no recorded execution of {key[:2]}: the sanitized notebook differs from the recording")
        # no time spent executing: grade_submission's own stages then hold the worker's work only
        return dataclasses.replace(self.recorded[key], seconds=0.0, stages=())


BREAKDOWN = (  # (label, "module:attribute path"): wall time of each, inclusive of what it calls
    ("write, admission.reasons_not_to_grade", "autograder.grading.admission:reasons_not_to_grade"),
    ("repairs (recovery)", "autograder.grading.worker_grading:repairs"),
    ("nbgrader api.autograde", "nbgrader.apps.api:NbGraderAPI.autograde"),
    ("  Autograde.init_assignment", "nbgrader.converters.autograde:Autograde.init_assignment"),
    ("  RecoverCells", "autograder.grading.recovery:RecoverCells.preprocess"),
    ("  ClearOutput", "nbgrader.preprocessors:ClearOutput.preprocess"),
    ("  DeduplicateIds", "nbgrader.preprocessors:DeduplicateIds.preprocess"),
    ("  ForgetBrokenMetadata", "autograder.grading.sanitize:ForgetBrokenMetadata.preprocess"),
    ("  OverwriteKernelspec", "nbgrader.preprocessors:OverwriteKernelspec.preprocess"),
    ("  OverwriteCells", "nbgrader.preprocessors:OverwriteCells.preprocess"),
    ("  CheckCellMetadata (both passes)", "nbgrader.preprocessors:CheckCellMetadata.preprocess"),
    ("  PreparedCheckCellMetadata (both passes)", "autograder.grading.sanitize:PreparedCheckCellMetadata.preprocess"),
    ("  WorkerExecution (execute replayed)", "autograder.grading.worker_grading:WorkerExecution.preprocess"),
    ("  IgnorePattern", "nbgrader.preprocessors:IgnorePattern.preprocess"),
    ("  JudgeRecords", "autograder.grading.trusted_judge:JudgeRecords.preprocess"),
    ("    judge_cell (the checks, judging)", "autograder.grading.trusted_judge:judge_cell"),
    ("    redact_errors", "autograder.grading.feedback_guard:redact_errors"),
    ("  ClearMetadataPreprocessor", "nbconvert.preprocessors:ClearMetadataPreprocessor.preprocess"),
    ("  LimitOutput", "nbgrader.preprocessors:LimitOutput.preprocess"),
    ("  SaveAutoGrades", "nbgrader.preprocessors:SaveAutoGrades.preprocess"),
    ("  AssignLatePenalties", "nbgrader.preprocessors:AssignLatePenalties.preprocess"),
    ("  FilesWriter.write", "nbconvert.writers:FilesWriter.write"),
    ("nbgrader api.generate_feedback", "nbgrader.apps.api:NbGraderAPI.generate_feedback"),
    ("generate_feedback (the worker's, KeptFeedback)", "autograder.grading.worker_grading:_Course.generate_feedback"),
    ("  GetGrades", "nbgrader.preprocessors:GetGrades.preprocess"),
    ("  ClearHiddenTests", "nbgrader.preprocessors:ClearHiddenTests.preprocess"),
    ("  CSSHTMLHeaderPreprocessor", "nbconvert.preprocessors:CSSHTMLHeaderPreprocessor.preprocess"),
    ("  WithholdHiddenOutputs", "autograder.grading.feedback_guard:WithholdHiddenOutputs.preprocess"),
    ("  HTMLExporter.from_notebook_node", "nbconvert.exporters:HTMLExporter.from_notebook_node"),
    ("    Jinja environment (created)", "nbconvert.exporters:TemplateExporter._create_environment"),
    ("    Jinja template (loaded, compiled)", "nbconvert.exporters:TemplateExporter._load_template"),
    ("    BeautifulSoup (parse the HTML)", "bs4:BeautifulSoup.__init__"),
    ("    Template.render (Jinja)", "jinja2.environment:Template.render"),
    ("      markdown2html", "nbconvert.exporters:HTMLExporter.markdown2html"),
    ("      highlight_code (pygments)", "nbconvert.filters.highlight:Highlight2HTML.__call__"),
    ("    BeautifulSoup.decode", "bs4:BeautifulSoup.decode"),
    ("  GenerateFeedback() (the converter made)", "nbgrader.converters:GenerateFeedback.__init__"),
    ("  HTMLExporter() (the exporter made)", "nbconvert.exporters:HTMLExporter.__init__"),
    ("results.cells_of", "autograder.reporting.results:cells_of"),
    ("_remove_student", "autograder.grading.worker_grading:_remove_student"),
    ("(any) Gradebook opened", "nbgrader.api:Gradebook.__init__"),
    ("(any) Autograde() (the converter made)", "nbgrader.converters:Autograde.__init__"),
    ("(any) jsonschema.validate (nbgrader metadata)", "jsonschema:validate"),
    ("(any) feedback_guard.redact", "autograder.grading.feedback_guard:redact"),
    ("(any) recovery.recover", "autograder.grading.recovery:recover"),
    ("(any) compile()", "builtins:compile"),
    ("(any) nbformat.read", "nbformat:read"),
    ("(any) nbformat.reads", "nbformat:reads"),
    ("(any) nbformat.validate", "nbformat:validate"),
    ("(any) nbformat.writes", "nbformat:writes"),
)


def breakdown(tasks: list, kit: worker_grading.CourseKit) -> None:
    """Grade `tasks` once with a timer around every function of BREAKDOWN; print seconds and calls per submission."""
    import functools
    import importlib

    spent = {label: [0.0, 0] for label, _ in BREAKDOWN}
    patched = []
    for label, where in BREAKDOWN:
        module_name, path = where.split(":")
        *parents, attribute = path.split(".")
        try:
            owner = importlib.import_module(module_name)
            for parent in parents:
                owner = getattr(owner, parent)
            original = getattr(owner, attribute)
        except (ImportError, AttributeError):  # not in this version of the code
            continue
        own = not isinstance(owner, type) or attribute in owner.__dict__

        def timed(*args, _original=original, _label=label, **kwargs):
            began = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label][0] += time.perf_counter() - began
                spent[_label][1] += 1

        functools.update_wrapper(timed, original)
        setattr(owner, attribute, timed)
        patched.append((owner, attribute, original, own))
    began = time.perf_counter()
    try:
        for task in tasks:
            worker_grading.grade_submission(task, kit)
    finally:
        for owner, attribute, original, own in reversed(patched):
            if own:
                setattr(owner, attribute, original)
            else:
                delattr(owner, attribute)
    total = time.perf_counter() - began
    count = len(tasks)
    print(f"\n=== where the worker's own time goes, per submission (wall, inclusive; {total / count:.3f} s in all) ===")
    for label, (seconds, calls) in spent.items():
        print(f"  {label:<45} {seconds / count:7.3f} s  {calls / count:5.1f} calls")


def _text(content: bytes, root: Path) -> str:
    try:
        return content.decode().replace(str(root), "COURSE")
    except UnicodeDecodeError:
        return "sha256:" + hashlib.sha256(content).hexdigest()


def comparable(graded: worker_grading.Graded, root: Path) -> dict:
    """What a worker returned, without its timings (which differ from run to run)."""
    data = asdict(graded)
    for name in ("seconds", "stages", "slowest", "cell_seconds"):
        data.pop(name)
    data["autograded"] = {k: _text(v, root) for k, v in sorted(graded.autograded.items())}
    data["feedback"] = {k: _text(v, root) for k, v in sorted(graded.feedback.items())}
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_numerical")
    parser.add_argument("--count", type=int, default=3, help="submissions: complete, half-done, untouched in turn")
    parser.add_argument("--rounds", type=int, default=2, help="profiled rounds over every submission")
    parser.add_argument("--repeat", type=int, default=5, help="rounds timed without the profiler")
    parser.add_argument("--top", type=int, default=35, help="functions listed per table")
    parser.add_argument("--no-sandbox", action="store_true", help="run the recording round's kernels unsandboxed")
    parser.add_argument("--executions", type=Path, default=None, help="pickle of recorded executions: reuse or write")
    parser.add_argument("--save-graded", type=Path, default=None, help="write what the worker returned, as JSON")
    parser.add_argument("--stats", type=Path, default=None, help="write the profile (pstats format) to this file")
    parser.add_argument("--restrict", default="", help="only functions whose location matches this (pstats filter)")
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])

    with tempfile.TemporaryDirectory(prefix="worker-profile-") as folder:
        root = course_with_submissions(Path(folder) / "course", args.assignment, args.count, stock=False)
        began = time.perf_counter()
        kit = worker_grading.build_kit(root, args.assignment)
        print(f"{args.assignment}: kit built in {time.perf_counter() - began:.2f} s ({os.getloadavg()[0]:.1f} load)")
        students = sorted(p.name for p in (root / "submitted").iterdir())
        tasks = [
            worker_grading.SubmissionTask(
                student,
                args.assignment,
                pipeline.submission_files(root, args.assignment, student),
                use_sandbox=not args.no_sandbox,
                more=False,
            )
            for student in students
        ]
        recorded = None
        if args.executions is not None and args.executions.exists():
            recorded = pickle.loads(args.executions.read_bytes())
        executions = Executions(recorded)

        execution.execute = executions.record
        began = time.perf_counter()
        first = [worker_grading.grade_submission(task, kit) for task in tasks]
        recording = time.perf_counter() - began
        for graded in first:
            if graded.error:
                raise SystemExit(f"{graded.student}: {graded.error}")
        if args.executions is not None and recorded is None:
            args.executions.write_bytes(pickle.dumps(executions.recorded))
        print(
            f"recording round: {recording / len(tasks):.3f} s per submission, of which execution.execute "
            f"{executions.seconds / len(tasks):.3f} s"
            + (" (replayed from --executions: not run)" if recorded is not None else "")
        )

        execution.execute = executions.replay
        profile = cProfile.Profile()
        walls = []
        graded_rounds = []
        for _ in range(args.rounds):
            began = time.perf_counter()
            profile.enable()
            graded_rounds.append([worker_grading.grade_submission(task, kit) for task in tasks])
            profile.disable()
            walls.append((time.perf_counter() - began) / len(tasks))
        for graded in (g for round_ in graded_rounds for g in round_):
            if graded.error:
                raise SystemExit(f"{graded.student}: {graded.error}")
        print(
            "worker's own work (execution.execute replayed), per submission, each profiled round: "
            + ", ".join(f"{w:.3f} s" for w in walls)
            + " (under cProfile: slower than without it)"
        )
        unprofiled, cpu = [], []
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            last = [worker_grading.grade_submission(task, kit) for task in tasks]
            unprofiled.append((time.perf_counter() - began) / len(tasks))
            cpu.append((time.process_time() - began_cpu) / len(tasks))
        unprofiled.sort()
        cpu.sort()
        print(
            f"without the profiler, {args.repeat} rounds, per submission (the worker's own work): wall fastest "
            f"{unprofiled[0]:.3f} s, median {unprofiled[len(unprofiled) // 2]:.3f} s; this process's CPU fastest "
            f"{cpu[0]:.3f} s, median {cpu[len(cpu) // 2]:.3f} s (steadier than wall time on a shared machine)"
        )
        stages: dict[str, float] = {}
        for graded in last:
            for name, seconds in graded.stages:
                stages[name] = stages.get(name, 0.0) + seconds / len(last)
        print(
            "  its last round's stages per submission (as grade_submission reports them): "
            + ", ".join(f"{name} {seconds:.3f}" for name, seconds in stages.items() if seconds)
        )
        results = [comparable(g, root) for g in last]
        if any(comparable(g, root) != r for round_ in graded_rounds for g, r in zip(round_, results, strict=True)):
            print("WARNING: the rounds' results differ")
        if args.save_graded is not None:
            args.save_graded.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
            print(f"results written to {args.save_graded}")

        breakdown(tasks, kit)
        execution.execute = executions.real
        if args.stats is not None:
            profile.dump_stats(args.stats)
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats(order)
            restrictions = [args.restrict] if args.restrict else []
            stats.print_stats(*restrictions, args.top)
            text = out.getvalue()
            calls = len(tasks) * args.rounds
            print(f"\n=== by {order} time (seconds over {calls} gradings; divide by {calls} per submission) ===")
            print(text[text.find("   ncalls") :].rstrip())


if __name__ == "__main__":
    main()
