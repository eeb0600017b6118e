"""Tests of the SymPy random-expression oracle (`autograder.sympy_oracle`).

The oracle is the source of truth of hidden tests, so it is checked against independent
references: central differences and the complex step for first and second derivatives,
`sympy.diff` and mpmath's high-precision numerical differentiation for higher orders, a
strict dual-number type for the overrides, and a fresh interpreter for determinism.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from autograder.sympy_oracle import ELEMENTARY, RandomExpression, random_expression, random_vector_function

REPO = Path(__file__).resolve().parents[1]
SEEDS = range(200)
BLOCKS = [range(start, start + 20) for start in SEEDS[::20]]
BLOCK_IDS = [f"seeds{b.start}-{b.stop - 1}" for b in BLOCKS]


def config(seed: int) -> tuple[int, bool]:
    """(n_vars, variable_powers) of the sweep: n_vars cycles through 1, 2, 3."""
    return 1 + seed % 3, seed % 8 == 7


@functools.cache
def expression(seed: int) -> RandomExpression:
    n_vars, variable_powers = config(seed)
    return random_expression(seed, n_vars=n_vars, depth=3, variable_powers=variable_powers)


def point(r: RandomExpression, seed: int) -> np.ndarray:
    return r.point(np.random.default_rng(10_000 + seed))


def central_difference(f, x: np.ndarray, h: float) -> np.ndarray:
    """Central differences of f: R^n -> R^k (any k, scalars included) along each axis."""
    columns = []
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(columns, axis=-1)


def uses(expr: sympy.Expr, name: str) -> bool:
    """Whether the lambdified expr calls the elementary function `name`."""
    if name == "sqrt":
        return any(p.exp in (sympy.S.Half, -sympy.S.Half) for p in expr.atoms(sympy.Pow))
    return bool(expr.atoms(getattr(sympy, name)))


# --------------------------------------------------------------------------- #
# A strict dual number: accepts only Python int/float constants and int exponents >= 0
# --------------------------------------------------------------------------- #
class Dual:
    __slots__ = ("a", "b")

    def __init__(self, a: float, b: float = 0.0) -> None:
        self.a, self.b = float(a), float(b)

    @staticmethod
    def lift(o: object) -> Dual:
        if isinstance(o, Dual):
            return o
        assert type(o) in (int, float), f"constant of type {type(o).__name__} reached a Dual"
        return Dual(o)

    def __add__(self, o: object) -> Dual:
        o = Dual.lift(o)
        return Dual(self.a + o.a, self.b + o.b)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.a, -self.b)

    def __sub__(self, o: object) -> Dual:
        return self + (-Dual.lift(o))

    def __rsub__(self, o: object) -> Dual:
        return Dual.lift(o) + (-self)

    def __mul__(self, o: object) -> Dual:
        o = Dual.lift(o)
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    __rmul__ = __mul__

    def __truediv__(self, o: object) -> Dual:
        o = Dual.lift(o)
        return Dual(self.a / o.a, (self.b * o.a - self.a * o.b) / o.a**2)

    def __rtruediv__(self, o: object) -> Dual:
        return Dual.lift(o) / self

    def __pow__(self, o: object) -> Dual:
        if isinstance(o, Dual):
            return d_exp(o * d_log(self))
        assert type(o) is int and o >= 0, f"exponent {o!r} reached a Dual"
        return Dual(self.a**o, o * self.a ** (o - 1) * self.b if o else 0.0)


def d_sin(u: Dual) -> Dual:
    return Dual(math.sin(u.a), math.cos(u.a) * u.b)


def d_cos(u: Dual) -> Dual:
    return Dual(math.cos(u.a), -math.sin(u.a) * u.b)


def d_tan(u: Dual) -> Dual:
    return Dual(math.tan(u.a), u.b / math.cos(u.a) ** 2)


def d_exp(u: Dual) -> Dual:
    return Dual(math.exp(u.a), math.exp(u.a) * u.b)


def d_log(u: Dual) -> Dual:
    return Dual(math.log(u.a), u.b / u.a)


def d_sqrt(u: Dual) -> Dual:
    return Dual(math.sqrt(u.a), u.b / (2 * math.sqrt(u.a)))


def d_tanh(u: Dual) -> Dual:
    return Dual(math.tanh(u.a), u.b * (1 - math.tanh(u.a) ** 2))


DUAL_OVERRIDES = {"sin": d_sin, "cos": d_cos, "tan": d_tan, "exp": d_exp, "log": d_log, "sqrt": d_sqrt, "tanh": d_tanh}


def counting(name: str, calls: dict[str, int]):
    """An override for `name` that counts its calls in `calls[name]`: the dual-number version
    for a `Dual`, NumPy's function otherwise."""
    numpy_f, dual_f = getattr(np, name), DUAL_OVERRIDES[name]

    def wrapper(u):
        calls[name] += 1
        return dual_f(u) if isinstance(u, Dual) else numpy_f(u)

    return wrapper


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #
DETERMINISM_SCRIPT = """
import json
from autograder.sympy_oracle import random_expression, random_vector_function
out = [str(random_expression(s, n_vars=1 + s % 3, depth=d, variable_powers=s % 2 == 1))
       for s in range(8) for d in (1, 3)]
out.append(str(random_vector_function(3, n_vars=3, n_outputs=2)))
print(json.dumps(out))
"""


