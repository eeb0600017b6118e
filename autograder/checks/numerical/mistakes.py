"""The catalogue of unit 01, numerical differentiation: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.feedback import Mistake

# --- diagnoses: the common mistakes, the rule each breaks and where it is taught ---------------------

LECTURE = "of notebooks/01_numerical.ipynb"
ASSIGNMENT = "of 01_numerical.ipynb"
FORMULAS = f"section 2 (Truncation error: what Taylor's theorem says) {LECTURE}"
ONE_SIDED = Mistake(
    "a one-sided difference",
    "the central difference looks both ways, (f(x + h) - f(x - h)) / (2h), and is second order in h; "
    "(f(x + h) - f(x)) / h is the forward difference, only first order.",
    FORMULAS,
)
CENTRAL_FOR_FORWARD = Mistake(
    "a central difference instead of a forward one",
    "the forward difference is (f(x + h) - f(x)) / h, with f evaluated at x and x + h only.",
    f"section 1 (From the limit definition to the forward difference) {LECTURE}",
)
DIVIDES_BY_H = Mistake(
    "dividing by h instead of 2h",
    "the two points x - h and x + h of the central difference are 2h apart: divide f(x + h) - f(x - h) by 2h.",
    FORMULAS,
)
DIVIDES_BY_2H = Mistake(
    "dividing by 2h instead of h",
    "the points x and x + h of the forward difference are h apart: divide f(x + h) - f(x) by h.",
    f"section 1 (From the limit definition to the forward difference) {LECTURE}",
)
SIGN_SWAPPED = Mistake(
    "the two values subtracted in the wrong order",
    "subtract f at the smaller point from f at the larger one: f(x + h) - f(x - h), or f(x + h) - f(x).",
    FORMULAS,
)
WRONG_DEFAULT_STEP = Mistake(
    "a wrong default step",
    "the defaults are h = 1e-6 for forward_difference and h = 1e-5 for central_difference.",
    f"section 1 (Forward and central differences) {ASSIGNMENT}",
)
X_CHANGED = Mistake(
    "the caller's x changed in place",
    "perturb a float copy, point = np.array(x, dtype=float), and restore each entry after use; "
    "never write x[i] += h on the array you were given.",
    f"section 2 (Gradients: one coordinate at a time) {ASSIGNMENT}",
)
INTEGER_TRUNCATED = Mistake(
    "x + h truncated in an integer array",
    "an integer array cannot hold x_i + h: storing it truncates the step away; "
    "work on a float copy, np.array(x, dtype=float).",
    f"section 2 (Gradients: one coordinate at a time) {ASSIGNMENT}",
)
EXTRA_CALLS = Mistake(
    "an extra call of f per coordinate",
    "the forward-difference gradient evaluates f(x) once, before the loop, and f(x + h e_i) once per "
    "coordinate: n + 1 calls; the central one f(x + h e_i) and f(x - h e_i) per coordinate: 2n calls.",
    f"section 6 (Gradients in n dimensions, and what they cost) {LECTURE}",
)
TRANSPOSED = Mistake(
    "the Jacobian transposed",
    "the Jacobian has one row per output and one column per input, shape (m, n); column i is "
    "(f(x + h e_i) - f(x - h e_i)) / (2h): put the columns side by side, np.column_stack(columns).",
    f"section 7 (Jacobians: one column per input) {LECTURE}",
)
GRADIENT_CHECKING = f"section 8 (Gradient checking in practice) {LECTURE}"
RELATIVE_ERROR = "the relative error is max_k |a_k - b_k| / max(|a_k| + |b_k|, tiny), entry by entry, then the largest."
NO_GUARD = Mistake(
    "no guard against 0/0",
    "where a_k = b_k = 0 the relative error is 0, not nan: divide by np.maximum(np.abs(a) + np.abs(b), 1e-300).",
    GRADIENT_CHECKING,
)
DIVIDES_BY_B = Mistake("dividing by |b| only", f"{RELATIVE_ERROR} It is symmetric in a and b.", GRADIENT_CHECKING)
DIVIDES_BY_SUM = Mistake("dividing by |a + b|", RELATIVE_ERROR, GRADIENT_CHECKING)
RATIO_OF_MAXIMA = Mistake("a ratio of two maxima", RELATIVE_ERROR, GRADIENT_CHECKING)
ABSOLUTE_NOT_RELATIVE = Mistake(
    "the absolute error instead of the relative one",
    f"a gradient check must not depend on the gradient's scale: {RELATIVE_ERROR}",
    GRADIENT_CHECKING,
)
ONE_SIDED_CHECK = Mistake(
    "a one-sided difference",
    "compare grad_f(x) with the central-difference gradient, numerical_gradient(f, x, h) with its default "
    "method='central': a forward difference alone leaves a truncation error near 1e-6.",
    GRADIENT_CHECKING,
)
COMPLEX_STEP = f"section 5 (The picture: error against step size) {LECTURE}"
REAL_STEP = Mistake(
    "a real step instead of an imaginary one",
    "complex_step is Im f(x + ih) / h with the imaginary step x + 1j*h; a real step of 1e-20 is lost, "
    "since x + 1e-20 == x in floating point.",
    COMPLEX_STEP,
)
NOT_DIVIDED = Mistake(
    "the imaginary part not divided by h",
    "Im f(x + ih) = h f'(x) + O(h^3): divide it by h.",
    COMPLEX_STEP,
)
REAL_PART = Mistake(
    "the real part instead of the imaginary one",
    "f(x + ih) = f(x) + ih f'(x) + ...: the derivative is Im f(x + ih) / h, np.imag(...), not the real part.",
    COMPLEX_STEP,
)
STEP_ERRORS = f"section 6 (Truncation against rounding: choosing h) {ASSIGNMENT}"
SIGNED_ERRORS = Mistake(
    "signed errors instead of absolute ones",
    "the error of a step is the absolute value |D_h f(x) - df(x)|, never negative.",
    STEP_ERRORS,
)
RELATIVE_NOT_ABSOLUTE = Mistake(
    "the relative error instead of the absolute one",
    "step_size_errors returns |D_h f(x) - df(x)|, not divided by |df(x)|.",
    STEP_ERRORS,
)
WRONG_METHOD_ERRORS = Mistake(
    "another method's errors",
    'step_size_errors uses the method it is given: forward_difference for "forward", central_difference '
    'for "central", complex_step for "complex".',
    STEP_ERRORS,
)
TYPED_IN = Mistake(
    "a step typed in, not read off the curve",
    "best_step calls step_size_errors on a grid of steps, e.g. np.logspace(-16, 0, 161), and returns the step "
    "with the smallest error (np.argmin).",
    STEP_ERRORS,
)
