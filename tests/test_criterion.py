"""criterion.check, mi.probe_labels and the label/triple known-answer tasks."""

import json
import math

import jax
import numpy as np
import pytest

from cch_jax import _checks, criterion, mi
from cch_jax.criterion import CheckConfig
from cch_jax.mi import tasks

FAST = CheckConfig(repeats=4)
# Row counts shared by the end-to-end checks below: each distinct (rows, repeats) compiles the KSG
# and label programs anew, so the tests reuse n = 1000 and n = 600 (the known gaps keep 3000).
N_SHARED, N_SMALL = 1000, 600


# --- known-answer tasks ----------------------------------------------------------------------------


def test_mixture_label_mi_limits_and_monte_carlo():
    assert tasks.mixture_label_mi(4, 0.0) == pytest.approx(0.0, abs=1e-12)
    assert tasks.mixture_label_mi(4, 60.0) == pytest.approx(math.log(4), abs=1e-9)
    assert tasks.mixture_label_mi(3, 2.0) == pytest.approx(
        tasks.mixture_label_mi(3, 2.0, points=1 << 18), abs=1e-12
    )
    # Monte Carlo with the exact densities: mean of log p(u | y) / p(u), 200 000 draws.
    task = tasks.mixture_labels(4, 2.0, 1)
    h, y = task.sample(key=jax.random.key(0), n=200_000)
    u = np.asarray(h[:, 0], np.float64) * np.sign(task.q[0, 0])
    means = 2.0 * (np.arange(4) - 1.5)
    logp = -0.5 * (u[:, None] - means[None, :]) ** 2
    terms = logp[np.arange(len(u)), np.asarray(y)] - np.log(np.mean(np.exp(logp), axis=1))
    se = terms.std() / math.sqrt(len(terms))
    assert abs(terms.mean() - task.mutual_information()) < 4 * se


def test_cch_triple_gap_and_shared_student():
    a = tasks.cch_triple(0.3)
    b = tasks.cch_triple(-0.2)
    assert a.gap() == pytest.approx(0.3, abs=1e-12)
    assert b.gap() == pytest.approx(-0.2, abs=1e-12)
    assert a.mi_teacher_student() == pytest.approx(
        float(mi.correlation_mi(a.rho)) * a.shared_dims, rel=1e-6
    )
    # the row count of tests/test_criterion_parts.py's triples (N_TRIPLE): the sampler's programs
    # are compiled once for both files
    ta, sa, ya = a.sample(key=jax.random.key(1), n=1200)
    tb, sb, yb = b.sample(key=jax.random.key(1), n=1200)
    np.testing.assert_array_equal(sa, sb)  # same student and labels: teachers differ only
    np.testing.assert_array_equal(ya, yb)
    assert not np.allclose(ta, tb)
    c = tasks.cch_triple(0.1, target="continuous", label_rho=0.6)
    assert c.mi_student_label() == pytest.approx(float(mi.correlation_mi(0.6)), rel=1e-6)
    with pytest.raises(ValueError, match="^gap"):
        tasks.cch_triple(-5.0)


# --- the probe bound ---------------------------------------------------------------------------------


def test_probe_labels_known_answer_and_independence():
    # Linear probe = Bayes classifier here; 4 splits of 4 000 rows: sd ~0.007 over keys.
    task = tasks.mixture_labels(4, 2.0, 8)
    h, y = task.sample(key=jax.random.key(3), n=4000)
    keys = jax.random.split(jax.random.key(0), 4)
    est = jax.vmap(lambda k: mi.probe_labels(h, y, key=k).estimate)(keys)
    assert abs(float(est.mean()) - task.mutual_information()) < 0.05
    # independent labels, through the same vmapped program (same shapes: no second compilation);
    # every split, not one, must read ~0
    h0, y0 = tasks.mixture_labels(4, 0.0, 8).sample(key=jax.random.key(4), n=4000)
    est0 = jax.vmap(lambda k: mi.probe_labels(h0, y0, key=k))(keys)
    assert np.all(np.abs(np.asarray(est0.estimate)) < 0.03)
    np.testing.assert_allclose(est0.marginal_entropy, math.log(4), rtol=0, atol=0.05)


