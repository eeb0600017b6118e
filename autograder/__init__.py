"""The course's grading package: oracles, checks with readable failures, and the instructor tools.

Test cells of the assignments import `autograder.checks.<unit>`; the instructor command line is
`autograder` (see `autograder.cli`). The package holds oracles (finite differences, the complex
step, SymPy) and checks, never a solution of a graded exercise.
"""

__version__ = "0.1.0"
