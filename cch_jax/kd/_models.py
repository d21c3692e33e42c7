"""Student and teacher models: flax.nnx modules split into plain parameter pytrees.

Each model maps a batch of inputs ``[n, *input_shape]`` to outputs ``[n, num_outputs]`` (logits, or
predictions for regression) and exposes its penultimate representation H ``[n, feature_dim]``, the
quantity the MI estimators need (for the linear model H is the flattened input).

The trainer never holds a module: :func:`make_model` returns a :class:`Model` of pure functions over
a plain nested dict of arrays (``nnx.split`` then ``nnx.to_pure_dict``), which jit, vmap, scan and
orbax handle directly. ``init(key)`` is vmappable over keys, so a sweep over seeds initialises every
student in one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from cch_jax.kd._config import ModelConfig

Params = dict[str, Any]


class LinearNet(nnx.Module):
    """y = x W (+ b) on the flattened input; H is the flattened input itself."""

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, *, use_bias: bool, rngs):
        self.out = nnx.Linear(
            math.prod(input_shape),
            num_outputs,
            use_bias=use_bias,
            kernel_init=nnx.initializers.zeros_init(),
            rngs=rngs,
        )

    def features(self, x: jax.Array) -> jax.Array:
        return x.reshape(x.shape[0], -1)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(self.features(x))


class MLP(nnx.Module):
    """Flattened input -> ReLU dense layers of widths ``hidden`` -> linear head; H = last hidden."""

    def __init__(self, input_shape, num_outputs: int, *, hidden: tuple[int, ...], rngs):
        self.depth = len(hidden)
        width = math.prod(input_shape)
        for i, h in enumerate(hidden):
            setattr(self, f"dense{i}", nnx.Linear(width, h, rngs=rngs))
            width = h
        self.out = nnx.Linear(width, num_outputs, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        h = x.reshape(x.shape[0], -1)
        for i in range(self.depth):
            h = nnx.relu(getattr(self, f"dense{i}")(h))
        return h

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(self.features(x))


class SmallCNN(nnx.Module):
    """conv3x3(c1)-ReLU-maxpool2, conv3x3(c2)-ReLU-maxpool2, dense(width)-ReLU = H, linear head.

    For 28x28x1 (MNIST-like) and 32x32x3 (CIFAR-like) images, NHWC. ``hidden = (c1, c2, width)``,
    (32, 64, 128) by default.
    """

    def __init__(self, input_shape, num_outputs: int, *, hidden: tuple[int, int, int], rngs):
        height, width, channels = input_shape
        c1, c2, dense = hidden
        self.conv0 = nnx.Conv(channels, c1, kernel_size=(3, 3), padding="SAME", rngs=rngs)
        self.conv1 = nnx.Conv(c1, c2, kernel_size=(3, 3), padding="SAME", rngs=rngs)
        flat = (height // 4) * (width // 4) * c2
        self.dense = nnx.Linear(flat, dense, rngs=rngs)
        self.out = nnx.Linear(dense, num_outputs, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        h = nnx.max_pool(nnx.relu(self.conv0(x)), (2, 2), strides=(2, 2))
        h = nnx.max_pool(nnx.relu(self.conv1(h)), (2, 2), strides=(2, 2))
        return nnx.relu(self.dense(h.reshape(h.shape[0], -1)))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(self.features(x))


class Model(NamedTuple):
    """A model as pure functions over a plain parameter pytree.

    Attributes:
      init: ``key -> params`` (vmappable over keys).
      apply: ``(params, x [n, *input_shape]) -> outputs [n, num_outputs]``.
      features: ``(params, x [n, *input_shape]) -> H [n, feature_dim]``, the penultimate layer.
      config: the :class:`ModelConfig` it was built from.
    """

    init: Callable[[jax.Array], Params]
    apply: Callable[[Params, jax.Array], jax.Array]
    features: Callable[[Params, jax.Array], jax.Array]
    config: ModelConfig


def _build(config: ModelConfig, key: jax.Array) -> nnx.Module:
    rngs = nnx.Rngs(params=key)
    shape, k = tuple(config.input_shape), config.num_outputs
    if config.name == "linear":
        return LinearNet(shape, k, use_bias=config.use_bias, rngs=rngs)
    if config.name == "mlp":
        return MLP(shape, k, hidden=tuple(config.hidden), rngs=rngs)
    if config.name == "cnn":
        return SmallCNN(shape, k, hidden=tuple(config.hidden), rngs=rngs)
    raise ValueError(f"config.name: unknown model {config.name!r}")  # unreachable: validated


def make_model(config: ModelConfig) -> Model:
    """Builds the pure :class:`Model` for ``config``.

    Args:
      config: a validated :class:`ModelConfig`.

    Returns:
      :class:`Model` with ``init``, ``apply`` and ``features``.
    """
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: _build(config, jax.random.key(0))))

    def init(key: jax.Array) -> Params:
        _, state = nnx.split(_build(config, key))
        return nnx.to_pure_dict(state)

    def apply(params: Params, x: jax.Array) -> jax.Array:
        return nnx.merge(graphdef, params)(x)

    def features(params: Params, x: jax.Array) -> jax.Array:
        return nnx.merge(graphdef, params).features(x)

    return Model(init=init, apply=apply, features=features, config=config)


def count_params(params: Params) -> int:
    """Number of scalar parameters in a (single-model) parameter pytree."""
    return int(sum(jnp.size(leaf) for leaf in jax.tree.leaves(params)))
