"""The instructor's side: the course layout, release, sample submissions, autograding, reports."""

import sys

# jsonschema (which nbformat imports) imports rfc3987_syntax when it is installed, to check the "iri" string
# format; that compiles 38 lark grammars, about 1.4 s of CPU in every process that reads a notebook (the
# grading coordinator, each worker, each test job). No schema the grader validates (nbformat's) uses that
# format, so unless jsonschema is loaded already, these processes go without it.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
