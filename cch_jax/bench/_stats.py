"""Statistics of the KD-outcome benchmark: paired tests, seed power, intervals and ranking scores.

Everything here is a pure function of plain NumPy arrays or Python numbers, computed in float64
with NumPy and the standard library only (no SciPy at run time; the tests check every function
against SciPy or scikit-learn).

- A setting's effect is the per-seed difference ``d_s = a_s - b_s`` of two paired runs (KD and no
  KD of one seed share initialisation and minibatch order). :func:`paired_sign_flip` is the exact
  two-sided sign-flip (permutation) test of ``sum(d) = 0``: under the null every difference is
  symmetric about 0, so each of the ``2^S`` sign patterns is equally likely. It is exact for
  ``S <= 20`` seeds; beyond, a fixed-seed Monte Carlo over :data:`MONTE_CARLO_DRAWS` patterns.
- With ``S`` seeds no p-value is below ``2 / 2^S`` (:func:`min_p_value`): at 5 seeds that is
  0.0625, so no setting can ever be significant at 0.05 (:func:`check_seed_power` refuses it).
- :func:`min_detectable_effect` is the paired-t minimum detectable effect at a given power.
- :func:`wilson_interval` (binomial proportion), :func:`auroc` (Mann-Whitney, ties count 1/2) and
  :func:`spearman` (average ranks for ties) score predictors on the leaderboard.
- Settings are not independent: those of one dataset share its data, those of one (dataset,
  student) group share one no-KD arm. :func:`mcnemar_exact` compares two predictors on the same
  settings (paired), and :func:`cluster_bootstrap` gives a percentile interval of a ratio of sums
  by resampling whole clusters (datasets, or student groups) instead of single settings.
"""

from __future__ import annotations

import math
import statistics
import warnings

import numpy as np

from cch_jax import _checks
from cch_jax._tdist import t_ppf as _t_ppf

EXACT_MAX_SEEDS = 20
"""Largest number of seeds for which :func:`paired_sign_flip` enumerates all ``2^S`` patterns."""

MONTE_CARLO_DRAWS = 1 << 16
"""Random sign patterns drawn (seed 0) by :func:`paired_sign_flip` beyond ``EXACT_MAX_SEEDS``."""

OUTCOMES = ("gain", "loss", "none")


def _vector(name: str, x, *, min_size: int = 1) -> np.ndarray:
    """``x`` as a finite 1-D float64 NumPy array of at least ``min_size`` entries."""
    if x is None or isinstance(x, str | bytes):
        raise ValueError(f"{name}: expected a 1-D array of numbers, got {x!r:.40}")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise ValueError(f"{name}: expected a 1-D array of numbers ({err})") from None
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(f"{name}: expected an array of real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name}: expected at least {min_size} value(s), got {arr.size}")
    arr = arr.astype(np.float64)
    _checks.check_finite(name, arr)
    return arr


# --------------------------------------------------------------------------------------------------
# The paired test and its power


def paired_sign_flip(a, b) -> float:
    """Two-sided sign-flip (permutation) p-value of the paired differences ``a - b``.

    The statistic is ``|sum_s d_s|`` with ``d = a - b``; the p-value is the share of sign
    patterns ``e`` in ``{-1, +1}^S`` with ``|sum_s e_s d_s| >= |sum_s d_s|`` (a relative tolerance
    of 1e-9 absorbs rounding). For ``S <= EXACT_MAX_SEEDS`` (20) all ``2^S`` patterns are
    enumerated (the identity included, so ``p >= 2 / 2^S``). Beyond, ``MONTE_CARLO_DRAWS``
    patterns are drawn with ``numpy.random.default_rng(0)`` (the same draws for every call) and
    ``p = (1 + hits) / (1 + draws)``, which is a valid p-value for a random subset of patterns.
    When every difference is 0 the p-value is 1.

    Args:
      a: ``[S]`` per-seed performance of the first arm (e.g. with KD), any unit.
      b: ``[S]`` the paired second arm (e.g. without KD), the same seeds in the same order.

    Returns:
      The two-sided p-value, a float in ``(0, 1]``.
    """
    a = _vector("a", a)
    b = _vector("b", b)
    if a.shape != b.shape:
        raise ValueError(f"b: expected {a.size} values paired with a's, got {b.size}")
    d = a - b
    observed = abs(float(d.sum()))
    tol = 1e-9 * float(np.abs(d).sum()) + 1e-300
    if d.size <= EXACT_MAX_SEEDS:
        sums = np.zeros(1)
        for v in d:  # all 2^S signed sums, doubling once per seed
            sums = np.concatenate([sums + v, sums - v])
        return float(np.mean(np.abs(sums) >= observed - tol))
    rng = np.random.default_rng(0)
    hits = 0
    chunk = 1 << 12
    for start in range(0, MONTE_CARLO_DRAWS, chunk):
        signs = rng.choice((1.0, -1.0), size=(min(chunk, MONTE_CARLO_DRAWS - start), d.size))
        hits += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
    return (1 + hits) / (1 + MONTE_CARLO_DRAWS)