def test_probe_labels_near_dead_unit_cannot_blow_up_the_bound():
    """A ReLU-like column that is zero but for five tiny values (class 0) and one large value
    (class 1): a split with the tiny ones in training and the large one held out standardises it to
    ~1e4. Without the clip, 8 of these 16 splits gave -30 to -170 nats."""
    task = tasks.mixture_labels(4, 2.0, 8)
    # 1000 of 4000 rows drawn (the shape of the test above: no sampler programs for a new one); on
    # 8 such draws (keys 5-12) the 16 splits read 0.69-0.87
    h, y = task.sample(key=jax.random.key(5), n=4000)
    h, y = np.asarray(h)[:1000], np.array(y)[:1000]
    dead = np.zeros((1000, 1), np.float32)
    dead[:5, 0], dead[5, 0] = 1e-4, 1.0
    y[:5], y[5] = 0, 1
    h = np.concatenate([h, dead], axis=1)
    keys = jax.random.split(jax.random.key(0), 16)
    res = jax.vmap(lambda k: mi.probe_labels(h, y, key=k))(keys)
    assert np.all(np.isfinite(np.asarray(res.estimate)))
    # every split stays a sane lower bound of the truth (0.845 nats); with 500 training rows in 9
    # dimensions the probe reads 0.69-0.78 on these splits, with or without the dead column
    est = np.asarray(res.estimate)
    assert est.min() > task.mutual_information() - 0.25
    assert est.max() < task.mutual_information() + 0.05


def test_probe_labels_bad_input():
    h = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(ValueError, match="^labels"):
        mi.probe_labels(h, np.linspace(0, 1, 40), key=jax.random.key(0))
    with pytest.raises(ValueError, match="^num_classes"):
        mi.probe_labels(h, np.zeros(40, int), key=jax.random.key(0))
    with pytest.raises(ValueError, match="^l2"):
        mi.ProbeConfig(l2=(-1.0,))


# --- check end to end ---------------------------------------------------------------------------


def _scenario(target, n=3000, dim=24, gaps=(0.6, 0.0, -0.6), draw=None):
    """Student, labels and teachers of the triples with these gaps: the first n of ``draw`` rows
    (default n; rows are independent draws, so the tests on fewer rows of 24 columns cut them from
    3000, the shape of the known gaps, and the eager sampler compiles for one shape only)."""
    teachers = {}
    for g in gaps:
        task = tasks.cch_triple(g, target=target, dim_teacher=dim, dim_student=dim)
        ht, hs, y = task.sample(key=jax.random.key(1), n=draw or n)
        teachers[f"gap{g:+}"] = np.asarray(ht)[:n]
    return np.asarray(hs)[:n], np.asarray(y)[:n], teachers


@pytest.mark.parametrize("target, g", [("classes", 0.6), ("continuous", 0.4)])
def test_check_verdicts_on_known_gaps(target, g):
    # I(Hs;Y) = 0.845 (classes) / 0.511 (continuous); the gaps are +-0.7 / +-0.8 of it and 0.
    hs, y, teachers = _scenario(target, gaps=(g, 0.0, -g))
    res = criterion.check(hs, y, teachers, key=jax.random.key(0), label_kind=target, config=FAST)
    good, zero, bad = teachers
    assert res.verdicts == {good: "holds", zero: "undecided", bad: "fails"}
    assert res.ranking == (good, zero, bad)
    rows = res.rows()
    assert [r["teacher"] for r in rows] == list(teachers)
    for r in rows:
        assert r["gap_low"] <= r["gap"] <= r["gap_high"]
        assert r["mi_teacher_student_low"] <= r["mi_teacher_student"]
        # float32 subsample estimates: equal up to float32 rounding
        assert r["gap"] == pytest.approx(r["mi_teacher_student"] - r["mi_student_label"], abs=1e-5)
    assert "CCH holds" in res.table() and "sufficient" in res.table()


