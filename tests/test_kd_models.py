"""nnx models as pure functions over plain parameter pytrees, with the penultimate layer H."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cch_jax import kd


@pytest.mark.parametrize(
    "name,shape,hidden,count",
    [
        ("linear", (7,), (), 7 * 3 + 3),
        ("mlp", (6,), (5, 4), 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3),
        # conv0 3x3x1x4 + 4, conv1 3x3x4x6 + 6, dense (7x7x6)x8 + 8 after two 2x2 pools, head 8x3 + 3
        ("cnn", (28, 28, 1), (4, 6, 8), 36 + 4 + 216 + 6 + 294 * 8 + 8 + 24 + 3),
    ],
)
def test_each_model_has_the_parameters_of_its_architecture(name, shape, hidden, count):
    cfg = kd.ModelConfig(name=name, input_shape=shape, num_outputs=3, hidden=hidden)
    assert kd.count_params(kd.make_model(cfg).init(jax.random.key(0))) == count


@pytest.mark.parametrize(
    "name,shape,hidden,feat",
    [
        ("linear", (7,), (), 7),
        ("mlp", (6,), (5, 4), 4),
        ("cnn", (28, 28, 1), (4, 6, 8), 8),
    ],
)
def test_shapes_features_and_head(name, shape, hidden, feat):
    cfg = kd.ModelConfig(name=name, input_shape=shape, num_outputs=3, hidden=hidden)
    model = kd.make_model(cfg)
    params = model.init(jax.random.key(0))
    x = np.random.default_rng(1).standard_normal((2, *shape), dtype=np.float32)
    out, h = jax.jit(lambda p, v: (model.apply(p, v), model.features(p, v)))(params, x)
    chex.assert_shape(out, (2, 3))
    chex.assert_shape(h, (2, feat))
    # the output is the linear head applied to H: H is truly the penultimate layer
    head = params["out"]
    np.testing.assert_allclose(
        out, h @ head["kernel"] + head["bias"][None, :], rtol=1e-5, atol=1e-5
    )
    # plain nested dicts of arrays with string keys (what jit/vmap/orbax want)
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    assert all(isinstance(k.key, str) for path, _ in flat for k in path)


def test_init_is_pure_and_vmaps_over_keys():
    cfg = kd.ModelConfig(name="mlp", input_shape=(4,), num_outputs=2, hidden=(3,))
    model = kd.make_model(cfg)
    a, b = model.init(jax.random.key(5)), model.init(jax.random.key(5))
    jax.tree.map(np.testing.assert_array_equal, a, b)
    keys = jax.random.split(jax.random.key(0), 3)
    stacked = jax.vmap(model.init)(keys)
    chex.assert_shape(stacked["dense0"]["kernel"], (3, 4, 3))
    one = model.init(keys[1])
    jax.tree.map(lambda s, o: np.testing.assert_allclose(s[1], o, rtol=1e-6), stacked, one)
    assert not np.allclose(stacked["dense0"]["kernel"][0], stacked["dense0"]["kernel"][1])
    assert kd.count_params(one) == 4 * 3 + 3 + 3 * 2 + 2


def test_apply_jits_once_per_shape_and_vmaps_over_params():
    cfg = kd.ModelConfig(name="linear", input_shape=(3,), num_outputs=2)
    model = kd.make_model(cfg)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def fwd(p, x):
        return model.apply(p, x)

    p = model.init(jax.random.key(0))
    p = jax.tree.map(lambda v: v + 1.0, p)
    x = jnp.ones((4, 3))
    fwd(p, x)
    fwd(jax.tree.map(lambda v: v * 2.0, p), x + 1.0)  # new values, same shapes: no retrace
    ps = jax.vmap(model.init)(jax.random.split(jax.random.key(1), 5))
    chex.assert_shape(jax.vmap(model.apply, in_axes=(0, None))(ps, x), (5, 4, 2))


def test_linear_model_without_bias_is_x_w():
    cfg = kd.ModelConfig(name="linear", input_shape=(3,), num_outputs=1, use_bias=False)
    model = kd.make_model(cfg)
    p = model.init(jax.random.key(0))
    assert set(p["out"]) == {"kernel"}
    p = {"out": {"kernel": jnp.array([[1.0], [2.0], [-1.0]])}}
    np.testing.assert_allclose(model.apply(p, jnp.array([[1.0, 1.0, 1.0]])), [[2.0]])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(name="resnet", input_shape=(3,), num_outputs=2),
            "name: expected one of .*, got 'resnet'",
        ),
        (dict(name="mlp", input_shape=(0,), num_outputs=2), "input_shape"),
        (dict(name="mlp", input_shape=(3,), num_outputs=0), "num_outputs"),
        (dict(name="linear", input_shape=(3,), num_outputs=2, hidden=(4,)), "hidden"),
        (dict(name="cnn", input_shape=(28, 28, 1), num_outputs=2, hidden=(4, 4)), "hidden"),
        (dict(name="cnn", input_shape=(784,), num_outputs=2), "input_shape"),
        (dict(name="mlp", input_shape=(3,), num_outputs=2, hidden=(4, -1)), "hidden"),
    ],
)
def test_model_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kd.ModelConfig(**kwargs)


def test_model_config_is_frozen_and_defaults():
    cfg = kd.ModelConfig(name="cnn", input_shape=(32, 32, 3), num_outputs=10)
    assert cfg.hidden == (32, 64, 128)
    with pytest.raises(AttributeError):
        cfg.name = "mlp"
    with pytest.raises(TypeError):
        kd.ModelConfig("mlp", (3,), 2)  # keyword-only


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_cnn_patch_convolution_equals_lax_convolution(shape):
    # the layer sizes of the architecture tests above: the same initialisers' programs
    cfgs = {
        c: kd.ModelConfig(name="cnn", input_shape=shape, num_outputs=3, hidden=(4, 6, 8), conv=c)
        for c in ("lax", "patches")
    }
    models = {c: kd.make_model(cfg) for c, cfg in cfgs.items()}
    params = models["lax"].init(jax.random.key(0))
    x = np.random.default_rng(1).standard_normal((2, *shape), dtype=np.float32)

    def loss(c):
        return lambda p: jnp.sum(models[c].apply(p, x) ** 2)

    @jax.jit
    def both(p):
        outs = [models[c].apply(p, x) for c in ("lax", "patches")]
        return outs, jax.grad(loss("lax"))(p), jax.grad(loss("patches"))(p)

    (out_lax, out_patch), g_lax, g_patch = both(params)
    np.testing.assert_allclose(out_patch, out_lax, rtol=1e-4, atol=1e-5)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4), g_patch, g_lax
    )
    with pytest.raises(ValueError, match="conv: expected one of .*, got 'fft'"):
        kd.ModelConfig(name="cnn", input_shape=shape, num_outputs=4, conv="fft")
