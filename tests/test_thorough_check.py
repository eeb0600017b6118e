"""The thorough self-check (autograder/thorough.py): every graded check on fresh random cases.

It runs in the student's kernel, like the plain self-check; here the notebook's code runs in this
process (setup and locked cells, the solution cells of the reference or of a mutant), then the
visible tests and the thorough cases. The share of the project's mutants that the plain self-check
misses and the thorough one catches goes to test-artifacts/thorough_coverage.txt.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import random
import re
import signal
import subprocess
import sys

import nbformat
import pytest

from autograder import self_check, thorough
from autograder.grading import submissions
from tests.conftest import REPO, UNIT_MODULES, UNITS

ASSIGNMENTS = sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())
RUN_SEED = 20261206
SECONDS = 120  # for one notebook: its code, its visible tests and its thorough cases
ARTIFACT = REPO / "test-artifacts" / "thorough_coverage.txt"


def _source(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "source" / name / f"{name}.ipynb", as_version=4)


class _Timeout(BaseException):  # not an Exception: the notebook's code and the checks must not catch it
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout(f"over {SECONDS} s")


@contextlib.contextmanager
def _time_limit():
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def notebook_namespace(source: nbformat.NotebookNode, solved: bool = True, replaced: dict | None = None) -> dict:
    """Run the notebook's code cells (not tests, plots or the self-check) in a fresh namespace.

    Solution cells run the reference (`solved`), the stub, or the code in `replaced` by grade id.
    """
    namespace: dict = {}
    for cell in source.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or grading.get("grade") or "self_check(" in cell.source:
            continue
        if grading.get("solution"):
            code = (replaced or {}).get(grading["grade_id"])
            if code is None:
                code = submissions.solution_code(cell) if solved else _stub(cell.source)
        elif "plt." in cell.source:
            continue
        else:
            code = cell.source
        with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "cell", "exec"), namespace)
    return namespace


def _stub(code: str) -> str:
    """What nbgrader releases for a solution block (the released stub)."""
    return re.sub(
        r"^([ \t]*)### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*",
        lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()",
        code,
        flags=re.S | re.M,
    )


def thorough_results(namespace: dict, tests: list, skip_failing: bool = True):
    """(plain self-check results, thorough results) for the code in `namespace`; with `skip_failing`,
    the thorough cases run only when every visible test passes (as a learner would run them)."""
    plain = self_check.run_tests(tests, namespace)
    found = thorough.plan_for([t.name for t in tests])
    assert found is not None
    if skip_failing and not all(r.passed for r in plain):
        return plain, []
    deep = thorough.run(namespace, found[1], RUN_SEED, [t.name for t in tests])
    return plain, deep


def test_thorough_seeds_never_meet_the_graded_tests_seeds():
    graded = set()
    for name in ASSIGNMENTS:
        for cell in _source(name).cells:
            graded |= {int(s) for s in re.findall(r"seed=(\d+)", cell.source)}
    assert graded and max(graded) < thorough.FIRST_SEED
    seeds = [thorough.case_seed(run, "x", call, case) for run in range(50) for call in range(3) for case in range(3)]
    assert min(seeds) >= thorough.FIRST_SEED and len(set(seeds)) == len(seeds)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_graded_cell_has_random_cases_that_call_real_checks(name):
    tests = self_check.visible_tests(_source(name))
    assignment, plan = thorough.plan_for([t.name for t in tests])
    assert assignment == name
    assert set(plan) == {t.name for t in tests}, "every graded test cell needs random cases, and only those"
    for calls in plan.values():
        for call in calls:
            check = getattr(importlib.import_module(f"autograder.checks.{call.module}"), call.check)
            parameters = inspect.signature(check).parameters
            assert set(call.kwargs) <= set(parameters), f"{call.check} has no parameter {set(call.kwargs)}"
            assert not call.seeded or "seed" in parameters


def test_a_run_is_repeated_exactly_by_its_seed():
    plan = thorough.PLANS["01_numerical"]
    first = thorough.cases(plan, 7, list(plan))
    assert first == thorough.cases(plan, 7, list(plan))
    assert first != thorough.cases(plan, 8, list(plan))
    assert all(f"seed={c.seed}" in c.code for c in first if "seed=" in c.code)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_reference_passes_and_the_stub_fails_every_exercise(name):
    source = _source(name)
    tests = self_check.visible_tests(source)
    with _time_limit():
        plain, deep = thorough_results(notebook_namespace(source), tests)
    assert all(r.passed for r in plain), {r.name: r.message for r in plain if not r.passed}
    failing = {r.name: r.message for r in deep if not r.passed}
    assert not failing, failing
    with _time_limit():
        plain, deep = thorough_results(notebook_namespace(source, solved=False), tests, skip_failing=False)
    assert [r.name for r in deep if r.passed] == [], "a random case that the stub passes cannot fail"
    assert all(r.failing_case and r.message for r in deep)


# Mutants that the plain self-check passes (only hidden tests catch them), measured on every mutant of
# the project (6 Dec 2026: all 10 are caught by the thorough check); the sample below adds a few more
# per unit, drawn by a fixed seed, to keep the suite short.
HIDDEN_ONLY = {
    "backprop": ("parameters_duplicates_shared_layer", "softmax_without_max_shift"),
    "forward": ("pow_dual_exponent_missing_log_term",),
    "higher_order": (
        "derivative_reads_any_tag",
        "no_grad_not_restored_after_exception",
        "no_grad_restores_true_when_nested",
        "no_grad_swallows_exceptions",
    ),
    "reverse": ("recursive_topological_sort",),
    "vjp": ("tensor_mul_without_unbroadcast",),
}
SAMPLE_PER_UNIT = 3


@pytest.fixture(scope="module")
def coverage():
    """Per unit, on a sample of its mutants: the sample, the mutants the plain self-check misses, and
    which of them the thorough one catches."""
    rows = {}
    for module, unit in zip(UNIT_MODULES, UNITS, strict=True):
        short = module.rsplit(".", 1)[-1]
        source = _source(unit.assignment)
        tests = self_check.visible_tests(source)
        others = sorted(set(unit.mutants) - set(HIDDEN_ONLY.get(short, ())))
        sample = [*HIDDEN_ONLY.get(short, ()), *random.Random(short).sample(others, min(SAMPLE_PER_UNIT, len(others)))]
        missed, caught = [], []
        for mutant_name in sample:
            mutant = unit.mutants[mutant_name]
            try:
                with _time_limit():
                    namespace = notebook_namespace(source, replaced={mutant.cell: mutant.code(source)})
                    plain, deep = thorough_results(namespace, tests)
            except _Timeout:
                continue  # a looping mutant: the plain self-check's own time limit is the cell's
            if all(r.passed for r in plain):
                missed.append(mutant_name)
                if any(not r.passed for r in deep):
                    caught.append(mutant_name)
        rows[short] = (sample, missed, caught)
    ARTIFACT.parent.mkdir(exist_ok=True)
    lines = ["unit: a sample of its mutants, those the plain self-check misses, of those the thorough one catches"]
    for short, (sample, missed, caught) in rows.items():
        lines.append(f"{short}: {len(sample)} mutants, plain misses {len(missed)}, thorough catches {len(caught)}")
        lines.extend(f"    {'caught' if m in caught else 'MISSED'} {m}" for m in missed)
    ARTIFACT.write_text("\n".join(lines) + "\n")
    return rows


def test_the_thorough_check_catches_mutants_only_hidden_tests_caught(coverage):
    print(ARTIFACT.read_text())
    for short, (_, missed, caught) in coverage.items():
        assert set(missed) <= set(caught), f"{short}: the thorough check misses {sorted(set(missed) - set(caught))}"
    assert any(missed for _, missed, _ in coverage.values()), "no sampled mutant passes the plain self-check"


def test_autograder_check_thorough_prints_the_seed_and_exits_by_the_result(tmp_path):
    name = "02_symbolic"
    source = _source(name)
    filled = submissions.fill(
        nbformat.read(REPO / "release" / name / f"{name}.ipynb", as_version=4),
        source,
        replaced={"logistic_map_code": "def logistic_map(x, n):\n    return x\n"},
    )
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(filled, path)
    command = [sys.executable, "-m", "autograder.cli", "check", str(path), "--thorough", "--seed", "4242"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "run seed 4242" in done.stdout and 'self_check("02_symbolic.ipynb", thorough=True, seed=4242)' in done.stdout
    assert "✓ derivative_rules_basic" in done.stdout and "random cases pass" in done.stdout
    assert re.search(r"- logistic_map +not run: its visible test fails", done.stdout), done.stdout
    assert "the 7 exercises run pass every random case; 2 not run" in done.stdout
