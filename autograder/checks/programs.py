"""Checks shared by units 03 and 04: programs whose loops and branches depend on the value.

The lectures' main argument for automatic differentiation is that it differentiates *programs*, not
formulas: a `while` loop that runs until a residual is small, an `if x > c`, a loop of n steps. For
that the number types must compare by value: `<`, `>`, `<=`, `>=`, `==` look at `.value` only (a
`Dual`'s tangent or a `Var`'s identity play no part), with the object or a plain number on either side,
and return a bool. Then the program takes the branches it would take on plain numbers and the
derivative rides along.

`check_comparisons` tries every comparison on objects whose value order differs from their tangent
order; `check_programs` runs programs (Newton's square root with a `while`, piecewise functions, the
logistic map) through the student's own driver (`derivative` in unit 03, `grad` in unit 04) and
compares with the complex step of the same program (Im f(x + ih)/h, numpy's complex128 ordering by
its real part, so the same branches run). A runaway `while` is cut by an iteration limit inside the
program and the whole call by a wall-clock guard (SIGALRM), so a wrong comparison costs the check,
never the cell's time limit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.checks.kit.guard import guarded
from autograder.compare import mismatch, real_array, real_scalar
from autograder.feedback import Mistake, failure, raised
from autograder.finite_differences import complex_step_gradient
from autograder.inputs import rng
from autograder.observations import Foreign
from autograder.runtime import Observation, run_check
from autograder.sympy_oracle import ELEMENTARY

Functions = Mapping[str, Callable] | Sequence[Callable]  # the student's (sin, cos, tan, exp, log, sqrt, tanh)
GUARD_SECONDS = 5.0  # wall-clock limit of one program run through the student's driver
LOOP_LIMIT = 200  # a `while` of these programs ends after at most ~10 iterations with value comparisons
RELATIVE = 1e-8  # the driver and the complex step follow the same path: they agree to rounding
OPERATORS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge, "==": operator.eq}
WHERE = {
    "derivative": "section 5 (Programs, not formulas: loops and branches on the value) of notebooks/03_forward.ipynb",
    "grad": "section 7 (Programs, not formulas) of notebooks/04_reverse.ipynb",
}

# --- the mistakes -------------------------------------------------------------------------------------


def _mistakes(mode: str) -> dict[str, Mistake]:
    kind = "Dual" if mode == "derivative" else "Var"
    where = WHERE[mode]
    return {
        "tangent": Mistake(
            "comparisons on the tangent",
            "compare the values, self.value < other.value: the tangent says how fast the value changes, "
            "not where the program is, so the branches and the loop's end must not depend on it.",
            where,
        ),
        "identity": Mistake(
            "== by object identity",
            f"two {kind}s with equal values are equal: compare self.value == other.value (the default == "
            f"asks whether both are the same object); keep __hash__ = object.__hash__ so that sets and dicts "
            f"of nodes still work.",
            where,
        ),
        "object": Mistake(
            f"a comparison that returns a {kind}",
            f"return the bool self.value < other.value; a {kind} in an `if` or a `while` is always true, so "
            f"every branch and every loop goes the same way.",
            where,
        ),
        "number": Mistake(
            "a number not lifted in a comparison",
            f"a comparison meets plain numbers too (x > 0, 0 < x): compare with the number itself, or lift "
            f"it to a constant {kind} first.",
            where,
        ),
    }


# --- the guard (observing half only) -----------------------------------------------------------------


class LoopNeverEnded(BaseException):  # noqa: N818 - a BaseException, so that `except Exception` lets it pass
    """Raised inside a program's `while` after `LOOP_LIMIT` iterations."""


def _guarded(compute: Callable[[], Any], seconds: float = GUARD_SECONDS) -> dict:
    """`kit.guard.guarded` ({"result"}, {"timed_out"} or {"raised"}), with a program's runaway `while`
    (LoopNeverEnded, raised after LOOP_LIMIT iterations) reported as {"loop": True}."""
    ran_away = object()

    def run() -> Any:
        try:
            return compute()
        except LoopNeverEnded:
            return ran_away

    outcome = dict(guarded(run, seconds))
    return {"loop": True} if outcome.get("result") is ran_away else outcome


