"""The thorough self-check: every graded check again, on fresh random cases (for self-learners).

The hidden tests of an assignment need no secret: their truth comes from oracles and their inputs
from seeds. This module holds, per assignment and per graded test cell, the checks that cell's hidden
tests run (the same public `autograder.checks` functions, with the same sizes and counts), and runs
them on cases drawn from a *run seed*: each case gets its own seed, derived from the run seed, that is
at least `FIRST_SEED`. The graded tests only use seeds below it (a test of the course checks that), so
the thorough check reveals nothing of the graded cases, and a learner who passes it has passed tests
of the same strength. Fixed points of the hidden tests (an `x`, a tangent) are drawn at random too.

Only the standard library is used, so the thorough check runs in a browser kernel (JupyterLite) like
the plain self-check.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

FIRST_SEED = 1_000_000  # every seed of a thorough case is at least this; the graded tests use smaller ones
SEED_SPAN = 2**31 - FIRST_SEED
ELEMENTARY = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")


@dataclass(frozen=True)
class Uniform:
    """A keyword argument drawn uniformly from [low, high] for each case (rounded to 4 digits)."""

    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return round(rng.uniform(self.low, self.high), 4)


@dataclass(frozen=True)
class OneOf:
    """A keyword argument drawn from `options` for each case."""

    options: tuple[Any, ...]

    def draw(self, rng: random.Random) -> Any:
        return rng.choice(self.options)


@dataclass(frozen=True)
class Ref:
    """A keyword argument that is one of the student's objects, by its name in the notebook."""

    name: str


