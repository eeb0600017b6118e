"""Every message a student reads is clean text: no doubled word, balanced brackets and backticks, no word
cut mid-word, no shape printed twice for the same value (issue 21).

The messages are the real ones: every mutant of every unit (tests/units/) is built from the source
notebook, and the visible test cells it must lose are run on it with the self-check's own runner, in
a forked process per mutant (a mutant may loop forever; the fork is killed after `MUTANT_SECONDS`).
The locked cells the tests need (setup, engine, the helpers test cells call) run first; demo and
plotting cells do not. Hidden tests and other seeds would show the same templates with other numbers.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import re
import sys

import nbformat
import pytest

from autograder import self_check
from autograder.grading import submissions
from tests.conftest import REPO

UNITS = ("numerical", "symbolic", "forward", "reverse", "vjp", "backprop", "higher_order")
MUTANT_SECONDS = 12.0
CLOSING = {")": "(", "]": "[", "}": "{"}


def problems(message: str) -> list[str]:
    """What is sloppy in one message (whitespace and line breaks do not count)."""
    text = " ".join(message.split())
    found = [f"doubled word {m[0]!r}" for m in re.finditer(r"\b([A-Za-z]+) \1\b", text, re.I)]
    outside_code = re.sub(r"`[^`]*`", "``", text)
    stack: list[str] = []
    for char in outside_code:
        if char in "([{":
            stack.append(char)
        elif char in CLOSING:
            if not stack or stack[-1] != CLOSING[char]:
                found.append(f"unbalanced {char!r}")
                break
            stack.pop()
    else:
        if stack:
            found.append(f"unclosed {''.join(stack)!r}")
    if text.count("`") % 2:
        found.append("an odd number of backticks")
    # an ellipsis glued to a word or number cut it: "f...," or "0.12..."; a cut at a token boundary is ", ..."
    found += [
        f"cut mid-word: {text[max(0, m.start() - 20) : m.end() + 5]!r}" for m in re.finditer(r"\w(\.\.\.|…)", text)
    ]
    # the same value's shape twice: "(shape (3, 4), float64) (shape (3, 4))", "...) of shape (3, 4)"
    for m in re.finditer(r"\(shape (\([\d, ]*\)), \w+\)([^.;]{0,40}?)shape \1", text):
        if " = " not in m[2]:  # "G = ... (shape (2, 2), float64), Y = X W has shape (2, 2)": two values
            found.append(f"shape twice: {m[0]!r}")
    return found


def test_the_linter_finds_each_kind_of_sloppy_text():
    assert problems("the the result has shape (2,)") == ["doubled word 'the the'"]
    assert problems("f(x = [1, 2") == ["unclosed '(['"]
    assert problems("g(x)) is wrong") == ["unbalanced ')'"]
    assert problems("call `no_grad fails") == ["an odd number of backticks"]
    assert problems("x = Tensor(f..., requires_grad=True)")[0].startswith("cut mid-word")
    assert problems("X = [[1., 2.]] (shape (3, 4), float64) (shape (3, 4)); y = 1")[0].startswith("shape twice")
    clean = (
        "`hvp` fails above: fix it first. hessian(f, [-1.2, 1. ]): wrong. Here X = [[1., 2., ...]] "
        "(shape (2, 3), float64), G = [[1.]] (shape (1, 1), float64), Y = X W has shape (1, 1). See (a) [b]."
    )
    assert problems(clean) == []


def _needed_locked_cells(source: nbformat.NotebookNode, tests: str) -> set[str]:
    """The locked cells to run: setup and engine, and those defining a name the test cells use."""
    needed = set()
    for cell in source.cells:
        grading = cell.metadata.get("nbgrader", {})
        grade_id = grading.get("grade_id", "")
        if cell.cell_type != "code" or grading.get("grade") or grading.get("solution"):
            continue
        names = {name for name in re.findall(r"^(?:def|class) (\w+)", cell.source, re.M) if len(name) > 1}
        if grade_id in ("setup", "engine") or any(re.search(rf"\b{name}\b", tests) for name in names):
            needed.add(grade_id)
    return needed


def _namespace(source: nbformat.NotebookNode, locked: set[str], replaced: dict[str, str]) -> dict:
    """The locked cells in `locked` and every solution cell (some replaced), run in notebook order."""
    namespace: dict = {}
    answers = submissions.solution_cells(source)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in source.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if grade_id in answers:
                code = replaced.get(grade_id) or submissions.solution_code(answers[grade_id])
            elif grade_id in locked:
                code = cell.source
            else:
                continue
            exec(compile(code, grade_id, "exec"), namespace)
    return namespace


def _mutant_messages(connection, source, locked, tests, mutant) -> None:  # runs in the forked child
    namespace = _namespace(source, locked, {mutant.cell: mutant.code(source)})
    results = [self_check.run_test(tests[cell], namespace) for cell in mutant.loses if cell in tests]
    connection.send([(r.name, r.message) for r in results if not r.passed])


def messages(module: str) -> tuple[dict[str, str], list[str]]:
    """{"<mutant>/<test cell>": message} for every mutant of tests/units/<module>.py, and the mutants
    that did not finish within MUTANT_SECONDS."""
    unit = importlib.import_module(f"tests.units.{module}").UNIT
    source = nbformat.read(REPO / "source" / unit.assignment / f"{unit.assignment}.ipynb", as_version=4)
    release = nbformat.read(REPO / "release" / unit.assignment / f"{unit.assignment}.ipynb", as_version=4)
    tests = {t.name: t for t in self_check.visible_tests(release)}
    locked = _needed_locked_cells(source, "\n".join(t.code for t in tests.values()))
    _namespace(source, locked, {})  # the imports once, here: every forked child finds them loaded
    context = multiprocessing.get_context("fork")
    found, stuck = {}, []
    for name, mutant in unit.mutants.items():
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_mutant_messages, args=(sender, source, locked, tests, mutant))
        child.start()
        sender.close()
        try:
            got = receiver.recv() if receiver.poll(MUTANT_SECONDS) else None
        except EOFError:  # the child died before sending
            got = None
        child.join(1.0)
        if child.is_alive():
            child.kill()
            child.join()
        if got is None:
            stuck.append(name)
            continue
        found.update({f"{name}/{cell}": message for cell, message in got})
    return found, stuck


@pytest.mark.skipif(sys.platform == "win32", reason="forks a process per mutant")
@pytest.mark.parametrize("module", UNITS)
def test_every_message_of_every_mutant_is_clean_text(module):
    found, stuck = messages(module)
    assert found, f"no mutant of {module} failed a visible test: nothing was read"
    assert stuck in ([], ["forward_difference_loops_forever"]), stuck  # the one that loops, and is killed
    sloppy = {key: problems(message) for key, message in found.items() if problems(message)}
    assert not sloppy, "\n".join(f"{key}: {p}\n    {' '.join(found[key].split())}" for key, p in sloppy.items())
