"""Unit 01 (numerical differentiation): named mistakes, correct alternatives and tamper attacks."""

from autograder.checks.numerical import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

CENTRAL = "return (f(x + h) - f(x - h)) / (2 * h)"
FORWARD = "return (f(x + h) - f(x)) / h"

MUTANTS = {
    "forward_is_central": Mutant(
        "differences_code",
        ((FORWARD, CENTRAL),),
        ("forward_difference",),
        diagnosis=mistakes.CENTRAL_FOR_FORWARD,
    ),
    "forward_default_step_1e-5": Mutant(
        "differences_code", (("h=1e-6", "h=1e-5"),), ("forward_difference",), diagnosis=mistakes.WRONG_DEFAULT_STEP
    ),
    "central_one_sided": Mutant(
        "differences_code",
        ((CENTRAL, "return (f(x + h) - f(x)) /  h"),),
        ("central_difference",),
        diagnosis=mistakes.ONE_SIDED,
    ),
    "central_divides_by_h": Mutant(
        "differences_code", (("(2 * h)", "h"),), ("central_difference",), diagnosis=mistakes.DIVIDES_BY_H
    ),
    "central_sign_swapped": Mutant(
        "differences_code",
        ((CENTRAL, "return (f(x - h) - f(x + h)) / (2 * h)"),),
        ("central_difference",),
        diagnosis=mistakes.SIGN_SWAPPED,
    ),
    "gradient_mutates_x": Mutant(
        "numerical_gradient_code",
        (
            ("point = np.array(x, dtype=float)", "point = x if x.dtype.kind == 'f' else x.astype(float)"),
            ("        point.flat[i] = old\n", ""),
        ),
        ("numerical_gradient",),
        diagnosis=mistakes.X_CHANGED,
    ),
    "gradient_integer_truncation": Mutant(
        "numerical_gradient_code",
        (("point = np.array(x, dtype=float)", "point = np.array(x)"),),
        ("numerical_gradient",),
        diagnosis=mistakes.INTEGER_TRUNCATED,
    ),
    "gradient_forward_recomputes_f_x": Mutant(
        "numerical_gradient_code",
        (("(f_plus - f_x) / h", "(f_plus - f(np.array(x, dtype=float))) / h"),),
        ("numerical_gradient_cost",),
        diagnosis=mistakes.EXTRA_CALLS,
    ),
    "gradient_ignores_method": Mutant(
        "numerical_gradient_code",
        (('        if method == "central":', "        if True:"),),
        ("numerical_gradient_cost",),
        diagnosis=mistakes.CENTRAL_FOR_FORWARD,
    ),
    "jacobian_transposed": Mutant(
        "numerical_jacobian_code", (("axis=1", "axis=0"),), ("numerical_jacobian",), diagnosis=mistakes.TRANSPOSED
    ),
    "jacobian_forward_difference": Mutant(
        "numerical_jacobian_code",
        (("f(point - step)", "f(point)"), ("(plus - minus) / (2 * h)", "(plus - minus) / h")),
        ("numerical_jacobian",),
        diagnosis=mistakes.ONE_SIDED,
    ),
    "relative_error_no_guard": Mutant(
        "gradient_check_code",
        (("np.maximum(np.abs(a) + np.abs(b), 1e-300)", "(np.abs(a) + np.abs(b))"),),
        ("relative_error",),
        diagnosis=mistakes.NO_GUARD,
    ),
    "relative_error_divides_by_b": Mutant(
        "gradient_check_code",
        (("np.maximum(np.abs(a) + np.abs(b), 1e-300)", "np.maximum(np.abs(b), 1e-300)"),),
        ("relative_error",),
        diagnosis=mistakes.DIVIDES_BY_B,
    ),
    "relative_error_max_over_max": Mutant(
        "gradient_check_code",
        (
            (
                "np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-300))",
                "np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-300)",
            ),
        ),
        ("relative_error",),
        diagnosis=mistakes.RATIO_OF_MAXIMA,
    ),
    "gradient_check_forward_difference": Mutant(
        "gradient_check_code",
        (("numerical_gradient(f, point, h)", 'numerical_gradient(f, point, h, "forward")'),),
        ("gradient_check",),
        diagnosis=mistakes.ONE_SIDED_CHECK,
    ),
    "gradient_check_absolute_error": Mutant(
        "gradient_check_code",
        (
            (
                "return relative_error(grad_f(point.copy()), numerical_gradient(f, point, h))",
                "return float(np.max(np.abs(grad_f(point.copy()) - numerical_gradient(f, point, h))))",
            ),
        ),
        ("gradient_check",),
        diagnosis=mistakes.ABSOLUTE_NOT_RELATIVE,
    ),
    "complex_step_real_step": Mutant(
        "complex_step_code",
        (("np.imag(f(x + 1j * h)) / h", "(f(x + h) - f(x)) / h"),),
        ("complex_step",),
        diagnosis=mistakes.REAL_STEP,
    ),
    "complex_step_no_division": Mutant(
        "complex_step_code",
        (("np.imag(f(x + 1j * h)) / h", "np.imag(f(x + 1j * h))"),),
        ("complex_step",),
        diagnosis=mistakes.NOT_DIVIDED,
    ),
    "step_errors_signed": Mutant(
        "step_size_code",
        (("abs(rules[method](f, x, h) - exact)", "rules[method](f, x, h) - exact"),),
        ("step_size_errors",),
        diagnosis=mistakes.SIGNED_ERRORS,
    ),
    "step_errors_relative": Mutant(
        "step_size_code",
        (("abs(rules[method](f, x, h) - exact)", "abs(rules[method](f, x, h) - exact) / abs(exact)"),),
        ("step_size_errors",),
        diagnosis=mistakes.RELATIVE_NOT_ABSOLUTE,
    ),
    "step_errors_ignore_method": Mutant(
        "step_size_code",
        (("rules[method](f, x, h)", 'rules["forward"](f, x, h)'),),
        ("step_size_errors",),
        diagnosis=mistakes.ONE_SIDED,
    ),
    "forward_difference_loops_forever": Mutant(
        "differences_code",
        ((FORWARD, "while True:\n        pass"),),
        loses=("forward_difference", "step_size_errors", "best_step"),
        keeps=("central_difference", "numerical_gradient", "numerical_jacobian", "complex_step"),
    ),
    "best_step_typed_in": Mutant(
        "step_size_code",
        (
            (
                "    return float(hs[np.argmin(errors)])",
                '    return float(np.finfo(float).eps ** (0.5 if method == "forward" else 1 / 3))',
            ),
        ),
        ("best_step",),
        diagnosis=mistakes.TYPED_IN,
    ),
}

