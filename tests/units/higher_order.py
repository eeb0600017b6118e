"""Unit 07 (beyond the first derivative): named mistakes, correct alternatives and attacks."""

from autograder.checks.higher_order import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

HVP_BODY = """    leaves = [Var(Dual(float(xi), float(vi))) for xi, vi in zip(x, v, strict=True)]
    f(*leaves).backward()
    return np.array([leaf.grad.tangent if isinstance(leaf.grad, Dual) else 0.0 for leaf in leaves])"""

HVP_BY_FULL_HESSIAN = """    rows = []
    for i in range(len(x)):
        leaves = [Var(Dual(float(xj), 1.0 if j == i else 0.0)) for j, xj in enumerate(x)]
        f(*leaves).backward()
        rows.append([leaf.grad.tangent if isinstance(leaf.grad, Dual) else 0.0 for leaf in leaves])
    return np.array(rows) @ np.asarray(v, dtype=float)"""

CHECKPOINT_BODY = """    with no_grad():
        out = fn(*args)

    def vjp(g):
        leaves = [Var(a.value) for a in args]
        recomputed = fn(*leaves)
        recomputed.backward(g)
        return tuple(leaf.grad for leaf in leaves)"""

CHECKPOINT_KEEPS_GRAPH = """    leaves = [Var(a.value) for a in args]
    out = fn(*leaves)

    def vjp(g):
        out.backward(g)
        return tuple(leaf.grad for leaf in leaves)"""