def test_check_json_schema():
    hs, y, teachers = _scenario("classes", n=N_SHARED, gaps=(0.6, -0.6), draw=3000)
    res = criterion.check(hs, y, teachers, key=jax.random.key(0), config=FAST)
    out = json.loads(json.dumps(res.to_dict()))
    assert out["schema"] == "cch-check/3" == criterion.SCHEMA
    for key in (
        "units", "label_kind", "num_classes", "n_rows", "n_rows_input", "subsampled", "student",
        "estimators", "label_estimator", "interval", "teachers", "ranking", "rows", "notes",
        "warnings", "timings_s", "config",
    ):  # fmt: skip
        assert key in out, key
    # the criterion alone: the advice is predictors.advise, called by cch check
    assert not {"predictors", "recommendations", "records", "advice"} & set(out)
    assert out["label_kind"] == "classes" and out["warnings"] == []
    assert out["units"] == "nats" and out["num_classes"] == 4 and out["subsampled"] is False
    assert out["interval"]["method"] == "subsampling" and out["interval"]["repeats"] == 4
    assert [t["name"] for t in out["teachers"]] == list(teachers)
    assert {t["verdict"] for t in out["teachers"]} <= {"holds", "fails", "undecided"}
    assert [t["rank"] for t in out["teachers"]] == [1, 2]
    assert set(out["rows"][0]) == set(criterion._result.ROW_FIELDS)


def test_check_subsamples_rows_beyond_max_rows_with_a_note():
    hs, y, teachers = _scenario("classes", n=N_SHARED, gaps=(0.6,), draw=3000)
    cfg = CheckConfig(repeats=FAST.repeats, max_rows=N_SMALL)  # the shapes of N_SMALL rows
    with pytest.warns(_checks.InputWarning, match="600 of the 1000"):
        res = criterion.check(hs, y, teachers, key=jax.random.key(0), config=cfg)
    assert res.n_rows == 600 and res.n_input == 1000
    assert any("600 of the 1000" in note for note in res.notes)
    assert "subsampled from 1000" in res.table()


def test_check_drops_constant_and_duplicated_columns_with_a_warning():
    hs, y, teachers = _scenario("classes", n=N_SMALL, gaps=(0.6,), draw=3000)
    hs = np.concatenate([hs, np.ones((N_SMALL, 1), np.float32), hs[:, :2]], axis=1)
    with pytest.warns(_checks.InputWarning, match="1 constant and 2 duplicated"):
        res = criterion.check(hs, y, teachers, key=jax.random.key(0), config=FAST)
    assert res.dims["student"] == (27, 24)


# --- bad input ----------------------------------------------------------------------------------


def _small():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), np.arange(60) % 3, {"t": rng.normal(size=(60, 2))}


@pytest.mark.parametrize(
    "change, pattern",
    [
        (lambda s, y, t: (s[:50], y, t), "^rows: .*student has 50"),
        (lambda s, y, t: (s, y, {"t": np.where(np.arange(120).reshape(60, 2) == 7, np.nan, t["t"])}),
         r"^teacher 't': contains 1 non-finite .*NaN at row 3, column 1"),
        (lambda s, y, t: (s, y + 0.5, t), "^labels: .*integer class labels"),
        (lambda s, y, t: (s, np.where(np.arange(60) == 0, 7, y), t), "^labels: class 7 has 1 row"),
        (lambda s, y, t: (s, y, {}), "^teachers: need at least one"),
        (lambda s, y, t: (s, y, {"t": np.array([None] * 60)}), "^teacher 't': has dtype object"),
        (lambda s, y, t: (np.ones((60, 3)), y, t), "^student: every column is constant"),
        (lambda s, y, t: (s, y, {"t": np.zeros((0, 2))}), "^teacher 't': is empty"),
        (lambda s, y, t: (s, np.zeros(60, int), t), "^labels: need at least 2 classes"),
    ],
)  # fmt: skip
def test_check_bad_input(change, pattern):
    s, y, t = change(*_small())
    with pytest.raises(ValueError, match=pattern):
        criterion.check(s, y, t, key=jax.random.key(0), config=FAST)


def test_check_bad_arguments():
    s, y, t = _small()
    with pytest.raises(ValueError, match="^estimators: unknown estimator 'knn'"):
        criterion.check(s, y, t, key=jax.random.key(0), estimators=("knn",))
    with pytest.raises(ValueError, match="^label_kind: expected one of"):
        criterion.check(s, y, t, key=jax.random.key(0), label_kind="labels")
    with pytest.raises(ValueError, match="^label_kind: expected one of"):  # the former name
        criterion.check(s, y, t, key=jax.random.key(0), target="labels")
    with pytest.raises(ValueError, match="^target: the former name of label_kind"):
        criterion.check(s, y, t, key=jax.random.key(0), label_kind="continuous", target="classes")
    with pytest.raises(ValueError, match="^label_estimator"):
        criterion.check(s, y, t, key=jax.random.key(0), config=CheckConfig(label_estimator="probe"),
                        label_kind="continuous")  # fmt: skip
    with pytest.raises(ValueError, match="^repeats"):
        CheckConfig(repeats=1)
    with pytest.raises(ValueError, match="^level"):
        CheckConfig(level=1.5)
    with pytest.raises(ValueError, match="^key"):
        criterion.check(s, y, t, key=None)


