"""Notebooks saved by another editor: put the assignment's cell metadata back before nbgrader reads them.

VS Code, Colab or the classic Notebook may drop the `nbgrader` metadata of cells and rewrite their
ids. nbgrader then finds no test or answer cell, tries to re-insert every test cell after its
predecessor and fails (`KeyError`), and the submission scores 0. `recover` matches the student's
cells to the released notebook's, strongest evidence first:

1. intact: the cell still has the metadata of one of the assignment's cells;
2. by cell id: it has the id of a released cell;
3. by the names its code defines: an answer cell that defines the functions of one released answer cell;
4. by content: its text is (nearly) the released cell's (test cells, read-only prose and code);
5. by position: the only unmatched cell of its type between two matched neighbours, facing the only
   unmatched released cell of that type between the same neighbours.

Matched cells get the released cell's metadata (and id when that id is free); nothing else changes, so
nbgrader restores test cells and grades the answers as usual. Position only fills gaps between
cells matched by stronger evidence: a notebook with no such anchor is not recovered, and the
pipeline flags it (`unmatched_message`).
"""

from __future__ import annotations

import ast
import copy
import difflib
import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

SIMILAR = 0.8  # difflib ratio from which two cells' texts count as the same cell
WAYS = ("cell id", "the names their code defines", "content", "position")


@dataclass
class Recovery:
    """The recovered notebook and how each released cell was found (grade id -> way, see WAYS)."""

    notebook: NotebookNode
    found: dict[str, str] = field(default_factory=dict)  # grade id -> "intact" or one of WAYS
    missing: list[str] = field(default_factory=list)  # grade ids of answer and test cells not found

    @property
    def repaired(self) -> dict[str, str]:
        """The released cells whose metadata was put back, and how they were found."""
        return {grade_id: way for grade_id, way in self.found.items() if way != "intact"}

    @property
    def anchored(self) -> bool:
        """Whether any cell was matched by evidence stronger than position."""
        return any(way != "position" for way in self.found.values())

    def note(self, name: str) -> str | None:
        """One sentence for the instructor on what was repaired in `name`.ipynb, or None."""
        repaired = self.repaired
        if not repaired:
            return None
        counts = [f"{sum(w == way for w in repaired.values())} by {way}" for way in WAYS if way in repaired.values()]
        text = (
            f"{name}.ipynb had lost the assignment's cell metadata (saved by another editor?): restored on "
            f"{len(repaired)} cells ({', '.join(counts)}) and graded"
        )
        if self.missing:
            text += f"; not found: {', '.join(self.missing)}"
        return text


def unmatched_message(name: str, assignment: str) -> str:
    """The flag for a notebook in which no cell of the assignment could be recognised."""
    return (
        f"{name}.ipynb has none of the assignment's cells: no nbgrader cell metadata, cell id, defined name or "
        f"cell text matches release/{assignment}/{name}.ipynb (another editor rewrote it, or it is another "
        f"notebook). Not graded: ask the student to download {name}.ipynb of {assignment} again, paste their "
        "answers into its answer cells, and submit that file"
    )


def _meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _grade_id(cell: NotebookNode) -> str | None:
    value = _meta(cell).get("grade_id")
    return str(value) if value else None


def defined_names(code: str) -> set[str]:
    """Top-level names a code cell defines (functions, classes, assignments); empty if it does not parse."""
    return set(_defined_names(code))


@functools.lru_cache(maxsize=256)
def _released_names(code: str) -> frozenset[str]:
    """`defined_names` of a released answer cell, parsed once per worker (asked for every submission)."""
    return _defined_names(code)


