"""`cch check`: end to end on a known answer, JSON and plot outputs, and one test per bad input."""

import json
import os

import jax
import numpy as np
import pytest

from cch_jax.cli import main
from cch_jax.mi import tasks


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Student, labels and two teachers (gap +0.6 and -0.6) of a known-answer triple, n = 1500."""
    d = tmp_path_factory.mktemp("check")
    for g, name in ((0.6, "good"), (-0.6, "bad")):
        task = tasks.cch_triple(g, dim_teacher=16, dim_student=16)
        ht, hs, y = task.sample(key=jax.random.key(1), n=1500)
        np.save(d / f"{name}.npy", np.asarray(ht))
    np.save(d / "hs.npy", np.asarray(hs))
    np.save(d / "y.npy", np.asarray(y))
    np.savez(d / "bad.npz", feats=np.load(d / "bad.npy"))
    return d


def _run(capsys, *args):
    code = main(["check", "--quiet", "--repeats", "4", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _base(d, *teachers):
    teachers = teachers or (f"good={d / 'good.npy'}",)
    args = ["--student", d / "hs.npy", "--labels", d / "y.npy"]
    for t in teachers:
        args += ["--teacher", t]
    return args


def test_check_end_to_end_json_and_plot(files, capsys, tmp_path):
    d = files
    out_json, out_png = tmp_path / "r" / "out.json", tmp_path / "out.png"
    code, out, err = _run(
        capsys,
        *_base(d, f"good={d / 'good.npy'}", f"bad={d / 'bad.npz'}:feats"),
        "--json", out_json, "--plot", out_png, "--max-rows", "1200",
    )  # fmt: skip
    assert code == 0, err
    assert "good" in out and "CCH holds" in out and "CCH fails" in out
    assert "1200 of the 1500 rows" in out  # the subsample is said, not silent
    # the advice: in the shipped records only deciding by training (cch trial) is validated, so
    # one line per teacher says so and sends the user to cch trial
    assert "=> good: undecided — no predictor computable before training is validated" in out
    assert "measuring KD is (trial: right on" in out and "cch trial --data" in out
    result = json.loads(out_json.read_text())
    assert result["schema"] == "cch-check/3"
    assert [t["call"] for t in result["advice"]["teachers"]] == ["trial", "trial"]
    assert "trial" in result["advice"]["validated"] and result["warnings"] == []
    if result["compile_cache"]["dir"] is None:  # CCH_JAX_TEST_COMPILE_CACHE=0: the cache is off
        assert result["compile_cache"] == {"dir": None}
    else:
        assert set(result["compile_cache"]) >= {"dir", "compiles", "cache_hits", "cache_misses"}
    assert result["ranking"] == ["good", "bad"]
    assert {t["name"]: t["verdict"] for t in result["teachers"]} == {
        "good": "holds",
        "bad": "fails",
    }
    assert result["n_rows"] == 1200 and result["n_rows_input"] == 1500 and result["subsampled"]
    assert {"load", "total"} <= set(result["timings_s"])
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def _error(capsys, *args):
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_mismatched_rows_names_files(files, capsys, tmp_path):
    np.save(tmp_path / "short.npy", np.zeros((100, 4), np.float32))
    err = _error(capsys, *_base(files, f"short={tmp_path / 'short.npy'}"))
    assert "short.npy has 100" in err and "hs.npy has 1500" in err


def test_nan_says_file_and_where(files, capsys, tmp_path):
    a = np.load(files / "good.npy")
    a[17, 3] = np.nan
    np.save(tmp_path / "nan.npy", a)
    err = _error(capsys, *_base(files, f"n={tmp_path / 'nan.npy'}"))
    assert "nan.npy" in err and "NaN at row 17, column 3" in err


def test_constant_and_duplicated_columns_noted(files, capsys, tmp_path):
    a = np.load(files / "good.npy")
    np.save(tmp_path / "dup.npy", np.concatenate([a, a[:, :1], np.zeros((1500, 1))], axis=1))
    code, out, err = _run(capsys, *_base(files, f"dup={tmp_path / 'dup.npy'}"))
    assert code == 0, err
    assert "dropped 1 constant and 1 duplicated column(s) of 18" in out


def test_non_integer_labels(files, capsys, tmp_path):
    np.save(tmp_path / "yf.npy", np.load(files / "y.npy") + 0.25)
    err = _error(capsys, "--student", files / "hs.npy", "--labels", tmp_path / "yf.npy",
                 "--teacher", f"g={files / 'good.npy'}")  # fmt: skip
    assert "labels" in err and "integer class labels" in err


def test_class_too_small(files, capsys, tmp_path):
    y = np.load(files / "y.npy").copy()
    y[:2] = 9
    np.save(tmp_path / "ys.npy", y)
    err = _error(capsys, "--student", files / "hs.npy", "--labels", tmp_path / "ys.npy",
                 "--teacher", f"g={files / 'good.npy'}")  # fmt: skip
    assert "class 9 has 2 row(s)" in err


@pytest.mark.parametrize(
    "kind,reason",
    [
        ("pickled", "holds Python objects (dtype object); only numeric arrays can be read"),
        ("empty", "is empty (0 bytes)"),
        ("garbage", "is not a NumPy .npy or .npz file"),
        ("missing", "no such file"),
    ],
)
def test_unreadable_files(files, capsys, tmp_path, kind, reason):
    path = tmp_path / f"{kind}.npy"
    if kind == "pickled":
        np.save(path, np.array([{"a": 1}] * 1500, dtype=object), allow_pickle=True)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"not numpy at all")
    err = _error(capsys, *_base(files, f"x={path}"))
    assert err.startswith("cch check: error: --teacher x: ") and reason in err and str(path) in err
    assert "allow_pickle" not in err  # never a hint to unpickle the file


def test_empty_array(files, capsys, tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 3), np.float32))
    err = _error(capsys, *_base(files, f"e={tmp_path / 'e.npy'}"))
    assert "empty" in err


def test_npz_without_key(files, capsys):
    err = _error(capsys, *_base(files, f"b={files / 'bad.npz'}:nope"))
    assert "no array 'nope'" in err and "feats" in err


def test_unknown_estimator(files, capsys):
    err = _error(capsys, *_base(files), "--estimators", "ksg,knn")
    assert "--estimators: unknown estimator 'knn'" in err


def test_teacher_name_twice(files, capsys):
    err = _error(capsys, *_base(files, f"a={files / 'good.npy'}", f"a={files / 'bad.npy'}"))
    assert "'a' is given twice" in err


def test_predictors_all_with_teacher_logits(files, capsys, tmp_path):
    """--predictors all: each predictor's call with its interval and threshold; --teacher-logits
    feeds the teacher's own outputs to the predictors that read them."""
    y = np.load(files / "y.npy")
    np.save(tmp_path / "z.npy", 5.0 * np.eye(int(y.max()) + 1, dtype=np.float32)[y])
    out_json = tmp_path / "p.json"
    code, out, err = _run(capsys, *_base(files), "--predictors", "all", "--json", out_json,
                          "--teacher-logits", f"good={tmp_path / 'z.npy'}")  # fmt: skip
    assert code == 0, err
    (good,) = json.loads(out_json.read_text())["advice"]["teachers"]
    rows = {p["predictor"]: p for p in good["predictors"]}
    assert {"cch_ksg", "cch_ksg_sign", "agreement_top1", "theory_risk"} <= set(rows)
    assert "grace" not in rows  # opt-in only
    assert rows["theory_risk"]["depends_on"] == ["kd_weight", "temperature", "n_train"]
    assert rows["teacher_better"]["threshold"] == 0.0 and rows["always"]["threshold"] is None
    for p in good["predictors"]:
        if p["low"] is not None and p["threshold"] is not None:
            assert p["low"] <= p["high"] and (p["call"] == "abstain") == (
                p["low"] <= p["threshold"] <= p["high"]
            )
    assert "good agreement_top1:" in out and "distill if >" in out
    err = _error(capsys, *_base(files), "--teacher-logits", f"other={tmp_path / 'z.npy'}")
    assert "--teacher-logits: 'other' is not a --teacher name" in err


