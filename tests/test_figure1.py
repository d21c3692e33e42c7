"""`cch figure1` end to end on a tiny configuration, and the Figure-1 library pieces."""

import csv

import chex
import jax
import numpy as np
import pytest

from cch_jax import cli, theory
from cch_jax.figure1 import CSV_COLUMNS, Figure1Config, agreement, run_figure1

TINY = ["--num-seeds", "4", "--gaps", "5", "--n", "30", "--d", "10", "--num-kd-weights", "3"]


def test_cli_writes_well_formed_files(tmp_path, capsys):
    assert cli.main(["figure1", "--out", str(tmp_path), *TINY]) == 0
    printed = capsys.readouterr().out
    for name in ("figure1.csv", "figure1.png", "figure1.pdf"):
        assert str(tmp_path / name) in printed
    assert (tmp_path / "figure1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "figure1.pdf").read_bytes()[:5] == b"%PDF-"
    with open(tmp_path / "figure1.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    assert tuple(rows[0]) == CSV_COLUMNS
    values = np.array([[float(r[c]) for c in CSV_COLUMNS] for r in rows])
    assert np.isfinite(values).all()
    gap = values[:, 0]
    np.testing.assert_allclose(gap[0], theory.family_min_gap(1.0), rtol=1e-6)
    assert np.all(np.diff(gap) > 0)
    # No-KD theory is flat in the gap: R0 = sigma2 (1 + 1/(alpha - 1)) = 1.5 at alpha = 3.
    np.testing.assert_allclose(values[:, CSV_COLUMNS.index("mse_nokd_theory")], 1.5, rtol=1e-6)


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    assert cli.main(["figure1", "--n", "10", "--d", "10", "--out", str(tmp_path)]) == 2
    assert "--n: must exceed d + 1" in capsys.readouterr().err  # the flag, not the argument
    assert cli.main(["figure1", "--kd-weight", "1.5", "--out", str(tmp_path)]) == 2
    assert "--kd-weight: must be <= 1" in capsys.readouterr().err
    assert cli.main(["figure1", "--num-seeds", "1", "--out", str(tmp_path)]) == 2
    assert "--num-seeds: must be >= 2, got 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["figure1", "--solver", "sgd"])
    assert "invalid choice: 'sgd'" in capsys.readouterr().err


def test_cli_checks_the_output_folder_before_any_work(tmp_path, capsys, monkeypatch):
    """An unwritable --out fails before the simulation starts, with one line."""
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setattr(
        "cch_jax.figure1.run_figure1", lambda *a, **k: pytest.fail("the simulation started")
    )
    assert cli.main(["figure1", "--out", str(tmp_path / "file" / "sub")]) == 2  # default size
    err = capsys.readouterr().err
    assert (
        err.startswith("cch figure1: error: --out: cannot write to folder") and err.count("\n") == 1
    )


def test_simulation_shapes_and_gap_zero_crossing():
    """The KD benefit changes sign at gap 0 (theory.md: CCH <=> KD helps at a small kd_weight).

    gap_max = -min_gap with 9 gaps puts gap 0 on the grid (a = b = 1: the teacher *is* the label,
    so KD changes nothing, in the formula and in every simulated sample); the theory benefit is
    negative below 0 and positive above, and on the fine grid its zero crossing and the KD window's
    opening are within one grid step of 0."""
    min_gap = float(theory.family_min_gap(1.0))
    config = Figure1Config(n=40, d=10, num_seeds=6, num_gaps=9, gap_max=-min_gap, num_kd_weights=3)
    result = run_figure1(config, fine_gaps=201)
    G, M = config.num_gaps, len(config.kd_weights())
    chex.assert_shape(result.risks, (6, G, M))
    chex.assert_shape([result.theory_asym, result.theory_exact], [(G, M), (G, M)])
    assert agreement(result).shape == (G, M)
    chex.assert_shape(result.alpha_benefit, (len(result.fine_gaps), len(result.fine_alphas)))
    mid = G // 2
    assert abs(result.gaps[mid]) < 1e-12
    np.testing.assert_allclose(result.a[mid], 1.0, rtol=1e-6)
    # at gap 0 every kd_weight gives the no-KD risk: exactly in the simulation, to float32 in theory
    sim0 = result.risks[:, mid, :]
    np.testing.assert_allclose(sim0, np.broadcast_to(sim0[:, :1], sim0.shape), rtol=1e-5)
    for curve in (result.theory_asym, result.theory_exact):
        benefit = curve[:, :1] - curve[:, 1:]  # R0 - R(kd_weight), kd_weight > 0
        np.testing.assert_allclose(benefit[mid], 0.0, atol=1e-5)
        assert (benefit[:mid] < -1e-4).all() and (benefit[mid + 1 :] > 1e-4).all()
    # the fine grid: the benefit at the smallest kd_weight > 0 crosses 0 between neighbouring gaps
    # around 0, and the window mu0 opens there
    step = float(np.diff(result.fine_gaps)[0])
    small = result.fine_benefit[:, 1]
    fine = result.fine_gaps
    assert (small[fine < -step] < 0).all() and (small[fine > step] > 0).all()
    opened = result.fine_gaps[result.fine_kd_window > 0]
    assert (
        abs(opened.min()) <= step and (result.fine_kd_window[result.fine_gaps < -step] == 0).all()
    )


def test_theory_panels_match_the_family_claims():
    """theory.md: at alpha = 3, kd_weight = 0.5 KD helps across the CCH side; at large alpha the bias wins."""
    # the shapes of test_simulation_is_one_compilation_per_shape's configuration (one program for
    # both); the panels checked here are theory on the fine grids, which num_seeds and num_gaps do
    # not change
    result = run_figure1(Figure1Config(n=30, d=10, num_seeds=3, num_gaps=4, num_kd_weights=2))
    helps = result.alpha_benefit > 0
    cch_side = result.fine_gaps > 1e-3
    j3 = int(np.argmin(np.abs(result.fine_alphas - 3.0)))
    assert helps[cch_side, j3].all() and not helps[result.fine_gaps < -1e-3, :].any()
    # With much data the bias kd_weight^2 (a - 1)^2 outweighs the variance saved, except near gap 0+ where
    # the teacher is almost the label (mu0 -> infinity there, derivation.md section 6).
    big = result.fine_alphas > 500
    assert not helps[np.ix_(result.fine_gaps > 0.2, big)].any()
    assert helps[np.ix_(cch_side & (result.fine_gaps < 0.01), result.fine_alphas < 100)].all()
    assert (result.fine_kd_window[result.fine_gaps < -1e-3] == 0).all()
    # At a = 1 the teacher is the label: with and without KD coincide exactly.
    # the shapes of test_simulation_shapes_and_gap_zero_crossing (one program): the last gap is 0
    result0 = run_figure1(
        Figure1Config(n=40, d=10, num_seeds=6, num_gaps=9, gap_max=0.0, num_kd_weights=3),
        fine_gaps=201,
    )
    last = result0.risks[:, -1, :]
    np.testing.assert_allclose(last, np.broadcast_to(last[:, :1], last.shape), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_seeds=1), "^num_seeds: must be >= 2"),
        (dict(num_seeds=(0, 1)), "^num_seeds: expected an integer"),
        (dict(kd_weight=1.5), "^kd_weight: must be <= 1"),
        (dict(sigma2=0.0), "sigma2"),
        (dict(gap_max=-5.0), "gap_max"),
        (dict(num_gaps=1), "num_gaps"),
        (dict(solver="sgd"), "^solver: expected one of 'lstsq', 'trainer', got 'sgd'"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Figure1Config(**kwargs)


def test_simulation_is_one_compilation_per_shape(monkeypatch):
    from cch_jax.figure1 import _simulate

    chex.clear_trace_counter()
    static = ("num_seeds", "n", "d", "solver")
    counted = jax.jit(
        chex.assert_max_traces(_simulate._program.__wrapped__, n=1), static_argnames=static
    )
    monkeypatch.setattr(_simulate, "_program", counted)
    config = Figure1Config(n=30, d=10, num_seeds=3, num_gaps=4, num_kd_weights=2)
    run_figure1(config)
    other = dict(seed=1, gap_max=0.7)  # new values, same shapes: no retrace
    run_figure1(Figure1Config(n=30, d=10, num_seeds=3, num_gaps=4, num_kd_weights=2, **other))
    first = run_figure1(config).risks
    np.testing.assert_array_equal(run_figure1(config).risks, first)  # the same draws every call
    assert not np.array_equal(
        run_figure1(
            Figure1Config(n=30, d=10, num_seeds=3, num_gaps=4, num_kd_weights=2, seed=1)
        ).risks,
        first,
    )  # another seed, other draws (and still no retrace)
    with pytest.raises(AssertionError):  # a new shape retraces: the guard can fail
        run_figure1(Figure1Config(n=30, d=10, num_seeds=4, num_gaps=4, num_kd_weights=2))
