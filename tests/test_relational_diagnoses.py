"""Relational fallback diagnoses (autograder/checks/kit/relations.py): each relation holds, is left out
when ambiguous or degenerate, never replaces a specific mistake or a hint; and mutants of real exercises
that no specific probe names (a doubled dW, a first-example bias gradient, a transposed dX, a negated
J v, a tangent of the step before) get the relation, run in-process against their check."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import numpy as np
import pytest
import sympy

import autograder.checks.forward as forward_checks
import autograder.checks.vjp as vjp_checks
from autograder.checks.kit import relations
from autograder.checks.kit.arrays import compare
from autograder.checks.kit.relations import (
    FIRST_EXAMPLE,
    FIRST_ROW,
    ONE_STEP_OFF,
    OPPOSITE_SIGN,
    SCALED,
    TRANSPOSED,
    fallback,
    relate,
    subject,
)
from autograder.feedback import CheckFailure, Mistake, diagnoses_in, failure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.harness import solution_namespace

RNG = np.random.default_rng(17)
A = RNG.normal(size=(3, 4))  # a non-square truth
S = RNG.normal(size=(3, 3))  # a square truth, not symmetric


def name(mistake: Mistake | None) -> str | None:
    return mistake.name if mistake is not None else None


# --- the relations, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "text"),
    [
        (2.0, "dW is exactly 2 times the right value: a missing factor 1/2?"),
        (0.5, "dW is exactly 1/2 times the right value: a factor 2 left out?"),
        (3.0, "dW is exactly 3 times the right value: a missing factor 1/3?"),
        (0.25, "dW is exactly 1/4 times the right value: a factor 4 left out?"),
        (-2.0, "dW is exactly -2 times the right value: the opposite sign and a missing factor 1/2?"),
    ],
)
def test_a_clean_multiple_is_named_with_its_factor(c, text):
    found = relate(A, c * A, "dW")
    assert found is not None and found.name == SCALED and found.rule == text


def test_the_opposite_sign():
    found = relate(A, -A, "the gradient")
    assert name(found) == OPPOSITE_SIGN
    assert found.rule.startswith("the gradient is the right value with the opposite sign")


def test_the_batch_size_is_named_when_the_check_gives_it():
    found = relate(A, 8 * A, "db", batch=8)
    assert name(found) == SCALED and "exactly B = 8 times the right value (B the batch size)" in found.rule
    found = relate(A, A / 8, "db", batch=8)
    assert name(found) == SCALED and "1/B = 1/8" in found.rule
    assert relate(A, 8 * A, "db") is None  # without B, 8 is no clean constant
    assert "B = 2" in relate(A, 2 * A, "db", batch=2).rule  # B = 2 and c = 2 are one relation, said as B


def test_other_factors_and_near_misses_are_not_named():
    assert relate(A, 1.7 * A, "dW") is None
    assert relate(A, 2 * A + 1e-3, "dW") is None
    assert relate(A, A, "dW") is None  # the truth itself: nothing to say


def test_a_zero_truth_has_no_relation():
    assert relate(np.zeros((2, 3)), np.ones((2, 3)), "dW") is None
    assert relate(np.zeros((2, 3)), np.zeros((2, 3)), "dW") is None
    assert relate(0.0, 1.0) is None


def test_the_transpose_of_a_square_and_of_a_non_square_truth():
    assert name(relate(S, S.T, "the Jacobian")) == TRANSPOSED
    found = relate(A, A.T, "dX")
    assert name(found) == TRANSPOSED and found.rule.startswith("dX is the transpose of the right answer")


def test_a_symmetric_truth_has_no_transpose():
    symmetric = S + S.T
    assert relate(symmetric, symmetric.T, "the Hessian") is None
    assert relate(symmetric, 2 * symmetric.T, "the Hessian").name == SCALED  # the scaling still shows


def test_two_relations_at_once_are_ambiguous():
    antisymmetric = S - S.T  # its negation is its transpose: sign or transpose, the answer does not tell
    assert relate(antisymmetric, -antisymmetric, "dW") is None
    geometric = np.array([1.0, 2.0, 4.0, 8.0])  # 2 times it is it shifted by one step
    assert relate(geometric, 2 * geometric, "x") is None


def test_the_first_row_only():
    found = relate(A, A[0], "the Jacobian")
    assert name(found) == FIRST_ROW and "only the first row of the right answer" in found.rule
    vector = np.array([3.0, 1.0, 2.0])
    assert "first entry" in relate(vector, vector[:1].reshape(()), "the gradient").rule
    alike = np.tile(A[0], (3, 1))
    assert relate(alike, A[0], "the Jacobian") is None  # every row the same: no first row to tell


def test_the_first_example_only_needs_the_per_example_contributions():
    dY = RNG.normal(size=(5, 3))
    want = dY.sum(axis=0)
    assert relate(want, dY[0], "db") is None
    found = relate(want, dY[0], "db", per_example=dY)
    assert name(found) == FIRST_EXAMPLE
    assert found.rule == "db is only the first example's contribution, not summed over the batch."
    assert relate(dY[0], dY[0] * 1.0 + 1.0, "db", per_example=dY[:1]) is None  # one example: nothing to tell


def test_one_step_off_given_the_steps():
    steps = [np.array([1.0, 2.0]), np.array([2.0, 3.0]), np.array([5.0, -1.0])]
    before = relate(steps[1], steps[0], "x_2", steps=steps, step=1)
    after = relate(steps[1], steps[2], "x_2", steps=steps, step=1)
    assert name(before) == ONE_STEP_OFF and "the step before: one step too few" in before.rule
    assert name(after) == ONE_STEP_OFF and "the step after: one step too many" in after.rule
    same = [steps[0], steps[0], steps[2]]
    assert relate(same[1], same[0] + 1.0, "x_2", steps=same, step=1) is None
    assert relate(steps[0], steps[1], "x_1", steps=steps, step=0) is not None  # the step after the first


def test_a_sequence_shifted_by_one_step():
    want = np.array([0.3, 0.84, 0.5376, 0.99434])
    ahead = np.array([0.84, 0.5376, 0.99434, 0.0225])
    found = relate(want, ahead, "the iterates")
    assert name(found) == ONE_STEP_OFF and "entry i holds the right entry i + 1" in found.rule
    behind = np.array([0.0, 0.3, 0.84, 0.5376])
    assert "entry i holds the right entry i - 1" in relate(want, behind, "the iterates").rule
    assert relate(np.ones(4), np.ones(4) * 1.0 + np.r_[0, 0, 0, 1.0], "x") is None  # a constant sequence


def test_sympy_expressions_are_compared_at_points():
    x, y = sympy.symbols("x y")
    want = 2 * sympy.cos(2 * x) * y
    assert name(relate(want, sympy.cos(2 * x) * y, "the derivative")) == SCALED
    assert "1/2 times" in relate(want, sympy.cos(2 * x) * y, "the derivative").rule
    assert name(relate(want, -want, "the derivative")) == OPPOSITE_SIGN
    assert relate(want, sympy.sin(2 * x) * y, "the derivative") is None
    assert relate(sympy.Integer(0), sympy.cos(x), "the derivative") is None  # a zero truth


def test_values_that_are_not_numbers_have_no_relation():
    assert relate("a", "b") is None
    assert relate([1.0, "x"], [2.0, "x"]) is None
    assert relate(True, False) is None
    assert relate(np.array([1.0, np.nan]), np.array([2.0, np.nan])) is None
    assert relate(1.0 + 2j, 2.0 + 4j) is None


# --- what a failure says, and when it falls back ---------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "what"),
    [
        ("the gradient is wrong by up to 0.1.", ("the gradient", "is")),
        ("J v, the second entry, is wrong.", ("J v, the second entry,", "is")),
        ("the gradients are wrong: (a.grad) should be (1, 2).", ("the gradients", "are")),
        ("with a gradient whose last entry is off by 0.1%, the relative error is wrong.", ("the relative error", "is")),
        ("entry (1, 2) is wrong: at x = 1, y = 2 it is 3.", ("entry (1, 2)", "is")),
        ("is wrong.", ("the result", "is")),
        ("changed the caller's x.", None),
        ("returned negative errors.", None),
    ],
)
def test_the_quantity_is_read_from_the_problem(problem, what):
    assert subject(problem) == what


def test_failure_falls_back_on_a_relation_and_renders_it():
    error = failure("linear_backward(X, W, b, dY)", "dW is wrong by up to 3.", expected=A, got=2 * A)
    assert error.diagnosis == SCALED
    text = " ".join(str(error).split())
    assert (
        "Likely mistake (off by a constant factor): dW is exactly 2 times the right value: a missing factor 1/2?"
        in text
    )
    assert diagnoses_in(str(error)) == [SCALED]
    apposition = failure("jvp(f, x, v)", "J v, the second entry, is wrong.", expected=1.5, got=-1.5)
    assert "J v, the second entry, is the right value with the opposite sign" in " ".join(str(apposition).split())


def test_failure_never_replaces_a_mistake_or_a_hint():
    known = Mistake("a known slip", "the rule.")
    assert failure("f(x)", "the gradient is wrong.", expected=A, got=2 * A, mistake=known).diagnosis == "a known slip"
    hinted = failure("f(x)", "the gradient is wrong.", expected=A, got=2 * A, mistake="a deliberate hint.")
    assert hinted.diagnosis == "" and "Likely mistake: a deliberate hint." in str(hinted)
    assert failure("f(x)", "the gradient is wrong.", expected=A, got=2 * A, relate=False).diagnosis == ""
    assert failure("f(x)", "changed the caller's x.", expected=A, got=2 * A).diagnosis == ""  # names no quantity


def test_fallback_needs_a_named_quantity_and_numbers():
    assert fallback("the gradient is wrong.", A, -A).name == OPPOSITE_SIGN
    assert fallback("the comparison is wrong: it must compare the values.", True, False) is None
    assert fallback("fails the dot-product test.", 1.0, 2.0) is None


def test_compare_asks_the_relations_before_the_hint_and_only_after_the_known_mistakes():
    known = Mistake("dW transposed here", "the rule.")
    with pytest.raises(CheckFailure) as caught:
        compare("f()", "dW", A.T, A, "given", [(known, A.T)])
    assert caught.value.diagnosis == "dW transposed here"  # the specific mistake, not the relation
    with pytest.raises(CheckFailure) as caught:
        compare("f()", "dW", A.T, A, "given", hint="a hint.")
    assert caught.value.diagnosis == TRANSPOSED and "has shape (4, 3), but it must have shape (3, 4)" in str(
        caught.value
    )
    with pytest.raises(CheckFailure) as caught:
        compare("f()", "dW", 1.7 * A, A, "given", hint="a hint.")
    assert caught.value.diagnosis == "" and "Likely mistake: a hint." in str(caught.value)
    per_example = RNG.normal(size=(4, 3, 4))
    with pytest.raises(CheckFailure) as caught:
        compare("f()", "dW", per_example[0], per_example.sum(axis=0), "given", per_example=per_example)
    assert caught.value.diagnosis == FIRST_EXAMPLE


def test_an_ambiguous_relation_with_the_extra_truths_is_not_reported_without_them():
    """compare asks with the per-example truths; when that is ambiguous, failure must not ask again without."""
    want = np.array([1.0, 2.0, 3.0])
    per_example = np.array([2 * want, -want])  # the first example's contribution is 2 times the truth
    with pytest.raises(CheckFailure) as caught:
        compare("f()", "db", 2 * want, want, "given", per_example=per_example)
    assert caught.value.diagnosis == ""


def test_the_module_imports_and_relates_numbers_and_expressions_without_numpy():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'numpy': raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import sympy\n"
        "from autograder.feedback import failure\n"
        "from autograder.checks.kit.relations import relate\n"
        "x = sympy.Symbol('x')\n"
        "assert failure('d', 'the derivative is wrong.', expected=2 * sympy.cos(x), got=-2 * sympy.cos(x)).diagnosis"
        " == 'the opposite sign'\n"
        "assert relate(3.0, 6.0).name == 'off by a constant factor'\n"
        "assert relate([1.0, 2.0], [2.0, 4.0]) is None\n"
        "assert 'numpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --- mutants of real exercises that no specific probe names ----------------------------------------

VJP = nbformat.read(REPO / "source" / "05_vjp" / "05_vjp.ipynb", as_version=4)
FORWARD = nbformat.read(REPO / "source" / "03_forward" / "03_forward.ipynb", as_version=4)
VJP_CELLS = ("unbroadcast_code", "tensor_code", "matmul_code", "linear_code")
FORWARD_CELLS = ("dual_code", "functions_code", "trace_code", "derivative_code", "jvp_code", "jacobian_code")
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")


def mutant(
    source: nbformat.NotebookNode, cells: tuple[str, ...], cell: str, edits: tuple[tuple[str, str], ...]
) -> dict:
    """The source's solution namespace with `edits` made in `cell` (each must apply exactly once)."""
    code = submissions.solution_code(submissions.solution_cells(source)[cell])
    for old, new in edits:
        assert code.count(old) == 1, f"{old!r} occurs {code.count(old)} times in {cell}"
        code = code.replace(old, new)
    namespace: dict = {}
    exec("import numpy as np", namespace)
    return solution_namespace(source, cells, {cell: code}, namespace)