def determinism_strings() -> list[str]:
    out = [
        str(random_expression(s, n_vars=1 + s % 3, depth=d, variable_powers=s % 2 == 1))
        for s in range(8)
        for d in (1, 3)
    ]
    out.append(str(random_vector_function(3, n_vars=3, n_outputs=2)))
    return out


def test_same_expressions_in_a_fresh_process_with_another_hash_seed():
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", DETERMINISM_SCRIPT], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    assert json.loads(done.stdout) == determinism_strings()


def test_same_seed_same_expression_and_generator_seeds_work():
    assert str(random_expression(11, 2)) == str(random_expression(11, 2))
    assert str(random_expression(np.random.default_rng(11), 2)) == str(random_expression(11, 2))
    assert len({str(random_expression(s, depth=2)) for s in range(20)}) >= 18  # seeds matter
    rng = np.random.default_rng(0)
    assert str(random_expression(rng)) != str(random_expression(rng))  # a Generator is advanced


# --------------------------------------------------------------------------- #
# The sweep: 200 seeds, n_vars 1..3, depth 3 (in blocks of 20 seeds: fewer test items)
# --------------------------------------------------------------------------- #
def sweep(block: range):
    """(seed, expression, point) for the seeds of a block; failures name the seed."""
    for seed in block:
        r = expression(seed)
        yield seed, r, point(r, seed)


@pytest.mark.parametrize("block", BLOCKS, ids=BLOCK_IDS)
def test_structure(block):
    for seed, r, _ in sweep(block):
        n_vars, variable_powers = config(seed)
        why = f"seed {seed}: {r}"
        assert r.symbols == tuple(sympy.Symbol(f"x{i + 1}", real=True) for i in range(n_vars)), why
        assert all(s.is_real for s in r.symbols), why
        assert r.expr.free_symbols == set(r.symbols), f"a variable was dropped, {why}"
        assert sympy.count_ops(r.expr) <= 40, why
        assert str(r) == str(r.expr), why
        assert not r.expr.atoms(sympy.Float, sympy.NumberSymbol), why
        assert (r.low, r.high) == (-2.0, 2.0), why
        if variable_powers:
            assert any(p.exp.free_symbols for p in r.expr.atoms(sympy.Pow)), why


@pytest.mark.parametrize("block", BLOCKS, ids=BLOCK_IDS)
def test_point_and_value(block):
    for seed, r, x in sweep(block):
        why = f"seed {seed}: {r}"
        assert x.shape == (r.n_vars,) and x.dtype == np.float64, why
        assert np.all((r.low <= x) & (x <= r.high)), why
        value = r.value(x)
        assert isinstance(value, float) and math.isfinite(value) and abs(value) < 1e3, why
        assert r.function()(*x) == pytest.approx(value, rel=1e-12, abs=1e-12), why
        g = r.array_function()
        assert isinstance(g(x), float) and g(x) == pytest.approx(value, rel=1e-12, abs=1e-12), why
        assert g(x.reshape(-1, 1)) == g(x), why  # any shape with n entries