def _defined_names(code: str) -> frozenset[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def _similar(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    return a == b or difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILAR


def recover(submitted: NotebookNode, released: NotebookNode) -> Recovery:
    """Match `submitted`'s cells to `released`'s (see the module docstring); a repaired copy and what was found."""
    notebook = nbformat.from_dict(copy.deepcopy(submitted))
    reference = [c for c in released.cells if _grade_id(c)]
    by_id = {str(c.get("id")): c for c in reference if c.get("id")}
    known = {_grade_id(c): c for c in reference}
    found: dict[str, str] = {}
    owner: dict[int, str] = {}  # student cell index -> grade id

    def claim(index: int, grade_id: str, way: str) -> None:
        found[grade_id] = way
        owner[index] = grade_id

    cells = notebook.cells
    for index, cell in enumerate(cells):  # 1. intact metadata
        grade_id = _grade_id(cell)
        if grade_id in known and grade_id not in found:
            claim(index, grade_id, "intact")
    for index, cell in enumerate(cells):  # 2. cell id
        target = by_id.get(str(cell.get("id")))
        if target is None or index in owner or _meta(cell) or target.cell_type != cell.cell_type:
            continue
        if _grade_id(target) not in found:
            claim(index, _grade_id(target), "cell id")
    answers = {_grade_id(c): _released_names(c.source) for c in reference if _meta(c).get("solution")}
    for index, cell in enumerate(cells):  # 3. defined names (answer cells)
        if index in owner or cell.cell_type != "code" or _meta(cell):
            continue
        names = defined_names(cell.source)
        hits = [g for g, defined in answers.items() if g not in found and defined and defined <= names]
        if len(hits) == 1:
            claim(index, hits[0], "the names their code defines")
    for index, cell in enumerate(cells):  # 4. content (test cells, read-only cells, unchanged answers)
        if index in owner or _meta(cell):
            continue
        hits = [
            _grade_id(c)
            for c in reference
            if _grade_id(c) not in found and c.cell_type == cell.cell_type and _similar(c.source, cell.source)
        ]
        if len(hits) == 1:
            claim(index, hits[0], "content")
    if any(way != "intact" for way in found.values()):  # an intact notebook stays exactly as it was
        _fill_gaps(cells, reference, found, owner, claim)
    for index, grade_id in owner.items():
        if found[grade_id] == "intact":
            continue
        source = known[grade_id]
        cells[index].setdefault("metadata", {})["nbgrader"] = copy.deepcopy(dict(source.metadata["nbgrader"]))
        cells[index].metadata = nbformat.from_dict(cells[index].metadata)
        taken = {str(c.get("id")) for c in cells}
        if source.get("id") and str(source.get("id")) not in taken:
            cells[index]["id"] = source["id"]
    graded = [g for g, c in known.items() if _meta(c).get("grade") or _meta(c).get("solution")]
    recovery = Recovery(notebook, found, [g for g in graded if g not in found])
    if not recovery.anchored:  # nothing but position: no evidence that this is the assignment's notebook
        return Recovery(nbformat.from_dict(copy.deepcopy(submitted)), {}, graded)
    return recovery


def _fill_gaps(cells, reference, found, owner, claim) -> None:
    """5. position: between two matched neighbours, a lone unmatched cell of a type faces a lone released one."""
    order = {_grade_id(c): i for i, c in enumerate(reference)}
    anchors = sorted((index, order[g]) for index, g in owner.items())
    bounds = [(-1, -1), *anchors, (len(cells), len(reference))]
    for (low, ref_low), (high, ref_high) in zip(bounds, bounds[1:], strict=False):
        if not (low < high and ref_low < ref_high):
            continue
        for kind in ("code", "markdown"):
            mine = [i for i in range(low + 1, high) if i not in owner and cells[i].cell_type == kind]
            mine = [i for i in mine if not _meta(cells[i])]
            theirs = [
                _grade_id(c)
                for c in reference[ref_low + 1 : ref_high]
                if _grade_id(c) not in found and c.cell_type == kind
            ]
            if len(mine) == 1 and len(theirs) == 1:
                claim(mine[0], theirs[0], "position")


def reference_notebook(root: Path, assignment: str, name: str) -> NotebookNode | None:
    """The notebook students received (release/), else the instructor's source; None if neither exists.
    Shared (`read_notebook`): do not modify it."""
    for folder in ("release", "source"):
        path = root / folder / assignment / f"{name}.ipynb"
        if path.is_file():
            return read_notebook(path)
    return None


SHARED_BYTES = 8 * 1024**2  # `read_notebook` keeps the notebooks it read last, this many bytes of files in all
SHARED_LARGEST = 2 * 1024**2  # and never a file larger than this (a submission with big outputs is read anew)
_shared: OrderedDict[tuple[str, bytes], NotebookNode] = OrderedDict()
_shared_lock = threading.Lock()


def read_notebook(path: Path) -> NotebookNode:
    """`nbformat.read(path, as_version=4)` (the same notebook, the same errors), parsed and validated once per
    content: a worker reads the release, the source and each submission several times per student (the
    admission checks, `worker_grading.repairs`, `RecoverCells`). The notebook returned is shared by every
    caller that reads the same bytes: never modify it (`recover` works on a copy)."""
    content = path.read_bytes()
    key = (str(path), content)
    with _shared_lock:
        found = _shared.get(key)
        if found is not None:
            _shared.move_to_end(key)
            return found
    notebook = nbformat.reads(content.decode("utf-8"), as_version=4)
    if len(content) > SHARED_LARGEST:
        return notebook
    with _shared_lock:
        _shared[key] = notebook
        while sum(len(kept) for _, kept in _shared) > SHARED_BYTES:
            _shared.popitem(last=False)
    return notebook


class RecoverCells(NbGraderPreprocessor):
    """First sanitizing step: `recover` the submitted notebook against the released one."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.coursedir import CourseDirectory

        info = resources["nbgrader"]
        root = Path(CourseDirectory(config=self.config).root)
        reference = reference_notebook(root, info["assignment"], info["notebook"])
        if reference is None:
            return nb, resources
        recovery = recover(nb, reference)
        if recovery.repaired:
            return recovery.notebook, resources
        return nb, resources
