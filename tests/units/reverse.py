"""Unit 04 (reverse mode on scalars): named mistakes, correct alternatives and tamper attacks."""

from autograder.checks.reverse import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

ITERATIVE_BACKWARD = """        order = self.topological_order()
        for node in order:
            if node.parents:  # an inner node: its adjoint starts from 0 in every pass
                node.grad = 0.0
        self.grad += grad
        for node in reversed(order):
            for parent, local in node.parents:
                parent.grad += local * node.grad"""
LECTURE_BACKWARD = """        self.grad = grad
        for parent, local in self.parents:
            parent.backward(local * grad)"""
ITERATIVE_SORT = """        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                for parent, _ in node.parents:
                    stack.append((parent, False))
        return order"""
RECURSIVE_SORT = """        order, visited = [], set()

        def visit(node):
            if id(node) not in visited:
                visited.add(id(node))
                for parent, _ in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        return order"""

MUTANTS = {
    # --- backward
    "naive_recursion": Mutant(
        "var_code",
        ((ITERATIVE_BACKWARD, LECTURE_BACKWARD),),
        ("var_arithmetic", "backward_graph", "grad"),
        diagnosis=(mistakes.OVERWRITTEN, mistakes.RECURSIVE),
    ),
    "overwrite_instead_of_accumulate": Mutant(
        "var_code",
        (("parent.grad += local * node.grad", "parent.grad = local * node.grad"),),
        ("var_arithmetic", "backward_graph"),
        diagnosis=mistakes.OVERWRITTEN,
    ),
    "recursive_topological_sort": Mutant(
        "var_code", ((ITERATIVE_SORT, RECURSIVE_SORT),), ("backward_graph",), diagnosis=mistakes.RECURSIVE
    ),
    "leaves_reset_on_each_backward": Mutant(
        "var_code",
        (("if node.parents:", "if True:"),),
        ("backward_graph",),
        ("var_arithmetic", "grad"),
        diagnosis=mistakes.LEAVES_RESET,
    ),
    "inner_nodes_not_reset": Mutant(
        "var_code",
        (("                node.grad = 0.0\n        self.grad", "                pass\n        self.grad"),),
        ("backward_graph",),
        diagnosis=mistakes.INNER_NOT_RESET,
    ),
    # --- local derivatives
    "swapped_product_locals": Mutant(
        "var_code",
        (("((self, other.value), (other, self.value))", "((self, self.value), (other, other.value))"),),
        ("var_arithmetic", "var_functions"),
        diagnosis=mistakes.PRODUCT_LOCALS_SWAPPED,
    ),
    "subtraction_sign": Mutant(
        "var_code",
        (("(other, -1.0)", "(other, 1.0)"),),
        ("var_arithmetic",),
        diagnosis=mistakes.SUBTRACTION_PLUS,
    ),
    "division_sign": Mutant(
        "var_code",
        (("-self.value / other.value**2", "self.value / other.value**2"),),
        ("var_arithmetic",),
        diagnosis=mistakes.DIVISION_PLUS,
    ),
    "rtruediv_direction": Mutant(
        "var_code",
        (("return lift(other) / self", "return self / lift(other)"),),
        ("var_arithmetic",),
        diagnosis=mistakes.RTRUEDIV_SWAPPED,
    ),
    "exp_local_derivative": Mutant(
        "functions_code",
        (("((x, e),)", "((x, x.value),)"),),
        ("var_functions",),
        diagnosis=mistakes.EXP_ARGUMENT,
    ),
    "cos_sign": Mutant(
        "functions_code",
        (("((x, -np.sin(x.value)),)", "((x, np.sin(x.value)),)"),),
        ("var_functions",),
        diagnosis=mistakes.sign_flipped("cos"),
    ),
    # --- the trace
    "trace_overwrites_shared_adjoint": Mutant(
        "trace_code",
        (("bar_v0 = bar_v0 + bar_v2 * v_m1", "bar_v0 = bar_v2 * v_m1"),),
        ("reverse_trace",),
        diagnosis=mistakes.ADJOINT_OVERWRITTEN,
    ),
    "trace_minus_sign": Mutant(
        "trace_code", (("bar_v3 = -bar_v5", "bar_v3 = bar_v5"),), ("reverse_trace",), diagnosis=mistakes.ADJOINT_SIGN
    ),
    # --- drivers
    "grad_returns_values": Mutant(
        "grad_code",
        (("[leaf.grad for leaf", "[leaf.value for leaf"),),
        ("grad",),
        diagnosis=mistakes.VALUES_NOT_GRADS,
    ),
    "grad_by_central_difference": Mutant(
        "grad_code",
        (
            (
                "        leaves = [Var(x) for x in xs]\n        out = f(*leaves)\n        out.backward()\n"
                "        return np.array([leaf.grad for leaf in leaves], dtype=float)",
                "        h = 1e-6\n        xs = np.array(xs, dtype=float)\n"
                "        return np.array([(f(*(xs + h * e)) - f(*(xs - h * e))) / (2 * h) "
                "for e in np.eye(len(xs))])",
            ),
        ),
        ("grad",),
        diagnosis=mistakes.FINITE_DIFFERENCES,
    ),
    "vjp_ignores_u": Mutant(
        "vjp_code", (("total = total + ui * yi", "total = total + yi"),), ("vjp",), diagnosis=mistakes.U_IGNORED
    ),
    "vjp_one_pass_per_output": Mutant(
        "vjp_code",
        (
            (
                "    total = 0.0\n    for ui, yi in zip(u, outputs, strict=True):\n        total = total + ui * yi\n"
                "    total.backward()\n",
                "    for ui, yi in zip(u, outputs, strict=True):\n        yi.backward(ui)\n",
            ),
        ),
        ("vjp",),
        diagnosis=mistakes.PASS_PER_OUTPUT,
    ),
    "jacobian_transposed": Mutant(
        "jacobian_code", (("axis=0", "axis=1"),), ("jacobian_reverse",), diagnosis=mistakes.TRANSPOSED
    ),
    "jacobian_no_reset_between_passes": Mutant(
        "jacobian_code",
        (("        for leaf in leaves:\n            leaf.grad = 0.0\n", ""),),
        ("jacobian_reverse",),
        diagnosis=mistakes.LEAVES_NOT_RESET,
    ),
    # --- comparisons by value, and programs with loops and branches on the value
    "eq_by_identity": Mutant(
        "var_code",
        (("return self.value == lift(other).value", "return self is other"),),
        ("programs",),
        ("var_arithmetic", "grad"),
        diagnosis="== by object identity",
    ),
    "comparison_returns_var": Mutant(
        "var_code",
        (("return self.value > lift(other).value", "return Var(self.value > lift(other).value)"),),
        ("programs",),
        ("var_arithmetic", "grad"),
        diagnosis="a comparison that returns a Var",
    ),
    # --- the Jacobian chain
    "chain_cost_counts_flops": Mutant(
        "chain_code",
        (("cost_left + cost_right + rows * inner * columns", "cost_left + cost_right + 2 * rows * inner * columns"),),
        ("jacobian_chain",),
        diagnosis="twice the multiplications",
    ),
    "chain_cost_last_product_only": Mutant(
        "chain_code",
        (("return cost_left + cost_right + rows * inner * columns", "return rows * inner * columns"),),
        ("jacobian_chain",),
        diagnosis="only the last product counted",
    ),
    "forward_cost_is_reverse": Mutant(
        "chain_code",
        (
            (
                "return sum(dims[0] * dims[i] * dims[i - 1] for i in range(2, len(dims)))",
                "return sum(dims[-1] * dims[i] * dims[i - 1] for i in range(1, len(dims) - 1))",
            ),
        ),
        ("jacobian_chain",),
        diagnosis="forward and reverse swapped",
    ),
    "cheapest_pure_modes_only": Mutant(
        "chain_code",
        (
            (
                "    return best(len(dims) - 1, 1)",
                "    k = len(dims) - 1\n"
                "    forward, reverse = 1, k\n"
                "    for i in range(2, k + 1):\n"
                "        forward = (i, forward)\n"
                "    for i in range(k - 1, 0, -1):\n"
                "        reverse = (reverse, i)\n"
                "    return min(((bracketing_cost(dims, b), b) for b in (forward, reverse)), key=lambda o: o[0])",
            ),
        ),
        ("jacobian_chain",),
        diagnosis="only forward and reverse compared",
    ),
    "cheapest_split_off_by_one": Mutant(
        "chain_code",
        (("dims[hi] * dims[split - 1] * dims[lo - 1]", "dims[hi] * dims[split] * dims[lo - 1]"),),
        ("jacobian_chain",),
    ),
    # --- calls of f on plain numbers: counted where the contract says "one call" (grad, vjp), and a
    # Jacobian must come from the passes on Vars, not from f's values at shifted points
    "vjp_extra_call_for_the_value": Mutant(
        "vjp_code",
        (
            (
                "values = np.array([y.value if isinstance(y, Var) else y for y in outputs], dtype=float)",
                "values = np.array(f(*x), dtype=float)",
            ),
        ),
        ("vjp",),
        diagnosis=mistakes.EXTRA_CALL,
    ),
    "jacobian_differences_beside_the_passes": Mutant(
        "jacobian_code",
        (
            (
                "    return np.stack(rows, axis=0)",
                "    h, xs = 1e-6, np.array(x, dtype=float)\n"
                "    columns = [(np.array(f(*(xs + h * e)), dtype=float) - np.array(f(*(xs - h * e)), dtype=float))"
                " / (2 * h) for e in np.eye(len(xs))]\n"
                "    return np.stack(columns, axis=1)",
            ),
        ),
        ("jacobian_reverse",),
        diagnosis=mistakes.FINITE_DIFFERENCES,
    ),
}

