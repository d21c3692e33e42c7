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

# solver(x2 [n, d], y [n], t [n], kd_weights [m]) -> student weights [m, d] minimising, for each
# kd_weight mu, (1 - mu) |y - x2 w|^2 + mu |t - x2 w|^2. Pure JAX; vmapped by the caller over seeds
# and gaps.
Solver = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def lstsq_solver(x2: jax.Array, y: jax.Array, t: jax.Array, kd_weights: jax.Array) -> jax.Array:
    """Closed-form KD students: w(mu) = (X2^T X2)^{-1} X2^T [(1 - mu) y + mu t], mu = kd_weight.

    The target is linear in mu, so one Cholesky solve with the two right-hand sides y and t gives
    every mu exactly: w(mu) = (1 - mu) w_y + mu w_t.

    Args:
      x2: student inputs, [n, d] (n > d).
      y: labels, [n].
      t: teacher predictions, [n].
      kd_weights: KD weights in [0, 1], [m].

    Returns:
      Student weights, [m, d].
    """
    chol = jsl.cho_factor(x2.T @ x2, lower=True)
    w_y, w_t = jsl.cho_solve(chol, x2.T @ jnp.stack([y, t], axis=1)).T
    return (1.0 - kd_weights)[:, None] * w_y[None, :] + kd_weights[:, None] * w_t[None, :]


def trainer_solver(x2: jax.Array, y: jax.Array, t: jax.Array, kd_weights: jax.Array) -> jax.Array:
    """KD students trained by full-batch heavy-ball gradient descent with cch_jax.kd's trainer.

    Same interface and minimiser as :func:`lstsq_solver`: :func:`cch_jax.kd.linear_trainer_solver`.

    Args:
      x2: student inputs, [n, d] (n > d).
      y: labels, [n].
      t: teacher predictions, [n].
      kd_weights: KD weights in [0, 1], [m].

    Returns:
      Student weights, [m, d].
    """
    from cch_jax import kd  # flax/optax load only when this solver is chosen

    return kd.linear_trainer_solver(x2, y, t, kd_weights)


SOLVERS: dict[str, Solver] = {"lstsq": lstsq_solver, "trainer": trainer_solver}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figure1Config:
    """Settings of Figure 1 (defaults: the paper's synthetic setting as theory.md adopts it).

    Attributes:
      n: training rows per student.
      d: student input dimension; alpha = n / d must exceed 1 (n > d + 1).
      sigma2: label noise variance (the student's Bayes risk), > 0.
      num_seeds: independent training samples per gap value (seeds 0..num_seeds-1 of the key).
      num_gaps: number of MI-gap values on the x axis.
      gap_max: largest MI gap in nats; the smallest is the family's minimum (teacher a = 0).
      kd_weight: KD weight of panel (a), in [0, 1].
      num_kd_weights: KD weights of panel (b)'s simulation grid, evenly spaced over [0, 1].
      seed: master seed for jax.random.key.
      solver: name in SOLVERS.
    """

    n: int = 300
    d: int = 100
    sigma2: float = 1.0
    num_seeds: int = 50
    num_gaps: int = 41
    gap_max: float = 1.0
    kd_weight: float = 0.5
    num_kd_weights: int = 11
    seed: int = 0
    solver: str = "lstsq"

    def __post_init__(self):
        _checks.check_int("d", self.d, minimum=1)
        _checks.check_int("n", self.n, minimum=1)
        if self.n <= self.d + 1:
            raise ValueError(f"n: must exceed d + 1 = {self.d + 1} (alpha = n/d > 1), got {self.n}")
        _checks.check_real("sigma2", self.sigma2, low=0.0, low_open=True)
        _checks.check_int("num_seeds", self.num_seeds, minimum=2)
        _checks.check_int("num_gaps", self.num_gaps, minimum=2)
        _checks.check_int("num_kd_weights", self.num_kd_weights, minimum=2)
        _checks.check_real("kd_weight", self.kd_weight, low=0.0, high=1.0)
        min_gap = float(theory.family_min_gap(self.sigma2))
        _checks.check_real("gap_max", self.gap_max, low=min_gap, low_open=True)
        _checks.check_int("seed", self.seed, minimum=0)
        _checks.check_choice("solver", self.solver, tuple(SOLVERS))

    @property
    def alpha(self) -> float:
        return self.n / self.d

    def gaps(self) -> np.ndarray:
        """The MI gaps of the x axis, nats, [num_gaps]: from the family's minimum to gap_max."""
        return np.linspace(float(theory.family_min_gap(self.sigma2)), self.gap_max, self.num_gaps)

    def kd_weights(self) -> np.ndarray:
        """The KD weights simulated, [num_kd_weights (+1)]: an even grid over [0, 1] plus
        ``kd_weight``."""
        return np.unique(np.append(np.linspace(0.0, 1.0, self.num_kd_weights), self.kd_weight))