def min_p_value(num_seeds) -> float:
    """The smallest p-value :func:`paired_sign_flip` can return with ``num_seeds`` seeds.

    Args:
      num_seeds: number of paired seeds S >= 1.

    Returns:
      ``2 / 2^S`` for the exact test (S <= 20: 0.0625 at S = 5, 0.03125 at S = 6, 0.00195 at
      S = 10), ``1 / (1 + MONTE_CARLO_DRAWS)`` for the Monte Carlo one beyond.
    """
    s = _checks.check_int("num_seeds", num_seeds, minimum=1)
    if s <= EXACT_MAX_SEEDS:
        return 2.0 / 2.0**s
    return 1.0 / (1 + MONTE_CARLO_DRAWS)


def _seeds_needed(alpha: float) -> int | None:
    """Smallest S with ``min_p_value(S) < alpha``, or None when no S reaches it."""
    for s in range(1, EXACT_MAX_SEEDS + 1):
        if min_p_value(s) < alpha:
            return s
    return EXACT_MAX_SEEDS + 1 if min_p_value(EXACT_MAX_SEEDS + 1) < alpha else None


def check_seed_power(num_seeds, alpha=0.05, *, warn: bool = False) -> str | None:
    """Refuses a number of seeds with which no setting can be significant at ``alpha``.

    With S seeds the exact sign-flip test's smallest p-value is ``2 / 2^S``
    (:func:`min_p_value`), so ``p < alpha`` is impossible when ``2 / 2^S >= alpha``: 5 seeds give
    0.0625 and can never reach 0.05; 6 seeds give 0.03125 and can.

    Args:
      num_seeds: number of paired seeds S >= 1.
      alpha: significance level in (0, 1).
      warn: instead of raising, emit a loud ``UserWarning`` and return its text (for reports that
        must say so).

    Returns:
      None when ``p < alpha`` is attainable; with ``warn=True`` and too few seeds, the warning's
      text.

    Raises:
      ValueError: starting with ``num_seeds``, naming the smallest sufficient number of seeds,
        when ``p < alpha`` is impossible and ``warn`` is False.
    """
    s = _checks.check_int("num_seeds", num_seeds, minimum=1)
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    warn = _checks.check_bool("warn", warn)
    p = min_p_value(s)
    if p < alpha:
        return None
    needed = _seeds_needed(alpha)
    fix = (
        f"use num_seeds >= {needed}"
        if needed is not None
        else f"no number of seeds reaches it with this test (raise alpha above {min_p_value(21):.3g})"
    )
    smallest = f"2/2^{s} = {p:.4g}" if s <= EXACT_MAX_SEEDS else f"{p:.4g} (Monte Carlo)"
    message = (
        f"num_seeds: {s} seeds can never give p < alpha = {alpha:g} (the sign-flip test's smallest "
        f"p-value is {smallest}), so no setting can be significant; {fix}"
    )
    if not warn:
        raise ValueError(message)
    text = f"WARNING: {message}. Every outcome below is 'none' by construction."
    warnings.warn(text, UserWarning, stacklevel=2)
    return text


def min_detectable_effect(per_seed_deltas, alpha=0.05, power=0.8, *, test="sign_flip") -> float:
    """The smallest paired effect a setting could detect, from its observed per-seed spread.

    ``MDE = (t_{1-alpha/2, S-1} + t_{power, S-1}) * sd / sqrt(S)`` with ``sd`` the sample
    standard deviation (ddof = 1) of the ``S`` per-seed differences: the two-sided paired t-test's
    minimum detectable effect at the given power. With ``test='sign_flip'`` (the benchmark's
    test), when the exact sign-flip test cannot reach ``p < alpha`` at this S at all
    (:func:`check_seed_power`), no effect is detectable and the result is ``inf``; with
    ``test='t'`` (``cch trial``'s paired t-test, which has no such floor) the formula always holds.

    Args:
      per_seed_deltas: ``[S]`` per-seed differences (e.g. accuracy with KD minus without, in
        percentage points), S >= 2.
      alpha: two-sided significance level in (0, 1).
      power: the power in (0, 1) (0.8: detected 80 % of the time).
      test: the test the effect would be detected by: 'sign_flip' or 't'.

    Returns:
      The MDE in the unit of ``per_seed_deltas`` (0 when every difference is the same).
    """
    d = _vector("per_seed_deltas", per_seed_deltas, min_size=2)
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    power = _checks.check_real("power", power, low=0.0, high=1.0, low_open=True, high_open=True)
    test = _checks.check_choice("test", test, ("sign_flip", "t"))
    s = d.size
    if test == "sign_flip" and min_p_value(s) >= alpha:
        return math.inf
    df = s - 1
    factor = _t_ppf(1.0 - alpha / 2.0, df) + _t_ppf(power, df)
    return float(factor * d.std(ddof=1) / math.sqrt(s))