ALTERNATIVES = {
    # numpy scalars, other formula shapes, np.eye perturbations, a row-wise Jacobian
    "numpy_style": Alternative(
        {
            "differences_code": """
import numpy as np

def forward_difference(f, x, h=1e-6):
    fx, fxh = f(x), f(x + h)
    return np.float64(fxh - fx) / np.float64(h)

def central_difference(f, x, h=1e-5):
    return 0.5 * (f(x + h) - f(x - h)) / h
""",
            "numerical_gradient_code": """
def numerical_gradient(f, x, h=1e-5, method="central"):
    base = np.asarray(x, dtype=np.float64)
    flat = base.reshape(-1)
    unit = np.eye(flat.size)
    if method == "forward":
        f0 = f(base.copy())
        parts = [(f((flat + h * e).reshape(base.shape)) - f0) / h for e in unit]
    elif method == "central":
        parts = [(f((flat + h * e).reshape(base.shape)) - f((flat - h * e).reshape(base.shape))) / (2 * h)
                 for e in unit]
    else:
        raise ValueError(method)
    return np.array(parts, dtype=float).reshape(base.shape)
""",
            "numerical_jacobian_code": """
def numerical_jacobian(f, x, h=1e-5):
    x0 = np.array(x, dtype=float)
    n = x0.size
    cols = np.column_stack([
        (np.array(f(x0 + h * np.eye(n)[i]), dtype=float) - np.array(f(x0 - h * np.eye(n)[i]), dtype=float)) / (2 * h)
        for i in range(n)
    ])
    return cols
""",
        }
    ),
    # plain Python loops and lists, tuples, math functions, a hand-written relative error
    "plain_python": Alternative(
        {
            "gradient_check_code": """
import math

def relative_error(a, b):
    aa = np.ravel(np.asarray(a, dtype=float)).tolist()
    bb = np.ravel(np.asarray(b, dtype=float)).tolist()
    worst = 0.0
    for p, q in zip(aa, bb):
        denominator = abs(p) + abs(q)
        if denominator > 0:
            worst = max(worst, abs(p - q) / denominator)
    return worst

def gradient_check(f, grad_f, x, h=1e-5):
    x = np.array(x, dtype=float)
    numeric = numerical_gradient(f, x.copy(), h=h, method="central")
    return relative_error(numeric, grad_f(x.copy()))
""",
            "complex_step_code": """
def complex_step(f, x, h=1e-20):
    value = f(complex(x, h))
    return value.imag / h
""",
            "step_size_code": """
def step_size_errors(f, df, x, hs, method="forward"):
    true = df(x)
    out = []
    for step in hs:
        if method == "forward":
            approx = forward_difference(f, x, step)
        elif method == "central":
            approx = central_difference(f, x, step)
        else:
            approx = complex_step(f, x, step)
        out.append(abs(approx - true))
    return np.array(out)

def best_step(method):
    # coarse grid, then a finer one around the coarse minimum
    coarse = np.logspace(-16, 0, 33)
    e = step_size_errors(np.sin, np.cos, 0.7, coarse, method)
    centre = coarse[int(np.argmin(e))]
    fine = centre * np.logspace(-0.5, 0.5, 21)
    e = step_size_errors(np.sin, np.cos, 0.7, fine, method)
    return float(fine[int(np.argmin(e))])
""",
        }
    ),
}

