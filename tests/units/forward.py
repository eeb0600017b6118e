"""Unit 03 (forward mode with dual numbers): named mistakes, correct alternatives and tamper attacks."""

from autograder.checks.forward import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

POWER_RULE = "return Dual(self.value**other, other * self.value ** (other - 1) * self.tangent)"
EXP_LOG = (
    "return Dual(np.exp(other * np.log(self.value)), "
    "np.exp(other * np.log(self.value)) * other * self.tangent / self.value)"
)
SIN_BODY = """    if isinstance(x, Dual):
        return Dual(np.sin(x.value), np.cos(x.value) * x.tangent)
    return np.sin(x)"""

MUTANTS = {
    # --- the Dual class: + - * / and their reflected versions
    "product_multiplies_tangents": Mutant(
        "dual_code",
        (("self.tangent * other.value + self.value * other.tangent", "self.tangent * other.tangent"),),
        ("dual_arithmetic",),
        diagnosis=mistakes.TANGENTS_MULTIPLIED,
    ),
    "product_missing_term": Mutant(
        "dual_code",
        (("self.tangent * other.value + self.value * other.tangent", "self.tangent * other.value"),),
        ("dual_arithmetic",),
        diagnosis=mistakes.PRODUCT_TERM_MISSING,
    ),
    "quotient_rule_sign": Mutant(
        "dual_code",
        (("(self.tangent - quotient * other.tangent)", "(self.tangent + quotient * other.tangent)"),),
        ("dual_arithmetic",),
        diagnosis=mistakes.QUOTIENT_PLUS,
    ),
    "rsub_direction": Mutant(
        "dual_code",
        (("return lift(other) - self", "return self - lift(other)"),),
        ("dual_arithmetic",),
        diagnosis=mistakes.RSUB_SWAPPED,
    ),
    "rtruediv_direction": Mutant(
        "dual_code",
        (("return lift(other) / self", "return self / lift(other)"),),
        ("dual_arithmetic",),
        diagnosis=mistakes.RTRUEDIV_SWAPPED,
    ),
    "missing_radd": Mutant(
        "dual_code", (("def __radd__", "def _radd"),), ("dual_arithmetic",), diagnosis="a missing __radd__"
    ),
    "neg_keeps_tangent": Mutant(
        "dual_code",
        (("Dual(-self.value, -self.tangent)", "Dual(-self.value, self.tangent)"),),
        ("dual_arithmetic",),
        diagnosis=mistakes.NEGATION_KEEPS_TANGENT,
    ),
    # --- powers
    "pow_via_exp_log": Mutant(
        "dual_code",
        ((POWER_RULE, EXP_LOG),),
        ("dual_powers", "dual_vectorized"),
        diagnosis=mistakes.POWER_THROUGH_EXP_LOG,
    ),
    "pow_general_rule_for_constants": Mutant(
        "dual_code",
        (("        if isinstance(other, Dual):", "        other = lift(other)\n        if True:"),),
        ("dual_powers",),
        diagnosis=mistakes.GENERAL_RULE_FOR_CONSTANT,
    ),
    "pow_missing_chain_factor": Mutant(
        "dual_code",
        (("other * self.value ** (other - 1) * self.tangent", "other * self.value ** (other - 1)"),),
        ("dual_powers",),
        diagnosis=mistakes.POWER_CHAIN_MISSING,
    ),
    "pow_dual_exponent_missing_log_term": Mutant(
        "dual_code",
        (("other.tangent * np.log(self.value) + ", ""),),
        ("dual_powers",),
        diagnosis=mistakes.POW_LOG_TERM_MISSING,
    ),
    "rpow_missing_log": Mutant(
        "dual_code",
        (("power * np.log(other) * self.tangent", "power * self.tangent"),),
        ("dual_powers",),
        diagnosis=mistakes.RPOW_LOG_MISSING,
    ),
    # --- elementary functions: the chain factor (one per function), a sign, plain numbers, math
    "sin_missing_chain_factor": Mutant(
        "functions_code",
        (("np.cos(x.value) * x.tangent", "np.cos(x.value)"),),
        ("dual_functions",),
        diagnosis=mistakes.chain_missing("sin"),
    ),
    "cos_missing_chain_factor": Mutant(
        "functions_code",
        (("-np.sin(x.value) * x.tangent", "-np.sin(x.value)"),),
        ("dual_functions",),
        diagnosis=mistakes.chain_missing("cos"),
    ),
    "cos_sign": Mutant(
        "functions_code",
        (("-np.sin(x.value) * x.tangent", "np.sin(x.value) * x.tangent"),),
        ("dual_functions",),
        diagnosis=mistakes.sign_flipped("cos"),
    ),
    "tan_missing_chain_factor": Mutant(
        "functions_code",
        (("x.tangent / np.cos(x.value) ** 2", "1 / np.cos(x.value) ** 2"),),
        ("dual_functions",),
        diagnosis=mistakes.chain_missing("tan"),
    ),
    "exp_missing_chain_factor": Mutant(
        "functions_code", (("e * x.tangent", "e"),), ("dual_functions",), diagnosis=mistakes.chain_missing("exp")
    ),
    "log_missing_chain_factor": Mutant(
        "functions_code",
        (("x.tangent / x.value", "1 / x.value"),),
        ("dual_functions",),
        diagnosis=mistakes.chain_missing("log"),
    ),
    "sqrt_missing_chain_factor": Mutant(
        "functions_code",
        (("x.tangent / (2 * root)", "1 / (2 * root)"),),
        ("dual_functions",),
        diagnosis=mistakes.chain_missing("sqrt"),
    ),
    "tanh_missing_chain_factor": Mutant(
        "functions_code",
        (("(1 - t**2) * x.tangent", "(1 - t**2)"),),
        ("dual_functions",),
        diagnosis=mistakes.chain_missing("tanh"),
    ),
    "sin_rejects_plain_numbers": Mutant(
        "functions_code",
        ((SIN_BODY, "    return Dual(np.sin(x.value), np.cos(x.value) * x.tangent)"),),
        ("dual_functions",),
        diagnosis=mistakes.PLAIN_NUMBER_AS_DUAL,
    ),
    "sin_uses_math": Mutant(
        "functions_code",
        (("return Dual(np.sin(x.value),", 'return Dual(__import__("math").sin(x.value),'),),
        ("dual_vectorized",),
        diagnosis=mistakes.SCALAR_FUNCTION_ON_ARRAY,
    ),
    # --- the trace
    "trace_product_missing_term": Mutant(
        "trace_code",
        (("dv_m1 * v_0 + dv_0 * v_m1", "dv_m1 * v_0"),),
        ("forward_trace",),
        diagnosis=mistakes.TRACE_PRODUCT_TERM_MISSING,
    ),
    "trace_sin_missing_chain_factor": Mutant(
        "trace_code",
        (("dv_0 * np.cos(v_0)", "np.cos(v_0)"),),
        ("forward_trace",),
        diagnosis=mistakes.TRACE_SIN_CHAIN_MISSING,
    ),
    "trace_minus_becomes_plus": Mutant(
        "trace_code",
        (("dv_4 - dv_3", "dv_4 + dv_3"),),
        ("forward_trace",),
        diagnosis=mistakes.TRACE_MINUS_AS_PLUS,
    ),
    # --- drivers
    "derivative_returns_value": Mutant(
        "derivative_code",
        (("float(out.tangent) if", "float(out.value) if"),),
        ("derivative",),
        diagnosis=mistakes.VALUE_INSTEAD_OF_TANGENT,
    ),
    "derivative_by_central_difference": Mutant(
        "derivative_code",
        (
            (
                "out = f(Dual(x, 1.0))\n    return float(out.tangent) if isinstance(out, Dual) else 0.0",
                "h = 1e-6\n    return float((f(x + h) - f(x - h)) / (2 * h))",
            ),
        ),
        ("derivative",),
        diagnosis=mistakes.FINITE_DIFFERENCES,
    ),
    "jvp_seeds_ones": Mutant(
        "jvp_code", (("Dual(xi, vi)", "Dual(xi, 1.0)"),), ("jvp",), diagnosis=mistakes.SEEDED_WITH_ONES
    ),
    "jvp_extra_call_for_the_value": Mutant(
        "jvp_code",
        (("np.array([d.value for d in duals], dtype=float)", "np.array(f(*x), dtype=float)"),),
        ("jvp",),
        diagnosis=mistakes.EXTRA_CALL,
    ),
    "jacobian_transposed": Mutant(
        "jacobian_code", (("axis=1", "axis=0"),), ("jacobian_forward",), diagnosis=mistakes.JACOBIAN_TRANSPOSED
    ),
    "jacobian_extra_pass": Mutant(
        "jacobian_code",
        (("    n = len(x)\n", "    n = len(x)\n    f(*x)\n"),),
        ("jacobian_forward",),
        diagnosis=mistakes.EXTRA_CALL,
    ),
    # --- comparisons by value, and programs with loops and branches on the value
    "comparisons_on_tangent": Mutant(
        "dual_code",
        (
            ("return self.value < lift(other).value", "return self.tangent < lift(other).tangent"),
            ("return self.value > lift(other).value", "return self.tangent > lift(other).tangent"),
            ("return self.value <= lift(other).value", "return self.tangent <= lift(other).tangent"),
            ("return self.value >= lift(other).value", "return self.tangent >= lift(other).tangent"),
        ),
        ("programs",),
        ("dual_arithmetic", "derivative"),
        diagnosis="comparisons on the tangent",
    ),
    "eq_by_identity": Mutant(
        "dual_code",
        (("return self.value == lift(other).value", "return self is other"),),
        ("programs",),
        ("dual_arithmetic", "derivative"),
        diagnosis="== by object identity",
    ),
    "comparison_returns_dual": Mutant(
        "dual_code",
        (("return self.value > lift(other).value", "return Dual(self.value > lift(other).value)"),),
        ("programs",),
        ("dual_arithmetic", "derivative"),
        diagnosis="a comparison that returns a Dual",
    ),
    "comparison_number_not_lifted": Mutant(
        "dual_code",
        (("return self.value < lift(other).value", "return self.value < other.value"),),
        ("programs",),
        ("dual_arithmetic", "derivative"),
        diagnosis="a number not lifted in a comparison",
    ),
    # relational fallbacks (no probe of the check names these: kit/relations.py does, from the values)
    "jvp_tangent_negated": Mutant(
        "jvp_code",
        (
            ("return float(out.value), float(out.tangent)", "return float(out.value), -float(out.tangent)"),
            ("np.array([d.tangent for d in duals], dtype=float)", "-np.array([d.tangent for d in duals], dtype=float)"),
        ),
        ("jvp", "jacobian_forward"),  # jacobian_forward calls jvp
        diagnosis="the opposite sign",
    ),
    "trace_tangent_of_the_step_before": Mutant(
        "trace_code", (('"v_2": dv_2', '"v_2": dv_1'),), ("forward_trace",), diagnosis="one step off"
    ),
}

