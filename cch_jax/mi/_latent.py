"""Latent-space MI (latentmi, Gowri et al. 2024): KSG on learned low-dimensional encodings (nats).

Paired autoencoders compress X and Y to ``latent_dim`` coordinates each. Besides reconstructing its own
input, each latent code must predict the *other* variable through a "cross" decoder with dropout, which
pushes the information X and Y share into the codes. The networks train on one part of the data with
early stopping on a validation loss; KSG (k = 3, max-norm, :func:`cch_jax.mi.ksg`) then estimates
I(Z_X; Z_Y) on the untouched rest. By the data-processing inequality I(Z_X; Z_Y) <= I(X; Y), so
the estimator is biased low when the codes miss information, and avoids KSG's collapse in many
dimensions when they do not.

The whole training (epochs of shuffled minibatches, validation, best-parameter tracking, patience) is a
``jax.lax.while_loop`` over epochs around a ``jax.lax.scan`` over minibatches, under ``jax.jit``;
``jax.vmap`` over keys or datasets of one shape runs many estimates in one program.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from cch_jax import _checks
from cch_jax.mi import _mlp, _training
from cch_jax.mi._ksg import ksg
from cch_jax.theory import NATS_PER_BIT

_UNITS = ("nats", "bits")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LatentMIConfig:
    """Hyperparameters of :func:`latent_mi` (static: a new config compiles a new program, except for
    ``learning_rate``, which the program takes as an argument).

    Defaults follow latentmi except where CPU time forces smaller values (noted).

    Attributes:
      latent_dim: coordinates of each code Z_X, Z_Y (latentmi: 8).
      hidden: encoder widths from the input side; decoders mirror them (latentmi: 1024, 512, 256;
        here 256, 128, 64 by default for CPU speed).
      negative_slope: of the LeakyReLU after every encoder layer (the code included) and every
        hidden decoder layer (latentmi: 0.2).
      dropout: drop probability before every layer of the two cross decoders during training
        (latentmi: 0.5); validation runs without dropout.
      self_weight: weight of the self-reconstruction MSEs (latentmi's alpha, 1).
      cross_weight: weight of the cross-reconstruction MSEs (latentmi's lambda, 1).
      learning_rate: Adam learning rate (latentmi: 1e-4; here 1e-3, with fewer epochs).
      batch_size: rows per Adam step (latentmi: 512; here 128, so that a few thousand rows still
        give tens of steps per epoch); at most the training rows.
      max_epochs: upper bound on epochs (latentmi: 300; here 100).
      patience: epochs without a lower validation loss before stopping (latentmi: 30; here 10). The
        parameters of the best validation epoch are kept.
      ksg_fraction: fraction of rows kept for the KSG estimate, unseen by the networks (latentmi:
        0.5).
      validation_fraction: fraction of the network rows used for the validation loss (latentmi
        validates on the KSG half; here the validation rows are carved from the network half so the
        KSG half stays untouched).
      k: KSG neighbours (3).
      clip: inputs are z-scored and clipped to [-clip, clip] (latentmi: 10).
    """

    latent_dim: int = 8
    hidden: tuple[int, ...] = (256, 128, 64)
    negative_slope: float = 0.2
    dropout: float = 0.5
    self_weight: float = 1.0
    cross_weight: float = 1.0
    learning_rate: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 100
    patience: int = 10
    ksg_fraction: float = 0.5
    validation_fraction: float = 0.2
    k: int = 3
    clip: float = 10.0

    def training_rows(self, n: int) -> int:
        """Rows the autoencoders train on when :func:`latent_mi` is given ``n`` rows (the others
        are for validation and KSG); ``batch_size`` must not exceed it.

        Args:
          n: rows given to :func:`latent_mi`.

        Returns:
          The size of the network training split.
        """
        return _split_sizes(int(n), self)[1]

    def __post_init__(self):
        _checks.check_positive_int("latent_dim", self.latent_dim)
        hidden = _checks.check_int_tuple("hidden", self.hidden, minimum=1)
        object.__setattr__(self, "hidden", hidden)
        _checks.check_positive_int("batch_size", self.batch_size)
        _checks.check_positive_int("max_epochs", self.max_epochs)
        _checks.check_positive_int("patience", self.patience)
        _checks.check_positive_int("k", self.k)
        _checks.check_real("negative_slope", self.negative_slope, low=0.0, high=1.0)
        _checks.check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        _checks.check_real("self_weight", self.self_weight, low=0.0)
        _checks.check_real("cross_weight", self.cross_weight, low=0.0)
        if self.self_weight == 0 and self.cross_weight == 0:
            raise ValueError("self_weight, cross_weight: at least one must be > 0")
        _checks.check_real("learning_rate", self.learning_rate, low=0.0, low_open=True)
        for name in ("ksg_fraction", "validation_fraction"):
            _checks.check_real(
                name,
                getattr(self, name),
                low=0.0,
                high=1.0,
                low_open=True,
                high_open=True,
            )
        _checks.check_real("clip", self.clip, low=0.0, low_open=True)


class LatentMIResult(NamedTuple):
    """What :func:`latent_mi` returns (leading batch axes added by ``vmap``).

    Attributes:
      estimate: KSG on the codes of the held-out rows, in the requested units, shape [].
      val_curve: validation loss per epoch, shape [max_epochs]; NaN after the stopping epoch.
      epochs: epochs run, shape [] (int).
      best_epoch: the epoch whose parameters were kept (0-based), shape [] (int).
      diverged: bool, shape []: training blew up -- a non-finite validation loss in an epoch run,
        no epoch better than the untrained networks, or a non-finite estimate. ``estimate`` is
        then meaningless (KSG on codes of untrained or broken encoders). Concrete calls raise
        instead, unless ``raise_on_divergence=False``; under ``jax.vmap``/``jax.jit`` check it.
    """

    estimate: jax.Array
    val_curve: jax.Array
    epochs: jax.Array
    best_epoch: jax.Array
    diverged: jax.Array


def latent_mi(
    x,
    y,
    *,
    key: jax.Array,
    config: LatentMIConfig | None = None,
    units: str = "nats",
    raise_on_divergence: bool = True,
    **overrides,
) -> LatentMIResult:
    """Estimates I(X; Y) as KSG on the codes of paired autoencoders (latentmi).

    Steps: z-score every column and clip to [-clip, clip]; shuffle and split the rows into network
    rows (of which ``validation_fraction`` validate) and KSG rows (``ksg_fraction``); train the
    encoders and the self- and cross-decoders with Adam on
    ``self_weight * (|x - D_xx(E_x x)|^2 + |y - D_yy(E_y y)|^2)
    + cross_weight * (|y - D_xy(E_x x)|^2 + |x - D_yx(E_y y)|^2)`` (mean squared errors) until the
    validation loss has not improved for ``patience`` epochs; keep the best parameters; return
    ``ksg(E_x x, E_y y, k)`` on the KSG rows.

    Under ``jax.jit``/``jax.vmap`` the value checks are skipped; ``jax.vmap(lambda k: latent_mi(x,
    y, key=k))`` runs many seeds in one program.

    Args:
      x: samples of X, shape [n, dx] (or [n]); numeric, finite.
      y: samples of Y, shape [n, dy] (or [n]), rows paired with ``x``.
      key: a ``jax.random.key`` (split for the data split, initialisation, shuffles and dropout).
      config: a :class:`LatentMIConfig`; defaults to ``LatentMIConfig()``.
      units: ``"nats"`` (default) or ``"bits"`` (latentmi reports bits).
      raise_on_divergence: for concrete inputs, raise ``ValueError`` when training diverged (see
        :attr:`LatentMIResult.diverged`, default) instead of returning a meaningless number.
      **overrides: fields of :class:`LatentMIConfig` replacing those of ``config``.

    Returns:
      A :class:`LatentMIResult` whose ``estimate`` is in ``units``, shape [].

    Raises:
      ValueError: bad data (as :func:`cch_jax.mi.mine`), too few rows for the splits, batch size or
        k, an unknown unit, an invalid configuration, or (concrete calls) diverged training.

    References:
      G. Gowri, X. Lun, A. M. Klein, P. Yin, "Approximating mutual information of high-dimensional
      variables using learned representations", NeurIPS 2024 (latentmi).
      A. Kraskov, H. Stoegbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004).
    """
    config = LatentMIConfig() if config is None else config
    _checks.check_instance("config", config, LatentMIConfig)
    raise_on_divergence = _checks.check_bool("raise_on_divergence", raise_on_divergence)
    config = _checks.with_overrides(config, LatentMIConfig, overrides)
    _checks.check_choice("units", units, _UNITS)
    x, y = _training.as_pair(x, y)
    n = int(x.shape[0])
    n_ksg, n_train, n_val = _split_sizes(n, config)
    if n_val < 1 or n_train < 1:
        raise ValueError(f"x: too few rows ({n}) for the network, validation and KSG splits")
    if n_ksg <= config.k:
        raise ValueError(
            f"x: too few rows ({n}) for KSG with k={config.k} on {n_ksg} held-out rows"
        )
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size: must be <= the training rows ({n_train} of {n}), got {config.batch_size}"
        )
    _checks.check_key("key", key)
    static, learning_rate = _training.split_learning_rate(config)
    est = _latent_jit(x, y, key, static, learning_rate)
    if raise_on_divergence:
        _training.raise_if_diverged("latent MI", est.diverged, est.estimate, config, "estimate")
    if units == "bits":
        est = est._replace(estimate=est.estimate / NATS_PER_BIT)
    return est


def _split_sizes(n: int, config: LatentMIConfig) -> tuple[int, int, int]:
    n_ksg = int(round(n * config.ksg_fraction))
    n_net = n - n_ksg
    n_val = int(round(n_net * config.validation_fraction))
    return n_ksg, n_net - n_val, n_val


def _apply_mlp(params, h: jax.Array, slope: float, *, last_act: bool, drop=None) -> jax.Array:
    """An MLP on rows [m, d_in] -> [m, d_out]; ``drop`` = (key, rate) applies dropout before layers."""
    keys = None if drop is None else jax.random.split(drop[0], len(params))
    for i, (w, b) in enumerate(params):
        if drop is not None:
            keep = jax.random.bernoulli(keys[i], 1.0 - drop[1], h.shape)
            h = jnp.where(keep, h / (1.0 - drop[1]), 0.0)
        h = _mlp.dense(w, b, h)
        if last_act or i < len(params) - 1:
            h = jax.nn.leaky_relu(h, slope)
    return h


def _init(key, dx: int, dy: int, config: LatentMIConfig) -> dict:
    enc = config.hidden + (config.latent_dim,)
    dec = tuple(reversed(config.hidden))
    kx, ky, kxx, kyy, kxy, kyx = jax.random.split(key, 6)
    return {
        "enc_x": _mlp.init_mlp(kx, (dx, *enc)),
        "enc_y": _mlp.init_mlp(ky, (dy, *enc)),
        "dec_xx": _mlp.init_mlp(kxx, (config.latent_dim, *dec, dx)),
        "dec_yy": _mlp.init_mlp(kyy, (config.latent_dim, *dec, dy)),
        "dec_xy": _mlp.init_mlp(kxy, (config.latent_dim, *dec, dy)),
        "dec_yx": _mlp.init_mlp(kyx, (config.latent_dim, *dec, dx)),
    }


def _encode(params, x, y, slope):
    return (
        _apply_mlp(params["enc_x"], x, slope, last_act=True),
        _apply_mlp(params["enc_y"], y, slope, last_act=True),
    )


def _loss(params, x, y, config: LatentMIConfig, key=None) -> jax.Array:
    slope = config.negative_slope
    zx, zy = _encode(params, x, y, slope)

    def mse(pred, target):
        return jnp.mean(jnp.square(pred - target))

    self_loss = mse(_apply_mlp(params["dec_xx"], zx, slope, last_act=False), x) + mse(
        _apply_mlp(params["dec_yy"], zy, slope, last_act=False), y
    )
    if key is None or config.dropout == 0:
        drop_xy = drop_yx = None
    else:
        kxy, kyx = jax.random.split(key)
        drop_xy, drop_yx = (kxy, config.dropout), (kyx, config.dropout)
    cross_loss = mse(
        _apply_mlp(params["dec_xy"], zx, slope, last_act=False, drop=drop_xy), y
    ) + mse(_apply_mlp(params["dec_yx"], zy, slope, last_act=False, drop=drop_yx), x)
    return config.self_weight * self_loss + config.cross_weight * cross_loss


class _Carry(NamedTuple):
    epoch: jax.Array
    params: dict
    opt_state: optax.OptState
    best_params: dict
    best_val: jax.Array
    best_epoch: jax.Array
    waited: jax.Array
    val_curve: jax.Array
    key: jax.Array


def _latent_impl(
    x: jax.Array, y: jax.Array, key: jax.Array, config: LatentMIConfig, learning_rate=None
) -> LatentMIResult:
    """latentmi on x [n, dx], y [n, dy]; ``learning_rate`` (traced, []) replaces
    ``config.learning_rate`` when given (see :func:`cch_jax.mi._training.split_learning_rate`)."""
    n, dx = x.shape
    dy = y.shape[1]
    n_ksg, n_train, n_val = _split_sizes(n, config)
    k_split, k_init, k_train = jax.random.split(key, 3)
    x, y = jax.lax.optimization_barrier(
        (x, y)
    )  # no constant folding of closed-over data (see _mine)

    x, y = _zscore_clip(x, config.clip), _zscore_clip(y, config.clip)
    perm = jax.random.permutation(k_split, n)
    x, y = x[perm], y[perm]
    x_ksg, y_ksg = x[:n_ksg], y[:n_ksg]
    x_val, y_val = x[n_ksg : n_ksg + n_val], y[n_ksg : n_ksg + n_val]
    x_tr, y_tr = x[n_ksg + n_val :], y[n_ksg + n_val :]
    chex.assert_shape([x_tr, y_tr], [(n_train, dx), (n_train, dy)])

    params = _init(k_init, dx, dy, config)
    lr = _training.learning_rate_as(learning_rate, config, jax.tree.leaves(params)[0])
    optimizer = optax.adam(lr, eps=1e-7)
    n_batches = n_train // config.batch_size
    grad_fn = jax.grad(functools.partial(_loss, config=config))

    def step(carry, batch):
        params, opt_state = carry
        xb, yb, kb = batch
        grads = grad_fn(params, xb, yb, key=kb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    def epoch_body(c: _Carry) -> _Carry:
        key, k_perm, k_drop = jax.random.split(c.key, 3)
        order = jax.random.permutation(k_perm, n_train)[: n_batches * config.batch_size]
        xb = x_tr[order].reshape(n_batches, config.batch_size, dx)
        yb = y_tr[order].reshape(n_batches, config.batch_size, dy)
        (params, opt_state), _ = jax.lax.scan(
            step, (c.params, c.opt_state), (xb, yb, jax.random.split(k_drop, n_batches))
        )
        val = _loss(params, x_val, y_val, config)
        better = val < c.best_val
        best_params = jax.tree.map(
            lambda new, old: jnp.where(better, new, old), params, c.best_params
        )
        return _Carry(
            epoch=c.epoch + 1,
            params=params,
            opt_state=opt_state,
            best_params=best_params,
            best_val=jnp.where(better, val, c.best_val),
            best_epoch=jnp.where(better, c.epoch, c.best_epoch),
            waited=jnp.where(better, 0, c.waited + 1),
            val_curve=c.val_curve.at[c.epoch].set(val),
            key=key,
        )

    def keep_going(c: _Carry) -> jax.Array:
        return (c.epoch < config.max_epochs) & (c.waited < config.patience)

    dtype = x.dtype
    init = _Carry(
        epoch=jnp.zeros((), jnp.int32),
        params=params,
        opt_state=optimizer.init(params),
        best_params=params,
        best_val=jnp.asarray(jnp.inf, dtype),
        best_epoch=jnp.zeros((), jnp.int32),
        waited=jnp.zeros((), jnp.int32),
        val_curve=jnp.full((config.max_epochs,), jnp.nan, dtype),
        key=k_train,
    )
    init_val = _loss(params, x_val, y_val, config)
    final = jax.lax.while_loop(keep_going, epoch_body, init)
    zx, zy = _encode(final.best_params, x_ksg, y_ksg, config.negative_slope)
    chex.assert_shape([zx, zy], (n_ksg, config.latent_dim))
    estimate = ksg(zx, zy, k=config.k, metric="max", standardize=True)
    ran = jnp.arange(config.max_epochs) < final.epoch
    broken = jnp.any(ran & ~jnp.isfinite(final.val_curve))
    diverged = broken | ~(final.best_val < init_val) | ~jnp.isfinite(estimate)
    return LatentMIResult(estimate, final.val_curve, final.epoch, final.best_epoch, diverged)


def _zscore_clip(a: jax.Array, clip: float) -> jax.Array:
    mean = jnp.mean(a, axis=0, keepdims=True)
    std = jnp.std(a, axis=0, keepdims=True)
    return jnp.clip((a - mean) / jnp.where(std > 0, std, 1.0), -clip, clip)


_latent_jit = jax.jit(_latent_impl, static_argnames="config")
