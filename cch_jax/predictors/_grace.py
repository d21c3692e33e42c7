"""GRACE (Panigrahi et al., "In Good GRACEs", ICLR 2026, arXiv 2511.02833) ported to logit KD.

GRACE scores a teacher by how well the student's per-example gradients on the teacher's targets
are covered by one another: random 90/10 splits of the rows, K_train = mean of g_hat g_hat^T over
the unit-normalised training gradients, K_test = mean of g g^T over the held-out (raw) gradients,
the eigenvalues of K_train smoothed as (1 - c) lambda + c mean(lambda), and

    raw = mean over splits of tr(K_train_smoothed^-1 K_test).

Here the student is a linear softmax head on the (standardised) student representations h, at the
probe student's logits z_s, and its loss is the KD loss of the benchmark,
    L = (1 - w) CE(y, softmax(z_s)) + w T^2 KL(softmax(z_t / T) || softmax(z_s / T)),
whose gradient with respect to the head [W; b] is, in closed form, the outer product
    [h, 1] (x) g_z,   g_z = (1 - w)(softmax(z_s) - onehot(y)) + w T (softmax(z_s / T) - softmax(z_t / T))
(at T = 1: (p_s - target) (x) [h, 1] with target = (1 - w) onehot(y) + w p_t). The k (d + 1)
gradient coordinates are projected to ``proj_dim`` = 512 by a Rademacher matrix divided by
sqrt(k (d + 1)) (the gradient size, as in the paper's code); for a given student this constant
only rescales ``raw``. The projection never forms the gradients: proj_i = sum_ab [h_i,1]_a g_z,ia
R_abp. The splits are one ``jax.vmap``.

Direction: the paper reads a low trace as a good teacher (held-out gradients well covered by the
training ones, i.e. a stable, learnable signal), so the score is -raw. Measured on the
classification version of the theory's family (``benchmarks/predictors_direction.py``: 12
teachers x 3 training-set sizes, KD benefit from trained students paired by seed), -raw
correlates positively with the benefit at each training-set size (the script prints the
Spearman correlations): the paper's direction.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from cch_jax.predictors._defaults import DEFAULT_THRESHOLDS

PROJ_DIM = 512
SPLITS = 10
TEST_FRACTION = 0.1
SMOOTHING = 1e-3


def head_gradient_logits(student_logits, teacher_logits, labels, kd_weight, temperature):
    """g_z [m, k]: gradient of the per-example KD loss with respect to the student's logits.

    Args:
      student_logits: [m, k] z_s.
      teacher_logits: [m, k] z_t.
      labels: [m] int classes.
      kd_weight: w in (0, 1].
      temperature: T > 0.

    Returns:
      [m, k] (1 - w)(softmax(z_s) - onehot(y)) + w T (softmax(z_s / T) - softmax(z_t / T)).
    """
    k = student_logits.shape[1]
    onehot = jax.nn.one_hot(labels, k, dtype=student_logits.dtype)
    ce = jax.nn.softmax(student_logits, axis=-1) - onehot
    kl = jax.nn.softmax(student_logits / temperature, axis=-1) - jax.nn.softmax(
        teacher_logits / temperature, axis=-1
    )
    return (1.0 - kd_weight) * ce + kd_weight * temperature * kl


def project_gradients(features: jax.Array, grad_logits: jax.Array, key: jax.Array, proj_dim: int):
    """Rademacher projection of the per-example head gradients [h, 1] (x) g_z.

    Args:
      features: [m, d] h.
      grad_logits: [m, k] g_z.
      key: a ``jax.random.key`` for the projection matrix.
      proj_dim: P (static).

    Returns:
      (coords, P): when the gradient size D = k (d + 1) is at least P, coords = [m, P]
      vec([h, 1] (x) g_z) R / sqrt(D) with R [D, P] of i.i.d. +-1 entries. When D < P the
      projected gradients span at most D of the P dimensions, and coords [m, D] are their
      coordinates in an orthonormal basis of that span (the same inner products, hence the same
      trace, at a D x D instead of a P x P eigendecomposition).
    """
    m, d = features.shape
    k = grad_logits.shape[1]
    size = k * (d + 1)
    hb = jnp.concatenate([features, jnp.ones((m, 1), features.dtype)], axis=1)
    signs = jax.random.rademacher(key, (d + 1, k, proj_dim), dtype=features.dtype)
    signs = signs / jnp.sqrt(float(size))
    if size < proj_dim:
        # proj = vec(g) S with S [D, P]; S = L Q^T (QR of S^T) so proj Q = vec(g) L, exact.
        q, r = jnp.linalg.qr(signs.reshape(size, proj_dim).T)  # q [P, D], r [D, D]
        signs = r.T.reshape(d + 1, k, size)
    return jnp.einsum("ma,mb,abp->mp", hb, grad_logits, signs)


def split_trace(train: jax.Array, test: jax.Array, smoothing, full_dim: int | None = None):
    """tr(K_train_smoothed^-1 K_test) for one split.

    Args:
      train: [n_train, q] training gradients (unit-normalised here).
      test: [n_test, q] held-out gradients (used as they are).
      smoothing: c, eigenvalues of K_train become (1 - c) lambda + c mean(lambda).
      full_dim: P when the q columns are coordinates in a q-dim subspace of the P-dim projection
        that holds every gradient (mean(lambda) = trace / P; the other P - q eigenvalues are 0 and
        the test gradients have no component there); default q.

    Returns:
      [] the trace.
    """
    norms = jnp.linalg.norm(train, axis=1, keepdims=True)
    unit = train / jnp.maximum(norms, 1e-30)
    k_train = unit.T @ unit / train.shape[0]
    lam, vecs = jnp.linalg.eigh(k_train)
    lam = jnp.maximum(lam, 0.0)
    full_dim = train.shape[1] if full_dim is None else full_dim
    lam = (1.0 - smoothing) * lam + smoothing * jnp.sum(lam) / full_dim
    coords = test @ vecs  # [n_test, P]
    return jnp.mean(jnp.sum(jnp.square(coords) / jnp.maximum(lam, 1e-30)[None, :], axis=1))


@functools.partial(jax.jit, static_argnames=("proj_dim", "splits", "n_test"))
def grace_raw(
    features,
    student_logits,
    teacher_logits,
    labels,
    kd_weight,
    temperature,
    key,
    *,
    proj_dim: int = PROJ_DIM,
    splits: int = SPLITS,
    n_test: int,
    smoothing=SMOOTHING,
):
    """GRACE's raw score: mean over random splits of tr(K_train_smoothed^-1 K_test).

    Args:
      features: [m, d] standardised student representations.
      student_logits: [m, k] probe student's logits.
      teacher_logits: [m, k] teacher logits.
      labels: [m] int classes.
      kd_weight: w; temperature: T.
      key: a ``jax.random.key`` (projection and splits).
      proj_dim: P (static); splits: number of random splits (static); n_test: held-out rows per
        split (static); smoothing: c.

    Returns:
      ([] raw mean trace, [splits] per-split traces).
    """
    k_proj, k_split = jax.random.split(key)
    g_z = head_gradient_logits(student_logits, teacher_logits, labels, kd_weight, temperature)
    grads = project_gradients(features, g_z, k_proj, proj_dim)
    m = grads.shape[0]

    def one(k):
        perm = jax.random.permutation(k, m)
        return split_trace(grads[perm[n_test:]], grads[perm[:n_test]], smoothing, proj_dim)

    traces = jax.vmap(one)(jax.random.split(k_split, splits))
    return jnp.mean(traces), traces


def grace_core(inputs, key):
    """(call, score, details) of ``grace`` on filled inputs; score = -raw, call = score > default.

    Features are the student representations standardised over the rows; the student's logits
    are ``student_logits`` (the cross-fitted probe when not given), the teacher's
    ``teacher_logits``. Needs at least 20 rows (2 held out per split).
    """
    x = jnp.asarray(inputs.student_reps)
    m = x.shape[0]
    if m < 20:
        raise ValueError(f"student_reps: grace needs at least 20 rows, got {m}")
    sd = jnp.std(x, axis=0)
    x = (x - jnp.mean(x, axis=0, keepdims=True)) / jnp.where(sd > 0, sd, 1.0)[None, :]
    n_test = max(2, int(round(TEST_FRACTION * m)))
    raw, traces = grace_raw(
        x,
        jnp.asarray(inputs.student_logits, x.dtype),
        jnp.asarray(inputs.teacher_logits, x.dtype),
        jnp.asarray(inputs.labels, jnp.int32),
        inputs.kd_weight,
        inputs.temperature,
        key,
        n_test=n_test,
    )
    raw = float(raw)
    details = {
        "raw": raw,
        "trace_sd": float(jnp.std(traces)),
        "proj_dim": float(PROJ_DIM),
        "splits": float(SPLITS),
    }
    score = -raw
    return ("distill" if score > DEFAULT_THRESHOLDS["grace"] else "dont"), score, details
