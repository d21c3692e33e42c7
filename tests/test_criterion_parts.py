"""The criterion's parts against hand computations: the subsampling interval, the bias allowance,
the cross-fitted CCA, and the trained-estimator paths (MINE for the teacher term, the probe for the
label term) on the known-answer triples."""

import math

import jax
import numpy as np
import pytest
from _shared_configs import TRAINED_CHECK

from cch_jax import criterion, mi
from cch_jax.criterion import _check, _estimate
from cch_jax.mi import tasks

# Every known-answer triple here (and tests/test_criterion.py::test_cch_triple_gap_and_shared_student)
# is drawn with N_TRIPLE rows, then cut to the rows a test needs (rows are independent draws): the
# eager sampler compiles its ~30 small programs for one shape only.
N_TRIPLE = 1200


def _triple(task, seed, n):
    """The first n of N_TRIPLE rows of ``task`` drawn with key ``seed``, as NumPy arrays."""
    return tuple(np.asarray(a)[:n] for a in task.sample(key=jax.random.key(seed), n=N_TRIPLE))


# Student's t quantiles t_{df, 0.95} from the tables (the 90% two-sided interval), not from SciPy.
T95 = {3: 2.353363434801823, 7: 1.894578605090007}


# --- the interval ------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.5, 0.25])
def test_interval_is_the_jackknife_formula_of_the_docstring(fraction):
    """centre = mean(v); se = sd(v) sqrt(f / (1 - f) + 1 / R); centre +- t_{R-1, 0.95} se."""
    v = [0.1, 0.3, 0.2, 0.6]
    centre = 0.3
    sd = math.sqrt((0.2**2 + 0.0 + 0.1**2 + 0.3**2) / 3)  # ddof 1
    se = sd * math.sqrt(fraction / (1 - fraction) + 1 / 4)
    got = _estimate.interval(np.asarray(v), fraction=fraction, level=0.9)
    np.testing.assert_allclose(
        got, (centre, centre - T95[3] * se, centre + T95[3] * se), rtol=1e-12
    )
    # eight values: R - 1 = 7 degrees of freedom; a constant sample has a zero-width interval
    w = np.linspace(1.0, 2.0, 8)
    se8 = np.std(w, ddof=1) * math.sqrt(fraction / (1 - fraction) + 1 / 8)
    low = _estimate.interval(w, fraction=fraction, level=0.9)[1]
    assert low == pytest.approx(1.5 - T95[7] * se8, rel=1e-12)
    assert _estimate.interval(np.full(5, 0.7), fraction=fraction, level=0.9) == pytest.approx(
        (0.7, 0.7, 0.7), abs=1e-15
    )


# --- the bias allowance ------------------------------------------------------------------------


def test_gap_interval_is_widened_by_exactly_allowance_times_the_larger_term():
    teacher = np.array([1.0, 1.2, 1.1, 0.9])
    label = np.array([0.5, 0.6, 0.4, 0.5])
    plain, zero = _check.gap_estimate(teacher, label, fraction=0.5, level=0.9, bias_allowance=0.0)
    wide, allowance = _check.gap_estimate(
        teacher, label, fraction=0.5, level=0.9, bias_allowance=0.2
    )
    assert zero == 0.0 and allowance == pytest.approx(0.2 * 1.05, rel=1e-12)  # max(1.05, 0.5)
    sampling = _estimate.interval(teacher - label, fraction=0.5, level=0.9)
    assert (plain.value, plain.low, plain.high) == pytest.approx(sampling, rel=1e-12)
    assert wide.value == plain.value
    assert wide.low == pytest.approx(plain.low - 0.21, rel=1e-12)
    assert wide.high == pytest.approx(plain.high + 0.21, rel=1e-12)
    # a negative term counts by its magnitude
    _, neg = _check.gap_estimate(-teacher, label, fraction=0.5, level=0.9, bias_allowance=0.2)
    assert neg == pytest.approx(0.21, rel=1e-12)


def test_a_growing_allowance_turns_holds_into_undecided():
    """Same data and key: the centre and sampling interval do not move; the gap interval widens by
    allowance x max(I(Ht;Hs), I(Hs;Y)) and the verdict goes from 'holds' to 'undecided'."""
    task = tasks.cch_triple(0.4)
    # 1000 of 1200 rows drawn (N_TRIPLE); on 8 such draws (keys 2-9): 'holds' with gap_low 0.11-0.25
    # at allowance 0 and 'undecided' at 1.0 on every one
    ht, hs, y = _triple(task, 2, 1000)
    rows = {}
    for allowance in (0.0, 0.1, 1.0):
        config = criterion.CheckConfig(repeats=4, bias_allowance=allowance)
        res = criterion.check(hs, y, {"t": ht}, key=jax.random.key(0), config=config)
        rows[allowance] = res.rows()[0]
    base = rows[0.0]
    assert base["verdict"] == "holds" and base["bias_allowance"] == 0.0
    assert rows[1.0]["verdict"] == "undecided"
    # (the allowance takes the float32 mean of the teacher values, the row the float64 one: 1e-7)
    larger = max(abs(base["mi_teacher_student"]), abs(base["mi_student_label"]))
    for allowance in (0.1, 1.0):
        row = rows[allowance]
        assert row["gap"] == base["gap"] and row["mi_teacher_student"] == base["mi_teacher_student"]
        assert row["bias_allowance"] == pytest.approx(allowance * larger, rel=1e-6)
        assert row["gap_low"] == pytest.approx(base["gap_low"] - row["bias_allowance"], abs=1e-12)
        assert row["gap_high"] == pytest.approx(base["gap_high"] + row["bias_allowance"], abs=1e-12)


