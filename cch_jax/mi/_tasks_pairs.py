"""Known-answer tasks of the bmi benchmark family: joint distributions of (X, Y), continuous, whose
mutual information is known exactly.

Every task has ``name``, ``dim_x``, ``dim_y``,
``sample(key=key, n=n) -> (x [n, dim_x], y [n, dim_y])`` (both keyword-only) and
``mutual_information() -> float`` (nats, computed in float64). Sampling is pure JAX: ``n`` is static
and ``key`` may be traced, so ``jax.vmap(lambda k: task.sample(key=k, n=n))(keys)`` draws many
datasets at once. Samples are float32
unless ``jax_enable_x64`` is set.

Task parameters (covariances, rotations) are fixed at construction, validated there and held as
NumPy float64 arrays; constructors take concrete values (they are not traced).

The tasks follow the families of the bmi benchmark (Czyż et al., 2023): a multivariate normal with
any split covariance, independent variables, the same distributions under MI-preserving
coordinate-wise monotone maps, a multivariate Student-t and a random orthogonal embedding into
more dimensions.

References:
  P. Czyż, F. Grabowski, J. E. Vogt, N. Beerenwinkel, A. Marx, "Beyond normal: on the evaluation of
  mutual information estimators", NeurIPS 2023.
  R. B. Arellano-Valle, J. E. Contreras-Reyes, M. G. Genton, "Shannon entropy and mutual information
  for multivariate skew-elliptical distributions", Scand. J. Statist. 40 (2013), Eq. (7).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.mi._tasks_common import (
    Task,
    check_n,
    check_task,
    float_dtype,
    gaussian_mi_f64,
    random_orthogonal,
)


def _split_xy(z: jax.Array, dim_x: int) -> tuple[jax.Array, jax.Array]:
    return z[:, :dim_x], z[:, dim_x:]


def _checked_cov(name: str, cov, dim_x: int) -> np.ndarray:
    if _checks.is_traced(cov):
        raise ValueError(f"{name}: task parameters must be concrete arrays, not traced values")
    m = np.asarray(cov, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name}: expected a square matrix [D, D], got shape {m.shape}")
    _checks.check_positive_int("dim_x", dim_x)
    if not 1 <= dim_x < m.shape[0]:
        raise ValueError(
            f"dim_x: must be in [1, {m.shape[0] - 1}] for a {m.shape[0]}x{m.shape[0]} {name}, "
            f"got {dim_x}"
        )
    _checks.check_spd(name, m)
    return 0.5 * (m + m.T)


# --------------------------------------------------------------------------------------------------
# Multivariate normal


@dataclasses.dataclass(frozen=True, eq=False)
class Multinormal:
    """(X, Y) ~ N(0, cov) with X the first ``dim_x`` coordinates.

    Attributes:
      name: a readable label.
      dim_x: dx.
      dim_y: dy.
      cov: joint covariance [dx + dy, dx + dy] (float64, symmetric positive definite).
    """

    name: str
    dim_x: int
    dim_y: int
    cov: np.ndarray

    def __post_init__(self):
        cov = _checked_cov("cov", self.cov, self.dim_x)
        if cov.shape[0] != self.dim_x + self.dim_y:
            raise ValueError(f"cov: expected shape [{self.dim_x + self.dim_y}]*2, got {cov.shape}")
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "_chol", np.linalg.cholesky(cov))

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draws x [n, dim_x], y [n, dim_y]."""
        n = check_n(n)
        _checks.check_key("key", key)
        dtype = float_dtype()
        z = jax.random.normal(key, (n, self.dim_x + self.dim_y), dtype=dtype)
        z = z @ jnp.asarray(self._chol.T, dtype=dtype)
        return _split_xy(z, self.dim_x)

    def mutual_information(self) -> float:
        """1/2 log(det S_xx det S_yy / det S), nats."""
        return gaussian_mi_f64(self.cov, self.dim_x)


