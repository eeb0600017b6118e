"""The sources of truth of the checks: exact or high-precision values, never a student's solution.

* `expressions`: random, safe SymPy test functions (`RandomExpression`, `random_expression`, ...);
* `partials`: their exact partial derivatives of any order, in 30-digit arithmetic;
* `finite_differences`: fourth-order stencils and the complex step, in floats and in mpmath;
* `truncation`: the exact value of a difference quotient, from Taylor series;
* `losses`: the softmax cross-entropy in 30-digit arithmetic.

`autograder.oracles.expressions`, `autograder.oracles.finite_differences` and `autograder.oracles.truncation` re-export
these under their old names.
"""
