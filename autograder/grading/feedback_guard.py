"""What a student gets back never shows a hidden test, whatever their code printed.

At grading time a test cell runs in the student's kernel with its hidden block, so the student's
code can read that block (IPython's input history `In`/`_ih`, the caller's frame, `linecache`, a
code object's constants) and show it: in the test cell's output, later (a stashed copy printed by
another cell), as an image or HTML, in a file. nbgrader's `ClearHiddenTests` removes the block from
the feedback's *code*, not from *outputs*. `WithholdHiddenOutputs`, the last step of
`GenerateFeedback`, makes the outputs safe by where they come from rather than by what they look like
(an encoded copy would not look like the test):

* before the first hidden block has run, the kernel has seen no hidden code: outputs stay;
* a test cell that runs a hidden block, and every test cell after it, shows only the verdict: the
  error the judge or the kernel reported (its message, with every hidden line cut out and at most
  `MESSAGE_LIMIT` characters), or nothing when it passed;
* every other cell run after the first hidden block shows no output, only a note saying why.

Nothing else is handed back: the feedback folder holds nbgrader's HTML only (files the kernel
wrote stay in the worker's scratch folder, which is deleted). The instructor's copy in autograded/
keeps every output.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict

BEGIN, END = re.compile(r"BEGIN HIDDEN TESTS"), re.compile(r"END HIDDEN TESTS")
MIN_LINE = 8  # hidden lines shorter than this ("x = 1", ")") are not worth a redaction
FRAGMENT = 16  # a piece of a hidden line this long, found nowhere in the visible code, is redacted too
MESSAGE_LIMIT = 1500  # characters of a test cell's verdict handed back
REDACTED = "[hidden test]"
WITHHELD = (
    "[Output not shown in feedback: this cell ran after the hidden tests, and feedback shows only your "
    "grades and the tests' messages. Run your notebook to see its output.]"
)


def hidden_blocks(source: str) -> list[str]:
    """The lines between BEGIN HIDDEN TESTS and END HIDDEN TESTS of a cell's source."""
    inside, found = False, []
    for line in source.splitlines():
        if BEGIN.search(line):
            inside = True
        elif END.search(line):
            inside = False
        elif inside:
            found.append(line)
    return found


@dataclass(frozen=True)
class Secrets:
    """The hidden-test lines of a notebook (stripped) and the text of everything visible around them."""

    lines: frozenset[str]
    visible: str


def secrets_of(sources: list[str]) -> Secrets:
    """Hidden-test lines that appear nowhere outside a hidden block (what must not leak), and the visible text."""
    hidden = {line.strip() for source in sources for line in hidden_blocks(source)}
    visible: list[str] = []
    for source in sources:
        inside = False
        for line in source.splitlines():
            if BEGIN.search(line):
                inside = True
            elif END.search(line):
                inside = False
            elif not inside:
                visible.append(line.strip())
    seen = set(visible)
    lines = {line for line in hidden - seen if len(line) >= MIN_LINE and not line.startswith("#")}
    return Secrets(frozenset(lines | {"BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}), "\n".join(visible))


def redact(text: str, secrets: Secrets) -> str:
    """`text` with every hidden line (as written, or escaped inside a string's repr) replaced, and every
    piece of one at least FRAGMENT characters long that the visible code does not contain."""
    for line in sorted(secrets.lines, key=len, reverse=True):
        for form in {line, json.dumps(line)[1:-1], repr(line)[1:-1], line.replace('"', "'")}:
            if form and form in text:
                text = text.replace(form, REDACTED)
    shared = _SharedPieces(text)
    for line in secrets.lines:
        if not shared.any_in(line):  # no FRAGMENT characters in common: no matching block can be that long
            continue
        for _ in range(20):  # each pass removes one piece; a message holds few
            matcher = difflib.SequenceMatcher(None, text, line, autojunk=False)
            pieces = [
                text[b.a : b.a + b.size]
                for b in matcher.get_matching_blocks()
                if b.size >= FRAGMENT and text[b.a : b.a + b.size] not in secrets.visible
            ]
            if not pieces:
                break
            text = text.replace(pieces[0], REDACTED)
            shared = _SharedPieces(text)
    return text


class _SharedPieces:
    """Every FRAGMENT-character piece of a text, to tell at once whether a line shares one with it.

    A matching block of `difflib.SequenceMatcher` is a piece both strings contain, so a line sharing no
    FRAGMENT-character piece with the text has no block that long: `redact` skips its SequenceMatcher
    (quadratic in the text's length, and most hidden lines share nothing with a message)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pieces: set[str] | None = None

    def any_in(self, line: str) -> bool:
        """Whether `line` and the text have a piece of FRAGMENT characters in common."""
        if len(line) < FRAGMENT or len(self.text) < FRAGMENT:
            return False
        if self._pieces is None:
            self._pieces = {self.text[i : i + FRAGMENT] for i in range(len(self.text) - FRAGMENT + 1)}
        pieces = self._pieces
        return any(line[i : i + FRAGMENT] in pieces for i in range(len(line) - FRAGMENT + 1))


def _verdict(outputs: list[NotebookNode], secrets: Secrets) -> list[NotebookNode]:
    """A test cell's outputs reduced to its errors, their messages redacted and cut."""
    kept = []
    for output in outputs:
        if output.get("output_type") != "error":
            continue
        name = redact(str(output.get("ename", "Error")), secrets)[:80]
        message = redact(str(output.get("evalue", "")), secrets)
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + " [cut]"
        kept.append(nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"]))
    return kept


def redact_errors(nb: NotebookNode) -> None:
    """Cut hidden-test lines out of the error messages of `nb`'s test cells (hidden blocks still in its source).

    Those messages leave the instructor's copy (reports, Gradescope exports): what a student's code
    put in an exception or a returned value must not carry a hidden test there either.
    """
    secrets = secrets_of([cell.source for cell in nb.cells])
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output.evalue = redact(str(output.get("evalue", "")), secrets)
                output.traceback = [f"{output.get('ename', 'Error')}: {output.evalue}"]


class WithholdHiddenOutputs(NbGraderPreprocessor):
    """Last feedback step: outputs that could carry a hidden test are withheld (see the module docstring)."""

    source_cells = Dict(
        {},
        help="The source cells' texts (assignment -> notebook -> cell name -> source), when the gradebook's cannot "
        "change while this runs (a grading worker's private course): read once instead of from the gradebook.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        sources = self.source_cells.get(info["assignment"], {}).get(info["notebook"])
        if sources is None:
            with Gradebook(info["db_url"]) as gradebook:
                cells = gradebook.find_notebook(info["notebook"], info["assignment"]).source_cells
                sources = {cell.name: cell.source or "" for cell in cells}
        with_hidden = {name for name, source in sources.items() if BEGIN.search(source)}
        secrets = secrets_of(list(sources.values()))
        # Without nbgrader metadata no cell can be told apart: treat every output as coming after a hidden test.
        seen = not any(cell.get("metadata", {}).get("nbgrader") for cell in nb.cells)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            is_test = bool(meta.get("grade")) and not meta.get("solution")
            runs_hidden = str(meta.get("grade_id")) in with_hidden or (is_test and not meta.get("grade_id"))
            if is_test and (seen or runs_hidden):
                cell.outputs = _verdict(cell.get("outputs", []), secrets)
            elif seen and cell.get("outputs"):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=WITHHELD + "\n")]
            seen = seen or runs_hidden
        return nb, resources
