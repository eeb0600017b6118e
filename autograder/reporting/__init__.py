"""After grading: recorded results (`results.py`), the class report (`report.py`, `report_html.py`),
grade exports for Canvas, Gradescope and CSV (`exports.py`) and Gradescope's autograder zip (`gradescope.py`)."""
