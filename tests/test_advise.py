"""``predictors.advise``: a recommendation only from validated records, one plain line otherwise,
intervals and thresholds beside every computed score, the user's own teacher logits, and the
planned KD settings each score reads. Records here are hand-made, so every expectation is exact."""

import jax
import numpy as np
import pytest

from cch_jax import criterion, predictors
from cch_jax.criterion import CheckConfig

FAST = CheckConfig(repeats=3)


def _data(n=400, seed=0):
    """A 3-class student whose representation is noisy, and a teacher that sees the labels well."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    means = rng.normal(size=(3, 6)) * 2.0
    student = means[y] * 0.35 + rng.normal(size=(n, 6))
    teacher = means[y] + 0.5 * rng.normal(size=(n, 6))
    return student.astype(np.float32), y.astype(np.int32), teacher.astype(np.float32)


def _records(validated=(), **right):
    """Hand-made cch-bench-records/2: predictor -> (right, significant) on Δ_KD, abstentions
    counted as never; never distilling is right on 60 of 100. Names in ``validated`` passed the
    paired test (McNemar p 0.01, dataset bound of the gain > 0); the others did not (p 0.3)."""
    out = {"schema": predictors.RECORDS_SCHEMA, "settings": 200, "datasets": ["a", "b", "c"],
           "validated": {"kd": list(validated), "transfer": []}, "predictors": {},
           "base_rate": {"kd": dict(never_right=60, never_significant=100, majority="loss")}}  # fmt: skip
    for name, (r, n) in right.items():
        ok = name in validated
        entry = dict(significant_all=n, right_abstain_never=r, never_right=60,
                     mcnemar_p=0.01 if ok else 0.3, diff_never=r / n - 0.6,
                     diff_never_low=0.05 if ok else -0.1, diff_never_high=0.3, validated=ok,
                     threshold=None)  # fmt: skip
        out["predictors"][name] = {"kd": entry}
    return out


def test_nothing_validated_computes_nothing_and_says_so_in_one_line():
    s, y, t = _data()
    res = criterion.check(s, y, {"good": t}, key=jax.random.key(0), config=FAST)
    records = _records(never=(60, 100), teacher_better=(70, 100))
    a = predictors.advise(
        s, y, {"good": t}, key=jax.random.key(1), num_classes=3, check_result=res, records=records
    )
    assert a.validated == () and a.seconds == 0.0
    (good,) = a.teachers
    assert good.call == "trial" and good.predictor is None and not good.validated
    assert good.calls == ()  # no predictor computed to be thrown away
    assert "has beaten 'never distill'" in good.text and "cch trial" in good.text
    assert "never distill is right on 60 of 100" in good.text
    assert a.records["significant"] == 100 and a.records["never_right"] == 60


def test_a_validated_training_rule_sends_the_user_to_cch_trial_with_its_record():
    s, y, t = _data()
    records = _records(validated=("trial",), trial=(85, 100), never=(60, 100))
    a = predictors.advise(s, y, {"good": t}, key=jax.random.key(1), num_classes=3, records=records)
    (good,) = a.teachers
    assert good.calls == () and a.seconds == 0.0  # nothing computable is validated
    assert good.call == "trial" and good.predictor is None and not good.validated
    assert "no predictor computable before training is validated" in good.text
    assert "measuring KD is (trial: right on 85 of 100" in good.text and "cch trial" in good.text
    assert "cannot tell" not in good.text


def test_a_validated_predictor_is_computed_and_its_call_recommended():
    s, y, t = _data()
    records = _records(validated=("teacher_better",), teacher_better=(80, 100), never=(60, 100))
    a = predictors.advise(s, y, {"good": t}, key=jax.random.key(1), num_classes=3, records=records)
    (good,) = a.teachers
    assert [c.predictor for c in good.calls] == ["teacher_better"]
    c = good.calls[0]
    assert c.threshold == 0.0 and c.low <= c.score <= c.high
    # the teacher sees the classes far better than the noisy student: its call is decided
    assert c.low > 0 and c.call == "distill"
    assert good.call == "distill" and good.predictor == "teacher_better" and good.validated
    assert "validated on the benchmark" in good.text and "right on 80 of 100" in good.text


def test_a_score_whose_interval_holds_the_threshold_abstains():
    s, y, _ = _data()
    twin = s + 1e-3 * np.random.default_rng(5).normal(size=s.shape).astype(np.float32)
    records = _records(validated=("teacher_better",), teacher_better=(80, 100))
    a = predictors.advise(
        s, y, {"twin": twin}, key=jax.random.key(2), num_classes=3, records=records
    )
    (c,) = a.teachers[0].calls
    assert c.low <= 0.0 <= c.high and c.call == "abstain"
    assert a.teachers[0].call == "trial" and "cannot tell on this data" in a.teachers[0].text


def test_the_cch_sign_call_abstains_inside_the_gap_interval():
    s, y, t = _data()
    res = criterion.check(s, y, {"good": t, "self": s}, key=jax.random.key(0), config=FAST)
    a = predictors.advise(
        s, y, {"good": t, "self": s}, key=jax.random.key(1), num_classes=3, check_result=res,
        records=_records(), predictors=("cch_ksg", "cch_ksg_sign"),
    )  # fmt: skip
    for teacher in a.teachers:
        row = {c.predictor: c for c in teacher.calls}["cch_ksg_sign"]
        gap = res.estimates[(teacher.teacher, "ksg")]["gap"]
        inside = gap.low <= 0.0 <= gap.high
        assert (row.call == "abstain") == inside
        assert (row.low, row.high) == (gap.low, gap.high)


def test_teacher_logits_replace_the_probes_in_the_agreement_predictors():
    s, y, t = _data()
    kw = dict(key=jax.random.key(3), num_classes=3, records=None, predictors=("agreement_top1",))
    probe = predictors.advise(s, y, {"t": t}, **kw).teachers[0].calls[0]
    wrong = np.eye(3, dtype=np.float32)[(y + 1) % 3] * 10.0  # a teacher that is always wrong
    given = predictors.advise(s, y, {"t": t}, teacher_logits={"t": wrong}, **kw).teachers[0]
    assert given.calls[0].score < probe.score - 0.3  # the student's probe rarely says y + 1
    with pytest.raises(ValueError, match="^teacher_logits: 'x' is not one of the teachers"):
        predictors.advise(s, y, {"t": t}, teacher_logits={"x": wrong}, **kw)


def test_planned_settings_are_the_ones_each_score_reads():
    """PLANNED says which of kd_weight, temperature and n_train each score depends on: moving a
    setting moves exactly those scores (checked with the predictors' own calls)."""
    s, y, t = _data(n=300)
    base = dict(
        teacher_reps=t, student_reps=s, labels=y, num_classes=3, kd_weight=0.5, temperature=3.0,
        n_train=300,
    )  # fmt: skip
    names = [n for n in predictors.representation_predictors(False) if n not in ("always", "never")]

    def scores(**change):
        inputs = predictors.PredictorInputs(**{**base, **change})
        out = predictors.predict(inputs, names, key=jax.random.key(0))
        return {n: p.score for n, p in out.items()}

    ref = scores()
    for setting, value in (("kd_weight", 0.2), ("temperature", 1.0), ("n_train", 40)):
        moved = scores(**{setting: value})
        for n in names:
            changed = not np.isclose(moved[n], ref[n], rtol=1e-6, atol=1e-9)
            assert changed == (setting in predictors.PLANNED.get(n, ())), (n, setting)


def test_all_leaves_out_the_opt_in_predictors_and_unknown_names_fail():
    s, y, t = _data(n=200)
    a = predictors.advise(
        s, y, {"t": t}, key=jax.random.key(4), num_classes=3, records=None, predictors="all",
        repeats=2,
    )  # fmt: skip
    names = [c.predictor for c in a.teachers[0].calls]
    assert "grace" not in names and "theory_risk" in names
    assert all(c.record_text == "no benchmark record" for c in a.teachers[0].calls)
    assert a.teachers[0].call == "trial" and "no benchmark records" in a.teachers[0].text
    with pytest.raises(ValueError, match="^predictors: expected one of"):
        predictors.advise(s, y, {"t": t}, key=jax.random.key(4), num_classes=3, predictors="nope")


def test_shipped_records_validate_only_deciding_by_training_on_kd():
    """The measured records: no predictor computable before training beat never distilling with
    confidence, the trial did (docs/bench.md); the advice must say so rather than recommend."""
    from cch_jax.predictors._advise import _needs_training, representation_predictors

    records = predictors.load_records()
    assert records["schema"] == predictors.RECORDS_SCHEMA
    for entry in records["predictors"].values():
        kd = entry["kd"]
        assert kd["validated"] == predictors.is_validated(kd["mcnemar_p"], kd["diff_never_low"])
    validated = records["validated"]["kd"]
    assert "trial" in validated and all(_needs_training(n) for n in validated)
    assert not set(validated) & set(representation_predictors(False))
    assert predictors.best_predictor(records, "kd") in validated


def test_best_predictor_needs_a_validated_record():
    """A high Wilson bound is not enough: a predictor with a non-significant paired test is not
    validated, and best_predictor picks only among validated ones."""
    records = _records(validated=("b",), a=(95, 100), b=(70, 100))
    for entry in records["predictors"].values():
        entry["kd"]["accuracy_abstain_never"] = entry["kd"]["right_abstain_never"] / 100
    assert predictors.best_predictor(records, "kd") == "b"
    assert not predictors.is_validated(0.07, 0.2) and not predictors.is_validated(0.01, -0.01)
    assert predictors.is_validated(0.01, 0.01)
