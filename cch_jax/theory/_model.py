"""The joint-Gaussian teacher/student model (theory/derivation.md, section "Model").

(x1 in R^{d1}, x2 in R^d, y in R) are jointly Gaussian with zero mean. The teacher is a fixed linear
map of modality 1, t = w1^T x1; the optimal student is s = w*^T x2 with w* = S22^{-1} S2y.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks


class GaussianModel(NamedTuple):
    """Covariance blocks of (x1, x2, y) and the teacher's weights. A pytree: vmap over a stack of them.

    Attributes:
      s11: Cov(x1), [d1, d1].
      s22: Cov(x2), [d, d].
      s12: Cov(x1, x2), [d1, d].
      s1y: Cov(x1, y), [d1].
      s2y: Cov(x2, y), [d].
      var_y: Var(y), [].
      w1: teacher weights, [d1]; the teacher predicts t = w1^T x1.
    """

    s11: jax.Array
    s22: jax.Array
    s12: jax.Array
    s1y: jax.Array
    s2y: jax.Array
    var_y: jax.Array
    w1: jax.Array

    @property
    def d1(self) -> int:
        return self.s11.shape[-1]

    @property
    def d(self) -> int:
        return self.s22.shape[-1]


def make_gaussian_model(*, s11, s22, s12, s1y, s2y, var_y, w1) -> GaussianModel:
    """Builds a validated :class:`GaussianModel` from its blocks (see its attributes for shapes).

    (``kd.make_model`` builds a network; this builds the theory's joint-Gaussian model.)

    Args:
      s11: Cov(x1), [d1, d1] (keyword-only, like every block).
      s22: Cov(x2), [d, d].
      s12: Cov(x1, x2), [d1, d].
      s1y: Cov(x1, y), [d1].
      s2y: Cov(x2, y), [d].
      var_y: Var(y), [].
      w1: teacher weights, [d1]; the teacher predicts t = w1^T x1.

    Returns:
      The :class:`GaussianModel`, every block cast to one floating dtype.

    Raises:
      ValueError: a block has the wrong shape, a dimension is zero, a value is not finite, or the
        joint covariance of (x1, x2, y) is not symmetric positive definite (named
        ``joint covariance``).
    """
    blocks = dict(s11=s11, s22=s22, s12=s12, s1y=s1y, s2y=s2y, var_y=var_y, w1=w1)
    arrs = {k: _checks.as_float_array(k, v) for k, v in blocks.items()}
    if arrs["s11"].ndim != 2 or arrs["s11"].shape[0] != arrs["s11"].shape[1]:
        raise ValueError(f"s11: expected a square [d1, d1] matrix, got shape {arrs['s11'].shape}")
    if arrs["s22"].ndim != 2 or arrs["s22"].shape[0] != arrs["s22"].shape[1]:
        raise ValueError(f"s22: expected a square [d, d] matrix, got shape {arrs['s22'].shape}")
    d1, d = arrs["s11"].shape[0], arrs["s22"].shape[0]
    if d1 < 1:
        raise ValueError("s11: the teacher modality needs at least one dimension (d1 >= 1), got 0")
    if d < 1:
        raise ValueError("s22: the student modality needs at least one dimension (d >= 1), got 0")
    expected = {"s12": (d1, d), "s1y": (d1,), "s2y": (d,), "var_y": (), "w1": (d1,)}
    for name, shape in expected.items():
        if arrs[name].shape != shape:
            raise ValueError(
                f"{name}: expected shape {shape} (d1={d1}, d={d}), got {arrs[name].shape}"
            )
    dtype = jnp.result_type(*arrs.values())
    model = GaussianModel(**{k: v.astype(dtype) for k, v in arrs.items()})
    _checks.check_spd("joint covariance", joint_covariance(model))
    return model


def model_from_covariance(cov, *, d1: int, w1) -> GaussianModel:
    """Splits a joint covariance of (x1 [d1], x2 [d], y [1]) into a :class:`GaussianModel`.

    Args:
      cov: [d1 + d + 1, d1 + d + 1], ordered (x1, x2, y).
      d1: the dimension of modality 1.
      w1: teacher weights, [d1].

    Returns:
      The validated :class:`GaussianModel` (as from :func:`make_gaussian_model`).
    """
    cov = _checks.as_float_array("cov", cov, ndims=(2,))
    d1 = _checks.check_int("d1", d1, minimum=1)
    if cov.shape[0] != cov.shape[1] or cov.shape[0] < d1 + 2:
        raise ValueError(
            f"cov: expected a square matrix of size >= d1 + 2 = {d1 + 2}, got {cov.shape}"
        )
    return make_gaussian_model(
        s11=cov[:d1, :d1],
        s22=cov[d1:-1, d1:-1],
        s12=cov[:d1, d1:-1],
        s1y=cov[:d1, -1],
        s2y=cov[d1:-1, -1],
        var_y=cov[-1, -1],
        w1=w1,
    )


def joint_covariance(model: GaussianModel) -> jax.Array:
    """The covariance of (x1, x2, y), [d1 + d + 1, d1 + d + 1].

    Args:
      model: the joint-Gaussian model (unbatched; see ``joint_covariance_batched`` for batches).

    Returns:
      The joint covariance [d1 + d + 1, d1 + d + 1], ordered (x1, x2, y).
    """
    top = jnp.concatenate([model.s11, model.s12, model.s1y[:, None]], axis=1)
    mid = jnp.concatenate([model.s12.T, model.s22, model.s2y[:, None]], axis=1)
    bot = jnp.concatenate([model.s1y, model.s2y, model.var_y[None]])[None, :]
    return jnp.concatenate([top, mid, bot], axis=0)


def check_model(name: str, model) -> GaussianModel:
    """Checks a (possibly hand-built) :class:`GaussianModel`: its type, block shapes, and, when
    concrete, finite values and an SPD joint covariance (so no negative variance gets through).
    Under tracing only the type and shapes are checked."""
    _checks.check_instance(name, model, GaussianModel)
    shapes = {f: tuple(getattr(model, f).shape) for f in GaussianModel._fields}
    d1 = shapes["s11"][-1] if shapes["s11"] else 0
    d = shapes["s22"][-1] if shapes["s22"] else 0
    if d1 < 1 or d < 1:
        raise ValueError(f"{name}: zero-dimensional model (d1={d1}, d={d}); both must be >= 1")
    if _checks.is_traced(model):
        return model
    batch = shapes["var_y"]
    expected = {
        "s11": (d1, d1),
        "s22": (d, d),
        "s12": (d1, d),
        "s1y": (d1,),
        "s2y": (d,),
        "var_y": (),
        "w1": (d1,),
    }
    for field, shape in expected.items():
        if shapes[field] != batch + shape:
            raise ValueError(f"{name}.{field}: expected shape {batch + shape}, got {shapes[field]}")
    for field in GaussianModel._fields:
        _checks.check_finite(f"{name}.{field}", getattr(model, field))
    # The joint covariance may be singular (the family's teacher is a function of x2 and y), but
    # never indefinite: that would mean a negative variance somewhere. S22 must be invertible.
    cov = np.asarray(joint_covariance_batched(model), np.float64)
    s22 = np.asarray(model.s22, np.float64)
    for mat, block in zip(cov.reshape((-1, *cov.shape[-2:])), s22.reshape((-1, d, d)), strict=True):
        scale = max(float(np.max(np.abs(mat))), 1e-300)
        if not np.allclose(mat, mat.T, rtol=0.0, atol=1e-6 * scale):
            raise ValueError(f"{name}: joint covariance: not symmetric")
        eig_min = float(np.linalg.eigvalsh(mat)[0])
        if eig_min < -1e-5 * scale:
            raise ValueError(
                f"{name}: joint covariance: not positive semi-definite (smallest eigenvalue "
                f"{eig_min:.3g}; a variance is negative)"
            )
        _checks.check_spd(f"{name}.s22", block)
    return model


def joint_covariance_batched(model: GaussianModel) -> jax.Array:
    """:func:`joint_covariance` for a model with leading batch dimensions."""
    fn = joint_covariance
    for _ in range(model.var_y.ndim):
        fn = jax.vmap(fn)
    return fn(model)


def optimal_student(model: GaussianModel) -> jax.Array:
    """w* = S22^{-1} S2y, the population least-squares student, [d].

    Args:
      model: the joint-Gaussian model (unbatched).

    Returns:
      The student weights w* [d].
    """
    return jnp.linalg.solve(model.s22, model.s2y)


def sample(
    model: GaussianModel, *, key: jax.Array, n: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Draws n i.i.d. rows of (x1, x2, y).

    Args:
      model: the joint-Gaussian model.
      key: a ``jax.random.key`` (keyword-only).
      n: number of rows (static), >= 1.

    Returns:
      x1 [n, d1], x2 [n, d], y [n].
    """
    check_model("model", model)
    _checks.check_key("key", key)
    n = _checks.check_int("n", n, minimum=1)
    cov = joint_covariance(model)
    chol = jnp.linalg.cholesky(cov)
    z = jax.random.normal(key, (n, cov.shape[0]), dtype=cov.dtype)
    rows = z @ chol.T
    d1 = model.s11.shape[0]
    return rows[:, :d1], rows[:, d1:-1], rows[:, -1]


def predictions(model: GaussianModel, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The teacher's t = x1 w1 and the optimal student's s = x2 w*; each [n].

    Args:
      model: the joint-Gaussian model (unbatched).
      x1: teacher modality rows [n, d1].
      x2: student modality rows [n, d].

    Returns:
      ``(t, s)``: the teacher's predictions [n] and the optimal student's predictions [n].
    """
    return x1 @ model.w1, x2 @ optimal_student(model)


def random_model(
    d1: int, d: int, *, key: jax.Array, bounded: bool = True, aligned: bool = True
) -> GaussianModel:
    """A random model with general covariance blocks, for tests and the Monte-Carlo checks.

    The joint covariance is a random Wishart-like SPD matrix; the teacher w1 is a noisy copy of the
    population regression of y on x1. With ``bounded``, w1 is rescaled so that Var(t) <= Var(y); with
    ``aligned``, its sign is chosen so that Cov(s, t) >= 0 (the theorem's two side conditions).
    Vmappable over ``key`` (``jax.vmap(lambda k: random_model(d1, d, key=k))``).

    Args:
      d1: dimension of modality 1 (static), >= 1.
      d: dimension of modality 2 (static), >= 1.
      key: a ``jax.random.key`` (keyword-only).
      bounded: rescale the teacher so that Var(t) <= Var(y).
      aligned: flip the teacher's sign so that Cov(s, t) >= 0.

    Returns:
      A :class:`GaussianModel` with blocks s11 [d1, d1], s22 [d, d], s12 [d1, d], s1y [d1],
      s2y [d], var_y [] and w1 [d1].
    """
    d1 = _checks.check_int("d1", d1, minimum=1)
    d = _checks.check_int("d", d, minimum=1)
    _checks.check_key("key", key)
    bounded = _checks.check_bool("bounded", bounded)
    aligned = _checks.check_bool("aligned", aligned)
    return _random_model(key, d1, d, bounded=bounded, aligned=aligned)


@functools.partial(jax.jit, static_argnames=("d1", "d", "bounded", "aligned"))
def _random_model(key, d1: int, d: int, *, bounded: bool, aligned: bool) -> GaussianModel:
    k_cov, k_w, k_scale = jax.random.split(key, 3)
    size = d1 + d + 1
    a = jax.random.normal(k_cov, (size, 2 * size))
    cov = a @ a.T / (2 * size) + 0.1 * jnp.eye(size)
    s11, s1y = cov[:d1, :d1], cov[:d1, -1]
    w_reg = jnp.linalg.solve(s11, s1y)
    w1 = w_reg + 0.5 * jnp.linalg.norm(w_reg) / np.sqrt(d1) * jax.random.normal(k_w, (d1,))
    var_t = w1 @ s11 @ w1
    if bounded:
        shrink = jax.random.uniform(k_scale, minval=0.3, maxval=1.0)
        w1 = w1 * jnp.minimum(1.0, shrink * jnp.sqrt(cov[-1, -1] / var_t))
    if aligned:
        w_star = jnp.linalg.solve(cov[d1:-1, d1:-1], cov[d1:-1, -1])
        cov_ts = w1 @ cov[:d1, d1:-1] @ w_star
        w1 = jnp.where(cov_ts < 0, -w1, w1)
    return GaussianModel(
        s11=s11,
        s22=cov[d1:-1, d1:-1],
        s12=cov[:d1, d1:-1],
        s1y=s1y,
        s2y=cov[d1:-1, -1],
        var_y=cov[-1, -1],
        w1=w1,
    )
