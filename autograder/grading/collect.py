"""The child process of the trusted re-check: run a notebook and record what every check observes.

Usage: python -m autograder.grading.collect NOTEBOOK RECORDS [--cell-timeout SECONDS]

The process switches `autograder.runtime` to collect mode before any cell runs, then runs every
code cell of NOTEBOOK in order in a plain IPython shell (no kernel, no display). Before each test
cell it tells the runtime which cell is running, so each observation is written to RECORDS with
its cell and position. A cell that raises or runs past its time limit is abandoned and the next
cell runs, as in nbgrader. Nothing here is trusted: the parent judges the records.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

import nbformat


class CellTimeout(Exception):
    """Raised in a cell that ran past its time limit."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise CellTimeout("cell timed out")


def test_cell_id(cell: nbformat.NotebookNode) -> str | None:
    """The grade id of an nbgrader test cell (graded, not a solution), else None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
        return str(meta.get("grade_id"))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("records")
    parser.add_argument("--cell-timeout", type=int, default=60)
    args = parser.parse_args(argv)

    from autograder import runtime  # imported (and put in collect mode) before any student code

    notebook = nbformat.read(args.notebook, as_version=4)
    runtime.start_collecting(args.records)
    os.environ.setdefault("MPLBACKEND", "Agg")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    signal.signal(signal.SIGALRM, _alarm)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        runtime.begin_cell(test_cell_id(cell) or "")
        signal.alarm(max(1, args.cell_timeout))
        try:
            shell.run_cell(cell.source, store_history=False, silent=True)
        except BaseException:  # noqa: BLE001 - a cell must not end the run of the others
            pass
        finally:
            signal.alarm(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
