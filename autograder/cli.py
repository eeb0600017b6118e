"""The command line: `autograder check` for students; `release | collect | grade | demo | gradebook | report |
export | gradescope-autograder` for instructors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.grading.course import assignments, find_root


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Computational Differentiation course tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run a notebook and its visible tests; exit 1 if one fails")
    check.add_argument(
        "notebook", type=Path, help="a course notebook (.ipynb), e.g. release/01_numerical/01_numerical.ipynb"
    )
    check.add_argument("--json", action="store_true", help="print machine-readable results instead of the summary")
    check.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per cell and per test (300)")
    check.add_argument(
        "--thorough", action="store_true", help="also run every graded check on fresh random cases (as hidden tests do)"
    )
    check.add_argument("--seed", type=int, default=None, help="the thorough check's run seed, to repeat a run")
    release = commands.add_parser("release", help="regenerate release/ from source/ and check for leaks")
    release.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    collect = commands.add_parser("collect", help="import submissions (notebooks or LMS zip files) into submitted/")
    collect.add_argument("path", type=Path, help="a folder of .ipynb / .zip files named after the student, or one file")
    grade = commands.add_parser("grade", help="autograde every submission of an assignment, in parallel, sandboxed")
    target = grade.add_mutually_exclusive_group(required=True)
    target.add_argument("assignment", nargs="?", help="the assignment to grade")
    target.add_argument("--all", action="store_true", help="grade every assignment")
    grade.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    grade.add_argument("--scheduler", default=None, help="a Dask scheduler address (tcp://host:8786) to execute on")
    grade.add_argument("--force", action="store_true", help="regrade submissions that have not changed")
    grade.add_argument("--no-sandbox", action="store_true", help="run student code with your own permissions")
    grade.add_argument("--no-feedback", action="store_true", help="do not write feedback/ HTML reports")
    grade.add_argument(
        "--time-bound",
        type=float,
        default=None,
        help="seconds a notebook may run in all before its kernel is killed (default: from its cells and cell limit)",
    )
    demo = commands.add_parser("demo", help="release, grade sample submissions, print the gradebook")
    demo.add_argument("assignments", nargs="*")
    table = commands.add_parser("gradebook", help="print the gradebook of an assignment")
    table.add_argument("assignment")
    report = commands.add_parser("report", help="what the class got wrong: reports/<assignment>.html and a summary")
    target = report.add_mutually_exclusive_group(required=True)
    target.add_argument("assignment", nargs="?", help="the assignment to report on")
    target.add_argument("--all", action="store_true", help="every assignment with recorded results")
    report.add_argument("--json", action="store_true", help="print the report's data as JSON (names included)")
    report.add_argument("--top", type=int, default=10, help="mistakes listed in the summary (10; the HTML has all)")
    export = commands.add_parser("export", help="grades for Canvas, Gradescope (results.json) or as grades.csv")
    export.add_argument("format", choices=["canvas", "gradescope", "csv"])
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("assignment", nargs="?", help="the assignment to export")
    target.add_argument("--all", action="store_true", help="every assignment")
    export.add_argument("--roster", type=Path, default=None, help="canvas: the roster CSV (default: roster.csv)")
    export.add_argument("--output", type=Path, default=None, help="where to write (default: exports/...)")
    zipped = commands.add_parser("gradescope-autograder", help="build the autograder zip Gradescope runs")
    zipped.add_argument("assignment")
    zipped.add_argument("--output", type=Path, default=None, help="the zip (default: exports/gradescope/<a>.zip)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":  # a student's command: needs no course folder
        from autograder.check_command import check

        return check(args.notebook, args.timeout, args.json, args.thorough, args.seed)
    root = find_root()
    if args.command == "release":
        from autograder.grading.release import ReleaseError, release

        try:
            for path in release(root, args.assignments or None):
                print(f"wrote {path.relative_to(root)}")
        except ReleaseError as error:
            print(f"autograder release: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "demo":
        from autograder.grading.demo import run

        return run(root, args.assignments or None)
    if args.command == "collect":
        from autograder.grading.collect import collect

        return collect(root, args.path)
    names = assignments(root) if getattr(args, "all", False) else [args.assignment]
    unknown = [n for n in names if n not in assignments(root)]
    if unknown:
        print(f"autograder: no assignment {unknown[0]!r}; the course has {assignments(root)}", file=sys.stderr)
        return 2
    if args.command == "report":
        from autograder.reporting.report_command import run_report

        return run_report(root, names, args.json, args.top, explicit=not args.all)
    if args.command == "export":
        from autograder.reporting.exports import run_export

        return run_export(root, args.format, names, args.roster, args.output)
    if args.command == "gradescope-autograder":
        from autograder.reporting.gradescope import build_zip

        print(f"wrote {build_zip(root, args.assignment, args.output)}")
        return 0
    if args.command == "grade":
        from autograder.grading.grade_command import run_grade

        return run_grade(
            root,
            names,
            args.jobs,
            args.scheduler,
            args.force,
            not args.no_sandbox,
            not args.no_feedback,
            time_bound=args.time_bound,
        )
    from autograder.grading import gradebook_table
    from autograder.grading.course import db_url

    columns, rows = gradebook_table.read(db_url(root), args.assignment)
    print(gradebook_table.render(args.assignment, columns, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