def failing(check) -> CheckFailure:
    with pytest.raises(CheckFailure) as caught:
        check()
    return caught.value


def message(error: CheckFailure) -> str:
    return " ".join(str(error).split())


def test_linear_backward_with_dw_doubled():
    ns = mutant(VJP, VJP_CELLS, "linear_code", (("dW = X.T @ dY", "dW = 2 * X.T @ dY"),))
    error = failing(lambda: vjp_checks.check_linear_backward(ns["linear_backward"], seed=5401))
    assert error.diagnosis == SCALED and diagnoses_in(str(error)) == [SCALED]
    assert "dW" in message(error) and "is exactly 2 times the right value: a missing factor 1/2?" in message(error)


def test_linear_backward_with_the_bias_gradient_of_the_first_example():
    ns = mutant(VJP, VJP_CELLS, "linear_code", (("db = dY.sum(axis=0)", "db = dY[0]"),))
    error = failing(lambda: vjp_checks.check_linear_backward(ns["linear_backward"], seed=5401))
    assert error.diagnosis == FIRST_EXAMPLE and diagnoses_in(str(error)) == [FIRST_EXAMPLE]
    assert "is only the first example's contribution, not summed over the batch." in message(error)


def test_matmul_vjp_with_dx_transposed():
    ns = mutant(VJP, VJP_CELLS, "matmul_code", (("dX = G @ W.T", "dX = (G @ W.T).T"),))
    error = failing(lambda: vjp_checks.check_matmul_vjp(ns["matmul_vjp"], seed=5301))
    assert error.diagnosis == TRANSPOSED and diagnoses_in(str(error)) == [TRANSPOSED]
    assert "is the transpose of the right answer" in message(error)


