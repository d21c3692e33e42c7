"""``check``'s advice: the representation-only predictors, their benchmark records and the
recommendation of the best-validated one."""

import json

import jax
import numpy as np
import pytest

from cch_jax import bench, criterion, predictors
from cch_jax.criterion import CheckConfig, _advice

FAST = CheckConfig(repeats=3)


def _data(n=600, seed=0):
    """A 3-class student whose representation is noisy, and a teacher that sees the labels well."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    means = rng.normal(size=(3, 6)) * 2.0
    student = means[y] * 0.35 + rng.normal(size=(n, 6))
    teacher = means[y] + 0.5 * rng.normal(size=(n, 6))
    return student.astype(np.float32), y.astype(np.int32), teacher.astype(np.float32)


def _records(validated=(), **accuracy):
    """Hand-made records: predictor -> (right, significant) on Δ_KD; the names in ``validated``
    passed the benchmark's paired test against never distilling (McNemar p 0.01, the dataset
    bootstrap's lower bound of the gain accuracy - 0.6), the others did not (p 0.3)."""
    out = {"schema": bench.RECORDS_SCHEMA, "settings": 100, "datasets": ["a", "b"],
           "base_rate": {}, "predictors": {}}  # fmt: skip
    for name, (right, sig) in accuracy.items():
        low, high = bench.wilson_interval(right, sig)
        ok = name in validated
        entry = dict(calls=sig, right=right, significant=sig, accuracy=right / sig,
                     accuracy_low=low, accuracy_high=high, auroc=None, settings=100,
                     datasets=2, scored="natural", threshold=None, significant_all=sig,
                     right_abstain_never=right, accuracy_abstain_never=right / sig,
                     mcnemar_p=0.01 if ok else 0.3,
                     diff_never_low=right / sig - 0.6 if ok else -0.1, validated=ok)  # fmt: skip
        out["predictors"][name] = {"kd": entry, "transfer": dict(entry)}
    out["base_rate"]["kd"] = dict(right=60, significant=100, majority="loss")
    return out


def test_representation_predictors_exclude_pilot_and_cch():
    names = _advice.representation_predictors(continuous=False)
    assert "pilot" not in names and not any(n.startswith("cch_") for n in names)
    assert {"theory_risk", "teacher_better", "agreement_top1", "logme_gap"} <= set(names)
    cont = _advice.representation_predictors(continuous=True)
    assert "agreement_top1" not in cont and "theory_risk" in cont
    for n in names:
        assert n in predictors.REGISTRY


def test_describe_record():
    rec = _records(never=(41, 52))["predictors"]["never"]
    low, high = bench.wilson_interval(41, 52)
    text = _advice.describe_record(rec)
    assert text.startswith("right on 41 of 52 significant effects on Δ_KD (79 %")
    assert f"95 % CI {100 * low:.0f}-{100 * high:.0f} %" in text
    assert text.endswith("; against never distilling: McNemar p = 0.3, not validated")
    valid = _records(validated=("never",), never=(41, 52))["predictors"]["never"]
    assert _advice.describe_record(valid).endswith("McNemar p = 0.01, validated")
    assert _advice.describe_record(None) == "no benchmark record"
    assert "Δ_transfer" in _advice.describe_record(rec, "transfer")


def test_recommendation_is_the_best_validated_predictors_call(monkeypatch):
    s, y, t = _data()
    # Validated: always (bound of the gain over never 1.0 - 0.6 = 0.4) and theory_risk (0.3);
    # never has the most right calls but is not validated. "always" is the best validated
    # predictor, so its call is the recommendation.
    records = _records(
        validated=("always", "theory_risk"), never=(90, 100), always=(30, 30), theory_risk=(9, 10)
    )
    monkeypatch.setattr(bench, "load_records", lambda path=None: records)
    res = criterion.check(s, y, {"good": t}, key=jax.random.key(0), config=FAST)
    a = res.advice["good"]
    assert bench.best_predictor(records, "kd", among=list(a["predictions"])) == "always"
    rec = a["recommendation"]
    assert rec["by"] == "always" and rec["call"] == "distill"
    assert "the predictor with the best validated record" in rec["text"]
    assert rec["text"].endswith("the base rate (never distill) is right on 60 of 100")
    assert a["predictions"]["never"]["record_text"].startswith("right on 90 of 100")
    assert a["predictions"]["grace"]["record_text"] == "no benchmark record"
    # the CCH rows' calls come from check's own estimates
    row = res.rows()[0]
    assert a["predictions"]["cch_ksg"]["call"] == _advice.VERDICT_CALLS[row["verdict"]]
    assert a["predictions"]["cch_ksg"]["score"] == pytest.approx(row["gap"])
    # teacher_better: the teacher's probe is far more accurate than the noisy student's
    assert a["predictions"]["teacher_better"]["call"] == "distill"
    out = json.loads(json.dumps(res.to_dict()))
    assert out["records"] == {
        "schema": bench.RECORDS_SCHEMA,
        "settings": 100,
        "datasets": ["a", "b"],
    }
    assert out["recommendations"] == [
        {"teacher": "good", "call": "distill", "by": "always", "target": "kd", "text": rec["text"]}
    ]
    assert "recommendation: distill" in res.table()


