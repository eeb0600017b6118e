"""The instructor's command line: `autograder release | demo | grade | gradebook`."""

from __future__ import annotations

import argparse
import sys

from autograder.grading.course import assignments, find_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description="Computational Differentiation course tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="regenerate release/ from source/ and check for leaks")
    release.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    demo = commands.add_parser("demo", help="release, grade three sample submissions, print the gradebook")
    demo.add_argument("assignments", nargs="*")
    grade = commands.add_parser("grade", help="autograde every submission in submitted/ for an assignment")
    grade.add_argument("assignment")
    table = commands.add_parser("gradebook", help="print the gradebook of an assignment")
    table.add_argument("assignment")
    args = parser.parse_args(argv)

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
    if args.assignment not in assignments(root):
        print(f"autograder: no assignment {args.assignment!r}; the course has {assignments(root)}", file=sys.stderr)
        return 2
    from autograder.grading import gradebook_table
    from autograder.grading.course import db_url

    if args.command == "grade":
        from autograder.grading.autograde import autograde

        students = sorted(p.parent.name for p in (root / "submitted").glob(f"*/{args.assignment}") if p.is_dir())
        if not students:
            print(f"autograder: nothing in submitted/*/{args.assignment}/", file=sys.stderr)
            return 1
        outcomes = autograde(root, args.assignment, students)
        if any(not o.success for o in outcomes):
            return 1
    columns, rows = gradebook_table.read(db_url(root), args.assignment)
    print(gradebook_table.render(args.assignment, columns, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
