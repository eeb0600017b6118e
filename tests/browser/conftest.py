"""Chromium for the browser tests: skip logic, one headless browser per module, pages that leave evidence.

Shared by every module in tests/browser/ (JupyterLab and JupyterLite):

- `browser_missing()` names what is missing (Debian's Chromium, Playwright) and how to install it, or
  returns None; `require_browser()` skips the calling test with that reason.
- `playwright_session` (module fixture): Playwright's sync API (skips as above).
- `launch_chromium(playwright, extra_args)`: /usr/bin/chromium, headless, with CHROMIUM_ARGS + extra_args
  (OFFLINE_ARGS makes every host but 127.0.0.1 unresolvable).
- `chromium` (module fixture): the browser `launch_chromium` gives; a module may override it by name.
- `browser_page` (fixture): a fresh page (own context, 1400x1000, 60 s default timeout); when the test
  fails, its screenshot, page text and browser console are saved next to the test's screenshots.
- `shoot` (fixture): `shoot("step-name")` saves a full-page PNG of `browser_page` as
  test-artifacts/screenshots/<test>/<NN>-<step-name>.png and returns its path.
- `save_screenshot(page, folder, name)`: the same for any page, folder and name.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install chromium chromium-driver"
# Quiet, offline-friendly headless Chromium. Playwright gives every launch a fresh temporary profile
# (it refuses --user-data-dir in launch args), so no profile flag is needed.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Every host but 127.0.0.1 unresolvable: proves that a page works offline.
OFFLINE_ARGS = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",)
DEFAULT_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1000}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (the missing piece and its fix), or None when they can.

    Playwright drives /usr/bin/chromium directly and does not need chromium-driver; the driver is named
    in the messages because `.ci/run` installs both packages together.
    """
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"browser tests need Debian's chromium at {CHROMIUM}: {INSTALL} (as root; `.ci/run` does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need Playwright for Python: pip install -e '.[dev]' (or pip install playwright)"
    return None


def require_browser() -> None:
    """Skip the calling test (or fixture) with a reason that names what is missing and how to install it."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    """Playwright's sync API for one test module; skips with the fix when Chromium or Playwright is missing.

    Module scope, not session: only one sync Playwright may run in a thread at a time, so a module that
    starts its own (`with sync_playwright()`) must not find this one still running from an earlier module."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(playwright: Playwright, extra_args: Sequence[str] = ()) -> Browser:
    """Debian's Chromium, headless, with CHROMIUM_ARGS and `extra_args` (e.g. OFFLINE_ARGS); the caller closes it."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args], timeout=120_000
    )


@pytest.fixture(scope="module")
def chromium(playwright_session: Playwright) -> Iterator[Browser]:
    """A headless Chromium per test module (closed at its end). A test module that needs other flags overrides
    this fixture by name (module scope), e.g. with `launch_chromium(playwright_session, OFFLINE_ARGS)`, and
    `browser_page` then opens its pages there."""
    browser = launch_chromium(playwright_session)
    try:
        yield browser
    finally:
        browser.close()


def artifact_folder(node: pytest.Item) -> Path:
    """test-artifacts/screenshots/<module>.<test name>, a folder name safe on every file system."""
    name = f"{Path(node.path).stem}.{node.name}"
    return SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.=-]+", "_", name).strip("_")


def save_screenshot(page: Page, folder: Path, name: str) -> Path:
    """A full-page PNG of `page` as `folder`/`name`.png; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.=-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


CONSOLE = pytest.StashKey[list[str]]()


def save_failure(item: pytest.Item, page: Page) -> None:
    """`failure.png` and `failure.txt` (URL, page text, browser console) in the test's artifact folder."""
    folder = artifact_folder(item)
    try:
        save_screenshot(page, folder, "failure")
        text = page.inner_text("body", timeout=10_000)
    except Exception as error:  # the page may be gone; the report still says why the test failed
        text = f"(page text unavailable: {error})"
    folder.mkdir(parents=True, exist_ok=True)
    console = "\n".join(item.stash.get(CONSOLE, []))
    (folder / "failure.txt").write_text(f"{page.url}\n\n{text}\n\n--- browser console ---\n{console}\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """When a test that uses `browser_page` fails, save the page as it is at that moment (before any
    fixture teardown stops kernels or servers)."""
    report = yield
    page = getattr(item, "funcargs", {}).get("browser_page")
    if report.when == "call" and report.failed and page is not None:
        save_failure(item, page)
    return report


@pytest.fixture
def browser_page(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in its own browser context (closed afterwards). If the test fails, `failure.png` and
    `failure.txt` (the page's text and the browser console) are saved in the test's artifact folder."""
    shutil.rmtree(artifact_folder(request.node), ignore_errors=True)  # an earlier run's screenshots would mislead
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    console = request.node.stash.setdefault(CONSOLE, [])
    page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def shoot(browser_page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """`shoot(step)` saves a numbered full-page screenshot of `browser_page` for this test; returns its path."""
    folder = artifact_folder(request.node)
    count = 0

    def take(step: str) -> Path:
        nonlocal count
        count += 1
        return save_screenshot(browser_page, folder, f"{count:02d}-{step}")

    return take
