"""The course in JupyterLab, as a student sees it, driven through JupyterLab's own commands in headless Chromium.

A JupyterLab server runs on a throw-away copy of the course (release/, notebooks/, nbgrader_config.py) with
no token, on 127.0.0.1 and a free port, with `window.jupyterapp` exposed. Tests open notebooks with
`docmanager:open`, run them with `notebook:run-all-cells` / `notebook:run-cell`, edit a cell through its
shared model, press nbgrader's Validate button, and read what the page renders. Screenshots of every step
go to test-artifacts/screenshots/<test>/.

Keyboard and mouse driving were flaky on 2 cores, so everything but the Validate button goes through
commands; every wait is on a condition (kernel idle, run finished, dialog shown), with generous timeouts.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.grading import submissions
from tests.browser.conftest import REPO, require_browser

# Seconds. The machine has 2 cores and runs other tests at the same time: be patient, never sleep blindly.
LAB_START_TIMEOUT = 180
KERNEL_TIMEOUT = 180
RUN_TIMEOUT = 900
VALIDATE_TIMEOUT = 300
STOP_TIMEOUT = 30

UNIT = "02_symbolic"
SOLVED_CELL = "derivative_rules_code"  # the first exercise
ITS_TESTS = ("derivative_rules_basic", "derivative_rules_chain", "derivative_rules_random")
NEXT_TEST = "gradient_expr"  # the first test cell after those, still failing in the partly solved notebook
SELF_CHECK = "self_check"
LECTURES = sorted((REPO / "notebooks").glob("*.ipynb"))
TIMINGS = REPO / "test-artifacts" / "lab-lecture-timings.tsv"

# Helpers installed in the page before JupyterLab loads. `__panel(path)` is the open notebook panel of a path.
# `__start(key, body, arg)` runs `body` (the text of an async function of `app` and `arg`) and stores its
# outcome in window.__jobs[key], so that Python waits for it with a timeout (page.evaluate has none).
PAGE_HELPERS = """
window.__jobs = {};
window.__panel = (path) => {
  for (const widget of window.jupyterapp.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.content && widget.content.widgets) return widget;
  }
  throw new Error('no open notebook ' + path);
};
window.__start = (key, body, arg) => {
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  window.__jobs[key] = {done: false};
  new AsyncFunction('app', 'arg', body)(window.jupyterapp, arg).then(
    (value) => { window.__jobs[key] = {done: true, value: value === undefined ? null : value}; },
    (error) => { window.__jobs[key] = {done: true, error: String((error && error.stack) || error)}; },
  );
};
"""

OPEN_NOTEBOOK = """
const panel = await app.commands.execute('docmanager:open', {path: arg.path, factory: 'Notebook'});
await panel.context.ready;
await panel.sessionContext.ready;
app.shell.activateById(panel.id);
return panel.id;
"""
KERNEL_IDLE = """(path) => {
  const kernel = window.__panel(path).sessionContext.session?.kernel;
  return !!kernel && kernel.status === 'idle';
}"""
RUN_ALL = """
const panel = window.__panel(arg.path);
return await app.commands.execute('notebook:run-all-cells', {widgetId: panel.id, activate: true});
"""
RUN_CELL = """
const panel = window.__panel(arg.path);
panel.content.deselectAll();
panel.content.activeCellIndex = arg.index;
return await app.commands.execute('notebook:run-cell', {widgetId: panel.id, activate: true});
"""
SET_SOURCE = """
const panel = window.__panel(arg.path);
panel.content.activeCellIndex = arg.index;
panel.content.activeCell.model.sharedModel.setSource(arg.source);
return panel.content.activeCell.model.sharedModel.getSource() === arg.source;
"""
SCROLL_TO = """
const panel = window.__panel(arg.path);
panel.content.activeCellIndex = arg.index;
await panel.content.scrollToItem(arg.index, 'start');
return true;
"""
# What the page shows of each cell: its rendered output text, error outputs, decoded images.
CELLS = """(path) => window.__panel(path).content.widgets.map((cell, index) => {
  const code = cell.model.type === 'code';
  const outputs = code ? cell.model.outputs.toJSON() : [];
  const images = code ? [...cell.outputArea.node.querySelectorAll('.jp-OutputArea-output img')] : [];
  return {
    index,
    type: cell.model.type,
    grade_id: (cell.model.getMetadata('nbgrader') || {}).grade_id || null,
    execution_count: code ? cell.model.executionCount : null,
    text: code ? cell.outputArea.node.textContent : '',
    errors: outputs.filter((o) => o.output_type === 'error').map((o) => o.ename + ': ' + o.evalue),
    images: images.filter((img) => img.complete && img.naturalWidth > 0).length,
    images_pending: images.filter((img) => !img.complete).length,
  };
})"""


@dataclass(frozen=True)
class Cell:
    """One notebook cell as rendered in the page."""

    index: int
    type: str
    grade_id: str | None
    execution_count: int | None
    text: str
    errors: list[str]
    images: int
    images_pending: int


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server: its URL and the course folder it serves."""

    url: str
    root: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def course_copy(target: Path) -> Path:
    """A student's view of the course at `target`: release/, notebooks/ and the nbgrader config."""
    target.mkdir(parents=True)
    for folder in ("release", "notebooks"):
        shutil.copytree(REPO / folder, target / folder)
    shutil.copy2(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    return target


def lab_settings(folder: Path) -> Path:
    """User settings for the test server: every cell rendered (no windowing, so off-screen outputs are in
    the page), no news or update checks."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in settings.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(value))
    return folder


def process_table() -> dict[int, tuple[int, str]]:
    """Every live process: pid -> (parent pid, start time in clock ticks since boot)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(stat.parent.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int) -> dict[int, str]:
    """Every live descendant of `pid`, with its start time (kernels start in their own sessions, so
    killing the server's process group would miss them; the start time tells a reused pid apart)."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = table[child][1]
            todo.append(child)
    return found


def http_get(url: str, timeout: float = 5) -> bytes:
    """The body of a GET request to the test server."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


# Without a token, the server demands an XSRF header that matches the _xsrf cookie on every non-GET request.
XSRF = {"Cookie": "_xsrf=browser-tests", "X-XSRFToken": "browser-tests"}


def shutdown_kernels(url: str) -> None:
    """Ask the server to end every session and shut every kernel down (best effort: a server that is gone
    has none left to stop)."""
    try:
        for kind in ("sessions", "kernels"):  # a session's kernel goes with it; then any kernel left alone
            for item in json.loads(http_get(f"{url}/api/{kind}")):
                request = urllib.request.Request(f"{url}/api/{kind}/{item['id']}", method="DELETE", headers=XSRF)
                urllib.request.urlopen(request, timeout=STOP_TIMEOUT).close()
    except (OSError, ValueError):
        pass  # the server is already gone or unwell: stop_lab's kills still clean up


def stop_lab(process: subprocess.Popen, url: str) -> None:
    """Shut the server's kernels down, stop the server, and kill whatever it started that is still alive."""
    started = descendants(process.pid)
    shutdown_kernels(url)
    started |= descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
    alive = process_table()
    for pid, start in started.items():
        if pid in alive and alive[pid][1] == start:  # still the process the server started
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a copy of the course; stopped (kernels included) at the end, even on failure."""
    require_browser()  # no server start when the browser tests skip anyway
    base = tmp_path_factory.mktemp("lab")
    root = course_copy(base / "course")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # Agg would hide inline plots
    env |= {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "JUPYTERLAB_SETTINGS_DIR": str(lab_settings(base / "settings")),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.terminals_enabled=False",
    ]
    log = base / "jupyterlab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while True:
            try:
                http_get(f"{url}/api/status")
                break
            except (OSError, urllib.error.URLError):
                if process.poll() is not None or time.monotonic() > deadline:
                    state = "exited" if process.poll() is not None else f"did not answer in {LAB_START_TIMEOUT} s"
                    pytest.fail(f"JupyterLab {state}; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.25)  # polling interval of the readiness check
        yield Lab(url, root)
    finally:
        stop_lab(process, url)


class LabPage:
    """A JupyterLab page driven through `window.jupyterapp`."""

    _keys = itertools.count()

    def __init__(self, page: Any, lab: Lab) -> None:
        self.page = page
        page.add_init_script(PAGE_HELPERS)
        page.goto(f"{lab.url}/lab?reset", wait_until="domcontentloaded", timeout=LAB_START_TIMEOUT * 1000)
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=LAB_START_TIMEOUT * 1000)
        self.call("await app.restored; return true;", None, LAB_START_TIMEOUT)

    def call(self, body: str, arg: Any, timeout: float) -> Any:
        """Run `body` (an async function of `app` and `arg`) in the page; its value, or an error after
        `timeout` seconds or when it throws."""
        key = f"job{next(self._keys)}"
        self.page.evaluate("([key, body, arg]) => window.__start(key, body, arg)", [key, body, arg])
        self.page.wait_for_function("(key) => window.__jobs[key].done", arg=key, timeout=timeout * 1000, polling=250)
        job = self.page.evaluate("(key) => window.__jobs[key]", key)
        if "error" in job:
            raise AssertionError(f"JupyterLab failed: {job['error']}")
        return job["value"]

    def open(self, path: str) -> None:
        """Open a notebook and wait until its kernel is idle."""
        self.call(OPEN_NOTEBOOK, {"path": path}, KERNEL_TIMEOUT)
        self.wait_idle(path)

    def wait_idle(self, path: str, timeout: float = KERNEL_TIMEOUT) -> None:
        self.page.wait_for_function(KERNEL_IDLE, arg=path, timeout=timeout * 1000, polling=250)

    def run_all(self, path: str) -> bool:
        """Run every cell (JupyterLab stops at the first error, unless the cell is tagged raises-exception)."""
        ok = self.call(RUN_ALL, {"path": path}, RUN_TIMEOUT)
        self.wait_idle(path)
        return bool(ok)

    def run_cell(self, path: str, index: int) -> bool:
        ok = self.call(RUN_CELL, {"path": path, "index": index}, RUN_TIMEOUT)
        self.wait_idle(path)
        return bool(ok)

    def set_source(self, path: str, index: int, source: str) -> None:
        """Replace a cell's text through the notebook's shared model, as typing it would."""
        assert self.call(SET_SOURCE, {"path": path, "index": index, "source": source}, 30)

    def scroll_to(self, path: str, index: int) -> None:
        self.call(SCROLL_TO, {"path": path, "index": index}, 30)

    def cells(self, path: str) -> list[Cell]:
        return [Cell(**cell) for cell in self.page.evaluate(CELLS, path)]

    def cell(self, path: str, grade_id: str) -> Cell:
        [found] = [c for c in self.cells(path) if c.grade_id == grade_id]
        return found

    def panel_selector(self, path: str) -> str:
        panel_id = self.page.evaluate("(path) => window.__panel(path).id", path)
        return f"[id='{panel_id}']"

    def validate(self, path: str) -> tuple[str, str]:
        """Press nbgrader's Validate button (it saves, then validates on the server); the result dialog's
        outcome class (validation-success, validation-failed, ...) and text. The dialog stays open."""
        self.page.locator(f"{self.panel_selector(path)} .jp-Toolbar .validate-button").click()
        message = self.page.locator("#validation-message")
        message.wait_for(state="visible", timeout=VALIDATE_TIMEOUT * 1000)
        classes = (message.get_attribute("class") or "").split()
        outcome = next((c for c in classes if c.startswith("validation-")), "")
        return outcome, message.text_content() or ""

    def close_dialog(self) -> None:
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")


@pytest.fixture
def lab_page(lab: Lab, browser_page: Any) -> Iterator[LabPage]:
    """JupyterLab loaded in a fresh page; the test's kernels are shut down afterwards (2 cores, little memory)."""
    try:
        yield LabPage(browser_page, lab)
    finally:
        shutdown_kernels(lab.url)


def describe(cells: list[Cell]) -> str:
    """The page's outputs, for assertion messages."""
    return "\n".join(f"[{c.index}] {c.grade_id or c.type} {c.errors or ''} {c.text[:300]!r}" for c in cells)


def self_check_output(lab_page: LabPage, path: str) -> str:
    """The self-check's rendered output after run-all (failing test cells are tagged raises-exception, so
    run-all goes on to the last cell)."""
    text = lab_page.cell(path, SELF_CHECK).text
    assert "Self-check:" in text, f"run-all did not reach the self-check:\n{describe(lab_page.cells(path))}"
    return text


def reference_solutions() -> dict[str, str]:
    """The instructor's solution code of every solution cell of the unit, by grade id."""
    source = nbformat.read(REPO / "source" / UNIT / f"{UNIT}.ipynb", as_version=4)
    return {grade_id: submissions.solution_code(cell) for grade_id, cell in submissions.solution_cells(source).items()}


def test_student_works_through_symbolic_unit(
    lab_page: LabPage, shoot: Callable[[str], Path], record_property: Callable[[str, Any], None]
) -> None:
    """Unit 02 as a student meets it: the untouched notebook fails with a readable message; one solved
    exercise passes its visible tests; nbgrader's Validate button reports the next failing exercise, and
    success once every exercise is solved."""
    path = f"release/{UNIT}/{UNIT}.ipynb"
    started = time.monotonic()
    page = lab_page
    page.open(path)
    shoot("opened")

    # 1. Untouched: every test cell fails with a readable message, and run-all goes on to the self-check.
    page.run_all(path)
    first = page.cell(path, ITS_TESTS[0])
    assert "CheckFailure" in first.text and "not implemented yet" in first.text, describe(page.cells(path))
    page.scroll_to(path, first.index)
    shoot("untouched-run-all")
    summary = self_check_output(page, path)
    assert f"✗ {ITS_TESTS[0]}" in summary and "not implemented yet" in summary, summary
    assert "Self-check: 9 of 9 visible tests fail (0 of 100 points so far)." in summary, summary
    page.scroll_to(path, page.cell(path, SELF_CHECK).index)
    shoot("untouched-self-check")

    # 2. One exercise solved: its three test cells pass, the next exercise still fails.
    solutions = reference_solutions()
    page.set_source(path, page.cell(path, SOLVED_CELL).index, solutions[SOLVED_CELL])
    page.run_all(path)
    for grade_id in ITS_TESTS:
        cell = page.cell(path, grade_id)
        assert "visible tests passed" in cell.text and not cell.errors, describe(page.cells(path))
    following = page.cell(path, NEXT_TEST)
    assert "not implemented yet" in following.text, describe(page.cells(path))
    page.scroll_to(path, page.cell(path, ITS_TESTS[0]).index)
    shoot("one-solved-run-all")
    summary = self_check_output(page, path)
    assert all(f"✓ {grade_id}" in summary for grade_id in ITS_TESTS), summary
    assert f"✗ {NEXT_TEST}" in summary, summary
    page.scroll_to(path, page.cell(path, SELF_CHECK).index)
    shoot("one-solved-self-check")

    # 3. Validate (saves, then nbgrader validates on the server): the next exercise fails.
    outcome, text = page.validate(path)
    shoot("one-solved-validate")
    assert outcome == "validation-failed" and "not implemented yet" in text, f"{outcome}: {text}"
    page.close_dialog()

    # 4. Every exercise solved: run-all passes, and so does Validate.
    for grade_id, code in solutions.items():
        page.set_source(path, page.cell(path, grade_id).index, code)
    page.run_all(path)
    summary = self_check_output(page, path)
    assert "Self-check: all 9 visible tests pass (100 of 100 points)." in summary, summary
    page.scroll_to(path, page.cell(path, SELF_CHECK).index)
    shoot("all-solved-run-all")
    outcome, text = page.validate(path)
    shoot("all-solved-validate")
    assert outcome == "validation-success" and "Success! Your notebook passes all the tests." in text, text
    page.close_dialog()
    record_property("seconds", round(time.monotonic() - started, 1))


@pytest.mark.parametrize("notebook", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_notebook_plots_render(
    notebook: Path,
    lab_page: LabPage,
    shoot: Callable[[str], Path],
    record_property: Callable[[str, Any], None],
) -> None:
    """A lecture notebook runs from top to bottom in JupyterLab without an error and shows its plots."""
    path = f"notebooks/{notebook.name}"
    started = time.monotonic()  # JupyterLab is already loaded: this times opening the notebook and its kernel
    page = lab_page
    page.open(path)
    opened = time.monotonic()
    ok = page.run_all(path)
    page.page.wait_for_function(
        "(path) => [...window.__panel(path).node.querySelectorAll('.jp-OutputArea-output img')].every(i => i.complete)",
        arg=path,
        timeout=KERNEL_TIMEOUT * 1000,
        polling=250,
    )
    ran = time.monotonic()
    cells = page.cells(path)
    errors = [c for c in cells if c.errors]
    if errors:
        page.scroll_to(path, errors[0].index)
    else:
        plots = [c.index for c in cells if c.images]
        page.scroll_to(path, plots[0] if plots else 0)
    shoot("run-all")
    assert ok and not errors, describe(errors or cells)
    unrun = [c.index for c in cells if c.type == "code" and c.execution_count is None]
    assert not unrun, f"cells {unrun} did not run"
    images = sum(c.images for c in cells)
    assert images >= 1, "no plot rendered in the page"
    timing = {"open_s": round(opened - started, 1), "run_all_s": round(ran - opened, 1), "images": images}
    for key, value in timing.items():
        record_property(key, value)
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    with TIMINGS.open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{notebook.stem}\t{json.dumps(timing)}\n")
