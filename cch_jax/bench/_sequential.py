"""The sequential decision of ``cch trial``: a paired t-test at a few looks, its error spent by a
pre-set schedule.

The rule (everything is fixed before the first seed trains):

* **Looks.** The test is made after 3, 5, 7 and 10 seeds, then every 5 seeds (15, 20, ...), the
  last look at ``max_seeds`` whatever it is (:func:`look_schedule`; ``max_seeds = 8`` gives
  3, 5, 7, 8).
* **The test at a look** with ``n`` seeds is the two-sided paired t-test of the per-seed
  differences ``d_s = acc_s(KD) - acc_s(no KD)``: ``t = mean(d) / (sd(d) / sqrt(n))`` (``sd`` with
  ddof = 1), ``n - 1`` degrees of freedom. It is exact when the differences are independent normal
  draws; the sign-flip test of the benchmark is valid without normality but its smallest p-value
  is ``2 / 2^n`` (0.25 at 3 seeds), so it could never decide at the early looks.
* **Error spending.** Look ``k`` (``n_k`` of ``N = max_seeds`` seeds, information fraction
  ``t_k = n_k / N``) may reject only at the level ``alpha_k = A(t_k) - A(t_{k-1})`` (``A(0) = 0``)
  of a spending function ``A`` with ``A(1) = alpha``:

  - ``'obrien_fleming'`` (default), the Lan-DeMets O'Brien-Fleming type:
    ``A(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``, which spends little early and keeps most
    of alpha for the last looks;
  - ``'pocock'``, the Lan-DeMets Pocock type: ``A(t) = alpha ln(1 + (e - 1) t)``, which spends
    evenly (more early stops, less power at the last look).

  At ``max_seeds = 10`` and ``alpha = 0.05`` the O'Brien-Fleming type gives the levels 0.00035,
  0.0052, 0.0136, 0.0309 at 3, 5, 7, 10 seeds (critical |t| 53.8, 5.53, 3.45, 2.56); the Pocock
  type 0.0208, 0.0102, 0.0085, 0.0105 (|t| 6.83, 4.58, 3.85, 3.22). A look calls when
  ``p_k <= alpha_k``, i.e. ``|t| >= c_k`` with ``c_k`` the ``1 - alpha_k / 2`` quantile of
  Student's t with ``n_k - 1`` degrees of freedom. The O'Brien-Fleming type is the default
  because the benchmark's significant KD effects were mostly 1-2 seed standard deviations, where
  it has more power for a few more seeds on average (measured in ``tests/test_trial.py``,
  ``test_power_and_seeds_under_a_real_effect``; ``docs/trial.md``, "The rule, simulated"); with it
  a call at 3 seeds needs an almost noiseless effect.
* **Family-wise error.** By the union (Bonferroni) bound, P(any false call over all looks)
  ``<= sum_k alpha_k = alpha`` whatever the dependence between looks; no group-sequential
  boundary computation (which would assume normal increments) is needed. The bound is
  conservative: the realised rate is below ``alpha`` (measured in ``tests/test_trial.py``).
* **Calls.** ``'distill'`` when a look rejects with ``mean(d) > 0``, ``'dont'`` with
  ``mean(d) < 0``, ``'undecided'`` when no look up to ``max_seeds`` rejects.
* **Futility (optional).** With ``min_effect`` set, a look that does not reject stops when the
  95 % t-interval of ``mean(d)`` lies inside ``(-min_effect, min_effect)``: no effect as large as
  ``min_effect`` is plausible. The call is ``'undecided'``. Stopping early without a call can only
  lower the false-call rate.
* **Ties.** When every per-seed difference at a look is the same, ``t`` is undefined (no spread
  to measure): the look does not call (the trial goes on); :func:`paired_t` reports p = NaN (1
  when the common difference is 0).

Everything here is NumPy and the standard library (Student-t by ``_stats``' series, no SciPy).
"""

from __future__ import annotations

import math
import statistics
from typing import NamedTuple

import numpy as np

from cch_jax import _checks, _tdist
from cch_jax.bench import _stats

SPENDING = ("obrien_fleming", "pocock")
FIRST_LOOKS = (3, 5, 7, 10)
LOOK_STEP = 5  # after the first looks, one look every LOOK_STEP seeds
MAX_SEEDS_LIMIT = 1000
CONFIDENCE = 0.95  # the reported intervals and the futility interval

CONTINUE, DISTILL, DONT, FUTILE = 0, 1, -1, 2
"""Codes of :func:`decide`: go on to the next look, call 'distill', call 'dont', stop for
futility."""


