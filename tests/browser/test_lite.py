"""The course's JupyterLite site (`make site`), offline, in headless Chromium.

The site is built (or a fresh build reused), served from 127.0.0.1, and opened in Chromium with every
other host unresolvable (`--host-resolver-rules`), so nothing can come from a CDN. In the Pyodide
kernel of `release/02_symbolic/02_symbolic.ipynb` the test checks the kernel's folder, that the
notebook file can be read there (the self-check reads its test cells from it), that `autograder` and
SymPy import; then it runs the notebook's code cells one by one, as a student pressing Shift+Enter
would, and reads the self-check's report from the page (every exercise fails, each with a message);
then it puts a wrong answer (a named mistake of tests/units/symbolic.py), then the reference solution,
into one exercise's cell, runs it and the self-check again, and reads that the exercise fails with a
message, then passes. Screenshots of each step go to
test-artifacts/screenshots/test_lite.<test>/.

Skips name what is missing: Chromium or Playwright (see conftest.py), jupyterlite, or, for the first
build, npm and the network (Pyodide's runtime and the PyPI wheels are downloaded once, then cached in
site/.cache/).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest

from autograder.feedback import diagnoses_in
from autograder.grading import submissions
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.units import symbolic

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "site"
OUTPUT = SITE / "_output"
UNIT = "02_symbolic"
NOTEBOOK = f"release/{UNIT}/{UNIT}.ipynb"
SOLVED_CELL, SOLVED_TEST = "logistic_map_code", "logistic_map"  # the exercise the test answers
WRONG_ANSWER = "logistic_map_off_by_one"  # a named mistake of tests/units/symbolic.py, in that cell
# Every host but the local server is unresolvable: what works here works with no network at all.
OFFLINE_ARGS = (*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
PYODIDE_CDN = "https://cdn.jsdelivr.net/pyodide/"
TRANSCRIPT = REPO / "test-artifacts" / "lite-self-learner.txt"  # what a self-learner saw, step by step
KERNEL_START_MS = 240_000  # Pyodide and the kernel's packages load in about 45 s on 2 busy cores
CELL_MS = 120_000  # one cell, SymPy imports included
# What the built site depends on: a newer file here means the site is rebuilt before the test.
SITE_INPUTS = ("site/build.py", "site/jupyter_lite_config.json", "site/jupyter-lite.json", "pyproject.toml")
SITE_INPUT_FOLDERS = ("notebooks", "release", "autograder")


# ---------------------------------------------------------------- the site: built, then served


def newest_input() -> float:
    """The latest modification time of the files the site is built from."""
    files = [REPO / name for name in SITE_INPUTS]
    for folder in SITE_INPUT_FOLDERS:
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in files if p.exists())


def site_is_fresh() -> bool:
    """True when site/_output holds a complete build newer than every input."""
    stamp = OUTPUT / "jupyter-lite.json"
    runtime = OUTPUT / "static" / "pyodide" / "pyodide-lock.json"
    return stamp.exists() and runtime.exists() and stamp.stat().st_mtime >= newest_input()


def reachable(host: str) -> bool:
    """True when a TCP connection to host:443 opens within 5 s."""
    try:
        with socket.create_connection((host, 443), timeout=5):
            return True
    except OSError:
        return False


def build_missing() -> str | None:
    """Why `site/build.py` cannot run here (the missing piece), or None when it can."""
    try:
        import jupyterlite_core  # noqa: F401
        import jupyterlite_pyodide_kernel  # noqa: F401
    except ImportError:
        return "the JupyterLite site needs jupyterlite-core and jupyterlite-pyodide-kernel: pip install -e '.[dev]'"
    if not list((SITE / ".cache" / "npm").glob("pyodide-*.tgz")):
        if shutil.which("npm") is None:
            return "the first site build needs npm (Node.js) to download Pyodide's runtime: apt-get install npm"
        if not reachable("registry.npmjs.org"):
            return "the first site build downloads Pyodide's runtime from registry.npmjs.org: no network"
    if not (SITE / ".cache" / "wheels").is_dir() and not reachable("pypi.org"):
        return "the first site build downloads pure-Python wheels from pypi.org: no network"
    return None


@pytest.fixture(scope="module")
def lite_site() -> Path:
    """site/_output, built by site/build.py unless a build newer than its inputs is there."""
    if not site_is_fresh():
        reason = build_missing()
        if reason:
            pytest.skip(reason)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(SITE / "build.py")], cwd=REPO, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, f"site/build.py failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        print(f"site built in {time.monotonic() - started:.0f} s")
    return OUTPUT


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types Pyodide and JupyterLite need, and no request log."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
        ".ipynb": "application/json",
        ".whl": "application/zip",
    }

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def site_url(lite_site: Path) -> Iterator[str]:
    """The site served by a thread on 127.0.0.1 (a free port), e.g. http://127.0.0.1:41234."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SiteHandler, directory=lite_site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """conftest.py's Chromium, offline: the same launch with every host but 127.0.0.1 unresolvable.

    Overrides conftest's `chromium` for this module, so its `browser_page` and `shoot` use this one."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(OFFLINE_ARGS), timeout=120_000
        )
        try:
            yield browser
        finally:
            browser.close()