def outcome(delta, p_value, alpha=0.05) -> str:
    """A setting's outcome: ``'gain'``/``'loss'`` by the sign of ``delta`` when ``p < alpha``.

    Args:
      delta: mean paired difference (any unit).
      p_value: its two-sided p-value in [0, 1].
      alpha: significance level in (0, 1).

    Returns:
      ``'gain'`` (significant, delta > 0), ``'loss'`` (significant, delta < 0) or ``'none'``.
    """
    delta = _checks.check_real("delta", delta)
    p_value = _checks.check_real("p_value", p_value, low=0.0, high=1.0)
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    if p_value < alpha and delta != 0.0:
        return "gain" if delta > 0 else "loss"
    return "none"


# --------------------------------------------------------------------------------------------------
# Scoring predictors


def wilson_interval(k, n, level=0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n``.

    ``(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``p = k/n`` and ``z`` the
    standard normal quantile at ``1 - (1 - level)/2`` (1.96 at 95 %). Unlike the normal
    approximation it stays inside [0, 1] and is informative at k = 0 or k = n.

    Args:
      k: successes, an integer in [0, n].
      n: trials, an integer >= 0.
      level: two-sided coverage in (0, 1).

    Returns:
      ``(low, high)``, proportions in [0, 1]; ``(nan, nan)`` when ``n = 0``.
    """
    n = _checks.check_int("n", n, minimum=0)
    k = _checks.check_int("k", k, minimum=0, maximum=n)
    level = _checks.check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    if n == 0:
        return math.nan, math.nan
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2.0)
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``; tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based rank of each distinct value's first copy
    return (first + (counts + 1) / 2.0)[inverse]


def auroc(scores, positives) -> float:
    """Area under the ROC curve of ``scores`` separating ``positives`` from the other rows.

    The Mann-Whitney form: the probability that a random positive scores above a random negative,
    a tie counting 1/2 (from average ranks). It equals scikit-learn's ``roc_auc_score``.

    Args:
      scores: ``[n]`` finite scores, higher = more positive (NaN is an error: drop those rows
        first).
      positives: ``[n]`` booleans (or 0/1), True for the positive class.

    Returns:
      The AUROC in [0, 1] (0.5: no better than chance); NaN when only one class is present, where
      it is undefined.
    """
    s = _vector("scores", scores, min_size=0)
    pos = np.asarray(positives)
    if pos.ndim != 1 or pos.shape != s.shape:
        raise ValueError(
            f"positives: expected {s.size} booleans (one per score), got shape {pos.shape}"
        )
    if pos.dtype != np.bool_:
        if not np.issubdtype(pos.dtype, np.number) or not np.isin(pos, (0, 1)).all():
            raise ValueError(f"positives: expected booleans or 0/1, got dtype {pos.dtype}")
        pos = pos.astype(bool)
    n_pos = int(pos.sum())
    n_neg = s.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = _average_ranks(s)
    u = float(ranks[pos].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def spearman(x, y) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (average ranks for ties).

    The Pearson correlation of the average ranks; pairs where either value is not finite are
    dropped first.

    Args:
      x: ``[n]`` numbers.
      y: ``[n]`` numbers, paired with ``x``.

    Returns:
      The correlation in [-1, 1]; NaN with fewer than 3 finite pairs or when either side is
      constant.
    """
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"x: expected an array of numbers ({err})") from None
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"y: expected an array of numbers ({err})") from None
    if x.ndim != 1:
        raise ValueError(f"x: expected a 1-D array, got shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"y: expected {x.size} values paired with x's, got shape {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return math.nan
    rx, ry = _average_ranks(x), _average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if denom == 0.0:
        return math.nan
    return float(np.clip(float(rx @ ry) / denom, -1.0, 1.0))


# --------------------------------------------------------------------------------------------------
# Paired comparison and clustered intervals

BOOTSTRAP_DRAWS = 2000
"""Cluster resamples drawn by :func:`cluster_bootstrap` by default."""

BOOTSTRAP_SEED = 0
"""Seed of ``numpy.random.default_rng`` in :func:`cluster_bootstrap` by default."""


def mcnemar_exact(b, c) -> float:
    """Exact two-sided McNemar test of two paired classifiers from their discordant counts.

    Of the pairs where exactly one of the two is right, ``b`` favour the first and ``c`` the
    second. Under the null (both equally often right) ``b ~ Binomial(b + c, 1/2)``; the two-sided
    p-value is ``min(1, 2 P(X <= min(b, c)))``, computed exactly with integer binomial
    coefficients (the same as ``scipy.stats.binomtest(b, b + c).pvalue`` and statsmodels'
    ``mcnemar(..., exact=True)``). The concordant pairs do not enter.

    Args:
      b: pairs where the first is right and the second wrong, an integer >= 0.
      c: pairs where the first is wrong and the second right, an integer >= 0.

    Returns:
      The p-value, a float in ``(0, 1]``; 1 when ``b + c = 0`` (no discordant pair).
    """
    b = _checks.check_int("b", b, minimum=0)
    c = _checks.check_int("c", c, minimum=0)
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integers, one correctly rounded division


def cluster_bootstrap(
    clusters, numerator, denominator=None, *, draws=BOOTSTRAP_DRAWS, level=0.95, seed=BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile interval of ``sum(numerator) / sum(denominator)``, resampling whole clusters.

    The observations are grouped by ``clusters`` into K clusters with sums ``N_k`` and ``D_k``.
    Each of ``draws`` resamples draws K clusters with replacement (multiplicities ``w``, summing
    to K) and computes ``sum_k w_k N_k / sum_k w_k D_k``; the interval is the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of those ratios (NumPy's linear
    interpolation). Resamples whose denominator is 0 are left out. With one cluster every resample
    is the data itself, so the interval is the point estimate; so it is when every cluster has the
    same ratio. The same ``seed`` and K give the same multiplicities, so two statistics over the
    same clusters are resampled alike.

    Args:
      clusters: ``[n]`` cluster labels (any hashable values, e.g. dataset names or (dataset,
        student) tuples).
      numerator: ``[n]`` finite numbers (e.g. 1 for a right call, 0 for a wrong one; or the
        difference of two predictors' right indicators).
      denominator: ``[n]`` finite numbers >= 0, or None for ones (then the ratio is the mean of
        ``numerator``).
      draws: number of resamples >= 1.
      level: two-sided coverage in (0, 1).
      seed: seed of ``numpy.random.default_rng``.

    Returns:
      ``(low, high)`` in the unit of the ratio; ``(nan, nan)`` when ``n = 0`` or every resample
      has a zero denominator.
    """
    num = _vector("numerator", numerator, min_size=0)
    n = num.size
    den = np.ones(n) if denominator is None else _vector("denominator", denominator, min_size=0)
    if den.shape != num.shape:
        raise ValueError(
            f"denominator: expected {n} values paired with numerator's, got {den.size}"
        )
    if (den < 0).any():
        raise ValueError("denominator: expected numbers >= 0")
    try:
        labels = None if isinstance(clusters, str | bytes) else list(clusters)
    except TypeError:
        labels = None
    if labels is None or len(labels) != n:
        got = f"{clusters!r:.40}" if labels is None else f"{len(labels)}"
        raise ValueError(f"clusters: expected {n} labels (one per numerator), got {got}")
    draws = _checks.check_int("draws", draws, minimum=1)
    level = _checks.check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = _checks.check_int("seed", seed, minimum=0)
    if n == 0:
        return math.nan, math.nan
    index = {}
    inverse = np.asarray([index.setdefault(label, len(index)) for label in labels])
    k = len(index)
    num_k = np.bincount(inverse, weights=num, minlength=k)
    den_k = np.bincount(inverse, weights=den, minlength=k)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, k, size=(draws, k))
    weights = np.bincount(
        (picks + k * np.arange(draws)[:, None]).ravel(), minlength=draws * k
    ).reshape(draws, k)
    top, bottom = weights @ num_k, weights @ den_k
    ok = bottom > 0
    if not ok.any():
        return math.nan, math.nan
    ratios = top[ok] / bottom[ok]
    low, high = np.quantile(ratios, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(low), float(high)
