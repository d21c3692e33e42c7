"""The CPU fast path of the small CNN computes the same function, with the same gradients.

``conv3x3_explicit_vjp`` (the CPU convolution) against autodiff of ``lax.conv_general_dilated``,
the whole CNN's gradients against the patch-matmul CNN's, and the compiled training epoch keeps
every convolution in the standard NHWC form XLA:CPU runs fast.
"""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cch_jax import kd
from cch_jax.kd import _models


def _normal(seed, shape):
    """Test data drawn with NumPy: a JAX draw at each new shape compiles a sampler (~0.5 s)."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _max_abs(b) -> float:
    return float(np.max(np.abs(np.asarray(b))))


def _lax_conv(x, k):
    return jax.lax.conv_general_dilated(
        x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


@pytest.mark.parametrize(
    "x_shape,c_out", [((3, 28, 28, 1), 4), ((2, 14, 14, 6), 5), ((2, 7, 9, 3), 2)]
)
def test_explicit_vjp_convolution_equals_autodiff_of_lax_convolution(x_shape, c_out):
    x = _normal(0, x_shape)
    k = _normal(1, (3, 3, x_shape[-1], c_out))
    g = _normal(2, (*x_shape[:3], c_out))

    def value_and_grads(f):
        y, vjp = jax.vjp(f, x, k)
        return (y, *vjp(g))

    ours = jax.jit(lambda: value_and_grads(_models.conv3x3_explicit_vjp))()
    ref = jax.jit(lambda: value_and_grads(_lax_conv))()
    for name, a, b in zip(("value", "d_input", "d_kernel"), ours, ref, strict=True):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-6 * _max_abs(b), err_msg=name)


@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None)])
def test_explicit_vjp_convolution_under_vmap_equals_per_member_autodiff(in_axes):
    """vmapped over kernels (a sweep) it is a patch matmul, over images alone more images."""
    s, x_shape, c_out = 3, (2, 6, 5, 3), 4
    x = _normal(3, (s, *x_shape) if in_axes[0] == 0 else x_shape)
    k = _normal(4, (s, 3, 3, 3, c_out) if in_axes[1] == 0 else (3, 3, 3, c_out))
    g = _normal(5, (s, *x_shape[:3], c_out))

    def value_and_grads(f, xi, ki, gi):
        y, vjp = jax.vjp(f, xi, ki)
        return (y, *vjp(gi))

    ours = jax.jit(
        jax.vmap(
            lambda xi, ki, gi: value_and_grads(_models.conv3x3_explicit_vjp, xi, ki, gi),
            in_axes=(*in_axes, 0),
        )
    )(x, k, g)
    for i in range(s):
        xi = x[i] if in_axes[0] == 0 else x
        ki = k[i] if in_axes[1] == 0 else k
        ref = value_and_grads(_lax_conv, xi, ki, g[i])
        for name, a, b in zip(("value", "d_input", "d_kernel"), ours, ref, strict=True):
            np.testing.assert_allclose(a[i], b, rtol=0, atol=2e-6 * _max_abs(b), err_msg=name)


def test_cnn_gradients_equal_the_patch_convolution_cnn():
    cfgs = {
        c: kd.ModelConfig(
            name="cnn", input_shape=(12, 12, 2), num_outputs=3, hidden=(4, 5, 6), conv=c
        )
        for c in ("auto", "patches")
    }
    models = {c: kd.make_model(cfg) for c, cfg in cfgs.items()}
    params = models["auto"].init(jax.random.key(0))
    x = _normal(6, (4, 12, 12, 2))

    @jax.jit
    def grads(p):
        return [jax.grad(lambda q, m=m: jnp.sum(m.apply(q, x) ** 2))(p) for m in models.values()]

    g_auto, g_patch = grads(params)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), g_auto, g_patch
    )


# Run in a fresh process that opts in to XLA:CPU's own convolutions first, as the `cch` command and
# the benchmarks do (with YNNPACK's, the default, convolutions are fusions without dim_labels).
_EPOCH_HLO = """
import re, jax, jax.numpy as jnp, numpy as np
from cch_jax import kd
assert kd.use_fast_cpu_convolutions()
n = 8
cfg = kd.TrainConfig(
    model=kd.ModelConfig(name="cnn", input_shape=(8, 8, 1), num_outputs=3, hidden=(2, 3, 4)),
    epochs=1, batch_size=4, optimizer="adam", learning_rate=1e-3,
)
rng = np.random.default_rng(0)
data = kd.kd_data(
    rng.normal(size=(n, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, n),
    rng.normal(size=(n, 3)).astype(np.float32), task="classification",
)
tr = kd.make_trainer(cfg, num_examples=n)
hp = kd.HParams(jnp.float32(0.5), jnp.float32(3.0), jnp.int32(0))
# only the shapes are lowered: jax.eval_shape runs no initialisation (no eager compilations)
state = jax.eval_shape(lambda: tr.init(jax.random.key(0)))
seeds = jax.eval_shape(lambda: jax.vmap(tr.init)(jax.random.split(jax.random.key(0), 2)))
hps = jax.tree.map(lambda v: np.stack([v, v]), hp)
swept = jax.jit(jax.vmap(lambda s, h: tr.run_epochs(s, data, h, 1))).lower(seeds, hps)
print("swept_convolutions", swept.compile().as_text().count("convolution("))
hlo = jax.jit(lambda s: tr.run_epochs(s, data, hp, 1)).lower(state).compile().as_text()
print("labels", *re.findall(r"convolution\\(.*?dim_labels=([\\w>-]+)", hlo))
"""


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="inspects XLA:CPU's compiled HLO")
@pytest.mark.skipif(not jax.__version__.startswith("0.10."), reason="the opt-in is for jaxlib 0.10")
def test_training_epoch_keeps_every_convolution_in_the_standard_cpu_form():
    """Inside the scan epoch, a convolution with other dimension orders is a ~100x slower loop."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", _EPOCH_HLO], env=env, capture_output=True, text=True, check=True
    )
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    # a sweep over seeds (vmap) has no convolution at all: batched ones would be grouped (slow)
    assert lines["swept_convolutions"] == "0"
    labels = lines["labels"].split()
    # per layer a forward and a kernel-gradient convolution, plus conv1's input gradient (the
    # images need none)
    assert len(labels) == 5
    assert set(labels) == {"b01f_01io->b01f"}
