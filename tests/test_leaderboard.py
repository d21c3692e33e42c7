"""cch_jax.bench's leaderboard (_board*.py) on hand-made settings tables where every number is computed by hand."""

import csv
import json
import math
import sys
import types

import numpy as np
import pytest
import scipy.stats

from cch_jax.bench import _board, _board_files, _board_report, _board_table
from cch_jax.predictors import _records
from cch_jax.predictors import _records as records_reader

# ------------------------------------------------------------------------------------------------
# A hand-made table: two datasets, three (dataset, student) groups, three predictors.
#
#   row  dataset student teacher  kd: outcome delta   transfer: outcome delta   good: call   score
#   r1   A       s       t1          gain    2.0                gain    1.5           distill 0.9
#   r2   A       s       t2          loss   -1.0                none    0.2           dont    0.1
#   r3   A       s       t3          none    0.5                loss   -0.8           distill 0.6
#   r4   A       s2      t1          gain    3.0                gain    2.0           distill 0.8
#   r5   A       s2      t2          loss   -2.0                loss   -1.0           distill 0.7
#   r6   B       s       t1          gain    1.0                none    0.1           abstain 0.5
#   r7   B       s       t2          none   -0.2                none   -0.1           dont    0.55
#   r8   B       s       t3          loss   -3.0                loss   -2.0           dont    0.05
#
# 'always' says distill (score 1), 'never' says dont (score 0); 'cls_only' is not available on B.

_ROWS = [
    ("A", "s", "t1", "gain", 2.0, "gain", 1.5, "distill", 0.9, 1.0),
    ("A", "s", "t2", "loss", -1.0, "none", 0.2, "dont", 0.1, 1.0),
    ("A", "s", "t3", "none", 0.5, "loss", -0.8, "distill", 0.6, 1.0),
    ("A", "s2", "t1", "gain", 3.0, "gain", 2.0, "distill", 0.8, 1.0),
    ("A", "s2", "t2", "loss", -2.0, "loss", -1.0, "distill", 0.7, 1.0),
    ("B", "s", "t1", "gain", 1.0, "none", 0.1, "abstain", 0.5, 2.0),
    ("B", "s", "t2", "none", -0.2, "none", -0.1, "dont", 0.55, 2.0),
    ("B", "s", "t3", "loss", -3.0, "loss", -2.0, "dont", 0.05, 2.0),
]


def _table():
    rows = []
    for i, (d, st, te, ok, dk, ot, dt, call, score, cost) in enumerate(_ROWS):
        rows.append(
            {
                "dataset": d,
                "setting": f"{d}-{st}-{te}",
                "student": st,
                "teacher": te,
                "kd_weight": 0.5,
                "temperature": 3.0,
                "task": "classification",
                "num_seeds": 10,
                "delta_kd": dk,
                "outcome_kd": ok,
                "delta_transfer": dt,
                "outcome_transfer": ot,
                "call:good": call,
                "score:good": score,
                "cost:good": cost,
                "call:always": "distill",
                "score:always": 1.0,
                "cost:always": 0.0,
                "call:never": "dont",
                "score:never": 0.0,
                "cost:never": 0.0,
                "call:cls_only": "distill" if d == "A" else "",
                "score:cls_only": float(i) if d == "A" else "",
                "cost:cls_only": 0.5 if d == "A" else "",
            }
        )
    return rows


def _row(board, predictor, target="kd", dataset="all"):
    (row,) = [
        r
        for r in board
        if r["predictor"] == predictor and r["target"] == target and r["dataset"] == dataset
    ]
    return row


@pytest.fixture(scope="module")
def board():
    return _board.leaderboard(_table(), fitted=())


