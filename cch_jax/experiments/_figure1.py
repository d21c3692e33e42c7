"""Figure 1: the student's risk with and without KD across the MI gap, theory against simulation.

The data are the one-parameter Gaussian family of theory/derivation.md ("A one-parameter family"):
x2 ~ N(0, I_d), y = s + e with s = x2[:, 0] (w* = e_1) and e ~ N(0, sigma2), teacher t = a s + b e.
Each simulated student is fitted on n rows by a *solver* and scored by its exact population risk
    R(w) = E[(y - w^T x2)^2] = sigma2 + |w - w*|^2,
so the only randomness is the training sample (no test-set noise). The whole simulation, every
seed x gap value x KD weight, is one jit-compiled program.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from cch_jax import _checks, theory

# solver(x2 [n, d], y [n], t [n], mus [m]) -> student weights [m, d] minimising, for each mu,
# (1 - mu) |y - x2 w|^2 + mu |t - x2 w|^2. Pure JAX; vmapped by the caller over seeds and gaps.
Solver = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def lstsq_solver(x2: jax.Array, y: jax.Array, t: jax.Array, mus: jax.Array) -> jax.Array:
    """Closed-form KD students: w(mu) = (X2^T X2)^{-1} X2^T [(1 - mu) y + mu t] for each mu.

    The target is linear in mu, so one Cholesky solve with the two right-hand sides y and t gives
    every mu exactly: w(mu) = (1 - mu) w_y + mu w_t.

    Args:
      x2: student inputs, [n, d] (n > d).
      y: labels, [n].
      t: teacher predictions, [n].
      mus: KD weights in [0, 1], [m].

    Returns:
      Student weights, [m, d].
    """
    chol = jsl.cho_factor(x2.T @ x2, lower=True)
    w_y, w_t = jsl.cho_solve(chol, x2.T @ jnp.stack([y, t], axis=1)).T
    return (1.0 - mus)[:, None] * w_y[None, :] + mus[:, None] * w_t[None, :]


def trainer_solver(x2: jax.Array, y: jax.Array, t: jax.Array, mus: jax.Array) -> jax.Array:
    """KD students trained by full-batch heavy-ball gradient descent with cch_jax.kd's trainer.

    Same interface and minimiser as :func:`lstsq_solver`; see ``cch_jax/kd/_linear.py``.
    """
    from cch_jax.kd._linear import trainer_solver as solve  # flax/optax load only when chosen

    return solve(x2, y, t, mus)


SOLVERS: dict[str, Solver] = {"lstsq": lstsq_solver, "trainer": trainer_solver}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figure1Config:
    """Settings of Figure 1 (defaults: the paper's synthetic setting as theory.md adopts it).

    Attributes:
      n: training rows per student.
      d: student input dimension; alpha = n / d must exceed 1 (n > d + 1).
      sigma2: label noise variance (the student's Bayes risk), > 0.
      seeds: independent training samples per gap value.
      num_gaps: number of MI-gap values on the x axis.
      gap_max: largest MI gap in nats; the smallest is the family's minimum (teacher a = 0).
      mu: KD weight of panel (a), in [0, 1].
      num_mus: KD weights of panel (b)'s simulation grid, evenly spaced over [0, 1].
      seed: master seed for jax.random.key.
      solver: name in SOLVERS.
    """

    n: int = 300
    d: int = 100
    sigma2: float = 1.0
    seeds: int = 50
    num_gaps: int = 41
    gap_max: float = 1.0
    mu: float = 0.5
    num_mus: int = 11
    seed: int = 0
    solver: str = "lstsq"

    def __post_init__(self):
        _checks.check_positive_int("d", self.d)
        _checks.check_positive_int("n", self.n)
        if self.n <= self.d + 1:
            raise ValueError(f"n: must exceed d + 1 = {self.d + 1} (alpha = n/d > 1), got {self.n}")
        _checks.check_scalar_range("sigma2", self.sigma2, low=0.0, low_inclusive=False)
        _checks.check_positive_int("seeds", self.seeds, minimum=2)
        _checks.check_positive_int("num_gaps", self.num_gaps, minimum=2)
        _checks.check_positive_int("num_mus", self.num_mus, minimum=2)
        _checks.check_scalar_range("mu", self.mu, low=0.0, high=1.0)
        min_gap = float(theory.family_min_gap(self.sigma2))
        _checks.check_scalar_range("gap_max", self.gap_max, low=min_gap, low_inclusive=False)
        _checks.check_positive_int("seed", self.seed, minimum=0)
        if self.solver not in SOLVERS:
            raise ValueError(f"solver: unknown solver {self.solver!r}; known: {sorted(SOLVERS)}")

    @property
    def alpha(self) -> float:
        return self.n / self.d

    def gaps(self) -> np.ndarray:
        """The MI gaps of the x axis, nats, [num_gaps]: from the family's minimum to gap_max."""
        return np.linspace(float(theory.family_min_gap(self.sigma2)), self.gap_max, self.num_gaps)

    def mus(self) -> np.ndarray:
        """The KD weights simulated, [num_mus (+1)]: an even grid over [0, 1], plus ``mu``."""
        return np.unique(np.append(np.linspace(0.0, 1.0, self.num_mus), self.mu))


class Draws(NamedTuple):
    """The random part of the simulation: x2 [seeds, n, d] and standard-normal noise z [seeds, n]."""

    x2: jax.Array
    z: jax.Array


def draw(key: jax.Array, *, seeds: int, n: int, d: int, dtype=None) -> Draws:
    """Draws the training inputs and label noise of every seed; shared by all gap values."""
    dtype = dtype or jnp.result_type(float)
    k_x, k_z = jax.random.split(key)
    return Draws(
        x2=jax.random.normal(k_x, (seeds, n, d), dtype),
        z=jax.random.normal(k_z, (seeds, n), dtype),
    )


def _simulate_risks(
    draws: Draws, a: jax.Array, mus: jax.Array, sigma2, solver: Solver
) -> jax.Array:
    """Population risk of every simulated student.

    Args:
      draws: x2 [S, n, d] and z [S, n] (:func:`draw`).
      a: teacher weights of the family, one per gap value, [G].
      mus: KD weights, [M].
      sigma2: label noise variance, [].
      solver: see :data:`Solver`.

    Returns:
      R(w) = sigma2 + |w - e_1|^2 for each seed, gap and mu, [S, G, M].
    """
    b = theory.family_b(a, sigma2)
    noise_scale = jnp.sqrt(sigma2)

    def one_seed(x2, z):
        s, e = x2[:, 0], noise_scale * z
        y = s + e

        def one_gap(a_g, b_g):
            w = solver(x2, y, a_g * s + b_g * e, mus)  # [M, d]
            err = w.at[:, 0].add(-1.0)
            return sigma2 + jnp.sum(err**2, axis=-1)

        return jax.vmap(one_gap)(a, b)

    return jax.vmap(one_seed)(draws.x2, draws.z)


simulate_risks = jax.jit(_simulate_risks, static_argnames="solver")


class Figure1Result(NamedTuple):
    """Everything Figure 1 shows. Risks are mean squared errors; gaps are nats.

    Attributes:
      gaps: [G]; a: teacher weight per gap, [G]; mus: simulated KD weights, [M].
      risks: simulated population risks, [S, G, M].
      theory_asym: R(mu) with f = 1/(alpha - 1), [G, M].
      theory_exact: R(mu) with f = d/(n - d - 1), [G, M].
      fine_gaps: [G'] and fine_mus: [M'], a fine grid for panel (b).
      fine_benefit: R0 - R(mu) on the fine grid (asymptotic f; > 0 where KD helps), [G', M'].
      fine_mu0: the window edge mu0 at each fine gap (asymptotic f), [G'].
      fine_alphas: sample-to-dimension ratios n/d for panel (c), [A].
      alpha_benefit: R0 - R(mu) at the config's mu over (fine gap, alpha), asymptotic f, [G', A].
    """

    gaps: np.ndarray
    a: np.ndarray
    mus: np.ndarray
    risks: np.ndarray
    theory_asym: np.ndarray
    theory_exact: np.ndarray
    fine_gaps: np.ndarray
    fine_mus: np.ndarray
    fine_benefit: np.ndarray
    fine_mu0: np.ndarray
    fine_alphas: np.ndarray
    alpha_benefit: np.ndarray


def theory_risks(gaps, mus, *, sigma2, f) -> jax.Array:
    """R(mu) of the family at each gap (rows) and mu (columns), [G, M] (arguments not validated)."""
    m = theory.family_moments(theory.family_a(jnp.asarray(gaps), sigma2), sigma2)
    m = theory.Moments(*(v[:, None] for v in m))
    return theory.risk(m, jnp.asarray(mus)[None, :], f)


@functools.partial(jax.jit, static_argnames=("seeds", "n", "d", "solver"))
def _program(
    key,
    gaps,
    mus,
    fine_gaps,
    fine_mus,
    fine_alphas,
    mu,
    sigma2,
    f_asym,
    f_exact,
    *,
    seeds,
    n,
    d,
    solver,
):
    """Figure 1 as one compiled program: the simulation and every theory curve."""
    a = theory.family_a(gaps, sigma2)
    risks = _simulate_risks(draw(key, seeds=seeds, n=n, d=d), a, mus, sigma2, solver)
    fine_risk = theory_risks(fine_gaps, fine_mus, sigma2=sigma2, f=f_asym)
    fine_m = theory.family_moments(theory.family_a(fine_gaps, sigma2), sigma2)
    return dict(
        a=a,
        risks=risks,
        theory_asym=theory_risks(gaps, mus, sigma2=sigma2, f=f_asym),
        theory_exact=theory_risks(gaps, mus, sigma2=sigma2, f=f_exact),
        fine_benefit=fine_risk[:, :1] - fine_risk,
        fine_mu0=theory.kd_window(fine_m, f_asym),
        alpha_benefit=jax.vmap(
            lambda f: theory.risk0(fine_m, f) - theory.risk(fine_m, mu, f), out_axes=1
        )(1.0 / (fine_alphas - 1.0)),
    )


def run(
    config: Figure1Config, *, fine_gaps: int = 200, fine_mus: int = 101, fine_alphas: int = 120
) -> Figure1Result:
    """Runs the Figure-1 simulation and evaluates the formula on the same grid and a fine grid."""
    gaps, mus = config.gaps(), config.mus()
    grid = dict(
        fine_gaps=np.linspace(gaps[0], gaps[-1], fine_gaps),
        fine_mus=np.linspace(0.0, 1.0, fine_mus),
        fine_alphas=np.geomspace(1.1, 1000.0, fine_alphas),
    )
    dtype = jnp.result_type(float)
    # The "rbg" key (XLA's RngBitGenerator) compiles ~1 s faster than threefry on CPU here; its
    # streams are reproducible for a given backend and JAX version.
    out = _program(
        jax.random.key(config.seed, impl="rbg"),
        *(np.asarray(v, dtype) for v in (gaps, mus, *grid.values())),
        np.asarray(config.mu, dtype),
        np.asarray(config.sigma2, dtype),
        np.asarray(1.0 / (config.alpha - 1.0), dtype),  # theory.asymptotic_f
        np.asarray(config.d / (config.n - config.d - 1.0), dtype),  # theory.finite_f
        seeds=config.seeds,
        n=config.n,
        d=config.d,
        solver=SOLVERS[config.solver],
    )
    return Figure1Result(gaps=gaps, mus=mus, **grid, **{k: np.asarray(v) for k, v in out.items()})


CSV_COLUMNS = (
    "gap",
    "a",
    "mse_kd_theory",
    "mse_nokd_theory",
    "mse_kd_theory_exact",
    "mse_nokd_theory_exact",
    "mse_kd_sim_mean",
    "mse_kd_sim_std",
    "mse_nokd_sim_mean",
    "mse_nokd_sim_std",
    "kd_benefit_sim_mean",
    "kd_benefit_sim_se",
)


def table(result: Figure1Result, mu: float) -> dict[str, np.ndarray]:
    """Panel (a) as columns (one row per gap): theory and simulation mean/std over seeds at ``mu``.

    ``kd_benefit_sim_*`` is R0 - R(mu) paired by seed (positive: KD helps), mean and standard error.
    """
    j = int(np.argmin(np.abs(result.mus - mu)))
    j0 = int(np.argmin(result.mus))
    kd, nokd = result.risks[:, :, j], result.risks[:, :, j0]
    benefit = nokd - kd
    seeds = result.risks.shape[0]
    return {
        "gap": result.gaps,
        "a": result.a,
        "mse_kd_theory": result.theory_asym[:, j],
        "mse_nokd_theory": result.theory_asym[:, j0],
        "mse_kd_theory_exact": result.theory_exact[:, j],
        "mse_nokd_theory_exact": result.theory_exact[:, j0],
        "mse_kd_sim_mean": kd.mean(0),
        "mse_kd_sim_std": kd.std(0, ddof=1),
        "mse_nokd_sim_mean": nokd.mean(0),
        "mse_nokd_sim_std": nokd.std(0, ddof=1),
        "kd_benefit_sim_mean": benefit.mean(0),
        "kd_benefit_sim_se": benefit.std(0, ddof=1) / np.sqrt(seeds),
    }


def agreement(result: Figure1Result, *, z: float = 2.0) -> np.ndarray:
    """Panel (b): does the simulation agree with the formula on whether KD helps, per (gap, mu)?

    Compares the sign of the exact-f formula's R(mu) - R0 with the seed-paired simulated difference.

    Returns:
      int array [G, M]: 1 agree, -1 disagree (simulated difference > z standard errors with the
      other sign), 0 inconclusive (within z standard errors of zero); mu = 0 columns are 0.
    """
    j0 = int(np.argmin(result.mus))
    diff = result.risks - result.risks[:, :, j0 : j0 + 1]
    mean = diff.mean(0)
    se = diff.std(0, ddof=1) / np.sqrt(diff.shape[0])
    theory_sign = np.sign(result.theory_exact - result.theory_exact[:, j0 : j0 + 1])
    significant = np.abs(mean) > z * np.maximum(se, 1e-12)
    out = np.where(np.sign(mean) == theory_sign, 1, -1)
    return np.where(significant, out, 0)