def multinormal(cov, dim_x: int, *, name: str | None = None) -> Multinormal:
    """A zero-mean multivariate normal with an arbitrary split covariance.

    Args:
      cov: joint covariance of (X, Y), [dx + dy, dx + dy], X first, symmetric positive definite.
      dim_x: dx, the number of leading coordinates that form X.
      name: optional label (default ``"multinormal-{dx}x{dy}"``).

    Returns:
      A :class:`Multinormal` task; its MI is ``cch_jax.theory.gaussian_mi(cov, dim_x)``.
    """
    m = _checked_cov("cov", cov, dim_x)
    dim_y = m.shape[0] - dim_x
    return Multinormal(name=name or f"multinormal-{dim_x}x{dim_y}", dim_x=dim_x, dim_y=dim_y, cov=m)


def _paired_cov(dim_x: int, dim_y: int, rho: float) -> np.ndarray:
    cov = np.eye(dim_x + dim_y)
    for i in range(min(dim_x, dim_y)):
        cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    return cov


def correlated_gaussian(dim_x: int, dim_y: int, rho: float) -> Multinormal:
    """Standard normal X, Y with corr(X_i, Y_i) = rho for i < min(dx, dy), all else independent.

    MI = -min(dx, dy)/2 * log(1 - rho^2) nats (1.1157 for 5+5 at rho = 0.6; 0.2231 for 1+1).

    Args:
      dim_x: dx >= 1.
      dim_y: dy >= 1.
      rho: the paired correlation, -1 < rho < 1 (a concrete number).

    Returns:
      A :class:`Multinormal` task.
    """
    _checks.check_positive_int("dim_x", dim_x)
    _checks.check_positive_int("dim_y", dim_y)
    if _checks.is_traced(rho) or np.ndim(rho) != 0:
        raise ValueError(f"rho: expected a concrete scalar, got {rho!r}")
    _checks.check_scalar_range(
        "rho", rho, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    rho = float(rho)
    return Multinormal(
        name=f"gaussian-{dim_x}x{dim_y}-rho{rho:g}",
        dim_x=dim_x,
        dim_y=dim_y,
        cov=_paired_cov(dim_x, dim_y, rho),
    )


def independent(dim_x: int, dim_y: int) -> Multinormal:
    """X ~ N(0, I_dx) independent of Y ~ N(0, I_dy): MI = 0 exactly."""
    _checks.check_positive_int("dim_x", dim_x)
    _checks.check_positive_int("dim_y", dim_y)
    return Multinormal(
        name=f"independent-{dim_x}x{dim_y}", dim_x=dim_x, dim_y=dim_y, cov=np.eye(dim_x + dim_y)
    )


# --------------------------------------------------------------------------------------------------
# Multivariate Student-t


def _digamma(x: float) -> float:
    """psi(x) for x > 0 in float64: recurrence up to x >= 8, then the asymptotic series."""
    acc = 0.0
    while x < 8.0:
        acc -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    return acc + math.log(x) - 0.5 / x - series


def _standard_t_entropy_shape_part(dim: int, dof: float) -> float:
    """h(T) - dim/2 log(dof * pi) for T ~ t_dof(0, I_dim): the part that does not cancel in MI.

    h(T) = log G(dof/2) - log G((dof+dim)/2) + dim/2 log(dof pi)
           + (dof+dim)/2 [psi((dof+dim)/2) - psi(dof/2)]      (Arellano-Valle et al. 2013, Eq. 7).
    """
    a, b = 0.5 * dof, 0.5 * (dof + dim)
    return math.lgamma(a) - math.lgamma(b) + b * (_digamma(b) - _digamma(a))


def student_t_mi_correction(dim_x: int, dim_y: int, dof: float) -> float:
    """I(X;Y) of a Student-t minus the Gaussian MI of its dispersion matrix, in nats (>= 0).

    The marginals of t_dof(0, S) are t_dof(0, S_xx) and t_dof(0, S_yy), and h(t_dof(0, S)) =
    h(t_dof(0, I)) + 1/2 log det S, so I = gaussian_mi(S) + h_x + h_y - h_xy with the standard
    entropies; the dim/2 log(dof pi) terms cancel. The correction depends only on
    (dx, dy, dof) and -> 0 as dof -> infinity.
    """
    hx = _standard_t_entropy_shape_part(dim_x, dof)
    hy = _standard_t_entropy_shape_part(dim_y, dof)
    hxy = _standard_t_entropy_shape_part(dim_x + dim_y, dof)
    return hx + hy - hxy


@dataclasses.dataclass(frozen=True, eq=False)
class StudentT:
    """(X, Y) ~ multivariate Student-t with ``dof`` degrees of freedom, zero location, dispersion S.

    Sampled as Z / sqrt(V / dof) with Z ~ N(0, S) and V ~ chi^2_dof, so the covariance is
    dof / (dof - 2) S for dof > 2. MI = gaussian_mi(S) + ``student_t_mi_correction(dx, dy, dof)``.

    Attributes:
      name: a readable label.
      dim_x: dx.
      dim_y: dy.
      dispersion: the dispersion (scale) matrix S [dx + dy, dx + dy] (not the covariance).
      dof: degrees of freedom > 0.
    """

    name: str
    dim_x: int
    dim_y: int
    dispersion: np.ndarray
    dof: float

    def __post_init__(self):
        disp = _checked_cov("dispersion", self.dispersion, self.dim_x)
        if disp.shape[0] != self.dim_x + self.dim_y:
            raise ValueError(
                f"dispersion: expected shape [{self.dim_x + self.dim_y}]*2, got {disp.shape}"
            )
        if isinstance(self.dof, bool) or np.ndim(self.dof) != 0:
            raise ValueError(f"dof: expected a positive number, got {self.dof!r}")
        _checks.check_scalar_range("dof", self.dof, low=0.0, low_inclusive=False)
        object.__setattr__(self, "dispersion", disp)
        object.__setattr__(self, "dof", float(self.dof))
        object.__setattr__(self, "_chol", np.linalg.cholesky(disp))

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draws x [n, dim_x], y [n, dim_y]."""
        n = check_n(n)
        _checks.check_key("key", key)
        dtype = float_dtype()
        key_z, key_v = jax.random.split(key)
        z = jax.random.normal(key_z, (n, self.dim_x + self.dim_y), dtype=dtype)
        z = z @ jnp.asarray(self._chol.T, dtype=dtype)
        v = 2.0 * jax.random.gamma(key_v, 0.5 * self.dof, (n, 1), dtype=dtype)  # chi^2_dof
        return _split_xy(z * jnp.sqrt(self.dof / v), self.dim_x)

    def mutual_information(self) -> float:
        """gaussian_mi(dispersion) + the dof correction, nats."""
        return gaussian_mi_f64(self.dispersion, self.dim_x) + student_t_mi_correction(
            self.dim_x, self.dim_y, self.dof
        )


def student_t(dispersion, dim_x: int, dof: float, *, name: str | None = None) -> StudentT:
    """A multivariate Student-t task.

    Args:
      dispersion: dispersion matrix S [dx + dy, dx + dy], X first, symmetric positive definite.
      dim_x: dx.
      dof: degrees of freedom, > 0 (the covariance exists for dof > 2).
      name: optional label.

    Returns:
      A :class:`StudentT` task. Even with a diagonal S, X and Y are dependent (MI = the
      correction > 0).
    """
    s = _checked_cov("dispersion", dispersion, dim_x)
    dim_y = s.shape[0] - dim_x
    return StudentT(
        name=name or f"student_t-{dim_x}x{dim_y}-dof{float(dof):g}",
        dim_x=dim_x,
        dim_y=dim_y,
        dispersion=s,
        dof=dof,
    )


# --------------------------------------------------------------------------------------------------
# Monotone transforms


def _half_cube(t):
    return t * jnp.sqrt(jnp.abs(t))


#: Strictly increasing maps of one coordinate (applied elementwise): MI is invariant under them.
MONOTONE_MAPS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "identity": lambda t: t,
    "cube": lambda t: t * t * t,
    "half_cube": _half_cube,
    "asinh": jnp.arcsinh,
    "sigmoid": jax.nn.sigmoid,
    "exp": jnp.exp,
}


@dataclasses.dataclass(frozen=True, eq=False)
class Transformed:
    """``base`` with a strictly increasing map applied to every coordinate of X and of Y.

    Attributes:
      name: a readable label.
      base: the untransformed task.
      x_map: key of :data:`MONOTONE_MAPS` applied to each x coordinate.
      y_map: key of :data:`MONOTONE_MAPS` applied to each y coordinate.
    """

    name: str
    base: Task
    x_map: str
    y_map: str

    def __post_init__(self):
        for arg in ("x_map", "y_map"):
            value = getattr(self, arg)
            if value not in MONOTONE_MAPS:
                raise ValueError(
                    f"{arg}: unknown map {value!r}; choose from {sorted(MONOTONE_MAPS)}"
                )

    @property
    def dim_x(self) -> int:
        return self.base.dim_x

    @property
    def dim_y(self) -> int:
        return self.base.dim_y

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draws x [n, dim_x], y [n, dim_y]."""
        x, y = self.base.sample(key=key, n=n)
        return MONOTONE_MAPS[self.x_map](x), MONOTONE_MAPS[self.y_map](y)

    def mutual_information(self) -> float:
        """Equal to the base task's MI (invertible coordinate-wise maps preserve MI)."""
        return self.base.mutual_information()


def transformed(task: Task, *, x_map: str = "cube", y_map: str = "asinh") -> Transformed:
    """The same task under MI-preserving strictly monotone maps of each coordinate.

    Args:
      task: any task.
      x_map: name of the map for X's coordinates, one of :data:`MONOTONE_MAPS`
        (identity, cube, half_cube, asinh, sigmoid, exp).
      y_map: the same for Y.

    Returns:
      A :class:`Transformed` task with the MI of ``task``. Note that ``sigmoid`` and ``exp``
      saturate in float32 far in the tails (ties), which heavy-tailed bases can reach.
    """
    check_task("task", task)
    return Transformed(name=f"{task.name}|{x_map},{y_map}", base=task, x_map=x_map, y_map=y_map)


# --------------------------------------------------------------------------------------------------
# Orthogonal embedding into more dimensions


@dataclasses.dataclass(frozen=True, eq=False)
class Embedded:
    """x = Q_x [x_low; e_x], y = Q_y [y_low; e_y] with independent N(0, 1) noise e and orthogonal Q.

    Attributes:
      name: a readable label.
      base: the low-dimensional task.
      dim_x: dx >= base.dim_x.
      dim_y: dy >= base.dim_y.
      q_x: orthogonal [dx, dx].
      q_y: orthogonal [dy, dy].
    """

    name: str
    base: Task
    dim_x: int
    dim_y: int
    q_x: np.ndarray
    q_y: np.ndarray

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draws x [n, dim_x], y [n, dim_y]."""
        n = check_n(n)
        _checks.check_key("key", key)
        key_base, key_ex, key_ey = jax.random.split(key, 3)
        x_low, y_low = self.base.sample(key=key_base, n=n)
        dtype = x_low.dtype
        ex = jax.random.normal(key_ex, (n, self.dim_x - self.base.dim_x), dtype=dtype)
        ey = jax.random.normal(key_ey, (n, self.dim_y - self.base.dim_y), dtype=dtype)
        x = jnp.concatenate([x_low, ex], axis=1) @ jnp.asarray(self.q_x.T, dtype=dtype)
        y = jnp.concatenate([y_low, ey], axis=1) @ jnp.asarray(self.q_y.T, dtype=dtype)
        return x, y

    def mutual_information(self) -> float:
        """Equal to the base task's MI (independent noise and invertible linear maps keep MI)."""
        return self.base.mutual_information()


def embedded(task: Task, dim_x: int, dim_y: int, *, key: jax.Array) -> Embedded:
    """Embeds a low-dimensional task into dx + dy dimensions without changing its MI.

    Args:
      task: the low-dimensional task.
      dim_x: dx >= task.dim_x.
      dim_y: dy >= task.dim_y.
      key: PRNG key for the two random orthogonal matrices (fixed for the task's lifetime).

    Returns:
      An :class:`Embedded` task whose MI lives in task.dim_x + task.dim_y directions.
    """
    check_task("task", task)
    for arg, value, low in (("dim_x", dim_x, task.dim_x), ("dim_y", dim_y, task.dim_y)):
        _checks.check_positive_int(arg, value)
        if value < low:
            raise ValueError(f"{arg}: must be >= the base task's {arg} ({low}), got {value}")
    key_x, key_y = jax.random.split(key)
    return Embedded(
        name=f"{task.name}->embedded-{dim_x}x{dim_y}",
        base=task,
        dim_x=dim_x,
        dim_y=dim_y,
        q_x=random_orthogonal(key_x, dim_x),
        q_y=random_orthogonal(key_y, dim_y),
    )