ALTERNATIVES = {
    # Closures per operation (micrograd style), Kahn's algorithm for the order, a factory for the
    # functions, lists returned, a Jacobian built with one call of f per output.
    "closures_and_kahn": Alternative(
        {
            "var_code": """
import math
import operator
from collections import deque

import numpy as np


def _as_var(c):
    return c if isinstance(c, Var) else Var(c)


class Var:
    def __init__(self, value, _children=()):
        self.value = value
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def _make(self, value, children, local):
        out = Var(value, children)

        def step():
            for child, d in zip(children, local):
                child.grad += d * out.grad

        out._backward = step
        return out

    def __add__(self, other):
        other = _as_var(other)
        return self._make(self.value + other.value, (self, other), (1.0, 1.0))

    __radd__ = __add__

    # Comparisons by value through the operator module; nodes are never hashed here (id() everywhere).
    def _compare(self, other, op):
        return op(self.value, _as_var(other).value)

    def __lt__(self, other): return self._compare(other, operator.lt)
    def __gt__(self, other): return self._compare(other, operator.gt)
    def __le__(self, other): return self._compare(other, operator.le)
    def __ge__(self, other): return self._compare(other, operator.ge)
    def __eq__(self, other): return self._compare(other, operator.eq)

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-_as_var(other))

    def __rsub__(self, other):
        return _as_var(other) + (-self)

    def __mul__(self, other):
        other = _as_var(other)
        return self._make(self.value * other.value, (self, other), (other.value, self.value))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self * _as_var(other) ** -1

    def __rtruediv__(self, other):
        return _as_var(other) * self**-1

    def __pow__(self, other):
        if isinstance(other, Var):
            power = self.value**other.value
            return self._make(power, (self, other), (power * other.value / self.value, power * math.log(self.value)))
        return self._make(self.value**other, (self,), (other * self.value ** (other - 1),))

    def __rpow__(self, other):
        return self._make(other**self.value, (self,), (other**self.value * math.log(other),))

    def _nodes(self):
        seen, todo, nodes = {id(self)}, [self], []
        while todo:
            node = todo.pop()
            nodes.append(node)
            for child in node._prev:
                if id(child) not in seen:
                    seen.add(id(child))
                    todo.append(child)
        return nodes

    def backward(self, grad=1.0):
        nodes = self._nodes()
        uses = {id(n): 0 for n in nodes}
        for n in nodes:
            for child in n._prev:
                uses[id(child)] += 1
            if n._prev:
                n.grad = 0.0
        self.grad = self.grad + grad
        ready = deque([self])
        while ready:
            node = ready.popleft()
            node._backward()
            for child in node._prev:
                uses[id(child)] -= 1
                if uses[id(child)] == 0:
                    ready.append(child)

    def zero_grad(self):
        for n in self._nodes():
            n.grad = 0.0
""",
            "functions_code": """
def _unary(g, dg):
    def h(x):
        if isinstance(x, Var):
            return x._make(g(x.value), (x,), (dg(x.value),))
        return g(x)

    return h


sin = _unary(np.sin, np.cos)
cos = _unary(np.cos, lambda a: -np.sin(a))
tan = _unary(np.tan, lambda a: 1 + np.tan(a) ** 2)
exp = _unary(np.exp, np.exp)
log = _unary(np.log, lambda a: 1 / a)
sqrt = _unary(np.sqrt, lambda a: 0.5 / np.sqrt(a))
tanh = _unary(np.tanh, lambda a: 1 / np.cosh(a) ** 2)
relu = _unary(lambda a: a * (a > 0), lambda a: float(a > 0))
""",
            "trace_code": """
def adjoint_trace(x1, x2, ybar=1.0):
    a, b = Var(x1), Var(x2)
    v1 = log(a)
    v2 = a * b
    v3 = sin(b)
    v4 = v1 + v2
    v5 = v4 - v3
    v5.backward(ybar)
    names = ["v_-1", "v_0", "v_1", "v_2", "v_3", "v_4", "v_5", "y_1"]
    return dict(zip(names, [n.grad for n in (a, b, v1, v2, v3, v4, v5, v5)]))
""",
            "grad_code": """
def grad(f):
    def g(*xs):
        inputs = list(map(Var, xs))
        f(*inputs).backward()
        return [v.grad for v in inputs]
    return g
""",
            "vjp_code": """
def vjp(f, x, u):
    inputs = [Var(float(v)) for v in x]
    ys = f(*inputs)
    loss = sum(w * y for w, y in zip(u, ys))
    loss.backward()
    return [y.value for y in ys], [v.grad for v in inputs]
""",
            "jacobian_code": """
def jacobian_reverse(f, x):
    J = []
    i = 0
    while True:
        inputs = [Var(v) for v in x]
        ys = f(*inputs)
        ys[i].backward()
        J.append([v.grad for v in inputs])
        i += 1
        if i == len(ys):
            return np.array(J)
""",
        }
    ),
    # A VJP table keyed by the operation name, adjoints in a dict during the pass, and an explicit
    # stack DFS written with an iterator per node.
    "vjp_table_and_adjoint_dict": Alternative(
        {
            "var_code": """
import numpy as np

VJPS = {
    "add": lambda a, b, g: (g, g),
    "sub": lambda a, b, g: (g, -g),
    "mul": lambda a, b, g: (g * b, g * a),
    "div": lambda a, b, g: (g / b, -g * a / (b * b)),
    "pow": lambda a, b, g: (g * b * a ** (b - 1), g * a**b * np.log(a) if a > 0 else 0.0),
}


class Var:
    def __init__(self, value, op=None, inputs=()):
        self.value, self.op, self.inputs, self.grad = value, op, inputs, 0.0

    @staticmethod
    def wrap(c):
        return c if isinstance(c, Var) else Var(c)

    def _binary(self, other, op, value, swap=False):
        a, b = (Var.wrap(other), self) if swap else (self, Var.wrap(other))
        return Var(value(a.value, b.value), op, (a, b))

    def __add__(self, o): return self._binary(o, "add", lambda a, b: a + b)
    def __radd__(self, o): return self._binary(o, "add", lambda a, b: a + b, True)
    def __sub__(self, o): return self._binary(o, "sub", lambda a, b: a - b)
    def __rsub__(self, o): return self._binary(o, "sub", lambda a, b: a - b, True)
    def __mul__(self, o): return self._binary(o, "mul", lambda a, b: a * b)
    def __rmul__(self, o): return self._binary(o, "mul", lambda a, b: a * b, True)
    def __truediv__(self, o): return self._binary(o, "div", lambda a, b: a / b)
    def __rtruediv__(self, o): return self._binary(o, "div", lambda a, b: a / b, True)
    def __pow__(self, o): return self._binary(o, "pow", lambda a, b: a**b)
    def __rpow__(self, o): return self._binary(o, "pow", lambda a, b: a**b, True)
    def __neg__(self): return self * -1.0
    def __lt__(self, o): return float(self.value) < float(Var.wrap(o).value)
    def __gt__(self, o): return float(self.value) > float(Var.wrap(o).value)
    def __le__(self, o): return not self > o
    def __ge__(self, o): return not self < o
    def __eq__(self, o): return float(self.value) == float(Var.wrap(o).value)
    __hash__ = object.__hash__

    def _order(self):
        order, done, stack = [], set(), [(self, iter(self.inputs))]
        done.add(id(self))
        while stack:
            node, parents = stack[-1]
            for p in parents:
                if id(p) not in done:
                    done.add(id(p))
                    stack.append((p, iter(p.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self, grad=1.0):
        order = self._order()
        adjoint = {id(n): 0.0 for n in order}
        adjoint[id(self)] = grad
        for node in reversed(order):
            g = adjoint[id(node)]
            if node.inputs:
                node.grad = g
                values = [p.value for p in node.inputs]
                if node.op in VJPS:
                    shares = VJPS[node.op](*values, g)
                else:
                    shares = (g * node.op(*values),)
                for p, s in zip(node.inputs, shares):
                    adjoint[id(p)] += s
            else:
                node.grad += g

    def zero_grad(self):
        for n in self._order():
            n.grad = 0.0
""",
            "functions_code": """
def _function(g, dg):
    def h(x):
        return Var(g(x.value), dg, (x,)) if isinstance(x, Var) else g(x)
    return h


sin = _function(np.sin, np.cos)
cos = _function(np.cos, lambda a: -np.sin(a))
tan = _function(np.tan, lambda a: 1 / np.cos(a) ** 2)
exp = _function(np.exp, np.exp)
log = _function(np.log, lambda a: 1 / a)
sqrt = _function(np.sqrt, lambda a: 0.5 / np.sqrt(a))
tanh = _function(np.tanh, lambda a: 1 - np.tanh(a) ** 2)
relu = _function(lambda a: np.maximum(a, 0.0), lambda a: np.where(a > 0, 1.0, 0.0))
""",
            "jacobian_code": """
def jacobian_reverse(f, x):
    leaves = [Var(v) for v in x]
    ys = f(*leaves)
    J = np.zeros((len(ys), len(leaves)))
    for i, y in enumerate(ys):
        y.backward()
        J[i] = [leaf.grad for leaf in leaves]
        for leaf in leaves:
            leaf.grad = 0.0
    return J
""",
        }
    ),
    # The Jacobian chain bottom-up: a table over chain lengths, bracketings as lists, costs by a stack
    # machine, the two modes through bracketing_cost; grad returning a list of grads.
    "chain_table_and_list_grad": Alternative(
        {
            "chain_code": """
def bracketing_cost(dims, bracketing):
    total, stack = 0, [bracketing]
    while stack:
        part = stack.pop()
        if isinstance(part, (list, tuple)):
            left, right = part
            total += shape(dims, left)[0] * shape(dims, left)[1] * shape(dims, right)[1]
            stack.extend([left, right])
    return total


def shape(dims, part):
    if not isinstance(part, (list, tuple)):
        return dims[part], dims[part - 1]
    return shape(dims, part[0])[0], shape(dims, part[1])[1]


def forward_cost(dims):
    order = 1
    for i in range(2, len(dims)):
        order = [i, order]
    return bracketing_cost(dims, order)


def reverse_cost(dims):
    k = len(dims) - 1
    order = k
    for i in range(k - 1, 0, -1):
        order = [order, i]
    return bracketing_cost(dims, order)


def cheapest_bracketing(dims):
    k = len(dims) - 1
    table = {(i, i): (0, i) for i in range(1, k + 1)}
    for length in range(2, k + 1):
        for lo in range(1, k - length + 2):
            hi = lo + length - 1
            options = [
                (
                    table[hi, s][0] + table[s - 1, lo][0] + dims[hi] * dims[s - 1] * dims[lo - 1],
                    [table[hi, s][1], table[s - 1, lo][1]],
                )
                for s in range(lo + 1, hi + 1)
            ]
            table[hi, lo] = min(options, key=lambda option: option[0])
    cost, order = table[k, 1]
    return int(cost), order
""",
            "grad_code": """
def grad(f):
    def gradient(*xs):
        leaves = list(map(Var, xs))
        f(*leaves).backward()
        return [leaf.grad for leaf in leaves]

    return gradient
""",
        }
    ),
    # f called once on the plain numbers x, only to learn m, then m reverse passes on fresh Vars, one
    # call of f on Vars per pass: the contract counts the reverse passes (issue 17).
    "jacobian_learns_m_from_plain_numbers": Alternative(
        {
            "jacobian_code": """
def jacobian_reverse(f, x):
    m = len(f(*x))  # plain floats: only the number of outputs
    J = np.zeros((m, len(x)))
    for i in range(m):
        leaves = [Var(float(v)) for v in x]
        outputs = f(*leaves)
        outputs[i].backward()
        J[i] = [leaf.grad for leaf in leaves]
    return J
""",
        }
    ),
}

