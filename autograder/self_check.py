"""Self-check: run a notebook's visible tests again and say, per exercise, what passes and why not.

The last cell of every released notebook calls `self_check("<notebook>.ipynb")`. It reads the
notebook's graded test cells from the saved file (they are locked, so the file holds the same test
code the student sees; hidden tests are not in a released notebook, and any `### BEGIN HIDDEN
TESTS` block found in an instructor's copy is left out), runs each in the kernel's namespace on
the student's current code, and prints one line per test cell, the readable failure message of
each failing one, and a total. `autograder check NOTEBOOK` runs the same code from the command
line (see `autograder.check_command`).

Only the standard library and this package's pure-Python parts are used here, and the notebook is
read with `json` rather than nbformat, so the self-check also runs in a browser kernel (Pyodide in
JupyterLite), where nbformat is not installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
SKIPPED_WHILE_GRADING = "Self-check skipped: the notebook is being graded (the test cells above count)."


@dataclass(frozen=True)
class VisibleTest:
    """One graded test cell: its nbgrader grade id, its points and its visible code."""

    name: str
    points: float
    code: str


@dataclass(frozen=True)
class TestResult:
    """The outcome of one visible test: `points` is `max_points` if it passed, else 0.

    `message` is the student-facing failure text (empty on success); `diagnosis` names the
    likely mistake when the check recognised one (empty otherwise).
    """

    name: str
    points: float
    max_points: float
    passed: bool
    message: str = ""
    diagnosis: str = ""


def is_test_cell(cell: Mapping[str, Any]) -> bool:
    """Whether a notebook cell (a dict or nbformat node) is a graded test cell: code, graded, not a solution."""
    grading = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(grading.get("grade")) and not grading.get("solution")


def visible_tests(notebook: Mapping[str, Any]) -> list[VisibleTest]:
    """The graded test cells of a notebook (a dict as read from an .ipynb file), in order."""
    tests = []
    for cell in notebook.get("cells", []):
        if not is_test_cell(cell):
            continue
        grading = cell["metadata"]["nbgrader"]
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        code = HIDDEN_TESTS.sub("", source)
        tests.append(VisibleTest(str(grading.get("grade_id", "?")), float(grading.get("points", 0) or 0), code))
    return tests


def run_test(test: VisibleTest, namespace: dict[str, Any]) -> TestResult:
    """Run one test cell's code in `namespace`; its printed text is swallowed, failures explained.

    Like nbgrader, a test that writes to stderr fails: graded, that cell would score 0.
    """
    out, err = io.StringIO(), io.StringIO()
    failed, message, diagnosis = False, "", ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            exec(compile(test.code, f"<test cell {test.name}>", "exec"), namespace)
    except AssertionError as error:  # CheckFailure is one: its text is the whole explanation
        failed, message = True, str(error).strip() or "an assertion failed (no message)."
        diagnosis = str(getattr(error, "diagnosis", "") or "")
    except Exception as error:
        failed, message = True, _explain(error)
    if not failed and err.getvalue().strip():
        failed = True
        message = (
            "the test passed but something wrote to stderr (a warning?), and nbgrader scores a test cell "
            f"with any stderr output 0. It wrote: {err.getvalue().strip()[:300]}"
        )
    return TestResult(test.name, 0.0 if failed else test.points, test.points, not failed, message, diagnosis)


def _explain(error: Exception) -> str:
    """A non-check exception from a test cell, with a hint for the usual causes."""
    where = ""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.endswith("self_check.py")]
    if frames:
        where = f" (in {frames[-1].name}, line {frames[-1].lineno})"
    text = f"{type(error).__name__}: {error}{where}"
    if isinstance(error, NameError):
        text += ". Run the cells above first (Run > Run All Cells), and keep the names the exercise asks for."
    elif isinstance(error, ImportError):
        text += ". A package the test needs is missing in this environment."
    return text


def run_tests(tests: Iterable[VisibleTest], namespace: dict[str, Any]) -> list[TestResult]:
    """`run_test` for each test, in order."""
    return [run_test(test, namespace) for test in tests]


def trace_causes(results: list[TestResult]) -> list[TestResult]:
    """`results` with each failure that an exercise above explains starting with "`hvp` fails above: fix
    it first." (the root cause among the failing exercises it builds on, `autograder.exercise_dependencies`)."""
    from autograder import exercise_dependencies as dependencies

    assignment = dependencies.assignment_of([r.name for r in results])
    if assignment is None:
        return results
    table = dependencies.BUILDS_ON[assignment]
    failing = {r.name for r in results if not r.passed}
    return [
        r
        if r.passed
        else replace(r, message=dependencies.traced(r.message, dependencies.failing_cause(table, r.name, failing)))
        for r in results
    ]


def _points(value: float) -> str:
    return f"{value:g}"


