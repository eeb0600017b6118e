"""The checks' per-process caches: `kit.memo.by_value` and `kit.prewarm` (what the fork server fills).

`by_value` keys a pure oracle by its arguments' contents (an array by dtype, shape and bytes; a float
by its repr) and hands out copies: equal arguments give the cached result, a caller mutating a result
or an argument changes no later result, different contents are different keys, and arguments it cannot
key (callables, object arrays, oversized arrays, ...) go straight to the function, every time.

`prewarm` runs released test cells against stand-ins in collect mode: it must leave `autograder.runtime`
exactly as it found it, write no record, keep nothing compiled from the cells reachable, and leave the
checks' verdicts what they were with cold caches. The fork server prewarms only cells without hidden tests.
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mpmath
import nbformat
import numpy as np
import pytest
import sympy

from autograder import runtime
from autograder.checks import numerical
from autograder.checks.kit import memo, prewarm
from autograder.feedback import CheckFailure
from autograder.grading import assignment_cells, fork_server

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "release" / "01_numerical" / "01_numerical.ipynb"


# --- memo.by_value ------------------------------------------------------------------------------------


def _counted(function: Callable[..., Any], **options: Any) -> tuple[Callable[..., Any], list[tuple]]:
    """`function` memoized by `by_value(**options)`, and the list of the calls that reached it."""
    calls: list[tuple] = []

    @memo.by_value(**options)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return function(*args, **kwargs)

    return wrapped, calls


def _gradient_like(x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return np.asarray(x, dtype=float) * 2.0 * scale + 1.0


def test_equal_but_distinct_arrays_hit_the_cache():
    f, calls = _counted(_gradient_like)
    first = f(np.array([[1.0, 2.0], [3.0, 4.0]]), 0.5)
    second = f(np.array([[1.0, 2.0], [3.0, 4.0]]), 0.5)  # a new array, equal contents
    assert len(calls) == 1
    assert second is not first
    np.testing.assert_array_equal(second, [[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(first, second)
    # keyword arguments are keyed by value too
    f(np.arange(3.0), scale=2.0)
    f(np.arange(3.0), scale=2.0)
    assert len(calls) == 2


def test_nan_contents_hit_the_cache():
    """NaN != NaN, but equal bytes (and Python's nan, by its repr) are one key."""
    f, calls = _counted(lambda x, t: np.nan_to_num(np.asarray(x) + t, nan=7.0))
    f(np.array([np.nan, 1.0]), float("nan"))
    np.testing.assert_array_equal(f(np.array([np.nan, 1.0]), float("nan")), [7.0, 7.0])
    assert len(calls) == 1


def test_mutating_a_result_or_an_argument_changes_no_later_result():
    f, calls = _counted(lambda x: (_gradient_like(x), [_gradient_like(x)], {"g": _gradient_like(x)}))
    x = np.array([1.0, 2.0])
    want = _gradient_like(x)
    missed = f(x)  # the call that filled the cache
    for result in (missed, f(x.copy())):
        result[0][:] = -99.0
        result[1][0][:] = -99.0
        result[2]["g"][:] = -99.0
        result[1].append("junk")
        result[2]["junk"] = 1
    later = f(x.copy())
    assert len(calls) == 1
    np.testing.assert_array_equal(later[0], want)
    np.testing.assert_array_equal(later[1][0], want)
    np.testing.assert_array_equal(later[2]["g"], want)
    assert len(later[1]) == 1 and set(later[2]) == {"g"}

    x[0] = 10.0  # the argument mutated after the call: new contents, a new key
    np.testing.assert_array_equal(f(x)[0], _gradient_like(np.array([10.0, 2.0])))
    assert len(calls) == 2
    np.testing.assert_array_equal(f(np.array([1.0, 2.0]))[0], want)  # the old contents: the old result
    assert len(calls) == 2


def test_a_result_aliasing_its_argument_is_not_shared_with_the_cache():
    f, calls = _counted(lambda x: x)
    x = np.array([1.0, 2.0])
    out = f(x)
    out[:] = 5.0  # also changes x: the function returned its argument
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [1.0, 2.0])
    assert len(calls) == 1


