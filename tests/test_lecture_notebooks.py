"""Every lecture notebook runs from top to bottom without an error, and draws at least one plot.

Where Chromium is available, tests/browser/test_lab.py runs every lecture notebook in JupyterLab and
checks that the plots render in the page, which covers this test; it then skips (and says so) to keep
the suite short. Without a browser, this nbclient run is the check.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.browser.conftest import browser_missing
from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lecture_notebook_executes(path, tmp_path):
    if browser_missing() is None:
        pytest.skip("covered in JupyterLab by tests/browser/test_lab.py::test_lecture_notebook_plots_render")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    images = sum("image/png" in o.get("data", {}) for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1, "a lecture notebook without a single plot?"