# --- comparisons -------------------------------------------------------------------------------------

COMPARISON_CASES = (
    ((1.5, 4.0), (2.5, -1.0)),
    ((2.5, -1.0), (1.5, 4.0)),
    ((1.5, 4.0), (1.5, -3.0)),
    ((1.5, 4.0), 2.0),
    (2.0, (1.5, 4.0)),
    ((2.5, -1.0), 2.5),
    (2.5, (2.5, -1.0)),
    ((-0.5, 2.0), 0),
    (0, (-0.5, 2.0)),
)
"""(left, right) operands: (value, tangent) is an object of the student's class, a number stays one.
Values and tangents are ordered differently, and equal values have different tangents."""


def _make(cls: Any, operand: Any) -> Any:
    """The student's object for (value, tangent): Dual(value, tangent), or Var(value) for a class without tangents."""
    if not isinstance(operand, tuple):
        return operand
    value, tangent = operand
    obj = cls(value)
    if hasattr(obj, "tangent"):
        obj = cls(value, tangent)
    return obj


def _comparison_table(cls: Any, cases: Sequence[tuple[Any, Any]]) -> dict:
    """Every comparison of every case (observing half): a bool, or what came back instead, or the error."""
    table = []
    has_tangent = False
    for left, right in cases:
        row = {}
        for name, op in OPERATORS.items():
            try:
                a, b = _make(cls, left), _make(cls, right)
                has_tangent = has_tangent or hasattr(a, "tangent") or hasattr(b, "tangent")
                got = op(a, b)
                if isinstance(got, bool | np.bool_):
                    row[name] = bool(got)
                else:
                    row[name] = {"type": type(got).__name__, "truth": _truth(got)}
            except Exception as error:
                row[name] = {"raised": f"{type(error).__name__}: {error}"[:200]}
        table.append(row)
    return {"table": table, "tangents": has_tangent}


def _truth(obj: Any) -> bool | None:
    try:
        return bool(obj)
    except Exception:
        return None


def _operand_text(operand: Any, kind: str, tangents: bool) -> str:
    if not isinstance(operand, tuple):
        return repr(operand)
    return f"{kind}({operand[0]!r}, {operand[1]!r})" if tangents else f"{kind}({operand[0]!r})"


def _value(operand: Any) -> float:
    return operand[0] if isinstance(operand, tuple) else operand


def _tangent(operand: Any) -> float:
    return operand[1] if isinstance(operand, tuple) else 0.0


def comparison_mistake(obs: Any, cases: Sequence[tuple[Any, Any]], mode: str) -> Mistake | None:
    """The mistake the comparison table shows, if it shows one clearly (judging half)."""
    if not isinstance(obs, dict) or not isinstance(obs.get("table"), list) or len(obs["table"]) != len(cases):
        return None
    mistakes = _mistakes(mode)
    rows = obs["table"]
    cells = [(case, name, row.get(name)) for case, row in zip(cases, rows, strict=True) for name in OPERATORS]
    if any(isinstance(got, dict) and "type" in got for _, _, got in cells):
        return mistakes["object"]
    with_number = [(c, n, g) for c, n, g in cells if not (isinstance(c[0], tuple) and isinstance(c[1], tuple))]
    if any(isinstance(g, dict) and "raised" in g for _, _, g in with_number) and not any(
        isinstance(g, dict) and "raised" in g for c, n, g in cells if (c, n, g) not in with_number
    ):
        return mistakes["number"]
    if not all(isinstance(got, bool) for _, _, got in cells):
        return None
    wrong = [(case, name, got) for case, name, got in cells if got != OPERATORS[name](_value(case[0]), _value(case[1]))]
    if not wrong:
        return None
    if obs.get("tangents") and all(
        name != "==" and got == OPERATORS[name](_tangent(case[0]), _tangent(case[1])) for case, name, got in wrong
    ):
        return mistakes["tangent"]
    if all(name == "==" and got is False for _, name, got in wrong):
        return mistakes["identity"]
    return None


