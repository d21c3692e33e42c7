"""Known-answer tasks with class labels: continuous H with labels Y (:class:`MixtureLabels`) and
teacher/student/label triples with a known CCH gap (:class:`CCHTriple`), in nats.

Used by ``cch check`` (cch_jax.criterion) and its coverage benchmark. The class information lives
in one direction u of H: Y is uniform on C classes and u | Y = c ~ N(separation * (c - (C-1)/2), 1).
I(u; Y) is a one-dimensional integral, computed once in float64 by the trapezoid rule on 2^16
points over [min mean - 12, max mean + 12] (the integrand is smooth and decays like a Gaussian,
so the rule converges geometrically: halving the step changes the value by < 1e-12 nats).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.mi._tasks_common import check_n, float_dtype, gaussian_mi_f64, random_orthogonal


def _class_means(num_classes: int, separation: float) -> np.ndarray:
    return separation * (np.arange(num_classes, dtype=np.float64) - 0.5 * (num_classes - 1))


def mixture_label_mi(num_classes: int, separation: float, *, points: int = 1 << 16) -> float:
    """I(u; Y) in nats for Y uniform on C classes and u | Y = c ~ N(separation * (c - (C-1)/2), 1).

    Computed by the trapezoid rule on ``points`` points over [min mean - 12, max mean + 12]
    (float64; error < 1e-12 nats at the default, checked by halving the step).

    Args:
      num_classes: C >= 2.
      separation: distance between neighbouring class means, in noise standard deviations (>= 0).
      points: quadrature points.

    Returns:
      I(u; Y) in nats, between 0 and log C.
    """
    _checks.check_positive_int("num_classes", num_classes, minimum=2)
    _checks.check_scalar_range("separation", separation, low=0.0)
    means = _class_means(num_classes, float(separation))
    grid = np.linspace(means[0] - 12.0, means[-1] + 12.0, points)
    logp = -0.5 * np.square(grid[None, :] - means[:, None]) - 0.5 * math.log(2 * math.pi)  # [C, G]
    log_mix = np.logaddexp.reduce(logp, axis=0) - math.log(num_classes)
    integrand = np.mean(np.exp(logp) * (logp - log_mix[None, :]), axis=0)  # sum_c p(c) p(u|c) log..
    return float(np.trapezoid(integrand, grid))


def _embed_dims(name: str, dim: int, low: int) -> int:
    _checks.check_positive_int(name, dim)
    if dim < low:
        raise ValueError(f"{name}: must be >= {low} (the informative coordinates), got {dim}")
    return int(dim)


@dataclasses.dataclass(frozen=True, eq=False)
class MixtureLabels:
    """Continuous H [n, dim] and class labels Y [n] with I(H; Y) known to quadrature precision.

    H = Q [u, noise_scale * e] with u | Y = c ~ N(separation * (c - (C-1)/2), 1), e ~ N(0, I_{dim-1})
    independent of everything and Q a fixed random orthogonal matrix (which leaves MI unchanged).

    Attributes:
      name: a readable label.
      num_classes: C.
      separation: distance between neighbouring class means (noise sds).
      dim: columns of H.
      noise_scale: standard deviation of the uninformative coordinates before the rotation.
      q: orthogonal [dim, dim].
    """

    name: str
    num_classes: int
    separation: float
    dim: int
    noise_scale: float
    q: np.ndarray

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draws h [n, dim] (float) and labels [n] (int32, uniform on 0..C-1)."""
        n = check_n(n)
        _checks.check_key("key", key)
        dtype = float_dtype()
        k_y, k_u, k_e = jax.random.split(key, 3)
        labels = jax.random.randint(k_y, (n,), 0, self.num_classes)
        means = jnp.asarray(_class_means(self.num_classes, self.separation), dtype)
        u = means[labels] + jax.random.normal(k_u, (n,), dtype)
        e = self.noise_scale * jax.random.normal(k_e, (n, self.dim - 1), dtype)
        h = jnp.concatenate([u[:, None], e], axis=1) @ jnp.asarray(self.q.T, dtype)
        return h, labels.astype(jnp.int32)

    def mutual_information(self) -> float:
        """I(H; Y) = I(u; Y) in nats (:func:`mixture_label_mi`)."""
        return mixture_label_mi(self.num_classes, self.separation)


