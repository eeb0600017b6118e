"""The checks of programs with loops and branches on the value (units 03 and 04), in one process: the
reference passes, the named comparison mistakes fail with their diagnosis, a runaway `while` is cut
short, and the split between observing and judging hands over plain data only."""

from __future__ import annotations

import json
import re
import time

import nbformat
import numpy as np
import pytest

from autograder import observations
from autograder.checks import programs
from autograder.feedback import CheckFailure
from tests.conftest import REPO
from tests.units import forward, reverse
from tests.units.harness import solution_namespace

NAMES = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")
FORWARD = nbformat.read(REPO / "source" / "03_forward" / "03_forward.ipynb", as_version=4)
REVERSE = nbformat.read(REPO / "source" / "04_reverse" / "04_reverse.ipynb", as_version=4)
FORWARD_CELLS = ("dual_code", "functions_code", "derivative_code")
REVERSE_CELLS = ("var_code", "functions_code", "grad_code")


def dual_solution(mutant: str | None = None) -> dict:
    replaced = {"dual_code": forward.MUTANTS[mutant].code(FORWARD)} if mutant else None
    return solution_namespace(FORWARD, FORWARD_CELLS, replaced)


def var_solution(mutant: str | None = None) -> dict:
    replaced = {"var_code": reverse.MUTANTS[mutant].code(REVERSE)} if mutant else None
    return solution_namespace(REVERSE, REVERSE_CELLS, replaced)


def functions(ns: dict) -> tuple:
    return tuple(ns[name] for name in NAMES)


def test_the_reference_dual_passes_the_lectures_programs_and_random_ones():
    ns = dual_solution()
    programs.check_comparisons(ns["Dual"])
    for name, x in (("newton_sqrt", 2.0), ("heron_sqrt", 7.0), ("piecewise", -1.5), ("logistic_map", 0.3)):
        programs.check_programs(ns["derivative"], ns["Dual"], functions(ns), name, x=x)
    programs.check_programs(ns["derivative"], ns["Dual"], functions(ns), seed=5, count=9)


def test_the_reference_var_passes_through_grad():
    ns = var_solution()
    programs.check_comparisons(ns["Var"], mode="grad")
    programs.check_programs(ns["grad"], ns["Var"], functions(ns), "piecewise_cubic", x=1.5, mode="grad")
    programs.check_programs(ns["grad"], ns["Var"], functions(ns), seed=5, count=9, mode="grad")


def test_the_truth_is_the_derivative_of_the_path_taken():
    """The complex step of the lecture's programs equals the derivative by hand."""
    assert programs.program_derivative(programs.PROGRAMS["newton_sqrt"], 2.0) == pytest.approx(1 / (2 * np.sqrt(2)))
    assert programs.program_derivative(programs.PROGRAMS["piecewise"], -1.5) == pytest.approx(4.75)
    assert programs.program_derivative(programs.PROGRAMS["piecewise"], 1.5) == pytest.approx(1.0)
    assert programs.program_derivative(programs.PROGRAMS["piecewise_cubic"], 1.5) == pytest.approx(6.75)


def test_random_programs_are_seeded_and_varied():
    drawn = [programs.random_program(11, k) for k in range(9)]
    assert drawn == [programs.random_program(11, k) for k in range(9)]
    sources = {program.source for program, _ in drawn}
    assert len(sources) >= 6
    for program, x in drawn:
        if program.source.startswith("def f(x):\n    if "):  # the point is at least 0.2 from the breakpoint
            c = float(re.search(r"-?\d+\.\d+", program.source).group())
            assert abs(x - c) >= 0.2 - 1e-9
        assert np.isfinite(programs.program_derivative(program, x))


@pytest.mark.parametrize(
    ("unit", "mutant", "diagnosis"),
    [
        ("03", "comparisons_on_tangent", "comparisons on the tangent"),
        ("03", "eq_by_identity", "== by object identity"),
        ("03", "comparison_returns_dual", "a comparison that returns a Dual"),
        ("03", "comparison_number_not_lifted", "a number not lifted in a comparison"),
        ("04", "eq_by_identity", "== by object identity"),
        ("04", "comparison_returns_var", "a comparison that returns a Var"),
    ],
)
def test_a_comparison_mistake_fails_with_its_diagnosis(unit, mutant, diagnosis):
    ns = dual_solution(mutant) if unit == "03" else var_solution(mutant)
    cls = ns["Dual"] if unit == "03" else ns["Var"]
    with pytest.raises(CheckFailure) as caught:
        programs.check_comparisons(cls, mode="derivative" if unit == "03" else "grad")
    assert caught.value.diagnosis == diagnosis
    assert "Expected" in str(caught.value) or "raised" in str(caught.value)