def test_jvp_with_the_tangent_negated():
    ns = mutant(
        FORWARD,
        FORWARD_CELLS,
        "jvp_code",
        (
            ("return float(out.value), float(out.tangent)", "return float(out.value), -float(out.tangent)"),
            ("np.array([d.tangent for d in duals], dtype=float)", "-np.array([d.tangent for d in duals], dtype=float)"),
        ),
    )
    functions = tuple(ns[f] for f in FUNCTIONS)
    error = failing(lambda: forward_checks.check_jvp(ns["jvp"], functions, seed=1, count=4))
    assert error.diagnosis == OPPOSITE_SIGN and diagnoses_in(str(error)) == [OPPOSITE_SIGN]
    assert "J v, the second entry, is the right value with the opposite sign" in message(error)


def test_tangent_trace_with_the_tangent_of_the_step_before():
    ns = mutant(FORWARD, FORWARD_CELLS, "trace_code", (('"v_4": dv_4', '"v_4": dv_3'),))
    error = failing(lambda: forward_checks.check_tangent_trace(ns["tangent_trace"], seed=1, count=2))
    assert error.diagnosis == ONE_STEP_OFF and diagnoses_in(str(error)) == [ONE_STEP_OFF]
    assert "the tangent v_4 is the right value of the step before: one step too few" in message(error)