MUTANTS = {
    # hvp
    "hvp_seeded_with_ones": Mutant(
        "hvp_code",
        (("Dual(float(xi), float(vi))", "Dual(float(xi), 1.0)"),),
        ("hvp",),
        diagnosis=mistakes.HVP_ONES,
    ),
    "hvp_returns_gradient_not_tangent": Mutant(
        "hvp_code",
        (("leaf.grad.tangent if", "leaf.grad.value if"),),
        ("hvp",),
        diagnosis=mistakes.HVP_GRADIENT,
    ),
    "hvp_by_full_hessian": Mutant(
        "hvp_code", ((HVP_BODY, HVP_BY_FULL_HESSIAN),), ("hvp",), diagnosis=mistakes.HVP_FULL_HESSIAN
    ),
    "hvp_output_seeded_with_tangent": Mutant(
        "hvp_code",
        (("f(*leaves).backward()", "f(*leaves).backward(Dual(1.0, 1.0))"),),
        ("hvp",),
        diagnosis=mistakes.HVP_OUTPUT_SEEDED,
    ),
    "hvp_assumes_every_grad_is_dual": Mutant(
        "hvp_code",
        (("leaf.grad.tangent if isinstance(leaf.grad, Dual) else 0.0 for", "leaf.grad.tangent for"),),
        ("hvp",),
        diagnosis=mistakes.HVP_PLAIN_GRAD,
    ),
    "hvp_two_backward_passes": Mutant(
        "hvp_code",
        (("    f(*leaves).backward()\n", "    out = f(*leaves)\n    out.backward()\n    out.backward()\n"),),
        ("hvp", "hessian", "newton_step"),
        diagnosis=mistakes.HVP_REPEATED_PASSES,
    ),
    # hessian
    "hessian_extra_hvp_for_size": Mutant(
        "hessian_code",
        (("n = len(x)", "n = len(hvp(f, x, np.zeros(len(x))))"),),
        ("hessian",),
        ("hvp",),
        diagnosis=mistakes.HESSIAN_EXTRA_PASS,
    ),
    "hessian_two_hvps_per_column": Mutant(
        "hessian_code",
        (("[hvp(f, x, np.eye(n)[j]) for j", "[(hvp(f, x, np.eye(n)[j]) + hvp(f, x, np.eye(n)[j])) / 2 for j"),),
        ("hessian",),
        ("hvp",),
        diagnosis=mistakes.HESSIAN_TWO_PER_COLUMN,
    ),
    "hessian_upper_triangle_only": Mutant(
        "hessian_code",
        (("return np.stack(columns, axis=1)", "return np.triu(np.stack(columns, axis=1))"),),
        ("hessian", "newton_step"),
        diagnosis=mistakes.HESSIAN_TRIANGLE,
    ),
    "hessian_ones_instead_of_unit_vectors": Mutant(
        "hessian_code",
        (("hvp(f, x, np.eye(n)[j])", "hvp(f, x, np.ones(n))"),),
        ("hessian",),
        diagnosis=mistakes.HESSIAN_ONES,
    ),
    # newton_step
    "newton_plus_sign": Mutant(
        "newton_code",
        (("return x - np.linalg.solve", "return x + np.linalg.solve"),),
        ("newton_step",),
        diagnosis=mistakes.NEWTON_PLUS,
    ),
    "newton_gradient_step": Mutant(
        "newton_code",
        (("return x - np.linalg.solve(hessian(f, x), gradient)", "return x - gradient"),),
        ("newton_step",),
        diagnosis=mistakes.NEWTON_GRADIENT,
    ),
    "newton_multiplies_by_hessian": Mutant(
        "newton_code",
        (("np.linalg.solve(hessian(f, x), gradient)", "hessian(f, x) @ gradient"),),
        ("newton_step",),
        diagnosis=mistakes.NEWTON_MULTIPLIED,
    ),
    # derivative (perturbation confusion)
    "derivative_untagged": Mutant(
        "derivative_code", (("tag = new_tag()", "tag = 0"),), ("derivative",), diagnosis=mistakes.CONFUSION
    ),
    "derivative_reads_any_tag": Mutant(
        "derivative_code",
        (("if isinstance(y, Dual) and y.tag == tag:", "if isinstance(y, Dual):"),),
        ("derivative",),
        diagnosis=mistakes.CONFUSION,
    ),
    "derivative_fails_on_constants": Mutant(
        "derivative_code",
        (
            (
                "    if isinstance(y, Dual) and y.tag == tag:\n        return y.tangent\n    return 0.0",
                "    return y.tangent",
            ),
        ),
        ("derivative",),
        diagnosis=(mistakes.CONSTANT_TANGENT, mistakes.CONFUSION),
    ),
    "derivative_drops_outer_tangent": Mutant(
        "derivative_code",
        (
            (
                "        return y.tangent\n",
                "        return y.tangent.value if isinstance(y.tangent, Dual) else y.tangent\n",
            ),
        ),
        ("derivative",),
        diagnosis=mistakes.DROPPED_OUTER_TANGENT,
    ),
    # no_grad
    "no_grad_never_restores": Mutant(
        "no_grad_code",
        (("    try:\n        yield\n    finally:\n        GradMode.enabled = previous", "    yield"),),
        ("no_grad", "checkpoint"),
        diagnosis=mistakes.NOT_RESUMED,
    ),
    "no_grad_not_restored_after_exception": Mutant(
        "no_grad_code",
        (
            (
                "    try:\n        yield\n    finally:\n        GradMode.enabled = previous",
                "    yield\n    GradMode.enabled = previous",
            ),
        ),
        ("no_grad",),
        diagnosis=mistakes.NOT_RESTORED_AFTER_RAISE,
    ),
    "no_grad_restores_true_when_nested": Mutant(
        "no_grad_code",
        (("GradMode.enabled = previous", "GradMode.enabled = True"),),
        ("no_grad",),
        diagnosis=mistakes.RESTORES_TRUE,
    ),
    "no_grad_swallows_exceptions": Mutant(
        "no_grad_code",
        (("        yield\n    finally:", "        yield\n    except Exception:\n        pass\n    finally:"),),
        ("no_grad",),
        diagnosis=mistakes.SWALLOWED,
    ),
    "no_grad_never_disables": Mutant(
        "no_grad_code",
        (("GradMode.enabled = False", "GradMode.enabled = True"),),
        ("no_grad", "checkpoint"),
        diagnosis=(mistakes.NEVER_DISABLED, mistakes.CHECKPOINT_FORWARD_RECORDS),
    ),
    # checkpoint
    "checkpoint_stores_everything": Mutant(
        "checkpoint_code",
        (("    return Var(out.value, args, vjp)", "    return fn(*args)"),),
        ("checkpoint",),
        diagnosis=mistakes.CHECKPOINT_STORES_ALL,
    ),
    "checkpoint_backward_seeded_with_one": Mutant(
        "checkpoint_code",
        (("recomputed.backward(g)", "recomputed.backward()"),),
        ("checkpoint",),
        diagnosis=mistakes.CHECKPOINT_SEEDED_ONE,
    ),
    "checkpoint_forward_records": Mutant(
        "checkpoint_code",
        (("    with no_grad():\n        out = fn(*args)", "    out = fn(*args)"),),
        ("checkpoint",),
        diagnosis=mistakes.CHECKPOINT_FORWARD_RECORDS,
    ),
    "checkpoint_keeps_forward_graph": Mutant(
        "checkpoint_code",
        ((CHECKPOINT_BODY, CHECKPOINT_KEEPS_GRAPH),),
        ("checkpoint",),
        diagnosis=(mistakes.CHECKPOINT_KEEPS_GRAPH, mistakes.CHECKPOINT_FORWARD_RECORDS),
    ),
    "checkpoint_leaves_recording_off": Mutant(
        "checkpoint_code",
        (("    with no_grad():\n        out = fn(*args)", "    GradMode.enabled = False\n    out = fn(*args)"),),
        ("checkpoint",),
        diagnosis=mistakes.CHECKPOINT_LEAVES_RECORDING_OFF,
    ),
    "checkpoint_recomputes_on_the_arguments": Mutant(
        "checkpoint_code",
        (("leaves = [Var(a.value) for a in args]", "leaves = list(args)"),),
        ("checkpoint",),
        diagnosis=mistakes.CHECKPOINT_ON_ARGUMENTS,
    ),
}