def test_small_data_warns_instead_of_a_silent_verdict():
    """27 rows in 2 classes: the table and the JSON carry a warning (fewer than
    MIN_ROWS_PER_CLASS rows per class; the gap interval wider than either term)."""
    # 1000 of the 3000 rows of 24 columns (was: 1000 rows of 8 columns; on 5 draws the 1000-row
    # check warns about nothing)
    hs, y, teachers = _scenario("classes", n=N_SHARED, gaps=(0.6,), draw=3000)
    y2 = (np.asarray(y) % 2).astype(np.int32)
    rows = np.concatenate([np.flatnonzero(y2 == 0)[:14], np.flatnonzero(y2 == 1)[:13]])
    res = criterion.check(
        hs[rows], y2[rows], {t: h[rows] for t, h in teachers.items()}, key=jax.random.key(0),
        config=FAST,
    )  # fmt: skip
    assert any(
        w.startswith("small data: 2 of 2 classes have fewer than 50 rows") for w in res.warnings
    )
    assert "warning: small data" in res.table()
    assert json.loads(json.dumps(res.to_dict()))["warnings"] == list(res.warnings)
    big = criterion.check(hs, y, teachers, key=jax.random.key(0), config=FAST)
    assert big.warnings == ()  # 1000 rows in 4 classes with a clear gap: nothing to warn about


def test_the_same_data_with_another_seed_gives_the_same_verdict():
    """Clear gaps of +-0.6 nats: every seed says holds / fails; the 0 gap may only be
    undecided (an interval that says so is the only way a verdict may move)."""
    # 1000 of the 3000 rows of 24 columns (was: 1000 rows of 8 columns); on 5 such draws x these
    # 3 seeds: holds / undecided / fails every time
    hs, y, teachers = _scenario("classes", n=N_SHARED, draw=3000)
    good, zero, bad = teachers
    for seed in (0, 1, 2):
        res = criterion.check(hs, y, teachers, key=jax.random.key(seed), config=FAST)
        assert res.verdicts[good] == "holds" and res.verdicts[bad] == "fails", seed
        assert res.verdicts[zero] == "undecided", seed


def test_rescaling_a_column_leaves_the_standardised_gap_alone_and_warns_by_default():
    """With standardize=True the columns are standardised before the projection, so a column in
    other units (x 1000, x 1e-3) moves the gap by float rounding only, far inside its interval,
    and never the verdict. By default (raw units: more accurate on the known-answer triples) the
    same rescaling is warned about, since the projection then follows the units."""
    # 1000 of the 3000 rows of 24 columns (was: 1500 rows of 40 columns; the KSG programs of the
    # 1000-row checks too). On 5 such draws: the same verdicts, standardised gaps equal, 3 unit
    # warnings in raw units, none without the rescaling
    hs, y, teachers = _scenario("classes", n=N_SHARED, gaps=(0.6, -0.6), draw=3000)
    scaled = {t: h.copy() for t, h in teachers.items()}
    for h in scaled.values():
        h[:, 3] *= 1000.0
    hs_scaled = hs.copy()
    hs_scaled[:, 0] *= 1e-3
    std = CheckConfig(repeats=4, standardize=True)
    a = criterion.check(hs, y, teachers, key=jax.random.key(0), config=std)
    b = criterion.check(hs_scaled, y, scaled, key=jax.random.key(0), config=std)
    assert a.verdicts == b.verdicts and b.warnings == ()
    for ra, rb in zip(a.rows(), b.rows(), strict=True):
        assert abs(rb["gap"] - ra["gap"]) < 0.1 * (ra["gap_high"] - ra["gap_low"])
    raw = criterion.check(hs_scaled, y, scaled, key=jax.random.key(0), config=FAST)
    units = [w for w in raw.warnings if w.startswith("units:")]
    assert len(units) == 3 and "--standardize" in units[0]  # the student and both teachers
    assert criterion.check(hs, y, teachers, key=jax.random.key(0), config=FAST).warnings == ()