ALTERNATIVES = {
    # No lift helper: isinstance switches inline; subtraction and division written out; math for
    # scalars and numpy for arrays; the trace computed with Dual; Jacobian rows built by hand.
    "minimal_class_math_switch": Alternative(
        {
            "dual_code": """
import math
import numpy as np


class Dual:
    __array_ufunc__ = None

    def __init__(self, value, tangent=0.0):
        self.value = value
        self.tangent = tangent

    def __add__(self, other):
        if isinstance(other, Dual):
            return Dual(self.value + other.value, self.tangent + other.tangent)
        return Dual(self.value + other, self.tangent)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Dual):
            return Dual(self.value - other.value, self.tangent - other.tangent)
        return Dual(self.value - other, self.tangent)

    def __rsub__(self, other):
        return Dual(other - self.value, -self.tangent)

    def __neg__(self):
        return Dual(-self.value, -self.tangent)

    def __mul__(self, other):
        if isinstance(other, Dual):
            return Dual(self.value * other.value, self.value * other.tangent + other.value * self.tangent)
        return Dual(self.value * other, self.tangent * other)

    __rmul__ = __mul__

    def __lt__(self, other):
        return self.value < (other.value if isinstance(other, Dual) else other)

    def __gt__(self, other):
        return self.value > (other.value if isinstance(other, Dual) else other)

    def __le__(self, other):
        return self.value <= (other.value if isinstance(other, Dual) else other)

    def __ge__(self, other):
        return self.value >= (other.value if isinstance(other, Dual) else other)

    def __eq__(self, other):
        return self.value == (other.value if isinstance(other, Dual) else other)

    __hash__ = object.__hash__

    def __truediv__(self, other):
        if isinstance(other, Dual):
            return Dual(
                self.value / other.value,
                (self.tangent * other.value - self.value * other.tangent) / (other.value * other.value),
            )
        return Dual(self.value / other, self.tangent / other)

    def __rtruediv__(self, other):
        return Dual(other / self.value, -other * self.tangent / (self.value * self.value))

    def __pow__(self, other):
        if not isinstance(other, Dual):
            if other == 0:
                return Dual(self.value**0, 0.0 * self.tangent)
            return Dual(self.value**other, other * self.value ** (other - 1) * self.tangent)
        value = self.value**other.value
        return Dual(value, value * (other.tangent * np.log(self.value) + other.value / self.value * self.tangent))

    def __rpow__(self, other):
        return Dual(other**self.value, other**self.value * math.log(other) * self.tangent)
""",
            "functions_code": """
def _scalar(x):
    return isinstance(x, (int, float, np.integer, np.floating))


def _apply(x, scalar_f, array_f, slope):
    if isinstance(x, Dual):
        f = scalar_f if _scalar(x.value) else array_f
        return Dual(f(x.value), slope(x.value) * x.tangent)
    return scalar_f(x) if _scalar(x) else array_f(x)


def sin(x):
    return _apply(x, math.sin, np.sin, lambda a: np.cos(a))


def cos(x):
    return _apply(x, math.cos, np.cos, lambda a: -np.sin(a))


def tan(x):
    return _apply(x, math.tan, np.tan, lambda a: 1 + np.tan(a) ** 2)


def exp(x):
    return _apply(x, math.exp, np.exp, lambda a: np.exp(a))


def log(x):
    return _apply(x, math.log, np.log, lambda a: 1 / a)


def sqrt(x):
    return _apply(x, math.sqrt, np.sqrt, lambda a: 0.5 / np.sqrt(a))


def tanh(x):
    return _apply(x, math.tanh, np.tanh, lambda a: 1 / np.cosh(a) ** 2)
""",
            "trace_code": """
def tangent_trace(x1, x2, dx1=1.0, dx2=0.0):
    names = ["v_-1", "v_0", "v_1", "v_2", "v_3", "v_4", "v_5", "y_1"]
    v = [Dual(x1, dx1), Dual(x2, dx2)]
    v.append(log(v[0]))
    v.append(v[0] * v[1])
    v.append(sin(v[1]))
    v.append(v[2] + v[3])
    v.append(v[5] - v[4])
    v.append(v[6])
    return dict(zip(names, [float(d.tangent) for d in v]))
""",
            "derivative_code": """
def derivative(f, x):
    return np.float64(f(Dual(float(x), 1)).tangent)
""",
            "jvp_code": """
def jvp(f, x, v):
    inputs = []
    for k in range(len(x)):
        inputs.append(Dual(x[k], v[k]))
    y = f(*inputs)
    if isinstance(y, Dual):
        return y.value, y.tangent
    values, tangents = [], []
    for item in y:
        values.append(item.value if isinstance(item, Dual) else item)
        tangents.append(item.tangent if isinstance(item, Dual) else 0.0)
    return np.asarray(values), np.asarray(tangents)
""",
            "jacobian_code": """
def jacobian_forward(f, x):
    n = len(x)
    J = None
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        _, column = jvp(f, x, e)
        column = np.reshape(column, -1)
        if J is None:
            J = np.zeros((column.size, n))
        J[:, j] = column
    return J
""",
        }
    ),
    # A _lift static method, unary functions made by a factory, division through powers, tuples and
    # lists returned where either is natural, and a scalar f's Jacobian as a flat gradient (n,).
    "lift_helper_and_factory": Alternative(
        {
            "dual_code": """
import functools

import numpy as np


@functools.total_ordering
class Dual:
    # Comparisons by value: __eq__ and __lt__ written, the rest derived by functools.total_ordering.
    def __eq__(self, other):
        return self.value == Dual._lift(other).value

    def __lt__(self, other):
        return self.value < Dual._lift(other).value

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    @staticmethod
    def _lift(c):
        return c if isinstance(c, Dual) else Dual(c)

    def __add__(self, other):
        o = Dual._lift(other)
        return Dual(self.value + o.value, self.tangent + o.tangent)

    def __radd__(self, other):
        return self.__add__(other)

    def __neg__(self):
        return Dual(-1 * self.value, -1 * self.tangent)

    def __sub__(self, other):
        return self + (-Dual._lift(other))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        o = Dual._lift(other)
        return Dual(self.value * o.value, o.value * self.tangent + self.value * o.tangent)

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        return self * Dual._lift(other) ** -1

    def __rtruediv__(self, other):
        return Dual._lift(other) * self**-1

    def __pow__(self, other):
        if isinstance(other, Dual):
            return exp(other * log(self))
        return Dual(self.value**other, other * self.value ** (other - 1) * self.tangent)

    def __rpow__(self, other):
        return exp(self * np.log(other))
""",
            "functions_code": """
def _unary(g, dg):
    def h(x):
        if isinstance(x, Dual):
            return Dual(g(x.value), dg(x.value) * x.tangent)
        return g(x)
    return h


sin = _unary(np.sin, np.cos)
cos = _unary(np.cos, lambda a: -np.sin(a))
tan = _unary(np.tan, lambda a: 1 / np.cos(a) ** 2)
exp = _unary(np.exp, np.exp)
log = _unary(np.log, lambda a: 1 / a)
sqrt = _unary(np.sqrt, lambda a: 1 / (2 * np.sqrt(a)))
tanh = _unary(np.tanh, lambda a: 1 - np.tanh(a) ** 2)
""",
            "jvp_code": """
def _parts(y):
    return (y.value, y.tangent) if isinstance(y, Dual) else (y, 0.0)


def jvp(f, x, v):
    out = f(*map(Dual, x, v))
    if isinstance(out, (list, tuple)):
        pairs = [_parts(y) for y in out]
        return [p[0] for p in pairs], tuple(p[1] for p in pairs)
    return _parts(out)
""",
            "jacobian_code": """
def jacobian_forward(f, x):
    x = list(x)
    cols = [jvp(f, x, [float(i == j) for i in range(len(x))])[1] for j in range(len(x))]
    return np.column_stack(cols) if isinstance(cols[0], (list, tuple)) else np.array(cols)
""",
        }
    ),
    # Every binary operation through one `_combine(other, rule)` with a rule (a, ȧ, b, ḃ) -> (value, tangent);
    # comparisons through a `_values` helper; a derivative that reads the tangent with getattr.
    "combine_rules_and_value_comparisons": Alternative(
        {
            "dual_code": """
import numpy as np


def lift(other):
    return other if isinstance(other, Dual) else Dual(other, 0.0)


class Dual:
    __array_ufunc__ = None

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    def _combine(self, other, rule):
        o = lift(other)
        return Dual(*rule(self.value, self.tangent, o.value, o.tangent))

    def __add__(self, o): return self._combine(o, lambda a, da, b, db: (a + b, da + db))
    def __radd__(self, o): return lift(o) + self
    def __sub__(self, o): return self._combine(o, lambda a, da, b, db: (a - b, da - db))
    def __rsub__(self, o): return lift(o) - self
    def __mul__(self, o): return self._combine(o, lambda a, da, b, db: (a * b, da * b + a * db))
    def __rmul__(self, o): return lift(o) * self
    def __truediv__(self, o): return self._combine(o, lambda a, da, b, db: (a / b, (da * b - a * db) / (b * b)))
    def __rtruediv__(self, o): return lift(o) / self
    def __neg__(self): return Dual(-self.value, -self.tangent)

    def __pow__(self, o):
        if isinstance(o, Dual):
            return self._combine(o, lambda a, da, b, db: (a**b, a**b * (db * np.log(a) + b * da / a)))
        return Dual(self.value**o, o * self.value ** (o - 1) * self.tangent)

    def __rpow__(self, o):
        return Dual(o**self.value, o**self.value * np.log(o) * self.tangent)

    def _values(self, other):
        return self.value, lift(other).value

    def __lt__(self, o):
        a, b = self._values(o)
        return a < b

    def __gt__(self, o):
        a, b = self._values(o)
        return a > b

    def __le__(self, o):
        a, b = self._values(o)
        return a <= b

    def __ge__(self, o):
        a, b = self._values(o)
        return a >= b

    def __eq__(self, o):
        a, b = self._values(o)
        return a == b

    def __hash__(self):
        return id(self)
""",
            "derivative_code": """
def derivative(f, x):
    return float(getattr(f(Dual(x, 1.0)), "tangent", 0.0))
""",
        }
    ),
}