def test_counts_and_accuracy_by_hand(board):
    good = _row(board, "good")
    # calls: all but r6; significant among them: r1 r2 r4 r5 r8; right: r1 r2 r4 r8 (r5 wrong)
    assert (good["calls"], good["significant"], good["right"]) == (7, 5, 4)
    assert good["accuracy"] == 0.8 and good["scored"] == "natural"
    ci = scipy.stats.binomtest(4, 5).proportion_ci(0.95, method="wilson")
    assert (good["accuracy_low"], good["accuracy_high"]) == pytest.approx((ci.low, ci.high))
    assert (good["settings"], good["datasets"], good["gains"], good["losses"]) == (8, 2, 3, 3)
    assert good["cost_s"] == pytest.approx((5 * 1.0 + 3 * 2.0) / 8)
    # transfer: significant among calls r1 (g) r3 (l) r4 (g) r5 (l) r8 (l); right r1 r4 r8
    tr = _row(board, "good", "transfer")
    assert (tr["calls"], tr["significant"], tr["right"], tr["accuracy"]) == (7, 5, 3, 0.6)
    # per dataset: A has r1..r5 (4 significant, r5 wrong), B has r7 (none) and r8 (right)
    a, b = _row(board, "good", dataset="A"), _row(board, "good", dataset="B")
    assert (a["calls"], a["significant"], a["right"]) == (5, 4, 3)
    assert (b["calls"], b["significant"], b["right"], b["accuracy"]) == (2, 1, 1, 1.0)
    always, never = _row(board, "always"), _row(board, "never")
    assert (always["calls"], always["significant"], always["right"]) == (8, 6, 3)
    assert (never["calls"], never["significant"], never["right"]) == (8, 6, 3)
    assert _row(board, "never", "transfer")["right"] == 3  # losses r3 r5 r8 of 5


def test_unavailable_predictor_is_left_out(board):
    cls = _row(board, "cls_only")
    # only A's 5 settings: all distill; significant r1 r2 r4 r5, right r1 r4
    assert (cls["settings"], cls["datasets"], cls["calls"]) == (5, 1, 5)
    assert (cls["significant"], cls["right"]) == (4, 2)
    b = _row(board, "cls_only", dataset="B")
    assert (b["settings"], b["calls"], b["significant"]) == (0, 0, 0)
    assert math.isnan(b["accuracy"]) and math.isnan(b["cost_s"])


def test_auroc_and_spearman(board):
    # significant kd settings (r6 counts although good abstained there): gains .9 .8 .5, losses
    # .1 .7 .05: .9 and .8 beat all three losses, .5 beats two -> 8 / 9
    assert _row(board, "good")["auroc"] == pytest.approx(8 / 9)
    scores = [r[8] for r in _ROWS]
    for target, col in (("kd", 4), ("transfer", 6)):
        ref = scipy.stats.spearmanr(scores, [r[col] for r in _ROWS]).statistic
        assert _row(board, "good", target)["spearman"] == pytest.approx(ref)
    assert _row(board, "always")["auroc"] == 0.5  # a constant score cannot separate
    assert math.isnan(_row(board, "always")["spearman"])
    # transfer: gains r1 .9, r4 .8; losses r3 .6, r5 .7, r8 .05 -> every pair right -> 1
    assert _row(board, "good", "transfer")["auroc"] == 1.0


def test_teacher_selection(board):
    good = _row(board, "good")
    # groups (A, s): pick r1 (best, 2.0); (A, s2): pick r4 (best); (B, s): pick r7 (.55; delta
    # -0.2) while r6 has 1.0 -> top1 = 2/3, regret = (0 + 0 + 1.2) / 3
    assert good["groups"] == 3
    assert good["top1"] == pytest.approx(2 / 3) and good["regret"] == pytest.approx(0.4)
    tr = _row(board, "good", "transfer")  # (B, s): pick r7 (-0.1), best r6 (0.1)
    assert tr["top1"] == pytest.approx(2 / 3) and tr["regret"] == pytest.approx(0.2 / 3)
    # a constant score ties every teacher: the expected value of a random pick
    always = _row(board, "always")
    assert always["top1"] == pytest.approx((1 / 3 + 1 / 2 + 1 / 3) / 3)
    assert always["regret"] == pytest.approx(
        ((0 + 3 + 1.5) / 3 + (0 + 5) / 2 + (0 + 1.2 + 4) / 3) / 3
    )
    a = _row(board, "good", dataset="A")
    assert (a["groups"], a["top1"], a["regret"]) == (2, 1.0, 0.0)


