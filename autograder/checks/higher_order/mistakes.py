"""The catalogue of unit 07, higher-order derivatives: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.feedback import Mistake

ROSENBROCK = "(1 - x1)**2 + 100*(x2 - x1**2)**2"

# --- the common mistakes this unit recognises ---------------------------------------------------------
# A failure names one of these only when the wrong answer matches the mistake's distinctive value (a
# probe computed by SymPy or by formula), or when the failed condition itself is the mistake.

ASSIGNMENT = "07_higher_order.ipynb"
LECTURE = "notebooks/07_higher_order.ipynb"
HVP_SECTION = f"section 2 (hvp: forward-over-reverse) of {ASSIGNMENT}"
HESSIAN_SECTION = f"section 3 (hessian: n Hessian-vector products) of {ASSIGNMENT}"
NEWTON_SECTION = f"section 4 (newton_step on Rosenbrock) of {ASSIGNMENT}"
CONFUSION_SECTION = f"section 6 (Perturbation confusion, and tags) of {LECTURE}"
NO_GRAD_SECTION = f"section 6 (no_grad: computing without a graph) of {ASSIGNMENT}"
CHECKPOINT_SECTION = f"section 7 (checkpoint: recompute in backward) of {ASSIGNMENT}"

HVP_RULE = "seed every input with its direction, x_i -> Var(Dual(x_i, v_i)), run f and one backward()"
HVP_GRADIENT = Mistake(
    "the gradient returned instead of the HVP",
    "the value parts of the inputs' grads are ∇f(x); ∂²f(x) v is their tangent parts, x_i.grad.tangent.",
    HVP_SECTION,
)
HVP_ONES = Mistake(
    "the inputs seeded with tangent 1",
    f"{HVP_RULE}: with tangents 1 the answer is ∂²f(x) (1, ..., 1), not ∂²f(x) v.",
    HVP_SECTION,
)
HVP_OUTPUT_SEEDED = Mistake(
    "the output's adjoint seeded with a tangent",
    "start backward() with the plain number 1 (a Dual seed adds ∇f(x) to the tangents): only the inputs "
    "carry the direction v.",
    HVP_SECTION,
)
HVP_FIRST_ONLY = Mistake(
    "only the first input seeded",
    f"{HVP_RULE}: every input carries its own v_i, not only x_1.",
    HVP_SECTION,
)
HVP_FULL_HESSIAN = Mistake(
    "the whole Hessian formed",
    f"{HVP_RULE}: one pass gives ∂²f(x) v directly; forming ∂²f(x) column by column costs n passes.",
    HVP_SECTION,
)
HVP_REPEATED_PASSES = "repeated reverse passes"


def hvp_repeated_passes(passes: int) -> Mistake:
    """The HVP made `passes` reverse passes over the same leaves, so it is `passes` times the truth."""
    times = "doubled" if passes == 2 else f"is {passes} times the truth"
    return Mistake(
        HVP_REPEATED_PASSES,
        f"you made {passes} reverse passes; leaves accumulate, so the result {times}. Call backward() once, "
        "on the one result of f.",
        HVP_SECTION,
    )


HVP_PLAIN_GRAD = Mistake(
    "a plain-number grad read as a Dual",
    "a grad that does not depend on x (e.g. f = x1 + x2) stays a plain number: its tangent is 0, so read "
    ".tangent only from a grad that is a Dual.",
    HVP_SECTION,
)
HESSIAN_TRIANGLE = Mistake(
    "only one triangle filled",
    "column j of ∂²f(x) is the whole vector hvp(f, x, e_j): keep all its entries (the Hessian is symmetric).",
    HESSIAN_SECTION,
)
HESSIAN_ONES = Mistake(
    "the direction 1, ..., 1 for every column",
    "column j of ∂²f(x) is ∂²f(x) e_j: hvp(f, x, e_j) with the j-th unit vector e_j as the direction.",
    HESSIAN_SECTION,
)
HESSIAN_EXTRA_PASS = Mistake(
    "an extra reverse pass",
    "the Hessian takes exactly n HVPs, hvp(f, x, e_j) for j = 1, ..., n with n = len(x): nothing else runs "
    "backward, not even to find n or the gradient.",
    HESSIAN_SECTION,
)
HESSIAN_TWO_PER_COLUMN = Mistake(
    "two reverse passes per column",
    "one hvp(f, x, e_j) per column j is exact already: no second product to symmetrise or average.",
    HESSIAN_SECTION,
)
NEWTON_RULE = "x_new = x - ∂²f(x)⁻¹ ∇f(x): solve ∂²f(x) s = ∇f(x) with np.linalg.solve, then return x - s."
NEWTON_PLUS = Mistake("the step added instead of subtracted", NEWTON_RULE, NEWTON_SECTION)
NEWTON_GRADIENT = Mistake("a gradient step", NEWTON_RULE + " Without ∂²f it is gradient descent.", NEWTON_SECTION)
NEWTON_MULTIPLIED = Mistake("the gradient multiplied by the Hessian", NEWTON_RULE, NEWTON_SECTION)
NEWTON_STEP_ONLY = Mistake("the step returned instead of the new point", NEWTON_RULE, NEWTON_SECTION)
NEWTON_MINUS_STEP = Mistake("minus the step returned instead of the new point", NEWTON_RULE, NEWTON_SECTION)
CONFUSION = Mistake(
    "perturbation confusion",
    "each call of derivative takes a fresh tag (new_tag()), seeds Dual(x, 1.0, tag) and reads only the tangent "
    "of a result with that tag; anything else (a number, a Dual of an outer call's tag) is constant in its ε: "
    "derivative 0.",
    CONFUSION_SECTION,
)
CONSTANT_TANGENT = Mistake(
    "a constant result read as a Dual",
    "when f's result is not a Dual with your tag (here the number 3.0), it does not depend on your ε: return 0.0.",
    f"section 5 (Nested derivatives and perturbation confusion) of {ASSIGNMENT}",
)
DROPPED_OUTER_TANGENT = Mistake(
    "the outer perturbation dropped",
    "return the tangent of your tag's result as it is: inside an outer derivative it is a Dual of the "
    "outer tag, whose own tangent is what the outer call reads; its .value alone (or float(...)) makes the "
    "inner derivative a constant to the outer one.",
    f"section 5 (Nested derivatives and perturbation confusion) of {ASSIGNMENT}",
)
NEVER_DISABLED = Mistake(
    "recording never switched off",
    "set GradMode.enabled = False when the block starts: new Vars then record no parents.",
    NO_GRAD_SECTION,
)
NOT_RESUMED = Mistake(
    "recording not restored after the block",
    "save GradMode.enabled when the block starts and put that value back when it ends.",
    NO_GRAD_SECTION,
)
RESTORES_TRUE = Mistake(
    "True restored instead of the saved mode",
    "on exit restore the mode saved on entry (previous = GradMode.enabled): leaving an inner no_grad is still "
    "inside the outer one.",
    NO_GRAD_SECTION,
)
SWALLOWED = Mistake(
    "the exception swallowed",
    "no_grad only restores the mode: do not catch the exception (and do not return True from __exit__), it "
    "goes on to the caller.",
    NO_GRAD_SECTION,
)
NOT_RESTORED_AFTER_RAISE = Mistake(
    "the mode not restored after an exception",
    "restore the mode in a `finally:` around the `yield` (or in __exit__, which runs when the block raises too).",
    NO_GRAD_SECTION,
)
CHECKPOINT_RULE = "run fn once with recording off and return one new Var(value, args, vjp) whose parents are the args"
CHECKPOINT_STORES_ALL = Mistake(
    "fn's own result returned",
    f"{CHECKPOINT_RULE}: the graph then stores one node per checkpoint call, not all of fn's operations.",
    CHECKPOINT_SECTION,
)
CHECKPOINT_FORWARD_RECORDS = Mistake(
    "fn recorded in the forward pass",
    f"{CHECKPOINT_RULE}: call fn inside `with no_grad():` (or on the plain values), so that no intermediate is kept.",
    CHECKPOINT_SECTION,
)
CHECKPOINT_KEEPS_GRAPH = Mistake(
    "the forward graph kept for backward",
    f"{CHECKPOINT_RULE}; its VJP recomputes: it calls fn again on fresh leaves Var(a.value) and runs backward(g) "
    "on that new graph.",
    CHECKPOINT_SECTION,
)
CHECKPOINT_LEAVES_RECORDING_OFF = Mistake(
    "recording left off after checkpoint",
    "switch recording off only around the forward call of fn and put the saved mode back before checkpoint "
    "returns (`with no_grad():` does both).",
    CHECKPOINT_SECTION,
)
CHECKPOINT_SEEDED_ONE = Mistake(
    "the recomputed graph seeded with 1",
    "the VJP gets the adjoint g of the checkpoint's output: run backward(g) from the recomputed result, not "
    "backward(), and return the fresh leaves' grads.",
    CHECKPOINT_SECTION,
)
CHECKPOINT_ON_ARGUMENTS = Mistake(
    "fn recomputed on the arguments themselves",
    "in the VJP call fn on fresh leaves Var(a.value), not on args: backward(g) then stops at those leaves, "
    "and their grads are the adjoints to return.",
    CHECKPOINT_SECTION,
)