def summary(results: list[TestResult], notebook: str) -> str:
    """The text the self-check prints: a line per test, each failure's message, and a total."""
    if not results:
        return f"Self-check: {notebook} has no graded test cells."
    width = max(len(r.name) for r in results)
    lines = [
        f"Self-check of {notebook}: the visible tests, run again on your current code.",
        "Hidden tests also run when the notebook is graded, so passing here is necessary, not sufficient.",
        "",
    ]
    for r in results:
        mark = "✓" if r.passed else "✗"
        lines.append(f"{mark} {r.name:<{width}}  {_points(r.points)}/{_points(r.max_points)} points")
        if not r.passed:
            lines.extend("      " + line for line in r.message.splitlines() if line.strip())
    failing = [r for r in results if not r.passed]
    earned, total = sum(r.points for r in results), sum(r.max_points for r in results)
    lines.append("")
    if failing:
        lines.append(
            f"Self-check: {len(failing)} of {len(results)} visible tests fail "
            f"({_points(earned)} of {_points(total)} points so far)."
        )
    else:
        lines.append(
            f"Self-check: all {len(results)} visible tests pass ({_points(earned)} of {_points(total)} points)."
        )
    return "\n".join(lines)


def as_json(results: list[TestResult], notebook: str) -> dict[str, Any]:
    """The machine-readable form: overall status and, per test, name, points, max_points, message."""
    return {
        "notebook": notebook,
        "passed": all(r.passed for r in results) and bool(results),
        "points": sum(r.points for r in results),
        "max_points": sum(r.max_points for r in results),
        "tests": [asdict(r) for r in results],
    }


def find_notebook(name: str | None) -> str:
    """The path of the notebook to check: `name` in the current folder, else the kernel's session.

    Raises FileNotFoundError with what to do when neither exists.
    """
    candidates = [name] if name else []
    session = os.environ.get("JPY_SESSION_NAME", "")  # set by Jupyter Server 2 for a notebook's kernel
    if session.endswith(".ipynb"):
        candidates.append(session)
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f"the self-check could not find {name or 'the notebook'} in {os.getcwd()}: it reads the test cells "
        "from the saved notebook file. If you renamed or moved the notebook, give its name: "
        'self_check("my_copy.ipynb").'
    )


def _grading() -> bool:
    """True in a kernel started by the grader (it records observations instead of judging)."""
    runtime = sys.modules.get("autograder.runtime")
    return bool(os.environ.get("AUTOGRADER_RECORDS")) or (runtime is not None and runtime.mode() != "local")


def _user_namespace() -> dict[str, Any]:
    """The namespace the student's cells ran in: IPython's user namespace, else the caller's."""
    with contextlib.suppress(Exception):
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    return sys._getframe(2).f_globals


def self_check(
    notebook: str | None = None, output: str = "text", thorough: bool = False, seed: int | None = None
) -> None:
    """Run the visible tests of `notebook` (a file name, read from the kernel's folder) and report.

    `output="text"` prints the summary for a person; `output="json"` prints `as_json` on one line
    (what `autograder check --json` reads). With `thorough=True`, every graded check then runs again
    on fresh random cases (`autograder.thorough`), from the run seed `seed` (a new one, printed, if
    None). Nothing runs in a kernel started by the grader.
    """
    if _grading():
        print(SKIPPED_WHILE_GRADING)
        return
    namespace = _user_namespace()
    try:
        path = find_notebook(notebook)
        with open(path, encoding="utf-8") as handle:
            tests = visible_tests(json.load(handle))
    except (OSError, ValueError) as error:
        print(f"Self-check: {error}")
        return
    results = trace_causes(run_tests(tests, namespace))
    name = os.path.basename(path)
    report = as_json(results, name) if output == "json" else None
    if output != "json":
        print(summary(results, name))
    if thorough:
        deep = _thorough(results, namespace, seed)
        if report is not None:
            report["thorough"] = deep and {
                "seed": deep[0],
                "passed": all(r.passed for r in deep[1]),
                "exercises": [{**asdict(r), "passed": r.passed} for r in deep[1]],
            }
        elif deep:
            from autograder import thorough as plans

            print()
            print(plans.summary(deep[1], name, deep[0]))
        else:
            print("\nThorough self-check: this notebook is not one of the course's assignments.")
    if report is not None:
        print(json.dumps(report))


def _thorough(results: list[TestResult], namespace: dict[str, Any], seed: int | None) -> tuple[int, list] | None:
    """(run seed, per-exercise results) of the thorough check, or None for a notebook without a plan."""
    from autograder import thorough as plans

    found = plans.plan_for([r.name for r in results])
    if found is None:
        return None
    run_seed = plans.new_run_seed() if seed is None else int(seed)
    skip = {r.name: "its visible test fails: fix that first (see above)" for r in results if not r.passed}
    return run_seed, plans.traced(plans.run(namespace, found[1], run_seed, [r.name for r in results], skip))
