"""nbgrader configuration of the course: the repository root is the course directory."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.grading.feedback_guard import WithholdHiddenOutputs
from autograder.grading.recovery import RecoverCells
from autograder.grading.sanitize import ForgetBrokenMetadata
from autograder.grading.trusted_judge import JudgeRecords, StartRecording

HERE = os.path.dirname(os.path.abspath(__file__))

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "computational-differentiation"

# Every release starts with the header notebook: NAME / COLLABORATORS and "restart and run all".
c.IncludeHeaderFooter.header = os.path.join(HERE, "source", "header.ipynb")
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# A student's infinite loop costs that cell, after this many seconds, and nothing else.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
c.Exchange.root = os.path.join(HERE, "exchange")

# Autograde: the student's kernel only records what the checks observe (StartRecording); every
# test cell is then judged in this trusted process (JudgeRecords), which also replaces tracebacks
# by the readable message, so feedback never shows hidden test code.
c.Autograde.autograde_preprocessors = [
    StartRecording,
    Execute,
    IgnorePattern,
    JudgeRecords,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback handed to students never shows hidden test code, nor outputs that could carry it.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor, WithholdHiddenOutputs]

# Sanitizing a submission: test cells a student deleted are put back where they belong (the grading
# pipeline scores them 0); duplicated cells lose their nbgrader metadata before nbgrader trips on it.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    RecoverCells,  # cell metadata lost by another editor (VS Code, Colab) is put back first
    ClearOutput,
    DeduplicateIds,
    ForgetBrokenMetadata,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