def mixture_labels(
    num_classes: int = 4,
    separation: float = 2.0,
    dim: int = 8,
    *,
    noise_scale: float = 0.5,
    key: jax.Array | None = None,
) -> MixtureLabels:
    """A label task: Gaussian-mixture classes along one direction of a ``dim``-dimensional H.

    Args:
      num_classes: C >= 2 (uniform class probabilities).
      separation: distance between neighbouring class means in noise sds (2.0 with C = 4 gives
        I = 0.8452 nats of log 4 = 1.386).
      dim: columns of H (>= 1); the other ``dim - 1`` are independent noise.
      noise_scale: sd of the uninformative coordinates (0.5: smaller than the informative one, as
        in learned representations, so that PCA keeps the informative direction).
      key: PRNG key for the rotation (default ``jax.random.key(0)``).

    Returns:
      A :class:`MixtureLabels` task: ``sample(key=key, n=n) -> (h [n, dim], labels [n])`` and
      ``mutual_information()``.
    """
    _checks.check_positive_int("num_classes", num_classes, minimum=2)
    _checks.check_scalar_range("separation", separation, low=0.0)
    dim = _embed_dims("dim", dim, 1)
    _checks.check_scalar_range("noise_scale", noise_scale, low=0.0, low_inclusive=False)
    key = jax.random.key(0) if key is None else key
    return MixtureLabels(
        name=f"mixture-labels-C{num_classes}-sep{float(separation):g}-d{dim}",
        num_classes=int(num_classes),
        separation=float(separation),
        dim=dim,
        noise_scale=float(noise_scale),
        q=random_orthogonal(key, dim),
    )