def test_base_rate(board):
    kd = _row(board, _board_table.BASE_RATE)
    assert (kd["gains"], kd["losses"], kd["right"], kd["significant"]) == (3, 3, 3, 6)
    assert kd["majority"] == "tie" and kd["scored"] == "reference"
    tr = _row(board, _board_table.BASE_RATE, "transfer")  # gains r1 r4, losses r3 r5 r8
    assert (tr["majority"], tr["right"], tr["significant"], tr["accuracy"]) == ("loss", 3, 5, 0.6)
    a = _row(board, _board_table.BASE_RATE, "transfer", "A")  # gains r1 r4, losses r3 r5
    assert (a["majority"], a["right"], a["significant"]) == ("tie", 2, 4)
    # rows: (1 pooled + 2 datasets) x 2 targets x (4 predictors + base rate + oracle)
    assert len(board) == 3 * 2 * 6
    assert list(board[0]) == list(_board.LEADERBOARD_COLUMNS)


# ------------------------------------------------------------------------------------------------
# Paired with never distilling, clustered intervals, decision value, validation


def test_paired_columns_by_hand(board):
    good = _row(board, "good")
    # significant kd settings (all 8 available): r1 g, r2 l, r4 g, r5 l, r6 g, r8 l. With the
    # abstention on r6 counted as dont: right r1 r2 r4 r8 = 4 of 6; never: the losses r2 r5 r8.
    assert (good["significant_all"], good["right_abstain_never"]) == (6, 4)
    assert good["accuracy_abstain_never"] == pytest.approx(4 / 6)
    assert good["never_right"] == 3 and good["diff_never"] == pytest.approx(1 / 6)
    # discordant: distill on gains r1 r4 (good right, never wrong), on the loss r5 (the reverse)
    assert (good["wins_vs_never"], good["losses_vs_never"]) == (2, 1)
    assert good["mcnemar_p"] == pytest.approx(scipy.stats.binomtest(2, 3).pvalue)
    # dataset bootstrap of right - never: A gives 1 over 4 settings, B 0 over 2; a resample
    # AA gives 2/8, AB 1/6, BB 0 (probability 1/4 each for AA and BB): the interval is [0, 1/4]
    assert (good["diff_never_low"], good["diff_never_high"]) == (0.0, 0.25)
    assert (good["significant_datasets"], good["significant_groups"]) == (2, 3)
    assert good["group_low"] <= good["accuracy_abstain_never"] <= good["group_high"]
    # value: distill on r1 (2.0), r3 (0.5), r4 (3.0), r5 (-2.0) over all 8 settings
    assert good["value"] == pytest.approx(3.5 / 8) and good["validated"] is False
    tr = _row(board, "good", "transfer")  # distill on r1 1.5, r3 -0.8, r4 2.0, r5 -1.0
    assert tr["value"] == pytest.approx(1.7 / 8)
    assert (tr["wins_vs_never"], tr["losses_vs_never"], tr["right_abstain_never"]) == (2, 2, 3)
    # references: never 0, always the mean delta, the oracle distills on the gains only
    assert _row(board, "never")["value"] == 0.0 and _row(board, "never")["mcnemar_p"] == 1.0
    assert _row(board, "always")["value"] == pytest.approx(sum(r[4] for r in _ROWS) / 8)
    oracle = _row(board, _board_table.ORACLE)
    assert oracle["value"] == pytest.approx((2.0 + 3.0 + 1.0) / 8)
    assert (oracle["right"], oracle["significant"], oracle["scored"]) == (6, 6, "reference")
    assert oracle["validated"] is None and _row(board, _board_table.BASE_RATE)["validated"] is None
    # per dataset the dataset bootstrap has one cluster: it collapses to the point
    a = _row(board, "good", dataset="A")  # A: right r1 r2 r4 of 4, never r2 r5
    assert a["diff_never_low"] == a["diff_never_high"] == pytest.approx(1 / 4)
    # the cls_only predictor is compared with never on its own settings (A) only
    cls = _row(board, "cls_only")
    # value over its 5 settings, all distill: (2 - 1 + 0.5 + 3 - 2) / 5
    assert (cls["significant_all"], cls["never_right"], cls["value"]) == (4, 2, 0.5)


