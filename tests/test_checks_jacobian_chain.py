"""Unit 04's Jacobian-chain checks in one process: the brute-force oracle is right on known chains, the
reference and a differently written solution pass, the named mistakes fail with their diagnosis,
and any cheapest bracketing earns full marks."""

from __future__ import annotations

import nbformat
import pytest

from autograder.checks import jacobian_chain as chain
from autograder.feedback import CheckFailure
from tests.conftest import REPO
from tests.units import reverse
from tests.units.harness import solution_namespace

SOURCE = nbformat.read(REPO / "source" / "04_reverse" / "04_reverse.ipynb", as_version=4)
LOSS = [1000, 100, 100, 100, 1]
HOURGLASS = [1000, 1000, 10, 1000, 1000]


def solution(mutant: str | None = None, alternative: str | None = None) -> dict:
    replaced = {"chain_code": reverse.MUTANTS[mutant].code(SOURCE)} if mutant else None
    if alternative:
        replaced = {"chain_code": reverse.ALTERNATIVES[alternative].cells["chain_code"]}
    return solution_namespace(SOURCE, ("chain_code",), replaced)


def run_all(ns: dict, seed: int = 1) -> None:
    chain.check_bracketing_cost(ns["bracketing_cost"], LOSS, (4, (3, (2, 1))))
    chain.check_bracketing_cost(ns["bracketing_cost"], seed=seed, count=6)
    chain.check_mode_costs(ns["forward_cost"], ns["reverse_cost"], LOSS)
    chain.check_mode_costs(ns["forward_cost"], ns["reverse_cost"], seed=seed, count=4)
    chain.check_cheapest_bracketing(ns["cheapest_bracketing"], HOURGLASS)
    chain.check_cheapest_bracketing(ns["cheapest_bracketing"], seed=seed, count=8)


def test_the_oracle_on_known_chains():
    assert len(chain.all_bracketings(4)) == 5 and len(chain.all_bracketings(6)) == 42
    assert chain.cost(chain.forward_bracketing(4), LOSS) == 20_100_000
    assert chain.cost(chain.reverse_bracketing(4), LOSS) == 120_000
    assert chain.least_cost(HOURGLASS) == 30_000_000
    assert chain.least_cost([30, 35, 15, 5, 10, 20, 25]) == 15_125  # the textbook matrix-chain example
    assert chain.cost(1, [3, 4]) == 0


def test_random_chains_are_seeded_and_small_enough_for_brute_force():
    chains = [chain.random_dims(9, k) for k in range(20)]
    assert chains == [chain.random_dims(9, k) for k in range(20)]
    assert all(2 <= len(d) <= 9 and min(d) >= 1 for d in chains)
    assert {len(d) for d in chains} != {len(chains[0])}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_passes(seed):
    run_all(solution(), seed)


def test_a_bottom_up_solution_with_lists_passes():
    run_all(solution(alternative="chain_table_and_list_grad"))


def test_any_cheapest_bracketing_earns_full_marks():
    """A chain of equal sizes: every bracketing is cheapest; each one, returned, passes."""
    dims = [5, 5, 5, 5, 5]
    for b in chain.all_bracketings(4):
        chain.check_cheapest_bracketing(lambda d, b=b: (chain.cost(b, d), b), dims)


@pytest.mark.parametrize(
    ("mutant", "diagnosis"),
    [
        ("chain_cost_counts_flops", "twice the multiplications"),
        ("chain_cost_last_product_only", "only the last product counted"),
        ("forward_cost_is_reverse", "forward and reverse swapped"),
        ("cheapest_pure_modes_only", "only forward and reverse compared"),
        ("cheapest_split_off_by_one", ""),
    ],
)
def test_a_named_mistake_fails_with_its_diagnosis(mutant, diagnosis):
    with pytest.raises(CheckFailure) as caught:
        run_all(solution(mutant))
    assert caught.value.diagnosis == diagnosis
    assert "Expected" in str(caught.value)


def test_a_bracketing_that_does_not_match_its_cost_or_the_chain_fails():
    with pytest.raises(CheckFailure, match="costs"):
        chain.check_cheapest_bracketing(lambda d: (30_000_000, (4, (3, (2, 1)))), HOURGLASS)
    with pytest.raises(CheckFailure, match="not a bracketing"):
        chain.check_cheapest_bracketing(lambda d: (30_000_000, ((4, 2), (3, 1))), HOURGLASS)
    with pytest.raises(CheckFailure, match="pair"):
        chain.check_cheapest_bracketing(lambda d: 30_000_000, HOURGLASS)


def test_a_greedy_choice_is_named_when_it_is_what_came_back():
    dims = next(
        d
        for d in (chain.random_dims(s, k) for s in range(50) for k in range(8))
        if chain._greedy_cost(d) != chain.least_cost(d)
        and chain._greedy_cost(d)
        != min(chain.cost(chain.forward_bracketing(len(d) - 1), d), chain.cost(chain.reverse_bracketing(len(d) - 1), d))
    )
    with pytest.raises(CheckFailure) as caught:
        chain.check_cheapest_bracketing(lambda d: (chain._greedy_cost(d), 1), dims)
    assert caught.value.diagnosis == "a greedy choice of the next product"
