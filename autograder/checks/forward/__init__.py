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

from autograder.checks.forward import cases as cases
from autograder.checks.forward import mistakes as mistakes
from autograder.checks.forward.cases import check_derivative as check_derivative
from autograder.checks.forward.cases import check_dual_arithmetic as check_dual_arithmetic
from autograder.checks.forward.cases import check_dual_expression as check_dual_expression
from autograder.checks.forward.cases import check_dual_powers as check_dual_powers
from autograder.checks.forward.cases import check_dual_vectorized as check_dual_vectorized
from autograder.checks.forward.cases import check_elementary as check_elementary
from autograder.checks.forward.cases import check_forward_trace as check_forward_trace
from autograder.checks.forward.cases import check_jacobian_forward as check_jacobian_forward
from autograder.checks.forward.cases import check_jvp as check_jvp
from autograder.checks.forward.cases import check_tangent_trace as check_tangent_trace
