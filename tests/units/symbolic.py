"""Unit 02 (symbolic differentiation): named mistakes, correct alternatives and tamper attacks."""

from autograder.checks.symbolic import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

RULES = "derivative_rules_code"
BASIC, CHAIN, RANDOM = "derivative_rules_basic", "derivative_rules_chain", "derivative_rules_random"

MUTANTS = {
    "other_symbols_not_constant": Mutant(
        RULES,
        (("if expr == x:", "if expr.is_Symbol:"),),
        (BASIC, RANDOM),
        diagnosis=mistakes.OTHER_SYMBOLS,
    ),
    "product_first_factor_only": Mutant(
        RULES,
        (("for i in range(len(factors)):", "for i in range(1):"),),
        (BASIC, CHAIN, RANDOM),
        diagnosis=mistakes.FIRST_FACTOR_ONLY,
    ),
    "product_two_factors_only": Mutant(
        RULES,
        (("for i in range(len(factors)):", "for i in range(min(2, len(factors))):"),),
        (BASIC,),
        diagnosis=mistakes.TWO_FACTORS_ONLY,
    ),
    "power_exponent_not_decreased": Mutant(
        RULES, (("base ** (exponent - 1)", "base**exponent"),), (BASIC,), diagnosis=mistakes.EXPONENT_NOT_DECREASED
    ),
    "power_rule_on_variable_exponent": Mutant(
        RULES,
        (("if not exponent.has(x):", "if True:"),),
        (CHAIN, RANDOM),
        diagnosis=mistakes.POWER_RULE_ON_VARIABLE_EXPONENT,
    ),
    "sin_missing_chain_factor": Mutant(
        RULES, (("return sp.cos(u) * du", "return sp.cos(u)"),), (CHAIN,), diagnosis=mistakes.CHAIN_FACTOR
    ),
    "cos_derivative_sign": Mutant(
        RULES, (("return -sp.sin(u) * du", "return sp.sin(u) * du"),), (CHAIN,), diagnosis=mistakes.COS_SIGN
    ),
    "tan_derivative_sec_not_squared": Mutant(
        RULES,
        (("return (1 + sp.tan(u) ** 2) * du", "return du / sp.cos(u)"),),
        (CHAIN,),
        diagnosis=mistakes.SEC_NOT_SQUARED,
    ),
    "log_missing_chain_factor": Mutant(
        RULES, (("return du / u", "return 1 / u"),), (CHAIN, RANDOM), diagnosis=mistakes.CHAIN_FACTOR
    ),
    "exp_missing_chain_factor": Mutant(
        RULES, (("return sp.exp(u) * du", "return sp.exp(u)"),), (CHAIN, RANDOM), diagnosis=mistakes.CHAIN_FACTOR
    ),
    "gradient_calls_sympy_diff": Mutant(
        "gradient_expr_code",
        (("[derivative_rules(expr, x) for x in xs]", "[sp.diff(expr, x) for x in xs]"),),
        ("gradient_expr", "jacobian_expr", "hessian_expr"),
        diagnosis=mistakes.SYMPY_DIFF,
    ),
    "jacobian_transposed": Mutant(
        "gradient_expr_code",
        (("sp.Matrix([gradient_expr(f, xs) for f in exprs])", "sp.Matrix([gradient_expr(f, xs) for f in exprs]).T"),),
        ("jacobian_expr",),
        diagnosis=mistakes.JACOBIAN_TRANSPOSED,
    ),
    "jacobian_by_matrix_jacobian": Mutant(
        "gradient_expr_code",
        (("sp.Matrix([gradient_expr(f, xs) for f in exprs])", "sp.Matrix(exprs).jacobian(xs)"),),
        ("jacobian_expr", "hessian_expr"),
        diagnosis=mistakes.SYMPY_DIFF,
    ),
    "hessian_differentiates_by_the_same_variable": Mutant(
        "gradient_expr_code",
        (
            (
                "return jacobian_expr(gradient_expr(expr, xs), xs)",
                "return sp.Matrix([[derivative_rules(g, x) for _ in xs] for g, x in zip(gradient_expr(expr, xs), xs)])",
            ),
        ),
        ("hessian_expr",),
        diagnosis=mistakes.HESSIAN_SAME_VARIABLE,
    ),
    "hessian_is_repeated_gradient": Mutant(
        "gradient_expr_code",
        (
            (
                "return jacobian_expr(gradient_expr(expr, xs), xs)",
                "return sp.Matrix([gradient_expr(expr, xs) for _ in xs])",
            ),
        ),
        ("hessian_expr",),
        diagnosis=mistakes.HESSIAN_REPEATED_GRADIENT,
    ),
    "logistic_map_off_by_one": Mutant(
        "logistic_map_code",
        (("for _ in range(n - 1):", "for _ in range(n):"),),
        ("logistic_map", "expression_swell"),
        diagnosis=mistakes.ONE_STEP_TOO_MANY,
    ),
    "swell_naive_column_simplified": Mutant(
        "expression_swell_code",
        (("naive = sp.diff(l_n, x)", "naive = sp.simplify(sp.diff(l_n, x))"),),
        ("expression_swell",),
        diagnosis=mistakes.NAIVE_SIMPLIFIED,
    ),
    "swell_not_simplified": Mutant(
        "expression_swell_code",
        (("sp.count_ops(sp.simplify(naive))", "sp.count_ops(naive)"),),
        ("expression_swell",),
        diagnosis=mistakes.NOT_SIMPLIFIED,
    ),
    "to_function_ignores_argument_order": Mutant(
        "to_function_code",
        (("sp.lambdify(list(xs), expr", "sp.lambdify(sorted(expr.free_symbols, key=str), expr"),),
        ("to_function",),
        diagnosis=mistakes.ARGUMENT_ORDER,
    ),
    "to_function_not_vectorized": Mutant(
        "to_function_code",
        (
            (
                "return sp.lambdify(list(xs), expr)",
                "return lambda *values: float(expr.subs(dict(zip(xs, values))))",
            ),
        ),
        ("to_function",),
        diagnosis=mistakes.NOT_VECTORIZED,
    ),
}