def _some_comparison_wrong(obs: Any, cases: Sequence[tuple[Any, Any]] = COMPARISON_CASES) -> bool:
    """Whether the observed comparison table (`_comparison_table`) has a cell that is not the right bool
    (a wrong answer, an error or another type); False when the table was not observed."""
    if not isinstance(obs, dict) or not isinstance(obs.get("table"), list) or len(obs["table"]) != len(cases):
        return False
    for case, row in zip(cases, obs["table"], strict=True):
        for name, op in OPERATORS.items():
            got = row.get(name) if isinstance(row, dict) else None
            if not isinstance(got, bool) or got != op(_value(case[0]), _value(case[1])):
                return True
    return False


def check_comparisons(cls: Any, *, mode: str = "derivative") -> None:
    """Check `<, >, <=, >=, ==` of the student's `Dual` (mode "derivative") or `Var` (mode "grad"):
    by value, with an object or a number on either side, each returning a bool."""
    __tracebackhide__ = True
    kind = "Dual" if mode == "derivative" else "Var"
    cases = COMPARISON_CASES

    def observe() -> dict:
        return _comparison_table(cls, cases)

    def judge(obs: Observation) -> None:
        if obs.raised:
            raise raised(f"{kind} comparisons", obs.raised)
        data = obs.value if isinstance(obs.value, dict) else {}
        table, tangents = data.get("table"), bool(data.get("tangents"))
        if not isinstance(table, list) or len(table) != len(cases):
            raise failure(f"{kind} comparisons", "the comparisons could not be observed.")
        for (left, right), row in zip(cases, table, strict=True):
            for name, op in OPERATORS.items():
                call = f"{_operand_text(left, kind, tangents)} {name} {_operand_text(right, kind, tangents)}"
                want = op(_value(left), _value(right))
                got = row.get(name) if isinstance(row, dict) else None
                if isinstance(got, dict) and "raised" in got:
                    if "not supported between instances" in got["raised"]:
                        raise failure(
                            call,
                            f"raised {got['raised']}.",
                            mistake=f"define __lt__, __gt__, __le__, __ge__ and __eq__ in {kind}, each comparing "
                            "the values (a number on the left is handled by Python through the reflected one: "
                            "2 < x calls x.__gt__(2)).",
                        )
                    raise raised(call, got["raised"], mistake=comparison_mistake(data, cases, mode))
                if isinstance(got, dict) and "type" in got:
                    raise failure(
                        call,
                        f"returned a {got['type']}, not a bool.",
                        expected=want,
                        mistake=comparison_mistake(data, cases, mode),
                    )
                if got is not want:
                    raise failure(
                        call,
                        "the comparison is wrong: it must compare the values.",
                        expected=want,
                        got=got,
                        mistake=comparison_mistake(data, cases, mode),
                    )

    run_check(observe, judge)


# --- programs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """A Python program f(x) with loops or branches on the value, its one-line description and its domain."""

    source: str
    text: str


def _newton(tolerance: str = "1e-15") -> Program:
    return Program(
        "def f(a):\n"
        "    y = 0.5\n"
        "    r = a * y * y - 1\n"
        "    steps = 0\n"
        f"    while r * r > {tolerance} * {tolerance}:\n"
        "        y = y * (3 - a * y * y) * 0.5\n"
        "        r = a * y * y - 1\n"
        "        steps += 1\n"
        "        if steps > LOOP_LIMIT:\n"
        "            raise LoopNeverEnded\n"
        "    return a * y\n",
        f"Newton's square root a*y with y <- y*(3 - a*y*y)/2 from y = 0.5, while r*r > {tolerance}**2, r = a*y*y - 1",
    )


