"""Checks for the Jacobian chain of unit 04: the cost of a bracketing, forward and reverse mode as two
association orders, and the cheapest bracketing.

The contract (release/04_reverse, section 7): a chain J = J_k ... J_2 J_1 is given by `dims`, a list of
k + 1 positive ints [d_0, d_1, ..., d_k], and J_i has shape (d_i, d_{i-1}). A *bracketing* is an int i
(the factor J_i alone) or a pair (left, right) of bracketings, meaning left @ right; a bracketing of
the whole chain holds the factors k, k-1, ..., 1 in that order (the left operand has the higher
indices). Multiplying an (a, b) matrix by a (b, c) one costs a*b*c multiplications; a bracketing
costs the sum over its products.

The oracle is brute force: every bracketing of the chain (a Catalan number of them, at most 429 for
the k <= 8 factors used here), each costed by the recursive definition above. Any bracketing of least
cost earns full marks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from autograder.feedback import Mistake, failure, raised, show
from autograder.inputs import rng
from autograder.observations import Foreign
from autograder.runtime import Observation, run_check

Bracketing = Any  # an int i, or a pair (left, right) of bracketings
WHERE = "section 8 (The Jacobian chain: forward and reverse as two bracketings) of notebooks/04_reverse.ipynb"
CONTRACT = "section 7 (The Jacobian chain) of 04_reverse.ipynb"

TWICE = Mistake(
    "twice the multiplications",
    "the cost counts multiplications, a*b*c for an (a, b) @ (b, c) product; the lecture's 2abc counts the "
    "additions too.",
    CONTRACT,
)
LAST_PRODUCT_ONLY = Mistake(
    "only the last product counted",
    "a bracketing (left, right) costs what forming left costs, plus what forming right costs, plus the "
    "product rows(left) * cols(left) * cols(right).",
    CONTRACT,
)
PURE_MODES_ONLY = Mistake(
    "only forward and reverse compared",
    "the cheapest bracketing may be mixed, e.g. (J4 J3)(J2 J1) for an hourglass chain: take the best split "
    "of J_hi ... J_lo over every split point, each half formed in its own cheapest way (dynamic programming).",
    WHERE,
)
GREEDY = Mistake(
    "a greedy choice of the next product",
    "multiplying the cheapest neighbouring pair first is not optimal in general: compare every split point "
    "of J_hi ... J_lo, each half formed in its own cheapest way (dynamic programming).",
    WHERE,
)
MODES_SWAPPED = Mistake(
    "forward and reverse swapped",
    "forward mode is right-to-left association, J_k(...(J_2 J_1)): its running product has d_0 columns; reverse "
    "mode is left-to-right, ((J_k J_{k-1})...)J_1: its running product has d_k rows.",
    WHERE,
)

# --- the oracle ----------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def shape_of(bracketing: Bracketing, dims: Sequence[int]) -> tuple[int, int, int, int]:
    """(hi, lo, rows, cols) of a valid bracketing of J_hi ... J_lo; ValueError if it is not one."""
    if _is_int(bracketing):
        i = int(bracketing)
        if not 1 <= i < len(dims):
            raise ValueError(f"{i} is not a factor: they are numbered 1 to {len(dims) - 1}")
        return i, i, dims[i], dims[i - 1]
    if not isinstance(bracketing, tuple | list) or len(bracketing) != 2:
        raise ValueError(f"{show(bracketing, 60)} is neither an int nor a pair (left, right)")
    hi_l, lo_l, rows, _ = shape_of(bracketing[0], dims)
    hi_r, lo_r, _, cols = shape_of(bracketing[1], dims)
    if lo_l != hi_r + 1:
        raise ValueError(
            f"{show(bracketing, 60)}: the left part must end at J_{hi_r + 1}, the factor just left of J_{hi_r}"
        )
    return hi_l, lo_r, rows, cols


def cost(bracketing: Bracketing, dims: Sequence[int]) -> int:
    """Multiplications (a*b*c per product) of a valid bracketing."""
    if _is_int(bracketing):
        return 0
    left, right = bracketing
    _, _, rows, inner = shape_of(left, dims)
    _, _, _, cols = shape_of(right, dims)
    return cost(left, dims) + cost(right, dims) + rows * inner * cols


@lru_cache(maxsize=256)
def _all(hi: int, lo: int) -> tuple[Bracketing, ...]:
    if hi == lo:
        return (hi,)
    return tuple(
        (left, right) for split in range(hi, lo, -1) for left in _all(hi, split) for right in _all(split - 1, lo)
    )


def all_bracketings(k: int) -> tuple[Bracketing, ...]:
    """Every bracketing of J_k ... J_1 (brute force: a Catalan number of them)."""
    return _all(k, 1)


def least_cost(dims: Sequence[int]) -> int:
    """The brute-force minimum over every bracketing."""
    return min(cost(b, dims) for b in all_bracketings(len(dims) - 1))


def forward_bracketing(k: int) -> Bracketing:
    """J_k(...(J_2 J_1)): right to left."""
    b: Bracketing = 1
    for i in range(2, k + 1):
        b = (i, b)
    return b


def reverse_bracketing(k: int) -> Bracketing:
    """((J_k J_{k-1})...)J_1: left to right."""
    b: Bracketing = k
    for i in range(k - 1, 0, -1):
        b = (b, i)
    return b


def _greedy_cost(dims: Sequence[int]) -> int:
    """The cost of multiplying the cheapest neighbouring pair first, again and again (a wrong strategy)."""
    shapes = [(dims[i], dims[i - 1]) for i in range(len(dims) - 1, 0, -1)]  # J_k first
    total = 0
    while len(shapes) > 1:
        j = min(range(len(shapes) - 1), key=lambda t: shapes[t][0] * shapes[t][1] * shapes[t + 1][1])
        total += shapes[j][0] * shapes[j][1] * shapes[j + 1][1]
        shapes[j : j + 2] = [(shapes[j][0], shapes[j + 1][1])]
    return total


def _top_product(bracketing: Bracketing, dims: Sequence[int]) -> int:
    if _is_int(bracketing):
        return 0
    _, _, rows, inner = shape_of(bracketing[0], dims)
    return rows * inner * shape_of(bracketing[1], dims)[3]


def text(bracketing: Bracketing) -> str:
    """(J4 (J3 J2)) J1-style reading of a bracketing."""
    if _is_int(bracketing):
        return f"J{int(bracketing)}"
    return f"({text(bracketing[0])} {text(bracketing[1])})"


def random_dims(seed: int, k: int) -> list[int]:
    """Case k of a seeded run: a chain of 1 to 8 factors, sizes 1 to 60, some shaped like an hourglass."""
    generator = rng(seed * 100 + k)
    factors = int(generator.integers(1, 9)) if k else 1 + int(generator.integers(2, 8))
    dims = [int(d) for d in generator.integers(1, 61, size=factors + 1)]
    if k % 3 == 2 and factors >= 3:  # an hourglass: a narrow middle
        dims[len(dims) // 2] = int(generator.integers(1, 4))
    return dims


# --- reading numbers ---------------------------------------------------------------------------------


def _count(value: Any, call: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        kind = value.type_name if isinstance(value, Foreign) else type(value).__name__
        raise failure(call, f"the {what} is a {kind} ({show(value, 60)}), not a number.")
    if not float(value).is_integer():
        raise failure(call, f"the {what} {show(value)} is not a whole number of multiplications.")
    return int(value)


def _cases(dims: Sequence[int] | None, seed: int | None, count: int) -> list[list[int]]:
    if seed is None:
        return [[int(d) for d in dims or ()]]
    return [random_dims(seed, k) for k in range(count)]


# --- the checks ----------------------------------------------------------------------------------------


def check_bracketing_cost(
    bracketing_cost: Callable,
    dims: Sequence[int] | None = None,
    bracketing: Bracketing = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check bracketing_cost(dims, bracketing) = the multiplications of that bracketing; with a seed,
    random chains, each with a random bracketing plus the forward and the reverse one."""
    __tracebackhide__ = True
    if seed is None:
        cases = [(list(dims or ()), bracketing)]
    else:
        generator = rng(seed + 7)
        cases = []
        for chain in _cases(None, seed, count):
            options = all_bracketings(len(chain) - 1)
            cases.append((chain, options[int(generator.integers(len(options)))]))
    for chain, b in cases:
        _bracketing_cost_case(bracketing_cost, chain, b)


