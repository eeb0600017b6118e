# ruff: noqa: E501 - alternative solutions are kept as students would write them
"""Unit 05 (vector-Jacobian products and matrix calculus): named mistakes, correct alternatives and attacks."""

from autograder.checks.vjp import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

MUTANTS = {
    "quadratic_2Ax": Mutant(
        "quadratic_code",
        (("return (A + A.T) @ x", "return 2 * A @ x"),),
        ("quadratic_form_grad",),
        diagnosis=mistakes.TWO_A_X,
    ),
    "unbroadcast_leading_axes_only": Mutant(
        "unbroadcast_code",
        (("            g = g.sum(axis=axis, keepdims=True)", "            pass"),),
        ("unbroadcast", "tensor"),
        diagnosis=mistakes.SIZE_ONE_AXES_NOT_SUMMED,
    ),
    "tensor_mul_without_unbroadcast": Mutant(
        "tensor_code",
        (
            (
                "vjp=lambda g: (unbroadcast(g * other.data, self.shape), unbroadcast(g * self.data, other.shape)),",
                "vjp=lambda g: (g * other.data, g * self.data),",
            ),
        ),
        ("tensor",),
        diagnosis=mistakes.GRADIENT_NOT_UNBROADCAST,
    ),
    "matmul_transposed_dW": Mutant(
        "matmul_code", (("dW = X.T @ G", "dW = G.T @ X"),), ("matmul_vjp",), diagnosis=mistakes.DW_TRANSPOSED
    ),
    "linear_bias_not_summed": Mutant(
        "linear_code",
        (("db = dY.sum(axis=0)", "db = dY"),),
        ("linear_backward",),
        diagnosis=mistakes.DB_NOT_SUMMED,
    ),
    "softmax_without_max_subtraction": Mutant(
        "softmax_code",
        (("return z - z.max(axis=1, keepdims=True)", "return z"),),
        ("softmax_cross_entropy",),
        diagnosis=mistakes.NO_MAX_SHIFT,
    ),
    "solve_missing_transpose": Mutant(
        "solve_code",
        (("np.linalg.solve(A.T, gx)", "np.linalg.solve(A, gx)"),),
        ("solve_vjp",),
        diagnosis=mistakes.SOLVE_WITHOUT_TRANSPOSE,
    ),
    "tensor_records_without_grad": Mutant(
        "tensor_code",
        (("            return Tensor(data)\n", "            return Tensor(data, parents=parents, vjp=vjp)\n"),),
        ("tensor_recording",),
        keeps=("tensor",),
        diagnosis="records when nothing requires grad",
    ),
    "tensor_result_does_not_require_grad": Mutant(
        "tensor_code",
        (
            (
                "        return Tensor(data, requires_grad=True, parents=parents, vjp=vjp)",
                "        return Tensor(data, parents=parents, vjp=vjp)",
            ),
        ),
        ("tensor", "tensor_recording"),
        diagnosis="result does not require grad when a parent does",
    ),
    "tensor_always_records": Mutant(
        "tensor_code",
        (("        if not any(parent.requires_grad for parent in parents):\n            return Tensor(data)\n", ""),),
        ("tensor_recording",),
        keeps=("tensor",),
        diagnosis="result requires grad though no input does",
    ),
    "tensor_grad_without_requires_grad": Mutant(
        "tensor_code",
        (("                if node.requires_grad:\n", "                if True:\n"),),
        ("tensor_recording",),
        keeps=("tensor",),
        diagnosis="a .grad on a tensor that does not require grad",
    ),
    "svd_without_vt": Mutant(
        "svd_code",
        (("return U @ np.diag(s_bar) @ vh", "return U @ np.diag(s_bar)"),),
        ("svd_vjp",),
        diagnosis="Vᵀ left out",
    ),
    "svd_transposed": Mutant(
        "svd_code",
        (("return U @ np.diag(s_bar) @ vh", "return vh.T @ np.diag(s_bar) @ U.T"),),
        ("svd_vjp",),
        diagnosis="U and V swapped",
    ),
    "svd_s_bar_ignored": Mutant(
        "svd_code",
        (("return U @ np.diag(s_bar) @ vh", "return U @ vh"),),
        ("svd_vjp",),
        diagnosis="s̄ ignored",
    ),
    # issue 21: nothing is broadcast in (a @ b).sum(), so no hint about unbroadcast; the swap is named
    "tensor_matmul_adjoints_swapped": Mutant(
        "tensor_code",
        (("vjp=lambda g: (g @ other.data.T, self.data.T @ g)", "vjp=lambda g: (self.data.T @ g, g @ other.data.T)"),),
        ("tensor", "tensor_recording"),
        diagnosis=mistakes.ADJOINTS_SWAPPED,
    ),
    "matmul_pair_swapped": Mutant(
        "matmul_code",
        (("return dX, dW", "return dW, dX"),),
        ("matmul_vjp",),
        diagnosis=mistakes.MATMUL_PAIR_SWAPPED,
    ),
    "linear_pair_swapped": Mutant(
        "linear_code",
        (("return dX, dW, db", "return dW, dX, db"),),
        ("linear_backward",),
        diagnosis=mistakes.LINEAR_PAIR_SWAPPED,
    ),
    # the notebook says never to form A⁻¹: the check watches np.linalg.inv while solve_vjp runs
    "solve_with_inverse": Mutant(
        "solve_code",
        (("lam = np.linalg.solve(A.T, gx)", "lam = np.linalg.inv(A).T @ gx"),),
        ("solve_vjp",),
        diagnosis=mistakes.INVERSE_FORMED,
    ),
    "svd_vh_transposed_again": Mutant(
        "svd_code",
        (("return U @ np.diag(s_bar) @ vh", "return U @ np.diag(s_bar) @ vh.T"),),
        ("svd_vjp",),
        diagnosis="vh transposed again",
    ),
    # relational fallbacks (no probe of the check names these: kit/relations.py does, from the values)
    "linear_dW_doubled": Mutant(
        "linear_code",
        (("dW = X.T @ dY", "dW = 2 * X.T @ dY"),),
        ("linear_backward",),
        diagnosis="off by a constant factor",
    ),
    "linear_bias_of_the_first_example": Mutant(
        "linear_code",
        (("db = dY.sum(axis=0)", "db = dY[0]"),),
        ("linear_backward",),
        diagnosis="the first example only",
    ),
}

