"""Unit 02's visible tests in a Python without numpy, as in a browser kernel (Pyodide in JupyterLite).

A subprocess blocks every import of numpy and matplotlib before anything else runs, then executes
the code of each graded test cell of the released notebook on the source's reference solutions (or
on one named mutant of tests/units/symbolic.py) and prints each cell's outcome as JSON. The same
runner without the block is the comparison: every verdict and every failure message must be the
same (the random test points are the same: `autograder.pcg64.PurePCG64` draws numpy's numbers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.pcg64 import PurePCG64
from tests.units.symbolic import MUTANTS

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "02_symbolic" / "02_symbolic.ipynb"
RELEASE = ROOT / "release" / "02_symbolic" / "02_symbolic.ipynb"
# Mutants whose messages show random points (derivative, Hessian, to_function) or none (Jacobian shape).
COMPARED = ("cos_derivative_sign", "hessian_differentiates_by_the_same_variable", "jacobian_transposed")
COMPARED += ("to_function_ignores_argument_order",)

RUNNER = r"""
import contextlib, io, json, sys


class BlockNumpy:
    '''A meta path finder that makes `import numpy` and `import matplotlib` fail, as in Pyodide.'''

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("numpy", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


without, source_path, release_path, *cases = sys.argv[1:]
if without == "without":
    sys.meta_path.insert(0, BlockNumpy())
    try:
        import numpy
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("numpy was imported although it is blocked")

import nbformat
import sympy

from autograder.feedback import CheckFailure
from autograder.grading.submissions import solution_cells
from tests.units.harness import solution_namespace
from tests.units.symbolic import MUTANTS

source, release = nbformat.read(source_path, 4), nbformat.read(release_path, 4)
tests = [c for c in release.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
outcomes = {}
for case in cases:
    mutant = MUTANTS.get(case)
    replaced = {mutant.cell: mutant.code(source)} if mutant else None
    namespace = solution_namespace(source, tuple(solution_cells(source)), replaced)
    namespace["sp"] = sympy  # the setup cell's import
    outcomes[case] = {}
    for cell in tests:
        name, out, err = cell.metadata.nbgrader.grade_id, io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                exec(compile(cell.source, name, "exec"), namespace)
            message = None
        except CheckFailure as error:
            message = str(error)
        outcomes[case][name] = {"message": message, "printed": out.getvalue(), "stderr": err.getvalue()}
print(json.dumps({"numpy": "numpy" in sys.modules, "outcomes": outcomes}))
"""


def run(without: bool, cases: tuple[str, ...]) -> dict:
    """The runner's outcomes per case and test cell, in a fresh Python with or without numpy."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop("AUTOGRADER_RECORDS", None)  # local mode: observe and judge in the same process
    command = [sys.executable, "-c", RUNNER, "without" if without else "with", str(SOURCE), str(RELEASE), *cases]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["numpy"] is not without
    return result["outcomes"]


@pytest.fixture(scope="module")
def without_numpy() -> dict:
    return run(True, ("reference", *COMPARED))


@pytest.fixture(scope="module")
def with_numpy() -> dict:
    return run(False, COMPARED)


def test_every_visible_test_passes_on_the_reference_without_numpy(without_numpy: dict) -> None:
    outcomes = without_numpy["reference"]
    assert len(outcomes) >= 9
    failing = {name: o["message"] for name, o in outcomes.items() if o["message"] is not None}
    assert not failing
    assert not any(o["stderr"] for o in outcomes.values())  # nbgrader would score such a cell 0
    note = "numpy is not installed here, so to_function(x1*sin(x2), [x2, x1]) was not tried on numpy arrays"
    assert note in outcomes["to_function"]["printed"]


@pytest.mark.parametrize("name", COMPARED)
def test_a_mutant_fails_with_the_same_message_without_numpy(name: str, without_numpy: dict, with_numpy: dict) -> None:
    mine, theirs = without_numpy[name], with_numpy[name]
    for cell in MUTANTS[name].loses:
        assert mine[cell]["message"], f"{name} passes {cell} without numpy"
    assert {c: o["message"] for c, o in mine.items()} == {c: o["message"] for c, o in theirs.items()}


def test_pure_pcg64_draws_the_numbers_numpy_draws() -> None:
    for seed in [*range(40), 7000, 2**32, 2**64 + 1, 10**40]:
        numpy_generator, pure = np.random.default_rng(seed), PurePCG64(seed)
        for low, high, size in ((-2.0, 2.0, 3), (0.5, 3.0, 1), (-1.0, 1.0, None)):
            drawn = numpy_generator.uniform(low, high, size=size)
            assert pure.uniform(low, high, size=size) == (drawn.tolist() if size else drawn)