def test_decision_value_by_hand():
    calls = ["distill", "dont", "abstain", "distill", "distill"]
    assert _board.decision_value(calls, [1.0, 5.0, -7.0, -0.5, 2.5]) == pytest.approx(3.0 / 5)
    assert _board.decision_value(calls, [1.0, 5.0, -7.0, np.nan, 2.5]) == pytest.approx(3.5 / 4)
    assert math.isnan(_board.decision_value(["distill"], [np.nan]))
    with pytest.raises(ValueError, match="^delta"):
        _board.decision_value(calls, [1.0])


def _random_table(seed=0, datasets=4, per=12):
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(datasets):
        for j in range(per):
            out = rng.choice(["gain", "loss", "none"], p=[0.4, 0.4, 0.2])
            rows.append(
                {
                    "dataset": f"D{d}",
                    "setting": f"D{d}-{j}",
                    "student": f"s{j % 3}",
                    "teacher": f"t{j}",
                    "delta_kd": float(rng.normal()),
                    "outcome_kd": str(out),
                    "call:p": str(rng.choice(["distill", "dont", "abstain"])),
                    "score:p": float(rng.normal()),
                    "call:never": "dont",
                    "score:never": 0.0,
                }
            )
    return rows


def test_mcnemar_against_an_independent_contingency_table():
    for seed in range(5):
        rows = _random_table(seed)
        board = _board.leaderboard(rows, targets=("kd",), fitted=())
        # the 2 x 2 table of (p right, never right) on the significant settings, with the
        # abstentions of p counted as dont, built from the rows directly
        cells = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
        for r in rows:
            if r["outcome_kd"] == "none":
                continue
            says_distill = r["call:p"] == "distill"
            p_right = says_distill == (r["outcome_kd"] == "gain")
            never_right = r["outcome_kd"] == "loss"
            cells[p_right, never_right] += 1
        b, c = cells[True, False], cells[False, True]
        row = _row(board, "p")
        assert (row["wins_vs_never"], row["losses_vs_never"]) == (b, c)
        assert row["right_abstain_never"] == cells[True, True] + b
        assert row["mcnemar_p"] == pytest.approx(scipy.stats.binomtest(b, b + c).pvalue)


def _validation_table():
    """Four datasets of 6 significant settings (3 gains, 3 losses) and four predictors.

    - picky: 'dont' on the losses and abstains on the gains: right on all 12 calls it makes
      (Wilson lower bound 0.76) but, abstentions counted as 'dont', it is never distill itself.
    - gainer: distills on every gain, 'dont' on the losses: right everywhere.
    - loser: distills on the losses only: worse than never everywhere.
    - one_lucky: like gainer on dataset D0 only, 'dont' elsewhere.
    """
    rows = []
    for d in range(4):
        for j in range(6):
            gain = j < 3
            rows.append(
                {
                    "dataset": f"D{d}",
                    "setting": f"D{d}-{j}",
                    "student": f"s{j % 2}",
                    "teacher": f"t{j}",
                    "delta_kd": 1.0 if gain else -1.0,
                    "outcome_kd": "gain" if gain else "loss",
                    "call:picky": "abstain" if gain else "dont",
                    "call:gainer": "distill" if gain else "dont",
                    "call:loser": "dont" if gain else "distill",
                    "call:one_lucky": "distill" if gain and d == 0 else "dont",
                    "call:never": "dont",
                }
            )
    return rows


