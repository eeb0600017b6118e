"""Checks for unit 02, symbolic differentiation with SymPy.

The truth is `sympy.diff` of the same expression, computed on the judging side. The student's
expressions cross from the kernel to the judge as `sympy.srepr` strings, which the judge rebuilds
with `_rebuild`: a tiny parser that accepts only calls of a fixed list of SymPy classes with
number, string and True/False arguments (never `eval`, so a forged record cannot run code in the
grader). Two expressions are equal when they agree at several random points (30 digits); when they
do not, a bounded symbolic comparison gets a last word (it can only rescue a rounding-sensitive
case, never fail a numerically equal one).

`derivative_rules` must apply the rules itself. While the student's function runs, `_DiffWatch`
records every use of SymPy's own differentiation (`sympy.diff`, `Expr.diff`, `Derivative(...)`,
also through aliases, `getattr`, `sympify("diff(...)")` or `Matrix.jacobian`): a profiler hook
watches the code objects of those routines, and the classes' entry points are wrapped as a second
layer. A use counts unless it comes from SymPy's assumption system (which differentiates
internally, for example when `simplify` asks whether a term is positive). `gradient_expr`,
`jacobian_expr` and `hessian_expr` are watched the same way: they must be built from the
student's `derivative_rules`.

When a check has failed, probes name the common mistake (a `Mistake`, see `_candidates`,
`_shifted_swell` and the tables of `_matrix_case`): the student's answer is compared with the wrong
answer each mistake gives, computed by the oracle (sympy.diff with one rule made wrong, the truth's
transpose, the counts of l_{n+1}); a mistake is named only when exactly one matches.

The checks need no numpy, so the visible tests run in a browser kernel (Pyodide) too, on the same
points and with the same messages (`autograder.inputs.rng` draws numpy's numbers without numpy);
there only `check_to_function`'s test on numpy arrays is skipped, with a printed note. Hidden tests
draw random expressions, which needs numpy.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.symbolic import check_...`).
"""

from __future__ import annotations

from autograder.checks.symbolic import cases as cases
from autograder.checks.symbolic import mistakes as mistakes
from autograder.checks.symbolic.cases import check_derivative_rules as check_derivative_rules
from autograder.checks.symbolic.cases import check_expression_swell as check_expression_swell
from autograder.checks.symbolic.cases import check_gradient_expr as check_gradient_expr
from autograder.checks.symbolic.cases import check_hessian_expr as check_hessian_expr
from autograder.checks.symbolic.cases import check_jacobian_expr as check_jacobian_expr
from autograder.checks.symbolic.cases import check_logistic_map as check_logistic_map
from autograder.checks.symbolic.cases import check_to_function as check_to_function
