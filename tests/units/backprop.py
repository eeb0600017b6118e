# ruff: noqa: E501 - alternative solutions are kept as students would write them
"""Unit 06 (backpropagation through an MLP, trained on the digits): named mistakes, correct alternatives and attacks."""

from autograder.checks.backprop import mistakes
from tests.units.harness import Alternative, Attack, Mutant, Unit

MUTANTS = {
    # first: the feedback test reads its message (Expected, Got, Likely mistake)
    "missing_one_over_B": Mutant(
        "backward_code", (("        dZ2 /= batch\n", ""),), ("mlp_backward",), diagnosis=mistakes.MISSING_ONE_OVER_B
    ),
    "softmax_gradient_sign": Mutant(
        "backward_code",
        (("dZ2 = np.exp(log_Y)\n        dZ2[rows, y] -= 1.0", "dZ2 = -np.exp(log_Y)\n        dZ2[rows, y] += 1.0"),),
        ("mlp_backward",),
        diagnosis=mistakes.GRADIENT_SIGN,
    ),
    # Modules
    "linear_weight_not_transposed": Mutant(
        "modules_code",
        (("return x @ self.weight.T + self.bias", "return x @ self.weight + self.bias"),),
        ("linear", "sequential"),
        diagnosis=mistakes.WEIGHT_NOT_TRANSPOSED,
    ),
    "linear_zero_init": Mutant(
        "modules_code",
        (
            (
                "self.weight = Tensor(generator.uniform(-bound, bound, size=(out_features, in_features)), requires_grad=True)",
                "self.weight = Tensor(np.zeros((out_features, in_features)), requires_grad=True)",
            ),
        ),
        ("linear",),
        diagnosis=mistakes.CONSTANT_WEIGHTS,
    ),
    "linear_forward_on_data": Mutant(
        "modules_code",
        (("return x @ self.weight.T + self.bias", "return Tensor(x.data @ self.weight.data.T) + self.bias"),),
        ("linear", "sequential"),
        diagnosis=mistakes.GRAPH_CUT,
    ),
    "relu_on_data": Mutant(
        "modules_code",
        (("return x.relu()", "return Tensor(np.maximum(x.data, 0.0))"),),
        ("sequential",),
        ("linear",),
        diagnosis=mistakes.GRAPH_CUT,
    ),
    "sequential_not_chaining": Mutant(
        "modules_code",
        (("            x = module(x)\n        return x", "            out = module(x)\n        return out"),),
        ("sequential",),
        ("linear",),
        diagnosis=mistakes.NOT_CHAINED,
    ),
    "parameters_not_into_lists": Mutant(
        "modules_code",
        (
            (
                "            elif isinstance(value, list | tuple):\n                for item in value:\n                    visit(item)\n",
                "",
            ),
        ),
        ("sequential",),
        ("linear",),
        diagnosis=mistakes.LISTS_NOT_SEARCHED,
    ),
    "parameters_only_own_attributes": Mutant(
        "modules_code",
        (("            elif isinstance(value, Module):", "            elif value is self:"),),
        ("sequential",),
        ("linear",),
        diagnosis=mistakes.SUBMODULES_NOT_SEARCHED,
    ),
    "parameters_duplicates_shared_layer": Mutant(
        "modules_code",
        (("if value.requires_grad and id(value) not in seen:", "if value.requires_grad:"),),
        ("sequential",),
        ("linear",),
        diagnosis=mistakes.SHARED_LAYER_TWICE,
    ),
    "zero_grad_does_nothing": Mutant(
        "modules_code",
        (("        for parameter in self.parameters():\n            parameter.grad = None", "        pass"),),
        ("sequential",),
        ("linear",),
        diagnosis=mistakes.ZERO_GRAD_CLEARS_NOTHING,
    ),
    # mlp_forward
    "forward_without_relu": Mutant(
        "forward_code",
        (("Y1 = np.maximum(Z1, 0.0)", "Y1 = Z1"),),
        ("mlp_forward",),
        diagnosis=mistakes.NO_RELU,
    ),
    "softmax_over_columns": Mutant(
        "forward_code",
        (
            (
                "E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))\n    return E / E.sum(axis=1, keepdims=True)",
                "E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))\n    return E / E.sum(axis=0, keepdims=True)",
            ),
        ),
        ("mlp_forward",),
        diagnosis=mistakes.SOFTMAX_OVER_COLUMNS,
    ),
    "softmax_without_max_shift": Mutant(
        "forward_code",
        (("np.exp(Z2 - Z2.max(axis=1, keepdims=True))", "np.exp(Z2)"),),
        ("mlp_forward",),
        diagnosis=mistakes.NO_MAX_SHIFT,
    ),
    "softmax_for_one_output": Mutant(
        "forward_code",
        (("    if Z2.shape[1] == 1:\n        return 0.5 * (1.0 + np.tanh(Z2 / 2.0))\n", ""),),
        ("mlp_forward",),
        diagnosis=mistakes.SOFTMAX_OF_ONE_LOGIT,
    ),
    # mlp_backward
    "dW_transposed": Mutant(
        "backward_code",
        (("dW2 = dZ2.T @ Y1", "dW2 = Y1.T @ dZ2"),),
        ("mlp_backward",),
        diagnosis=mistakes.DW_TRANSPOSED,
    ),
    "bias_grad_not_summed": Mutant(
        "backward_code",
        (("db2 = dZ2.sum(axis=0)", "db2 = dZ2"),),
        ("mlp_backward",),
        diagnosis=mistakes.DB_NOT_SUMMED,
    ),
    "relu_mask_forgotten": Mutant(
        "backward_code",
        (("dZ1 = dY1 * (Z1 > 0)", "dZ1 = dY1"),),
        ("mlp_backward",),
        diagnosis=mistakes.RELU_MASK_FORGOTTEN,
    ),
    "sigmoid_derivative_applied_twice": Mutant(
        "backward_code",
        (
            (
                "dZ2 = (0.5 * (1.0 + np.tanh(Z2 / 2.0)) - d) / batch",
                "s = 0.5 * (1.0 + np.tanh(Z2 / 2.0))\n        dZ2 = (s - d) * s * (1 - s) / batch",
            ),
        ),
        ("mlp_backward",),
        diagnosis=mistakes.SIGMOID_DERIVATIVE_TWICE,
    ),
    "hidden_gradient_uses_W_transpose": Mutant(
        "backward_code",
        (("dY1 = dZ2 @ W2", "dY1 = dZ2 @ W2.T"),),
        ("mlp_backward",),
        diagnosis=mistakes.W2_TRANSPOSED_IN_HIDDEN,
    ),
    "loss_is_sum": Mutant(
        "backward_code",
        (("loss = -np.mean(log_Y[rows, y])", "loss = -np.sum(log_Y[rows, y])"),),
        ("mlp_backward",),
        diagnosis=mistakes.LOSS_SUMMED,
    ),
    # train
    "train_without_zero_grad": Mutant(
        "train_code",
        (("            model.zero_grad()\n", ""),),
        ("train_digits",),
        diagnosis=mistakes.GRADIENTS_NEVER_RESET,
    ),
    "train_gradient_ascent": Mutant(
        "train_code",
        (
            (
                "parameter.data = parameter.data - lr * parameter.grad",
                "parameter.data = parameter.data + lr * parameter.grad",
            ),
        ),
        ("train", "train_digits"),
        diagnosis=mistakes.GRADIENT_ASCENT,
    ),
    "train_update_rebinds_loop_variable": Mutant(
        "train_code",
        (("parameter.data = parameter.data - lr * parameter.grad", "parameter = parameter - lr * parameter.grad"),),
        ("train", "train_digits"),
        diagnosis=mistakes.NEVER_UPDATED,
    ),
    "train_ignores_seed": Mutant(
        "train_code",
        (("order = generator.permutation(len(X))", "order = np.arange(len(X))"),),
        ("train",),
        diagnosis=mistakes.SEED_IGNORED,
    ),
    "train_always_softmax": Mutant(
        "train_code",
        (
            (
                "            loss = binary_cross_entropy(logits, y[rows]) if logits.shape[1] == 1 else cross_entropy(logits, y[rows])",
                "            loss = cross_entropy(logits, y[rows])",
            ),
        ),
        ("train",),
        ("train_digits",),
        diagnosis=mistakes.CROSS_ENTROPY_FOR_ONE,
    ),
    "train_epoch_loss_summed": Mutant(
        "train_code",
        (("losses.append(float(np.mean(batch_losses)))", "losses.append(float(np.sum(batch_losses)))"),),
        ("train", "train_digits"),
        diagnosis=mistakes.EPOCH_LOSS_SUMMED,
    ),
    # train, step by step (issue 17: wrong answers that learn the digits all the same)
    "train_stale_gradient": Mutant(
        "train_code",
        (
            (
                "            model.zero_grad()\n            loss.backward()\n            for parameter in model.parameters():\n                parameter.data = parameter.data - lr * parameter.grad\n",
                "            for parameter in model.parameters():\n                if parameter.grad is not None:\n                    parameter.data = parameter.data - lr * parameter.grad\n            model.zero_grad()\n            loss.backward()\n",
            ),
        ),
        ("train",),
        ("train_digits",),
        diagnosis=mistakes.STALE_GRADIENT,
    ),
    "train_same_order_every_epoch": Mutant(
        "train_code",
        (("order = generator.permutation(len(X))", "order = np.random.default_rng(seed).permutation(len(X))"),),
        ("train",),
        ("train_digits",),
        diagnosis=mistakes.SAME_ORDER_EVERY_EPOCH,
    ),
    "train_last_batch_loss": Mutant(
        "train_code",
        (("losses.append(float(np.mean(batch_losses)))", "losses.append(batch_losses[-1])"),),
        ("train",),
        ("train_digits",),
        diagnosis=mistakes.LAST_BATCH_LOSS,
    ),
    "train_loss_weighted_by_batch_size": Mutant(
        "train_code",
        (
            ("batch_losses.append(float(loss.data))", "batch_losses.append(float(loss.data) * len(rows))"),
            ("losses.append(float(np.mean(batch_losses)))", "losses.append(float(np.sum(batch_losses)) / len(X))"),
        ),
        ("train",),
        ("train_digits",),
        diagnosis=mistakes.ROW_WEIGHTED_MEAN,
    ),
    # gradient_cost_ratio
    "cost_ratio_inverted": Mutant(
        "cost_code",
        (("return fd_seconds / reverse_seconds", "return reverse_seconds / fd_seconds"),),
        ("gradient_cost_ratio",),
        diagnosis=mistakes.RATIO_INVERTED,
    ),
    "cost_forward_differences": Mutant(
        "cost_code",
        (
            (
                "    start = time.perf_counter()\n    fd_gradient = {}",
                "    start = time.perf_counter()\n    base = loss(params)\n    fd_gradient = {}",
            ),
            (
                "            array.flat[i] = saved - h\n            down = loss(params)\n            array.flat[i] = saved\n            fd_gradient[name].flat[i] = (up - down) / (2 * h)",
                "            array.flat[i] = saved\n            fd_gradient[name].flat[i] = (up - base) / h",
            ),
        ),
        ("gradient_cost_ratio",),
        diagnosis=mistakes.FORWARD_DIFFERENCE,
    ),
    "cost_entries_not_restored": Mutant(
        "cost_code",
        (("            array.flat[i] = saved\n", ""),),
        ("gradient_cost_ratio",),
        diagnosis=mistakes.SEVERAL_ENTRIES_CHANGED,
    ),
    "cost_only_first_array": Mutant(
        "cost_code",
        (("    for name, array in params.items():", "    for name, array in list(params.items())[:1]:"),),
        ("gradient_cost_ratio",),
        diagnosis=mistakes.ONLY_FIRST_ARRAY,
    ),
    # gradient_cost_ratio, timed on the check's clock
    "cost_gradient_timed_with_differences": Mutant(
        "cost_code",
        (
            (
                "    fd_seconds = time.perf_counter() - start\n    start = time.perf_counter()\n    gradient(params)\n    reverse_seconds = time.perf_counter() - start\n",
                "    middle = time.perf_counter()\n    gradient(params)\n    end = time.perf_counter()\n    fd_seconds = end - start\n    reverse_seconds = end - middle\n",
            ),
        ),
        ("gradient_cost_ratio",),
        diagnosis=mistakes.GRADIENT_TIMED_WITH_DIFFERENCES,
    ),
    "cost_several_gradients_timed": Mutant(
        "cost_code",
        (("    gradient(params)\n", "    for _ in range(3):\n        gradient(params)\n"),),
        ("gradient_cost_ratio",),
        diagnosis=mistakes.SEVERAL_GRADIENTS_TIMED,
    ),
}