ALTERNATIVES = {
    # A dispatch table of outer derivatives, Mul split into first factor and the rest, Pow through
    # as_base_exp, tuples instead of lists, Matrix built entry by entry, expand instead of simplify.
    "dispatch_table": Alternative(
        {
            RULES: """
import sympy

OUTER = {
    sympy.sin: lambda u: sympy.cos(u),
    sympy.cos: lambda u: -sympy.sin(u),
    sympy.tan: lambda u: sympy.sec(u) ** 2,
    sympy.exp: lambda u: sympy.exp(u),
    sympy.log: lambda u: 1 / u,
}

def derivative_rules(expr, x):
    if isinstance(expr, sympy.Symbol):
        return sympy.S.One if expr == x else sympy.S.Zero
    if expr.is_number:
        return sympy.S.Zero
    if isinstance(expr, sympy.Add):
        total = sympy.S.Zero
        for part in expr.args:
            total += derivative_rules(part, x)
        return total
    if isinstance(expr, sympy.Mul):
        first, rest = expr.args[0], sympy.Mul(*expr.args[1:])
        return derivative_rules(first, x) * rest + first * derivative_rules(rest, x)
    if isinstance(expr, sympy.Pow):
        b, e = expr.as_base_exp()
        from_base = e * b ** (e - 1) * derivative_rules(b, x)
        if e.free_symbols & {x}:  # both one-sided rules together
            return from_base + b**e * sympy.log(b) * derivative_rules(e, x)
        return from_base
    if expr.func in OUTER:
        inner = expr.args[0]
        return OUTER[expr.func](inner) * derivative_rules(inner, x)
    raise ValueError(f"unsupported: {expr.func}")
""",
            "gradient_expr_code": """
def gradient_expr(expr, xs):
    return tuple(derivative_rules(expr, v) for v in xs)

def jacobian_expr(exprs, xs):
    m, n = len(exprs), len(xs)
    return sp.Matrix(m, n, lambda i, j: derivative_rules(exprs[i], xs[j]))

def hessian_expr(expr, xs):
    n = len(xs)
    first = gradient_expr(expr, xs)
    H = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):  # symmetric: compute the upper triangle only
            H[i, j] = H[j, i] = derivative_rules(first[i], xs[j])
    return H
""",
            "expression_swell_code": """
def expression_swell(n_max):
    t = sp.Symbol("x", real=True)
    table = []
    for n in range(1, n_max + 1):
        e = logistic_map(t, n)
        d = sp.diff(e, t)
        table.append([n, int(sp.count_ops(e)), int(sp.count_ops(d)), int(sp.count_ops(sp.expand(d)))])
    return tuple(table)
""",
            "to_function_code": """
def to_function(expr, xs):
    return sp.lambdify(tuple(xs), expr)
""",
        }
    ),
    # Binary products by recursion, the general power rule for every Pow, simplification of the
    # result, a recursive logistic map, numpy int columns.
    "recursive_binary": Alternative(
        {
            RULES: """
from sympy import Add, Mul, Pow, sin, cos, tan, exp, log, Integer, simplify

def d(e, x):
    if not e.has(x):
        return Integer(0)
    if e == x:
        return Integer(1)
    if e.func == Add:
        return Add(*(d(a, x) for a in e.args))
    if e.func == Mul:
        if len(e.args) == 2:
            u, v = e.args
        else:
            u, v = e.args[0], Mul(*e.args[1:], evaluate=False)
        return d(u, x) * v + u * d(v, x)
    if e.func == Pow:
        u, v = e.args
        return u**v * (d(v, x) * log(u) + v * d(u, x) / u)  # also right for constant v
    u = e.args[0]
    outer = {sin: cos(u), cos: -sin(u), tan: 1 / cos(u) ** 2, exp: e, log: 1 / u}[e.func]
    return outer * d(u, x)

def derivative_rules(expr, x):
    return simplify(d(expr, x)) if expr.count_ops() < 8 else d(expr, x)
""",
            "logistic_map_code": """
def logistic_map(x, n):
    if n == 1:
        return x
    previous = logistic_map(x, n - 1)
    return 4 * previous * (1 - previous)
""",
            "expression_swell_code": """
import numpy as np  # the notebook's setup cell imports only SymPy

def expression_swell(n_max):
    x = sp.symbols("x")
    out = np.zeros((n_max, 4), dtype=np.int64)
    for k in range(n_max):
        ln = logistic_map(x, k + 1)
        dl = sp.diff(ln, x)
        out[k] = (k + 1, sp.count_ops(ln), sp.count_ops(dl), sp.count_ops(sp.simplify(dl)))
    return [tuple(row) for row in out]
""",
        }
    ),
}