def test_validation_rule():
    board = _board.leaderboard(_validation_table(), targets=("kd",), fitted=())
    picky = _row(board, "picky")
    # a high Wilson bound on its calls, but no discordant setting with never: not validated
    assert (picky["right"], picky["significant"]) == (12, 12) and picky["accuracy_low"] > 0.75
    assert picky["mcnemar_p"] == 1.0 and picky["validated"] is False
    gainer = _row(board, "gainer")  # 12 wins, 0 losses: p = 2 / 2^12; every dataset gains 1/2
    assert gainer["mcnemar_p"] == pytest.approx(2 / 2**12)
    assert gainer["diff_never_low"] == gainer["diff_never_high"] == pytest.approx(0.5)
    assert gainer["validated"] is True
    assert gainer["value"] == pytest.approx(0.5)  # 12 gains of +1 over 24 settings
    loser = _row(board, "loser")  # significant the wrong way
    assert loser["mcnemar_p"] < 0.05 and loser["diff_never_high"] < 0
    assert loser["validated"] is False and loser["value"] == pytest.approx(-0.5)
    # 3 wins on one dataset: p = 0.25 and the dataset interval reaches 0
    lucky = _row(board, "one_lucky")
    assert lucky["mcnemar_p"] == pytest.approx(0.25) and lucky["diff_never_low"] == 0.0
    assert lucky["validated"] is False
    assert _records.is_validated(0.01, 0.02) and not _records.is_validated(0.06, 0.3)
    assert not _records.is_validated(0.01, 0.0) and not _records.is_validated(math.nan, 0.3)
    assert not _records.is_validated(0.01, math.nan)
    records = _board_files.make_records(board)
    assert records["validated"] == {"kd": ["gainer"]}
    assert records_reader.best_predictor(records, "kd") == "gainer"
    assert records_reader.best_predictor(records, "kd", among=["picky", "loser", "never"]) is None
    md = _board_report.leaderboard_markdown(board)
    assert "**Validated: gainer**" in md


def test_reference_names_are_reserved():
    rows = _validation_table()
    for r in rows:
        r["call:oracle"] = "dont"
    with pytest.raises(ValueError, match="^predictors: 'oracle' is reserved"):
        _board.leaderboard(rows, targets=("kd",), fitted=())


# ------------------------------------------------------------------------------------------------
# Fitted thresholds, leave one dataset out


def test_fit_threshold_cases():
    # perfect separation between 0.1 (loss) and 0.3 (gain): the middle, 0.2
    assert _board.fit_threshold([0.1, 0.3], [False, True]) == pytest.approx(0.2)
    assert _board.fit_threshold([0.1, 0.2], [True, True]) == -math.inf  # all gains: always distill
    assert _board.fit_threshold([0.1, 0.2], [False, False]) == math.inf  # all losses: never
    assert (
        _board.fit_threshold([0.3, 0.3], [True, False]) == 0.3
    )  # every threshold ties: the median
    # losses .1 .4, gains .6 .9, plus a loss at .5: optimal [0.5, 0.6) -> 0.55
    assert _board.fit_threshold([0.1, 0.4, 0.5, 0.6, 0.9], [False, False, False, True, True]) == (
        pytest.approx(0.55)
    )
    with pytest.raises(ValueError, match="^gains"):
        _board.fit_threshold([0.1, 0.2], [1, 0])


def _lodo_table():
    # A and B: gains at .6 .9, losses at .1 .4 -- perfect with any threshold in [0.4, 0.6).
    # C: gains at .45 .7, losses at .2 .55. The predictor's own calls say distill everywhere.
    spec = {
        "A": [(0.6, "gain"), (0.9, "gain"), (0.1, "loss"), (0.4, "loss")],
        "B": [(0.6, "gain"), (0.9, "gain"), (0.1, "loss"), (0.4, "loss")],
        "C": [(0.45, "gain"), (0.7, "gain"), (0.2, "loss"), (0.55, "loss")],
    }
    rows = []
    for d, items in spec.items():
        for j, (score, out) in enumerate(items):
            rows.append(
                {
                    "dataset": d,
                    "setting": f"{d}{j}",
                    "student": "s",
                    "teacher": f"t{j}",
                    "kd_weight": 0.5,
                    "temperature": 3.0,
                    "delta_kd": 1.0 if out == "gain" else -1.0,
                    "outcome_kd": out,
                    "call:fit": "distill",
                    "score:fit": score,
                    "cost:fit": 0.1,
                }
            )
    return rows