DIFFERENT_KEYS = {
    "-0.0 and 0.0 (float)": (-0.0, 0.0),
    "-0.0 and 0.0 (array)": (np.array([-0.0, 1.0]), np.array([0.0, 1.0])),
    "NaN payloads (array)": (
        np.array([0x7FF8000000000001], dtype=np.uint64).view(np.float64),
        np.array([0x7FF8000000000002], dtype=np.uint64).view(np.float64),
    ),
    "dtype float64 and float32": (np.array([1.0, 2.0]), np.array([1.0, 2.0], dtype=np.float32)),
    "dtype float and int": (np.array([1.0, 2.0]), np.array([1, 2])),
    "byte order": (np.array([1.0, 2.0], dtype="<f8"), np.array([1.0, 2.0], dtype=">f8")),
    "shape (2, 3) and (3, 2)": (np.zeros((2, 3)), np.zeros((3, 2))),
    "shape (6,) and (6, 1)": (np.zeros(6), np.zeros((6, 1))),
    "0-d array and numpy scalar": (np.array(1.0), np.float64(1.0)),
    "numpy scalar and float": (np.float64(1.0), 1.0),
    "int and float": (1, 1.0),
    "bool and int": (True, 1),
    "list and tuple": ([1, 2], (1, 2)),
    "dict values": ({"a": np.zeros(2)}, {"a": np.ones(2)}),
}


@pytest.mark.parametrize("name", DIFFERENT_KEYS)
def test_different_contents_are_different_keys(name):
    first, second = DIFFERENT_KEYS[name]
    f, calls = _counted(lambda v: repr(v) + repr(getattr(v, "dtype", None)) + repr(np.shape(v)))
    assert f(first) == f(copy.deepcopy(first))  # each is a key of its own ...
    assert len(calls) == 1
    assert f(second) == repr(second) + repr(getattr(second, "dtype", None)) + repr(np.shape(second))
    assert len(calls) == 2  # ... not the other's
    f(first)
    f(second)
    assert len(calls) == 2


UNKEYABLE = {
    "a callable": lambda: (lambda t: t + 1.0, 2.0),
    "an object array": lambda: (np.array([1.0, 2.0], dtype=object), 2.0),
    "an mpmath number": lambda: (mpmath.mpf("1.5"), 2.0),
    "a dict with int keys": lambda: ({0: 1.0}, 2.0),
    "a set": lambda: ({1.0}, 2.0),
}


def _total(value: Any, factor: float) -> float:
    if callable(value):
        return float(value(1.0)) * factor
    if isinstance(value, dict):
        return float(sum(value.values())) * factor
    if isinstance(value, set):
        return float(sum(value)) * factor
    return float(np.sum(np.asarray(value, dtype=float))) * factor


@pytest.mark.parametrize("name", UNKEYABLE)
def test_unkeyable_arguments_are_computed_every_time(name):
    f, calls = _counted(_total)
    args = UNKEYABLE[name]()
    want = _total(*args)
    assert f(*args) == want
    assert f(*UNKEYABLE[name]()) == want
    assert len(calls) == 2  # not cached
    assert f(*args, **{}) == want and f(args[0], factor=3.0) == _total(args[0], 3.0)
    assert len(calls) == 4


def test_oversized_arrays_are_computed_every_time_not_kept():
    f, calls = _counted(lambda x: x * 2.0, max_key_bytes=80)
    at_limit, over = np.arange(10.0), np.arange(11.0)  # 80 and 88 bytes
    np.testing.assert_array_equal(f(at_limit), at_limit * 2.0)
    np.testing.assert_array_equal(f(at_limit.copy()), at_limit * 2.0)
    assert len(calls) == 1  # at the limit: kept
    np.testing.assert_array_equal(f(over), over * 2.0)
    np.testing.assert_array_equal(f(over.copy()), over * 2.0)
    assert len(calls) == 3  # over it: computed each time
    # the bytes of all arguments together count
    g, g_calls = _counted(lambda a, b: a + b, max_key_bytes=80)
    np.testing.assert_array_equal(g(np.ones(6), np.ones(6)), np.full(6, 2.0))
    g(np.ones(6), np.ones(6))
    assert len(g_calls) == 2