# Every attack pairs wrong answers with a trick; none may earn a single point.
WRONG = """
def forward_difference(f, x, h=1e-6):
    return 0.0

def central_difference(f, x, h=1e-5):
    return 0.0
"""

ATTACKS = {
    "replace_numpy_and_math": Attack(
        {
            "differences_code": WRONG
            + """
import math
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.abs = lambda v: 0 * v
math.isclose = lambda *a, **k: True
import builtins
builtins.abs = lambda v: 0
"""
        }
    ),
    "patch_autograder": Attack(
        {
            "differences_code": WRONG
            + """
import autograder.checks.numerical as checks, autograder.runtime as runtime
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
runtime.run_check = lambda observe, judge: None
"""
        }
    ),
    "fake_module_in_sys_modules": Attack(
        {
            "differences_code": WRONG
            + """
import sys, types
fake = types.ModuleType("autograder.checks.numerical")
fake.__getattr__ = lambda name: (lambda *a, **k: None)
sys.modules["autograder.checks.numerical"] = fake
"""
        }
    ),
    "ast_transformer_strips_calls": Attack(
        {
            "differences_code": WRONG
            + """
import ast
class Strip(ast.NodeTransformer):
    def visit_Expr(self, node):
        return ast.Pass() if isinstance(node.value, ast.Call) else node
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(Strip())
"""
        }
    ),
    "input_transformer_blanks_cells": Attack(
        {
            "differences_code": WRONG
            + """
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
"""
        }
    ),
    "display_hook_partial_credit": Attack(
        {
            "differences_code": WRONG
            + """
get_ipython().input_transformers_post.append(lambda lines: lines + ["\\n", "100\\n"])
"""
        }
    ),
    "hide_tracebacks": Attack(
        {
            "differences_code": WRONG
            + """
import sys
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
"""
        }
    ),
    "read_running_test": Attack(
        {
            "differences_code": """
import sys, inspect

def _steal():
    # look through the callers (the test) for an expected value and return it
    frame = sys._getframe(2)
    while frame is not None:
        for name in ("want", "expected", "truth", "value"):
            v = frame.f_locals.get(name)
            if isinstance(v, float):
                return v
        frame = frame.f_back
    return 0.0

def forward_difference(f, x, h=1e-6):
    return _steal()

def central_difference(f, x, h=1e-5):
    return _steal()
"""
        }
    ),
    "truncate_records": Attack(
        {
            "differences_code": WRONG
            + """
import os
path = os.environ.get("AUTOGRADER_RECORDS")
if path:
    open(path, "w").write('{"cell": "x", "index": 0, "value": 1.0}\\n' * 10)
"""
        }
    ),
}

ALTERNATIVES["noisy_but_right"] = Alternative(
    {
        "differences_code": """
import sys
import warnings

def forward_difference(f, x, h=1e-6):
    warnings.warn("a warning from a correct answer must not cost points")
    print("debugging output on stderr", file=sys.stderr)
    return (f(x + h) - f(x)) / h

def central_difference(f, x, h=1e-5):
    np.log(np.array([-1.0]))  # a numpy RuntimeWarning
    return (f(x + h) - f(x - h)) / (2 * h)
"""
    }
)

UNIT = Unit("01_numerical", MUTANTS, ALTERNATIVES, ATTACKS)