ALTERNATIVES = {
    # Loops and getattr, a Hessian assembled row by row into a preallocated matrix, the inverse
    # instead of a solve, a class-based no_grad with a stack, checkpoint on the plain values.
    "loops_inverse_and_classes": Alternative(
        {
            "hvp_code": """
def hvp(f, x, v):
    inputs = []
    for k in range(len(x)):
        inputs.append(Var(Dual(x[k], v[k])))
    y = f(*inputs)
    y.backward(1.0)
    result = np.zeros(len(inputs))
    for k, node in enumerate(inputs):
        result[k] = getattr(node.grad, "tangent", 0.0)
    return result
""",
            "hessian_code": """
def hessian(f, x):
    size = len(x)
    H = np.empty((size, size))
    for i in range(size):
        direction = [0.0] * size
        direction[i] = 1.0
        H[i, :] = hvp(f, x, direction)
    return H
""",
            "newton_code": """
def newton_step(f, x):
    point = [float(t) for t in x]
    nodes = [Var(t) for t in point]
    out = f(*nodes)
    out.backward()
    g = np.array([float(node.grad) for node in nodes])
    return np.array(point) - np.linalg.inv(hessian(f, point)) @ g
""",
            "derivative_code": """
def derivative(f, x):
    mine = new_tag()
    result = f(Dual(x, 1.0, mine))
    if not isinstance(result, Dual):
        return 0.0
    return result.tangent if result.tag == mine else 0.0
""",
            "no_grad_code": """
class no_grad:
    def __init__(self):
        self.saved = []

    def __enter__(self):
        self.saved.append(GradMode.enabled)
        GradMode.enabled = False
        return self

    def __exit__(self, kind, error, trace):
        GradMode.enabled = self.saved.pop()
        return False
""",
            "checkpoint_code": """
def checkpoint(fn, *args):
    value = fn(*[a.value for a in args])
    value = value.value if isinstance(value, Var) else value

    def backward_closure(g):
        fresh = tuple(Var(a.value) for a in args)
        fn(*fresh).backward(g)
        return [leaf.grad for leaf in fresh]

    return Var(value, list(args), backward_closure)
""",
        }
    ),
    # numpy scalars, lists of lists and tuples as results, a manual mode switch in checkpoint, a
    # generator no_grad that keeps a module-level stack, and a Hessian from rows via a comprehension.
    "lists_tuples_and_manual_switch": Alternative(
        {
            "hvp_code": """
def _tangent(d):
    return d.tangent if isinstance(d, Dual) else np.float64(0.0)


def hvp(f, x, v):
    leaves = tuple(Var(Dual(a, b)) for a, b in zip(np.asarray(x, dtype=float), np.asarray(v, dtype=float)))
    f(*leaves).backward()
    return [np.float64(_tangent(leaf.grad)) for leaf in leaves]
""",
            "hessian_code": """
def hessian(f, x):
    return [list(hvp(f, x, e)) for e in np.identity(len(x))]
""",
            "newton_code": """
def newton_step(f, x):
    x = np.array(x, dtype=float)
    xs = [Var(float(t)) for t in x]
    f(*xs).backward()
    g = np.array([n.grad for n in xs])
    H = np.array(hessian(f, x))
    return tuple(x - np.linalg.solve(H, g))
""",
            "derivative_code": """
def derivative(f, x):
    eps = new_tag()
    out = f(Dual(x, 1, eps))
    return out.tangent if isinstance(out, Dual) and out.tag == eps else np.float64(0)
""",
            "no_grad_code": """
from contextlib import contextmanager

_modes = []


@contextmanager
def no_grad():
    _modes.append(GradMode.enabled)
    GradMode.enabled = False
    try:
        yield None
    finally:
        GradMode.enabled = _modes.pop()
""",
            "checkpoint_code": """
def checkpoint(fn, *args):
    was = GradMode.enabled
    GradMode.enabled = False
    try:
        result = fn(*args)
    finally:
        GradMode.enabled = was

    def recompute(adjoint):
        copies = [Var(arg.value) for arg in args]
        out = fn(*copies)
        out.backward(adjoint)
        return tuple(c.grad for c in copies)

    return Var(result.value, parents=tuple(args), vjp=recompute)
""",
        }
    ),
    # The checkpoint node made as a leaf and given its parents and VJP afterwards (the tape engine
    # records a node when it gets parents, so this is as correct as Var(value, args, vjp)).
    "checkpoint_parents_set_afterwards": Alternative(
        {
            "checkpoint_code": """
def checkpoint(fn, *args):
    with no_grad():
        value = fn(*args).value
    node = Var(value)
    node.parents = tuple(args)

    def vjp(g):
        leaves = [Var(a.value) for a in args]
        fn(*leaves).backward(g)
        return tuple(leaf.grad for leaf in leaves)

    node.vjp = vjp
    return node
""",
        }
    ),
    # hessian and newton_step that also call f on plain floats (a scalar check, the value at x) besides
    # their reverse passes: the contract counts the passes there, not the calls of f (issue 17).
    "plain_calls_beside_the_passes": Alternative(
        {
            "hessian_code": """
def hessian(f, x):
    x = [float(t) for t in x]
    if np.ndim(f(*x)) != 0:  # on plain floats: f must return a scalar
        raise ValueError("hessian needs a scalar f")
    return np.column_stack([hvp(f, x, e) for e in np.eye(len(x))])
""",
            "newton_code": """
def newton_step(f, x):
    x = np.asarray(x, dtype=float)
    if not np.isfinite(f(*x)):  # the value at x, on plain floats
        raise ValueError("f(x) is not finite")
    leaves = [Var(t) for t in x]
    f(*leaves).backward()
    gradient = np.array([leaf.grad for leaf in leaves], dtype=float)
    return x - np.linalg.solve(hessian(f, x), gradient)
""",
        }
    ),
}