def test_least_recently_used_result_is_dropped_first():
    f, calls = _counted(lambda x: x + 1, maxsize=2)
    f(1), f(2), f(1)  # 2 is now the least recently used
    f(3)  # drops 2
    assert len(calls) == 3
    f(1), f(3)
    assert len(calls) == 3
    assert f(2) == 3
    assert len(calls) == 4


def test_a_raising_call_is_not_cached_and_cache_clear_empties():
    outcomes = iter([ValueError("first"), 5.0, 6.0])

    def flaky(x: float) -> float:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    f, calls = _counted(flaky)
    with pytest.raises(ValueError):
        f(1.0)
    assert f(1.0) == 5.0 and f(1.0) == 5.0
    assert len(calls) == 2
    f.cache_clear()
    assert f(1.0) == 6.0
    assert len(calls) == 3


def test_a_real_oracle_keeps_its_values_by_contents():
    """backprop's finite-difference gradients of a linear layer: equal inputs, equal copies of one result."""
    from autograder.checks.backprop import cases as backprop_cases

    oracle = backprop_cases._linear_gradients
    generator = np.random.default_rng(3)
    X, G, W, b = (
        generator.normal(size=(4, 3)),
        generator.normal(size=(4, 2)),
        generator.normal(size=(2, 3)),
        np.zeros(2),
    )
    first = oracle(X, G, W, b)
    np.testing.assert_allclose(first[0], G.T @ X, atol=1e-7)  # dW
    np.testing.assert_allclose(first[1], G.sum(axis=0), atol=1e-7)  # db
    np.testing.assert_allclose(first[2], G @ W, atol=1e-7)  # dX
    for array in first:
        array[:] = np.nan
    second = oracle(X.copy(), G.copy(), W.copy(), b.copy())
    np.testing.assert_allclose(second[0], G.T @ X, atol=1e-7)
    np.testing.assert_allclose(second[2], G @ W, atol=1e-7)


# --- prewarm --------------------------------------------------------------------------------------------


def _released_test_cells(path: Path = RELEASED) -> list[str]:
    """The released notebook's graded test cells (nbgrader grade=True, solution=False), in order."""
    cells = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells.append(cell.source)
    return cells


@pytest.fixture
def runtime_state():
    """Restores `autograder.runtime`'s state after the test, whatever the test did to it."""
    state = runtime._state
    saved = (state.mode, state.cell, state.index, state.sink, state.records, dict(state.counts))
    yield state
    state.mode, state.cell, state.index, state.sink, state.records = saved[:5]
    state.counts.clear()
    state.counts.update(saved[5])


def _clear_check_caches() -> None:
    """Empty every per-process cache of the checks (and SymPy's): the state of a fresh kernel."""
    for name, module in list(sys.modules.items()):
        if name.startswith("autograder") and module is not None:
            for value in list(vars(module).values()):
                if isinstance(value, functools._lru_cache_wrapper) or (
                    callable(value) and hasattr(value, "cache_clear") and getattr(value, "__wrapped__", None)
                ):
                    value.cache_clear()
    sympy.core.cache.clear_cache()


def _cell_functions() -> list[types.FunctionType]:
    gc.collect()
    return [
        item
        for item in gc.get_objects()
        if isinstance(item, types.FunctionType) and item.__code__.co_filename == prewarm.FILENAME
    ]


def test_released_cells_hold_checks_and_no_hidden_tests():
    cells = _released_test_cells()
    assert len(cells) >= 5
    assert all("check_" in cell for cell in cells)
    assert not any(fork_server.HIDDEN_MARK in cell for cell in cells)
    # the worker hands the fork server the same cells
    assert tuple(cells) == assignment_cells.visible_test_cells(ROOT, "01_numerical")