ALTERNATIVES = {
    # Loops instead of vectorized sums, einsum instead of @, a second-order log-sum-exp written out.
    "loops_and_einsum": Alternative(
        {
            "unbroadcast_code": """
import numpy as np


def unbroadcast(g, shape):
    out = np.array(g, dtype=float)
    extra = out.ndim - len(shape)
    axes = [i for i in range(out.ndim) if i < extra or shape[i - extra] == 1 and out.shape[i] != 1]
    for axis in reversed(axes):
        out = np.sum(out, axis=axis, keepdims=True)
    return np.reshape(out, shape)
""",
            "matmul_code": """
def matmul_vjp(X, W, G):
    return np.einsum("bm,nm->bn", G, W), np.einsum("bn,bm->nm", X, G)
""",
            "linear_code": """
def linear_backward(X, W, b, dY):
    dX = np.einsum("bo,io->bi", dY, W)
    dW = np.einsum("bi,bo->io", X, dY)
    db = np.zeros_like(np.asarray(b, dtype=float))
    for row in dY:
        db = db + row
    return (dX, dW, db)
""",
            "quadratic_code": """
def quadratic_form_grad(A, x):
    return A @ x + A.T @ x
""",
            "softmax_code": """
def softmax_cross_entropy(logits, labels):
    total = 0.0
    for row, label in zip(np.asarray(logits, dtype=float), labels):
        m = row.max()
        total += m + np.log(np.sum(np.exp(row - m))) - row[int(label)]
    return total / len(labels)


def softmax_cross_entropy_vjp(logits, labels):
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    onehot = np.eye(z.shape[1])[np.asarray(labels)]
    return (e / e.sum(axis=-1, keepdims=True) - onehot) / z.shape[0]
""",
            "solve_code": """
def solve_vjp(A, b, x, gx):
    db = np.linalg.solve(np.transpose(A), gx)
    dA = -db[:, None] * x[None, :]
    return [dA, db]
""",
        }
    ),
    # A Tensor written differently: grads accumulated on every node, a stack-based topological
    # order, operations through one helper, numbers lifted inline.
    "tensor_with_node_grads": Alternative(
        {
            "tensor_code": """
class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        self.data = np.array(data, dtype=float)
        self.requires_grad = requires_grad
        self.grad = None
        self._prev = []
        self._back = None

    @staticmethod
    def _make(data, prev, back):
        t = Tensor(data)
        if any(p.requires_grad for p in prev):
            t.requires_grad, t._prev, t._back = True, prev, back
        return t

    @staticmethod
    def _t(o):
        return o if isinstance(o, Tensor) else Tensor(o)

    def __add__(self, o):
        o = Tensor._t(o)
        return Tensor._make(self.data + o.data, [self, o], lambda g: [unbroadcast(g, self.data.shape), unbroadcast(g, o.data.shape)])

    __radd__ = __add__

    def __sub__(self, o):
        o = Tensor._t(o)
        return Tensor._make(self.data - o.data, [self, o], lambda g: [unbroadcast(g, self.data.shape), unbroadcast(-g, o.data.shape)])

    def __rsub__(self, o):
        return Tensor._t(o) - self

    def __mul__(self, o):
        o = Tensor._t(o)
        return Tensor._make(self.data * o.data, [self, o], lambda g: [unbroadcast(g * o.data, self.data.shape), unbroadcast(g * self.data, o.data.shape)])

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self * Tensor._t(o) ** -1

    def __rtruediv__(self, o):
        return Tensor._t(o) * self ** -1

    def __pow__(self, n):
        return Tensor._make(self.data**n, [self], lambda g: [g * n * self.data ** (n - 1)])

    def __matmul__(self, o):
        return Tensor._make(np.einsum("ij,jk->ik", self.data, o.data), [self, o], lambda g: [np.einsum("ik,jk->ij", g, o.data), np.einsum("ij,ik->jk", self.data, g)])

    def sum(self, axis=None):
        def back(g):
            return [np.broadcast_to(g if axis is None else np.expand_dims(g, axis), self.data.shape).copy()]
        return Tensor._make(np.sum(self.data, axis=axis), [self], back)

    def mean(self):
        return self.sum() * (1.0 / self.data.size)

    def exp(self):
        e = np.exp(self.data)
        return Tensor._make(e, [self], lambda g: [g * e])

    def log(self):
        return Tensor._make(np.log(self.data), [self], lambda g: [g / self.data])

    def tanh(self):
        t = np.tanh(self.data)
        return Tensor._make(t, [self], lambda g: [g / np.cosh(self.data) ** 2])

    def relu(self):
        return Tensor._make(np.where(self.data > 0, self.data, 0.0), [self], lambda g: [np.where(self.data > 0, g, 0.0)])

    def reshape(self, shape):
        return Tensor._make(self.data.reshape(shape), [self], lambda g: [g.reshape(self.data.shape)])

    @property
    def T(self):
        return Tensor._make(np.transpose(self.data), [self], lambda g: [np.transpose(g)])

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        for node in order:
            node.grad = None
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            if node._back is None or node.grad is None:
                continue
            for p, g in zip(node._prev, node._back(node.grad)):
                if p.requires_grad:
                    p.grad = g if p.grad is None else p.grad + g
""",
        }
    ),
    # The SVD with full matrices, sliced; a Tensor that keeps only the parents that require grad, each
    # with its own VJP (so a constant operand is not even referenced), and a one-argument reshape.
    "svd_full_and_tensor_keeping_grad_parents": Alternative(
        {
            "svd_code": """
def svd_vjp(A, s_bar):
    u, s, vt = np.linalg.svd(np.array(A, dtype=float))
    k = s.shape[0]
    return np.einsum("ik,k,kj->ij", u[:, :k], np.asarray(s_bar, dtype=float), vt[:k, :])
""",
            "tensor_code": """
class Tensor:
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, edges=()):
        self.data = np.asarray(data, dtype=float)
        self.requires_grad = bool(requires_grad or edges)
        self.edges = tuple(edges)  # (parent, vjp for that parent) for the parents that require grad
        self.grad = None

    @property
    def shape(self):
        return self.data.shape

    @staticmethod
    def op(data, *pairs):
        return Tensor(data, edges=[(p, f) for p, f in pairs if p.requires_grad])

    @staticmethod
    def lift(o):
        return o if isinstance(o, Tensor) else Tensor(o)

    def __add__(self, o):
        o = Tensor.lift(o)
        return Tensor.op(self.data + o.data, (self, lambda g: unbroadcast(g, self.shape)), (o, lambda g: unbroadcast(g, o.shape)))

    def __radd__(self, o):
        return Tensor.lift(o) + self

    def __sub__(self, o):
        o = Tensor.lift(o)
        return Tensor.op(self.data - o.data, (self, lambda g: unbroadcast(g, self.shape)), (o, lambda g: -unbroadcast(g, o.shape)))

    def __rsub__(self, o):
        return Tensor.lift(o) - self

    def __neg__(self):
        return 0.0 - self

    def __mul__(self, o):
        o = Tensor.lift(o)
        return Tensor.op(self.data * o.data, (self, lambda g: unbroadcast(g * o.data, self.shape)), (o, lambda g: unbroadcast(g * self.data, o.shape)))

    def __rmul__(self, o):
        return Tensor.lift(o) * self

    def __truediv__(self, o):
        o = Tensor.lift(o)
        return Tensor.op(self.data / o.data, (self, lambda g: unbroadcast(g / o.data, self.shape)), (o, lambda g: unbroadcast(-g * self.data / o.data**2, o.shape)))

    def __rtruediv__(self, o):
        return Tensor.lift(o) / self

    def __matmul__(self, o):
        o = Tensor.lift(o)
        return Tensor.op(self.data @ o.data, (self, lambda g: g @ o.data.T), (o, lambda g: self.data.T @ g))

    def sum(self, axis=None):
        return Tensor.op(self.data.sum(axis=axis), (self, lambda g: np.broadcast_to(g if axis is None else np.expand_dims(g, axis), self.shape).copy()))

    def mean(self):
        return Tensor.op(self.data.mean(), (self, lambda g: np.full(self.shape, g / self.data.size)))

    def exp(self):
        e = np.exp(self.data)
        return Tensor.op(e, (self, lambda g: g * e))

    def log(self):
        return Tensor.op(np.log(self.data), (self, lambda g: g / self.data))

    def tanh(self):
        t = np.tanh(self.data)
        return Tensor.op(t, (self, lambda g: g * (1.0 - t * t)))

    def relu(self):
        return Tensor.op(np.maximum(self.data, 0.0), (self, lambda g: g * (self.data > 0)))

    def reshape(self, shape):
        return Tensor.op(self.data.reshape(shape), (self, lambda g: g.reshape(self.shape)))

    @property
    def T(self):
        return Tensor.op(self.data.T, (self, lambda g: g.T))

    def backward(self):
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for p, _ in t.edges:
                visit(p)
            order.append(t)

        visit(self)
        adjoint = {id(self): np.ones_like(self.data)}
        for t in reversed(order):
            g = adjoint.pop(id(t), None)
            if g is None:
                continue
            if not t.edges:
                t.grad = g if t.grad is None else t.grad + g
            for p, f in t.edges:
                adjoint[id(p)] = f(g) + adjoint.get(id(p), 0.0)
""",
        }
    ),
}

