"""Cross-fitted linear probes: the logits a user without a teacher's/student's head still has.

``linear_probe_logits(reps, labels, num_classes=k, key=...)`` splits the rows into ``folds`` random
folds and, for each fold, fits a multinomial logistic regression with an L2 penalty on the other
folds; the fold's rows get the logits of that probe. No row is scored by a probe that saw it, so
the accuracy of the logits is an honest held-out accuracy and, in particular, a row's logits do not
depend on its own label. With ``num_classes=None`` (a continuous target) the probe is ridge
regression and the "logits" are its predictions [m, 1].

Every fold is fitted on all rows with zero weight on its own (no data-dependent shapes), so the
folds are one ``jax.vmap``. Features are standardised with the fitting rows' weighted mean and
standard deviation. The objective (mean cross-entropy + l2 / 2 |W|^2, bias unpenalised) is convex
and is minimised by Nesterov's accelerated gradient for strongly convex functions: step 1 / L with
L = 1/2 lambda_max(X^T X / m) + l2 (the softmax cross-entropy's Hessian is at most 1/2 in every
direction of the logits), momentum (sqrt(L / l2) - 1) / (sqrt(L / l2) + 1).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks

DEFAULT_FOLDS = 5
DEFAULT_L2 = 1e-2
DEFAULT_STEPS = 300


def _standardise(x: jax.Array, weights: jax.Array) -> jax.Array:
    """x standardised with the weighted mean and sd of the rows with weight > 0."""
    total = jnp.sum(weights)
    mean = weights @ x / total
    var = weights @ jnp.square(x - mean[None, :]) / total
    sd = jnp.where(var > 0, jnp.sqrt(var), 1.0)
    return (x - mean[None, :]) / sd[None, :]


def fit_softmax(
    x: jax.Array, targets: jax.Array, weights: jax.Array, l2, steps: int
) -> tuple[jax.Array, jax.Array]:
    """Weighted multinomial logistic regression on (soft) targets; pure, vmappable.

    Minimises sum_i weights_i CE(targets_i, softmax(x_i W + b)) / sum_i weights_i + l2 / 2 |W|^2.

    Args:
      x: [m, d] features (already standardised by the caller).
      targets: [m, k] target distributions (one-hot rows for hard labels).
      weights: [m] non-negative row weights (0 excludes a row exactly).
      l2: penalty on W (> 0; it sets the step and momentum).
      steps: accelerated-gradient steps (static).

    Returns:
      (W [d, k], b [k]).
    """
    m, d = x.shape
    k = targets.shape[1]
    total = jnp.sum(weights)
    xb = jnp.concatenate([x, jnp.ones((m, 1), x.dtype)], axis=1)
    gram = (xb * weights[:, None]).T @ xb / total
    lipschitz = 0.5 * jnp.linalg.eigvalsh(gram)[-1] + l2
    root = jnp.sqrt(lipschitz / l2)
    momentum = (root - 1.0) / (root + 1.0)
    penalty_mask = jnp.ones((d + 1, 1), x.dtype).at[d].set(0.0)

    def grad(theta):
        p = jax.nn.softmax(xb @ theta, axis=-1)
        g = xb.T @ ((p - targets) * weights[:, None]) / total
        return g + l2 * penalty_mask * theta

    def step(carry, _):
        theta, previous = carry
        look = theta + momentum * (theta - previous)
        return (look - grad(look) / lipschitz, theta), None

    theta0 = jnp.zeros((d + 1, k), x.dtype)
    (theta, _), _ = jax.lax.scan(step, (theta0, theta0), None, steps)
    return theta[:d], theta[d]


def fold_masks(key: jax.Array, m: int, folds: int) -> jax.Array:
    """[folds, m] 0/1 masks: row i belongs to exactly one fold (random, sizes differ by <= 1)."""
    position = jnp.argsort(jax.random.permutation(key, m))  # rank of each row in a shuffle
    return (position[None, :] % folds == jnp.arange(folds)[:, None]).astype(jnp.result_type(float))


@functools.partial(jax.jit, static_argnames=("num_classes", "folds", "steps"))
def _crossfit_classes(reps, labels, key, l2, *, num_classes: int, folds: int, steps: int):
    masks = fold_masks(key, reps.shape[0], folds)
    onehot = jax.nn.one_hot(labels, num_classes, dtype=reps.dtype)

    def one_fold(mask):
        weights = 1.0 - mask
        x = _standardise(reps, weights)
        w, b = fit_softmax(x, onehot, weights, l2, steps)
        return x @ w + b[None, :]

    logits = jax.vmap(one_fold)(masks)  # [folds, m, k]
    return jnp.einsum("fm,fmk->mk", masks, logits)


@functools.partial(jax.jit, static_argnames=("folds",))
def _crossfit_ridge(reps, targets, key, l2, *, folds: int):
    masks = fold_masks(key, reps.shape[0], folds)

    def one_fold(mask):
        weights = 1.0 - mask
        total = jnp.sum(weights)
        x = _standardise(reps, weights)
        y_mean = weights @ targets / total
        y = targets - y_mean
        gram = (x * weights[:, None]).T @ x / total
        rhs = (x * weights[:, None]).T @ y / total
        w = jnp.linalg.solve(gram + l2 * jnp.eye(x.shape[1], dtype=x.dtype), rhs)
        return x @ w + y_mean

    return jnp.einsum("fm,fm->m", masks, jax.vmap(one_fold)(masks))[:, None]


def linear_probe_logits(
    reps,
    labels,
    *,
    num_classes: int | None,
    key: jax.Array,
    folds: int = DEFAULT_FOLDS,
    l2: float = DEFAULT_L2,
    steps: int = DEFAULT_STEPS,
) -> jax.Array:
    """Cross-fitted logits of a linear probe: each row scored by a probe fitted on the other folds.

    Classes: multinomial logistic regression on standardised features, mean cross-entropy +
    l2 / 2 |W|^2 (bias unpenalised), ``steps`` of Nesterov's accelerated gradient. Continuous
    target (``num_classes=None``): ridge regression (mean squared error + l2 |W|^2 on standardised
    features, intercept unpenalised) in closed form.

    Args:
      reps: [m, d] representations.
      labels: [m] integer classes in [0, num_classes), or real targets when ``num_classes`` is None.
      num_classes: k >= 2, or None for a continuous target.
      key: a ``jax.random.key`` for the fold assignment (the fits are deterministic).
      folds: number of folds (>= 2, <= m).
      l2: L2 penalty on the weights (> 0), on the standardised scale.
      steps: accelerated-gradient steps (classes only).

    Returns:
      [m, k] logits (natural log-odds scale, temperature 1), or [m, 1] predictions for a
      continuous target.
    """
    x = _checks.as_float_array("reps", reps, ndims=(2,))
    m = x.shape[0]
    folds = _checks.check_int("folds", folds, minimum=2, maximum=max(m, 2))
    l2 = _checks.check_real("l2", l2, low=0.0, low_open=True)
    steps = _checks.check_int("steps", steps, minimum=1)
    _checks.check_key("key", key)
    if num_classes is None:
        y = _checks.as_float_array("labels", labels, ndims=(1,))
        _checks.check_same_rows(reps=x, labels=y)
        return _crossfit_ridge(x, y.astype(x.dtype), key, jnp.asarray(l2, x.dtype), folds=folds)
    k = _checks.check_int("num_classes", num_classes, minimum=2)
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels: expected [m] integer classes, got {y.dtype} of shape {y.shape}")
    _checks.check_same_rows(reps=x, labels=y)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels: classes must lie in [0, {k})")
    return _crossfit_classes(
        x,
        jnp.asarray(y, jnp.int32),
        key,
        jnp.asarray(l2, x.dtype),
        num_classes=k,
        folds=folds,
        steps=steps,
    )


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax logit is the label ([m, k] logits, [m] labels)."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))