def test_prewarm_restores_the_runtime_state_and_records_nothing(runtime_state, tmp_path, capsys):
    cells = _released_test_cells()
    record_file = tmp_path / "records.jsonl"
    sink = open(record_file, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    records = {"a-cell": [runtime.Observation(value=1.0)]}
    counts = runtime_state.counts
    # a kernel that is collecting, part-way through a cell
    runtime_state.mode, runtime_state.sink, runtime_state.cell, runtime_state.index = runtime.COLLECT, sink, "cell", 3
    runtime_state.records = records
    counts.clear()
    counts.update({"": 2, "other": 1})
    before = copy.deepcopy({k: v for k, v in vars(runtime_state).items() if k != "sink"})
    _clear_check_caches()
    try:
        completed = prewarm.prewarm(cells)
        assert runtime_state.sink is sink and runtime_state.records is records and runtime_state.counts is counts
        assert {k: v for k, v in vars(runtime_state).items() if k != "sink"} == before
        assert set(vars(runtime_state)) == {*before, "sink"}
        sink.flush()
        assert record_file.read_text() == ""
    finally:
        sink.close()
    assert completed == len(cells)  # every check went on past its stand-in's raise
    assert capsys.readouterr() == ("", "")  # the cells' prints went nowhere
    from autograder.checks.kit import text

    assert text.expression.cache_info().currsize >= 3  # the cells' checks ran: their expressions are kept
    assert _cell_functions() == []


def test_prewarm_from_local_mode_stays_local(runtime_state):
    runtime_state.mode, runtime_state.sink = runtime.LOCAL, None
    prewarm.prewarm(_released_test_cells()[:2])
    assert (runtime_state.mode, runtime_state.sink) == (runtime.LOCAL, None)


def test_prewarm_stops_a_cell_where_its_own_code_calls_a_stand_in(runtime_state):
    cells = [
        "seen = forward_difference\nseen(1)\nnever_reached = 1",  # the cell's own code calls a stand-in
        "import math\nvalue = math.sqrt(4.0)",  # builtins and imports are real
    ]
    assert prewarm.prewarm(cells) == 1
    with pytest.raises(NotImplementedError, match="stand-in"):
        prewarm.StandIn("forward_difference")()


@pytest.fixture
def leak_target(monkeypatch):
    module = types.ModuleType("_prewarm_leak_target")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    yield module
    vars(module).clear()
    gc.collect()


def test_prewarm_raises_when_a_function_of_the_cells_stays_reachable(runtime_state, leak_target):
    runtime_state.mode, runtime_state.sink = runtime.LOCAL, None
    with pytest.raises(RuntimeError, match="reachable"):
        prewarm.prewarm(["import _prewarm_leak_target as target\ntarget.kept = lambda: 0"])
    assert (runtime_state.mode, runtime_state.sink) == (runtime.LOCAL, None)
    with pytest.raises(RuntimeError, match="reachable"):  # a method of a class the cell defines
        prewarm.prewarm(["import _prewarm_leak_target as t\nclass K:\n    def m(self): pass\nt.kept = K()"])


CODE_LEAKS = {
    "bare": "code",
    "in a tuple": "(code,)",  # a tuple of untracked objects is untracked by the collector itself
    "in a dict": "{'code': code}",
    "nested tuples": "((1, (code,)),)",
}


@pytest.mark.parametrize("held", CODE_LEAKS)
def test_prewarm_raises_when_a_code_object_of_the_cells_stays_reachable(runtime_state, leak_target, held):
    """Code objects are not tracked by the garbage collector: the check must find them all the same."""
    cell = f"import _prewarm_leak_target as target\ncode = (lambda: 0).__code__\ntarget.kept = {CODE_LEAKS[held]}"
    with pytest.raises(RuntimeError, match="reachable"):
        prewarm.prewarm([cell])


def _correct_gradient(f, x, h=1e-5, method="central"):
    x = np.asarray(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in range(x.size):
        step = np.zeros(x.shape)
        step.flat[i] = h
        grad.flat[i] = (f(x + step) - f(x - step)) / (2 * h) if method == "central" else (f(x + step) - f(x)) / h
    return grad


def _one_sided_gradient(f, x, h=1e-5, method="central"):
    return _correct_gradient(f, x, h, "forward")


def _verdicts() -> list[str]:
    """What the checks say of a correct and a wrong answer, on the visible cases and on seeded ones."""
    calls = [
        lambda s: numerical.check_numerical_gradient(s, "x1*x2 + sin(x1)", x=[1.0, 2.0]),
        lambda s: numerical.check_numerical_gradient(s, "x1*x2 + sin(x1)", x=[1, 2]),
        lambda s: numerical.check_numerical_gradient(s, seed=11, count=3),
    ]
    verdicts = []
    for call in calls:
        for student in (_correct_gradient, _one_sided_gradient):
            try:
                call(student)
                verdicts.append("passed")
            except CheckFailure as failure:
                verdicts.append(f"failed: {failure}")
    return verdicts


def test_warm_caches_give_the_verdicts_of_cold_ones(runtime_state):
    runtime_state.mode, runtime_state.sink = runtime.LOCAL, None
    _clear_check_caches()
    cold = _verdicts()
    assert cold[0::2] == ["passed"] * 3
    assert all(verdict.startswith("failed: ") for verdict in cold[1::2])
    _clear_check_caches()
    prewarm.prewarm([*_released_test_cells(), "check_numerical_gradient(numerical_gradient, seed=11, count=3)"])
    assert runtime_state.mode == runtime.LOCAL
    assert _verdicts() == cold


# --- prewarm.test_cells and the fork server ---------------------------------------------------------------


def test_test_cells_picks_graded_test_cells_without_unit_02s_watched_ones():
    def cell(source: str, **nbgrader: Any) -> nbformat.NotebookNode:
        made = nbformat.v4.new_code_cell(source)
        made.metadata["nbgrader"] = nbgrader
        return made

    notebook = nbformat.v4.new_notebook(
        cells=[
            cell("answer = 1", grade=False, solution=True, grade_id="answer"),
            cell("check_a(a)", grade=True, solution=False, grade_id="a"),
            cell(
                "check_b(b)\n### BEGIN HIDDEN TESTS\ncheck_b(b, seed=3)\n### END HIDDEN TESTS", grade=True, grade_id="b"
            ),
            cell("check_rules(derivative_rules)", grade=True, solution=False, grade_id="derivative_rules_basic"),
            cell("written = 1", grade=True, solution=True, grade_id="written"),
            nbformat.v4.new_markdown_cell("check_c(c)"),
        ]
    )
    picked = prewarm.test_cells(json.loads(nbformat.writes(notebook)))
    assert picked == [notebook.cells[1].source, notebook.cells[2].source]


def _serve_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cells: list[str]) -> list[list[str]]:
    """Run `fork_server.serve` up to its self-test (stopped there) and return what it prewarmed."""
    prewarmed: list[list[str]] = []
    monkeypatch.setattr(prewarm, "prewarm", lambda given: prewarmed.append(list(given)) or 0)
    monkeypatch.setattr(fork_server, "_self_test", lambda folder: "stopped by the test")
    monkeypatch.setattr(fork_server, "_READ_ONLY_UNDER_TMP", [])
    folder = tmp_path / f"server-{len(cells)}"
    folder.mkdir()
    (folder / fork_server.PREWARM_NAME).write_text(json.dumps(cells))
    fork_server.serve(folder, [])
    assert (folder / fork_server.READY_NAME).read_text().startswith("failed: ")  # it stopped before serving
    return prewarmed


def test_fork_server_refuses_to_prewarm_hidden_tests(tmp_path, monkeypatch):
    assert fork_server.HIDDEN_MARK == assignment_cells.HIDDEN_MARK == "BEGIN HIDDEN TESTS"
    visible = _released_test_cells()[:2]
    hidden = "check_forward_difference(forward_difference)\n### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS"
    assert _serve_with(tmp_path, monkeypatch, visible) == [visible]
    assert _serve_with(tmp_path, monkeypatch, [*visible, hidden]) == []
