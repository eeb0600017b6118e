"""Which mistakes the checks diagnose for each named mutant of a unit, computed in this process.

    python -m tests.units.diagnose numerical [MUTANT ...]

A developer's tool for writing diagnostic probes: it runs the unit's source notebook in this
process (setup and locked cells, the solution cells with the mutant's substitution; cells that only
plot are skipped), then every test cell the mutant loses (visible and hidden tests), and prints the
mutant's expected diagnosis, what each failing cell diagnosed, and the unit's share of diagnosed
mutants. The test suite measures the same from the graded notebooks (tests/test_diagnosis.py).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import sys

import nbformat

from autograder.feedback import diagnoses_in
from autograder.grading import submissions
from tests.conftest import REPO
from tests.units.harness import Mutant

CELL_SECONDS = 20


def failures(assignment: str, mutant: Mutant) -> dict[str, str]:
    """The failure text of each test cell `mutant` loses (cells that pass are left out)."""
    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    namespace: dict = {}
    texts: dict[str, str] = {}
    for cell in source.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        grade_id = grading.get("grade_id", "")
        if grading.get("solution"):
            code = mutant.code(source) if grade_id == mutant.cell else submissions.solution_code(cell)
        elif grading.get("grade"):
            if grade_id not in mutant.loses:
                continue
            code = cell.source.replace("### BEGIN HIDDEN TESTS", "").replace("### END HIDDEN TESTS", "")
        elif "plt." in cell.source or "self_check(" in cell.source:
            continue
        else:
            code = cell.source
        signal.alarm(CELL_SECONDS)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(code, grade_id or "cell", "exec"), namespace)
        except Exception as error:  # a failing test cell, or a cell the mutant breaks
            if grading.get("grade"):
                texts[grade_id] = f"{type(error).__name__}: {error}"
        finally:
            signal.alarm(0)
    return texts


class CellTimeout(Exception):
    """A cell ran longer than CELL_SECONDS (a looping mutant)."""


def _timeout(signum: int, frame: object) -> None:
    raise CellTimeout(f"the cell ran over {CELL_SECONDS} s")


def main(argv: list[str]) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    signal.signal(signal.SIGALRM, _timeout)
    unit = importlib.import_module(f"tests.units.{argv[0]}").UNIT
    names = argv[1:] or list(unit.mutants)
    named = 0
    for name in names:
        mutant = unit.mutants[name]
        texts = failures(unit.assignment, mutant)
        found = {cell: diagnoses_in(text) for cell, text in texts.items()}
        expected = set(mutant.diagnoses)
        hit = any(set(d) & expected for d in found.values())
        wrong = {d for ds in found.values() for d in ds} - expected
        named += hit
        mark = "WRONG" if wrong else ("named" if hit else "-----")
        print(f"{mark} {name}: expected {sorted(expected) or '(none)'}")
        for cell, text in texts.items():
            summary = " ".join(text.split())
            print(f"      {cell}: {found[cell] or ''} {summary[:400] if not found[cell] else ''}")
    print(f"{named} of {len(names)} mutants diagnosed ({100 * named / max(1, len(names)):.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