# Wrong (or forbidden) derivative_rules plus a trick; none may earn a single point.
ATTACKS = {
    "diff_alias_at_import": Attack(
        {
            RULES: """
from sympy import diff as d

def derivative_rules(expr, x):
    return d(expr, x)
""",
        },
        "sympy.diff under another name, captured before the tests run",
    ),
    "diff_by_getattr": Attack(
        {
            RULES: """
import sympy

def derivative_rules(expr, x):
    return getattr(sympy, "di" + "ff")(expr, x)
""",
        }
    ),
    "derivative_object_doit": Attack(
        {
            RULES: """
import sympy
D = sympy.Derivative

def derivative_rules(expr, x):
    return D(expr, x, evaluate=False).doit()
""",
        }
    ),
    "diff_through_sympify_and_jacobian": Attack(
        {
            RULES: """
import sympy

def derivative_rules(expr, x):
    if len(expr.args) > 1:
        return sympy.sympify(f"diff({sympy.srepr(expr)}, {sympy.srepr(x)})")
    return sympy.Matrix([expr]).jacobian([x])[0]
""",
        }
    ),
    "unpatch_sympy_during_call": Attack(
        {
            RULES: """
import sympy
from sympy.core.function import Derivative
ORIGINAL_NEW = Derivative.__dict__["__new__"]
ORIGINAL_DIFF = sympy.Expr.__dict__["diff"]

def derivative_rules(expr, x):
    Derivative.__new__ = ORIGINAL_NEW
    sympy.Expr.diff = ORIGINAL_DIFF
    return sympy.diff(expr, x)
""",
        },
        "restores SymPy's original entry points before calling diff",
    ),
    "switch_off_profiler_and_unpatch": Attack(
        {
            RULES: """
import sys
import sympy
from sympy.core.function import Derivative
ORIGINAL_NEW = Derivative.__dict__["__new__"]
ORIGINAL_DIFF = sympy.Expr.__dict__["diff"]

def derivative_rules(expr, x):
    sys.setprofile(None)
    Derivative.__new__ = ORIGINAL_NEW
    sympy.Expr.diff = ORIGINAL_DIFF
    return sympy.diff(expr, x)
""",
        },
        "switches the profiler hook off and restores SymPy's entry points",
    ),
    "patch_symbolic_checks": Attack(
        {
            RULES: """
import autograder.checks.symbolic as checks
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)

def derivative_rules(expr, x):
    return 0
""",
        }
    ),
}

UNIT = Unit("02_symbolic", MUTANTS, ALTERNATIVES, ATTACKS)