ATTACKS = {
    # Hessian-vector products from central differences of reverse-mode gradients: close in value,
    # but two reverse passes on plain floats, not one forward-over-reverse pass.
    "finite_differences_of_gradients": Attack(
        {
            "hvp_code": """
def _gradient(f, x):
    leaves = [Var(float(t)) for t in x]
    f(*leaves).backward()
    return np.array([float(leaf.grad) for leaf in leaves])


def hvp(f, x, v):
    x, v, h = np.asarray(x, dtype=float), np.asarray(v, dtype=float), 1e-5
    return (_gradient(f, x + h * v) - _gradient(f, x - h * v)) / (2 * h)
""",
            "hessian_code": """
def hessian(f, x):
    n = len(x)
    return np.stack([hvp(f, x, np.eye(n)[j]) for j in range(n)], axis=1)
""",
        },
        "HVPs and the Hessian by finite differences of gradients",
    ),
    "complex_step_derivative": Attack(
        {
            "derivative_code": """
def derivative(f, x):
    return np.imag(f(complex(x, 1e-20))) / 1e-20
""",
        },
        "nested derivatives by the complex step (it confuses perturbations too)",
    ),
    "patch_higher_order_checks": Attack(
        {
            "hvp_code": """
import numpy as np
import autograder.checks.higher_order as checks
import autograder.runtime as runtime
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
runtime.run_check = lambda observe, judge: None


def hvp(f, x, v):
    return np.zeros(len(x))
""",
        },
        "the checks of this unit replaced by no-ops",
    ),
}

UNIT = Unit("07_higher_order", MUTANTS, ALTERNATIVES, ATTACKS)