ATTACKS = {
    # Correct-looking answers from the grader's own finite differences: they fail the exactness
    # criterion (integer-valued inputs, where the matrix formulas are exact in floating point and
    # fourth-order differences are off by the rounding error of f divided by h).
    "finite_differences_instead_of_formulas": Attack(
        {
            "matmul_code": """
from autograder.finite_differences import central_gradient


def matmul_vjp(X, W, G):
    return (central_gradient(lambda x: np.sum(G * (x @ W)), X), central_gradient(lambda w: np.sum(G * (X @ w)), W))
""",
            "linear_code": """
from autograder.finite_differences import central_gradient


def linear_backward(X, W, b, dY):
    f = lambda x, w, c: np.sum(dY * (x @ w + c))
    return (
        central_gradient(lambda x: f(x, W, b), X),
        central_gradient(lambda w: f(X, w, b), W),
        central_gradient(lambda c: f(X, W, c), b),
    )
""",
            "quadratic_code": """
from autograder.finite_differences import central_gradient


def quadratic_form_grad(A, x):
    return central_gradient(lambda v: v @ A @ v, x)
""",
        },
        "VJPs by autograder.finite_differences.central_gradient instead of the matrix formulas",
    ),
    "patch_vjp_checks": Attack(
        {
            "unbroadcast_code": """
import numpy as np
import autograder.checks.vjp as checks
import autograder.runtime as runtime
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
runtime.run_check = lambda observe, judge: None


def unbroadcast(g, shape):
    return np.zeros(shape)
""",
        },
        "the checks of this unit replaced by no-ops",
    ),
}

UNIT = Unit("05_vjp", MUTANTS, ALTERNATIVES, ATTACKS)