class Draws(NamedTuple):
    """The random part of the simulation: x2 [S, n, d] and standard-normal noise z [S, n]."""

    x2: jax.Array
    z: jax.Array


def draw(*, key: jax.Array, num_seeds: int, n: int, d: int, dtype=None) -> Draws:
    """Draws the training inputs and label noise of every seed; shared by all gap values.

    Args:
      key: a ``jax.random.key`` (keyword-only).
      num_seeds: training samples S (static).
      n: rows per sample (static).
      d: student dimension (static).
      dtype: float dtype (default: JAX's default float).

    Returns:
      :class:`Draws` with x2 [S, n, d] and z [S, n].
    """
    dtype = dtype or jnp.result_type(float)
    k_x, k_z = jax.random.split(key)
    return Draws(
        x2=jax.random.normal(k_x, (num_seeds, n, d), dtype),
        z=jax.random.normal(k_z, (num_seeds, n), dtype),
    )


def _simulate_risks(
    draws: Draws, a: jax.Array, kd_weights: jax.Array, sigma2, solver: Solver
) -> jax.Array:
    """Population risk of every simulated student.

    Args:
      draws: x2 [S, n, d] and z [S, n] (:func:`draw`).
      a: teacher weights of the family, one per gap value, [G].
      kd_weights: KD weights, [M].
      sigma2: label noise variance, [].
      solver: see :data:`Solver`.

    Returns:
      R(w) = sigma2 + |w - e_1|^2 for each seed, gap and kd_weight, [S, G, M].
    """
    b = theory.family_b(a, sigma2)
    noise_scale = jnp.sqrt(sigma2)

    def one_seed(x2, z):
        s, e = x2[:, 0], noise_scale * z
        y = s + e

        def one_gap(a_g, b_g):
            w = solver(x2, y, a_g * s + b_g * e, kd_weights)  # [M, d]
            err = w.at[:, 0].add(-1.0)
            return sigma2 + jnp.sum(err**2, axis=-1)

        return jax.vmap(one_gap)(a, b)

    return jax.vmap(one_seed)(draws.x2, draws.z)


simulate_risks = jax.jit(_simulate_risks, static_argnames="solver")


