"""The catalogue of unit 02, symbolic differentiation: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.feedback import Mistake

# --- diagnoses: the common mistakes, the rule each breaks and where it is taught -------------------
# A probe is a wrong derivative computed by sympy.diff with one rule made wrong (`_candidates`), or a
# wrong table computed from the truth (shifted by one step, the other column): never a near-solution.

ASSIGNMENT = "of 02_symbolic.ipynb"
RULES = f"section 2 (The rules, applied to the tree) {ASSIGNMENT}"
MATRICES = f"section 3 (Gradients, Jacobians and Hessians) {ASSIGNMENT}"
SWELL = f"section 4 (Expression swell) {ASSIGNMENT}"
TO_FUNCTION = f"section 6 (From a formula to a fast function) {ASSIGNMENT}"
PRODUCT_RULE = (
    "the product rule gives one term per factor: d(u v) = u' v + u v', and a Mul of k factors "
    "(expr.args, any length) gives k terms, d(u1 u2 ... uk) = u1' u2 ... uk + u1 u2' ... uk + ... + u1 u2 ... uk'."
)
FIRST_FACTOR_ONLY = Mistake("the product rule on the first factor only", PRODUCT_RULE, RULES)
TWO_FACTORS_ONLY = Mistake("the product rule on two factors only", PRODUCT_RULE, RULES)
FACTORS_DROPPED = Mistake("factors after the second dropped", PRODUCT_RULE, RULES)
EXPONENT_NOT_DECREASED = Mistake(
    "the exponent not decreased",
    "the power rule is d(u**n) = n u**(n-1) u': the exponent goes down by one.",
    RULES,
)
FACTOR_N_MISSING = Mistake(
    "the factor n missing",
    "the power rule is d(u**n) = n u**(n-1) u': the old exponent n becomes a factor.",
    RULES,
)
POWER_RULE_ON_VARIABLE_EXPONENT = Mistake(
    "the power rule on a variable exponent",
    "n u**(n-1) u' needs a constant exponent n; for u**v with v depending on x (like x**x), "
    "d(u**v) = u**v (v' log(u) + v u'/u), because u**v = exp(v log(u)).",
    RULES,
)
BASE_TREATED_AS_CONSTANT = Mistake(
    "the base of u**v treated as constant",
    "when both u and v depend on x, d(u**v) = u**v (v' log(u) + v u'/u): the term v u'/u comes from the base.",
    RULES,
)
COS_SIGN = Mistake("the wrong sign for cos", "d cos(u) = -sin(u) u', with a minus sign.", RULES)
SEC_NOT_SQUARED = Mistake("sec not squared", "d tan(u) = sec(u)**2 u' = (1 + tan(u)**2) u', not sec(u) u'.", RULES)
LOG_AS_LOG = Mistake("log differentiated as log", "d log(u) = u'/u, not log(u) u'.", RULES)
CHAIN_FACTOR = "a missing chain factor"  # the rule names the function: see _candidates
OTHER_SYMBOLS = "other symbols not treated as constants"  # the rule names the symbols
SYMPY_DIFF = "SymPy's own differentiation used"
JACOBIAN_TRANSPOSED = Mistake(
    "the Jacobian transposed",
    "the Jacobian has one row per output (function) and one column per input (variable): it is m x n, "
    "J[i, j] = d f_i / d x_j.",
    MATRICES,
)
HESSIAN_SAME_VARIABLE = Mistake(
    "each row differentiated by its own variable only",
    "H[i, j] = d/dx_j (d f / dx_i): differentiate the i-th gradient entry by every variable x_j in turn "
    "(the Hessian is the Jacobian of the gradient).",
    MATRICES,
)
HESSIAN_REPEATED_GRADIENT = Mistake(
    "the gradient repeated in every row",
    "the Hessian is the Jacobian of the gradient: differentiate each gradient entry once more, "
    "H[i, j] = d/dx_j (d f / dx_i).",
    MATRICES,
)
STEPS = "l_1 = x, so l_n takes n - 1 steps of l <- 4 l (1 - l): for _ in range(n - 1)."
ONE_STEP_TOO_MANY = Mistake("one step too many", STEPS, SWELL)
ONE_STEP_TOO_FEW = Mistake("one step too few", STEPS, SWELL)
NAIVE_SIMPLIFIED = Mistake(
    "the unsimplified column simplified",
    "the third column counts sympy.diff(l_n, x) as it comes; only the fourth counts it simplified.",
    SWELL,
)
NOT_SIMPLIFIED = Mistake(
    "the derivative not simplified",
    "the fourth column counts sympy.simplify(sympy.diff(l_n, x)), the simplified derivative.",
    SWELL,
)
ARGUMENT_ORDER = Mistake(
    "the arguments not in the order of xs",
    "sympy.lambdify(xs, expr) takes the values in the order of xs, whatever the order of expr.free_symbols.",
    TO_FUNCTION,
)
NOT_VECTORIZED = Mistake(
    "a function that is not vectorized",
    "the function must work elementwise on numpy arrays too: sympy.lambdify(xs, expr) compiles the "
    "expression to numpy code, while float(expr.subs(...)) takes one number at a time.",
    TO_FUNCTION,
)