# --- the cross-fitted CCA ----------------------------------------------------------------------


def test_cross_fitted_cca_sees_no_correlation_in_pure_noise():
    """Canonical directions fitted on 500 rows of independent noise (8 + 8 columns) find sample
    correlations (~0.19 for the first pair) in those rows, but applied to 2 000 other rows the
    variates are uncorrelated (sd of a correlation ~ 1 / sqrt(2000) = 0.022)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2500, 8)), rng.normal(size=(2500, 8))
    fit, held = slice(0, 500), slice(500, None)

    def corr(zx, zy):
        return np.array([np.corrcoef(zx[:, i], zy[:, i])[0, 1] for i in range(zx.shape[1])])

    zx, zy, rho = _estimate.cca_project(x[fit], y[fit], x[fit], y[fit], 4, 1e-3)
    in_sample = corr(zx, zy)
    np.testing.assert_allclose(in_sample, rho, atol=1e-3)  # in-sample variates reproduce rho
    assert in_sample[0] > 0.12 and np.all(np.diff(rho) <= 0)
    zx, zy, rho_held = _estimate.cca_project(x[fit], y[fit], x[held], y[held], 4, 1e-3)
    np.testing.assert_array_equal(rho_held, rho)  # the fitted correlations, not re-estimated
    assert zx.shape == (2000, 4) and np.max(np.abs(corr(zx, zy))) < 0.1
    # with real shared signal the cross-fitted first pair keeps it: corr 0.6 in one direction
    y2 = y.copy()
    y2[:, 0] = 0.6 * x[:, 0] + 0.8 * y[:, 0]
    zx, zy, _ = _estimate.cca_project(x[fit], y2[fit], x[held], y2[held], 4, 1e-3)
    assert corr(zx, zy)[0] == pytest.approx(0.6, abs=0.05)


# --- trained estimators: MINE (teacher term) and the probe (label term) -------------------------


# 14.5 s on the 2-core machine at load ~2 (93 s at load ~8): under the 20 s of a slow test
def test_mine_teacher_term_and_probe_label_term_on_known_gaps():
    """estimators=("mine",), label_estimator="probe" on the triples with gap +-0.4 (truths:
    I(Ht;Hs) 1.245 / 0.445 nats, I(Hs;Y) 0.845 nats). The two triples share student and labels, so
    the probe's label term is the same number in both; MINE's teacher terms separate by ~0.8."""
    config = TRAINED_CHECK  # tests/test_compile_cache.py builds the same programs
    rows = {}
    for gap in (0.4, -0.4):
        task = tasks.cch_triple(gap)
        ht, hs, y = _triple(task, 1, 1200)
        res = criterion.check(
            hs, y, {"t": ht}, key=jax.random.key(0), estimators=("mine",), config=config
        )
        assert (res.estimators, res.label_estimator) == (("mine",), "probe")
        rows[gap] = row = res.rows()[0]
        assert row["mi_teacher_student"] == pytest.approx(task.mi_teacher_student(), abs=0.25)
        truth_label = task.mi_student_label()
        assert truth_label - 0.2 < row["mi_student_label"] < truth_label + 0.05  # a lower bound
    assert rows[0.4]["mi_student_label"] == rows[-0.4]["mi_student_label"]
    assert 0.5 < rows[0.4]["gap"] - rows[-0.4]["gap"] < 1.0
    assert rows[0.4]["gap"] > 0 > rows[-0.4]["gap"]


def test_trained_estimators_run_on_small_data_with_the_defaults():
    """400 rows: each subsample has 200 rows, MINE trains on 100 and the autoencoders on fewer,
    below the default batches (256, 128); the criterion caps the batch at the training split
    (it used to raise 'batch_size: must be <= the training split')."""
    triple = mi.tasks.cch_triple(0.4, key=jax.random.key(1))
    h_t, hs, y = _triple(triple, 2, 400)
    cfg = criterion.CheckConfig(
        repeats=2,
        mine=mi.MINEConfig(steps=100),
        latent=mi.LatentMIConfig(max_epochs=2, patience=1),
    )
    assert cfg.mine.training_rows(200) == 100 < cfg.mine.batch_size
    res = criterion.check(
        hs, y, {"t": h_t}, key=jax.random.key(0), estimators=("mine", "latent"), config=cfg
    )
    assert all(np.isfinite(r["mi_teacher_student"]) for r in res.rows())
    assert [r["estimator"] for r in res.rows()] == ["mine", "latent"]
