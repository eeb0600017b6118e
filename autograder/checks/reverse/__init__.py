"""Checks for unit 04, reverse mode on scalars (backpropagation).

The student's `Var` is driven by small Python expressions ("3 - x", "x * y") and by random SymPy
expressions turned into Python with `lambdify`, whose `sin`, `exp`, ... are the student's
functions; after `backward()` the `.grad` of every input must be SymPy's exact partial derivative.
Graphs built by plain Python loops (a deep diamond, a long chain) are checked against the
derivative of the same loop computed alongside it in floats. How often `f` is called (on Vars or on
plain numbers) and how many reverse passes (calls of `backward`) a driver makes are observed; and
`jacobian_reverse` runs once more on an `f` whose outputs on Vars carry other derivatives than its
values at plain numbers, so a Jacobian read off plain values (finite differences) is told apart.

A `Var` is not plain data, so observers read `.value` and `.grad` in the student's kernel and hand
over numbers (see `autograder.runtime`). The student's `backward` runs under a wall-clock guard
(SIGALRM): an exponential backward costs the check, not the whole cell's time limit.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.reverse import check_...`).
"""

from __future__ import annotations

from autograder.checks.reverse import cases as cases
from autograder.checks.reverse import mistakes as mistakes
from autograder.checks.reverse.cases import check_adjoint_trace as check_adjoint_trace
from autograder.checks.reverse.cases import check_backward_graph as check_backward_graph
from autograder.checks.reverse.cases import check_grad as check_grad
from autograder.checks.reverse.cases import check_jacobian_reverse as check_jacobian_reverse
from autograder.checks.reverse.cases import check_reverse_trace as check_reverse_trace
from autograder.checks.reverse.cases import check_var_arithmetic as check_var_arithmetic
from autograder.checks.reverse.cases import check_var_expression as check_var_expression
from autograder.checks.reverse.cases import check_var_functions as check_var_functions
from autograder.checks.reverse.cases import check_vjp as check_vjp
