"""The classifier ("probe") bound on I(H; Y) for continuous H and class labels Y, in nats.

For any classifier q(y | h), ``I(H; Y) = H(Y) - H(Y | H) >= H(Y) - E[-log q(Y | H)]`` (the
cross-entropy of a classifier bounds the conditional entropy from above; Barber and Agakov 2003).
Here a probe (multinomial logistic regression by default, or a small MLP) is trained with Adam on
one part of the rows and both terms are evaluated on the held-out rest::

    I_probe = mean_{i in held out} [ log q(y_i | h_i) - log p_train(y_i) ]

where ``p_train`` are the (add-one smoothed) class frequencies of the training rows, so H(Y) is the
held-out cross-entropy of the class frequencies (a plug-in estimate of H(Y), biased by O(C / n)).
A probe that learns nothing gives ~0 (slightly below, from over-fitting); a perfect classifier
gives H(Y). The estimate is a lower bound up to that O(C / n) term: it is tight when the probe
family contains the Bayes classifier (a linear probe for Gaussian classes with a shared
covariance) and biased low otherwise. Being held out, it never rewards over-fitting.

Inputs are standardised with the training rows' mean and standard deviation and clipped to
[-10, 10] (latentmi clips the same way): without the clip, a near-dead ReLU unit (all but one
training value zero) standardises a held-out value to a huge number and the bound to a hugely
negative one.

Training is full-batch Adam for a fixed number of steps with an L2 penalty on the weights, inside
one ``jax.lax.scan`` under ``jax.jit``; ``jax.vmap`` over keys (different splits and
initialisations) is one program.

References:
  D. Barber, F. Agakov, "The IM algorithm: a variational approach to information maximization",
  NeurIPS 2003. B. Poole et al., "On variational bounds of mutual information", ICML 2019.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cch_jax import _checks
from cch_jax.mi import _mlp

_CLIP = 10.0  # standardised inputs are clipped to [-_CLIP, _CLIP]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProbeConfig:
    """Hyperparameters of :func:`probe_labels` (static: a new config compiles a new program).

    Attributes:
      hidden: hidden-layer widths of the probe; ``()`` (default) is multinomial logistic
        regression, the usual linear probe and the Bayes classifier for Gaussian classes with a
        shared covariance. ``(64,)`` is a one-hidden-layer ReLU MLP.
      steps: full-batch Adam steps.
      learning_rate: Adam learning rate (> 0).
      l2: candidate L2 penalties on the weights (not the biases), ``l2 / 2 * sum(W^2)`` added to
        the mean cross-entropy (inputs are standardised, so it is scale-free). With several
        candidates, each is trained on the first 75% of the training rows and scored on the other
        25%; the best one is then retrained on all training rows (the held-out rows are never
        used for the choice). One float is used as is. The default grid matters in many
        dimensions: on 512-dim inputs with 2 500 training rows, l2 = 1e-2 over-fits (0.48 of a
        true 0.85 nats) and l2 = 0.1 gives 0.72.
      heldout_fraction: fraction of the rows held out to evaluate the bound, in (0, 1).
    """

    hidden: tuple[int, ...] = ()
    steps: int = 300
    learning_rate: float = 0.05
    l2: float | tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    heldout_fraction: float = 0.5

    def __post_init__(self):
        hidden = tuple(self.hidden)
        for width in hidden:
            _checks.check_positive_int("hidden", width)
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        _checks.check_positive_int("steps", self.steps)
        _checks.check_scalar_range(
            "learning_rate", self.learning_rate, low=0.0, low_inclusive=False
        )
        l2 = tuple(self.l2) if isinstance(self.l2, tuple | list) else (self.l2,)
        if not l2:
            raise ValueError("l2: expected at least one penalty, got ()")
        for value in l2:
            _checks.check_scalar_range("l2", value, low=0.0)
        object.__setattr__(self, "l2", tuple(float(v) for v in l2))
        _checks.check_scalar_range(
            "heldout_fraction",
            self.heldout_fraction,
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )


class ProbeResult(NamedTuple):
    """What :func:`probe_labels` returns (leading batch axes added by ``vmap``).

    Attributes:
      estimate: the bound ``marginal_entropy - heldout_cross_entropy``, nats, shape [].
      heldout_cross_entropy: mean -log q(y | h) on the held-out rows, nats, shape [].
      marginal_entropy: mean -log p_train(y) on the held-out rows (the H(Y) term), nats, shape [].
      train_cross_entropy: mean -log q(y | h) on the training rows after training, nats, shape [].
      l2: the L2 penalty used (chosen on a validation part of the training rows), shape [].
    """

    estimate: jax.Array
    heldout_cross_entropy: jax.Array
    marginal_entropy: jax.Array
    train_cross_entropy: jax.Array
    l2: jax.Array


def probe_labels(
    h,
    labels,
    *,
    key: jax.Array,
    num_classes: int | None = None,
    config: ProbeConfig | None = None,
    **overrides,
) -> ProbeResult:
    """I(H; Y) in nats from the held-out cross-entropy of a trained probe (classifier bound).

    Pure JAX and jitted. ``jax.vmap(lambda k: probe_labels(h, labels, key=k).estimate)(keys)``
    runs many splits in one program. With concrete labels any integer values are allowed (they are
    mapped to 0..C-1); with traced labels (under ``jit``/``vmap`` over datasets) pass
    ``num_classes`` and labels already in 0..C-1.

    Args:
      h: continuous samples, [n, d] ([n] for one coordinate); numeric, finite.
      labels: integer class labels, [n].
      key: a ``jax.random.key`` (split for the held-out split and the initialisation).
      num_classes: C; required when ``labels`` are traced, else inferred.
      config: a :class:`ProbeConfig` (default ``ProbeConfig()``).
      **overrides: fields of :class:`ProbeConfig` replacing those of ``config``.

    Returns:
      A :class:`ProbeResult`; ``estimate`` in nats (not clipped at 0).

    Raises:
      ValueError: bad data, non-integer labels, fewer than 2 classes, too few rows for the split,
        a missing ``num_classes`` for traced labels, or an invalid configuration.

    References:
      D. Barber, F. Agakov, NeurIPS 2003; B. Poole et al., ICML 2019.
    """
    config = ProbeConfig() if config is None else config
    if not isinstance(config, ProbeConfig):
        raise ValueError(f"config: expected a ProbeConfig, got {type(config).__name__}")
    if overrides:
        config = dataclasses.replace(config, **overrides)
    h = _checks.as_float_array("h", h, ndims=(1, 2))
    h = h[:, None] if h.ndim == 1 else h
    if labels is None:
        raise ValueError("labels: expected an integer array, got None")
    if not hasattr(labels, "dtype"):
        labels = np.asarray(labels)
    if not np.issubdtype(np.dtype(labels.dtype), np.integer):
        raise ValueError(
            f"labels: expected integer class labels, got dtype {labels.dtype} "
            "(cast with .astype(int))"
        )
    if np.ndim(labels) != 1:
        raise ValueError(f"labels: expected shape [n], got {np.shape(labels)}")
    n = _checks.check_same_rows(h=h, labels=labels)
    if _checks.is_traced(labels):
        if num_classes is None:
            raise ValueError("num_classes: required when labels are traced (labels in 0..C-1)")
        num_classes = _checks.check_positive_int("num_classes", num_classes, minimum=2)
    else:
        values, labels = np.unique(np.asarray(labels), return_inverse=True)
        if num_classes is None:
            num_classes = len(values)
        num_classes = _checks.check_positive_int("num_classes", num_classes, minimum=2)
        if len(values) > num_classes:
            raise ValueError(f"num_classes: labels hold {len(values)} classes, got {num_classes}")
        labels = jnp.asarray(labels.reshape(-1), jnp.int32)
    n_test = int(round(n * config.heldout_fraction))
    if n_test < 1 or n - n_test < 2:
        raise ValueError(f"h: too few rows ({n}) for heldout_fraction={config.heldout_fraction}")
    _checks.check_key("key", key)
    return _probe_jit(h, labels.astype(jnp.int32), key, config, num_classes)


def _probe_impl(h, labels, key, config: ProbeConfig, num_classes: int) -> ProbeResult:
    n, d = h.shape
    n_test = int(round(n * config.heldout_fraction))
    k_split, k_init = jax.random.split(key)
    h, labels = jax.lax.optimization_barrier((h, labels))  # no constant folding (see _mine)
    perm = jax.random.permutation(k_split, n)
    h_te, y_te = h[perm[:n_test]], labels[perm[:n_test]]
    h_tr, y_tr = h[perm[n_test:]], labels[perm[n_test:]]
    mean = jnp.mean(h_tr, axis=0)
    sd = jnp.std(h_tr, axis=0)
    sd = jnp.where(sd > 0, sd, 1.0)
    h_tr, h_te = (jnp.clip((a - mean[None, :]) / sd[None, :], -_CLIP, _CLIP) for a in (h_tr, h_te))

    counts = jnp.zeros((num_classes,), h.dtype).at[y_tr].add(1.0)
    log_prior = jnp.log(counts + 1.0) - jnp.log(jnp.sum(counts) + num_classes)

    def logits(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(_mlp.dense(w, b, x))
        w, b = params[-1]
        return _mlp.dense(w, b, x)

    def cross_entropy(params, x, y):
        logp = jax.nn.log_softmax(logits(params, x), axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    optimizer = optax.adam(config.learning_rate)

    def fit(l2, x, y):
        params = _mlp.init_mlp(k_init, (d, *config.hidden, num_classes))
        # Start the output bias at the log prior: the untrained probe is the marginal (estimate 0).
        w_last, _ = params[-1]
        params[-1] = (jnp.zeros_like(w_last) if not config.hidden else w_last, log_prior)

        def loss(params):
            penalty = sum(jnp.sum(jnp.square(w)) for w, _ in params)
            return cross_entropy(params, x, y) + 0.5 * l2 * penalty

        def step(carry, _):
            params, opt_state = carry
            grads = jax.grad(loss)(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, config.steps)
        return params

    grid = jnp.asarray(config.l2, h.dtype)
    if len(config.l2) == 1:
        l2 = grid[0]
    else:
        n_fit = (3 * h_tr.shape[0]) // 4
        val_ce = jax.vmap(
            lambda v: cross_entropy(fit(v, h_tr[:n_fit], y_tr[:n_fit]), h_tr[n_fit:], y_tr[n_fit:])
        )(grid)
        l2 = grid[jnp.argmin(val_ce)]
    params = fit(l2, h_tr, y_tr)
    ce_test = cross_entropy(params, h_te, y_te)
    marginal = -jnp.mean(log_prior[y_te])
    return ProbeResult(marginal - ce_test, ce_test, marginal, cross_entropy(params, h_tr, y_tr), l2)


_probe_jit = jax.jit(_probe_impl, static_argnames=("config", "num_classes"))
