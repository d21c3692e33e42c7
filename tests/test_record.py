"""The trial record (cch_jax.bench._record): deciding by training, scored as the pilot is."""

import math

import numpy as np
import pytest

from cch_jax import bench
from cch_jax.bench import _board, _board_plots, _board_report, _plan, _record, _sequential

# --------------------------------------------------------------------------------------------------
# The calls, on hand-made per-seed differences


def test_trial_call_follows_cch_trials_rule_and_batches():
    # an almost noiseless gain: |t| far above 53.8, the O'Brien-Fleming bar at 3 seeds
    call, score, used, trained = _record.trial_call(
        np.array([2.0, 2.001, 1.999, 2, 2, 2, 2, 2, 2, 2]), 0.05
    )
    assert (call, used, trained) == ("distill", 3, 5) and score > 53.8
    # a clear loss with spread: not at 3 or 5 seeds (|t| < 5.53 there), called at 7 (|t| >= 3.45)
    d = -np.array([1.0, 3.5, 2.0, 0.5, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    rule = _sequential.sequential_rule(10, alpha=0.05)
    t5 = _sequential.paired_t(d[:5]).t
    t7 = _sequential.paired_t(d[:7]).t
    assert abs(t5) < rule.critical_t[1] and abs(t7) >= rule.critical_t[2]
    assert _record.trial_call(d, 0.05)[0::2] == ("dont", 7)
    assert _record.trial_call(d, 0.05)[3] == 10  # the second batch of 5 was trained
    # no effect: undecided after every seed, which the leaderboard reads as an abstention
    null = np.array([1.0, -1.0, 0.5, -0.5, 0.2, -0.2, 1.0, -1.0, 0.3, -0.3])
    assert _record.trial_call(null, 0.05)[0::2] == ("abstain", 10)
    # the same answer as the rule's own simulation, on random trials
    rng = np.random.default_rng(3)
    deltas = rng.normal(0.8, 1.0, size=(200, 10))
    codes, seeds = _sequential.simulate(deltas, rule)
    names = {_sequential.DISTILL: "distill", _sequential.DONT: "dont"}
    for d, c, n in zip(deltas, codes, seeds, strict=True):
        got = _record.trial_call(d, 0.05)
        assert got[0] == names.get(int(c), "abstain") and got[2] == n


def test_sign_call_is_the_pilots_rule():
    assert _record._sign_call(np.array([0.5])) == ("distill", pytest.approx(0.5e9))
    call, score = _record._sign_call(np.array([-1.0, 0.0, -2.0]))
    assert call == "dont" and score == pytest.approx(-1.0 / (1.0 / math.sqrt(3) + 1e-9))
    assert _record._sign_call(np.zeros(3))[0] == "dont"  # no gain measured: don't


def test_record_seeds_are_checked_and_disjoint_from_the_outcomes():
    with pytest.raises(ValueError, match="^record_seeds: .* 0 .* >= 3"):
        bench.BenchConfig(dataset="breast_cancer", record_seeds=2)
    cfg = bench.BenchConfig(dataset="breast_cancer")
    seeds = {v.name: set(v.seeds) for v in _plan.variants(cfg)}
    assert set(seeds) == {"pilot", "pilot_half", "record"}
    assert seeds["record"] == set(range(2000, 2010))
    for name, s in seeds.items():
        assert not s & set(cfg.seeds), name  # never the outcome's seeds
    assert [v.name for v in _plan.variants(bench.BenchConfig(dataset="mfeat", record_seeds=0))] == [
        "pilot"
    ]


# --------------------------------------------------------------------------------------------------
# End to end on small data (what the record trains, on which rows, and its columns): in
# tests/test_bench.py, on the breast-cancer run that its other end-to-end tests read, so that the
# data are trained once


# --------------------------------------------------------------------------------------------------
# The leaderboard's cost columns, on a hand-made table


def _row(i, outcome, call, compute=None, cost=None):
    row = {
        "dataset": f"d{i % 2}",
        "setting": f"s{i}",
        "student": "s",
        "teacher": f"t{i}",
        "kd_weight": 0.5,
        "temperature": 3.0,
        "delta_kd": {"gain": 2.0, "loss": -2.0, "none": 0.1}[outcome],
        "outcome_kd": outcome,
        "full_cost_s": 10.0,
        "call:never": "dont",
        "score:never": 0.0,
        "cost:never": 0.0,
        "call:trial": call,
        "score:trial": 1.0,
        "cost:trial": cost,
        "compute:trial": compute,
    }
    return row


def test_leaderboard_reports_compute_and_wall_fractions():
    rows = [
        _row(0, "gain", "distill", 0.5, 5.0),
        _row(1, "loss", "dont", 0.3, 2.0),
        _row(2, "loss", "abstain", 1.0, 8.0),
        _row(3, "none", "distill", 0.2, 1.0),
    ]
    board = _board.leaderboard(rows, targets=("kd",))
    got = {r["predictor"]: r for r in board if r["dataset"] == "all"}
    assert got["trial"]["compute_fraction"] == pytest.approx(0.5)
    assert got["trial"]["wall_fraction"] == pytest.approx((0.5 + 0.2 + 0.8 + 0.1) / 4)
    assert math.isnan(got["never"]["compute_fraction"]) and math.isnan(
        got["never"]["wall_fraction"]
    )
    # abstain counted as don't: right on the gain, the loss and the abstained loss
    assert got["trial"]["right_abstain_never"] == 3 and got["trial"]["calls"] == 3
    text = _board_report.leaderboard_markdown(board)
    assert "deciding by training, against its cost" in text
    assert "| trial | 3 / 3 |" in text and "| 50 % | 40 % |" in text


def test_training_cost_figure_is_drawn_only_for_training_predictors(tmp_path):
    rows = [_row(0, "gain", "distill", 0.5, 5.0), _row(1, "loss", "dont", 0.3, 2.0)]
    board = _board.leaderboard(rows, targets=("kd",))
    assert _board_plots.plot_training_cost(board, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
    plain = [{k: v for k, v in r.items() if "trial" not in k} for r in rows]
    board = _board.leaderboard(plain, targets=("kd",))
    assert not _board_plots.plot_training_cost(board, tmp_path / "d.png")
    assert not (tmp_path / "d.png").exists()
    # nor a table: the report's training section is left out without a training predictor
    assert "deciding by training" not in _board_report.leaderboard_markdown(board)


# --------------------------------------------------------------------------------------------------
# The predictors' keys: one per (student, teacher) pair


def test_a_pairs_settings_share_one_predictor_key():
    from types import SimpleNamespace

    import jax

    from cch_jax.bench import _run

    plan = bench.prepare(bench.BenchConfig(dataset="gaussian", kd_weights=(0.1, 0.5)))
    runs = [(None, SimpleNamespace(setting=st)) for st in plan.settings]
    pairs = _run._pair_index(runs)
    assert len(pairs) == len(plan.settings) // 2  # two kd_weights per pair
    keys = {}
    for st in plan.settings:
        k = jax.random.key_data(_run.predictor_key(0, pairs, st))
        keys.setdefault((st.student.name, st.teacher.name), []).append(np.asarray(k))
    assert all(len(v) == 2 and np.array_equal(v[0], v[1]) for v in keys.values())
    distinct = {tuple(v[0].tolist()) for v in keys.values()}
    assert len(distinct) == len(keys)  # different pairs, different keys


def test_trial_futility_stops_early_without_a_call():
    # a clear non-effect: the interval at 5 seeds lies inside (-1, 1); no futility -> 10 seeds
    null = np.array([0.1, -0.1, 0.05, -0.05, 0.0, 0.1, -0.1, 0.05, -0.05, 0.0])
    assert _record.trial_call(null, 0.05)[0::2] == ("abstain", 10)
    call, _, used, trained = _record.trial_call(null, 0.05, _record.FUTILITY_POINTS)
    assert (call, used, trained) == ("abstain", 3, 5)
    # a real effect is still called
    gain = np.array([2.0, 2.001, 1.999, 2, 2, 2, 2, 2, 2, 2])
    assert _record.trial_call(gain, 0.05, _record.FUTILITY_POINTS)[0] == "distill"