@dataclass(frozen=True)
class Names:
    """A positional argument that is a tuple of the student's objects, e.g. (sin, cos, ...)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    """One check a test cell's hidden tests run: `check` is a function of `autograder.checks.<module>`.

    `args` are names of the student's notebook (functions, classes) or `Names`; `kwargs` are passed
    as they are, drawn per case when they are `Uniform`/`OneOf`, or looked up when a `Ref`. `seeded`
    calls get `seed=<case seed>`; `cases` is how many times the call runs, each with its own seed.
    """

    module: str
    check: str
    args: tuple[str | Names, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seeded: bool = True
    cases: int = 2


DUAL_FUNCTIONS = Names(ELEMENTARY)

PLANS: dict[str, dict[str, tuple[Call, ...]]] = {
    "01_numerical": {
        "forward_difference": (
            Call("numerical", "check_forward_difference", ("forward_difference",)),
            Call("numerical", "check_forward_difference", ("forward_difference",), {"h": OneOf((1e-2, 1e-3))}),
        ),
        "central_difference": (
            Call("numerical", "check_central_difference", ("central_difference",)),
            Call("numerical", "check_central_difference", ("central_difference",), {"h": OneOf((1e-2, 1e-3))}),
        ),
        "numerical_gradient": (
            Call("numerical", "check_numerical_gradient", ("numerical_gradient",), {"count": 4}),
            Call("numerical", "check_numerical_gradient", ("numerical_gradient",), {"count": 3, "h": 1e-3}),
        ),
        "numerical_gradient_cost": (
            Call("numerical", "check_numerical_gradient", ("numerical_gradient",), {"count": 3, "method": "forward"}),
            Call(
                "numerical",
                "check_numerical_gradient",
                ("numerical_gradient",),
                {"count": 3, "method": "central", "counts_only": True},
            ),
        ),
        "numerical_jacobian": (
            Call("numerical", "check_numerical_jacobian", ("numerical_jacobian",), {"count": 3}),
            Call("numerical", "check_numerical_jacobian", ("numerical_jacobian",), {"count": 2, "h": 1e-3}),
        ),
        "relative_error": (Call("numerical", "check_relative_error", ("relative_error",), {"count": 6}),),
        "gradient_check": (Call("numerical", "check_gradient_check", ("gradient_check",), {"count": 3}),),
        "complex_step": (
            Call("numerical", "check_complex_step", ("complex_step",)),
            Call("numerical", "check_complex_step", ("complex_step",), {"h": OneOf((1e-2, 1e-3))}),
        ),
        "step_size_errors": (
            Call(
                "numerical",
                "check_step_size_errors",
                ("step_size_errors",),
                {
                    "f": OneOf(("log(x**2 + 1)*cos(x)", "exp(sin(x))", "x**3 - 2*x", "sin(x)*exp(-x**2)")),
                    "x": Uniform(-1.5, 1.5),
                    "method": OneOf(("forward", "central", "complex")),
                },
                seeded=False,
                cases=3,
            ),
        ),
        "best_step": (Call("numerical", "check_best_step", ("best_step",), seeded=False, cases=1),),
    },
    "02_symbolic": {
        "derivative_rules_basic": (
            Call(
                "symbolic",
                "check_derivative_rules",
                ("derivative_rules",),
                {"count": 4, "n_vars": 2, "depth": 1, "functions": ()},
            ),
        ),
        "derivative_rules_chain": (
            Call(
                "symbolic",
                "check_derivative_rules",
                ("derivative_rules",),
                {"count": 4, "depth": 2, "functions": ("sin", "cos", "tan", "exp", "log")},
            ),
            Call("symbolic", "check_derivative_rules", ("derivative_rules",), {"count": 2, "variable_powers": True}),
        ),
        "derivative_rules_random": (
            Call("symbolic", "check_derivative_rules", ("derivative_rules",), {"count": 4, "n_vars": 2, "depth": 3}),
            Call(
                "symbolic",
                "check_derivative_rules",
                ("derivative_rules",),
                {"count": 2, "n_vars": 2, "depth": 2, "variable_powers": True},
            ),
        ),
        "gradient_expr": (Call("symbolic", "check_gradient_expr", ("gradient_expr",), {"count": 3}),),
        "jacobian_expr": (Call("symbolic", "check_jacobian_expr", ("jacobian_expr",), {"count": 3}),),
        "hessian_expr": (Call("symbolic", "check_hessian_expr", ("hessian_expr",), {"count": 3}),),
        "logistic_map": (
            Call(
                "symbolic",
                "check_logistic_map",
                ("logistic_map",),
                {"n": OneOf((2, 3, 4, 5, 6)), "variable": OneOf(("x", "t", "u"))},
                seeded=False,
                cases=3,
            ),
        ),
        "expression_swell": (
            Call("symbolic", "check_expression_swell", ("expression_swell",), {"n_max": 5}, seeded=False, cases=1),
        ),
        "to_function": (Call("symbolic", "check_to_function", ("to_function",), {"count": 3}),),
    },
    "03_forward": {
        "dual_arithmetic": (Call("forward", "check_dual_arithmetic", ("Dual",), {"count": 4}),),
        "dual_functions": (
            Call(
                "forward",
                "check_elementary",
                ("Dual", DUAL_FUNCTIONS),
                {"x": Uniform(0.2, 1.4), "tangent": Uniform(-2.0, 2.0)},
                seeded=False,
            ),
            Call("forward", "check_dual_expression", ("Dual", DUAL_FUNCTIONS), {"count": 4}),
        ),
        "dual_powers": (Call("forward", "check_dual_powers", ("Dual",), {"count": 3}),),
        "dual_vectorized": (Call("forward", "check_dual_vectorized", ("Dual", DUAL_FUNCTIONS), {"count": 2}),),
        "forward_trace": (Call("forward", "check_tangent_trace", ("tangent_trace",), {"count": 3}),),
        "derivative": (Call("forward", "check_derivative", ("derivative", DUAL_FUNCTIONS), {"count": 4}),),
        "jvp": (Call("forward", "check_jvp", ("jvp", DUAL_FUNCTIONS), {"count": 4}),),
        "jacobian_forward": (
            Call("forward", "check_jacobian_forward", ("jacobian_forward", DUAL_FUNCTIONS), {"count": 4}),
        ),
        "programs": (Call("programs", "check_programs", ("derivative", "Dual", DUAL_FUNCTIONS), {"count": 9}),),
    },
    "04_reverse": {
        "var_arithmetic": (Call("reverse", "check_var_arithmetic", ("Var",), {"count": 2}),),
        "var_functions": (
            Call(
                "reverse",
                "check_var_functions",
                ("Var", DUAL_FUNCTIONS),
                {"x": Uniform(0.2, 1.4), "relu": Ref("relu")},
                seeded=False,
            ),
            Call("reverse", "check_var_expression", ("Var", DUAL_FUNCTIONS), {"count": 4}),
        ),
        "backward_graph": (
            Call(
                "reverse",
                "check_backward_graph",
                ("Var",),
                {"graphs": ("shared", "accumulate", "diamond", "chain"), "a": Uniform(-1.5, 1.5)},
                seeded=False,
            ),
        ),
        "reverse_trace": (Call("reverse", "check_adjoint_trace", ("adjoint_trace",), {"count": 3}),),
        "grad": (Call("reverse", "check_grad", ("grad", "Var", DUAL_FUNCTIONS), {"count": 4}),),
        "vjp": (Call("reverse", "check_vjp", ("vjp", "Var", DUAL_FUNCTIONS), {"count": 4}),),
        "jacobian_reverse": (
            Call("reverse", "check_jacobian_reverse", ("jacobian_reverse", "Var", DUAL_FUNCTIONS), {"count": 4}),
        ),
        "programs": (
            Call("programs", "check_programs", ("grad", "Var", DUAL_FUNCTIONS), {"count": 9, "mode": "grad"}),
        ),
        "jacobian_chain": (
            Call("jacobian_chain", "check_bracketing_cost", ("bracketing_cost",), {"count": 6}),
            Call("jacobian_chain", "check_mode_costs", ("forward_cost", "reverse_cost"), {"count": 4}),
            Call("jacobian_chain", "check_cheapest_bracketing", ("cheapest_bracketing",), {"count": 8}),
        ),
    },
    "05_vjp": {
        "unbroadcast": (Call("vjp", "check_unbroadcast", ("unbroadcast",), cases=3),),
        "tensor": (Call("vjp", "check_tensor", ("Tensor",), {"unbroadcast": Ref("unbroadcast")}, cases=2),),
        "tensor_recording": (
            Call(
                "tensor_recording",
                "check_tensor_recording",
                ("Tensor",),
                {"unbroadcast": Ref("unbroadcast")},
                cases=2,
            ),
        ),
        "matmul_vjp": (Call("vjp", "check_matmul_vjp", ("matmul_vjp",), cases=3),),
        "linear_backward": (Call("vjp", "check_linear_backward", ("linear_backward",), cases=3),),
        "quadratic_form_grad": (Call("vjp", "check_quadratic_form_grad", ("quadratic_form_grad",), cases=3),),
        "softmax_cross_entropy": (
            Call(
                "vjp",
                "check_softmax_cross_entropy",
                ("softmax_cross_entropy", "softmax_cross_entropy_vjp"),
                cases=3,
            ),
        ),
        "solve_vjp": (Call("vjp", "check_solve_vjp", ("solve_vjp",), cases=3),),
        "svd_vjp": (Call("svd", "check_svd_vjp", ("svd_vjp",), cases=3),),
    },
    "06_backprop": {
        "linear": (Call("backprop", "check_linear", ("Linear", "Tensor")),),
        "sequential": (Call("backprop", "check_sequential", ("Sequential", "Linear", "ReLU", "Tensor")),),
        "mlp_forward": (Call("backprop", "check_mlp_forward", ("mlp_forward",)),),
        "mlp_backward": (Call("backprop", "check_mlp_backward", ("mlp_backward",)),),
        "train": (
            Call("backprop", "check_train", ("train", "Tensor"), {"task": "determinism"}, seeded=False, cases=1),
            Call("backprop", "check_train", ("train", "Tensor"), {"task": "steps"}, cases=1),
        ),
        "train_digits": (Call("backprop", "check_train", ("train", "Tensor"), {"task": "ten digits"}, cases=1),),
        "gradient_cost_ratio": (
            Call(
                "backprop",
                "check_gradient_cost_ratio",
                ("gradient_cost_ratio", "network_loss", "network_gradient"),
                cases=1,
            ),
        ),
    },
    "07_higher_order": {
        "hvp": (Call("higher_order", "check_hvp", ("hvp", "Var", DUAL_FUNCTIONS), {"count": 4}),),
        "hessian": (Call("higher_order", "check_hessian", ("hessian", "Var", DUAL_FUNCTIONS), {"count": 4}),),
        "newton_step": (
            Call("higher_order", "check_newton_step", ("newton_step", "Var", DUAL_FUNCTIONS), {"count": 4}),
        ),
        "derivative": (Call("higher_order", "check_nested_derivative", ("derivative", DUAL_FUNCTIONS)),),
        "no_grad": (Call("higher_order", "check_no_grad", ("no_grad", "Var"), seeded=False, cases=1),),
        "checkpoint": (Call("higher_order", "check_checkpoint", ("checkpoint", "Var", DUAL_FUNCTIONS), {"count": 3}),),
    },
}


def case_seed(run_seed: int, exercise: str, call: int, case: int) -> int:
    """The seed of one thorough case: at least FIRST_SEED, a pure function of its arguments."""
    digest = hashlib.sha256(f"{run_seed}:{exercise}:{call}:{case}".encode()).digest()
    return FIRST_SEED + int.from_bytes(digest[:8], "big") % SEED_SPAN


def new_run_seed() -> int:
    """A run seed for a learner who gave none (printed, so that the run can be repeated)."""
    return random.SystemRandom().randrange(1, 1_000_000)


def plan_for(test_names: Sequence[str]) -> tuple[str, dict[str, tuple[Call, ...]]] | None:
    """The assignment whose plan covers the most of `test_names` (the notebook's graded cells), or None."""
    best, overlap = None, 0
    for assignment, plan in PLANS.items():
        shared = len(set(plan) & set(test_names))
        if shared > overlap:
            best, overlap = assignment, shared
    return None if best is None else (best, PLANS[best])


def _tuple_code(names: Sequence[str]) -> str:
    """A tuple of the student's objects as Python code: (sin, cos), or (sin,) for one."""
    return f"({', '.join(names)}{',' if len(names) == 1 else ''})"


def _literal(value: Any) -> str:
    return value.name if isinstance(value, Ref) else repr(value)


def case_code(call: Call, seed: int) -> str:
    """The code of one case, as a learner could type it in a cell to repeat it."""
    rng = random.Random(seed)
    args = [_tuple_code(a.names) if isinstance(a, Names) else a for a in call.args]
    kwargs = {
        key: value.draw(rng) if isinstance(value, Uniform | OneOf) else value for key, value in call.kwargs.items()
    }
    parts = args + [f"{key}={_literal(value)}" for key, value in kwargs.items()]
    if call.seeded:
        parts.append(f"seed={seed}")
    return f"from autograder.checks.{call.module} import {call.check}\n{call.check}({', '.join(parts)})\n"


@dataclass(frozen=True)
class Case:
    """One case to run: the exercise (test cell) it belongs to and the code that runs it."""

    exercise: str
    seed: int
    code: str


def cases(plan: Mapping[str, Sequence[Call]], run_seed: int, exercises: Sequence[str]) -> list[Case]:
    """Every case of the run, exercise by exercise in the order of `exercises`."""
    found = []
    for exercise in exercises:
        for index, call in enumerate(plan.get(exercise, ())):
            for number in range(call.cases):
                seed = case_seed(run_seed, exercise, index, number)
                found.append(Case(exercise, seed, case_code(call, seed)))
    return found


@dataclass(frozen=True)
class ExerciseResult:
    """How one exercise did on its random cases; `failing_case` is the line that repeats the first failing
    case, `message` and `diagnosis` what its check said."""

    name: str
    cases: int
    passed_cases: int
    seconds: float
    skipped: str = ""
    failing_case: str = ""
    message: str = ""
    diagnosis: str = ""

    @property
    def passed(self) -> bool:
        return not self.skipped and self.passed_cases == self.cases


def run(
    namespace: dict[str, Any],
    plan: Mapping[str, Sequence[Call]],
    run_seed: int,
    exercises: Sequence[str],
    skip: Mapping[str, str] | None = None,
) -> list[ExerciseResult]:
    """Run every case of `exercises` in the student's `namespace`; `skip` maps exercises to a reason."""
    from autograder.self_check import VisibleTest, run_test  # one way to run test code and explain failures

    results = []
    everything = cases(plan, run_seed, exercises)
    for exercise in exercises:
        mine = [case for case in everything if case.exercise == exercise]
        if not mine:
            continue
        if skip and exercise in skip:
            results.append(ExerciseResult(exercise, len(mine), 0, 0.0, skipped=skip[exercise]))
            continue
        start, passed, first = time.perf_counter(), 0, None
        for case in mine:
            outcome = run_test(VisibleTest(exercise, 1.0, case.code), namespace)
            if outcome.passed:
                passed += 1
            elif first is None:
                first = (case, outcome)
        seconds = time.perf_counter() - start
        if first is None:
            results.append(ExerciseResult(exercise, len(mine), passed, seconds))
        else:
            case, outcome = first
            code = case.code.strip().splitlines()[-1]
            results.append(
                ExerciseResult(exercise, len(mine), passed, seconds, "", code, outcome.message, outcome.diagnosis)
            )
    return results


def traced(results: Sequence[ExerciseResult]) -> list[ExerciseResult]:
    """`results` with each failing exercise's message starting with "`hvp` fails above: fix it first."
    when an exercise it builds on (`autograder.exercise_dependencies`) failed or was not run above."""
    from autograder import exercise_dependencies as dependencies

    assignment = dependencies.assignment_of([r.name for r in results])
    if assignment is None:
        return list(results)
    table = dependencies.BUILDS_ON[assignment]
    failing = {r.name for r in results if not r.passed}
    return [
        r
        if r.passed or r.skipped
        else replace(r, message=dependencies.traced(r.message, dependencies.failing_cause(table, r.name, failing)))
        for r in results
    ]


def summary(results: Sequence[ExerciseResult], notebook: str, run_seed: int) -> str:
    """The text the thorough check prints after the plain self-check."""
    lines = [
        f"Thorough self-check of {notebook}, run seed {run_seed}: every graded check again, on fresh random",
        "cases from seeds the graded tests never use. To repeat this run exactly:",
        f'    self_check("{notebook}", thorough=True, seed={run_seed})',
        "",
    ]
    if not results:
        return "\n".join([*lines, "Thorough self-check: no exercise of this notebook has random cases."])
    width = max(len(r.name) for r in results)
    for r in results:
        if r.skipped:
            lines.append(f"- {r.name:<{width}}  not run: {r.skipped}")
            continue
        mark = "✓" if r.passed else "✗"
        lines.append(f"{mark} {r.name:<{width}}  {r.passed_cases} of {r.cases} random cases pass ({r.seconds:.1f} s)")
        if not r.passed:
            lines.append(f"      first failing case: {r.failing_case}")
            lines.extend("      " + line for line in r.message.splitlines() if line.strip())
    ran = [r for r in results if not r.skipped]
    failing = [r for r in ran if not r.passed]
    left_out = f"; {len(results) - len(ran)} not run (fix their visible tests first)" if len(ran) < len(results) else ""
    lines.append("")
    if not ran:
        lines.append("Thorough self-check: nothing run yet: every exercise's visible test fails (fix those first).")
    elif failing:
        lines.append(f"Thorough self-check: {len(failing)} of {len(ran)} exercises fail a random case{left_out}.")
    elif left_out:
        ran_text = "the one exercise run passes" if len(ran) == 1 else f"the {len(ran)} exercises run pass"
        lines.append(f"Thorough self-check: {ran_text} every random case{left_out}.")
    else:
        lines.append(f"Thorough self-check: all {len(results)} exercises pass every random case.")
    return "\n".join(lines)