# Attacks pair wrong (or no) dual numbers with a trick; none may earn a point where it cheats.
NUMPY_FUNCTIONS = """
import numpy as np
sin, cos, tan, exp, log, sqrt, tanh = np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh
"""

ATTACKS = {
    # Exact values without dual numbers: the complex step (one call of f, exact to rounding) and the
    # fourth-order differences of the grader's own finite_differences module.
    "finite_differences_instead_of_duals": Attack(
        {
            "functions_code": NUMPY_FUNCTIONS,
            "derivative_code": """
from autograder.finite_differences import complex_step_gradient

def derivative(f, x):
    return float(complex_step_gradient(lambda v: f(*v), np.array([x], dtype=float))[0])
""",
            "jvp_code": """
def jvp(f, x, v):
    h = 1e-30
    out = f(*[complex(a, h * b) for a, b in zip(x, v)])
    if isinstance(out, (list, tuple)):
        out = np.array(out, dtype=complex)
        return out.real, out.imag / h
    return float(np.real(out)), float(np.imag(out) / h)
""",
            "jacobian_code": """
from autograder.finite_differences import central_jacobian

def jacobian_forward(f, x):
    def g(v):
        out = f(*v)
        return np.array(out if isinstance(out, (list, tuple)) else [out], dtype=float)
    return central_jacobian(g, np.array(x, dtype=float), h=1e-3)
""",
        },
        "derivatives by the complex step and fourth-order differences, f never sees a Dual",
    ),
    # Tangents that are always 0, with the grader's oracles patched in the kernel to agree.
    "patch_oracles_to_agree": Attack(
        {
            "dual_code": """
import numpy as np
import autograder.sympy_oracle as oracle
import autograder.finite_differences as fd

class Dual:
    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, 0.0
    def _op(self, other, op):
        return Dual(op(self.value, other.value if isinstance(other, Dual) else other))
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
    def __neg__(self): return Dual(-self.value)

oracle.RandomExpression.gradient = lambda self, x: np.zeros(self.n_vars)
oracle.RandomExpression.partial = lambda self, x, *orders: 0.0
oracle.RandomVectorFunction.jacobian = lambda self, x: np.zeros((self.n_outputs, self.n_vars))
fd.central_jacobian = lambda f, x, h=1e-3: np.zeros((len(np.atleast_1d(f(x))), len(x)))
""",
            "functions_code": """
def _zero(g):
    return lambda x: Dual(g(x.value)) if isinstance(x, Dual) else g(x)
sin, cos, tan, exp, log, sqrt, tanh = map(_zero, (np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh))
""",
            "trace_code": """
def tangent_trace(x1, x2, dx1=1.0, dx2=0.0):
    return {k: 0.0 for k in ("v_-1", "v_0", "v_1", "v_2", "v_3", "v_4", "v_5", "y_1")}
""",
            "derivative_code": "def derivative(f, x):\n    f(Dual(x, 1.0))\n    return 0.0\n",
            "jvp_code": """
def jvp(f, x, v):
    out = f(*[Dual(a, b) for a, b in zip(x, v)])
    if isinstance(out, (list, tuple)):
        return np.array([getattr(o, "value", o) for o in out]), np.zeros(len(out))
    return out.value, 0.0
""",
            "jacobian_code": """
def jacobian_forward(f, x):
    outs = [jvp(f, x, np.eye(len(x))[i]) for i in range(len(x))]
    return np.zeros((np.size(outs[0][0]), len(x)))
""",
        },
        "zero tangents, with the SymPy oracle and the finite differences patched to return zeros",
    ),
    "patch_forward_checks": Attack(
        {
            "dual_code": """
import autograder.checks.forward as checks
import autograder.runtime as runtime
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
runtime.run_check = lambda observe, judge: None

class Dual:
    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent
""",
        },
        "the checks of this unit replaced by no-ops",
    ),
}

UNIT = Unit("03_forward", MUTANTS, ALTERNATIVES, ATTACKS)
