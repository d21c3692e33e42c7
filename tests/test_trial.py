"""`cch trial`: the data file, the sequential rule (by simulation, no training), and the command end
to end on tiny data (digits: left half = student, right half = a teacher view), with resuming.

The simulations (pure NumPy, 20 000 trials of max_seeds = 10, alpha = 0.05, looks 3, 5, 7, 10,
``numpy.random.default_rng(7)`` for the nulls and 3 for the effects) measured, with the default
O'Brien-Fleming-type spending (Pocock-type in brackets):

* false calls under Δ = 0 (each rate's Monte Carlo standard error <= 0.0016): normal
  differences 0.042 (0.040); heavier tails: Student t with 3 degrees of freedom 0.031 (0.028),
  Laplace 0.030 (0.025), Cauchy 0.013 (0.014). Coarse differences, uniform on {-1, 0, 1} (KD
  moving one held-out row either way, the worst case found): 0.0507 +- 0.0003 over 400 000 trials
  (0.034), slightly above alpha: the t-test is anti-conservative at small levels on 3-point data;
  the 5-point {-2..2} case gives 0.039 (0.018).
* power to call 'distill' for normal differences with mean Δ = 0.5, 1, 1.25, 1.5, 2 seed standard
  deviations: 0.24, 0.73, 0.90, 0.98, 1.00 (0.16, 0.56, 0.77, 0.91, 1.00), after 9.7, 8.8, 8.2,
  7.5, 6.4 seeds on average (9.5, 8.6, 7.9, 7.1, 5.7); a fixed 10-seed t-test at 0.05 has 0.29,
  0.80, 0.94, 0.99, 1.00. The benchmark's significant KD effects had a median of 1.25 seed
  standard deviations (quartiles 0.93 and 1.87).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math

import numpy as np
import pytest

from cch_jax import bench, cli, data, kd
from cch_jax.bench import _sequential, _trial
from cch_jax.kd import _runs

# --------------------------------------------------------------------------------------------------
# The data file


def _arrays(n=60, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return {
        "x_student": rng.normal(size=(n, 4)).astype(np.float32),
        "y": y,
        "x_teacher_rgb": rng.normal(size=(n, 2, 3)).astype(np.float32),
        "logits_teacher_mine": rng.normal(size=(n, classes)).astype(np.float32),
    }


def test_file_round_trip(tmp_path):
    arr = _arrays()
    arr["x_teacher"] = arr.pop("x_teacher_rgb")
    arr["train"] = np.arange(60) < 45
    path = tmp_path / "d.npz"
    np.savez(path, **arr)
    f = data.load_paired_file(path)
    assert f.teacher_names == ("teacher", "mine")
    assert f.num_classes == 3 and f.num_rows == 60 and f.source == str(path)
    assert f.teacher_views["teacher"].shape == (60, 2, 3) and f.train.dtype == bool
    assert f.labels.dtype == np.int32 and f.key_of("mine") == "logits_teacher_mine"
    assert f.key_of("teacher") == "x_teacher"


def _drop(key):
    def edit(a):
        del a[key]

    return edit


def _set(key, value):
    def edit(a):
        a[key] = value(a) if callable(value) else value

    return edit


@pytest.mark.parametrize(
    "edit, starts",
    [
        (_drop("x_student"), "x_student: missing"),
        (_drop("y"), "y: missing"),
        (lambda a: [a.pop("x_teacher_rgb"), a.pop("logits_teacher_mine")], "x_teacher: no teacher"),
        (_set("x_techer_b", np.zeros((60, 2))), "x_techer_b: unknown array"),
        (_set("x_teacher_rgb", np.zeros((59, 2))), "x_teacher_rgb: mismatched number of rows"),
        (_set("y", lambda a: a["y"] + 0.5), "y: expected integer class labels, got 0.5"),
        (_set("y", np.array(["a"] * 60)), "y: expected integer class labels"),
        (_set("y", lambda a: a["y"] - 1), "y: classes must be 0 .. C-1"),
        (_set("y", np.zeros(60, int)), "y: expected at least 2 classes"),
        (_set("x_student", lambda a: np.where(a["x_student"] > 2.5, np.nan, 0.0)), "x_student: "),
        (_set("logits_teacher_mine", np.zeros((60, 2))), "logits_teacher_mine: 2 logits per row"),
        (
            _set("x_teacher_mine", np.zeros((60, 2))),
            "x_teacher_mine: teacher 'mine' is given twice",
        ),
        (_set("x_teacher_a b", np.zeros((60, 2))), "x_teacher_a b: teacher name"),
        (_set("train", np.arange(60) % 3), "train: expected a boolean mask"),
        (_set("x_student", np.zeros(60)), "x_student: expected [n, d]"),
    ],
)
def test_every_file_problem_names_its_key(edit, starts):
    arr = _arrays()
    edit(arr)
    with pytest.raises(ValueError) as err:
        data.paired_file(arr)
    assert str(err.value).startswith(starts), str(err.value)


def test_unreadable_file_names_the_path(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="^path: .* is not a .npz file"):
        data.load_paired_file(bad)
    with pytest.raises(ValueError, match="^path: no such file"):
        data.load_paired_file(tmp_path / "missing.npz")


def test_split_rows_and_its_refusals():
    y = np.repeat([0, 1, 2], 20)
    part = _trial.split_rows(y, seed=3)
    for c in range(3):  # stratified: every class in every part
        assert set(part[y == c]) == {0, 1, 3}
    assert 0.2 <= np.mean(part == 3) <= 0.3
    assert np.sum(part == 1) / np.sum(part != 3) == pytest.approx(0.2, abs=0.05)  # of training
    train = np.arange(60) % 4 != 0
    part = _trial.split_rows(y, train)
    np.testing.assert_array_equal(part == 3, ~train)
    with pytest.raises(ValueError, match="^y: class 2 has 2 row"):
        _trial.split_rows(np.array([0, 0, 0, 1, 1, 1, 2, 2]))
    with pytest.raises(ValueError, match="^train: every row is a training row"):
        _trial.split_rows(y, np.ones(60, bool))
    with pytest.raises(ValueError, match="^train: class 2 has held-out rows but no training"):
        _trial.split_rows(y, y != 2)
    with pytest.raises(ValueError, match="^y: class 0 has 1 training row"):
        _trial.split_rows(y, (y != 0) | (np.arange(60) == 0))


@pytest.mark.parametrize(
    "n_fit, batch, cap, patience", [(20, 8, 300, 15), (1078, 128, 300, 15), (4000, 128, 78, 5)]
)
def test_sizes_follow_the_benchmark_rules(n_fit, batch, cap, patience):
    b, stop = _trial.stop_rule(n_fit)
    assert (b, stop.max_epochs, stop.patience) == (batch, cap, patience)
    assert b == kd.batch_size_for(n_fit)


# --------------------------------------------------------------------------------------------------
# The sequential rule


@pytest.mark.parametrize(
    "max_seeds, looks",
    [(3, (3,)), (4, (3, 4)), (6, (3, 5, 6)), (10, (3, 5, 7, 10)), (22, (3, 5, 7, 10, 15, 20, 22))],
)
def test_look_schedule(max_seeds, looks):
    assert bench.look_schedule(max_seeds) == looks


@pytest.mark.parametrize("spending", _sequential.SPENDING)
def test_levels_spend_exactly_alpha(spending):
    scipy_stats = pytest.importorskip("scipy.stats")
    rule = bench.sequential_rule(10, alpha=0.05, spending=spending)
    assert sum(rule.alpha_look) == pytest.approx(0.05, abs=1e-15)
    assert all(a > 0 for a in rule.alpha_look)
    for a, n, c in zip(rule.alpha_look, rule.looks, rule.critical_t, strict=True):
        assert c == pytest.approx(scipy_stats.t.ppf(1 - a / 2, n - 1), rel=1e-9)
    if spending == "pocock":
        np.testing.assert_allclose(rule.alpha_look, [0.02079, 0.01022, 0.00848, 0.01051], atol=5e-6)


def test_too_few_seeds_are_refused_naming_max_seeds():
    for n in (0, 1, 2):
        with pytest.raises(ValueError, match="^max_seeds: .* can never reach alpha"):
            bench.TrialConfig(max_seeds=n)
    with pytest.raises(ValueError, match="^alpha: "):
        bench.TrialConfig(alpha=0.7)


def test_paired_t_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for s in (2, 3, 5, 10, 30):
        d = rng.normal(0.4, 1.0, size=s)
        got = bench.paired_t(d)
        ref = scipy_stats.ttest_1samp(d, 0.0)
        lo, hi = scipy_stats.t.interval(0.95, s - 1, loc=d.mean(), scale=scipy_stats.sem(d))
        assert got.p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
        assert got.t == pytest.approx(ref.statistic, rel=1e-12)
        assert (got.low, got.high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    tie = bench.paired_t([2.0, 2.0, 2.0])
    assert math.isnan(tie.p) and tie.low == tie.high == 2.0
    assert bench.paired_t([0.0, 0.0, 0.0]).p == 1.0


def test_decide_is_p_below_the_look_level():
    rule = bench.sequential_rule(10)
    rng = np.random.default_rng(1)
    for k, n in enumerate(rule.looks):
        d = rng.normal(1.0, 1.0, size=(400, n))
        codes = _sequential.decide(d, rule, k)
        for row, c in zip(d, codes, strict=True):
            p = bench.paired_t(row).p
            assert (c != 0) == (p <= rule.alpha_look[k]), (p, rule.alpha_look[k])
            assert c in (0, np.sign(row.mean()))
    assert _sequential.decide(np.full((1, 3), 5.0), rule, 0)[0] == 0  # no spread: no call


def _false_calls(draw, spending, r=20_000):
    rule = bench.sequential_rule(10, alpha=0.05, spending=spending)
    codes, seeds = _sequential.simulate(draw(np.random.default_rng(7), (r, 10)), rule)
    return float(np.mean(np.isin(codes, (_sequential.DISTILL, _sequential.DONT)))), seeds


_NULLS = {
    "normal": lambda g, size: g.normal(size=size),
    "student_t3": lambda g, size: g.standard_t(3, size=size),
    "laplace": lambda g, size: g.laplace(size=size),
    "cauchy": lambda g, size: g.standard_cauchy(size=size),
}
_MC = 3 * math.sqrt(0.05 * 0.95 / 20_000)  # 3 standard errors of a rate of 0.05 over 20 000


@pytest.mark.parametrize("spending", _sequential.SPENDING)
@pytest.mark.parametrize("null", list(_NULLS))
def test_false_call_rate_under_no_effect_is_at_most_alpha(null, spending):
    # the tolerance keeps a fixed-seed run from failing by chance if the true rate were exactly
    # alpha; the union bound makes it lower (the module docstring lists the measured rates)
    rate, seeds = _false_calls(_NULLS[null], spending)
    assert rate <= 0.05 + _MC, rate
    assert seeds.mean() > 9.5  # under no effect nearly every trial runs to max_seeds


@pytest.mark.parametrize("spending, bound", [("obrien_fleming", 0.0515), ("pocock", 0.05)])
def test_false_call_rate_on_coarse_differences(spending, bound):
    # differences uniform on {-1, 0, 1}: the t-test is anti-conservative on 3-point data; over
    # 400 000 trials the O'Brien-Fleming rule's rate is 0.0507 +- 0.0003 (documented, and a call
    # on such differences carries a warning); the bound adds Monte Carlo room to that rate
    rate, _ = _false_calls(lambda g, size: g.integers(-1, 2, size=size).astype(float), spending)
    assert rate <= bound + _MC, rate


def test_power_and_seeds_under_a_real_effect():
    rule = bench.sequential_rule(10)  # obrien_fleming
    rng = np.random.default_rng(3)
    codes, seeds = _sequential.simulate(rng.normal(1.5, 1.0, size=(20_000, 10)), rule)
    assert np.mean(codes == _sequential.DISTILL) > 0.95
    assert np.mean(codes == _sequential.DONT) < 0.001
    assert seeds.mean() < 8.0  # stops early on most trials
    codes, _ = _sequential.simulate(-rng.normal(1.5, 1.0, size=(20_000, 10)), rule)
    assert np.mean(codes == _sequential.DONT) > 0.95


def test_futility_stops_small_effects_undecided():
    rule = bench.sequential_rule(10, min_effect=1.0)
    rng = np.random.default_rng(4)
    codes, seeds = _sequential.simulate(rng.normal(0.0, 0.2, size=(2_000, 10)), rule)
    assert np.mean(codes == _sequential.FUTILE) > 0.9 and np.median(seeds) <= 5


def _batch(nokd, kd, control):
    n = len(nokd)
    arms = {"nokd": nokd, "kd": kd, "control": control}
    out = {k: np.asarray(v, float) for k, v in arms.items()}
    out.update({f"epochs_{k}": np.full(n, 10) for k in arms})
    return dict(out, seeds=np.arange(n), seconds=np.asarray(2.0))


def test_verdict_reports_both_deltas_and_warns_on_coarse_differences():
    rule = bench.sequential_rule(4)
    teacher = {"epochs": 7, "seconds": 1.0, "val_accuracy": 90.0, "test_accuracy": 91.0}
    batches = [_batch([80, 81, 79], [82, 84, 80], [81, 81, 80]), _batch([80], [83], [80])]
    t = _trial._verdict("rgb", "view", batches, rule, 1, 1, dict(teacher, warning=""))
    assert (t.call, t.stopped, t.seeds, t.look) == ("distill", "significant", 4, 2)
    assert t.delta_kd == pytest.approx(2.25) and t.delta_transfer == pytest.approx(1.75)
    assert t.p_kd == pytest.approx(bench.paired_t([2, 3, 1, 3]).p)
    assert t.epochs == 7 + 3 * 4 * 10 and t.cost_s == pytest.approx(5.0)
    assert "3 distinct values" in _trial._coarse_warning(t)  # Δ_KD in {1, 2, 3}
    assert t.advice().startswith("rgb: distill: KD from it raised held-out accuracy by 2.25")
    u = _trial._verdict("x", "logits", batches[:1], rule, 0, 0, dict(teacher, warning=""))
    assert u.call == "undecided" and u.stopped == "max_seeds" and _trial._coarse_warning(u) == ""
    # a look reads its first seeds only; the seeds trained past it count in the cost alone
    e = _trial._verdict("rgb", "view", batches, rule, 0, 0, dict(teacher, warning=""))
    assert e.seeds == 3 and e.look == 1 and e.delta_kd == pytest.approx(2.0)
    np.testing.assert_array_equal(e.accuracy_kd, [82, 84, 80])
    assert e.epochs == t.epochs and e.cost_s == t.cost_s


def test_mde_of_the_t_test_has_no_sign_flip_floor():
    d = [1.0, 2.0, 0.5]
    assert bench.min_detectable_effect(d) == math.inf  # sign-flip: 3 seeds never reach 0.05
    got = bench.min_detectable_effect(d, alpha=0.05, power=0.8, test="t")
    scipy_stats = pytest.importorskip("scipy.stats")
    want = (scipy_stats.t.ppf(0.975, 2) + scipy_stats.t.ppf(0.8, 2)) * np.std(d, ddof=1) / 3**0.5
    assert got == pytest.approx(want, rel=1e-9)


# --------------------------------------------------------------------------------------------------
# End to end: digits halves, a view teacher and a given (random) logits teacher


def _digits_images(rows=300):
    """``rows`` random 8x8 digits and their labels."""
    datasets = pytest.importorskip("sklearn.datasets")
    b = datasets.load_digits()
    idx = np.random.default_rng(0).permutation(len(b.target))[:rows]
    return b.images[idx].astype(np.float32), b.target[idx]


def _digits(tmp_path, rows=300):
    img, y = _digits_images(rows)
    path = tmp_path / "digits.npz"
    np.savez(
        path,
        x_student=img[:, :, :4],
        y=y,
        x_teacher_right=img[:, :, 4:],
        logits_teacher_random=np.random.default_rng(1).normal(size=(rows, 10)),
    )
    return path


ARGS = ["--max-seeds", "4", "--max-epochs", "3"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The command run once (its stdout and stderr kept); later tests rerun or read it."""
    tmp = tmp_path_factory.mktemp("trial")
    path = _digits(tmp)
    out, js = tmp / "out", tmp / "t.json"
    argv = ["trial", "--data", str(path), *ARGS, "--out", str(out), "--json", str(js)]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    return path, out, argv, js, (code, stdout.getvalue(), stderr.getvalue())