@pytest.mark.parametrize("block", BLOCKS, ids=BLOCK_IDS)
def test_gradient_against_central_difference_and_complex_step(block):
    for seed, r, x in sweep(block):
        grad = r.gradient(x)
        why = f"seed {seed}: {r} at {x.tolist()}, gradient {grad.tolist()}"
        assert grad.shape == (r.n_vars,) and grad.dtype == np.float64 and np.all(np.isfinite(grad)), why
        scale = np.maximum(1.0, np.abs(grad))
        g = r.array_function()
        fd = central_difference(g, x, 1e-6)
        assert np.all(np.abs(fd - grad) <= 1e-6 * scale), f"{why}, central difference {fd.tolist()}"
        h = 1e-30
        cs = np.array([g(x + 1j * h * np.eye(r.n_vars)[i]).imag / h for i in range(r.n_vars)])
        assert np.all(np.abs(cs - grad) <= 1e-10 * scale), f"{why}, complex step {cs.tolist()}"


@pytest.mark.parametrize("block", BLOCKS, ids=BLOCK_IDS)
def test_hessian_symmetric_and_against_differences_of_the_gradient(block):
    for seed, r, x in sweep(block):
        hess = r.hessian(x)
        why = f"seed {seed}: {r} at {x.tolist()}, hessian {hess.tolist()}"
        assert hess.shape == (r.n_vars, r.n_vars) and np.array_equal(hess, hess.T), why
        fd = central_difference(r.gradient, x, 1e-6)
        assert np.all(np.abs(fd - hess) <= 1e-6 * np.maximum(1.0, np.abs(hess))), f"{why}, differences {fd.tolist()}"
        assert np.array_equal(np.diag(hess), [r.partial(x, i, i) for i in range(r.n_vars)]), why


@pytest.mark.parametrize("block", BLOCKS, ids=BLOCK_IDS)
def test_overrides_are_called_and_carry_dual_numbers(block):
    for seed, r, x in sweep(block):
        calls = dict.fromkeys(ELEMENTARY, 0)
        f = r.function(overrides={name: counting(name, calls) for name in ELEMENTARY})
        why = f"seed {seed}: {r}"
        assert f(*x) == r.function()(*x), why
        for name in ELEMENTARY:
            assert (calls[name] > 0) == uses(r.expr, name), f"{name} called {calls[name]} times, {why}"
        assert sum(calls.values()) > 0, why
        # the same function on dual numbers: only +-*/, int powers and the overrides touch them
        grad, value = r.gradient(x), r.value(x)
        for i in range(r.n_vars):
            out = f(*[Dual(float(v), float(i == j)) for j, v in enumerate(x)])
            assert isinstance(out, Dual), why
            assert out.a == pytest.approx(value, rel=1e-12, abs=1e-12), why
            assert out.b == pytest.approx(grad[i], rel=1e-9, abs=1e-9), f"{why}, direction {i}"


def test_numpy_arrays_complex_and_integer_input():
    for seed in range(0, 30, 3):
        r = expression(seed)
        rng = np.random.default_rng(seed)
        xs = np.stack([r.point(rng) for _ in range(7)], axis=1)  # (n, 7)
        values = r.function()(*xs)
        assert values.shape == (7,)
        assert np.allclose(values, [r.value(xs[:, k]) for k in range(7)], rtol=1e-12, atol=1e-12)
        z = point(r, seed) + 0.25j
        assert isinstance(r.function()(*z), complex)
        assert isinstance(r.array_function()(z), complex)
        ints = np.ones(r.n_vars, dtype=int)
        assert r.array_function()(ints) == pytest.approx(r.value(ints.astype(float)), rel=1e-12)


# --------------------------------------------------------------------------- #
# Exact derivatives of higher order
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", range(0, 45, 3))  # one variable
def test_partials_up_to_order_7_are_finite_moderate_and_right(seed):
    r = expression(seed)
    x0 = float(point(r, seed)[0])
    values = [r.partial([x0], *([0] * k)) for k in range(8)]
    assert all(math.isfinite(v) for v in values)
    # documented bound (analytic and |f| <= 1000 on the complex 1/2-neighbourhood)
    assert all(abs(v) <= math.factorial(k) * 1000 * 2**k for k, v in enumerate(values))
    # independent check: mpmath's numerical differentiation at 40 digits
    f_mp = sympy.lambdify(r.symbols, r.expr, modules="mpmath")
    with mpmath.workdps(40):
        for k in range(8):
            ref = float(mpmath.diff(f_mp, mpmath.mpf(x0), k))
            assert values[k] == pytest.approx(ref, rel=1e-10, abs=1e-10 * math.factorial(k)), k


