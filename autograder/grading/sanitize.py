"""Sanitizing steps: one nbgrader needs before `OverwriteCells` on tampered notebooks, and nbgrader's
metadata check with its schema prepared once per process (the grading workers use it)."""

from __future__ import annotations

import functools
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, NbGraderPreprocessor
from traitlets import Dict


class ForgetBrokenMetadata(NbGraderPreprocessor):
    """Drop nbgrader metadata that has no grade id (what `DeduplicateIds` leaves on a duplicated cell)
    or a grade id the source notebook does not have (a renamed cell, another assignment's notebook).

    nbgrader 0.9.6's `OverwriteCells` empties the metadata of unknown cells and then, with
    `add_missing_cells`, reads `grade_id` from every cell with nbgrader metadata: a KeyError that
    fails the whole submission. Without the metadata such a cell is ordinary student code, and the
    test cells it replaced are missing, so they are put back (and score 0).
    """

    source_cells = Dict(
        {},
        help="The source cells (assignment -> notebook -> cell name -> source), when the gradebook's cannot change "
        "while this runs (a grading worker's private course): read once instead of from the gradebook every time.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        cached = self.source_cells.get(info["assignment"], {}).get(info["notebook"])
        known = set(cached) if cached is not None else None
        if known is None:
            with Gradebook(info["db_url"]) as gradebook:
                known = {c.name for c in gradebook.find_notebook(info["notebook"], info["assignment"]).source_cells}
        for cell in nb.cells:
            meta = cell.get("metadata", {})
            if "nbgrader" in meta and meta["nbgrader"].get("grade_id") not in known:
                del meta["nbgrader"]
        return nb, resources


class _PreparedSchema(BaseMetadataValidator):
    """nbgrader's schema check of one cell (`BaseMetadataValidator.validate_cell`) with its JSON-schema validator
    built once: `jsonschema.validate` checks the schema itself and builds a validator for every cell, which
    was most of the metadata check's time. The same checks in the same order, the same errors."""

    def validate_cell(self, cell: NotebookNode) -> None:
        from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError

        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(
                f"Outdated schema version: {schema} (expected {self.schema_version})", schema, self.schema_version
            )
        if schema > self.schema_version:
            raise SchemaTooNewError(
                f"Schema version is too new: {schema} (expected {self.schema_version})", schema, self.schema_version
            )
        from jsonschema.exceptions import best_match

        error = best_match(_json_validator().iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class PreparedMetadataValidator(MetadataValidator, _PreparedSchema):
    """nbgrader's `MetadataValidator` (its cell and notebook checks unchanged) on `_PreparedSchema`."""


@functools.cache
def _json_validator() -> Any:
    """The JSON-schema validator of nbgrader's cell metadata schema, the schema itself checked once (what
    `jsonschema.validate` does on every call)."""
    from jsonschema.validators import validator_for

    schema = MetadataValidator().schema
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


@functools.cache
def _validator() -> PreparedMetadataValidator:
    return PreparedMetadataValidator()


class PreparedCheckCellMetadata(CheckCellMetadata):
    """nbgrader's `CheckCellMetadata` (same checks, same errors, same log) with its validator and JSON schema
    prepared once per process instead of for every notebook and cell: what a grading worker runs."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        import traceback

        from nbgrader.nbgraderformat import ValidationError

        try:
            _validator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)  # noqa: B904 - as nbgrader raises it
        return nb, resources
