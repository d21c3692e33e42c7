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

from cch_jax import _checks
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


_NHWC = ("NHWC", "HWIO", "NHWC")


def _conv3x3_lax(x: jax.Array, kernel: jax.Array) -> jax.Array:
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_NHWC)


def conv3x3_patches(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """A 3x3, stride-1, SAME-padded convolution as one matmul over stacked shifted copies.

    Equal to ``lax.conv_general_dilated(x, kernel, (1, 1), 'SAME')`` in NHWC/HWIO layout, with
    the gradients of its matmul (no convolution anywhere, forward or backward).

    Args:
      x: images, [n, h, w, c].
      kernel: [3, 3, c, c_out].

    Returns:
      [n, h, w, c_out].
    """
    return _patches3x3(x) @ kernel.reshape(9 * x.shape[-1], -1)


def _patches3x3(x: jax.Array) -> jax.Array:
    """[n, h, w, c] -> [n, h, w, 9c]: the zero-padded 3x3 neighbourhoods, tap-major."""
    n, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return jnp.concatenate([xp[:, i : i + h, j : j + w, :] for i in range(3) for j in range(3)], -1)


@jax.custom_batching.custom_vmap
def _conv3x3_nhwc(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """The plain NHWC convolution; vmapped over kernels (a sweep), the patch matmul instead.

    XLA batches a convolution over kernels as a grouped convolution, which XLA:CPU's YNNPACK
    kernels (jaxlib 0.10's default) run several times slower than a batched matmul of the patches
    (timed by ``benchmarks/kd.py``; with Eigen's convolutions, the opt-in
    :func:`cch_jax.kd.use_fast_cpu_convolutions`, the two take about the same time).
    """
    return _conv3x3_lax(x, kernel)


@_conv3x3_nhwc.def_vmap
def _conv3x3_nhwc_vmap(axis_size, in_batched, x, kernel):
    x_batched, kernel_batched = in_batched
    if not kernel_batched:  # one kernel: the vmapped images are just more images
        y = _conv3x3_nhwc(x.reshape(-1, *x.shape[2:]), kernel)
        return y.reshape(*x.shape[:-1], kernel.shape[-1]), True
    in_axes = (0 if x_batched else None, 0)
    return jax.vmap(conv3x3_patches, in_axes=in_axes)(x, kernel), True


@jax.custom_batching.custom_vmap
def _conv3x3_kernel_grad(x: jax.Array, dy: jax.Array) -> jax.Array:
    """sum over examples and pixels of x's 3x3 neighbourhoods times dy: [3, 3, c, c_out].

    A standard NHWC convolution of x with channels as the batch and examples as the features
    ([c, h, w, n]) by dy as a [h, w, n, c_out] kernel, padding 1; vmapped, a batched matmul of the
    patches (see :func:`_conv3x3_nhwc`).
    """
    dk = jax.lax.conv_general_dilated(
        x.transpose(3, 1, 2, 0),
        dy.transpose(1, 2, 0, 3),
        (1, 1),
        ((1, 1), (1, 1)),
        dimension_numbers=_NHWC,
    )
    return dk.transpose(1, 2, 0, 3)


def _kernel_grad_patches(x, dy):
    c, c_out = x.shape[-1], dy.shape[-1]
    dk = _patches3x3(x).reshape(-1, 9 * c).T @ dy.reshape(-1, c_out)
    return dk.reshape(3, 3, c, c_out)


@_conv3x3_kernel_grad.def_vmap
def _conv3x3_kernel_grad_vmap(axis_size, in_batched, x, dy):
    in_axes = tuple(0 if b else None for b in in_batched)
    return jax.vmap(_kernel_grad_patches, in_axes=in_axes)(x, dy), True


@jax.custom_vjp
def conv3x3_explicit_vjp(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """``lax.conv_general_dilated(x, kernel, (1, 1), 'SAME')`` (NHWC/HWIO) whose backward pass is
    two more plain NHWC convolutions, written out.

    The forward value and both gradients are those of the convolution (equal to float32 rounding:
    only the order of the sums differs). Why: XLA's own transposed convolutions for the gradients
    carry non-standard dimension orders (the kernel gradient contracts over the batch); outside a
    loop XLA:CPU reorders them for its fast convolution kernels, but inside a ``while`` loop (every
    ``lax.scan`` epoch) it leaves them to a naive loop (jax 0.10.2, 2-core CPU: a training step of
    the 28x28x1 CNN at batch 128 took 1 s with autodiff's convolutions, 0.04 s with these, 0.05 s
    with :func:`conv3x3_patches`). Here every convolution is already in the standard
    NHWC x HWIO -> NHWC form:

    * input gradient: dy correlated with the kernel rotated by 180 degrees, in/out swapped;
    * kernel gradient: x with channels as the batch and examples as the features ([c, h, w, n]),
      correlated with dy as a [h, w, n, c_out] kernel and padding 1: [c, 3, 3, c_out].

    Under ``jax.vmap`` over kernels (a sweep over seeds) all three are batched matmuls of the 3x3
    patches instead, since XLA:CPU runs batched convolutions as slow grouped ones.

    Args:
      x: images, [n, h, w, c].
      kernel: [3, 3, c, c_out].

    Returns:
      [n, h, w, c_out].
    """
    return _conv3x3_nhwc(x, kernel)


def _conv3x3_fwd(x, kernel):
    return _conv3x3_nhwc(x, kernel), (x, kernel)


def _conv3x3_bwd(res, dy):
    x, kernel = res
    dx = _conv3x3_nhwc(dy, jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2))
    return dx, _conv3x3_kernel_grad(x, dy)


conv3x3_explicit_vjp.defvjp(_conv3x3_fwd, _conv3x3_bwd)


def max_pool2(x: jax.Array) -> jax.Array:
    """2x2 max pooling with stride 2 on [n, h, w, c] (odd edges dropped), as a reshape and max."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2, :]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


_CONV3X3 = {
    "lax": _conv3x3_lax,
    "lax_explicit_vjp": conv3x3_explicit_vjp,
    "patches": conv3x3_patches,
}


class Conv3x3(nnx.Module):
    """3x3 SAME convolution with bias; parameters laid out as ``nnx.Conv`` (kernel HWIO).

    ``impl`` picks the kernel (all compute the same function of the same parameters, with the same
    gradients): 'lax' (``lax.conv_general_dilated`` and its autodiff, for GPU/TPU),
    'lax_explicit_vjp' (:func:`conv3x3_explicit_vjp`, the same convolution with a backward pass
    XLA:CPU runs fast inside loops) or 'patches' (:func:`conv3x3_patches`, shifted copies and one
    matmul).
    """

    def __init__(self, in_features: int, out_features: int, *, impl: str, rngs):
        init = nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(init(rngs.params(), (3, 3, in_features, out_features)))
        self.bias = nnx.Param(jnp.zeros((out_features,)))
        self.impl = impl

    def __call__(self, x: jax.Array) -> jax.Array:
        y = _CONV3X3[self.impl](x, self.kernel[...])
        return y + self.bias[...].reshape(1, 1, 1, -1)


class SmallCNN(nnx.Module):
    """conv3x3(c1)-ReLU-maxpool2, conv3x3(c2)-ReLU-maxpool2, dense(width)-ReLU = H, linear head.

    For 28x28x1 (MNIST-like) and 32x32x3 (CIFAR-like) images, NHWC. ``hidden = (c1, c2, width)``,
    (32, 64, 128) by default.
    """

    def __init__(
        self, input_shape, num_outputs: int, *, hidden: tuple[int, int, int], conv: str, rngs
    ):
        height, width, channels = input_shape
        c1, c2, dense = hidden
        self.conv0 = Conv3x3(channels, c1, impl=conv, rngs=rngs)
        self.conv1 = Conv3x3(c1, c2, impl=conv, rngs=rngs)
        flat = (height // 4) * (width // 4) * c2
        self.dense = nnx.Linear(flat, dense, rngs=rngs)
        self.out = nnx.Linear(dense, num_outputs, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        h = max_pool2(nnx.relu(self.conv0(x)))
        h = max_pool2(nnx.relu(self.conv1(h)))
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
        conv = "lax" if config.conv == "auto" else config.conv
        if conv == "lax" and jax.default_backend() == "cpu":
            conv = "lax_explicit_vjp"  # autodiff's convolutions are ~100x slower in CPU loops
        return SmallCNN(shape, k, hidden=tuple(config.hidden), conv=conv, rngs=rngs)
    raise ValueError(f"config.name: unknown model {config.name!r}")  # unreachable: validated


def make_model(config: ModelConfig) -> Model:
    """Builds the pure :class:`Model` for ``config``.

    Args:
      config: a validated :class:`ModelConfig`.

    Returns:
      :class:`Model` with ``init``, ``apply`` and ``features``.
    """
    _checks.check_instance("config", config, ModelConfig)
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
    """Number of scalar parameters in a (single-model) parameter pytree.

    Args:
      params: one model's parameters (e.g. ``Model.init(key)``), no leading run axis.

    Returns:
      The total number of array elements over all leaves.
    """
    return int(sum(jnp.size(leaf) for leaf in jax.tree.leaves(params)))