# ---------------------------------------------------------------- driving JupyterLite's notebook

# The page exposes the app as window.jupyterapp (site/jupyter-lite.json: exposeAppInBrowser).
KERNEL_READY = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const session = panel && panel.sessionContext;
  const kernel = session && session.session && session.session.kernel;
  return Boolean(panel && panel.content && kernel && session.isReady && kernel.status === 'idle');
}"""

EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const out = [];
  const future = kernel.requestExecute({ code, store_history: false });
  future.onIOPub = (msg) => {
    const kind = msg.header.msg_type;
    if (kind === 'stream') out.push(msg.content.text);
    if (kind === 'error') out.push(`${msg.content.ename}: ${msg.content.evalue}`);
  };
  const reply = await future.done;
  return { status: reply.content.status, text: out.join('') };
}"""

# Run code cells one at a time (each awaited), as a student going down the notebook: an error in one
# cell does not stop the next, unlike Run All, which stops at the first failing test cell.
RUN_CELLS = """async ([gradeIds, ms]) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  const ran = [];
  for (let i = 0; i < notebook.widgets.length; i++) {
    const cell = notebook.widgets[i];
    const id = (cell.model.getMetadata('nbgrader') || {}).grade_id || `cell ${i}`;
    if (cell.model.type !== 'code' || (gradeIds && !gradeIds.includes(id))) continue;
    notebook.activeCellIndex = i;
    notebook.deselectAll();
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error(`${id} still runs after ${ms} ms`)), ms));
    await Promise.race([app.commands.execute('notebook:run-cell'), late]);
    ran.push(id);
  }
  return ran;
}"""

CELL_INDEX = """(gradeId) => window.jupyterapp.shell.currentWidget.content.widgets.findIndex(
  (cell) => (cell.model.getMetadata('nbgrader') || {}).grade_id === gradeId)"""

SET_SOURCE = """([index, source]) => {
  window.jupyterapp.shell.currentWidget.content.widgets[index].model.sharedModel.setSource(source);
}"""

SHOW_CELL = """async (index) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  await notebook.scrollToItem(index, 'start');
}"""


def open_notebook(page: Page, site_url: str, path: str) -> float:
    """Open `path` in the site's JupyterLab and wait until its Pyodide kernel is idle; return the seconds."""
    started = time.monotonic()
    page.goto(f"{site_url}/lab/index.html?path={path}")
    page.wait_for_function(KERNEL_READY, timeout=KERNEL_START_MS)
    return time.monotonic() - started


def execute(page: Page, code: str) -> str:
    """Run `code` in the notebook's kernel (not in a cell) and return what it printed; fail on an error."""
    result = page.evaluate(EXECUTE, code)
    assert result["status"] == "ok", f"the Lite kernel failed to run {code!r}:\n{result['text']}"
    return result["text"]


def run_cells(page: Page, grade_ids: list[str] | None = None) -> list[str]:
    """Run the notebook's code cells (only those with these nbgrader grade ids, if given), in order."""
    return page.evaluate(RUN_CELLS, [grade_ids, CELL_MS])


