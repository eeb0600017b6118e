"""The shared pieces of every unit's checks: the one matcher, tolerances, the time guard, the prelude."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import pytest

from autograder.checks.kit.case import Case, explicit_or_seeded
from autograder.checks.kit.diagnose import Candidate, diagnose
from autograder.checks.kit.guard import BackwardPasses, guarded
from autograder.checks.kit.tolerance import close, relative_to_largest, tolerance
from autograder.feedback import CheckFailure, Mistake

FIRST, SECOND = Mistake("first", "rule"), Mistake("second", "rule")


def test_diagnose_names_a_mistake_only_when_exactly_one_matches():
    assert diagnose(2.0, [(FIRST, 2.0), (SECOND, 3.0)], tolerance=1e-9) is FIRST
    assert diagnose(2.0, [(FIRST, 2.0), (SECOND, 2.0)], tolerance=1e-9) is None  # two mistakes fit
    assert diagnose(2.0, [(FIRST, 2.0), (FIRST, 2.0 + 1e-12)], tolerance=1e-9) is FIRST  # the same one twice
    assert diagnose(2.0, [(FIRST, 3.0)], tolerance=1e-9) is None


def test_diagnose_skips_candidates_equal_to_the_truth_or_all_zero():
    assert diagnose(1.0 + 1e-12, [(FIRST, 1.0)], tolerance=1e-9, truth=1.0) is None  # the probe is the right answer
    assert diagnose(np.zeros(3), [(FIRST, np.zeros(3))], tolerance=1e-9) is None  # 0 is no evidence
    assert diagnose(0.0, [Candidate(FIRST, 0.0, 0.0, zero_is_evidence=True)]) is FIRST  # unless it says it is
    # the truth's own tolerance decides which candidates are the truth
    assert diagnose(1.5, [(FIRST, 1.5, 1e-9)], truth=1.0, truth_tolerance=1.0) is None


def test_diagnose_compares_shapes_and_per_candidate_tolerances():
    assert diagnose(np.ones(2), [(FIRST, np.ones(3))], tolerance=1e-9, truth=np.zeros(2)) is None  # wrong shape
    assert diagnose(2.5, [(FIRST, 2.0, 1.0)], tolerance=1e-9, truth=1.0) is FIRST  # a candidate's own tolerance
    assert diagnose(2.0 + 1e-8, [(FIRST, 2.0)], tolerance=relative_to_largest(1e-8)) is FIRST  # tolerance of the value
    assert diagnose(float("nan"), [(FIRST, float("nan"))], tolerance=1.0) is None  # nothing is nan's mistake
    assert diagnose("text", [(FIRST, 2.0)], tolerance=1.0) is None  # an unreadable answer matches nothing


def test_diagnose_takes_other_data_with_its_own_comparison():
    same = lambda a, b, _allowed: a == b  # noqa: E731
    zero = lambda a, _allowed: a == "0"  # noqa: E731
    assert diagnose("x", [(FIRST, "x"), (SECOND, "y")], close=same, is_zero=zero) is FIRST
    assert diagnose("0", [(FIRST, "0")], close=same, is_zero=zero) is None


def test_tolerance_and_close():
    assert tolerance([3.0, -4.0], 0.1) == pytest.approx(0.5)
    assert close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9]), 1e-6)
    assert not close(None, np.zeros(2), 1e-6)
    assert not close([1.0], np.zeros(2), 1e-6)


def test_guarded_reports_a_result_an_exception_a_recursion_and_a_time_out():
    assert guarded(lambda: 3) == {"result": 3}
    assert guarded(lambda: 1 / 0)["raised"].startswith("ZeroDivisionError")

    def deep(n: int) -> int:
        return deep(n + 1)

    assert guarded(lambda: deep(0)).get("recursion") is True
    start = time.perf_counter()

    def spin() -> None:
        while True:
            with contextlib.suppress(Exception):  # a student's catch-all does not stop the guard
                time.sleep(0.01)

    assert guarded(spin, seconds=0.2) == {"timed_out": 0.2}
    assert time.perf_counter() - start < 2


def test_backward_passes_counts_and_restores():
    class Node:
        def backward(self) -> str:
            return "done"

    original = Node.backward
    with BackwardPasses(Node) as passes:
        Node().backward()
        Node().backward()
    assert passes.count == 2
    assert Node.backward is original


def test_cases_are_explicit_or_seeded():
    assert explicit_or_seeded(None, lambda: "explicit", lambda seed: [seed, seed + 1], "given") == ["explicit"]
    assert explicit_or_seeded(7, lambda: "explicit", lambda seed: [seed, seed + 1]) == [7, 8]
    with pytest.raises(ValueError):
        explicit_or_seeded(None, lambda: "explicit", lambda seed: [seed], None)


def test_case_fails_on_an_exception_before_judging():
    judged = []
    Case("f(1)").run(lambda: 2, lambda obs: judged.append(obs.value))
    assert judged == [2]

    def broken() -> None:
        raise KeyError("x")

    with pytest.raises(CheckFailure, match=r"f\(1\): raised KeyError") as error:
        Case("f(1)", "x = 1").run(broken, judged.append, on_raise=FIRST)
    assert error.value.diagnosis == "first"
