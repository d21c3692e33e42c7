"""Drawing Figure 1 and writing its CSV (matplotlib is imported only here)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from cch_jax.figure1._simulate import (
    CSV_COLUMNS,
    Figure1Config,
    Figure1Result,
    agreement,
    figure1_table,
)


def write_figure1_csv(result: Figure1Result, config: Figure1Config, path: Path) -> Path:
    """Writes panel (a)'s table, one row per gap value, with the columns of ``CSV_COLUMNS``.

    Args:
      result: from :func:`run_figure1`, with G gaps.
      config: the :class:`Figure1Config` it was run with (its ``kd_weight`` is tabulated).
      path: the CSV file to write (overwritten).

    Returns:
      ``path``, after writing a header and G rows (gaps in nats, risks as mean squared errors,
      8 significant digits).
    """
    cols = figure1_table(result, config.kd_weight)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for i in range(len(result.gaps)):
            writer.writerow([f"{float(cols[c][i]):.8g}" for c in CSV_COLUMNS])
    return path


def plot_figure1(result: Figure1Result, config: Figure1Config, stem: Path) -> list[Path]:
    """Draws the three panels: (a) risk against the MI gap, (b) where KD helps over (gap,
    kd_weight), (c) where KD helps over (gap, alpha = n / d); writes ``stem``.png and
    ``stem``.pdf and returns their paths. Draws on a standalone ``matplotlib.figure.Figure``:
    neither pyplot nor the global backend is touched.

    Args:
      result: from :func:`run_figure1`.
      config: the :class:`Figure1Config` it was run with (titles and the panel (a)/(c) kd_weight).
      stem: output path without suffix, e.g. ``figures/figure1``.

    Returns:
      ``[stem.png, stem.pdf]``, the two files written (PNG at 130 dpi).
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    cols = figure1_table(result, config.kd_weight)
    fig = Figure(figsize=(16, 4.4), layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    helps_cmap = ListedColormap(["#9ecae1", "white", "#fcbba1"])

    g = cols["gap"]
    ax_a.axvline(0.0, color="0.5", lw=1, ls=":", zorder=0)
    ax_a.plot(g, cols["mse_nokd_theory"], color="C0", lw=2, label="no KD, theory")
    ax_a.plot(
        g, cols["mse_kd_theory"], color="C3", lw=2, label=f"KD (μ = {config.kd_weight:g}), theory"
    )
    for key, color, name in (("nokd", "C0", "no KD"), ("kd", "C3", "KD")):
        mean, std = cols[f"mse_{key}_sim_mean"], cols[f"mse_{key}_sim_std"]
        ax_a.fill_between(g, mean - std, mean + std, color=color, alpha=0.15, lw=0)
        ax_a.plot(g, mean, "o", ms=3, color=color, label=f"{name}, simulation (mean ± std)")
    ax_a.set_xlabel("MI gap  I(t; s) − I(s; y)  [nats]")
    ax_a.set_ylabel("student test MSE")
    ax_a.set_title(
        f"(a) d = {config.d}, n = {config.n} (α = {config.alpha:g}), σ² = {config.sigma2:g}, "
        f"{config.num_seeds} seeds",
        fontsize=10,
    )
    ax_a.legend(fontsize=8, loc="upper right")

    gaps_f, weights_f, mu0 = result.fine_gaps, result.fine_kd_weights, result.fine_kd_window
    ax_b.pcolormesh(
        gaps_f,
        weights_f,
        -np.sign(result.fine_benefit.T),
        vmin=-1.5,
        vmax=1.5,
        shading="auto",
        cmap=ListedColormap(["#9ecae1", "white", "#fcbba1"]),
        rasterized=True,
    )
    ax_b.plot(gaps_f, mu0, color="k", lw=1.2, label="μ₀: edge of the KD window (theory)")
    ax_b.axvline(0.0, color="k", ls="--", lw=1.2, label="CCH boundary (gap = 0)")
    agree = agreement(result)
    gg, mm = np.meshgrid(result.gaps, result.kd_weights, indexing="ij")
    inner = result.kd_weights[None, :] > 0
    marks = (
        ((agree == 1) & inner, dict(marker=".", color="k", s=10), "simulation agrees"),
        (
            (agree == 0) & inner,
            dict(marker="o", facecolors="none", edgecolors="0.4", s=14),
            "simulation within 2 s.e. of 0",
        ),
        ((agree == -1) & inner, dict(marker="x", color="C3", s=24), "simulation disagrees"),
    )
    for mask, style, label in marks:
        ax_b.scatter(gg[mask], mm[mask], label=f"{label} ({int(mask.sum())})", **style)
    ax_b.set_xlim(gaps_f[0], gaps_f[-1])
    ax_b.set_ylim(0, 1)
    ax_b.set_xlabel("MI gap  I(t; s) − I(s; y)  [nats]")
    ax_b.set_ylabel("KD weight μ")
    ax_b.set_title("(b) where KD helps: blue R(μ) < R₀, red R(μ) > R₀ (theory)", fontsize=10)
    ax_b.legend(fontsize=7, loc="lower right", framealpha=0.9)

    ax_c.pcolormesh(
        result.fine_gaps,
        result.fine_alphas,
        -np.sign(result.alpha_benefit.T),
        vmin=-1.5,
        vmax=1.5,
        shading="auto",
        cmap=helps_cmap,
        rasterized=True,
    )
    ax_c.axvline(0.0, color="k", ls="--", lw=1.2, label="CCH boundary (gap = 0)")
    ax_c.axhline(
        config.alpha, color="k", lw=1.0, ls=":", label=f"α = {config.alpha:g} (panels a, b)"
    )
    ax_c.set_yscale("log")
    ax_c.set_xlabel("MI gap  I(t; s) − I(s; y)  [nats]")
    ax_c.set_ylabel("samples per dimension α = n / d")
    ax_c.set_title(
        f"(c) where KD (μ = {config.kd_weight:g}) helps as data grow (theory)", fontsize=10
    )
    ax_c.legend(fontsize=7, loc="upper right", framealpha=0.9)

    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    # no creation date (nor software version) in the files: a rerun rewrites them byte for byte
    fig.savefig(paths[0], dpi=130, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"CreationDate": None, "Producer": None, "Creator": None})
    return paths