def test_cli_end_to_end_json_schema_and_calls(digits_run):
    path, out, argv, js, (code, text, err) = digits_run
    assert code == 0, err
    doc = json.loads(js.read_text())
    assert doc["schema"] == "cch-trial/1" and doc["cost_s"] > 0
    names = [t["name"] for t in doc["teachers"]]
    assert sorted(names) == ["random", "right"]
    deltas = [t["delta_kd"] for t in doc["teachers"]]
    assert deltas == sorted(deltas, reverse=True)  # ranked by Δ_KD
    for t in doc["teachers"]:
        assert t["call"] in ("distill", "dont", "undecided")
        assert t["seeds"] in (3, 4) and len(t["accuracy_kd"]) == t["seeds"]
        lo, hi = t["ci_kd"]
        assert lo <= t["delta_kd"] <= hi and 0 <= t["p_kd"] <= 1
        assert t["delta_transfer"] == pytest.approx(
            np.mean(np.subtract(t["accuracy_kd"], t["accuracy_control"]))
        )
        assert 0 <= t["p_transfer"] <= 1 and t["mde"] > 0 and t["epochs"] > 0
        assert t["advice"].startswith(f"{t['name']}: {t['call']}")
    random = next(t for t in doc["teachers"] if t["name"] == "random")
    assert random["kind"] == "logits" and "at chance" in random["warning"]
    assert doc["warnings"] and doc["rule"]["looks"] == [3, 4]
    assert doc["sizes"]["max_epochs"] == 3 and doc["sizes"]["student_features"] == 32
    assert "teacher right" in text and "transfer (KD - control)" in text
    assert "cch trial: look 1/2" in err and "WARNING: teacher 'random' is at chance" in err
    assert len(list(out.glob("runs-*/teacher-right.npz"))) == 1