def cell_output(page: Page, grade_id: str) -> str:
    """The text shown in the page under the cell with this nbgrader grade id (scrolled into view)."""
    index = page.evaluate(CELL_INDEX, grade_id)
    assert index >= 0, f"no cell with grade id {grade_id} in the notebook"
    page.evaluate(SHOW_CELL, index)
    output = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")
    output.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let the scrolled cell render before a screenshot
    return output.inner_text()


def set_cell_source(page: Page, grade_id: str, source: str) -> None:
    """Replace the source of the cell with this grade id through the notebook model (as if typed)."""
    index = page.evaluate(CELL_INDEX, grade_id)
    assert index >= 0, f"no cell with grade id {grade_id} in the notebook"
    page.evaluate(SET_SOURCE, [index, source])


def visible_tests(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """Graded test cells of a notebook: grade id -> points."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"].get("points", 0))
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
    }


def report_lines(report: str) -> dict[str, tuple[str, str]]:
    """The self-check's per-test lines: grade id -> (mark, the indented message under it, joined)."""
    lines: dict[str, tuple[str, str]] = {}
    current = None
    for line in report.splitlines():
        match = re.match(r"^([✓✗]) (\S+)\s+\S+ points$", line)
        if match:
            current = match.group(2)
            lines[current] = (match.group(1), "")
        elif current and line.startswith(" ") and line.strip():
            mark, message = lines[current]
            lines[current] = (mark, f"{message}\n{line.strip()}".strip())
        elif not line.strip():
            current = None
    return lines


# ---------------------------------------------------------------- tests


def test_site_layout(lite_site: Path) -> None:
    """The built site holds every notebook, a local Pyodide with the autograder wheel in its lock file,
    and is configured never to fall back to PyPI."""
    for folder in ("notebooks", "release"):
        for notebook in (REPO / folder).rglob("*.ipynb"):
            if ".ipynb_checkpoints" not in notebook.parts:
                assert (lite_site / "files" / notebook.relative_to(REPO)).is_file(), f"{notebook} missing in site"
    config = json.loads((lite_site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert kernel["disablePyPIFallback"] is True
    runtime = lite_site / "static" / "pyodide"
    lock = json.loads((runtime / "pyodide-lock.json").read_text())["packages"]
    for name in ("autograder", "sympy", "mpmath", "micropip", "ipython", "comm"):
        entry = lock[name]
        assert (runtime / entry["file_name"]).is_file(), f"{name}: {entry['file_name']} not in the site"
    assert lock["autograder"]["depends"] == ["sympy"]
    assert lock["numpy"]["file_name"].startswith("https://cdn.jsdelivr.net/pyodide/")


def test_symbolic_unit_offline(
    site_url: str, browser_page: Page, shoot: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Unit 02 in the Lite site with no network: the kernel starts in the notebook's folder, the self-check
    reports each stub's failure with a message, a wrong answer's named mistake, then a solved exercise."""
    page = browser_page
    foreign: list[str] = []
    page.context.on(
        "request",
        lambda r: foreign.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None,
    )
    seconds = open_notebook(page, site_url, NOTEBOOK)
    shoot("kernel-ready")

    # The kernel's folder is the notebook's: the self-check opens the notebook by its file name there.
    probe = execute(
        page,
        "import json, os, sympy, autograder\n"
        f"notebook = json.load(open('{UNIT}.ipynb'))\n"
        "print(os.getcwd())\n"
        "print(sum(c['metadata'].get('nbgrader', {}).get('grade_id') == 'self_check' for c in notebook['cells']))\n"
        "print(sympy.__version__, autograder.__version__)",
    )
    cwd, self_check_cells, versions = probe.split("\n")[:3]
    assert cwd == f"/drive/release/{UNIT}", probe
    assert self_check_cells == "1", probe

    release = nbformat.read(REPO / NOTEBOOK, as_version=4)
    tests = visible_tests(release)
    ran = run_cells(page)
    plot = cell_output(page, "plot_swell")
    shoot("plot-cell-offline")
    report = cell_output(page, "self_check")
    shoot("self-check-stubs")
    results = report_lines(report)
    assert "self_check" in ran
    assert set(results) == set(tests), f"the self-check reported {sorted(results)}, the notebook has {sorted(tests)}"
    for name, (mark, message) in results.items():
        assert mark == "✗" and message, f"{name}: a stub must fail with a message, the page shows:\n{report}"
        assert "Traceback" not in message, f"{name}: a traceback instead of a readable message:\n{report}"
    total = f"{sum(tests.values()):g}"
    assert f"Self-check: {len(tests)} of {len(tests)} visible tests fail (0 of {total} points so far)." in report

    # A wrong answer (the reference solution with the named mistake of tests/units/symbolic.py).
    source = nbformat.read(REPO / "source" / UNIT / f"{UNIT}.ipynb", as_version=4)
    set_cell_source(page, SOLVED_CELL, symbolic.MUTANTS[WRONG_ANSWER].code(source))
    run_cells(page, [SOLVED_CELL, SOLVED_TEST, "self_check"])
    wrong_test_cell = cell_output(page, SOLVED_TEST)
    shoot("test-cell-wrong-answer")
    wrong = cell_output(page, "self_check")
    shoot("self-check-wrong-answer")
    named = symbolic.MUTANTS[WRONG_ANSWER].diagnoses
    assert set(diagnoses_in(wrong_test_cell)) & set(named), f"the test cell should name {named}:\n{wrong_test_cell}"
    mark, message = report_lines(wrong)[SOLVED_TEST]
    assert mark == "✗" and message and "not implemented" not in message, f"{WRONG_ANSWER} must fail:\n{wrong}"
    assert set(diagnoses_in(message)) & set(named), f"the self-check should name {named}:\n{wrong}"

    set_cell_source(page, SOLVED_CELL, submissions.solution_code(submissions.solution_cells(source)[SOLVED_CELL]))
    run_cells(page, [SOLVED_CELL, "self_check"])
    solved = cell_output(page, "self_check")
    shoot("self-check-one-solved")
    results = report_lines(solved)
    points = tests[SOLVED_TEST]
    assert results[SOLVED_TEST] == ("✓", ""), f"{SOLVED_TEST} should pass with the reference solution:\n{solved}"
    assert f"✓ {SOLVED_TEST}" in solved and f"{points:g}/{points:g} points" in solved
    assert f"Self-check: {len(tests) - 1} of {len(tests)} visible tests fail ({points:g} of {total} points" in solved

    # The thorough self-check, offline too: the solved exercise on fresh random cases, the others left out.
    run_cells(page, ["self_check_thorough"])
    thorough = cell_output(page, "self_check_thorough")
    shoot("self-check-thorough")
    assert f"Thorough self-check of {UNIT}.ipynb, run seed" in thorough, thorough
    assert re.search(rf"✓ {SOLVED_TEST} +\d+ of \d+ random cases pass", thorough), thorough
    transcript = "\n".join(
        [
            f"Lite kernel ready in {seconds:.0f} s; cwd {cwd}; sympy, autograder {versions}",
            f"self-check with the released stubs, as the page shows it:\n{report}",
            f"the test cell {SOLVED_TEST} with {WRONG_ANSWER} in {SOLVED_CELL}:\n{wrong_test_cell}",
            f"the self-check then:\n{wrong}",
            f"the thorough self-check with {SOLVED_CELL} solved:\n{thorough}",
            f"the plot cell, offline:\n{plot}",
            f"asked of Pyodide's CDN (fails offline): {sorted({url.rsplit('/', 1)[-1] for url in foreign})}",
        ]
    )
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    TRANSCRIPT.write_text(transcript + "\n", encoding="utf-8")
    with capsys.disabled():
        print(f"\nLite kernel ready in {seconds:.0f} s; what the page showed: {TRANSCRIPT.relative_to(REPO)}")
    # Only packages the site does not ship (the plot's optional matplotlib, with numpy) are asked of Pyodide's
    # CDN, where a published site finds them; offline the request fails and the cell prints a table instead.
    elsewhere = sorted({url for url in foreign if not url.startswith(PYODIDE_CDN)})
    assert not elsewhere, f"the page asked for non-local URLs other than Pyodide's CDN packages: {elsewhere[:10]}"