def test_no_validated_predictor_no_recommendation(monkeypatch):
    """Records where no predictor beat never distilling on the paired test: no recommendation,
    whatever the accuracies and their Wilson bounds."""
    s, y, t = _data(n=400)
    records = _records(never=(90, 100), always=(30, 30), theory_risk=(9, 10))
    monkeypatch.setattr(bench, "load_records", lambda path=None: records)
    res = criterion.check(s, y, {"t": t}, key=jax.random.key(0), config=FAST)
    a = res.advice["t"]
    assert a["recommendation"] is None
    assert a["predictions"]["always"]["record_text"].endswith("not validated")
    assert "recommendation: none (no predictor has a validated record)" in res.table()
    assert res.to_dict()["recommendations"] == [
        {"teacher": "t", "call": None, "by": None, "target": None, "text": None}
    ]


def test_no_record_no_recommendation_and_advice_off(monkeypatch):
    s, y, t = _data(n=400)
    monkeypatch.setattr(bench, "load_records", lambda path=None: None)
    res = criterion.check(s, y, {"t": t}, key=jax.random.key(0), config=FAST)
    assert res.advice["t"]["recommendation"] is None and res.records is None
    assert "no benchmark records are shipped" in res.table()
    off = criterion.check(
        s, y, {"t": t}, key=jax.random.key(0), config=CheckConfig(repeats=3, advice=False)
    )
    assert off.advice is None and "predictors" not in off.timings_s
    assert off.to_dict()["predictors"] is None
    assert off.verdicts == res.verdicts  # the advice does not change the CCH verdict


def test_advice_settings_are_validated():
    with pytest.raises(ValueError, match="^kd_weight:"):
        CheckConfig(kd_weight=0.0)
    with pytest.raises(ValueError, match="^temperature:"):
        CheckConfig(temperature=-1.0)
    with pytest.raises(ValueError, match="^n_train:"):
        CheckConfig(n_train=0)
    with pytest.raises(ValueError, match="^advice:"):
        CheckConfig(advice="yes")


def test_theory_predictor_reads_n_train(monkeypatch):
    """The theory predictor's call depends on how many rows the KD student will see."""
    s, y, t = _data(n=600)
    monkeypatch.setattr(bench, "load_records", lambda path=None: None)
    scores = {}
    for n_train in (20, 100_000):
        cfg = CheckConfig(repeats=3, n_train=n_train)
        res = criterion.check(s, y, {"t": t}, key=jax.random.key(0), config=cfg)
        scores[n_train] = res.advice["t"]["predictions"]["theory_risk"]["score"]
    # with much data the student needs no teacher: the relative risk reduction shrinks
    assert scores[20] > scores[100_000]


def test_fitted_predictors_call_with_the_benchmarks_threshold(monkeypatch):
    """agreement_top1's call uses the threshold the benchmark fitted, not its built-in default."""
    s, y, t = _data(n=400)
    calls = {}
    for threshold in (-1.0, 2.0):  # every agreement is above -1 and below 2
        records = _records(agreement_top1=(10, 20))
        records["predictors"]["agreement_top1"]["kd"]["threshold"] = threshold
        monkeypatch.setattr(bench, "load_records", lambda path=None, r=records: r)
        res = criterion.check(s, y, {"t": t}, key=jax.random.key(0), config=FAST)
        calls[threshold] = res.advice["t"]["predictions"]["agreement_top1"]["call"]
    assert calls == {-1.0: "distill", 2.0: "dont"}