def test_a_tangent_comparison_makes_the_program_wrong_and_is_named_there_too():
    ns = dual_solution("comparisons_on_tangent")
    with pytest.raises(CheckFailure) as caught:
        for program, x in [(programs.random_program(3, k)) for k in range(9)]:
            programs._program_case(ns["derivative"], ns["Dual"], functions(ns), program, x, "derivative")
    assert caught.value.diagnosis == "comparisons on the tangent"


def test_a_while_that_never_ends_is_cut_short():
    """Comparisons that are always true (a Dual in a `while`) must not hang the check."""
    ns = dual_solution("comparison_returns_dual")
    start = time.perf_counter()
    with pytest.raises(CheckFailure) as caught:
        programs.check_programs(ns["derivative"], ns["Dual"], functions(ns), "newton_sqrt", x=2.0)
    assert time.perf_counter() - start < programs.GUARD_SECONDS
    assert "did not end after" in str(caught.value)
    assert caught.value.diagnosis == "a comparison that returns a Dual"


def test_a_slow_driver_is_stopped_by_the_wall_clock_guard():
    def sleepy(f, x):
        while True:
            time.sleep(0.01)

    start = time.perf_counter()
    outcome = programs._guarded(lambda: sleepy(None, 1.0), seconds=0.3)
    assert outcome == {"timed_out": 0.3}
    assert time.perf_counter() - start < 2.0


def test_a_correct_answer_in_another_style_passes():
    ns = dual_solution()

    def derivative(f, x):  # numpy's float64 in, and the tangent read with getattr
        return getattr(f(ns["Dual"](np.float64(x), 1.0)), "tangent", 0.0)

    programs.check_programs(derivative, ns["Dual"], functions(ns), seed=8, count=9)


def test_a_value_instead_of_a_derivative_is_not_called_a_comparison_mistake():
    ns = dual_solution()
    with pytest.raises(CheckFailure) as caught:
        programs.check_programs(
            lambda f, x: f(ns["Dual"](x, 1.0)).value, ns["Dual"], functions(ns), "heron_sqrt", x=4.0
        )
    assert caught.value.diagnosis == ""
    assert "not the program's value" in str(caught.value)


def test_observations_are_plain_data(monkeypatch):
    """What the observing half hands over survives the wire format unchanged: numbers, bools, dicts."""
    ns = dual_solution()
    seen = []
    monkeypatch.setattr(programs, "run_check", lambda observe, judge: seen.append(observe()))
    programs.check_programs(ns["derivative"], ns["Dual"], functions(ns), "piecewise", x=0.5)
    wire = observations.decode(json.loads(json.dumps(observations.encode(seen[0]))))
    assert wire == seen[0]
    assert wire["result"] == pytest.approx(-1.0)
    assert all(isinstance(v, bool) for row in wire["comparisons"]["table"] for v in row.values())


def test_a_loop_that_never_ends_with_right_comparisons_gets_no_comparison_hint():
    """A Dual whose division is 1% off: Heron's `while` never ends, though every comparison is right
    (the probe of <, >, <=, >=, == shows it). The old hint ("the loop's condition compares objects of
    your class: compare the values.") blamed the comparisons; now the message says what happened and stops
    (issue 21)."""
    from autograder.grading import submissions

    code = submissions.solution_code(submissions.solution_cells(FORWARD)["dual_code"])
    old = "quotient = self.value / other.value"
    assert code.count(old) == 1
    ns = solution_namespace(FORWARD, FORWARD_CELLS, {"dual_code": code.replace(old, old + " * 1.01")})
    with pytest.raises(CheckFailure) as caught:
        programs.check_programs(ns["derivative"], ns["Dual"], functions(ns), "heron_sqrt", x=7.0)
    text = " ".join(str(caught.value).split())
    assert "did not end after" in text, text
    assert "compare the values" not in text and "Likely mistake" not in text, text
