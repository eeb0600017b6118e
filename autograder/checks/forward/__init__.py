"""Checks for unit 03, forward mode with dual numbers.

The student's `Dual` is driven by small Python expressions ("3 - x", "x**y") and by random SymPy
expressions turned into Python with `lambdify`, whose `sin`, `exp`, ... are the student's functions.
The truth is always SymPy's: the value of the expression and its exact gradient dotted with the
seed tangents, in 30-digit arithmetic (`autograder.oracles.expressions`). Programs with loops, which
SymPy cannot take, are checked against fourth-order central differences. How often `f` is called,
and with what, is observed with `Recorded`: forward mode is one pass per seed direction.

A `Dual` is not plain data, so observers read `.value` and `.tangent` in the student's kernel and
hand over numbers (see `autograder.runtime`).

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.forward import check_...`).
"""

from __future__ import annotations

from autograder.checks.forward import cases, mistakes
from autograder.checks.forward.cases import (
    check_derivative,
    check_dual_arithmetic,
    check_dual_expression,
    check_dual_powers,
    check_dual_vectorized,
    check_elementary,
    check_forward_trace,
    check_jacobian_forward,
    check_jvp,
    check_tangent_trace,
)

__all__ = [
    "cases",
    "check_derivative",
    "check_dual_arithmetic",
    "check_dual_expression",
    "check_dual_powers",
    "check_dual_vectorized",
    "check_elementary",
    "check_forward_trace",
    "check_jacobian_forward",
    "check_jvp",
    "check_tangent_trace",
    "mistakes",
]
