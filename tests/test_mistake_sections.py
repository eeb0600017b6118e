"""Every named mistake points to a section that exists: its title is a heading of the named notebook.

A `Mistake.where` reads "section N (Title) of notebooks/01_numerical.ipynb" (a lecture) or "... of
01_numerical.ipynb" (the assignment, source/01_numerical/), optionally with ", under 'Subtitle',".
The title is looked up among the notebook's headings (`##` and deeper) by its words, so that math
written in LaTeX in the notebook ($\\varepsilon^2 = 0$) and in Unicode in the message (ε² = 0) agree;
the number, when given, must be the number of the heading found. Renumbered or renamed sections
therefore fail here, with the heading the reference should now name.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

import nbformat
import pytest

from autograder.feedback import Mistake
from tests.conftest import REPO

UNITS = ("numerical", "symbolic", "forward", "reverse", "vjp", "backprop", "higher_order")
WHERE = re.compile(r"section ([\d.]+) \((.*)\)(?:, under '(.*)',)? of (\S+\.ipynb)")
HEADING = re.compile(r"#{2,} +(?:(\d+(?:\.\d+)*)\.? +)?(.*)")


def words(title: str) -> tuple[str, ...]:
    """The title's words of three letters or more, lower case, with LaTeX math left out."""
    text = re.sub(r"\$[^$]*\$", " ", title)
    return tuple(w.lower() for w in re.findall(r"[A-Za-z]{3,}", text))


@cache
def headings(notebook: str) -> dict[tuple[str, ...], str]:
    """The headings of a notebook named as in `where`: {words of the title: its number, or ""}."""
    path = REPO / notebook if notebook.startswith("notebooks/") else REPO / "source" / notebook[:-6] / notebook
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if match := HEADING.fullmatch(line.strip()):
                    found.setdefault(words(match[2]), match[1] or "")
    return found


def references(unit: str) -> list[str]:
    """Every section a unit's mistakes point to (its catalogue's Mistakes and section strings)."""
    catalogue = importlib.import_module(f"autograder.checks.{unit}.mistakes")
    out = []
    for value in vars(catalogue).values():
        if isinstance(value, Mistake) and value.where:
            out.append(value.where)
        elif isinstance(value, str) and value.startswith("section "):
            out.append(value)
    return sorted(set(out))


def test_words_ignore_math_and_markup():
    assert words("Dual numbers: $\\varepsilon^2 = 0$") == words("Dual numbers: ε² = 0")
    assert words("`hessian`: $n$ Hessian-vector products") == words("hessian: n Hessian-vector products")


@pytest.mark.parametrize("unit", UNITS)
def test_every_mistake_points_to_a_real_section(unit):
    where = references(unit)
    assert where, f"unit {unit} names no section"
    for reference in where:
        match = WHERE.fullmatch(reference)
        assert match, f"{reference!r} is not 'section N (Title) of notebook.ipynb'"
        number, title, under, notebook = match.groups()
        found = headings(notebook)
        assert words(title) in found, f"{reference!r}: no heading titled {title!r} in {notebook}"
        assert found[words(title)] == number, (
            f"{reference!r}: the heading {title!r} of {notebook} is section {found[words(title)]}, not {number}"
        )
        if under:
            assert words(under) in found, f"{reference!r}: no heading {under!r} in {notebook}"