@dataclasses.dataclass(frozen=True, eq=False)
class CCHTriple:
    """Teacher H_t, student H_s and target Y with known I(H_t; H_s), I(H_s; Y) and CCH gap.

    The student is H_s = Q_s [u, v, noise_scale * e_s]: u carries all the information about Y, and
    v ~ N(0, I_r) (r = ``shared_dims``) is independent of (u, Y). The teacher is
    H_t = Q_t [rho * v + sqrt(1 - rho^2) w, noise_scale * e_t] with w ~ N(0, I_r): it shares only v
    with the student and is independent of Y, so I(H_t; H_s) = I(H_t; v) = -r/2 log(1 - rho^2)
    (``theory.correlation_mi``) and I(H_s; Y) = I(u; Y).

    - ``target="classes"``: Y uniform on C classes and u | Y = c ~ N(separation (c - (C-1)/2), 1);
      I(u; Y) by quadrature (:func:`mixture_label_mi`). Labels are int32 [n].
    - ``target="continuous"``: (u, Y) standard bivariate normal with correlation ``label_rho``;
      I(u; Y) = -1/2 log(1 - label_rho^2) (``theory.gaussian_mi``). Y is float [n].

    The gap I(H_t; H_s) - I(H_s; Y) is positive when the CCH holds.

    Attributes:
      name: the task's name.
      target: ``"classes"`` or ``"continuous"``.
      dim_teacher: columns of H_t.
      dim_student: columns of H_s.
      shared_dims: Gaussian directions shared by teacher and student.
      rho: correlation of each shared direction.
      num_classes: classes of the labels (``target="classes"``).
      separation: distance between neighbouring class means along u (noise sds).
      label_rho: correlation of u and the continuous label (``target="continuous"``).
      noise_scale: sd of the uninformative coordinates before the rotation.
      q_t: ``[dim_teacher, dim_teacher]`` random rotation of the teacher.
      q_s: ``[dim_student, dim_student]`` random rotation of the student.
    """

    name: str
    target: str
    dim_teacher: int
    dim_student: int
    shared_dims: int
    rho: float
    num_classes: int
    separation: float
    label_rho: float
    noise_scale: float
    q_t: np.ndarray
    q_s: np.ndarray

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Draws teacher [n, dim_teacher], student [n, dim_student] and labels [n]."""
        n = check_n(n)
        _checks.check_key("key", key)
        dtype = float_dtype()
        k_y, k_u, k_v, k_w, k_es, k_et = jax.random.split(key, 6)
        r = self.shared_dims
        if self.target == "classes":
            labels = jax.random.randint(k_y, (n,), 0, self.num_classes).astype(jnp.int32)
            means = jnp.asarray(_class_means(self.num_classes, self.separation), dtype)
            u = means[labels] + jax.random.normal(k_u, (n,), dtype)
        else:
            labels = jax.random.normal(k_y, (n,), dtype)
            c = self.label_rho
            u = c * labels + math.sqrt(1.0 - c * c) * jax.random.normal(k_u, (n,), dtype)
        v = jax.random.normal(k_v, (n, r), dtype)
        w = jax.random.normal(k_w, (n, r), dtype)
        t_low = self.rho * v + math.sqrt(1.0 - self.rho**2) * w
        e_s = self.noise_scale * jax.random.normal(k_es, (n, self.dim_student - 1 - r), dtype)
        e_t = self.noise_scale * jax.random.normal(k_et, (n, self.dim_teacher - r), dtype)
        student = jnp.concatenate([u[:, None], v, e_s], axis=1) @ jnp.asarray(self.q_s.T, dtype)
        teacher = jnp.concatenate([t_low, e_t], axis=1) @ jnp.asarray(self.q_t.T, dtype)
        return teacher, student, labels

    def mi_teacher_student(self) -> float:
        """I(H_t; H_s) = -r/2 log(1 - rho^2), nats (exact)."""
        return -0.5 * self.shared_dims * math.log1p(-(self.rho**2))

    def mi_student_label(self) -> float:
        """I(H_s; Y) = I(u; Y), nats (quadrature for classes, closed form for continuous)."""
        if self.target == "classes":
            return mixture_label_mi(self.num_classes, self.separation)
        cov = np.array([[1.0, self.label_rho], [self.label_rho, 1.0]])
        return gaussian_mi_f64(cov, 1)

    def gap(self) -> float:
        """I(H_t; H_s) - I(H_s; Y), nats: > 0 when the CCH holds."""
        return self.mi_teacher_student() - self.mi_student_label()


def cch_triple(
    gap: float,
    *,
    target: str = "classes",
    dim_teacher: int = 16,
    dim_student: int = 16,
    shared_dims: int = 2,
    num_classes: int = 4,
    separation: float = 2.0,
    label_rho: float = 0.8,
    noise_scale: float = 0.5,
    key: jax.Array | None = None,
) -> CCHTriple:
    """A teacher/student/target triple whose CCH gap I(H_t; H_s) - I(H_s; Y) equals ``gap`` nats.

    The label term is fixed by ``separation`` (classes) or ``label_rho`` (continuous); the teacher's
    correlation rho is solved so that -r/2 log(1 - rho^2) = I(H_s; Y) + gap exactly.

    Args:
      gap: the wanted gap in nats; I(H_s; Y) + gap must be > 0.
      target: ``"classes"`` or ``"continuous"``.
      dim_teacher: columns of H_t (>= shared_dims).
      dim_student: columns of H_s (>= shared_dims + 1).
      shared_dims: r, the directions the teacher shares with the student.
      num_classes: C (classes).
      separation: distance between neighbouring class means (classes); 2.0 with C = 4: 0.8452 nats.
      label_rho: correlation of u with Y (continuous); 0.8 gives 0.5108 nats.
      noise_scale: sd of the uninformative coordinates before the rotations.
      key: PRNG key for the two rotations (default ``jax.random.key(0)``).

    Returns:
      A :class:`CCHTriple`.
    """
    if target not in ("classes", "continuous"):
        raise ValueError(f"target: expected 'classes' or 'continuous', got {target!r}")
    r = _checks.check_positive_int("shared_dims", shared_dims)
    dim_teacher = _embed_dims("dim_teacher", dim_teacher, r)
    dim_student = _embed_dims("dim_student", dim_student, r + 1)
    _checks.check_positive_int("num_classes", num_classes, minimum=2)
    _checks.check_scalar_range("separation", separation, low=0.0)
    _checks.check_scalar_range(
        "label_rho", label_rho, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    _checks.check_scalar_range("noise_scale", noise_scale, low=0.0, low_inclusive=False)
    _checks.check_scalar_range("gap", gap)
    if target == "classes":
        label_mi = mixture_label_mi(num_classes, separation)
    else:
        label_mi = -0.5 * math.log1p(-(float(label_rho) ** 2))
    target_mi = label_mi + float(gap)
    if target_mi <= 0:
        raise ValueError(f"gap: I(H_s; Y) + gap must be > 0, got {label_mi:.4f} + {gap}")
    rho = math.sqrt(-math.expm1(-2.0 * target_mi / r))
    key = jax.random.key(0) if key is None else key
    k_t, k_s = jax.random.split(key)
    return CCHTriple(
        name=f"cch-triple-{target}-gap{float(gap):+g}",
        target=target,
        dim_teacher=dim_teacher,
        dim_student=dim_student,
        shared_dims=r,
        rho=rho,
        num_classes=int(num_classes),
        separation=float(separation),
        label_rho=float(label_rho),
        noise_scale=float(noise_scale),
        q_t=random_orthogonal(k_t, dim_teacher),
        q_s=random_orthogonal(k_s, dim_student),
    )
