"""Unit 05's checks on their own, in one process: the reference passes every check, and each named
mistake fails with its diagnosis (the whole grading pipeline is exercised in test_grading.py)."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

import autograder.checks.vjp as checks
from autograder.checks.svd import check_svd_vjp
from autograder.checks.tensor_recording import check_tensor_recording
from autograder.feedback import CheckFailure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.vjp import ATTACKS, MUTANTS

SOURCE = nbformat.read(REPO / "source" / "05_vjp" / "05_vjp.ipynb", as_version=4)
CELLS = (
    "unbroadcast_code",
    "tensor_code",
    "matmul_code",
    "linear_code",
    "quadratic_code",
    "softmax_code",
    "solve_code",
    "svd_code",
)
CHECKS = {
    "unbroadcast": lambda ns: checks.check_unbroadcast(ns["unbroadcast"], seed=5101),
    "tensor": lambda ns: checks.check_tensor(ns["Tensor"], seed=5201, unbroadcast=ns["unbroadcast"]),
    "matmul_vjp": lambda ns: checks.check_matmul_vjp(ns["matmul_vjp"], seed=5301),
    "linear_backward": lambda ns: checks.check_linear_backward(ns["linear_backward"], seed=5401),
    "quadratic_form_grad": lambda ns: checks.check_quadratic_form_grad(ns["quadratic_form_grad"], seed=5501),
    "softmax_cross_entropy": lambda ns: checks.check_softmax_cross_entropy(
        ns["softmax_cross_entropy"], ns["softmax_cross_entropy_vjp"], seed=5601
    ),
    "solve_vjp": lambda ns: checks.check_solve_vjp(ns["solve_vjp"], seed=5701),
    "tensor_recording": lambda ns: check_tensor_recording(ns["Tensor"], seed=5801, unbroadcast=ns["unbroadcast"]),
    "svd_vjp": lambda ns: check_svd_vjp(ns["svd_vjp"], seed=5901),
}


def namespace(replaced: dict[str, str] | None = None) -> dict:
    """The solution cells of the source notebook (or their replacements), run in order."""
    cells = submissions.solution_cells(SOURCE)
    ns: dict = {}
    exec("import numpy as np", ns)
    for cell in CELLS:
        exec(compile((replaced or {}).get(cell) or submissions.solution_code(cells[cell]), cell, "exec"), ns)
    return ns


def test_reference_solution_passes_every_check():
    ns = namespace()
    for check in CHECKS.values():
        check(ns)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_named_mistake_fails_with_its_diagnosis(mutant):
    """Every test cell the mutant loses fails with a message naming its mistake (or with none)."""
    m = MUTANTS[mutant]
    ns = namespace({m.cell: m.code(SOURCE)})
    diagnoses = []
    for cell in m.loses:
        with pytest.raises(CheckFailure) as caught:
            CHECKS[cell](ns)
        assert caught.value.diagnosis in ("", *m.diagnoses), str(caught.value)
        diagnoses.append(caught.value.diagnosis)
    assert set(m.diagnoses) & set(diagnoses)


@pytest.mark.parametrize(
    ("code", "check", "diagnosis"),
    [
        (
            "def unbroadcast(g, shape):\n    return np.asarray(g, dtype=float)",
            "unbroadcast",
            "g returned without summing",
        ),
        (
            "def linear_backward(X, W, b, dY):\n    return dY @ W.T, X.T @ dY, dY.mean(axis=0)",
            "linear_backward",
            "db averaged over the batch",
        ),
        ("def matmul_vjp(X, W, G):\n    return G @ W.T, (X.T @ G).T", "matmul_vjp", "dW transposed"),
        ("def quadratic_form_grad(A, x):\n    return A @ x", "quadratic_form_grad", "only A x"),
        (
            "def solve_vjp(A, b, x, gx):\n    db = np.linalg.solve(A.T, gx)\n    return np.outer(db, x), db",
            "solve_vjp",
            "dA sign reversed",
        ),
    ],
)
def test_probes_name_other_common_mistakes(code, check, diagnosis):
    with pytest.raises(CheckFailure) as caught:
        CHECKS[check]({check: _defined(code)})
    assert caught.value.diagnosis == diagnosis, str(caught.value)


def _defined(code: str):
    ns: dict = {"np": np}
    exec(code, ns)
    return next(v for k, v in ns.items() if k not in ("np", "__builtins__"))


def test_finite_differences_get_a_hint_but_no_diagnosis():
    ns = namespace(ATTACKS["finite_differences_instead_of_formulas"].cells)
    with pytest.raises(CheckFailure) as caught:
        CHECKS["matmul_vjp"](ns)
    assert caught.value.diagnosis == "" and "exact" in str(caught.value)


def test_log_of_softmax_is_not_called_a_missing_shift():
    """A shifted softmax whose log underflows to -inf also returns an infinite loss: that is not an
    overflow, so it gets the hint about the underflow (what the values show), not the diagnosis."""
    code = """
