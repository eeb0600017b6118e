"""Fast, in-process tests of unit 01's diagnoses: each probe names its mistake, and only that one.

Every wrong implementation below makes one common mistake; the check must fail (the verdict is
the check's) and its `CheckFailure.diagnosis` must be the mistake's name. Answers that are wrong
in an unknown way, or that two mistakes would explain equally well, get no diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from autograder.checks import numerical as checks
from autograder.feedback import CheckFailure, diagnoses_in


def _diagnosis(check: Callable[[], None]) -> str:
    with pytest.raises(CheckFailure) as failed:
        check()
    named = diagnoses_in(str(failed.value))
    assert named == ([failed.value.diagnosis] if failed.value.diagnosis else [])  # the text says what .diagnosis says
    return failed.value.diagnosis


# --- forward_difference and central_difference ------------------------------------------------------

DIFFERENCES = {
    "a one-sided difference": (checks.check_central_difference, lambda f, x, h=1e-5: (f(x + h) - f(x)) / h),
    "dividing by h instead of 2h": (checks.check_central_difference, lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h),
    "the two values subtracted in the wrong order": (
        checks.check_central_difference,
        lambda f, x, h=1e-5: (f(x - h) - f(x + h)) / (2 * h),
    ),
    "a central difference instead of a forward one": (
        checks.check_forward_difference,
        lambda f, x, h=1e-6: (f(x + h) - f(x - h)) / (2 * h),
    ),
    "dividing by 2h instead of h": (checks.check_forward_difference, lambda f, x, h=1e-6: (f(x + h) - f(x)) / (2 * h)),
    "a wrong default step": (checks.check_forward_difference, lambda f, x, h=1e-5: (f(x + h) - f(x)) / h),
}


@pytest.mark.parametrize("name", DIFFERENCES)
def test_difference_mistakes_are_named(name):
    check, student = DIFFERENCES[name]
    assert _diagnosis(lambda: check(student, "sin(x)", x=1.0)) == name


def test_unknown_wrong_difference_gets_no_diagnosis():
    assert _diagnosis(lambda: checks.check_central_difference(lambda f, x, h=1e-5: 0.5, "sin(x)", x=1.0)) == ""


def test_right_differences_pass():
    checks.check_forward_difference(lambda f, x, h=1e-6: (f(x + h) - f(x)) / h, "sin(x)", x=1.0)
    checks.check_central_difference(lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / (2 * h), "sin(x)", x=1.0)


# --- numerical_gradient and numerical_jacobian ------------------------------------------------------


def _gradient(*, as_float: bool = True, forward_calls_fx_per_coordinate: bool = False):
    def numerical_gradient(f, x, h=1e-5, method="central"):
        point = np.array(x, dtype=float) if as_float else np.array(x)
        grad = np.zeros(point.shape)
        f_x = f(point.copy()) if method == "forward" else None
        for i in range(point.size):
            old = point.flat[i]
            point.flat[i] = old + h
            f_plus = f(point.copy())
            if method == "central":
                point.flat[i] = old - h
                grad.flat[i] = (f_plus - f(point.copy())) / (2 * h)
            else:
                base = f(np.array(x, dtype=float)) if forward_calls_fx_per_coordinate else f_x
                grad.flat[i] = (f_plus - base) / h
            point.flat[i] = old
        return grad

    return numerical_gradient


def test_gradient_mistakes_are_named():
    f = "x1*x2 + sin(x1)"
    assert _diagnosis(lambda: checks.check_numerical_gradient(_gradient(as_float=False), f, x=[1, 2])) == (
        "x + h truncated in an integer array"
    )
    assert (
        _diagnosis(
            lambda: checks.check_numerical_gradient(
                _gradient(forward_calls_fx_per_coordinate=True), "x1*x2 + sin(x3)", x=[1.0, 2.0, 0.5], method="forward"
            )
        )
        == "an extra call of f per coordinate"
    )


def test_a_gradient_that_changes_x_is_named():
    def in_place(f, x, h=1e-5, method="central"):
        x += 0.0 * x + 1e-3  # a float x changed where it lies
        return _gradient()(f, x, h, method)

    assert _diagnosis(lambda: checks.check_numerical_gradient(in_place, "x1*x2 + sin(x1)", x=[1.0, 2.0])) == (
        "the caller's x changed in place"
    )


def test_forward_gradient_computed_centrally_is_named():
    always_central = _gradient()

    def ignores_method(f, x, h=1e-5, method="central"):
        return always_central(f, x, h, "central")

    assert (
        _diagnosis(
            lambda: checks.check_numerical_gradient(
                ignores_method, "x1*x2 + sin(x3)", x=[1.0, 2.0, 0.5], method="forward", h=1e-3
            )
        )
        == "a central difference instead of a forward one"
    )


def _jacobian(transposed: bool = False, forward: bool = False):
    def numerical_jacobian(f, x, h=1e-5):
        point = np.array(x, dtype=float)
        columns = []
        for i in range(point.size):
            step = np.zeros_like(point)
            step[i] = h
            plus = np.asarray(f(point + step), dtype=float)
            if forward:
                columns.append((plus - np.asarray(f(point), dtype=float)) / h)
            else:
                columns.append((plus - np.asarray(f(point - step), dtype=float)) / (2 * h))
        return np.stack(columns, axis=0 if transposed else 1)

    return numerical_jacobian


@pytest.mark.parametrize(
    ("outputs", "x"), [(["x1*x2", "sin(x1)", "x1 + x2**2"], [1.0, 2.0]), (["x1*x2", "sin(x1) + x2"], [1.0, 2.0])]
)
def test_jacobian_mistakes_are_named(outputs, x):
    """Transposed shows in the shape of a non-square Jacobian and in the values of a square one."""
    assert _diagnosis(lambda: checks.check_numerical_jacobian(_jacobian(transposed=True), outputs, x=x)) == (
        "the Jacobian transposed"
    )
    assert _diagnosis(lambda: checks.check_numerical_jacobian(_jacobian(forward=True), outputs, x=x)) == (
        "a one-sided difference"
    )


# --- relative_error and gradient_check ------------------------------------------------------------


def _relative(denominator: Callable) -> Callable:
    def relative_error(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(all="ignore"):
            return float(np.max(np.abs(a - b) / denominator(a, b)))

    return relative_error


RELATIVE = {
    "dividing by |b| only": _relative(lambda a, b: np.maximum(np.abs(b), 1e-300)),
    "dividing by |a + b|": _relative(lambda a, b: np.maximum(np.abs(a + b), 1e-300)),
    "no guard against 0/0": _relative(lambda a, b: np.abs(a) + np.abs(b)),
}


@pytest.mark.parametrize("name", RELATIVE)
def test_relative_error_mistakes_are_named(name):
    a, b = [0.0, -1.0, 2.0], [0.0, 1.5, 2.1]
    assert _diagnosis(lambda: checks.check_relative_error(RELATIVE[name], a, b)) == name


def test_ratio_of_maxima_is_named():
    def ratio(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-300))

    assert _diagnosis(lambda: checks.check_relative_error(ratio, [1.0, 10.0], [1.5, 10.1])) == "a ratio of two maxima"


def _gradient_check(relative_error: Callable, method: str = "central") -> Callable:
    def gradient_check(f, grad_f, x, h=1e-5):
        point = np.array(x, dtype=float)
        return relative_error(grad_f(point.copy()), _gradient()(f, point, h, method))

    return gradient_check


def test_gradient_check_mistakes_are_named():
    right = _relative(lambda a, b: np.maximum(np.abs(a) + np.abs(b), 1e-300))
    absolute = _relative(lambda a, b: 1.0)
    by_b = RELATIVE["dividing by |b| only"]
    f, x = "x1*x2 + sin(x1)", [1.0, 2.0]
    checks.check_gradient_check(_gradient_check(right), f, x=x)
    assert _diagnosis(lambda: checks.check_gradient_check(_gradient_check(right, "forward"), f, x=x)) == (
        "a one-sided difference"
    )
    assert _diagnosis(lambda: checks.check_gradient_check(_gradient_check(absolute), f, x=x)) == (
        "the absolute error instead of the relative one"
    )
    # here the perturbed entry of the gradient is 1: dividing by |b| gives the absolute error's value
    assert _diagnosis(lambda: checks.check_gradient_check(_gradient_check(by_b), f, x=x)) == ""


# --- complex_step, step_size_errors, best_step -------------------------------------------------------

COMPLEX = {
    "a real step instead of an imaginary one": lambda f, x, h=1e-20: (f(x + h) - f(x)) / h,
    "the imaginary part not divided by h": lambda f, x, h=1e-20: float(np.imag(f(x + 1j * h))),
    "the real part instead of the imaginary one": lambda f, x, h=1e-20: float(np.real(f(x + 1j * h))),
}


@pytest.mark.parametrize(
    ("name", "h"),
    [(name, None) for name in COMPLEX] + [(name, 0.1) for name in COMPLEX if not name.startswith("the real part")],
)
def test_complex_step_mistakes_are_named(name, h):
    """The default step and a large one (where the real part is no longer f(x): no probe for it)."""
    assert _diagnosis(lambda: checks.check_complex_step(COMPLEX[name], "sin(x)", x=1.0, h=h)) == name


def _step_errors(kind: str) -> Callable:
    rules = {
        "forward": lambda f, x, h: (f(x + h) - f(x)) / h,
        "central": lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h),
        "complex": lambda f, x, h: float(np.imag(f(x + 1j * h)) / h),
    }

    def step_size_errors(f, df, x, hs, method="forward"):
        rule = rules["forward" if kind == "ignores method" else method]
        errors = np.array([rule(f, x, h) - df(x) for h in hs])
        if kind == "signed":
            return errors
        return np.abs(errors) / (abs(df(x)) if kind == "relative" else 1.0)

    return step_size_errors


@pytest.mark.parametrize(
    ("kind", "method", "name"),
    [
        ("signed", "forward", "signed errors instead of absolute ones"),
        ("relative", "forward", "the relative error instead of the absolute one"),
        ("ignores method", "central", "a one-sided difference"),
        ("ignores method", "complex", "a real step instead of an imaginary one"),
    ],
)
def test_step_size_error_mistakes_are_named(kind, method, name):
    hs = [1e-1, 1e-2, 1e-8, 1e-20] if method == "complex" else None
    check = lambda: checks.check_step_size_errors(_step_errors(kind), "exp(x)", x=1.0, method=method, hs=hs)  # noqa: E731
    assert _diagnosis(check) == name


def test_best_step_typed_in_is_named():
    namespace = {"np": np, "step_size_errors": _step_errors("right")}  # a notebook's globals
    exec(
        "def best_step(method):\n    return float(np.finfo(float).eps ** (0.5 if method == 'forward' else 1 / 3))",
        namespace,
    )
    best_step = namespace["best_step"]
    assert _diagnosis(lambda: checks.check_best_step(best_step)) == "a step typed in, not read off the curve"


# --- issue 21: a hint only when the observation supports it ----------------------------------------


def test_a_nan_from_a_square_root_is_not_told_to_guard_the_denominator():
    """A relative error through the square root of a negative number is nan with no 0/0 anywhere: the
    old hint ("a nan means a 0/0 or a nan somewhere: divide by np.maximum(np.abs(a) + np.abs(b),
    1e-300).") guessed a denominator; now the message says the value is wrong and stops."""

    def relative_error(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return float(np.max(np.sqrt((a - b) / (np.abs(a) + np.abs(b)))))

    with pytest.raises(CheckFailure) as caught:
        checks.check_relative_error(relative_error, [1.0, 2.0], [1.5, 2.1])
    text = " ".join(str(caught.value).split())
    assert "the relative error is wrong." in text and "Got nan." in text, text
    assert "np.maximum" not in text and "Likely mistake" not in text, text


def test_a_wrong_step_on_integer_x_is_not_told_about_truncation():
    """A gradient that converts x to float but uses its own step 0.1 (h ignored): on an integer x the
    old fallback said "x has integer entries here: a copy of an integer array truncates x + h", which
    this code does not do (its gradient is not whole numbers); now no such hint."""

    def numerical_gradient(f, x, h=1e-5, method="central"):
        return _gradient()(f, x, 0.1, method)

    with pytest.raises(CheckFailure) as caught:
        checks.check_numerical_gradient(numerical_gradient, "x1*x2 + sin(x1)", x=[1, 2])
    text = " ".join(str(caught.value).split())
    assert "the gradient is wrong" in text and "truncates" not in text, text


def test_a_whole_number_gradient_on_integer_x_keeps_the_truncation_hint():
    """Whole numbers where the truth has fractions, on an integer x, and no probe matched: the
    truncation hint has its evidence."""

    def numerical_gradient(f, x, h=1e-5, method="central"):
        return np.floor(_gradient()(f, x, h, method) + 0.5)

    with pytest.raises(CheckFailure) as caught:
        checks.check_numerical_gradient(numerical_gradient, "x1*x2 + sin(x1)", x=[1, 2])
    text = " ".join(str(caught.value).split())
    assert "every entry of your gradient is a whole number" in text, text


def test_a_warning_that_is_no_division_gets_no_guard_hint():
    """A relative_error that warns (here its own UserWarning): only numpy's divide/invalid warnings are
    evidence of a 0/0; the old hint "guard the denominator so that 0/0 never happens." came with any."""
    import warnings

    right = _relative(lambda a, b: np.maximum(np.abs(a) + np.abs(b), 1e-300))

    def relative_error(a, b):
        warnings.warn("checking", UserWarning, stacklevel=1)
        return right(a, b)

    with pytest.raises(CheckFailure) as caught:
        checks.check_relative_error(relative_error, [1.0, 2.0], [1.5, 2.1])
    text = " ".join(str(caught.value).split())
    assert "emitted a warning (UserWarning: checking)" in text and "guard the denominator" not in text, text


def test_a_complex_result_made_a_float_is_not_told_to_pass_a_complex_number():
    """complex_step that calls f(x + 1j h) and then float() of the result: the error mentions complex, and
    the old hint "pass x + 1j * h to f (a complex number); f works on complex input." told it to do what it
    did; now the error is shown and the message stops."""

    def complex_step(f, x, h=1e-20):
        return float(f(x + 1j * h)) / h

    with pytest.raises(CheckFailure) as caught:
        checks.check_complex_step(complex_step, "sin(x)", x=1.0)
    text = " ".join(str(caught.value).split())
    assert "complex" in text and "pass x + 1j * h to f" not in text and "Likely mistake" not in text, text
