"""Unit 05's `check_tensor_recording` on its own: the reference Tensor passes, each broken recording
rule fails with its diagnosis, and the observation does not depend on the Tensor's attribute names."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from autograder.checks.tensor_recording import RECORDING_CASES, _Traced, check_tensor_recording
from autograder.feedback import CheckFailure
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.vjp import ALTERNATIVES

SOURCE = nbformat.read(REPO / "source" / "05_vjp" / "05_vjp.ipynb", as_version=4)


def tensor(replace: tuple[tuple[str, str], ...] = (), code: str | None = None) -> type:
    """The reference Tensor (with `replace` made in its cell), or the Tensor of `code`."""
    cells = submissions.solution_cells(SOURCE)
    ns: dict = {}
    exec("import numpy as np", ns)
    exec(submissions.solution_code(cells["unbroadcast_code"]), ns)
    source = code or submissions.solution_code(cells["tensor_code"])
    for old, new in replace:
        assert source.count(old) == 1
        source = source.replace(old, new)
    exec(source, ns)
    return ns["Tensor"]


def test_the_reference_and_the_alternatives_pass():
    check_tensor_recording(tensor(), seed=5801)
    check_tensor_recording(tensor(), seed=1_000_321)
    for alternative in ALTERNATIVES.values():
        if "tensor_code" in alternative.cells:
            check_tensor_recording(tensor(code=alternative.cells["tensor_code"]), seed=5801)


def test_the_trace_knows_which_results_require_grad_and_what_they_may_keep():
    a, b, c = (_Traced(np.ones(3), n == "c", frozenset({n})) for n in "abc")
    out = ((a.exp() + b) * c).sum()
    assert out.requires and out.holds == frozenset({"c"})
    nothing = (a * b).sum()
    assert not nothing.requires and nothing.holds == frozenset()
    assert any(not mask for _, _, mask in RECORDING_CASES) and any(mask for _, _, mask in RECORDING_CASES)


@pytest.mark.parametrize(
    ("replace", "diagnosis"),
    [
        (
            (("            return Tensor(data)\n", "            return Tensor(data, parents=parents, vjp=vjp)\n"),),
            "records when nothing requires grad",
        ),
        (
            (
                (
                    "        return Tensor(data, requires_grad=True, parents=parents, vjp=vjp)",
                    "        return Tensor(data, parents=parents, vjp=vjp)",
                ),
            ),
            "result does not require grad when a parent does",
        ),
        (
            (
                (
                    "        if not any(parent.requires_grad for parent in parents):\n"
                    "            return Tensor(data)\n",
                    "",
                ),
            ),
            "result requires grad though no input does",
        ),
        (
            (("                if node.requires_grad:\n", "                if True:\n"),),
            "a .grad on a tensor that does not require grad",
        ),
    ],
)
def test_each_broken_rule_fails_with_its_diagnosis_in_the_visible_and_the_hidden_test(replace, diagnosis):
    broken = tensor(replace)
    with pytest.raises(CheckFailure) as caught:
        check_tensor_recording(broken, seed=5801)
    assert caught.value.diagnosis == diagnosis, str(caught.value)
    failures = []
    for requires in ((), ("a",)):
        try:
            check_tensor_recording(broken, "(a * b).sum()", {"a": (3,), "b": (3,)}, requires=requires)
        except CheckFailure as error:
            failures.append(error.diagnosis)
    assert diagnosis in failures


def test_a_tensor_without_weak_references_is_still_judged_on_flags_and_grads():
    slotted = tensor(
        (
            (
                "    __array_ufunc__ = None  # `array * tensor` calls Tensor.__rmul__\n",
                '    __slots__ = ("data", "requires_grad", "grad", "parents", "vjp")\n    __array_ufunc__ = None\n',
            ),
        )
    )
    check_tensor_recording(slotted, seed=5801)
    broken = tensor(
        (
            (
                "    __array_ufunc__ = None  # `array * tensor` calls Tensor.__rmul__\n",
                '    __slots__ = ("data", "requires_grad", "grad", "parents", "vjp")\n    __array_ufunc__ = None\n',
            ),
            ("                if node.requires_grad:\n", "                if True:\n"),
        )
    )
    with pytest.raises(CheckFailure) as caught:
        check_tensor_recording(broken, seed=5801)
    assert caught.value.diagnosis == "a .grad on a tensor that does not require grad"


def test_a_wrong_gradient_is_reported_without_a_recording_diagnosis():
    broken = tensor(
        (
            (
                "vjp=lambda g: (unbroadcast(g * other.data, self.shape), unbroadcast(g * self.data, other.shape)),",
                "vjp=lambda g: (unbroadcast(g * other.data, self.shape), unbroadcast(2 * g * self.data, other.shape)),",
            ),
        )
    )
    with pytest.raises(CheckFailure) as caught:
        check_tensor_recording(broken, "(a * b).sum()", {"a": (3,), "b": (3,)}, requires=("b",))
    # no recording diagnosis: only the relational fallback, b.grad twice the truth
    assert caught.value.diagnosis == "off by a constant factor" and "b.grad is wrong" in str(caught.value)


def test_the_stub_fails():
    stub = tensor(
        (
            (
                "        if not any(parent.requires_grad for parent in parents):\n",
                "        raise NotImplementedError()\n        if True:\n",
            ),
        )
    )
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_tensor_recording(stub, "(a * b).sum()", {"a": (3,), "b": (3,)}, requires=())