def test_lodo_threshold_does_not_leak():
    board = _board.leaderboard(_lodo_table(), targets=("kd",), fitted=("fit",))
    c = _row(board, "fit", dataset="C")
    # C is scored with the threshold fitted on A and B (0.5): .45 -> dont (wrong), .7 -> distill
    # (right), .2 -> dont (right), .55 -> distill (wrong): 2 right. A threshold fitted on C
    # itself (in [0.2, 0.45) or [0.55, 0.7)) would get 3 right: that is the leak.
    assert c["scored"] == "lodo" and c["threshold"] == pytest.approx(0.5)
    assert (c["calls"], c["significant"], c["right"]) == (4, 4, 2)
    # A is scored with a threshold fitted on B and C: right(t) is 7 of 8 on [0.4, 0.45) and on
    # [0.55, 0.6); the lower run's middle is 0.425, which gets all of A right.
    a = _row(board, "fit", dataset="A")
    assert a["threshold"] == pytest.approx(0.425) and a["right"] == 4
    assert _row(board, "fit", dataset="B")["right"] == 4
    pooled = _row(board, "fit")
    assert (pooled["scored"], pooled["right"], pooled["significant"]) == ("lodo", 10, 12)
    # the pooled row carries the threshold fitted on every dataset (11 of 12 on [0.4, 0.45))
    assert pooled["threshold"] == pytest.approx(0.425)
    # scored on its own calls (distill everywhere) it would be right on the 6 gains only
    natural = _row(_board.leaderboard(_lodo_table(), targets=("kd",), fitted=()), "fit")
    assert (natural["scored"], natural["right"]) == ("natural", 6)


def test_lodo_without_other_datasets_makes_no_call():
    rows = [r for r in _lodo_table() if r["dataset"] == "C"]
    board = _board.leaderboard(rows, targets=("kd",), fitted=("fit",))
    c = _row(board, "fit", dataset="C")
    assert (c["calls"], c["significant"], c["right"]) == (0, 0, 0)
    assert math.isnan(c["threshold"]) and math.isnan(c["accuracy"])
    assert c["auroc"] == pytest.approx(0.75)  # scores are still ranked: .45 .7 vs .2 .55
    pooled = _row(board, "fit")
    assert pooled["calls"] == 0
    # the threshold for use outside the benchmark is fitted on C: 3 of 4 right on [0.2, 0.45)
    # and on [0.55, 0.7); the lower run's middle is 0.325
    assert pooled["threshold"] == pytest.approx(0.325)


def test_fitted_default_reads_the_registry(monkeypatch):
    fake = types.ModuleType("cch_jax.predictors")
    fake.REGISTRY = {"fit": types.SimpleNamespace(threshold="fitted")}
    monkeypatch.setitem(sys.modules, "cch_jax.predictors", fake)
    board = _board.leaderboard(_lodo_table(), targets=("kd",))
    assert _row(board, "fit")["scored"] == "lodo" and _row(board, "fit")["right"] == 10
    fake.REGISTRY = {"fit": types.SimpleNamespace(threshold="natural")}
    assert _row(_board.leaderboard(_lodo_table(), targets=("kd",)), "fit")["scored"] == "natural"


def test_bad_tables_are_refused():
    rows = _table()
    with pytest.raises(ValueError, match="^predictors: 'grace' has no call:grace column"):
        _board.leaderboard(rows, ["grace"], fitted=())
    with pytest.raises(ValueError, match="^targets"):
        _board.leaderboard(rows, targets=("accuracy",), fitted=())
    with pytest.raises(ValueError, match="^fitted: 'x' is not one of the predictors"):
        _board.leaderboard(rows, fitted=("x",))
    bad = _table()
    bad[2]["outcome_kd"] = "win"
    with pytest.raises(ValueError, match=r"^rows\[2\] \(setting 'A-s-t3'\).outcome_kd"):
        _board.leaderboard(bad, fitted=())
    bad = _table()
    bad[0]["call:good"] = "yes"
    with pytest.raises(ValueError, match=r"^rows\[0\] .*call:good"):
        _board.leaderboard(bad, fitted=())
    with pytest.raises(ValueError, match="^rows: the settings table is empty"):
        _board.leaderboard([], fitted=())


# ------------------------------------------------------------------------------------------------
# Files and records