class SequentialRule(NamedTuple):
    """The looks and levels of one trial, fixed before any training.

    Attributes:
      looks: seeds at each look, increasing, the last = ``max_seeds``.
      alpha_look: the level spent at each look (``sum = alpha``).
      critical_t: ``|t|`` at or above which each look calls (the ``1 - alpha_k / 2`` quantile of
        Student's t with ``n_k - 1`` degrees of freedom).
      alpha: the family-wise level.
      spending: 'obrien_fleming' or 'pocock'.
      min_effect: the futility margin (same unit as the differences), or None (no futility stop).
    """

    looks: tuple[int, ...]
    alpha_look: tuple[float, ...]
    critical_t: tuple[float, ...]
    alpha: float
    spending: str
    min_effect: float | None


class PairedT(NamedTuple):
    """A paired t-test of per-seed differences.

    Attributes:
      mean: mean difference (the unit of the differences).
      low: lower end of the two-sided t-interval at ``level``.
      high: upper end.
      p: two-sided p-value in [0, 1].
      t: the t statistic (NaN when every difference is the same).
      num_seeds: number of differences.
    """

    mean: float
    low: float
    high: float
    p: float
    t: float
    num_seeds: int


def look_schedule(max_seeds) -> tuple[int, ...]:
    """The seeds at which the trial looks: 3, 5, 7, 10, then every 5, ending at ``max_seeds``.

    Args:
      max_seeds: the most seeds, an integer in [3, 1000].

    Returns:
      The increasing seed counts, e.g. (3, 5, 7, 10) for 10, (3, 5, 6) for 6, (3,) for 3.
    """
    n = _check_max_seeds(max_seeds)
    looks = [v for v in FIRST_LOOKS if v < n]
    nxt = FIRST_LOOKS[-1] + LOOK_STEP
    while nxt < n:
        looks.append(nxt)
        nxt += LOOK_STEP
    return (*looks, n)


def _check_max_seeds(max_seeds) -> int:
    n = _checks.check_int("max_seeds", max_seeds, maximum=MAX_SEEDS_LIMIT)
    if n < FIRST_LOOKS[0]:
        raise ValueError(
            f"max_seeds: {n} seed(s) can never reach alpha: the first look is at "
            f"{FIRST_LOOKS[0]} seeds (a paired t-test needs a spread of differences, and with "
            f"fewer seeds none is measured reliably); use max_seeds >= {FIRST_LOOKS[0]}"
        )
    return n


def spent(fraction, alpha, spending: str = "obrien_fleming") -> float:
    """The error spent up to information fraction ``fraction``: the spending function A(t).

    Args:
      fraction: t in [0, 1] (seeds so far / max_seeds).
      alpha: the family-wise level in (0, 1).
      spending: 'obrien_fleming' (``2 - 2 Phi(z_{1-alpha/2} / sqrt(t))``) or 'pocock'
        (``alpha ln(1 + (e - 1) t)``).

    Returns:
      A(t) in [0, alpha]; A(0) = 0, A(1) = alpha.
    """
    t = _checks.check_real("fraction", fraction, low=0.0, high=1.0)
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    spending = _checks.check_choice("spending", spending, SPENDING)
    if t == 0.0:
        return 0.0
    if spending == "pocock":
        return alpha * math.log(1.0 + (math.e - 1.0) * t)
    z = statistics.NormalDist().inv_cdf(1.0 - alpha / 2.0)
    return min(alpha, 2.0 - 2.0 * statistics.NormalDist().cdf(z / math.sqrt(t)))


def sequential_rule(
    max_seeds, *, alpha=0.05, spending: str = "obrien_fleming", min_effect=None
) -> SequentialRule:
    """The looks, the level spent at each and the critical t (module docstring).

    Args:
      max_seeds: the most seeds, an integer in [3, 1000] (``--max-seeds``).
      alpha: the family-wise level of a false 'distill' or 'dont' over all looks, in (0, 0.5].
      spending: 'obrien_fleming' or 'pocock'.
      min_effect: stop for futility when the 95 % interval lies inside ``(-min_effect,
        min_effect)``; > 0, or None for no futility stop.

    Returns:
      :class:`SequentialRule`.

    Raises:
      ValueError: naming ``max_seeds`` when it is below 3 (no look could call).
    """
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=0.5, low_open=True)
    spending = _checks.check_choice("spending", spending, SPENDING)
    if min_effect is not None:
        min_effect = _checks.check_real("min_effect", min_effect, low=0.0, low_open=True)
    looks = look_schedule(max_seeds)
    cum = [spent(n / looks[-1], alpha, spending) for n in looks]
    cum[-1] = alpha  # exact, whatever the rounding of the spending function
    levels = tuple(c - p for c, p in zip(cum, [0.0, *cum[:-1]], strict=True))
    crit = tuple(_tdist.t_ppf(1.0 - a / 2.0, n - 1) for a, n in zip(levels, looks, strict=True))
    return SequentialRule(looks, levels, crit, alpha, spending, min_effect)