def test_every_relation_name_is_a_valid_mistake_name():
    for relation in relations.NAMES:
        Mistake(relation, "a rule.")  # no parentheses: diagnoses_in reads it back


def test_compare_on_a_ragged_list_says_what_came_back():
    with pytest.raises(CheckFailure) as caught:
        compare("f()", "dW", [[1.0, 2.0], [3.0]], np.ones((2, 2)), "given")
    assert "not an array of numbers" in str(caught.value) and caught.value.diagnosis == ""


def test_gradient_expr_over_a_derivative_rules_with_the_cos_sign_flipped():
    """Unit 02 (SymPy answers): the gradient's check has no probe for derivative_rules' own mistakes,
    and the entry is compared at points: the relation of the expressions names the sign."""
    from autograder.checks.symbolic import check_gradient_expr
    from tests.units.symbolic import MUTANTS

    source = nbformat.read(REPO / "source" / "02_symbolic" / "02_symbolic.ipynb", as_version=4)
    flipped = MUTANTS["cos_derivative_sign"]
    namespace: dict = {}
    exec("import sympy as sp", namespace)
    ns = solution_namespace(
        source, ("derivative_rules_code", "gradient_expr_code"), {flipped.cell: flipped.code(source)}, namespace
    )
    error = failing(lambda: check_gradient_expr(ns["gradient_expr"], "x1**2 + cos(x2**2)"))
    assert error.diagnosis == OPPOSITE_SIGN and diagnoses_in(str(error)) == [OPPOSITE_SIGN]
    assert "entry 1 (d/dx2) is the right value with the opposite sign" in message(error)
