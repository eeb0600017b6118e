"""A sanitizing step nbgrader needs before `OverwriteCells` on tampered notebooks."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor


class ForgetBrokenMetadata(NbGraderPreprocessor):
    """Drop nbgrader metadata that has no grade id (what `DeduplicateIds` leaves on a duplicated cell)
    or a grade id the source notebook does not have (a renamed cell, another assignment's notebook).

    nbgrader 0.9.6's `OverwriteCells` empties the metadata of unknown cells and then, with
    `add_missing_cells`, reads `grade_id` from every cell with nbgrader metadata: a KeyError that
    fails the whole submission. Without the metadata such a cell is ordinary student code, and the
    test cells it replaced are missing, so they are put back (and score 0).
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            known = {c.name for c in gradebook.find_notebook(info["notebook"], info["assignment"]).source_cells}
        for cell in nb.cells:
            meta = cell.get("metadata", {})
            if "nbgrader" in meta and meta["nbgrader"].get("grade_id") not in known:
                del meta["nbgrader"]
        return nb, resources
