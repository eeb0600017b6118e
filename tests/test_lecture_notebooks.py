"""Every lecture notebook runs from top to bottom without an error, and draws at least one plot.

Where Chromium is available, tests/browser/test_lab.py runs every lecture notebook in JupyterLab and
checks that the plots render in the page, which covers this test; it then skips (and says so) to keep
the suite short. Without a browser, this nbclient run is the check.
"""

from __future__ import annotations

import re

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


# What every lecture must hold (issue 16): the graded names of COURSE.md each unit's map must cover.
GRADED_NAMES = {
    "01_numerical": [
        "forward_difference",
        "central_difference",
        "numerical_gradient",
        "numerical_jacobian",
        "relative_error",
        "gradient_check",
        "step_size_errors",
        "best_step",
        "complex_step",
    ],
    "02_symbolic": [
        "derivative_rules",
        "gradient_expr",
        "jacobian_expr",
        "hessian_expr",
        "logistic_map",
        "expression_swell",
        "to_function",
    ],
    "03_forward": ["Dual", "derivative", "jvp", "jacobian_forward", "forward_trace"],
    "04_reverse": ["Var", "backward", "grad", "vjp", "jacobian_reverse", "reverse_trace"],
    "05_vjp": [
        "unbroadcast",
        "Tensor",
        "matmul_vjp",
        "linear_backward",
        "quadratic_form_grad",
        "softmax_cross_entropy",
        "softmax_cross_entropy_vjp",
        "solve_vjp",
        "svd_vjp",
    ],
    "06_backprop": ["Linear", "ReLU", "Sequential", "mlp_forward", "mlp_backward", "train", "gradient_cost_ratio"],
    "07_higher_order": ["hvp", "hessian", "newton_step", "derivative", "no_grad", "checkpoint"],
}
MIN_WORDS = 1800
MIN_FIGURES = 2


def _markdown(notebook) -> list[str]:
    return [c.source for c in notebook.cells if c.cell_type == "markdown"]


def _sections(notebook) -> list[tuple[str, str]]:
    """(heading, text up to the next heading of level 2) for every `## ` section of the notebook."""
    sections: list[tuple[str, str]] = []
    for cell in notebook.cells:
        for line in cell.source.splitlines():
            if line.startswith("## "):
                sections.append((line[3:].strip(), ""))
            elif sections:
                sections[-1] = (sections[-1][0], sections[-1][1] + line + "\n")
    return sections


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lecture_notebook_is_a_lecture(path):
    """Outline, learning objectives, numbered sections, a summary, the assignment map, enough prose."""
    notebook = nbformat.read(path, as_version=4)
    intro = _markdown(notebook)[0]
    unit = path.stem
    assert intro.startswith(f"# Unit {unit[:2]} "), f"{path.name}: the first cell is the unit's title"
    assert "**Outline**" in intro, f"{path.name}: the first cell has no **Outline**"
    assert re.search(r"^1\. ", intro, re.M), f"{path.name}: the outline is not a numbered list"
    assert "By the end of this unit you can" in intro, f"{path.name}: no learning objectives in the first cell"
    assert re.search(r"^[*-] ", intro, re.M), f"{path.name}: the learning objectives are not a bullet list"

    words = sum(len(re.findall(r"\w+", text)) for text in _markdown(notebook))
    assert words >= MIN_WORDS, f"{path.name}: {words} words of prose, fewer than {MIN_WORDS}"

    sections = _sections(notebook)
    headings = [heading for heading, _ in sections]
    numbered = [h for h in headings if re.match(r"\d+\. ", h)]
    assert len(numbered) >= 4, f"{path.name}: sections are `## k. Title`; found {headings}"
    assert any("Summary" in h for h in headings), f"{path.name}: no Summary section"
    last_heading, last_text = sections[-1]
    assert "What the graded assignment asks" in last_heading, f"{path.name}: the last section maps the assignment"
    missing = [name for name in GRADED_NAMES[unit] if f"`{name}" not in last_text]
    assert not missing, f"{path.name}: the assignment map does not name {missing}"
    assert re.search(r"section \d", last_text), f"{path.name}: the map does not point to the teaching sections"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_plot_is_labelled(path):
    """At least MIN_FIGURES plotting cells, each with axis labels and a title."""
    notebook = nbformat.read(path, as_version=4)
    plotting = [
        c.source
        for c in notebook.cells
        if c.cell_type == "code"
        and re.search(r"\b(plt\.(plot|subplots|figure|imshow|bar|hist|scatter|loglog|semilogy))\b", c.source)
    ]
    assert len(plotting) >= MIN_FIGURES, f"{path.name}: {len(plotting)} plotting cells, fewer than {MIN_FIGURES}"
    for source in plotting:
        first = source.strip().splitlines()[0]
        assert "title" in source, f"{path.name}: a plot without a title (cell starting {first!r})"
        if "imshow" not in source:
            assert "xlabel" in source, f"{path.name}: a plot without axis labels (cell starting {first!r})"