def _two_sided_p(t: float, df: int) -> float:
    """``P(|T_df| >= |t|)``."""
    return min(1.0, max(0.0, 2.0 * (1.0 - _tdist.t_cdf(abs(t), df))))


def paired_t(per_seed_deltas, *, level=CONFIDENCE) -> PairedT:
    """The two-sided paired t-test of per-seed differences and their t-interval.

    Args:
      per_seed_deltas: ``[S]`` differences ``a_s - b_s`` of paired runs, S >= 2 (e.g. accuracy
        with KD minus without, percentage points).
      level: the interval's two-sided coverage in (0, 1).

    Returns:
      :class:`PairedT`. When every difference is the same the spread is 0: the interval is that
      value, ``t`` is NaN and ``p`` is 1 when the value is 0, else NaN (undefined: the sequential
      rule does not call on such a look, see the module docstring).
    """
    d = _stats._vector("per_seed_deltas", per_seed_deltas, min_size=2)
    level = _checks.check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    n = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return PairedT(mean, mean, mean, 1.0 if mean == 0.0 else math.nan, math.nan, n)
    se = sd / math.sqrt(n)
    t = mean / se
    half = _tdist.t_ppf(0.5 + level / 2.0, n - 1) * se
    return PairedT(mean, mean - half, mean + half, _two_sided_p(t, n - 1), t, n)


def decide(per_seed_deltas, rule: SequentialRule, look: int) -> np.ndarray:
    """The rule's verdict at one look, for one trial or many at once (simulations).

    Args:
      per_seed_deltas: ``[..., n]`` differences, ``n = rule.looks[look]`` (the first n seeds).
      rule: :class:`SequentialRule`.
      look: the look's index in ``rule.looks``.

    Returns:
      ``[...]`` int8 codes: ``DISTILL`` (1), ``DONT`` (-1), ``FUTILE`` (2) or ``CONTINUE`` (0).
      At the last look ``CONTINUE`` means 'undecided'.
    """
    _checks.check_instance("rule", rule, SequentialRule)
    look = _checks.check_int("look", look, minimum=0, maximum=len(rule.looks) - 1)
    d = np.asarray(per_seed_deltas, np.float64)
    n = rule.looks[look]
    if d.ndim < 1 or d.shape[-1] != n:
        raise ValueError(
            f"per_seed_deltas: look {look} needs [..., {n}] differences, got {d.shape}"
        )
    mean = d.mean(axis=-1)
    se = d.std(axis=-1, ddof=1) / math.sqrt(n)
    spread = se > 0
    t = np.where(spread, mean / np.where(spread, se, 1.0), 0.0)
    reject = spread & (np.abs(t) >= rule.critical_t[look])
    out = np.where(reject, np.where(mean > 0, DISTILL, DONT), CONTINUE).astype(np.int8)
    if rule.min_effect is not None:
        half = _tdist.t_ppf(0.5 + CONFIDENCE / 2.0, n - 1) * se
        inside = spread & (mean - half > -rule.min_effect) & (mean + half < rule.min_effect)
        out = np.where(~reject & inside, FUTILE, out).astype(np.int8)
    return out


def simulate(deltas, rule: SequentialRule) -> tuple[np.ndarray, np.ndarray]:
    """Runs the rule on many simulated trials (no training): the test of the rule itself.

    Args:
      deltas: ``[R, max_seeds]`` per-seed differences of R trials.
      rule: :class:`SequentialRule` with ``rule.looks[-1] == max_seeds``.

    Returns:
      ``(codes [R], seeds [R])``: each trial's final code (``DISTILL``, ``DONT``, ``FUTILE`` or
      ``CONTINUE`` = undecided) and the seeds it used.
    """
    d = np.asarray(deltas, np.float64)
    if d.ndim != 2 or d.shape[1] != rule.looks[-1]:
        raise ValueError(f"deltas: expected [R, {rule.looks[-1]}] differences, got {d.shape}")
    codes = np.zeros(d.shape[0], np.int8)
    seeds = np.full(d.shape[0], rule.looks[-1], np.int64)
    live = np.ones(d.shape[0], bool)
    for k, n in enumerate(rule.looks):
        c = decide(d[live, :n], rule, k)
        idx = np.flatnonzero(live)
        codes[idx] = c
        stop = c != CONTINUE
        seeds[idx[stop]] = n
        live[idx[stop]] = False
    return codes, seeds