@pytest.mark.parametrize("seed", [1, 2, 4, 5, 7, 8])  # two and three variables
def test_mixed_partials_against_mpmath(seed):
    r = expression(seed)
    x = point(r, seed)
    f_mp = sympy.lambdify(r.symbols, r.expr, modules="mpmath")
    rng = np.random.default_rng(seed)
    for _ in range(3):
        orders = tuple(int(k) for k in rng.integers(0, r.n_vars, size=int(rng.integers(1, 6))))
        counts = tuple(orders.count(i) for i in range(r.n_vars))
        with mpmath.workdps(40):
            ref = float(mpmath.diff(f_mp, [mpmath.mpf(float(v)) for v in x], counts))
        assert r.partial(x, *orders) == pytest.approx(ref, rel=1e-9, abs=1e-9), orders


@pytest.mark.parametrize("seed", range(8))
def test_partial_agrees_with_lambdified_sympy_diff(seed):
    r = random_expression(seed, n_vars=1 + seed % 2, depth=2, variable_powers=seed % 4 == 3)
    x = point(r, seed)
    orders_list = [(), *[(i,) for i in range(r.n_vars)], *[(i, j) for i in range(r.n_vars) for j in range(i, r.n_vars)]]
    if seed < 4:
        orders_list.append((0, 0, r.n_vars - 1))
    for orders in orders_list:
        exact = sympy.lambdify(r.symbols, r.derivative(*orders), modules="mpmath")
        with mpmath.workdps(30):
            ref = float(exact(*[mpmath.mpf(float(v)) for v in x]))
        assert r.partial(x, *orders) == pytest.approx(ref, rel=1e-13, abs=1e-13), orders


def test_known_derivatives():
    x, y = sympy.symbols("x1 x2", real=True)
    r = RandomExpression(sympy.sin(x) * sympy.exp(2 * y), (x, y))
    p = [0.3, -1.2]
    assert r.partial(p, 0, 0, 0, 0, 0, 0, 0) == pytest.approx(-math.cos(0.3) * math.exp(-2.4), rel=1e-15)
    assert r.partial(p, 1, 1, 1, 1, 1) == pytest.approx(32 * math.sin(0.3) * math.exp(-2.4), rel=1e-15)
    assert r.partial(p, 0, 1, 1) == pytest.approx(4 * math.cos(0.3) * math.exp(-2.4), rel=1e-15)
    assert r.partial(p, 0, 1) == r.partial(p, 1, 0)
    assert r.derivative(0, 0, 1) == sympy.diff(r.expr, x, x, y) == r.derivative(1, 0, 0)
    assert r.derivative() == r.expr
    assert r.partial(p) == r.value(p)

    q = RandomExpression((x**2 + 1) ** sympy.sin(y) + sympy.log(x**2 + 1) / sympy.sqrt(y**2 + 1), (x, y))
    at_p = {x: sympy.Float(0.3, 40), y: sympy.Float(-1.2, 40)}
    for orders in [(0, 1), (1, 1, 1, 1), (0, 0, 0, 1, 1)]:
        exact = sympy.diff(q.expr, *[q.symbols[i] for i in orders]).evalf(30, subs=at_p)
        assert q.partial(p, *orders) == pytest.approx(float(exact), rel=1e-15), orders

    t = RandomExpression(sympy.tan(x / 2), (x,))
    assert t.partial([0.0], 0, 0, 0) == pytest.approx(0.25, rel=1e-15)  # tan(x/2) = x/2 + x**3/24 + ...


def test_derivative_and_point_errors():
    r = expression(1)  # two variables
    with pytest.raises(IndexError):
        r.derivative(2)
    with pytest.raises(IndexError):
        r.partial([0.0, 0.0], -1)
    with pytest.raises(TypeError):
        r.derivative(0.5)
    with pytest.raises(ValueError):
        r.gradient([0.0])
    with pytest.raises(ValueError):
        r.array_function()(np.zeros(3))
    with pytest.raises(TypeError):
        r.value([0.0, 1j])
    with pytest.raises(TypeError):
        r.point("seed")


def test_generator_argument_errors():
    with pytest.raises(ValueError):
        random_expression(0, n_vars=0)
    with pytest.raises(ValueError):
        random_expression(0, depth=-1)
    with pytest.raises(ValueError):
        random_expression(0, functions=("sinh",))
    with pytest.raises(TypeError):
        random_expression("0")
    with pytest.raises(ValueError):
        random_vector_function(0, n_vars=2, n_outputs=0)


