"""Checks imported by the test cells of each assignment: one module per unit.

A check takes the student's function first, then the input (an expression string such as
"sin(x)", a point, a step) or a `seed` for randomized hidden cases, and raises `CheckFailure` with
a readable paragraph when the student's function is wrong. See `autograder.runtime` for how a
check is split between the student's process and the trusted judge.
"""