class Figure1Result(NamedTuple):
    """Everything Figure 1 shows. Risks are mean squared errors; gaps are nats.

    Attributes:
      gaps: [G]; a: teacher weight per gap, [G]; kd_weights: simulated KD weights, [M].
      risks: simulated population risks, [S, G, M].
      theory_asym: R(kd_weight) with f = 1/(alpha - 1), [G, M].
      theory_exact: R(kd_weight) with f = d/(n - d - 1), [G, M].
      fine_gaps: [G'] and fine_kd_weights: [M'], a fine grid for panel (b).
      fine_benefit: R0 - R(kd_weight) on the fine grid (asymptotic f; > 0 where KD helps), [G', M'].
      fine_kd_window: the window edge mu0 at each fine gap (asymptotic f), [G'].
      fine_alphas: sample-to-dimension ratios n/d for panel (c), [A].
      alpha_benefit: R0 - R(kd_weight) at the config's kd_weight over (fine gap, alpha),
        asymptotic f, [G', A].
    """

    gaps: np.ndarray
    a: np.ndarray
    kd_weights: np.ndarray
    risks: np.ndarray
    theory_asym: np.ndarray
    theory_exact: np.ndarray
    fine_gaps: np.ndarray
    fine_kd_weights: np.ndarray
    fine_benefit: np.ndarray
    fine_kd_window: np.ndarray
    fine_alphas: np.ndarray
    alpha_benefit: np.ndarray


def theory_risks(gaps, kd_weights, *, sigma2, f) -> jax.Array:
    """R(kd_weight) of the family at each gap (rows) and kd_weight (columns), [G, M] (arguments
    not validated).

    Args:
      gaps: MI gaps I(t; s) - I(s; y) in nats, [G], each >= ``theory.family_min_gap(sigma2)``.
      kd_weights: KD weights in [0, 1], [M].
      sigma2: label noise variance of the family, > 0 (keyword-only).
      f: variance inflation, ``theory.asymptotic_f`` or ``theory.finite_f``; > 0.

    Returns:
      The asymptotic-formula risk (expected squared error of the student), [G, M].
    """
    m = theory.family_moments(theory.family_a(jnp.asarray(gaps), sigma2), sigma2)
    m = theory.Moments(*(v[:, None] for v in m))
    return theory.risk(m, jnp.asarray(kd_weights)[None, :], f)


@functools.partial(jax.jit, static_argnames=("num_seeds", "n", "d", "solver"))
def _program(
    key,
    gaps,
    kd_weights,
    fine_gaps,
    fine_kd_weights,
    fine_alphas,
    kd_weight,
    sigma2,
    f_asym,
    f_exact,
    *,
    num_seeds,
    n,
    d,
    solver,
):
    """Figure 1 as one compiled program: the simulation and every theory curve."""
    a = theory.family_a(gaps, sigma2)
    risks = _simulate_risks(
        draw(key=key, num_seeds=num_seeds, n=n, d=d), a, kd_weights, sigma2, solver
    )
    fine_risk = theory_risks(fine_gaps, fine_kd_weights, sigma2=sigma2, f=f_asym)
    fine_m = theory.family_moments(theory.family_a(fine_gaps, sigma2), sigma2)
    return dict(
        a=a,
        risks=risks,
        theory_asym=theory_risks(gaps, kd_weights, sigma2=sigma2, f=f_asym),
        theory_exact=theory_risks(gaps, kd_weights, sigma2=sigma2, f=f_exact),
        fine_benefit=fine_risk[:, :1] - fine_risk,
        fine_kd_window=theory.kd_window(fine_m, f_asym),
        alpha_benefit=jax.vmap(
            lambda f: theory.risk0(fine_m, f) - theory.risk(fine_m, kd_weight, f), out_axes=1
        )(1.0 / (fine_alphas - 1.0)),
    )