# --------------------------------------------------------------------------- #
# Safety and the generator's options
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", range(0, 200, 4))
def test_log_sqrt_tan_and_divisors_are_safe(seed):
    r = expression(seed)
    rng = np.random.default_rng(seed)
    xs = rng.uniform(r.low, r.high, size=(r.n_vars, 400))
    xs[:, 0], xs[:, 1] = r.low, r.high  # corners too

    def values(sub):
        return np.broadcast_to(sympy.lambdify(r.symbols, sub, modules="numpy")(*xs), xs.shape[1:])

    for sub in sympy.preorder_traversal(r.expr):
        if isinstance(sub, sympy.log) or (isinstance(sub, sympy.Pow) and not sub.exp.is_Integer):
            argument = sub.args[0]  # log argument, sqrt radicand or base of a variable power
            assert values(argument).min() >= 0.3, str(sub)
        elif isinstance(sub, sympy.tan):
            assert np.abs(values(sub.args[0])).max() <= 1.0 + 1e-12, str(sub)
        elif isinstance(sub, sympy.Pow) and sub.exp.is_negative:
            assert np.abs(values(sub.base)).min() >= 0.3, str(sub)
        elif isinstance(sub, sympy.exp):
            assert np.abs(values(sub.args[0])).max() <= 2.5, str(sub)


def test_depth_controls_size():
    mean_ops = {d: {} for d in (1, 2, 3)}
    for n_vars in (1, 2, 3):
        for d in (1, 2):
            mean_ops[d][n_vars] = np.mean([sympy.count_ops(random_expression(s, n_vars, d).expr) for s in range(10)])
        mean_ops[3][n_vars] = np.mean([sympy.count_ops(expression(s).expr) for s in range(n_vars - 1, 200, 3)])
        assert mean_ops[1][n_vars] < mean_ops[2][n_vars] < mean_ops[3][n_vars] <= 40, mean_ops
    assert all(sympy.count_ops(random_expression(s, 1, 1).expr) <= 20 for s in range(10))
    assert random_expression(0, 2, depth=0).expr.is_polynomial()


@pytest.mark.parametrize("functions", [("sin",), ("log", "sqrt"), ("tan", "exp"), ("tanh",), ()])
def test_only_the_requested_functions_occur(functions):
    for seed in range(6):
        r = random_expression(seed, n_vars=2, depth=3, functions=functions)
        present = {name for name in ELEMENTARY if uses(r.expr, name)}
        assert present <= set(functions), (functions, str(r))
        if functions:
            assert present, str(r)
        assert r.expr.free_symbols == set(r.symbols)


# --------------------------------------------------------------------------- #
# Vector functions
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(("seed", "n", "m"), [(0, 3, 2), (1, 2, 4), (2, 1, 3), (3, 3, 1), (4, 2, 3)])
def test_vector_function_jacobian(seed, n, m):
    F = random_vector_function(seed, n_vars=n, n_outputs=m)
    assert len(F.exprs) == m and len(set(F.exprs)) == m
    assert F.symbols == tuple(sympy.Symbol(f"x{i + 1}", real=True) for i in range(n))
    assert set().union(*(e.free_symbols for e in F.exprs)) == set(F.symbols)
    x = F.point(np.random.default_rng(seed))
    assert x.shape == (n,) and np.all((F.low <= x) & (x <= F.high))
    values = F.value(x)
    Fx = F.array_function()(x)
    assert values.shape == Fx.shape == (m,) and Fx.dtype == np.float64
    assert np.allclose(Fx, values, rtol=1e-12, atol=1e-12)
    jac = F.jacobian(x)
    assert jac.shape == (m, n)
    fd = central_difference(F.array_function(), x, 1e-6)
    assert fd.shape == (m, n)
    assert np.all(np.abs(fd - jac) <= 1e-6 * np.maximum(1.0, np.abs(jac)))
    h = 1e-30
    cs = np.stack([F.array_function()(x + 1j * h * np.eye(n)[j]).imag / h for j in range(n)], axis=1)
    assert np.all(np.abs(cs - jac) <= 1e-10 * np.maximum(1.0, np.abs(jac)))
    assert str(random_vector_function(seed, n, m)) == str(F)
