"""An instructor's manual grade survives a regrade and shows in the regenerated feedback.

The workers grade on a private gradebook that has no manual grades: the pipeline reads the course's
manual scores and comments once per run and hands each submission's to its worker, so the feedback
shows the instructor's score and comment, not the automatic ones.
"""

from __future__ import annotations

import json

import pytest
from nbgrader.api import Gradebook

from autograder.grading import pipeline, sandbox, submissions
from autograder.grading.course import db_url
from autograder.grading.release import release
from tests.conftest import CELL_TIMEOUT, copy_course

ASSIGNMENT = "01_numerical"
COMMENT = "Manual comment: the step size is argued well."

try:
    sandbox.probe()
    SANDBOX = True
except sandbox.SandboxUnavailable:
    SANDBOX = False


@pytest.fixture(scope="module")
def regraded(tmp_path_factory: pytest.TempPathFactory):
    root = copy_course(tmp_path_factory.mktemp("manual") / "course")
    release(root, [ASSIGNMENT])
    released, source = submissions.load_pair(root, ASSIGNMENT)
    submissions.write(root, ASSIGNMENT, "alice", submissions.fill(released, source))
    options = {"jobs": 1, "use_sandbox": SANDBOX, "cell_timeout": CELL_TIMEOUT, "progress": False}
    first = pipeline.grade(root, ASSIGNMENT, **options)
    assert [r.status for r in first] == ["graded"], first
    with Gradebook(db_url(root)) as gradebook:
        grade = gradebook.find_grade("forward_difference", ASSIGNMENT, ASSIGNMENT, "alice")
        assert grade.auto_score == 8
        grade.manual_score = 3.0
        comment = gradebook.find_comment("differences_code", ASSIGNMENT, ASSIGNMENT, "alice")
        comment.manual_comment = COMMENT
        gradebook.db.commit()
    second = pipeline.grade(root, ASSIGNMENT, force=True, **options)
    assert [r.status for r in second] == ["graded"], second
    return root


def test_the_regenerated_feedback_shows_the_manual_score_and_comment(regraded):
    html = (regraded / "feedback" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Score: 95.0 / 100.0" in html  # 100 - 8 automatic points + 3 manual ones
    assert "Score: 3.0 / 8.0" in html
    assert COMMENT in html


def test_the_gradebook_keeps_the_manual_score_beside_the_new_automatic_one(regraded):
    with Gradebook(db_url(regraded)) as gradebook:
        grade = gradebook.find_grade("forward_difference", ASSIGNMENT, ASSIGNMENT, "alice")
        assert (grade.auto_score, grade.manual_score, grade.score) == (8, 3, 3)
        assert gradebook.find_submission(ASSIGNMENT, "alice").score == 95
        comment = gradebook.find_comment("differences_code", ASSIGNMENT, ASSIGNMENT, "alice")
        assert comment.manual_comment == COMMENT


def test_the_results_for_reports_use_the_manual_score(regraded):
    result = json.loads((regraded / "results" / ASSIGNMENT / "alice.json").read_text())
    cells = {cell["cell_id"]: cell for cell in result["cells"]}
    assert cells["forward_difference"]["points"] == 3 and result["score"] == 95