ALTERNATIVES = {
    # PyTorch-style registration (__setattr__ into registries), zeros instead of None in zero_grad,
    # the lecture's full Jacobians per example in the backward pass, in-place updates, copies of params.
    "registries_and_jacobians": Alternative(
        {
            "modules_code": """
class Module:
    def __setattr__(self, name, value):
        if "_params" not in self.__dict__:
            object.__setattr__(self, "_params", {})
            object.__setattr__(self, "_children", {})
        if isinstance(value, Tensor) and value.requires_grad:
            self._params[name] = value
        elif isinstance(value, Module):
            self._children[name] = value
        object.__setattr__(self, name, value)

    def add_module(self, name, module):
        setattr(self, name, module)

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        result = []
        for p in self.__dict__.get("_params", {}).values():
            if not any(p is q for q in result):
                result.append(p)
        for child in self.__dict__.get("_children", {}).values():
            for p in child.parameters():
                if not any(p is q for q in result):
                    result.append(p)
        return result

    def zero_grad(self):
        for p in self.parameters():
            p.grad = np.zeros_like(p.data)


class Linear(Module):
    def __init__(self, in_features, out_features, seed=None):
        r = np.random.default_rng(seed)
        k = in_features ** -0.5
        self.weight = Tensor(r.uniform(-k, k, (out_features, in_features)), requires_grad=True)
        self.bias = Tensor(r.uniform(-k, k, (out_features,)), requires_grad=True)

    def forward(self, x):
        return (self.weight @ x.T).T + self.bias


class ReLU(Module):
    def forward(self, x):
        return x.relu()


class Sequential(Module):
    def __init__(self, *modules):
        for i, m in enumerate(modules):
            self.add_module(str(i), m)
        self.count = len(modules)

    def forward(self, x):
        out = x
        for i in range(self.count):
            out = getattr(self, str(i))(out)
        return out
""",
            "forward_code": """
def mlp_forward(params, X):
    hidden = np.einsum("bd,hd->bh", X, params["W1"]) + params["b1"]
    hidden = np.where(hidden > 0, hidden, 0.0)
    logits = np.einsum("bh,ch->bc", hidden, params["W2"]) + params["b2"]
    if logits.shape[-1] == 1:
        return np.exp(-np.logaddexp(0.0, -logits))
    logits = logits - np.max(logits, axis=-1, keepdims=True)
    return np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True)
""",
            "backward_code": """
def mlp_backward(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    B = len(X)
    grads = {"W1": np.zeros(W1.shape), "b1": np.zeros(b1.shape), "W2": np.zeros(W2.shape), "b2": np.zeros(b2.shape)}
    total = 0.0
    for x, label in zip(X, y):
        z1 = W1 @ x + b1
        y1 = np.maximum(z1, 0)
        z2 = W2 @ y1 + b2
        if len(z2) == 1:
            p = np.exp(-np.logaddexp(0.0, -z2))
            total += float(np.logaddexp(0.0, z2[0]) - label * z2[0])
            grad_Y = -(label / p - (1 - label) / (1 - p)) / B
            J = np.diag(p * (1 - p))
        else:
            e = np.exp(z2 - z2.max())
            p = e / e.sum()
            total += -np.log(p[label])
            grad_Y = np.zeros(len(p))
            grad_Y[label] = -1.0 / (p[label] * B)
            J = np.diag(p) - np.outer(p, p)
        grad_z2 = grad_Y @ J
        grads["W2"] += np.outer(grad_z2, y1)
        grads["b2"] += grad_z2
        grad_z1 = (grad_z2 @ W2) @ np.diag((z1 > 0).astype(float))
        grads["W1"] += np.outer(grad_z1, x)
        grads["b1"] += grad_z1
    return total / B, grads
""",
            "train_code": """
def train(model, X, y, epochs, lr, seed, batch_size=32):
    g = np.random.default_rng(seed)
    n = X.shape[0]
    history = []
    epoch = 0
    while epoch < epochs:
        idx = np.arange(n)
        g.shuffle(idx)
        losses = []
        i = 0
        while i < n:
            rows = idx[i:i + batch_size]
            out = model(Tensor(X[rows]))
            loss = cross_entropy(out, y[rows]) if out.data.shape[-1] > 1 else binary_cross_entropy(out, y[rows])
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= lr * p.grad
            losses.append(loss.data.item())
            i += batch_size
        history.append(sum(losses) / len(losses))
        epoch += 1
    return history
""",
            "cost_code": """
def gradient_cost_ratio(loss, gradient, params, h=1e-5):
    t0 = time.perf_counter_ns()
    for key in params:
        for index in np.ndindex(params[key].shape):
            for step in (h, -h):
                shifted = {k: v.copy() for k, v in params.items()}
                shifted[key][index] += step
                loss(shifted)
    t1 = time.perf_counter_ns()
    gradient(params)
    t2 = time.perf_counter_ns()
    return (t1 - t0) / (t2 - t1)
""",
        }
    ),
    # A generator walk of __dict__, a Tensor mask instead of relu(), a vectorized backward with one-hot
    # matrices, array_split minibatches, and a flat parameter vector for the finite differences.
    "generators_and_flat_vectors": Alternative(
        {
            "modules_code": """
class Module:
    def __call__(self, x):
        return self.forward(x)

    def _walk(self):
        for value in self.__dict__.values():
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, Module):
                    yield from item._walk()
                elif isinstance(item, Tensor) and item.requires_grad:
                    yield item

    def parameters(self):
        unique = {}
        for p in self._walk():
            unique.setdefault(id(p), p)
        return list(unique.values())

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None


class Linear(Module):
    def __init__(self, in_features, out_features, seed=None):
        gen = np.random.default_rng(seed)
        limit = 1 / np.sqrt(in_features)
        self.weight = Tensor(gen.random((out_features, in_features)) * 2 * limit - limit, requires_grad=True)
        self.bias = Tensor(gen.random(out_features) * 2 * limit - limit, requires_grad=True)

    def forward(self, x):
        return x @ self.weight.T + self.bias.reshape(1, -1)


class ReLU(Module):
    def forward(self, x):
        return x * Tensor((x.data > 0).astype(float))


class Sequential(Module):
    def __init__(self, *modules):
        self.layers = tuple(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x
""",
            "forward_code": """
def mlp_forward(params, X):
    h = np.clip(X @ params["W1"].T + params["b1"], 0, None)
    z = h @ params["W2"].T + params["b2"]
    if z.shape[1] == 1:
        return 0.5 + 0.5 * np.tanh(0.5 * z)
    z = z - z.max(axis=1)[:, None]
    p = np.exp(z)
    return p / p.sum(axis=1)[:, None]
""",
            "backward_code": """
def mlp_backward(params, X, y):
    n = X.shape[0]
    a = X @ params["W1"].T + params["b1"]
    h = np.maximum(a, 0)
    z = h @ params["W2"].T + params["b2"]
    if z.shape[1] == 1:
        t = np.array(y, dtype=float)[:, None]
        p = 0.5 + 0.5 * np.tanh(0.5 * z)
        loss = (np.logaddexp(0, z) - t * z).sum() / n
        delta = (p - t) / n
    else:
        m = z.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        onehot = np.eye(z.shape[1])[y]
        loss = ((lse - z) * onehot).sum() / n
        delta = (np.exp(z - lse) - onehot) / n
    back = (delta @ params["W2"]) * (a > 0)
    grads = dict(W2=np.einsum("bc,bh->ch", delta, h), b2=delta.sum(0), W1=np.einsum("bh,bd->hd", back, X), b1=back.sum(0))
    return loss, grads
""",
            "train_code": """
def train(model, X, y, epochs, lr, seed, batch_size=32):
    rng = np.random.default_rng(seed)
    result = []
    binary = None
    for epoch in range(epochs):
        perm = rng.permutation(X.shape[0])
        batches = [perm[k:k + batch_size] for k in range(0, len(perm), batch_size)]
        epoch_losses = np.zeros(len(batches))
        for j, rows in enumerate(batches):
            logits = model(Tensor(X[rows]))
            if binary is None:
                binary = logits.shape[1] == 1
            loss = binary_cross_entropy(logits, y[rows]) if binary else cross_entropy(logits, y[rows])
            for p in model.parameters():
                p.grad = None
            loss.backward()
            for p in model.parameters():
                p.data = p.data - lr * p.grad
            epoch_losses[j] = loss.data
        result.append(epoch_losses.mean())
    return result
""",
            "cost_code": """
def gradient_cost_ratio(loss, gradient, params, h=1e-5):
    names = list(params)
    shapes = [params[k].shape for k in names]
    sizes = [params[k].size for k in names]
    flat = np.concatenate([params[k].ravel() for k in names])

    def unflatten(v):
        parts = np.split(v, np.cumsum(sizes)[:-1])
        return {k: part.reshape(s) for k, part, s in zip(names, parts, shapes)}

    begin = time.perf_counter()
    estimate = np.empty_like(flat)
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        estimate[i] = (loss(unflatten(flat + e)) - loss(unflatten(flat - e))) / (2 * h)
    finite = time.perf_counter() - begin
    begin = time.perf_counter()
    gradient(params)
    reverse = time.perf_counter() - begin
    return finite / reverse
""",
        }
    ),
    # train: the index array shuffled in place every epoch (each order a permutation of the previous one),
    # array_split minibatches sorted inside, zero_grad after the update, an evaluation on all rows every
    # epoch; gradient_cost_ratio: `from time import perf_counter`, a warm-up gradient call, and the time of
    # every loss call summed (the clock read around each call only).
    "compounded_shuffle_and_per_call_timing": Alternative(
        {
            "train_code": """
def train(model, X, y, epochs, lr, seed, batch_size=32):
    rng = np.random.default_rng(seed)
    index = np.arange(len(X))
    history = []
    model.zero_grad()
    for epoch in range(epochs):
        rng.shuffle(index)
        losses = []
        for chunk in np.array_split(index, np.arange(batch_size, len(index), batch_size)):
            rows = np.sort(chunk)
            logits = model(Tensor(X[rows]))
            if logits.data.shape[1] == 1:
                loss = binary_cross_entropy(logits, y[rows])
            else:
                loss = cross_entropy(logits, y[rows])
            loss.backward()
            for p in model.parameters():
                p.data -= lr * p.grad
            model.zero_grad()
            losses.append(loss.data)
        training_accuracy = np.mean(model(Tensor(X)).data.argmax(axis=1) == y)
        history.append(np.mean(losses))
    return history
""",
            "cost_code": """
from time import perf_counter


def gradient_cost_ratio(loss, gradient, params, h=1e-5):
    gradient(params)  # a warm-up call, not timed
    spent = 0.0
    for array in params.values():
        flat = array.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            for delta in (h, -h):
                flat[i] = keep + delta
                began = perf_counter()
                loss(params)
                spent += perf_counter() - began
            flat[i] = keep
    began = perf_counter()
    gradient(params)
    return spent / (perf_counter() - began)
""",
        }
    ),
}