def _heron() -> Program:
    return Program(
        "def f(a):\n"
        "    x = a\n"
        "    steps = 0\n"
        "    while x * x - a > 1e-12 * a:\n"
        "        x = (x + a / x) / 2\n"
        "        steps += 1\n"
        "        if steps > LOOP_LIMIT:\n"
        "            raise LoopNeverEnded\n"
        "    return x\n",
        "Heron's square root: x = a; while x*x - a > 1e-12*a: x = (x + a/x)/2",
    )


def _piecewise(condition: str, then: str, otherwise: str) -> Program:
    return Program(
        f"def f(x):\n    if {condition}:\n        return {then}\n    return {otherwise}\n",
        f"f(x) = {then} if {condition}, else {otherwise}",
    )


def _logistic(n: int) -> Program:
    return Program(
        f"def f(x):\n    v = x\n    for _ in range(1, {n}):\n        v = 4 * v * (1 - v)\n    return v\n",
        f"the logistic map l_{n}: v = x, then {n - 1} times v = 4*v*(1 - v)",
    )


PROGRAMS = {
    "newton_sqrt": _newton(),
    "heron_sqrt": _heron(),
    "piecewise": _piecewise("x > 0", "x * x - 2 * x", "x * x * x - 2 * x"),
    "piecewise_cubic": _piecewise("x > 0", "x * x * x", "2 * x"),
    "logistic_map": _logistic(20),
}
"""The lectures' programs by name (notebooks/03 section 5, notebooks/04 section 7)."""

BRANCHES = (
    "x * x * x - 2 * x",
    "sin(x) * x",
    "exp(x / 2) - x",
    "3 * x - x * x",
    "1 / (1 + x * x)",
    "x * exp(-x * x)",
)
TRUE_ABOVE = ("x > {c}", "{c} < x", "x >= {c}", "{c} <= x")
TRUE_BELOW = ("x < {c}", "{c} > x", "x <= {c}", "{c} >= x")


def random_program(seed: int, k: int) -> tuple[Program, float]:
    """Case k of a seeded run: a Newton root at a random a, a piecewise function with a random breakpoint
    and comparison (a number on either side), or the logistic map of random length at a random x."""
    generator = rng(seed * 100 + k)
    kind = k % 3
    if kind == 0:
        program = _newton() if generator.uniform() < 0.5 else _heron()
        return program, round(float(generator.uniform(0.2, 9.0)), 6)
    if kind == 1:
        c = round(float(generator.uniform(-1.0, 1.0)), 3)
        first, second = generator.choice(len(BRANCHES), size=2, replace=False)
        above = generator.uniform() < 0.5
        forms = TRUE_ABOVE if above else TRUE_BELOW
        condition = forms[int(generator.integers(len(forms)))].format(c=c)
        side = 1.0 if generator.uniform() < 0.5 else -1.0
        x = round(c + side * float(generator.uniform(0.2, 1.5)), 6)
        return _piecewise(condition, BRANCHES[int(first)], BRANCHES[int(second)]), x
    n = int(generator.integers(5, 21))
    return _logistic(n), round(float(generator.uniform(0.05, 0.95)), 6)


def _compile(program: Program, functions: Mapping[str, Callable]) -> Callable:
    namespace: dict[str, Any] = {**functions, "LOOP_LIMIT": LOOP_LIMIT, "LoopNeverEnded": LoopNeverEnded}
    exec(compile(program.source, "<program>", "exec"), namespace)  # noqa: S102 - the course's own source
    return namespace["f"]


def _functions_data(functions: Functions) -> dict:
    if not isinstance(functions, Mapping):
        functions = dict(zip(ELEMENTARY, functions, strict=False))
    return {name: functions[name] for name in ELEMENTARY if functions.get(name) is not None}


NUMPY_FUNCTIONS = {name: getattr(np, name) for name in ELEMENTARY}


def program_derivative(program: Program, x: float) -> float:
    """The truth: the complex step Im f(x + ih)/h of the program, run on numpy complex128 (judging half)."""
    f = _compile(program, NUMPY_FUNCTIONS)
    return float(complex_step_gradient(lambda v: f(v[0]), np.array([x]))[0])