NUMPY_FUNCTIONS = """
import numpy as np
sin, cos, tan, exp, log, sqrt, tanh = np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh
relu = lambda x: np.maximum(x, 0.0)
"""

ATTACKS = {
    # Gradients from the grader's own finite differences: f is called on floats, never on Vars.
    "finite_differences_instead_of_reverse": Attack(
        {
            "functions_code": NUMPY_FUNCTIONS,
            "grad_code": """
from autograder.finite_differences import central_gradient

def grad(f):
    return lambda *xs: central_gradient(lambda v: f(*v), np.array(xs, dtype=float), h=1e-3)
""",
            "vjp_code": """
from autograder.finite_differences import central_jacobian

def vjp(f, x, u):
    g = lambda v: np.array(f(*v), dtype=float)
    x = np.array(x, dtype=float)
    return g(x), np.array(u) @ central_jacobian(g, x, h=1e-3)
""",
            "jacobian_code": """
from autograder.finite_differences import central_jacobian

def jacobian_reverse(f, x):
    return central_jacobian(lambda v: np.array(f(*v), dtype=float), np.array(x, dtype=float), h=1e-3)
""",
        },
        "gradients by fourth-order central differences; f never sees a Var",
    ),
    # A Var whose backward does nothing, with the grader's oracles patched in the kernel to agree.
    "patch_oracles_to_agree": Attack(
        {
            "var_code": """
import numpy as np
import autograder.sympy_oracle as oracle

class Var:
    def __init__(self, value, parents=()):
        self.value, self.grad = value, 0.0
    def _op(self, other, op):
        return Var(op(self.value, other.value if isinstance(other, Var) else other))
    def __add__(self, o): return self._op(o, lambda a, b: a + b)
    def __radd__(self, o): return self._op(o, lambda a, b: b + a)
    def __sub__(self, o): return self._op(o, lambda a, b: a - b)
    def __rsub__(self, o): return self._op(o, lambda a, b: b - a)
    def __mul__(self, o): return self._op(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._op(o, lambda a, b: b * a)
    def __truediv__(self, o): return self._op(o, lambda a, b: a / b)
    def __rtruediv__(self, o): return self._op(o, lambda a, b: b / a)
    def __pow__(self, o): return self._op(o, lambda a, b: a ** b)
    def __rpow__(self, o): return self._op(o, lambda a, b: b ** a)
    def __neg__(self): return Var(-self.value)
    def backward(self, grad=1.0): pass
    def zero_grad(self): pass

oracle.RandomExpression.gradient = lambda self, x: np.zeros(self.n_vars)
oracle.RandomVectorFunction.jacobian = lambda self, x: np.zeros((self.n_outputs, self.n_vars))
""",
            "functions_code": """
def _plain(g):
    return lambda x: Var(g(x.value)) if isinstance(x, Var) else g(x)
sin, cos, tan, exp, log, sqrt, tanh = map(_plain, (np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh))
relu = _plain(lambda a: np.maximum(a, 0.0))
""",
            "trace_code": """
def adjoint_trace(x1, x2, ybar=1.0):
    return {k: 0.0 for k in ("v_-1", "v_0", "v_1", "v_2", "v_3", "v_4", "v_5", "y_1")}
""",
            "grad_code": """
def grad(f):
    def g(*xs):
        leaves = [Var(x) for x in xs]
        f(*leaves).backward()
        return np.zeros(len(xs))
    return g
""",
            "vjp_code": """
def vjp(f, x, u):
    ys = f(*[Var(v) for v in x])
    sum(a * y for a, y in zip(u, ys)).backward()
    return np.array([y.value for y in ys]), np.zeros(len(x))
""",
            "jacobian_code": """
def jacobian_reverse(f, x):
    ys = f(*[Var(v) for v in x])
    for y in ys:
        y.backward()
    return np.zeros((len(ys), len(x)))
""",
        },
        "zero gradients, with the SymPy oracle patched to return zeros",
    ),
    "patch_reverse_checks": Attack(
        {
            "var_code": """
import autograder.checks.reverse as checks
import autograder.runtime as runtime
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
runtime.run_check = lambda observe, judge: None

class Var:
    def __init__(self, value, parents=()):
        self.value, self.grad = value, 0.0
""",
        },
        "the checks of this unit replaced by no-ops",
    ),
}

UNIT = Unit("04_reverse", MUTANTS, ALTERNATIVES, ATTACKS)
