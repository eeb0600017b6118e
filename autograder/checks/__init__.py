"""Checks imported by the test cells of each assignment: one package per unit.

A check takes the student's function first, then the input (an expression string such as
"sin(x)", a point, a step) or a `seed` for randomized hidden cases, and raises `CheckFailure` with
a readable paragraph when the student's function is wrong. See `autograder.runtime` for how a
check is split between the student's process and the trusted judge.

Layout:

* `<unit>/mistakes.py`: the unit's catalogue of named mistakes (`Mistake`: name, rule, and the
  notebook section that teaches it; tests/test_mistake_sections.py checks the sections exist);
* `<unit>/cases.py`: the unit's checks; each computes the wrong answer a mistake gives next to the
  check that recognises it, from the same oracles as the truth;
* `kit/`: what every unit shares: the one matcher `diagnose`, tolerances, the time guard and the
  backward-pass counter, and the observe/judge prelude (`Case`, `explicit_or_seeded`);
* `ad/`: what the automatic-differentiation units (03, 04, 07) share.

A unit imports `kit`, `ad` and `autograder.oracles`, never another unit.
"""