ATTACKS = {
    # The gradient by the grader's own fourth-order finite differences: right to about 1e-11, which the
    # case with an exact softmax of 1/4 tells apart from backpropagation (exact to rounding).
    "finite_differences_instead_of_backprop": Attack(
        {
            "backward_code": """
from autograder.finite_differences import central_gradient


def mlp_backward(params, X, y):
    def loss(p):
        z1 = X @ p["W1"].T + p["b1"]
        z2 = np.maximum(z1, 0) @ p["W2"].T + p["b2"]
        if z2.shape[1] == 1:
            d = np.asarray(y, dtype=float).reshape(-1, 1)
            return float(np.mean(np.logaddexp(0, z2) - d * z2))
        m = z2.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z2 - m).sum(axis=1))
        return float(np.mean(lse - z2[np.arange(len(y)), y]))

    grads = {k: central_gradient(lambda v, k=k: loss({**params, k: v}), params[k]) for k in params}
    return loss(params), grads
""",
        },
        "mlp_backward by autograder.finite_differences.central_gradient instead of backpropagation",
        ("mlp_backward",),
    ),
    "fake_training_losses": Attack(
        {
            "train_code": """
def train(model, X, y, epochs, lr, seed, batch_size=32):
    return [1.0 / (k + 1) for k in range(epochs)]
""",
        },
        "train returns decreasing numbers without training",
    ),
    "patch_backprop_checks": Attack(
        {
            "modules_code": """
import autograder.checks.backprop as checks
import autograder.runtime as runtime
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
runtime.run_check = lambda observe, judge: None

Module = Linear = ReLU = Sequential = object
""",
        },
        "the checks of this unit replaced by no-ops",
    ),
}

UNIT = Unit("06_backprop", MUTANTS, ALTERNATIVES, ATTACKS)
