"""The catalogue of unit 05, vector-Jacobian products: each Mistake's name, rule and teaching section."""

from __future__ import annotations

from autograder.feedback import Mistake

# --- diagnoses: the common mistakes, the rule each breaks and where it is taught ---------------------

LECTURE = "of notebooks/05_vjp.ipynb"
ASSIGNMENT = "of 05_vjp.ipynb"
MATRIX_RULES = f"section 2 (Matrix gradients done right: the Frobenius inner product) {LECTURE}"
BROADCASTING = f"section 4 (Broadcasting copies, so its VJP sums) {LECTURE}"
IDENTITIES = f"section 7 (Identities: ∇(xᵀ A x) = (A + Aᵀ)x) {LECTURE}"
SOFTMAX = f"section 8 (Softmax cross-entropy and the log-sum-exp trick) {LECTURE}"
SIZE_ONE_AXES_NOT_SUMMED = Mistake(
    "size-1 axes not summed",
    "unbroadcast sums g over the axes broadcasting prepended and, with keepdims=True, over every axis where "
    "shape has size 1 and g does not.",
    BROADCASTING,
)
NOTHING_SUMMED = Mistake(
    "g returned without summing",
    "broadcasting copies an entry to many places, so the VJP adds up the gradients of the copies: sum g "
    "over every axis broadcasting added or stretched.",
    BROADCASTING,
)
GRADIENT_NOT_UNBROADCAST = Mistake(
    "a broadcast operand's gradient not summed back",
    "an operand that broadcasting stretched receives the sum of its copies' gradients: pass each VJP "
    "through unbroadcast(g, operand.shape).",
    f"section 2 (`Tensor`: reverse mode on numpy arrays) {ASSIGNMENT}",
)
DX_WITHOUT_TRANSPOSE = Mistake(
    "W not transposed in dX",
    "dX = G Wᵀ: the only product of G (B, m) and W (n, m) with the shape (B, n) of X.",
    MATRIX_RULES,
)
DW_TRANSPOSED = Mistake(
    "dW transposed",
    "dW = Xᵀ G has the shape (n, m) of W; Gᵀ X is its transpose.",
    MATRIX_RULES,
)
DB_NOT_SUMMED = Mistake(
    "db not summed over the batch",
    "b is added to every row of X W, so db is dY summed over the batch: dY.sum(axis=0).",
    BROADCASTING,
)
DB_AVERAGED = Mistake(
    "db averaged over the batch",
    "b is added to every row of X W, so db is the sum of the rows of dY, dY.sum(axis=0), not their mean.",
    BROADCASTING,
)
TWO_A_X = Mistake(
    "2Ax for a non-symmetric A",
    "∇(xᵀ A x) = (A + Aᵀ) x; it equals 2 A x only when A is symmetric.",
    IDENTITIES,
)
ONLY_A_X = Mistake(
    "only A x",
    "xᵀ A x depends on x twice, so its gradient has two terms: ∇(xᵀ A x) = A x + Aᵀ x.",
    IDENTITIES,
)
NO_MAX_SHIFT = Mistake(
    "no shift by the row maximum",
    "softmax(z) = softmax(z - max z): subtract each row's maximum before exp, so exp never overflows, and "
    "compute log-softmax as (z - m) - log(sum(exp(z - m))).",
    f"section 6 (Softmax cross-entropy, stable for large logits) {ASSIGNMENT}",
)
LOSS_SUMMED = Mistake(
    "the loss summed over the batch",
    "the loss is the mean over the batch of -log softmax(z)[label].",
    SOFTMAX,
)
MISSING_ONE_OVER_B = Mistake(
    "missing 1/B",
    "the loss is a mean over the batch, so its gradient is (softmax - onehot) / B.",
    SOFTMAX,
)
GRADIENT_SIGN = Mistake(
    "gradient sign reversed",
    "the gradient of the cross-entropy with respect to the logits is softmax - onehot, prediction minus target.",
    SOFTMAX,
)
ONEHOT_NOT_SUBTRACTED = Mistake(
    "onehot not subtracted",
    "the gradient of the mean cross-entropy with respect to the logits is (softmax - onehot) / B.",
    SOFTMAX,
)
SOLVE = f"section 7 (`solve_vjp`: the adjoint of a linear solve) {ASSIGNMENT}"
SOLVE_WITHOUT_TRANSPOSE = Mistake(
    "A instead of Aᵀ in the solve",
    "the adjoint of x = A⁻¹ b solves with the transpose: db = A⁻ᵀ gx = np.linalg.solve(A.T, gx); for a "
    "non-symmetric A, np.linalg.solve(A, gx) is another vector.",
    SOLVE,
)
DA_SIGN = Mistake("dA sign reversed", "dA = -(A⁻ᵀ gx) xᵀ = -db xᵀ, with a minus.", SOLVE)
DA_TRANSPOSED = Mistake("dA transposed", "dA = -db xᵀ, an outer product with db on the left, not -x dbᵀ.", SOLVE)
TENSOR = f"section 2 (`Tensor`: reverse mode on numpy arrays) {ASSIGNMENT}"
ADJOINTS_SWAPPED = Mistake(
    "adjoints returned in the wrong order",
    "a VJP returns one adjoint per parent, in the order of `parents`: for a @ b, the adjoint of a, "
    "g @ b.data.T, first and that of b, a.data.T @ g, second.",
    TENSOR,
)
ADJOINT_TRANSPOSED = Mistake(
    "an adjoint transposed",
    "a variable's adjoint has the variable's shape: for a @ b the adjoint of a is g @ b.data.T (shape of a) "
    "and that of b is a.data.T @ g; the Frobenius inner product fixes which product it is.",
    TENSOR,
)
PAIR_ORDER = "return one gradient per input, in the order of the arguments"
MATMUL_PAIR_SWAPPED = Mistake(
    "gradients returned in the wrong order",
    f"{PAIR_ORDER}: matmul_vjp(X, W, G) returns (dX, dW) = (G Wᵀ, Xᵀ G).",
    MATRIX_RULES,
)
LINEAR_PAIR_SWAPPED = Mistake(
    "gradients returned in the wrong order",
    f"{PAIR_ORDER}: linear_backward(X, W, b, dY) returns (dX, dW, db) = (dY Wᵀ, Xᵀ dY, dY.sum(axis=0)).",
    MATRIX_RULES,
)
SOLVE_PAIR_SWAPPED = Mistake(
    "gradients returned in the wrong order",
    f"{PAIR_ORDER}: solve_vjp(A, b, x, gx) returns (dA, db) = (-λ xᵀ, λ) with λ = A⁻ᵀ gx.",
    SOLVE,
)
INVERSE_FORMED = Mistake(
    "A⁻¹ formed",
    "the adjoint needs λ = A⁻ᵀ gx, one linear solve: np.linalg.solve(A.T, gx). Forming A⁻¹ costs about three "
    "times the work of a solve and loses accuracy when A is ill-conditioned.",
    SOLVE,
)
