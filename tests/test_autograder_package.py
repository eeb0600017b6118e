"""The autograder package on its own: oracles, observations, the observe/judge split, messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autograder import observations, runtime
from autograder.checks.kit.text import expression
from autograder.checks.numerical import check_central_difference, check_complex_step
from autograder.compare import mismatch, real_array, real_scalar
from autograder.feedback import CheckFailure
from autograder.finite_differences import (
    central_gradient,
    central_jacobian,
    complex_step_gradient,
    directional_derivative,
)
from autograder.grading.trusted_judge import judge_cell
from autograder.inputs import Recorded, random_point, rng
from autograder.sympy_oracle import random_expression, random_vector_function
from autograder.truncation import quotient, taylor_coefficients, truncation_error

# --- oracles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_fourth_order_gradient_and_complex_step_agree_with_sympy(seed):
    f = random_expression(seed, n_vars=3, depth=2)
    x = f.point(rng(seed))
    exact = f.gradient(x)
    assert np.allclose(central_gradient(f.array_function(), x), exact, rtol=1e-8, atol=1e-9)
    assert np.allclose(complex_step_gradient(f.array_function(), x), exact, rtol=1e-13, atol=1e-14)
    v = rng(seed + 1).normal(size=3)
    assert np.isclose(directional_derivative(f.array_function(), x, v), exact @ v, rtol=1e-8, atol=1e-9)


def test_central_jacobian_has_shape_m_by_n():
    F = random_vector_function(3, n_vars=2, n_outputs=3)
    x = F.point(rng(3))
    assert np.allclose(central_jacobian(F.array_function(), x), F.jacobian(x), rtol=1e-8, atol=1e-9)


def test_oracles_leave_the_input_alone():
    x = np.array([0.3, -0.2])
    before = x.copy()
    central_gradient(lambda v: float(np.sum(v**2)), x)
    complex_step_gradient(lambda v: np.sum(v**2), x)
    assert np.array_equal(x, before)


@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_taylor_quotient_matches_the_formula_evaluated_in_high_precision(method):
    import mpmath

    f = expression("exp(sin(x)) + x**3")
    x, h = 0.4, 1e-2
    with mpmath.workdps(50):
        F = lambda t: mpmath.exp(mpmath.sin(t)) + t**3  # noqa: E731
        direct = {
            "forward": (F(mpmath.mpf(x) + h) - F(mpmath.mpf(x))) / h,
            "central": (F(mpmath.mpf(x) + h) - F(mpmath.mpf(x) - h)) / (2 * h),
            "complex": mpmath.im(F(mpmath.mpc(x, h))) / h,
        }[method]
    value, neglected = quotient(f, [x], h, method)
    assert abs(value - float(direct)) < 1e-14 + neglected
    assert truncation_error(f, [x], h, method) == pytest.approx(abs(float(direct) - f.partial([x], 0)), rel=1e-6)


def test_taylor_coefficients_are_derivatives_over_factorials():
    f = expression("sin(x)")
    c = taylor_coefficients(f, [0.5], 0, 4)
    assert np.allclose(c, [np.sin(0.5), np.cos(0.5), -np.sin(0.5) / 2, -np.cos(0.5) / 6, np.sin(0.5) / 24])


# --- inputs ----------------------------------------------------------------------------------------


def test_random_points_are_seeded_and_avoid_kinks():
    a = random_point(rng(7), (50,), -1, 1, avoid=[0.0], margin=0.2)
    b = random_point(rng(7), (50,), -1, 1, avoid=[0.0], margin=0.2)
    assert np.array_equal(a, b) and np.all(np.abs(a) >= 0.2) and np.all(np.abs(a) <= 1)


def test_recorded_counts_calls_and_copies_arguments():
    recorded = Recorded(lambda v: float(np.sum(v)))
    x = np.zeros(2)
    recorded(x)
    x[0] = 5.0
    recorded(x)
    assert recorded.calls == 2 and recorded.arguments[0][0][0] == 0.0 and recorded.arguments[1][0][0] == 5.0


# --- observations and comparisons ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        3,
        np.float32(2.5),
        complex(1, -2),
        np.arange(6).reshape(2, 3),
        [1.0, (2, 3)],
        {"a": np.nan},
        float("inf"),
        None,
        "text",
        True,
    ],
)
def test_observations_survive_the_json_round_trip(value):
    back = observations.loads(observations.dumps(value))
    if isinstance(value, np.ndarray):
        assert np.array_equal(back, value) and back.dtype == value.dtype
    elif isinstance(value, dict):
        assert np.isnan(back["a"])
    else:
        assert back == value or (value != value and back != back)


def test_unencodable_values_become_foreign_with_their_type():
    back = observations.loads(observations.dumps(object()))
    assert isinstance(back, observations.Foreign) and back.type_name == "object"


def test_readers_explain_what_came_back():
    with pytest.raises(CheckFailure, match="returned None: is a `return` missing"):
        real_scalar(None, "f(x)")
    with pytest.raises(CheckFailure, match=r"shape \(3, 2\), but it must have shape \(2, 3\)"):
        real_array(np.zeros((3, 2)), (2, 3), "J(x)")
    assert real_scalar(np.array([2.0]), "f(x)") == 2.0
    assert mismatch(np.nan, 1.0, 1.0) and mismatch(1.0, np.nan, 1.0) and not mismatch(1.0, 1.5, 0.6)


# --- the observe / judge split ---------------------------------------------------------------------


def central(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def one_sided(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h


def test_local_mode_passes_right_and_fails_wrong_with_a_readable_paragraph():
    check_central_difference(central, "sin(x)", x=1.0)
    with pytest.raises(CheckFailure) as failure:
        check_central_difference(one_sided, "sin(x)", x=1.0, h=1e-3)
    text = str(failure.value)
    for part in (
        "central_difference(f, 1.0, 0.001)",
        "f(x) = sin(x)",
        "Expected",
        "Got",
        "Likely mistake",
        "forward difference",
    ):
        assert part in text
    assert "Traceback" not in text and len(text) < 800


def _records_from_kernel_side(tmp_path, test_code, namespace):
    """Run `test_code` as a collecting kernel would, and return its records for the judge."""
    path = tmp_path / "records.jsonl"
    saved = (runtime._state.mode, runtime._state.sink, dict(runtime._state.counts))
    runtime.start_collecting(str(path))
    try:
        original = runtime._running_cell_key
        runtime._running_cell_key = lambda: runtime.cell_key(test_code)
        exec(test_code, dict(namespace))
    finally:
        runtime._running_cell_key = original
        runtime._state.sink.close()
        runtime._state.mode, runtime._state.sink, runtime._state.counts = saved
    return path


TEST_CELL = """
from autograder.checks.numerical import check_central_difference
check_central_difference(central_difference, "sin(x)", x=1.0, h=1e-3)
check_central_difference(central_difference, "exp(x)", x=0.5)
"""


@pytest.mark.parametrize(("student", "passes"), [(central, True), (one_sided, False)])
def test_judge_decides_from_records_without_running_student_code(tmp_path, student, passes):
    path = _records_from_kernel_side(tmp_path, TEST_CELL, {"central_difference": student})
    verdict = judge_cell(TEST_CELL, "central_difference", runtime.read_records(str(path)))
    assert (verdict is None) == passes, verdict


def test_missing_forged_or_reordered_records_fail(tmp_path):
    path = _records_from_kernel_side(tmp_path, TEST_CELL, {"central_difference": central})
    records = runtime.read_records(str(path))
    key = runtime.cell_key(TEST_CELL)
    assert judge_cell(TEST_CELL, "c", {}) is not None  # nothing recorded: the kernel never got there
    assert judge_cell(TEST_CELL, "c", {key: records[key][:1]}) is not None  # the second check is missing
    assert judge_cell(TEST_CELL, "c", {key: records[key][::-1]}) is not None  # answers swapped between cases
    forged = [runtime.Observation(value={"value": 0.5403, "points": [1.001, 0.999]}) for _ in range(2)]
    assert judge_cell(TEST_CELL, "c", {key: forged}) is not None


def test_malformed_record_lines_are_skipped(tmp_path):
    path = tmp_path / "r.jsonl"
    good = {"cell": "k", "index": 0, "value": 1.0, "raised": None, "warnings": []}
    path.write_text("not json\n" + json.dumps(good) + '\n{"cell": "k"}\n')
    assert runtime.read_records(str(path)) == {"k": [runtime.Observation(value=1.0)]}


def test_student_warnings_are_captured_not_printed(capsys):
    def noisy(f, x, h=1e-20):
        np.log(np.array([-1.0]))  # a RuntimeWarning inside a correct answer
        return float(np.imag(f(x + 1j * h)) / h)

    check_complex_step(noisy, "sin(x)", x=1.0)
    assert capsys.readouterr().err == ""


def test_digits_load_offline_with_their_documented_shape() -> None:
    """The bundled UCI digits: 1797 images of 8x8 in 0..16, about 180 of each digit, checksum as documented."""
    import hashlib
    from importlib import resources

    from autograder.datasets import DIGITS_FILE, load_digits

    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 16
    assert sorted(set(labels.tolist())) == list(range(10))
    assert np.bincount(labels).min() >= 170
    digest = hashlib.sha256(resources.files("autograder.data").joinpath(DIGITS_FILE).read_bytes()).hexdigest()
    readme = resources.files("autograder.data").joinpath("README.md").read_text()
    assert digest in readme, "autograder/data/README.md must state the sha256 of the shipped file"