def test_write_leaderboard_files(tmp_path):
    paths = _board_files.write_leaderboard(_table(), tmp_path / "out", fitted=())
    with open(paths["leaderboard"], newline="") as f:
        written = list(csv.DictReader(f))
    required = "predictor target dataset scored calls right significant accuracy accuracy_low "
    required += "accuracy_high auroc spearman top1 regret cost_s"
    assert set(required.split()) <= set(written[0])
    good = [r for r in written if r["predictor"] == "good" and r["dataset"] == "all"]
    assert [(r["target"], r["right"], r["significant"]) for r in good] == [
        ("kd", "4", "5"),
        ("transfer", "3", "5"),
    ]
    # settings.csv round-trips through read_settings
    back = _board_files.read_settings(paths["settings"])
    assert len(back) == 8 and back[5]["call:good"] == "abstain" and back[7]["delta_kd"] == -3.0
    assert math.isnan(back[6]["score:cls_only"]) and back[0]["teacher"] == "t1"
    again = _board.leaderboard(back, fitted=())
    assert [r["right"] for r in again] == [
        r["right"] for r in _board.leaderboard(_table(), fitted=())
    ]
    # records.json
    raw = json.loads(paths["records"].read_text())
    assert raw["schema"] == _records.RECORDS_SCHEMA and raw["datasets"] == ["A", "B"]
    assert raw["predictors"]["good"]["kd"]["right"] == 4
    assert raw["predictors"]["cls_only"]["kd"]["settings"] == 5
    assert raw["base_rate"]["transfer"]["majority"] == "loss"
    records = records_reader.load_records(paths["records"])
    assert records["predictors"]["good"]["kd"]["accuracy"] == 0.8
    assert raw["schema"] == "cch-bench-records/2"
    good = raw["predictors"]["good"]["kd"]
    assert (good["right_abstain_never"], good["significant_all"], good["never_right"]) == (4, 6, 3)
    assert good["mcnemar_p"] == 1.0 and good["validated"] is False
    assert good["value"] == pytest.approx(3.5 / 8)
    assert (good["diff_never_low"], good["diff_never_high"]) == (0.0, 0.25)
    base = raw["base_rate"]["kd"]
    assert (base["never_right"], base["never_significant"]) == (3, 6)
    assert base["never_accuracy"] == 0.5 and base["never_value"] == 0.0
    assert base["oracle_value"] == pytest.approx(6.0 / 8)
    assert base["always_value"] == pytest.approx(sum(r[4] for r in _ROWS) / 8)
    assert raw["validated"] == {"kd": [], "transfer": []}
    assert raw["bootstrap"]["draws"] == 2000 and raw["bootstrap"]["seed"] == 0
    # Markdown: the paired table sorted by accuracy with abstentions as don't, then the
    # references; then the calls-made table sorted by the Wilson lower bound
    md = paths["markdown"].read_text()
    assert md.startswith("**Validated predictors on all datasets")
    kd = md.split("\n## KD vs no KD")[1].split("\n#")[0]
    assert "**Validated: none.**" in kd
    assert "Decision value (mean Δ over all 8 settings, points): oracle 0.75, always" in kd
    names = [line.split("|")[1].strip() for line in kd.splitlines() if line.startswith("| ")][1:]
    # good 4/6, then always 3/6, cls_only 2/4 (A only) and never 3/6: equal accuracy and
    # McNemar p (1), so by name
    assert names == ["good", "always", "cls_only", "never", names[4], names[5]]
    assert names[4].startswith("*oracle") and names[5].startswith("*base rate")
    calls = md.split("\n### KD vs no KD (delta_kd): the calls made")[1].split("\n#")[0]
    names = [line.split("|")[1].strip() for line in calls.splitlines() if line.startswith("| ")]
    board = _board.leaderboard(_table(), fitted=())
    lows = {p: _row(board, p)["accuracy_low"] for p in ("good", "always", "never", "cls_only")}
    assert names[1:-1] == ["good", "always", "never", "cls_only"]
    assert [lows[n] for n in names[1:-1]] == sorted(lows.values(), reverse=True)
    assert "## Per dataset" in md and "| B | transfer | good |" in md
    # the per-dataset matrix: significant effects, then right / significant per predictor
    matrix = md.split("### KD vs no KD (delta_kd), per dataset")[1].split("\n#")[0]
    assert "| | A | B |" in matrix
    assert "| significant (gains / losses) | 4 (2 / 2) | 2 (1 / 1) |" in matrix
    assert "| good | 3 / 4 | 1 / 2 |" in matrix and "| cls_only | 2 / 4 | – |" in matrix
    assert paths["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_load_records_missing_and_wrong_schema(tmp_path):
    assert records_reader.load_records(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "something-else"}))
    with pytest.raises(ValueError, match="^path: .* is not a cch-bench-records/2 file"):
        records_reader.load_records(bad)
    old = tmp_path / "old.json"  # the first schema had no paired statistics: refused
    old.write_text(json.dumps({"schema": "cch-bench-records/1", "predictors": {}}))
    with pytest.raises(ValueError, match="schema 'cch-bench-records/1'"):
        records_reader.load_records(old)


