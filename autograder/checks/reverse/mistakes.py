"""The catalogue of unit 04, reverse mode: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.checks.ad.operators import rsub_swapped, rtruediv_swapped
from autograder.feedback import Mistake

# --- diagnoses: the common mistakes, and the wrong answers that give them away ------------------------

REVERSEDIFF = "section 1 (The lecture's ReverseDiff, and what is wrong with it) of 04_reverse.ipynb"
VAR = "section 2 (Var and an iterative backward) of 04_reverse.ipynb"
FUNCTIONS = "section 3 (Elementary functions) of 04_reverse.ipynb"
TRACE = "section 5 (The reverse adjoint trace) of 04_reverse.ipynb"
DRIVERS = "section 6 (Gradients, vector-Jacobian products and Jacobians) of 04_reverse.ipynb"

OVERWRITTEN = Mistake(
    "gradients overwritten instead of accumulated",
    "a node used several times receives one share of the gradient per use, and the shares add up: "
    "parent.grad += local * node.grad, never =.",
    REVERSEDIFF,
)
RECURSIVE = Mistake(
    "a recursive graph traversal",
    "a chain of 100 000 operations is deeper than Python's recursion limit: build the topological order with "
    "a loop and an explicit stack (or Kahn's algorithm), and walk it backwards with a loop.",
    REVERSEDIFF,
)
LEAVES_RESET = Mistake(
    "leaf grads reset by backward",
    "as in PyTorch, a second backward adds to the leaves' grads: only the inner nodes (those with parents) "
    "start from 0 in every pass; zero_grad resets the leaves.",
    VAR,
)
INNER_NOT_RESET = Mistake(
    "inner grads not reset between passes",
    "set .grad = 0.0 on every node that has parents at the start of every backward, or the inner nodes pass "
    "their adjoints from the last pass on again.",
    VAR,
)
PRODUCT_LOCALS_SWAPPED = Mistake(
    "the local derivatives of x * y swapped",
    "∂(x y)/∂x = y and ∂(x y)/∂y = x: each parent of a product gets the value of the other.",
    VAR,
)
SUBTRACTION_PLUS = Mistake(
    "+1 as the local derivative of the subtracted operand", "∂(x - y)/∂y = -1, and ∂(3 - x)/∂x = -1.", VAR
)
DIVISION_PLUS = Mistake(
    "a plus in the local derivative of the divisor", "∂(x / y)/∂y = -x / y², with a minus sign.", VAR
)
DIVISION_Y = Mistake("y as the local derivative of x / y in x", "∂(x / y)/∂x = 1 / y.", VAR)
EXP_ARGUMENT = Mistake(
    "the argument as the local derivative of exp",
    "v = exp(u) has the local derivative e^u: the value of the result, not u.",
    FUNCTIONS,
)
ADJOINT_OVERWRITTEN = Mistake(
    "an adjoint overwritten instead of accumulated",
    "x1 and x2 are each used twice, so their adjoints are sums of two terms: v̄0 = v̄3 cos(v0) + v̄2 v-1 and "
    "v̄-1 = v̄2 v0 + v̄1 / v-1.",
    TRACE,
)
ADJOINT_SIGN = Mistake("the minus sign of v̄3 dropped", "v5 = v4 - v3, so v̄3 = -v̄5.", TRACE)
VALUES_NOT_GRADS = Mistake(
    "the values returned instead of the grads",
    "after out.backward(), the gradient is in the leaves' .grad, not in their .value.",
    DRIVERS,
)
FINITE_DIFFERENCES = Mistake(
    "finite differences instead of reverse mode",
    "make every input a leaf Var(x_i), call f on them and run backward (once, or once per output for a "
    "Jacobian): the leaves' grads are the exact derivatives.",
    DRIVERS,
)
EXTRA_CALL = Mistake(
    "an extra call of f on plain numbers",
    "the outputs of the one call of f on the leaves Var(x_i) hold f(x) in their .value: grad and vjp call f "
    "exactly once.",
    DRIVERS,
)
U_IGNORED = Mistake(
    "the weights u ignored",
    "uᵀJ is the gradient of Σ u_i y_i: weight output i by u[i] before the one backward.",
    DRIVERS,
)
PASS_PER_OUTPUT = Mistake(
    "one reverse pass per output",
    "a vjp takes one reverse pass, from the scalar Σ u_i y_i, whose gradient is uᵀJ.",
    DRIVERS,
)
TRANSPOSED = Mistake(
    "the Jacobian transposed",
    "reverse pass i, from output y_i, gives row i of J: stack the rows (axis=0) into shape (m, n).",
    DRIVERS,
)
LEAVES_NOT_RESET = Mistake(
    "leaf grads not reset between passes",
    "leaves accumulate, so set every leaf's grad to 0.0 before each pass: row i is then the gradient of y_i alone.",
    DRIVERS,
)

RSUB_SWAPPED = rsub_swapped(VAR)
RTRUEDIV_SWAPPED = rtruediv_swapped(VAR)
DERIVATIVES = {
    "sin": "cos(u)",
    "cos": "-sin(u)",
    "tan": "1 / cos²(u)",
    "exp": "e^u",
    "log": "1 / u",
    "sqrt": "1 / (2 sqrt(u))",
    "tanh": "1 - tanh²(u)",
}


def sign_flipped(name: str) -> Mistake:
    return Mistake(
        f"the wrong sign in the derivative of {name}",
        f"{name}(u) has the local derivative {DERIVATIVES[name]}.",
        FUNCTIONS,
    )
