"""The catalogue of unit 06, backpropagation: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.feedback import Mistake

# --- diagnoses: the common mistakes, the rule each breaks and where it is taught ---------------------

LECTURE = "of notebooks/06_backprop.ipynb"
ASSIGNMENT = "of 06_backprop.ipynb"
MODULES = f"section 2 (Modules: `Linear`, `ReLU`, `Sequential`) {ASSIGNMENT}"
FORWARD = f"section 3 (The two-layer network by hand: `mlp_forward`) {ASSIGNMENT}"
BACKWARD = f"section 4 (Backpropagation by hand: `mlp_backward`) {ASSIGNMENT}"
BY_HAND = f"section 2 (Backpropagation by hand: the lecture's rules and matching dimensions) {LECTURE}"
ACTIVATIONS = f"section 3 (Activations: diagonal Jacobians that are never formed) {LECTURE}"
TRAINING = f"section 5 (Training: `train`) {ASSIGNMENT}"
COST = f"section 10 (The cheap gradient principle: what a gradient costs) {LECTURE}"

WEIGHT_NOT_TRANSPOSED = Mistake(
    "weight not transposed",
    "weight has shape (out_features, in_features), one row per output as in z = W y + b, so a batch x of shape "
    "(B, in_features) gives x @ self.weight.T + self.bias.",
    MODULES,
)
CONSTANT_WEIGHTS = Mistake(
    "constant initial weights",
    "draw the weights at random, uniform on [-1/sqrt(in_features), 1/sqrt(in_features)]: with equal weights every "
    "hidden unit computes the same thing and receives the same gradient, so they stay equal forever.",
    MODULES,
)
GRAPH_CUT = Mistake(
    "forward computed outside the graph",
    "compute forward with Tensor operations on the Tensors themselves (x @ self.weight.T + self.bias, x.relu()); "
    "numpy on .data, or a new Tensor made from .data, cuts the graph and no gradient flows back.",
    MODULES,
)
NOT_CHAINED = Mistake(
    "modules not chained",
    "Sequential applies its modules in order, each to the output of the previous one: x = module(x) for every "
    "module, then return x.",
    MODULES,
)
LISTS_NOT_SEARCHED = Mistake(
    "lists of modules not searched",
    "parameters() descends into every submodule and into the lists and tuples that hold modules (Sequential keeps "
    "its modules in a list).",
    MODULES,
)
SUBMODULES_NOT_SEARCHED = Mistake(
    "submodules not searched",
    "parameters() collects the parameters of every submodule too, however deeply nested, not only the module's own "
    "Tensor attributes.",
    MODULES,
)
SHARED_LAYER_TWICE = Mistake(
    "a shared layer listed twice",
    "a layer used twice holds one set of parameters: list each Tensor once (skip those already collected, "
    "compared with `is` or id()), or SGD updates it twice.",
    MODULES,
)
ZERO_GRAD_CLEARS_NOTHING = Mistake(
    "zero_grad clears nothing",
    "zero_grad sets the grad of every Tensor that parameters() returns to None (or zeros), nested modules included.",
    MODULES,
)
NO_RELU = Mistake(
    "ReLU missing in the hidden layer",
    "Y1 = max(Z1, 0), np.maximum(Z1, 0.0), comes between the two layers: without it the network is linear.",
    FORWARD,
)
LOGITS_RETURNED = Mistake(
    "logits returned instead of probabilities",
    "mlp_forward returns sigmoid(Z2) for one output and the softmax of every row of Z2 otherwise.",
    FORWARD,
)
SOFTMAX_OVER_COLUMNS = Mistake(
    "softmax over columns",
    "one example per row: the softmax normalizes each row of Z2 (axis=1), so every row sums to 1.",
    FORWARD,
)
SIGMOID_FOR_SEVERAL = Mistake(
    "sigmoid for several outputs",
    "with C >= 2 outputs the output is the softmax of every row of Z2; the sigmoid is for one output.",
    FORWARD,
)
SOFTMAX_OF_ONE_LOGIT = Mistake(
    "softmax of a single logit",
    "a softmax of one logit is always 1: with one output the network uses the sigmoid, 0.5 * (1 + tanh(z / 2)).",
    FORWARD,
)
NO_MAX_SHIFT = Mistake(
    "no shift by the row maximum",
    "softmax(z) = softmax(z - max z): subtract each row's maximum before exp, so exp never overflows.",
    FORWARD,
)
MISSING_ONE_OVER_B = Mistake(
    "missing 1/B",
    "the loss is a mean over the batch, so the output gradient is (Y - onehot) / B.",
    BACKWARD,
)
GRADIENT_SIGN = Mistake(
    "gradient sign reversed",
    "the output gradient is Y - onehot, prediction minus target (divided by B).",
    BACKWARD,
)
LOSS_SUMMED = Mistake(
    "the loss summed over the batch", "the loss is the mean of the divergence over the batch.", BACKWARD
)
DW_TRANSPOSED = Mistake(
    "dW transposed",
    "the lecture's ∇W = y ∇z has the shape of Wᵀ; W is stored d_z × d_y, so its gradient is dZ.T @ Y, one row "
    "per output unit.",
    BY_HAND,
)
DB_NOT_SUMMED = Mistake(
    "db not summed over the batch",
    "the bias is shared by every example of the batch, so its gradient is the sum of the rows of dZ: dZ.sum(axis=0).",
    BACKWARD,
)
RELU_MASK_FORGOTTEN = Mistake(
    "ReLU mask forgotten",
    "the Jacobian of ReLU is diagonal, 1 where Z1 > 0 and 0 elsewhere: dZ1 = dY1 * (Z1 > 0).",
    ACTIVATIONS,
)
SIGMOID_DERIVATIVE_TWICE = Mistake(
    "sigmoid derivative applied twice",
    "with a sigmoid output and the binary cross-entropy, ∇z2 = (Y - d) / B: the sigmoid's derivative Y(1 - Y) "
    "already cancels against the divergence's, so do not multiply by it again.",
    BACKWARD,
)
W2_TRANSPOSED_IN_HIDDEN = Mistake(
    "W2 transposed in the hidden gradient",
    "∇y1 = ∇z2 W2: dY1 = dZ2 @ W2, of shape (B, H), since W2 has shape (C, H).",
    BY_HAND,
)
NEVER_UPDATED = Mistake(
    "parameters never updated",
    "update every parameter Tensor itself, p.data = p.data - lr * p.grad for p in model.parameters(); "
    "`p = p - lr * p.grad` only rebinds the loop variable.",
    TRAINING,
)
GRADIENT_ASCENT = Mistake(
    "gradient ascent",
    "step against the gradient, p.data = p.data - lr * p.grad: a + climbs the loss.",
    TRAINING,
)
GRADIENTS_NEVER_RESET = Mistake(
    "gradients never reset",
    "the engine adds into .grad, so call model.zero_grad() before every backward; without it every step uses the "
    "sum of all earlier gradients.",
    TRAINING,
)
EPOCH_LOSS_SUMMED = Mistake(
    "epoch loss summed over minibatches",
    "each epoch's loss is the mean of its minibatch losses, one float per epoch, not their sum.",
    TRAINING,
)
CROSS_ENTROPY_FOR_ONE = Mistake(
    "cross_entropy for a single output",
    "a network with one output column is trained with binary_cross_entropy(logits, targets); cross_entropy needs "
    "one column per class.",
    TRAINING,
)
SEED_IGNORED = Mistake(
    "the seed ignored",
    "every epoch visits the rows in the order of generator.permutation(len(X)), with generator = "
    "np.random.default_rng(seed) made once at the start of train.",
    TRAINING,
)
UNSEEDED_SHUFFLE = Mistake(
    "randomness not reproducible from the seed",
    "draw every permutation from one np.random.default_rng(seed) made at the start of train, not from np.random "
    "without a seed.",
    TRAINING,
)
STALE_GRADIENT = Mistake(
    "a stale gradient",
    "each step uses the gradient of this minibatch at the parameters it was just evaluated at: logits, loss, "
    "model.zero_grad(), loss.backward(), and only then p.data = p.data - lr * p.grad; an update before backward() "
    "moves the parameters with the previous minibatch's gradient.",
    TRAINING,
)
LAST_BATCH_DROPPED = Mistake(
    "the short last minibatch dropped",
    "walk through every row of the epoch's permutation: the last minibatch holds the len(X) % batch_size rows left "
    "over and is trained on like the others, for start in range(0, len(X), batch_size).",
    TRAINING,
)
SAME_ORDER_EVERY_EPOCH = Mistake(
    "the same order every epoch",
    "make the generator once, before the epoch loop, and draw a new permutation from it every epoch: a new "
    "np.random.default_rng(seed) in every epoch draws the same permutation every time.",
    TRAINING,
)
GENERATOR_PER_EPOCH = Mistake(
    "a new generator every epoch",
    "make one generator, np.random.default_rng(seed), at the start of train and draw every epoch's permutation from "
    "it; do not seed a new generator each epoch (with seed + epoch or otherwise).",
    TRAINING,
)
GLOBAL_NUMPY_SEED = Mistake(
    "np.random.seed instead of a generator",
    "make one generator, generator = np.random.default_rng(seed), and draw the permutations from it; np.random.seed "
    "and np.random.permutation use numpy's legacy global state, whose numbers differ.",
    TRAINING,
)
LAST_BATCH_LOSS = Mistake(
    "the last minibatch's loss returned",
    "an epoch's loss is the mean of all its minibatch losses, np.mean(batch_losses), not the loss of its last "
    "minibatch.",
    TRAINING,
)
ROW_WEIGHTED_MEAN = Mistake(
    "the epoch loss weighted by batch size",
    "the epoch's loss is the plain mean of its minibatch losses, np.mean(batch_losses): every minibatch counts once, "
    "the short last one too, not in proportion to its rows.",
    TRAINING,
)
LOSSES_NOT_RESET = Mistake(
    "minibatch losses kept across epochs",
    "start a new list of minibatch losses in every epoch: an epoch's loss is the mean of its own minibatches only.",
    TRAINING,
)
RATIO_INVERTED = Mistake(
    "the ratio inverted",
    "return finite-difference time / reverse-mode time: a large number, about P / 3.",
    COST,
)
FORWARD_DIFFERENCE = Mistake(
    "a forward difference instead of a central one",
    "a central-difference gradient evaluates the loss at +h and at -h for every entry: 2P calls.",
    COST,
)
ONLY_FIRST_ARRAY = Mistake(
    "only the first array perturbed",
    "perturb every entry of every array in params (W1, b1, W2 and b2): 2P calls of loss in all.",
    COST,
)
GRADIENT_TIMED_WITH_DIFFERENCES = Mistake(
    "the gradient call timed with the finite differences",
    "read the clock right after the 2P calls of loss, before gradient(params): the finite-difference time is the "
    "2P calls alone, and the one call of gradient is timed between two other readings.",
    COST,
)
SEVERAL_GRADIENTS_TIMED = Mistake(
    "several gradient calls timed",
    "time exactly one call of gradient(params) between two readings of time.perf_counter(), and divide by that "
    "time alone.",
    COST,
)
EXTRA_LOSS_TIMED = Mistake(
    "an unperturbed loss timed with the differences",
    "the timed finite-difference gradient is exactly the 2P calls of loss at perturbed params; evaluate anything "
    "else, such as loss(params) itself, outside the timed region.",
    COST,
)
ONE_LOSS_EXTRAPOLATED = Mistake(
    "one loss call timed and multiplied",
    "measure the time of the whole finite-difference gradient, the loop of 2P calls, between two clock readings; "
    "2P times one call is an estimate, not the measurement.",
    COST,
)
STEP_NOT_H = Mistake(
    "a step other than h",
    "perturb each entry by exactly +h and -h, with the h the function receives as its argument: "
    "array.flat[i] = saved + h, then saved - h.",
    COST,
)
SEVERAL_ENTRIES_CHANGED = Mistake(
    "several entries perturbed at once",
    "perturb one entry at a time and restore it, array.flat[i] = saved, before the next, so that every call of "
    "loss sees one changed entry.",
    COST,
)

LINEAR_FORWARD = (
    "forward must compute x @ self.weight.T + self.bias with Tensor operations: weight has shape "
    "(out_features, in_features)."
)