def test_planned_settings_are_checked_and_named_as_flags(files, capsys):
    err = _error(capsys, *_base(files), "--kd-weight", "0")
    assert err.startswith("cch check: error: --kd-weight: ")
    err = _error(capsys, *_base(files), "--n-train", "0")
    assert err.startswith("cch check: error: --n-train: ")


def test_teacher_spec_without_name(files, capsys):
    err = _error(capsys, *_base(files, str(files / "good.npy")))
    assert "--teacher: expected NAME=FILE" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_unwritable_checked_first(files, capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    err = _error(capsys, *_base(files), "--json", locked / "sub" / "out.json")
    assert err.startswith("cch check: error: --json")


def test_output_path_is_a_folder(files, capsys, tmp_path):
    err = _error(capsys, *_base(files), "--plot", tmp_path)
    assert "--plot" in err and "folder" in err


def test_output_under_a_file_is_unwritable(files, capsys, tmp_path):
    (tmp_path / "plain").write_text("x")
    err = _error(capsys, *_base(files), "--json", tmp_path / "plain" / "out.json")
    assert err.startswith("cch check: error: --json")


def test_progress_bar_on_a_terminal_and_plain_lines_elsewhere():
    import io

    from cch_jax._cli.check import _progress_printer

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    show = _progress_printer(term, width=10)
    show("[0/4] I(Hs;Y) with ross ...")
    show("[2/4] ksg a: gap +0.1")
    show("[4/4] ksg c: gap -0.3")
    out = term.getvalue()
    assert "[----------] 0/4 I(Hs;Y) with ross ..." in out
    assert "[#####-----] 2/4 ksg a" in out
    assert "[##########] 4/4 ksg c" in out
    assert out.count("\r") == 3 and out.endswith("\n") and out.count("\n") == 1  # one redrawn line

    pipe = io.StringIO()
    show = _progress_printer(pipe)
    show("[2/4] ksg a: gap +0.1")
    show("200 rows, 3 teachers")
    assert pipe.getvalue() == "cch check: [2/4] ksg a: gap +0.1\ncch check: 200 rows, 3 teachers\n"


def test_label_kind_flag_and_its_former_name():
    from cch_jax import cli

    base = ["check", "--student", "s.npy", "--labels", "y.npy", "--teacher", "t=t.npy"]
    parser = cli.build_parser()
    assert parser.parse_args(base).label_kind == "classes"
    assert parser.parse_args([*base, "--label-kind", "continuous"]).label_kind == "continuous"
    assert parser.parse_args([*base, "--target", "continuous"]).label_kind == "continuous"
