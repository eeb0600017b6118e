"""The catalogue of unit 03, forward mode: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.checks.ad.operators import rsub_swapped, rtruediv_swapped
from autograder.feedback import Mistake

# --- diagnoses: the common mistakes, and the wrong answers that give them away ------------------------

LECTURE_DUALS = "section 1 (Dual numbers: ε² = 0) of notebooks/03_forward.ipynb"
CLASS = "section 1 (The Dual class) of 03_forward.ipynb"
POWERS = "section 1 (The Dual class), under 'Powers: the lecture's shortcut, and why it fails', of 03_forward.ipynb"
FUNCTIONS = "section 2 (Elementary functions) of 03_forward.ipynb"
VECTORIZED = "section 2.2 (Many points at once) of 03_forward.ipynb"
LECTURE_TRACE = "section 3 (The forward trace, in the lectures' table layout) of notebooks/03_forward.ipynb"
LECTURE_PASSES = "section 4 (A map ℝ²→ℝ²: one pass, one column of the Jacobian) of notebooks/03_forward.ipynb"

TANGENTS_MULTIPLIED = Mistake(
    "the tangents multiplied",
    "the tangent of x y is ẋ y + x ẏ (the product rule falls out of ε² = 0); ẋ ẏ is the coefficient of ε², which is 0.",
    LECTURE_DUALS,
)
PRODUCT_TERM_MISSING = Mistake(
    "a product rule term missing", "the tangent of x y is ẋ y + x ẏ: both terms of the product rule.", LECTURE_DUALS
)
SUM_TANGENTS_MULTIPLIED = Mistake("the tangents multiplied", "the tangent of x + y is ẋ + ẏ.", CLASS)
SUBTRACTION_TANGENTS_ADDED = Mistake("the tangents added in a subtraction", "the tangent of x - y is ẋ - ẏ.", CLASS)
QUOTIENT_PLUS = Mistake(
    "a plus in the quotient rule", "the tangent of x / y is (ẋ y - x ẏ) / y², with a minus sign.", CLASS
)
QUOTIENT_REVERSED = Mistake(
    "the quotient rule's numerator reversed", "the tangent of x / y is (ẋ y - x ẏ) / y², not (x ẏ - ẋ y) / y².", CLASS
)
QUOTIENT_DIVIDED_BY_Y = Mistake(
    "y instead of y² in the quotient rule", "the tangent of x / y is (ẋ y - x ẏ) / y²: divide by y².", CLASS
)
RTRUEDIV_PLUS = Mistake(
    "a plus in the tangent of 3 / x", "the tangent of 3 / x is -3 ẋ / x², with a minus sign.", CLASS
)
NEGATION_KEEPS_TANGENT = Mistake(
    "the tangent not negated", "-x is Dual(-a, -ȧ): negate the tangent as well as the value.", CLASS
)
POWER_CHAIN_MISSING = Mistake(
    "a missing chain factor",
    "the tangent of x**n is n x^(n-1) ẋ: the power rule times the tangent ẋ of the base.",
    POWERS,
)
POWER_TIMES_VALUE = Mistake("x^n ẋ as the tangent of x^n", "the tangent of x**n is n x^(n-1) ẋ.", POWERS)
RPOW_LOG_MISSING = Mistake("the factor log c missing", "the tangent of c**x is c^x log(c) ẋ.", POWERS)
RPOW_POWER_RULE = Mistake(
    "the power rule for a constant base",
    "c**x has a constant base: its tangent is c^x log(c) ẋ, not x c^(x-1) ẋ (the rule for a constant exponent).",
    POWERS,
)
POW_LOG_TERM_MISSING = Mistake(
    "the term ẏ log x missing", "x**y with both Dual has the tangent x^y (ẏ log x + y ẋ / x).", POWERS
)
POWER_THROUGH_EXP_LOG = Mistake(
    "a constant power through exp and log",
    "x**n as exp(n log x) is nan for x <= 0; for a number n use the power rule, value x^n and tangent "
    "n x^(n-1) ẋ, fine wherever x^n is.",
    POWERS,
)
GENERAL_RULE_FOR_CONSTANT = Mistake(
    "the variable-exponent rule for a constant exponent",
    "the rule x^y (ẏ log x + y ẋ / x) needs log x, nan for x <= 0 even when ẏ = 0: for a number n use the "
    "power rule n x^(n-1) ẋ.",
    POWERS,
)
PLAIN_NUMBER_AS_DUAL = Mistake(
    "a plain number treated as a Dual",
    "each function also accepts a plain number or array (return np.sin(x) etc. for it); read .value and "
    ".tangent only from a Dual.",
    FUNCTIONS,
)
SCALAR_FUNCTION_ON_ARRAY = Mistake(
    "a scalar-only function on an array",
    "value and tangent may be numpy arrays: use numpy's elementwise functions (np.sin, np.log, ...), not "
    "math's, and no float(...) of a value.",
    VECTORIZED,
)
VALUE_INSTEAD_OF_TANGENT = Mistake(
    "the value returned instead of the tangent",
    "evaluate f on Dual(x, 1.0) and return the tangent of the result, its ε coefficient: that is f'(x).",
    LECTURE_DUALS,
)
FINITE_DIFFERENCES = Mistake(
    "finite differences instead of dual numbers",
    "forward mode calls f once per seed direction, on duals Dual(x_i, v_i), and reads the derivatives off "
    "the output tangents: exact, with no step h.",
    LECTURE_PASSES,
)
EXTRA_CALL = Mistake(
    "an extra call of f on plain numbers",
    "a forward pass gives f(x) and the number of outputs m too, as the values of the output duals: exactly one "
    "call of f per seed direction, and a call on plain numbers counts.",
    LECTURE_PASSES,
)
SEEDED_WITH_ONES = Mistake(
    "every input seeded with tangent 1",
    "seed input i with tangent v[i]: f(Dual(x1, v1), ..., Dual(xn, vn)) has the output tangents J v.",
    LECTURE_PASSES,
)
JACOBIAN_TRANSPOSED = Mistake(
    "the Jacobian transposed",
    "the pass seeded with e_i gives column i of J, the derivatives of all m outputs by x_i: stack the "
    "columns (axis=1, np.column_stack) into shape (m, n).",
    LECTURE_PASSES,
)

TRACE_PRODUCT_TERM_MISSING = Mistake(
    "a product rule term missing", "v2 = v-1 v0, so v̇2 = v̇-1 v0 + v̇0 v-1: both terms.", LECTURE_TRACE
)
TRACE_TANGENTS_MULTIPLIED = Mistake("the tangents multiplied", "v̇2 = v̇-1 v0 + v̇0 v-1, not v̇-1 v̇0.", LECTURE_TRACE)
TRACE_LOG_CHAIN_MISSING = Mistake(
    "a missing chain factor",
    "v1 = ln v-1, so v̇1 = v̇-1 / v-1: 1 / v-1 times the tangent of the argument.",
    LECTURE_TRACE,
)
TRACE_SIN_CHAIN_MISSING = Mistake(
    "a missing chain factor",
    "v3 = sin v0, so v̇3 = v̇0 cos(v0): cos(v0) times the tangent of the argument.",
    LECTURE_TRACE,
)
TRACE_MINUS_AS_PLUS = Mistake("the tangents added in a subtraction", "v5 = v4 - v3, so v̇5 = v̇4 - v̇3.", LECTURE_TRACE)

RSUB_SWAPPED = rsub_swapped(CLASS)
RTRUEDIV_SWAPPED = rtruediv_swapped(CLASS)
DERIVATIVES = {
    "sin": "cos(a) ȧ",
    "cos": "-sin(a) ȧ",
    "tan": "ȧ / cos²(a)",
    "exp": "exp(a) ȧ",
    "log": "ȧ / a",
    "sqrt": "ȧ / (2 sqrt(a))",
    "tanh": "(1 - tanh²(a)) ȧ",
}


def chain_missing(name: str) -> Mistake:
    """The tangent of g(Dual(a, ȧ)) without the factor ȧ."""
    return Mistake(
        "a missing chain factor",
        f"the tangent of {name}(a) is {DERIVATIVES[name]}: {name}'(a) times the tangent ȧ of the argument "
        "(the chain rule).",
        FUNCTIONS,
    )


def sign_flipped(name: str) -> Mistake:
    return Mistake(
        f"the wrong sign in the derivative of {name}", f"the tangent of {name}(a) is {DERIVATIVES[name]}.", FUNCTIONS
    )
