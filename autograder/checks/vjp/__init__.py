"""Checks for unit 05, vector-Jacobian products and matrix calculus.

The truth is never a second implementation of an exercise. Gradients of small cases come from the
fourth-order central differences of `autograder.oracles.finite_differences` applied to the *forward*
function (for bilinear and quadratic functions these are exact to rounding); large cases use the
dot-product test: for a random direction U, the recorded inner product <VJP, U> must equal the
directional derivative of <G, f(X)> along U, one stencil of four evaluations. `unbroadcast` is the
adjoint of `np.broadcast_to`, so its oracle is <unbroadcast(g), u> = <g, broadcast_to(u)>. The
softmax cross-entropy oracle evaluates the loss in 30-digit arithmetic (mpmath), with no shift
trick. Cases with integer-valued inputs must be exact: there the oracle is the identity of calculus
(e.g. Xᵀ G) evaluated in exact integer arithmetic, and a finite-difference answer is off by far more
than rounding (see `EXACT`).

Observers copy every input they hand to the student's code and record whether it changed.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.vjp import check_...`).
"""

from __future__ import annotations

from autograder.checks.vjp import cases as cases
from autograder.checks.vjp import mistakes as mistakes
from autograder.checks.vjp.cases import check_linear_backward as check_linear_backward
from autograder.checks.vjp.cases import check_matmul_vjp as check_matmul_vjp
from autograder.checks.vjp.cases import check_quadratic_form_grad as check_quadratic_form_grad
from autograder.checks.vjp.cases import check_softmax_cross_entropy as check_softmax_cross_entropy
from autograder.checks.vjp.cases import check_solve_vjp as check_solve_vjp
from autograder.checks.vjp.cases import check_tensor as check_tensor
from autograder.checks.vjp.cases import check_unbroadcast as check_unbroadcast
