"""What ``check`` returns: per (teacher, estimator) estimates with intervals, verdicts, ranking."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

SCHEMA = "cch-check/3"
VERDICTS = ("holds", "fails", "undecided")

ROW_FIELDS = (
    "teacher",
    "estimator",
    "label_estimator",
    "mi_teacher_student",
    "mi_teacher_student_low",
    "mi_teacher_student_high",
    "mi_student_label",
    "mi_student_label_low",
    "mi_student_label_high",
    "gap",
    "gap_low",
    "gap_high",
    "bias_allowance",
    "verdict",
)

EXPLANATION = (
    "What the verdict means: the cross-modal complementarity hypothesis (CCH) says distilling "
    "from a teacher modality helps the student when I(H_t; H_s) > I(H_s; Y), i.e. the teacher's "
    "representation shares more information with the student's than the student's shares with "
    "the labels. 'holds' means the whole interval of that gap ({level:.0%} sampling interval "
    "widened by a bias allowance of {allowance:.0%} of the larger term) is above 0 for every "
    "estimator, 'fails' that it is below 0 for every estimator, 'undecided' that an interval "
    "contains 0 or the estimators disagree on the sign. It is a sufficient condition under the "
    "paper's assumptions (a linear-Gaussian analysis), not a guarantee that distillation will "
    "help on your data, nor a measure of how much. The intervals cover sampling noise only: MI "
    "estimators are biased (KSG on canonical variates and the probe bound both read low "
    "when the information is high or spread over many directions), which is what the allowance "
    "is for: a gap within it is undecided. Estimators disagree when they lose different parts "
    "of the information (PCA keeps only the leading directions; MINE and the latent autoencoder "
    "are trained and may under-fit)."
)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One quantity: centre (mean of the subsample estimates) and interval, nats."""

    value: float
    low: float
    high: float


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """Result of :func:`cch_jax.criterion.check` (all MI in nats).

    Attributes:
      label_kind: ``"classes"`` or ``"continuous"``.
      teachers: teacher names in the order given.
      estimators: estimators of I(H_t; H_s), in order.
      label_estimator: the estimator of I(H_s; Y) paired with every row.
      verdicts: teacher -> ``"holds"``, ``"fails"`` or ``"undecided"`` (all estimators combined).
      ranking: teacher names ordered by their mean gap over estimators, best first.
      estimates: (teacher, estimator) -> dict with ``"teacher_student"``, ``"student_label"``
        and ``"gap"`` :class:`Estimate` values, plus the row ``"verdict"``.
      n_rows: rows used; n_input: rows given; num_classes: C (or None for continuous labels).
      level: interval level; repeats and subsample_fraction: how intervals were formed.
      notes: what was changed in the input (rows subsampled, columns dropped), for the user.
      warnings: what makes the verdicts fragile (classes below ``MIN_ROWS_PER_CLASS`` rows, a
        gap interval wider than either MI term); shown above the table and in the JSON.
      dims: name -> (columns given, columns kept), ``"student"`` included.
      timings_s: wall seconds per stage (compilation included).
      config: the settings used (JSON-able).
    """

    label_kind: str
    teachers: tuple[str, ...]
    estimators: tuple[str, ...]
    label_estimator: str
    verdicts: dict
    ranking: tuple[str, ...]
    estimates: dict
    n_rows: int
    n_input: int
    num_classes: int | None
    level: float
    repeats: int
    subsample_fraction: float
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    dims: dict
    timings_s: dict
    config: dict

    def rows(self) -> list[dict]:
        """One flat dict per (teacher, estimator), keys in ``ROW_FIELDS`` order (nats)."""
        out = []
        for teacher in self.teachers:
            for est in self.estimators:
                e = self.estimates[(teacher, est)]
                ts, sl, gap = e["teacher_student"], e["student_label"], e["gap"]
                out.append(
                    dict(
                        teacher=teacher,
                        estimator=est,
                        label_estimator=self.label_estimator,
                        mi_teacher_student=ts.value,
                        mi_teacher_student_low=ts.low,
                        mi_teacher_student_high=ts.high,
                        mi_student_label=sl.value,
                        mi_student_label_low=sl.low,
                        mi_student_label_high=sl.high,
                        gap=gap.value,
                        gap_low=gap.low,
                        gap_high=gap.high,
                        bias_allowance=e["allowance"],
                        verdict=e["verdict"],
                    )
                )
        return out

    def table(self) -> str:
        """A readable text table (nats, intervals in brackets) and a short explanation."""
        head = (
            f"cch check: {len(self.teachers)} teacher(s), label kind {self.label_kind}"
            + (f" ({self.num_classes} classes)" if self.num_classes else "")
            + f", {self.n_rows} rows"
            + (f" (subsampled from {self.n_input})" if self.n_rows < self.n_input else "")
            + f"; {self.level:.0%} intervals from {self.repeats} subsamples of "
            f"{self.subsample_fraction:.0%} of the rows; MI in nats"
        )
        cols = (
            "teacher",
            "estimator",
            "I(Ht;Hs)",
            "I(Hs;Y) [" + self.label_estimator + "]",
            "gap",
            "verdict",
        )
        body = []
        for row in self.rows():
            body.append(
                (
                    row["teacher"],
                    row["estimator"],
                    _fmt(row, "mi_teacher_student"),
                    _fmt(row, "mi_student_label"),
                    _fmt(row, "gap"),
                    row["verdict"],
                )
            )
        widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(cols)]
        lines = [head, *(f"warning: {w}" for w in self.warnings), ""]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in body]
        lines.append("")
        for rank, teacher in enumerate(self.ranking, 1):
            lines.append(f"{rank}. {teacher}: CCH {self.verdicts[teacher]}")
        if self.notes:
            lines.append("")
            lines += [f"note: {n}" for n in self.notes]
        lines.append("")
        lines += _wrap(
            EXPLANATION.format(level=self.level, allowance=self.config["bias_allowance"]), 100
        )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The JSON form, schema ``"cch-check/3"`` (docs/json-schema.md)."""
        from cch_jax._version import __version__

        teachers = []
        for teacher in self.teachers:
            given, kept = self.dims[teacher]
            teachers.append(
                dict(
                    name=teacher,
                    verdict=self.verdicts[teacher],
                    rank=self.ranking.index(teacher) + 1,
                    columns=given,
                    columns_kept=kept,
                )
            )
        given, kept = self.dims["student"]
        return dict(
            schema=SCHEMA,
            cch_jax_version=__version__,
            units="nats",
            label_kind=self.label_kind,
            num_classes=self.num_classes,
            n_rows=self.n_rows,
            n_rows_input=self.n_input,
            subsampled=self.n_rows < self.n_input,
            student=dict(columns=given, columns_kept=kept),
            estimators=list(self.estimators),
            label_estimator=self.label_estimator,
            interval=dict(
                level=self.level,
                method="subsampling",
                bias_allowance=self.config["bias_allowance"],
                repeats=self.repeats,
                subsample_fraction=self.subsample_fraction,
            ),
            teachers=teachers,
            ranking=list(self.ranking),
            rows=[{k: _json_float(v) for k, v in r.items()} for r in self.rows()],
            notes=list(self.notes),
            warnings=list(self.warnings),
            timings_s={k: round(v, 3) for k, v in self.timings_s.items()},
            config=self.config,
        )

    def plot(self, path) -> None:
        """Writes a forest plot of the gaps with their intervals (per teacher and estimator)."""
        forest_plot(self, path)


def _json_float(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _fmt(row: Mapping, key: str) -> str:
    return f"{row[key]:+.3f} [{row[key + '_low']:+.3f}, {row[key + '_high']:+.3f}]"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


def verdict_of(low: float, high: float) -> str:
    """``"holds"`` if the gap interval is above 0, ``"fails"`` if below, else ``"undecided"``."""
    if low > 0:
        return "holds"
    if high < 0:
        return "fails"
    return "undecided"


def combine(verdicts: list[str]) -> str:
    """A teacher's verdict: the common verdict of its estimators, else ``"undecided"``."""
    return verdicts[0] if len(set(verdicts)) == 1 else "undecided"


def forest_plot(result: CheckResult, path) -> None:
    """Forest plot of the gap intervals, one line per (teacher, estimator), to ``path``.

    Draws on a standalone ``matplotlib.figure.Figure``: neither pyplot nor the global backend is
    touched."""
    from matplotlib.figure import Figure

    rows = result.rows()
    colors = {"holds": "tab:green", "fails": "tab:red", "undecided": "tab:gray"}
    fig = Figure(figsize=(7, 0.45 * len(rows) + 1.4))
    ax = fig.subplots()
    labels = []
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        ax.plot([row["gap_low"], row["gap_high"]], [y, y], color=colors[row["verdict"]], lw=2)
        ax.plot(row["gap"], y, "o", color=colors[row["verdict"]])
        labels.append((y, f"{row['teacher']} ({row['estimator']})"))
    ax.axvline(0.0, color="black", lw=0.8, ls="--")
    ax.set_yticks([y for y, _ in labels], [t for _, t in labels])
    ax.set_xlabel(
        f"gap I(Ht;Hs) - I(Hs;Y) [{result.label_estimator}], nats ({result.level:.0%} interval)"
    )
    ax.set_title("CCH check: > 0 means the criterion holds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