def test_rerun_resumes_without_training(digits_run, capsys, monkeypatch):
    path, out, argv, js, _ = digits_run
    first = json.loads(js.read_text())

    def fail(*args, **kwargs):
        raise AssertionError("retrained a finished batch")

    monkeypatch.setattr(_trial, "_student_batch", fail)
    monkeypatch.setattr(_trial, "_train_teachers", fail)
    assert cli.main(argv) == 0
    capsys.readouterr()
    again = json.loads(js.read_text())
    assert again["trained"] == [] and len(again["cached"]) >= 3
    for a, b in zip(first["teachers"], again["teachers"], strict=True):
        assert (a["name"], a["call"], a["delta_kd"], a["seeds"]) == (
            b["name"],
            b["call"],
            b["delta_kd"],
            b["seeds"],
        )


def test_changed_settings_start_a_new_cache_folder(digits_run):
    path, out, *_ = digits_run
    f = data.load_paired_file(path)
    base = bench.TrialConfig(max_seeds=4, max_epochs=3)
    same = _trial._cache(out, f, base).dir
    # the decision's settings do not change a run: same folder, the runs are reused
    assert (
        _trial._cache(out, f, bench.TrialConfig(max_seeds=10, max_epochs=3, alpha=0.01)).dir == same
    )
    # a setting that changes a run starts a new folder beside the old one
    other = _trial._cache(out, f, bench.TrialConfig(max_seeds=4, max_epochs=3, kd_weight=0.3)).dir
    assert other != same and other.parent == same.parent