def _entry(significant, low, acc=0.7, validated=True):
    return {
        "significant_all": significant,
        "diff_never_low": low,
        "accuracy_abstain_never": acc,
        "validated": validated,
    }


def test_best_predictor_considers_only_validated_predictors():
    records = {
        "schema": _records.RECORDS_SCHEMA,
        "predictors": {
            "p1": {"transfer": _entry(12, 0.10), "kd": _entry(30, 0.20)},
            "p2": {"transfer": _entry(9, 0.40)},  # too few significant settings
            "p3": {"transfer": _entry(20, 0.15), "kd": _entry(30, 0.05)},
            # the highest bound of all, but not validated (e.g. McNemar p >= 0.05)
            "p4": {"transfer": _entry(50, 0.90, validated=False)},
        },
    }
    assert records_reader.best_predictor(records) == "p3"
    assert records_reader.best_predictor(records, "kd") == "p1"
    assert records_reader.best_predictor(records, among=["p1", "p2"]) == "p1"
    assert records_reader.best_predictor(records, among=["p2"]) is None
    assert records_reader.best_predictor(records, among=["p2"], min_significant=5) == "p2"
    assert (
        records_reader.best_predictor(records, among=["p4"]) is None
    )  # none validated: no predictor
    # ties on the bound: the higher accuracy
    records["predictors"]["p5"] = {"transfer": _entry(20, 0.15, acc=0.9)}
    assert records_reader.best_predictor(records) == "p5"
    assert records_reader.best_predictor(None) is None
    with pytest.raises(ValueError, match="^target"):
        records_reader.best_predictor(records, "accuracy")


def test_real_pool_leaves_the_known_answer_family_out(tmp_path):
    """records.json (what cch check quotes) is made from the real datasets alone."""
    rows = _table()
    for r in rows:  # call dataset B the known-answer family
        if r["dataset"] == "B":
            r["dataset"] = "gaussian"
    real = _board.real_pool(rows, fitted=())
    only_a = _board.leaderboard([r for r in rows if r["dataset"] == "A"], fitted=())
    assert _row(real, "good") == _row(only_a, "good")
    assert _board.real_pool([r for r in rows if r["dataset"] == "A"], fitted=()) == []
    paths = _board_files.write_leaderboard(rows, tmp_path, fitted=())
    with open(paths["leaderboard"]) as f:
        table = list(csv.DictReader(f))
    pooled = [r for r in table if r["dataset"] == _board.REAL_POOL and r["predictor"] == "good"]
    assert [int(r["right"]) for r in pooled] == [
        _row(only_a, "good", t)["right"] for t in _records.TARGETS
    ]
    records = json.loads(paths["records"].read_text())
    assert records["datasets"] == ["A"] and records["pool"].startswith("real datasets")
    good = records["predictors"]["good"]["kd"]
    assert (good["right"], good["significant"]) == (
        _row(only_a, "good")["right"],
        _row(only_a, "good")["significant"],
    )
    assert "real datasets only" in paths["markdown"].read_text()