def softmax_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return float(-np.log((e / e.sum(axis=1, keepdims=True))[np.arange(len(labels)), labels]).mean())


def softmax_cross_entropy_vjp(logits, labels):
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    return p / len(labels)
"""
    ns = namespace({"softmax_code": code})
    with pytest.raises(CheckFailure) as caught:
        checks.check_softmax_cross_entropy(
            ns["softmax_cross_entropy"], ns["softmax_cross_entropy_vjp"], [[1000.0, -1000.0, 0.0]], [1]
        )
    message = " ".join(str(caught.value).split())
    assert caught.value.diagnosis == "" and "underflows to 0" in message and "overflows" not in message


# --- issue 21: every message reads true ----------------------------------------------------------------


def _failure(check, *args, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as caught:
        check(*args, **kwargs)
    return caught.value


def _text(error: CheckFailure) -> str:
    return " ".join(str(error).split())


DOUBLED = re.compile(r"\b([A-Za-z]+)\s+\1\b", re.IGNORECASE)
CUT_WORD = re.compile(r"[A-Za-z0-9]\.\.\.")


def assert_reads_clean(message: str) -> None:
    """No doubled word ("the the"), no word or number cut by an ellipsis ("f..."), balanced brackets."""
    text = " ".join(message.split())
    assert not DOUBLED.search(text), DOUBLED.search(text).group(0)
    assert not CUT_WORD.search(text), text[max(0, CUT_WORD.search(text).start() - 30) :][:60]
    opened = []
    for char in text:
        if char in "([{":
            opened.append({"(": ")", "[": "]", "{": "}"}[char])
        elif char in ")]}":
            assert opened and opened.pop() == char, f"unbalanced {char!r} in {text}"
    assert not opened, f"unclosed {opened} in {text}"


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_every_mutant_message_reads_clean(mutant):
    m = MUTANTS[mutant]
    ns = namespace({m.cell: m.code(SOURCE)})
    for cell in m.loses:
        assert_reads_clean(str(_failure(CHECKS[cell], ns)))


def _tensor_with(old: str, new: str) -> dict:
    code = submissions.solution_code(submissions.solution_cells(SOURCE)["tensor_code"])
    assert code.count(old) == 1
    return namespace({"tensor_code": code.replace(old, new)})


SWAPPED_MATMUL = (
    "vjp=lambda g: (g @ other.data.T, self.data.T @ g)",
    "vjp=lambda g: (self.data.T @ g, g @ other.data.T)",
)


def test_swapped_matmul_adjoints_are_named_and_not_called_broadcasting():
    """(a @ b).sum() broadcasts nothing: the swap is named, and no hint speaks of unbroadcast."""
    ns = _tensor_with(*SWAPPED_MATMUL)
    error = _failure(checks.check_tensor, ns["Tensor"], "(a @ b).sum()", {"a": (2, 3), "b": (3, 4)})
    assert error.diagnosis == "adjoints returned in the wrong order", str(error)
    assert "unbroadcast" not in str(error) and "broadcast in the expression" not in str(error)
    assert "a.grad has shape (3, 4)" in _text(error)


def test_a_wrong_shape_of_a_variable_the_expression_does_not_broadcast_gets_no_hint():
    """A wrong shape that nothing explains says what is wrong and stops (here: @'s adjoint of b transposed
    and its shape, (4, 3), is not one b broadcasts to)."""
    ns = _tensor_with(*(SWAPPED_MATMUL[0], "vjp=lambda g: (g @ other.data.T, g.T @ self.data)"))
    error = _failure(checks.check_tensor, ns["Tensor"], "(a @ b).sum()", {"a": (2, 3), "b": (3, 4)})
    assert error.diagnosis == "an adjoint transposed", str(error)
    assert "unbroadcast" not in str(error)


def test_the_unbroadcast_hint_needs_a_broadcast_variable():
    """A gradient left at the broadcast shape, (2, 3), of b (3,) in a + b: the hint about summing back is
    given (the expression does broadcast b), and not named unless summing back gives the right gradient."""
    ns = _tensor_with(
        "vjp=lambda g: (unbroadcast(g, self.shape), unbroadcast(g, other.shape)),",
        "vjp=lambda g: (unbroadcast(g, self.shape), 2 * g),",
    )
    error = _failure(checks.check_tensor, ns["Tensor"], "(a + b).sum()", {"a": (2, 3), "b": (3,)})
    text = _text(error)
    assert error.diagnosis == "" and "broadcasts this variable of shape (3,)" in text, text


@pytest.mark.parametrize("tensor_cell", ["reference", "mul_without_unbroadcast"])
def test_a_wrong_unbroadcast_is_named_first_by_the_tensor_checks(tensor_cell):
    """A Tensor failing because its unbroadcast is wrong starts with "`unbroadcast` fails above: fix it
    first." and gives no hint about its own VJPs (whether the Tensor itself is right or not)."""
    unbroadcast = MUTANTS["unbroadcast_leading_axes_only"]
    replaced = {unbroadcast.cell: unbroadcast.code(SOURCE)}
    if tensor_cell != "reference":
        replaced["tensor_code"] = MUTANTS["tensor_mul_without_unbroadcast"].code(SOURCE)
    ns = namespace(replaced)
    for check in (CHECKS["tensor"],):
        error = _failure(check, ns)
        text = _text(error)
        assert text.startswith("`unbroadcast` fails above: fix it first."), text
        assert "Likely mistake" not in text and error.diagnosis == ""
        assert_reads_clean(str(error))