def _bracketing_cost_case(student: Callable, dims: list[int], bracketing: Bracketing) -> None:
    def observe() -> Any:
        return student(list(dims), bracketing)

    def judge(obs: Observation) -> None:
        call = f"bracketing_cost({dims}, {bracketing!r})"
        given = f"the bracketing reads {text(bracketing)}"
        if obs.raised:
            raise raised(call, obs.raised, given=given)
        got = _count(obs.value, call, "cost")
        want = cost(bracketing, dims)
        if got != want:
            mistake = None
            if want and got == 2 * want:
                mistake = TWICE
            elif got == _top_product(bracketing, dims) and cost(bracketing, dims) != got:
                mistake = LAST_PRODUCT_ONLY
            raise failure(call, "the cost is wrong.", expected=want, got=got, given=given, mistake=mistake)

    run_check(observe, judge)


def check_mode_costs(
    forward_cost: Callable,
    reverse_cost: Callable,
    dims: Sequence[int] | None = None,
    *,
    seed: int | None = None,
    count: int = 4,
) -> None:
    """Check forward_cost(dims) and reverse_cost(dims): the costs of J_k(...(J_2 J_1)) and ((J_k J_{k-1})...)J_1."""
    __tracebackhide__ = True
    for chain in _cases(dims, seed, count):
        _mode_case(forward_cost, reverse_cost, chain)