def test_interrupted_trial_resumes_the_missing_batch(digits_run, tmp_path, monkeypatch):
    path = digits_run[0]
    real = _trial._student_batch
    calls = []

    def interrupted(names, logits, x, y, part, seeds, *rest):
        if seeds[0] > 0:
            raise KeyboardInterrupt
        calls.append(seeds[0])
        return real(names, logits, x, y, part, seeds, *rest)

    # alpha 1e-4: no call at the looks 3 and 5 (the first batch, seeds 0-4), so both teachers
    # need the second batch (seeds 5-9) for the look at 6
    cfg = bench.TrialConfig(max_seeds=6, max_epochs=3, alpha=1e-4)
    monkeypatch.setattr(_trial, "_student_batch", interrupted)
    with pytest.warns(UserWarning, match="at chance"), pytest.raises(KeyboardInterrupt):
        bench.trial(path, cfg, out=tmp_path)
    assert calls == [0]
    calls.clear()
    monkeypatch.setattr(_trial, "_student_batch", lambda *a: calls.append(a[5][0]) or real(*a))
    with pytest.warns(UserWarning, match="at chance"):
        res = bench.trial(path, cfg, out=tmp_path)
    assert calls == [5]  # only the second batch (seeds 5-9) is trained
    assert "seeds0-4-right" in res.cached and "seeds5-9-right" in res.trained
    assert all(t.seeds == 6 and t.call == "undecided" for t in res.teachers)


