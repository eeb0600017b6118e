"""The prelude every check shares: choose its cases, observe, and fail on an exception first.

`explicit_or_seeded(seed, explicit, draw)` is the explicit-or-seeded choice of every check: the one case the
notebook's visible test names, or the hidden cases drawn from a seed. `Case.run(observe, judge)`
runs one check (`autograder.runtime.run_check`) with the judge's opening written once: when the
student's code raised, the failure says so (naming the call and the input); otherwise `judge`
gets the observation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from autograder.feedback import Mistake, raised
from autograder.runtime import Observation, run_check

T = TypeVar("T")


def explicit_or_seeded(
    seed: int | None, explicit: Callable[[], T], draw: Callable[[int], Sequence[T]], *needed: object
) -> list[T]:
    """`[explicit()]` when `seed` is None (then every value of `needed` must be given), else `draw(seed)`."""
    if seed is None:
        if any(value is None for value in needed):
            raise ValueError("give the explicit inputs, or a seed")
        return [explicit()]
    return list(draw(seed))


def explicit_or_table(
    seed: int | None, explicit: Callable[[], T], table: Sequence[T], stride: int
) -> list[tuple[T, int]]:
    """The cases with the seed each draws its arrays from: `explicit()` alone, or every row of `table`.

    The k-th case gets the seed `base * stride + k`, with base = `seed` (0 for the explicit case).
    """
    rows, base = ([explicit()], 0) if seed is None else (list(table), seed)
    return [(row, base * stride + k) for k, row in enumerate(rows)]


@dataclass(frozen=True)
class Case:
    """One call of the student's code: its text (as shown in failures) and what the input was."""

    call: str
    given: str | None = None

    def run(
        self,
        observe: Callable[[], Any],
        judge: Callable[[Observation], None],
        on_raise: Mistake | str | Callable[[str], Mistake | str | None] | None = None,
    ) -> None:
        """Run the check: a raised exception fails with `on_raise` as the likely mistake, else `judge(obs)`."""
        __tracebackhide__ = True

        def judged(obs: Observation) -> None:
            if obs.raised:
                mistake = on_raise(obs.raised) if callable(on_raise) else on_raise
                raise raised(self.call, obs.raised, given=self.given, mistake=mistake)
            judge(obs)

        run_check(observe, judged)