def _mode_case(forward: Callable, reverse: Callable, dims: list[int]) -> None:
    def observe() -> dict:
        out = {}
        for name, student in (("forward", forward), ("reverse", reverse)):
            try:
                out[name] = {"value": student(list(dims))}
            except Exception as error:
                out[name] = {"raised": f"{type(error).__name__}: {error}"[:300]}
        return out

    def judge(obs: Observation) -> None:
        k = len(dims) - 1
        wants = {"forward": cost(forward_bracketing(k), dims), "reverse": cost(reverse_bracketing(k), dims)}
        if obs.raised or not isinstance(obs.value, dict):
            raise raised(f"forward_cost({dims})", obs.raised or "no result")
        for name, other in (("forward", "reverse"), ("reverse", "forward")):
            call = f"{name}_cost({dims})"
            bracket = forward_bracketing(k) if name == "forward" else reverse_bracketing(k)
            given = f"{name} mode multiplies {text(bracket)}"
            outcome = obs.value.get(name) or {}
            if "raised" in outcome:
                raise raised(call, str(outcome["raised"]), given=given)
            got = _count(outcome.get("value"), call, "cost")
            if got != wants[name]:
                mistake = None
                if got == wants[other]:
                    mistake = MODES_SWAPPED
                elif got == 2 * wants[name] and got:
                    mistake = TWICE
                raise failure(call, "the cost is wrong.", expected=wants[name], got=got, given=given, mistake=mistake)

    run_check(observe, judge)


def check_cheapest_bracketing(
    cheapest_bracketing: Callable, dims: Sequence[int] | None = None, *, seed: int | None = None, count: int = 4
) -> None:
    """Check cheapest_bracketing(dims) = (least cost, a bracketing of that cost), against brute force."""
    __tracebackhide__ = True
    for chain in _cases(dims, seed, count):
        _cheapest_case(cheapest_bracketing, chain)


def _cheapest_case(student: Callable, dims: list[int]) -> None:
    def observe() -> Any:
        return student(list(dims))

    def judge(obs: Observation) -> None:
        call = f"cheapest_bracketing({dims})"
        k = len(dims) - 1
        if obs.raised:
            raise raised(call, obs.raised)
        out = obs.value
        if not isinstance(out, tuple | list) or len(out) != 2:
            raise failure(call, "must return a pair (cost, bracketing).", got=out)
        got_cost, got_bracketing = _count(out[0], call, "cost"), out[1]
        best = least_cost(dims)
        forward, reverse = cost(forward_bracketing(k), dims), cost(reverse_bracketing(k), dims)
        given = f"J_i has shape (dims[i], dims[i-1]); forward mode costs {forward}, reverse mode {reverse}"
        if got_cost != best:
            mistake = None
            if got_cost == min(forward, reverse) and best < got_cost:
                mistake = PURE_MODES_ONLY
            elif got_cost == _greedy_cost(dims):
                mistake = GREEDY
            elif got_cost == 2 * best:
                mistake = TWICE
            raise failure(
                call,
                "the cost is not the least over all bracketings (found by trying every one).",
                expected=best,
                got=got_cost,
                given=given,
                mistake=mistake,
            )
        try:
            hi, lo, _, _ = shape_of(got_bracketing, dims)
        except ValueError as error:
            raise failure(
                call,
                f"the bracketing is not a bracketing of J{k} ... J1: {error}.",
                given="a bracketing is an int i (J_i) or a pair (left, right), left holding the higher factors",
                got=got_bracketing,
            ) from None
        if (hi, lo) != (k, 1):
            raise failure(call, f"the bracketing covers J{hi} ... J{lo}, not J{k} ... J1.", got=got_bracketing)
        actual = cost(got_bracketing, dims)
        if actual != best:
            raise failure(
                call,
                f"the bracketing {text(got_bracketing)} costs {actual}, not the {best} returned with it.",
                given=given,
                mistake="return the bracketing that achieves the least cost: keep, with each cost, the split that "
                "gave it.",
            )

    run_check(observe, judge)
