"""Checks for unit 06, backpropagation through an MLP trained on the handwritten digits.

The truth is never a second implementation of an exercise. Module outputs are compared with the
forward computation on plain numpy arrays (with the weights the student's layers hold), and every
gradient with the fourth-order central differences of `autograder.oracles.finite_differences` applied to
that forward function; inputs are drawn away from the kinks of ReLU. `mlp_backward` is also checked
at the size of the digits network by the dot-product test (one directional derivative), and on a
case built so that every softmax output is exactly 1/4, against finite differences in 30-digit
arithmetic (mpmath) with a tolerance that a finite-difference answer in double precision cannot
meet. `train` is run on a fixed split of the digits with a small network made here (the interface
of the unit's modules on the notebook's `Tensor`); the held-out accuracy is computed by the judge
from the predictions the observer records. It is also run step by step on a tiny data set
(`sgd_steps`): a network that records the rows of every minibatch and its parameters at every call
lets the judge check each update against finite differences of that minibatch's loss, the
minibatches and their order against one `np.random.default_rng(seed)`, and the returned epoch means.
`gradient_cost_ratio` gets a loss that records, for every call, which entry of the parameters was
perturbed, in which direction and by how much, and runs with the clocks of `time` reading the
check's own clock (`autograder.checks.virtual_clock`), on which every call of loss and of gradient
takes a known time: the ratio it returns has one exact right value.

Student objects (Tensors, modules) are only touched by observers, which hand over plain arrays.

The checks are in `cases`, the catalogue of the mistakes they name in `mistakes`; test cells import
the checks from here (`from autograder.checks.backprop import check_...`).
"""

from __future__ import annotations

from autograder.checks.backprop import cases as cases
from autograder.checks.backprop import mistakes as mistakes

# check_train imports sgd_steps on first use (sgd_steps imports cases): imported here, it is paid when
# the grader's kernels import the checks before any student code, not in the train test cell.
from autograder.checks.backprop import sgd_steps as sgd_steps
from autograder.checks.backprop.cases import check_gradient_cost_ratio as check_gradient_cost_ratio
from autograder.checks.backprop.cases import check_linear as check_linear
from autograder.checks.backprop.cases import check_mlp_backward as check_mlp_backward
from autograder.checks.backprop.cases import check_mlp_forward as check_mlp_forward
from autograder.checks.backprop.cases import check_sequential as check_sequential
from autograder.checks.backprop.cases import check_train as check_train
