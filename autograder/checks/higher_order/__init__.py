"""Checks for unit 07, beyond the first derivative: HVPs, Hessians, Newton, nesting, memory.

The truth is SymPy: test functions are SymPy expressions (the lectures' examples, random smooth
expressions from `autograder.oracles.expressions`, quadratics with integer coefficients), turned into
Python with `lambdify` whose `sin`, `exp`, ... are the notebook's engine functions, and their exact
gradients and Hessians are evaluated in 30-digit arithmetic. A Newton step is judged against
x - H⁻¹∇f with SymPy's exact H and ∇f; nested derivatives against the calculus identities of each
case (d/dx [x · d/dy (x y)] = 2x) and SymPy's second derivatives. Checkpointed chains are judged
against SymPy's gradient of the composed blocks, and their stored nodes against the same chain
built without checkpointing.

How the student's code computes is observed too: the number of reverse passes (calls of
`Var.backward`), how often `f` is called and with what (a `Var` whose value is a `Dual` carrying the
direction v), which calls of a checkpointed block record a graph, and the recorded nodes reachable
from an output through `.parents`.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.higher_order import check_...`).
"""

from __future__ import annotations

from autograder.checks.higher_order import cases as cases
from autograder.checks.higher_order import mistakes as mistakes
from autograder.checks.higher_order.cases import check_checkpoint as check_checkpoint
from autograder.checks.higher_order.cases import check_hessian as check_hessian
from autograder.checks.higher_order.cases import check_hvp as check_hvp
from autograder.checks.higher_order.cases import check_nested_derivative as check_nested_derivative
from autograder.checks.higher_order.cases import check_newton_step as check_newton_step
from autograder.checks.higher_order.cases import check_no_grad as check_no_grad