def program_value(program: Program, x: float) -> float:
    return float(_compile(program, NUMPY_FUNCTIONS)(x))


def check_programs(
    driver: Callable,
    cls: Any,
    functions: Functions,
    program: str | None = None,
    x: float | None = None,
    *,
    mode: str = "derivative",
    seed: int | None = None,
    count: int = 6,
) -> None:
    """Check the student's driver on a program with loops or branches on the value.

    mode "derivative": `derivative(f, x)` (unit 03) must return the float f'(x); mode "grad":
    `grad(f)(x)` (unit 04) the gradient as an array of shape (1,) (a float is accepted). `program` names
    one of `PROGRAMS`; with a `seed`, `count` random programs (`random_program`). The truth is the
    complex step of the same program; the student's comparisons are observed alongside, to name the
    mistake when the derivative is wrong.
    """
    __tracebackhide__ = True
    if mode not in WHERE:
        raise ValueError(f"mode is 'derivative' or 'grad', not {mode!r}")
    cases = [(PROGRAMS[program], float(x))] if seed is None else [random_program(seed, k) for k in range(count)]
    for case, point in cases:
        _program_case(driver, cls, functions, case, point, mode)


def _program_case(driver: Callable, cls: Any, functions: Functions, program: Program, x: float, mode: str) -> None:
    def observe() -> dict:
        f = _compile(program, _functions_data(functions))
        outcome = _guarded(lambda: driver(f, x)) if mode == "derivative" else _guarded(lambda: driver(f)(x))
        outcome["comparisons"] = _guarded(lambda: _comparison_table(cls, COMPARISON_CASES), 2.0).get("result")
        return outcome

    def judge(obs: Observation) -> None:
        call = f"derivative(f, {x!r})" if mode == "derivative" else f"grad(f)({x!r})"
        given = f"f is the program {program.text}, at x = {x!r}"
        mistake = None
        if isinstance(obs.value, dict):
            mistake = comparison_mistake(obs.value.get("comparisons"), COMPARISON_CASES, mode)
        if obs.raised:
            raise raised(call, obs.raised, given=given, mistake=mistake)
        outcome = obs.value if isinstance(obs.value, dict) else {}
        if outcome.get("loop"):
            raise failure(
                call,
                f"the program's while loop did not end after {LOOP_LIMIT} iterations (on plain numbers it "
                "ends after fewer than 20).",
                given=given,
                mistake=mistake
                or (
                    "the loop's condition compares objects of your class, and some of your comparisons give the "
                    "wrong answer (a probe of <, >, <=, >=, ==): compare the values."
                    if _some_comparison_wrong(obs.value.get("comparisons") if isinstance(obs.value, dict) else None)
                    else None
                ),
            )
        if outcome.get("timed_out"):
            raise failure(call, f"did not finish within {outcome['timed_out']:g} s.", given=given, mistake=mistake)
        if "raised" in outcome:
            raise raised(call, str(outcome["raised"]), given=given, mistake=mistake)
        if "result" not in outcome:
            raise failure(call, "returned nothing that could be observed.", given=given)
        got_raw = outcome["result"]
        if mode == "grad":
            if isinstance(got_raw, list | tuple | np.ndarray | Foreign):
                got = float(real_array(got_raw, (1,), call, "gradient")[0])
            else:
                got = real_scalar(got_raw, f"{call} (gradient)")
        else:
            got = real_scalar(got_raw, f"{call} (result)")
        want = program_derivative(program, x)
        if mismatch(got, want, RELATIVE * (1.0 + abs(want))):
            if mistake is None and abs(got - program_value(program, x)) <= RELATIVE * (1.0 + abs(want)):
                mistake = "return the derivative (the tangent or the input's grad), not the program's value."
            raise failure(
                call,
                "the derivative of the program is wrong (the truth is the complex step of the same program).",
                expected=want,
                got=got,
                given=given,
                mistake=mistake,
            )

    run_check(observe, judge)
