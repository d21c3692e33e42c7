"""cch_jax.bench._stats: the benchmark's paired test, seed power, MDE and scoring statistics.

Every number is checked against a hand computation or an independent implementation (SciPy,
scikit-learn).
"""

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from cch_jax import _tdist
from cch_jax.bench import _stats as stats

# ------------------------------------------------------------------------------------------------
# The paired sign-flip test


def test_sign_flip_hand_values():
    # d = (1, 2, 3): the 8 signed sums are +-6, +-4, +-2, 0, 0; |sum| >= 6 for 2 of 8.
    assert stats.paired_sign_flip([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == 0.25
    # d = (3, -1, 1.5, 0.5), |sum| = 4. The 16 |signed sums| are 0 0 1 1 2 2 3 3 3 3 4 4 5 5 6 6:
    # 6 of them (+-6 = 3+1+1.5+.5, +-5 = 3+1+1.5-.5, +-4 = the observed) reach 4.
    d = np.asarray([3.0, -1.0, 1.5, 0.5])
    assert stats.paired_sign_flip(d + 10.0, np.full(4, 10.0)) == pytest.approx(6 / 16)
    assert stats.paired_sign_flip([1.0] * 6, [0.0] * 6) == 2 / 64
    assert stats.paired_sign_flip([0.5, 0.2], [0.5, 0.2]) == 1.0  # no difference at all


@pytest.mark.parametrize("num_seeds", [5, 9, 12])
def test_sign_flip_matches_scipy_permutation_test(num_seeds):
    rng = np.random.default_rng(num_seeds)
    a = rng.normal(size=num_seeds) + 0.6
    b = rng.normal(size=num_seeds)
    ref = scipy.stats.permutation_test(
        (a - b,),
        lambda d: np.abs(d.sum()),
        permutation_type="samples",
        n_resamples=np.inf,
        alternative="greater",
    ).pvalue
    assert stats.paired_sign_flip(a, b) == pytest.approx(ref, abs=1e-12)


def test_sign_flip_monte_carlo_beyond_20_seeds():
    rng = np.random.default_rng(3)
    d = rng.normal(size=21) + 0.35
    sums = np.zeros(1)
    for v in d:
        sums = np.concatenate([sums + v, sums - v])
    exact = np.mean(np.abs(sums) >= abs(d.sum()) - 1e-9)
    p = stats.paired_sign_flip(d, np.zeros(21))
    assert p == stats.paired_sign_flip(d, np.zeros(21))  # fixed seed: the same draws every call
    se = math.sqrt(exact * (1 - exact) / stats.MONTE_CARLO_DRAWS)
    assert abs(p - exact) < 5 * se + 1e-4
    # a huge effect: no random pattern reaches it, p = 1 / (1 + draws), never 0
    assert stats.paired_sign_flip(np.ones(30), np.zeros(30)) == 1 / (1 + stats.MONTE_CARLO_DRAWS)


def test_sign_flip_rejects_bad_input():
    with pytest.raises(ValueError, match="^b: expected 3 values"):
        stats.paired_sign_flip([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="^a: contains 1 non-finite"):
        stats.paired_sign_flip([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="^a: expected a 1-D array"):
        stats.paired_sign_flip([[1.0, 2.0]], [[1.0, 2.0]])


# ------------------------------------------------------------------------------------------------
# Seed power


def test_min_p_value():
    assert stats.min_p_value(5) == 0.0625
    assert stats.min_p_value(6) == 0.03125
    assert stats.min_p_value(10) == 2 / 1024
    assert stats.min_p_value(21) == 1 / (1 + stats.MONTE_CARLO_DRAWS)
    # the bound is attained: all differences of one sign and size
    for s in (3, 6, 10):
        assert stats.paired_sign_flip(np.ones(s), np.zeros(s)) == stats.min_p_value(s)
    with pytest.raises(ValueError, match="^num_seeds"):
        stats.min_p_value(0)


def test_check_seed_power_refuses_five_seeds_at_005():
    with pytest.raises(ValueError, match=r"^num_seeds: 5 seeds .*0\.0625.*num_seeds >= 6"):
        stats.check_seed_power(5, 0.05)
    assert stats.check_seed_power(6, 0.05) is None  # 2/64 = 0.031 < 0.05
    assert stats.check_seed_power(10) is None
    # at alpha = 0.01: 2/128 = 0.0156 is not enough, 2/256 = 0.0078 is
    with pytest.raises(ValueError, match="num_seeds >= 8"):
        stats.check_seed_power(7, 0.01)
    assert stats.check_seed_power(8, 0.01) is None


def test_check_seed_power_warn_mode():
    with pytest.warns(UserWarning, match=r"WARNING: num_seeds: 5 seeds .*num_seeds >= 6"):
        text = stats.check_seed_power(5, 0.05, warn=True)
    assert text.startswith("WARNING: num_seeds: 5 seeds") and "num_seeds >= 6" in text
    assert stats.check_seed_power(6, 0.05, warn=True) is None
    with pytest.raises(ValueError, match="^alpha"):
        stats.check_seed_power(6, 1.5)


# ------------------------------------------------------------------------------------------------
# Minimum detectable effect


def test_mde_hand_value():
    d = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # sd = sqrt(3.5), S = 6, df = 5
    # t tables: t_{0.975, 5} = 2.570582, t_{0.80, 5} = 0.919544
    hand = (2.570582 + 0.919544) * math.sqrt(3.5) / math.sqrt(6)
    assert stats.min_detectable_effect(d) == pytest.approx(hand, rel=1e-6)
    assert stats.min_detectable_effect(d) == pytest.approx(2.665, abs=1e-3)
    assert stats.min_detectable_effect([2.0] * 8) == 0.0
    # 5 seeds: the sign-flip test can never reach 0.05, so nothing is detectable
    assert stats.min_detectable_effect([1.0, 2.0, 3.0, 4.0, 5.0]) == math.inf


@pytest.mark.parametrize("num_seeds", [6, 7, 10, 11, 30])
@pytest.mark.parametrize(("alpha", "power"), [(0.05, 0.8), (0.01, 0.9), (0.1, 0.5)])
def test_mde_matches_scipy_t_quantiles(num_seeds, alpha, power):
    d = np.random.default_rng(num_seeds).normal(size=num_seeds)
    if stats.min_p_value(num_seeds) >= alpha:  # 6 and 7 seeds at 0.01: 2/64, 2/128 >= alpha
        assert stats.min_detectable_effect(d, alpha, power) == math.inf
        return
    df = num_seeds - 1
    factor = scipy.stats.t.ppf(1 - alpha / 2, df) + scipy.stats.t.ppf(power, df)
    ref = factor * d.std(ddof=1) / math.sqrt(num_seeds)
    assert stats.min_detectable_effect(d, alpha, power) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 9, 10, 57])
def test_t_distribution_series(df):
    for x in (-6.0, -1.3, 0.0, 0.4, 2.2, 15.0):
        assert _tdist.t_cdf(x, df) == pytest.approx(scipy.stats.t.cdf(x, df), abs=1e-13)
    for q in (0.001, 0.2, 0.8, 0.975, 0.999):
        assert _tdist.t_ppf(q, df) == pytest.approx(scipy.stats.t.ppf(q, df), rel=1e-10)


def test_mde_rejects_bad_input():
    with pytest.raises(ValueError, match="^per_seed_deltas: expected at least 2"):
        stats.min_detectable_effect([1.0])
    with pytest.raises(ValueError, match="^power"):
        stats.min_detectable_effect([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], power=1.0)


# ------------------------------------------------------------------------------------------------
# Outcome, Wilson, AUROC, Spearman


def test_outcome():
    assert stats.outcome(1.2, 0.01) == "gain"
    assert stats.outcome(-0.3, 0.002) == "loss"
    assert stats.outcome(1.2, 0.05) == "none"  # p must be strictly below alpha
    assert stats.outcome(1.2, 0.05, alpha=0.1) == "gain"
    with pytest.raises(ValueError, match="^p_value"):
        stats.outcome(1.0, 1.5)


def test_wilson_interval_formula_and_scipy():
    z = 1.959963984540054
    for k, n in [(0, 10), (3, 10), (10, 10), (37, 64), (1, 1)]:
        low, high = stats.wilson_interval(k, n)
        p = k / n
        center = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert low == pytest.approx(max(0.0, center - half), abs=1e-12)
        assert high == pytest.approx(min(1.0, center + half), abs=1e-12)
        ref = scipy.stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    ref = scipy.stats.binomtest(7, 20).proportion_ci(0.9, method="wilson")
    assert stats.wilson_interval(7, 20, level=0.9) == pytest.approx((ref.low, ref.high))
    assert all(math.isnan(v) for v in stats.wilson_interval(0, 0))
    with pytest.raises(ValueError, match="^k: must be <= 3"):
        stats.wilson_interval(4, 3)


def test_auroc_hand_and_sklearn():
    assert stats.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # ties count 1/2: positive 0.5 vs negatives 0.5 (tie), 0.2 (win) -> (0.5 + 1) / 2
    assert stats.auroc([0.5, 0.5, 0.2], [True, False, False]) == 0.75
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=40).astype(float)  # many ties
    labels = rng.random(40) < 0.4
    assert stats.auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert math.isnan(stats.auroc([0.1, 0.2], [True, True]))  # one class: undefined
    with pytest.raises(ValueError, match="^scores: contains 1 non-finite"):
        stats.auroc([0.1, np.nan], [True, False])
    with pytest.raises(ValueError, match="^positives: expected booleans"):
        stats.auroc([0.1, 0.2], [2, 0])


def test_spearman_against_scipy():
    x = [1.0, 2.0, 2.0, 5.0, 3.0, 3.0, 0.5]
    y = [0.3, 0.1, 0.4, 0.9, 0.4, 0.2, 0.0]
    ref = scipy.stats.spearmanr(x, y).statistic
    assert stats.spearman(x, y) == pytest.approx(ref, abs=1e-12)
    # non-finite pairs are dropped
    assert stats.spearman(x + [np.nan], y + [7.0]) == pytest.approx(ref, abs=1e-12)
    assert stats.spearman([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert math.isnan(stats.spearman([1.0, 2.0], [1.0, 2.0]))  # fewer than 3 pairs
    assert math.isnan(stats.spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # constant
    with pytest.raises(ValueError, match="^y: expected 3 values"):
        stats.spearman([1.0, 2.0, 3.0], [1.0, 2.0])


# ------------------------------------------------------------------------------------------------
# The paired McNemar test and the cluster bootstrap


def test_mcnemar_exact_hand_values_and_scipy():
    assert stats.mcnemar_exact(0, 0) == 1.0  # no discordant pair: no evidence
    assert stats.mcnemar_exact(5, 0) == 2 / 2**5  # one tail of 1/32, doubled
    assert stats.mcnemar_exact(0, 5) == stats.mcnemar_exact(5, 0)  # two-sided: symmetric
    assert stats.mcnemar_exact(3, 3) == 1.0
    # the audit's pilot against never: 21 distill calls on gains, 10 on losses
    assert stats.mcnemar_exact(21, 10) == pytest.approx(0.0708, abs=5e-5)
    for b, c in [(1, 0), (2, 1), (7, 2), (12, 6), (21, 10), (40, 25), (0, 13), (60, 6), (150, 90)]:
        ref = scipy.stats.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
        assert stats.mcnemar_exact(b, c) == pytest.approx(ref, rel=1e-12, abs=1e-300)
    with pytest.raises(ValueError, match="^b"):
        stats.mcnemar_exact(-1, 2)
    with pytest.raises(ValueError, match="^c"):
        stats.mcnemar_exact(1, 2.5)


def _loop_bootstrap(clusters, num, den, draws, level, seed):
    """The cluster bootstrap written as a plain loop over the same draws (no bincount, no matmul)."""
    names = list(dict.fromkeys(clusters))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(names), size=(draws, len(names)))
    ratios = []
    for row in picks:
        top = bottom = 0.0
        for j in row:
            members = [i for i, c in enumerate(clusters) if c == names[j]]
            top += sum(num[i] for i in members)
            bottom += sum(den[i] for i in members)
        if bottom > 0:
            ratios.append(top / bottom)
    q = (1 - level) / 2
    return tuple(np.quantile(ratios, [q, 1 - q]))


def test_cluster_bootstrap_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    clusters = [("d", int(g)) for g in rng.integers(0, 5, size=30)]
    num = rng.integers(0, 2, size=30).astype(float)
    den = rng.integers(1, 3, size=30).astype(float)
    got = stats.cluster_bootstrap(clusters, num, den, draws=300, level=0.9, seed=7)
    assert got == pytest.approx(_loop_bootstrap(clusters, num, den, 300, 0.9, 7), abs=1e-12)
    # denominator None: the mean of the numerator
    ones = stats.cluster_bootstrap(clusters, num, draws=300, seed=7)
    assert ones == pytest.approx(_loop_bootstrap(clusters, num, [1.0] * 30, 300, 0.95, 7))


def test_cluster_bootstrap_known_answers():
    # every dataset identical (3 of 4 right): every resample gives 3/4, the interval collapses
    clusters = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    right = [1, 1, 1, 0] * 3
    assert stats.cluster_bootstrap(clusters, right) == pytest.approx((0.75, 0.75), abs=1e-15)
    # one cluster: every resample is the data itself (degenerate), whatever the spread inside
    low, high = stats.cluster_bootstrap(["only"] * 6, [1, 0, 0, 1, 1, 1])
    assert low == high == pytest.approx(4 / 6)
    # two equal clusters, one all right and one all wrong: resamples give 1, 1/2 or 0 with
    # probabilities 1/4, 1/2, 1/4, so the 95 % interval is [0, 1]; settings resampled alone
    # would give a much narrower interval around 1/2
    two = ["a"] * 5 + ["b"] * 5
    assert stats.cluster_bootstrap(two, [1] * 5 + [0] * 5) == (0.0, 1.0)
    # a difference of two paired indicators: the ratio is the difference of the two accuracies
    low, high = stats.cluster_bootstrap(["x", "x", "y", "y"], [1, 0, 1, 0])
    assert (low, high) == (0.5, 0.5)
    # the seed fixes the result; no observations: undefined
    args = (["a", "b", "b", "c"], [1.0, 0.0, 1.0, 0.0])
    assert stats.cluster_bootstrap(*args, seed=1) == stats.cluster_bootstrap(*args, seed=1)
    assert all(math.isnan(v) for v in stats.cluster_bootstrap([], []))
    # resamples with a zero denominator are left out
    low, high = stats.cluster_bootstrap(["a", "b"], [1.0, 0.0], [1.0, 0.0])
    assert low == high == 1.0


def test_cluster_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="^clusters: expected 2 labels"):
        stats.cluster_bootstrap(["a"], [1.0, 0.0])
    with pytest.raises(ValueError, match="^denominator: expected 2 values"):
        stats.cluster_bootstrap(["a", "b"], [1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="^denominator: expected numbers >= 0"):
        stats.cluster_bootstrap(["a", "b"], [1.0, 0.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="^numerator"):
        stats.cluster_bootstrap(["a"], [np.nan])
    with pytest.raises(ValueError, match="^draws"):
        stats.cluster_bootstrap(["a"], [1.0], draws=0)
