"""The data every unit's test module provides, and how a submission is built from it.

A `Mutant` is the reference solution with one named mistake made by text substitution in one
solution cell; it must lose points in every test cell listed in `loses`, and keep every point of
the cells listed in `keeps` (a mistake costs the cells that depend on it, nothing else). Its
`diagnosis` is the `Mistake` (from the unit's `mistakes` catalogue) the checks should recognise
in its answers: its failure messages may name that mistake and no other. An `Alternative` replaces
whole solution cells with a correct implementation written differently; it must earn full marks.
An `Attack` replaces solution cells with wrong code plus a trick; it must not gain any points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat

from autograder.feedback import Mistake
from autograder.grading import submissions


@dataclass(frozen=True)
class Mutant:
    cell: str
    replace: tuple[tuple[str, str], ...]
    loses: tuple[str, ...]
    keeps: tuple[str, ...] = ()
    # the Mistake(s) its failures may give (a Mistake, or a name for one a check builds itself); "" if none fits
    diagnosis: Mistake | str | tuple[Mistake | str, ...] = ""

    @property
    def diagnoses(self) -> tuple[str, ...]:
        """The names of the mistakes this mutant makes, as the checks' `Mistake.name`s."""
        given = self.diagnosis if isinstance(self.diagnosis, tuple) else (self.diagnosis,) if self.diagnosis else ()
        return tuple(d.name if isinstance(d, Mistake) else d for d in given)

    def code(self, source: nbformat.NotebookNode) -> str:
        """The reference solution of `cell` with the substitutions made; each must apply exactly once."""
        code = submissions.solution_code(submissions.solution_cells(source)[self.cell])
        for old, new in self.replace:
            if code.count(old) != 1:
                raise AssertionError(f"mutant text {old!r} occurs {code.count(old)} times in {self.cell}")
            code = code.replace(old, new)
        return code


@dataclass(frozen=True)
class Alternative:
    cells: dict[str, str]


@dataclass(frozen=True)
class Attack:
    cells: dict[str, str]
    description: str = ""
    loses: tuple[str, ...] = field(default=())  # empty: every test cell must score 0


@dataclass(frozen=True)
class Unit:
    assignment: str
    mutants: dict[str, Mutant]
    alternatives: dict[str, Alternative]
    attacks: dict[str, Attack]


def build(
    unit: Unit, release: nbformat.NotebookNode, source: nbformat.NotebookNode
) -> dict[str, nbformat.NotebookNode]:
    """Every submission the unit's tests grade, by student id."""
    built = {
        "reference": submissions.fill(release, source),
        "untouched": submissions.fill(release, source, solved=[]),
    }
    for name, mutant in unit.mutants.items():
        built[f"mutant-{name}"] = submissions.fill(
            release,
            source,
            replaced={mutant.cell: mutant.code(source)},
            solved=set(submissions.solution_cells(source)) - {mutant.cell},
        )
    for name, alternative in unit.alternatives.items():
        solved = set(submissions.solution_cells(source)) - set(alternative.cells)
        built[f"alternative-{name}"] = submissions.fill(release, source, solved=solved, replaced=alternative.cells)
    for name, attack in unit.attacks.items():
        built[f"attack-{name}"] = submissions.fill(release, source, solved=[], replaced=attack.cells)
    return built


def solution_namespace(
    source: nbformat.NotebookNode,
    cells: tuple[str, ...],
    replaced: dict[str, str] | None = None,
    namespace: dict | None = None,
) -> dict:
    """The names the source's solution `cells` define, run in order in this process (in `namespace`,
    e.g. the setup cell's imports, if given); `replaced` maps a cell's grade id to other code (a
    mutant) run in its place."""
    namespace = {} if namespace is None else namespace
    answers = submissions.solution_cells(source)
    for cell in cells:
        code = (replaced or {}).get(cell) or submissions.solution_code(answers[cell])
        exec(compile(code, cell, "exec"), namespace)
    return namespace