def run_figure1(
    config: Figure1Config,
    *,
    fine_gaps: int = 200,
    fine_kd_weights: int = 101,
    fine_alphas: int = 120,
) -> Figure1Result:
    """Runs the Figure-1 simulation and evaluates the formula on the same grid and a fine grid.

    Args:
      config: the :class:`Figure1Config` (validated at construction).
      fine_gaps: gap values of the fine theory grid (panels b, c), >= 2.
      fine_kd_weights: KD weights of the fine grid (panel b), >= 2.
      fine_alphas: sample-to-dimension ratios of panel (c), >= 2.

    Returns:
      :class:`Figure1Result`.
    """
    _checks.check_instance("config", config, Figure1Config)
    _checks.check_int("fine_gaps", fine_gaps, minimum=2)
    _checks.check_int("fine_kd_weights", fine_kd_weights, minimum=2)
    _checks.check_int("fine_alphas", fine_alphas, minimum=2)
    gaps, kd_weights = config.gaps(), config.kd_weights()
    grid = dict(
        fine_gaps=np.linspace(gaps[0], gaps[-1], fine_gaps),
        fine_kd_weights=np.linspace(0.0, 1.0, fine_kd_weights),
        fine_alphas=np.geomspace(1.1, 1000.0, fine_alphas),
    )
    dtype = jnp.result_type(float)
    # The "rbg" key (XLA's RngBitGenerator) compiles ~1 s faster than threefry on CPU here; its
    # streams are reproducible for a given backend and JAX version.
    out = _program(
        jax.random.key(config.seed, impl="rbg"),
        *(np.asarray(v, dtype) for v in (gaps, kd_weights, *grid.values())),
        np.asarray(config.kd_weight, dtype),
        np.asarray(config.sigma2, dtype),
        np.asarray(1.0 / (config.alpha - 1.0), dtype),  # theory.asymptotic_f
        np.asarray(config.d / (config.n - config.d - 1.0), dtype),  # theory.finite_f
        num_seeds=config.num_seeds,
        n=config.n,
        d=config.d,
        solver=SOLVERS[config.solver],
    )
    return Figure1Result(
        gaps=gaps, kd_weights=kd_weights, **grid, **{k: np.asarray(v) for k, v in out.items()}
    )


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


def figure1_table(result: Figure1Result, kd_weight: float) -> dict[str, np.ndarray]:
    """Panel (a) as columns (one row per gap): theory and simulation mean/std over seeds at
    ``kd_weight``.

    ``kd_benefit_sim_*`` is R0 - R(kd_weight) paired by seed (positive: KD helps), mean and
    standard error.

    Args:
      result: from :func:`run_figure1`, with G gaps and S seeds.
      kd_weight: the KD weight to tabulate; the nearest simulated weight in
        ``result.kd_weights`` is used (the smallest simulated weight is the no-KD reference).

    Returns:
      Columns by name, each [G]: ``gap`` (nats), ``a``, ``mse_kd_theory``, ``mse_nokd_theory``
      (asymptotic f), ``mse_kd_theory_exact``, ``mse_nokd_theory_exact`` (exact f),
      ``mse_kd_sim_mean``/``_std``, ``mse_nokd_sim_mean``/``_std`` (over seeds, ddof 1),
      ``kd_benefit_sim_mean`` and ``kd_benefit_sim_se``; risks are mean squared errors.
    """
    j = int(np.argmin(np.abs(result.kd_weights - kd_weight)))
    j0 = int(np.argmin(result.kd_weights))
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
    """Panel (b): does the simulation agree with the formula on whether KD helps, per (gap,
    kd_weight)?

    Compares the sign of the exact-f formula's R(kd_weight) - R0 with the seed-paired simulated
    difference.

    Args:
      result: from :func:`run_figure1` (risks [S, G, M]).
      z: how many standard errors of the seed-paired difference make it conclusive (keyword-only).

    Returns:
      int array [G, M]: 1 agree, -1 disagree (simulated difference > z standard errors with the
      other sign), 0 inconclusive (within z standard errors of zero); kd_weight = 0 columns are 0.
    """
    j0 = int(np.argmin(result.kd_weights))
    diff = result.risks - result.risks[:, :, j0 : j0 + 1]
    mean = diff.mean(0)
    se = diff.std(0, ddof=1) / np.sqrt(diff.shape[0])
    theory_sign = np.sign(result.theory_exact - result.theory_exact[:, j0 : j0 + 1])
    significant = np.abs(mean) > z * np.maximum(se, 1e-12)
    out = np.where(np.sign(mean) == theory_sign, 1, -1)
    return np.where(significant, out, 0)
