"""The image CCH experiment and `cch image-kd`: config errors, a tiny end-to-end run on
scikit-learn's digits through the CLI, clean failures on missing data, the tfds mock with the
MNIST-M view, and a real Debian Fashion-MNIST subset behind --run-realdata."""

import csv
import json
import math

import numpy as np
import pytest
import tensorflow_datasets as tfds

from cch_jax import cli
from cch_jax.experiments import ImageExperimentConfig, image_table, run_image

TINY = [
    "--train-examples", "256",
    "--test-examples", "128",
    "--mi-examples", "100",
    "--hidden", "4,8,16",
    "--teacher-epochs", "1",
    "--epochs", "1",
    "--probe-epochs", "1",
    "--batch-size", "64",
    "--seeds", "0",
    "--quiet",
]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dataset="svhn"), "dataset: unknown 'svhn'; known: mnist, fashion_mnist, cifar10"),
        (dict(view="depth"), "view: unknown 'depth'"),
        (dict(teacher_gammas=()), "teacher_gammas: expected at least one"),
        (dict(teacher_gammas=(0.0, -1.0)), "teacher_gammas: expected finite values >= 0"),
        (dict(kd_weight=0.0), r"kd_weight: must lie in \(0, 1\]"),
        (dict(temperature=0.0), "temperature: must be > 0"),
        (dict(student_noise=float("nan")), "student_noise: expected a finite number"),
        (dict(seeds=(0, 0)), "seeds: repeated values"),
        (dict(hidden=(8, 16)), "hidden: expected three positive widths"),
        (dict(mi_examples=3000, test_examples=2000), "mi_examples: 3000 exceeds test_examples"),
        (dict(epochs=0), "epochs: expected an integer >= 1"),
        (dict(dataset="cifar10", view="mnistm"), "view: 'mnistm' needs grey images"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageExperimentConfig(**kwargs)


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_result(rows, summary, *, gammas, seeds):
    assert len(rows) == len(gammas) * len(seeds) * 2
    assert len(summary) == len(gammas)
    for r in rows:
        assert 0.0 <= float(r["test_accuracy"]) <= 1.0
        assert math.isfinite(float(r["mi_teacher_student"]))
        assert math.isfinite(float(r["mi_student_label"]))
        assert float(r["kd_weight"]) in (0.0, 0.5)
    # A no-KD run never reads its teacher: its copies across blur levels are one run.
    for s in seeds:
        base = {r["test_accuracy"] for r in rows if r["setting"] == "no_kd" and int(r["seed"]) == s}
        assert len(base) == 1
    for s in summary:
        gap = float(s["mi_teacher_student"]) - float(s["mi_student_label"])
        assert float(s["mi_gap"]) == pytest.approx(gap, abs=1e-6)
        predicts = s["cch_predicts_kd_helps"] in (True, "True")
        assert predicts == (gap > 0)
        helped = float(s["kd_gain_mean"]) > 0
        assert (s["cch_matched"] in (True, "True")) == (helped == predicts)
        gain = float(s["kd_accuracy_mean"]) - float(s["no_kd_accuracy_mean"])
        assert float(s["kd_gain_mean"]) == pytest.approx(gain, abs=1e-6)


def test_cli_digits_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["image-kd", "--dataset", "digits", "--gammas", "0,2", "--out", str(out), *TINY]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "scikit-learn's 8x8 digits" in printed and "I(Ht;Hs)" in printed
    rows, summary = _read(out / "rows.csv"), _read(out / "summary.csv")
    _check_result(rows, summary, gammas=(0.0, 2.0), seeds=(0,))
    doc = json.loads((out / "result.json").read_text())
    assert set(doc) == {"rows", "summary", "info"}
    assert doc["info"]["train_images"] == 256 and doc["info"]["mi_images"] == 100
    assert doc["info"]["student_encoder_for_mi"] == "trained 1 epoch(s) without KD"


def test_cli_missing_tfds_data_fails_fast(tmp_path, capsys):
    argv = ["image-kd", "--dataset", "mnist", "--data-dir", str(tmp_path), *TINY]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "no prepared 'mnist'" in err and "cch-jax[tf]" in err and "Traceback" not in err


def test_cli_missing_idx_files(tmp_path, capsys):
    argv = ["image-kd", "--dataset", "fashion_mnist_idx", "--idx-root", str(tmp_path), *TINY]
    assert cli.main(argv) == 2
    assert "dataset-fashion-mnist" in capsys.readouterr().err


def test_cli_bad_argument(capsys):
    assert cli.main(["image-kd", "--view", "depth", "--quiet"]) == 2
    assert "view: unknown 'depth'" in capsys.readouterr().err


@pytest.mark.slow
def test_mock_mnist_mnistm_view(tmp_path):
    pytest.importorskip("skimage")
    config = ImageExperimentConfig(
        dataset="mnist",
        view="mnistm",
        teacher_gammas=(0.0, 1.0),
        student_noise=0.0,
        train_examples=128,
        test_examples=64,
        mi_examples=64,
        hidden=(4, 8, 16),
        teacher_epochs=1,
        epochs=1,
        probe_epochs=0,
        batch_size=32,
        seeds=(0, 1),
        data_dir=str(tmp_path),
        download=True,  # a no-op under the mock: nothing is fetched
    )
    with tfds.testing.mock_data(num_examples=128):
        result = run_image(config)
    _check_result(result.rows, result.summary, gammas=(0.0, 1.0), seeds=(0, 1))
    assert "MNIST-M stand-in" in result.info["source"]
    assert result.info["student_encoder_for_mi"] == "untrained"
    assert "MNIST-M stand-in" in image_table(result)


@pytest.mark.realdata
def test_debian_fashion_mnist_subset():
    config = ImageExperimentConfig(
        dataset="fashion_mnist_idx",
        teacher_gammas=(0.0, 3.5),
        train_examples=3000,
        test_examples=1000,
        mi_examples=1000,
        teacher_epochs=3,
        epochs=2,
        seeds=(0, 1),
    )
    result = run_image(config)
    _check_result(result.rows, result.summary, gammas=(0.0, 3.5), seeds=(0, 1))
    clean, blurred = result.summary
    # Fashion-MNIST with a small CNN: > 70% after 3 epochs on 3000 images; blur costs accuracy.
    assert clean["teacher_test_accuracy"] > 0.7
    assert blurred["teacher_test_accuracy"] < clean["teacher_test_accuracy"]
    assert clean["no_kd_accuracy_mean"] > 0.5
    assert "Debian package dataset-fashion-mnist" in result.info["source"]
    # I(H_s; Y) <= H(Y) = ln 10 for ten balanced classes (0.1 nats of estimator bias allowed), and a
    # student above 50% accuracy carries well over 0.1 nats about the label.
    assert 0.1 < clean["mi_student_label"] < math.log(10) + 0.1
    for s in result.summary:
        assert np.isfinite(s["mi_teacher_student"]) and s["mi_teacher_student"] > 0.1