def _logits_teachers():
    """Two given-logits teachers, so that no teacher network trains: the student programs alone.
    The student and rows are digits_run's, so that its student program (two teacher slots, 5
    seeds: 25 runs) is the one compiled here."""
    img, y = _digits_images()
    rng = np.random.default_rng(5)
    return data.paired_file(
        {
            "x_student": img[:, :, :4],
            "y": y,
            "logits_teacher_a": rng.normal(size=(y.size, 10)),
            "logits_teacher_b": 3.0 * np.eye(10)[y] + rng.normal(size=(y.size, 10)),
        }
    )


def _recorded(build, into: list):
    def recording(*args):
        into.append(build(*args))
        return into[-1]

    return recording


def test_one_program_serves_every_look(monkeypatch):
    # teacher a is made to call at the first look; b goes on to the look at 6 seeds, a second
    # batch (seeds 5-9) in which a's slot is padding: one shape, so nothing compiles again
    made = {}
    for name in ("_chunk_program", "_init_program"):
        made[name] = []
        # fresh jitted programs, whose caches hold this trial's compilations only
        recording = _recorded(getattr(_runs, name).__wrapped__, made[name])
        monkeypatch.setattr(_runs, name, functools.lru_cache(maxsize=32)(recording))
    runs = []
    train_runs = _runs.train_runs
    monkeypatch.setattr(
        _runs,
        "train_runs",
        lambda t, d, spec, **k: runs.append(spec.size) or train_runs(t, d, spec, **k),
    )
    decide, forced = _sequential.decide, []

    def first_look_calls(d, rule, look):
        if not forced:
            forced.append(look)
            return np.int8(_sequential.DISTILL)
        return decide(d, rule, look)

    monkeypatch.setattr(_sequential, "decide", first_look_calls)
    pairs = _logits_teachers()
    cfg = bench.TrialConfig(max_seeds=6, max_epochs=3, alpha=1e-4)
    with pytest.warns(UserWarning) as warned:  # a is at chance, and its 3 seeds are coarse
        both = {t.name: t for t in bench.trial(pairs, cfg).teachers}
    messages = [str(w.message) for w in warned]
    assert any("'a' is at chance" in m for m in messages)
    assert all(m.startswith("WARNING: teacher 'a'") for m in messages)
    assert (both["a"].call, both["a"].seeds) == ("distill", 3)
    assert (both["b"].call, both["b"].seeds) == ("undecided", 6)
    assert runs == [25, 25]  # 5 seeds x (no KD + 2 teacher slots x (KD, control)), twice
    for name, programs in made.items():
        assert len(programs) == 1 and programs[0]._cache_size() == 1, name  # compiled once
    # the padding changes no seed's result: b alone (one teacher slot) trains the same runs
    alone = bench.trial(pairs, cfg, teachers="b").teachers[0]
    assert runs[2:] == [15, 15]
    for arm in ("accuracy_nokd", "accuracy_kd", "accuracy_control"):
        np.testing.assert_array_equal(getattr(alone, arm), getattr(both["b"], arm))


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["--max-seeds", "2"], "--max-seeds: 2 seed(s) can never reach alpha"),
        (["--kd-weight", "0"], "--kd-weight: "),
        (["--teacher", "nope"], "--teacher: no teacher 'nope'"),
        (["--spending", "linear"], "--spending: "),
    ],
)
def test_cli_errors_name_the_flag(digits_run, capsys, extra, flag):
    path = digits_run[0]
    assert cli.main(["trial", "--data", str(path), "--out", str(path.parent / "e"), *extra]) == 2
    assert f"cch trial: error: {flag}" in capsys.readouterr().err


def test_cli_file_errors_name_the_data_flag_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    arr = _arrays()
    arr["x_student"][3, 1] = np.nan
    np.savez(bad, **arr)
    assert cli.main(["trial", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"cch trial: error: --data {bad}: x_student: contains 1 non-finite" in err
    assert cli.main(["trial", "--data", str(tmp_path / "none.npz")]) == 2
    assert "cch trial: error: --data: no such file" in capsys.readouterr().err