def test_a_right_unbroadcast_adds_no_sentence_to_a_wrong_tensor():
    ns = namespace({"tensor_code": MUTANTS["tensor_mul_without_unbroadcast"].code(SOURCE)})
    error = _failure(CHECKS["tensor"], ns)
    assert "fails above" not in str(error) and error.diagnosis == "a broadcast operand's gradient not summed back"


def test_the_unbroadcast_dependency_is_one_observation_whatever_its_verdict():
    """At grading time observations are matched by position: the quick check records exactly one."""
    from autograder import runtime

    calls = []
    original = runtime.run_check

    def counting(observe, judge):
        calls.append(1)
        return original(observe, judge)

    import autograder.checks.kit.dependencies as dependencies

    for unbroadcast in (namespace()["unbroadcast"], lambda g, shape: g):
        calls.clear()
        dependencies.run_check, saved = counting, dependencies.run_check
        try:
            checks.cases.unbroadcast_dependency(unbroadcast)() if unbroadcast is not None else None
        except CheckFailure:
            pass
        finally:
            dependencies.run_check = saved
        assert len(calls) == 1


def test_matmul_pair_swapped_gives_the_inputs_and_names_the_mistake():
    X, W, G = [[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]], [[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], [[1.0, -1.0], [2.0, 0.5]]
    error = _failure(checks.check_matmul_vjp, lambda X, W, G: (X.T @ G, G @ W.T), X, W, G)
    text = _text(error)
    assert error.diagnosis == "gradients returned in the wrong order", text
    assert "Here X = [[1., 2., 0.], [0., 1., -1.]]" in text.replace("[ ", "[").replace(",  ", ", ")
    assert "the dX" not in text and "entry 1 is dW = Xᵀ G" in text


def test_unbroadcast_shape_message_names_the_target_shape_once():
    error = _failure(checks.check_unbroadcast, lambda g, shape: np.sum(g, axis=1), (2, 3), (2, 1))
    text = _text(error)
    assert "must have the target shape (2, 1)" in text and "its input" not in text, text
    assert "the the" not in text and text.count("(2, 3)") == 1, text  # g's shape once


@pytest.mark.parametrize(
    "inverse",
    [
        "np.linalg.inv(A).T @ gx",
        "np.linalg.pinv(A.T) @ gx",
        "np.linalg.matrix_power(A.T, -1) @ gx",
        "inv(A.T) @ gx",
        "np.linalg.solve(A.T, np.eye(len(A))) @ gx",
    ],
)
def test_solve_vjp_may_never_form_the_inverse(inverse):
    ns: dict = {"np": np}
    exec(
        "from numpy.linalg import inv\n\n\ndef solve_vjp(A, b, x, gx):\n"
        f"    lam = {inverse}\n    return -np.outer(lam, x), lam",
        ns,
    )
    error = _failure(checks.check_solve_vjp, ns["solve_vjp"], A=[[2.0, 1.0], [0.0, 3.0]], b=[1.0, 2.0], gx=[1.0, -1.0])
    assert error.diagnosis == "A⁻¹ formed", str(error)
    assert "called np.linalg." in _text(error)


def test_the_inverse_watch_is_off_after_the_check():
    import sys

    checks.check_solve_vjp(namespace()["solve_vjp"], A=[[2.0, 1.0], [0.0, 3.0]], b=[1.0, 2.0], gx=[1.0, -1.0])
    assert sys.getprofile() is None


@pytest.mark.parametrize("h", [1e-3, 1e-5, 1e-7])
def test_finite_differences_fail_the_visible_integer_cases(h):
    """The notebook says answers by finite differences fail on integer-valued inputs: the visible tests
    of matmul_vjp and quadratic_form_grad now have such a case (run here from the test cells' source)."""

    def fd(f, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros_like(x)
        for i in range(x.size):
            e = np.zeros_like(x)
            e.flat[i] = h
            out.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
        return out

    def matmul_vjp(X, W, G):
        X, W, G = (np.asarray(a, dtype=float) for a in (X, W, G))
        return fd(lambda x: np.sum(G * (x @ W)), X), fd(lambda w: np.sum(G * (X @ w)), W)

    def quadratic_form_grad(A, x):
        A = np.asarray(A, dtype=float)
        return fd(lambda v: v @ A @ v, x)

    for cell, student in (("matmul_vjp", matmul_vjp), ("quadratic_form_grad", quadratic_form_grad)):
        source = next(c.source for c in SOURCE.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell)
        visible = source.split("### BEGIN HIDDEN TESTS")[0]
        with pytest.raises(CheckFailure) as caught:
            exec(visible, {cell: student, "print": lambda *a: None})
        text = _text(caught.value)
        assert "on integer-valued inputs" in text and "finite differences" in text, text


def test_a_wrong_formula_on_integer_inputs_is_not_called_a_finite_difference():
    X = [[1234.0, -5678.0, 910.0], [-2345.0, 6789.0, -1011.0]]
    W = [[3141.0, -5926.0], [5358.0, 9793.0], [-2384.0, 6264.0]]
    G = [[-3383.0, 2795.0], [288.0, -4197.0]]
    error = _failure(checks.check_matmul_vjp, lambda X, W, G: (G @ W.T, 2 * X.T @ G), X, W, G)
    text = _text(error)
    assert "wrong by up to" in text and "finite differences" not in text, text


def test_shortened_values_end_at_a_token_with_their_brackets_closed():
    from autograder.feedback import show

    text = show(np.array([[0.548, -0.921, -1.836], [-1.934, 1.253, 1.651]]), 70)
    assert text == "[[ 0.548, -0.921, -1.836], [-1.934, ...]] (shape (2, 3), float64)", text
    assert_reads_clean(show(np.arange(60.0).reshape(6, 10) / 7, 90))
    assert_reads_clean(show("a long sentence of many words that goes on and on", 20))


def _recorded_then_judged(replaced: dict, cell: str, tmp_path, monkeypatch) -> str | None:
    """Run a test cell (hidden part included) as grading does: observations recorded in the student's
    namespace (collect mode), then judged from the record file alone (the grader's process)."""
    from autograder import runtime
    from autograder.grading.trusted_judge import judge_cell

    source = next(c.source for c in SOURCE.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell)
    ns = {**namespace(replaced), "print": lambda *a: None}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "records.jsonl"
    monkeypatch.setattr(runtime, "_running_cell_key", lambda: runtime.cell_key(source))
    monkeypatch.setattr(runtime, "_state", runtime._State())
    runtime.start_collecting(str(path))
    try:
        exec(source, ns)
    finally:
        runtime._state.sink.close()
        runtime._state = runtime._State()
    return judge_cell(source, cell, runtime.read_records(str(path)))


def test_the_dependency_sentence_survives_recording_and_judging(tmp_path, monkeypatch):
    """At grading time the unbroadcast check is one recorded observation before the Tensor's own, so
    the judge (which never calls student code) still says first that unbroadcast fails."""
    unbroadcast = MUTANTS["unbroadcast_leading_axes_only"]
    message = _recorded_then_judged({unbroadcast.cell: unbroadcast.code(SOURCE)}, "tensor", tmp_path, monkeypatch)
    assert message is not None and message.startswith("`unbroadcast` fails above: fix it first."), message
    assert _recorded_then_judged({}, "tensor", tmp_path / "right", monkeypatch) is None


def test_the_inverse_watch_survives_recording_and_judging(tmp_path, monkeypatch):
    mutant = MUTANTS["solve_with_inverse"]
    message = _recorded_then_judged({mutant.cell: mutant.code(SOURCE)}, "solve_vjp", tmp_path, monkeypatch)
    assert message is not None and "Likely mistake (A⁻¹ formed)" in " ".join(message.split()), message


def test_right_values_with_a_numpy_warning_fail_as_the_notebook_says():
    """'No warning for logits of size 1000': an unshifted exp whose overflow is then discarded gives the
    right values, but numpy warns; the check records numpy's warnings and fails with the reason."""
    code = """
def softmax_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=float)
    naive = np.log(np.exp(z).sum(axis=1))
    m = z.max(axis=1)
    lse = np.where(np.isfinite(naive), naive, m + np.log(np.exp(z - m[:, None]).sum(axis=1)))
    return float((lse - z[np.arange(len(labels)), np.asarray(labels)]).mean())
"""
    ns = namespace({"softmax_code": submissions.solution_code(submissions.solution_cells(SOURCE)["softmax_code"])})
    exec(code, ns)
    error = _failure(
        checks.check_softmax_cross_entropy,
        ns["softmax_cross_entropy"],
        ns["softmax_cross_entropy_vjp"],
        [[1000.0, -1000.0, 0.0]],
        [1],
    )
    text = _text(error)
    assert "raised a warning: RuntimeWarning: overflow encountered in exp" in text, text
    assert "subtract each row's maximum before every exp" in text and error.diagnosis == ""
    checks.check_softmax_cross_entropy(ns["softmax_cross_entropy"], ns["softmax_cross_entropy_vjp"], [[1.0, 2.0]], [0])
