"""What ``cch trial`` returns: one :class:`TeacherTrial` per teacher inside a :class:`TrialResult`,
its table, its one-line advice per teacher and its JSON document (schema ``cch-trial/1``,
``docs/trial.md``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cch_jax.bench._sequential import SequentialRule

SCHEMA = "cch-trial/1"
CALLS = ("distill", "dont", "undecided")


class TeacherTrial(NamedTuple):
    """One teacher's trial.

    Attributes:
      name: the teacher's name (``x_teacher_NAME`` / ``logits_teacher_NAME``; ``teacher``).
      kind: 'view' (a network trained here on its view) or 'logits' (the user's outputs).
      call: 'distill' (Δ_KD > 0 significant), 'dont' (Δ_KD < 0 significant) or 'undecided'.
      stopped: 'significant', 'futility' or 'max_seeds'.
      seeds: seeds used (paired: each gives one no-KD, KD and control run).
      look: the look it stopped at (1-based) of ``len(rule.looks)``.
      alpha_look: the level of that look (its share of alpha).
      delta_kd: mean Δ_KD = acc(KD) - acc(no KD), accuracy points on the held-out rows.
      ci_kd: its 95 % t-interval (low, high) (a fixed-sample interval: not widened for the looks).
      p_kd: its two-sided paired-t p-value (nominal; the call compares it with ``alpha_look``).
      delta_transfer: mean Δ_transfer = acc(KD) - acc(KD from the random-control teacher).
      ci_transfer: its 95 % t-interval.
      p_transfer: its two-sided paired-t p-value (descriptive: not part of the stopping rule).
      mde: the smallest Δ_KD the stopping look could detect with 80 % power at ``alpha_look``,
        from the observed per-seed spread (:func:`min_detectable_effect`, paired t).
      accuracy_nokd: ``[seeds]`` held-out accuracy (%) without KD, per seed.
      accuracy_kd: ``[seeds]`` with KD from the teacher.
      accuracy_control: ``[seeds]`` with KD from the random-control teacher.
      teacher_accuracy: the teacher's own held-out accuracy (%).
      teacher_val_accuracy: the teacher's accuracy on the validation rows (%).
      epochs: epochs trained for this call (its no-KD, KD and control runs, and its network).
      cost_s: wall seconds of that training (its share of shared programs; compile included).
      warning: '' or the at-chance warning.
    """

    name: str
    kind: str
    call: str
    stopped: str
    seeds: int
    look: int
    alpha_look: float
    delta_kd: float
    ci_kd: tuple[float, float]
    p_kd: float
    delta_transfer: float
    ci_transfer: tuple[float, float]
    p_transfer: float
    mde: float
    accuracy_nokd: np.ndarray
    accuracy_kd: np.ndarray
    accuracy_control: np.ndarray
    teacher_accuracy: float
    teacher_val_accuracy: float
    epochs: int
    cost_s: float
    warning: str

    def advice(self) -> str:
        """One line a user can act on."""
        lo, hi = self.ci_kd
        ci = f"95 % CI {lo:+.2f} to {hi:+.2f}"
        if self.call == "distill":
            head = f"distill: KD from it raised held-out accuracy by {self.delta_kd:.2f} points"
        elif self.call == "dont":
            head = f"dont: KD from it lowered held-out accuracy by {-self.delta_kd:.2f} points"
        elif self.stopped == "futility":
            head = (
                f"undecided: Δ_KD {self.delta_kd:+.2f} points, too small to matter (stopped for "
                f"futility)"
            )
        else:
            head = (
                f"undecided: Δ_KD {self.delta_kd:+.2f} points is not significant; an effect below "
                f"about {self.mde:.2f} points could go unseen (more seeds would look harder)"
            )
        line = f"{self.name}: {head} ({ci}, p = {_fmt_p(self.p_kd)}, {self.seeds} seeds)"
        if self.call == "distill":
            if self.p_transfer < 0.05 and self.delta_transfer > 0:
                line += "; it also beats its random-control teacher (p < 0.05): knowledge, not "
                line += "only a soft target's regularising"
            else:
                line += "; its random-control teacher did not do significantly worse: the gain may "
                line += "be a soft target's regularising, not the teacher's knowledge"
        return line


class TrialResult(NamedTuple):
    """What :func:`trial` returns.

    Attributes:
      teachers: one :class:`TeacherTrial` per teacher, ranked by Δ_KD (highest first).
      rule: the :class:`SequentialRule` used.
      config: the :class:`TrialConfig`.
      sizes: row counts ``{'fit', 'validation', 'test', 'classes', 'student_features'}``,
        ``batch_size``, ``max_epochs``, ``patience``.
      warnings: loud warnings (teachers at chance), also emitted as ``UserWarning``.
      folder: the cache folder (``out/runs-<fingerprint>``), or None.
      trained: cache entries computed by this call.
      cached: cache entries read back.
      seconds: wall time of this call.
      source: the data file ('' for arrays).
    """

    teachers: tuple[TeacherTrial, ...]
    rule: SequentialRule
    config: Any
    sizes: dict
    warnings: tuple[str, ...]
    folder: Path | None
    trained: tuple[str, ...]
    cached: tuple[str, ...]
    seconds: float
    source: str

    def to_dict(self) -> dict:
        """The JSON document of schema ``cch-trial/1`` (``docs/trial.md``); NaN becomes null."""
        import jax

        teachers = []
        for rank, t in enumerate(self.teachers, start=1):
            teachers.append(
                {
                    "name": t.name,
                    "rank": rank,
                    "kind": t.kind,
                    "call": t.call,
                    "stopped": t.stopped,
                    "seeds": t.seeds,
                    "look": t.look,
                    "alpha_look": t.alpha_look,
                    "delta_kd": t.delta_kd,
                    "ci_kd": list(t.ci_kd),
                    "p_kd": t.p_kd,
                    "delta_transfer": t.delta_transfer,
                    "ci_transfer": list(t.ci_transfer),
                    "p_transfer": t.p_transfer,
                    "mde": t.mde,
                    "accuracy_nokd": t.accuracy_nokd.tolist(),
                    "accuracy_kd": t.accuracy_kd.tolist(),
                    "accuracy_control": t.accuracy_control.tolist(),
                    "teacher_accuracy": t.teacher_accuracy,
                    "teacher_val_accuracy": t.teacher_val_accuracy,
                    "epochs": t.epochs,
                    "cost_s": t.cost_s,
                    "warning": t.warning,
                    "advice": t.advice(),
                }
            )
        doc = {
            "schema": SCHEMA,
            "source": self.source,
            "unit": "accuracy points (%) on the held-out rows",
            "teachers": teachers,
            "rule": {
                "test": "paired t, two-sided",
                "looks": list(self.rule.looks),
                "alpha": self.rule.alpha,
                "alpha_look": list(self.rule.alpha_look),
                "critical_t": list(self.rule.critical_t),
                "spending": self.rule.spending,
                "min_effect": self.rule.min_effect,
                "union_bound": True,
            },
            "config": self.config.to_dict(),
            "sizes": self.sizes,
            "warnings": list(self.warnings),
            "cache": None if self.folder is None else str(self.folder),
            "trained": list(self.trained),
            "cached": list(self.cached),
            "cost_s": self.seconds,
            "versions": {"jax": jax.__version__, "backend": jax.default_backend()},
        }
        return _no_nan(doc)

    def table(self) -> str:
        """A small table per teacher (arms, Δs, seeds, cost), ranked by Δ_KD."""
        out = []
        for t in self.teachers:
            what = "trained here on its view" if t.kind == "view" else "its given logits"
            out.append(
                f"teacher {t.name} ({what}; {t.teacher_accuracy:.1f} % on held-out rows): "
                f"call {t.call}"
            )
            out.append(f"  {'arm':<22}{'accuracy %':>11}   {'Δ (95 % CI)':<26}{'p':>8}")
            out.append(f"  {'no KD':<22}{t.accuracy_nokd.mean():>11.2f}")
            for label, acc, d, ci, p in (
                ("KD from the teacher", t.accuracy_kd, t.delta_kd, t.ci_kd, t.p_kd),
                ("KD from the control", t.accuracy_control, math.nan, None, None),
            ):
                right = "" if ci is None else f"   {_fmt_ci(d, ci):<26}{_fmt_p(p):>8}"
                out.append(f"  {label:<22}{acc.mean():>11.2f}{right}")
            out.append(
                f"  {'transfer (KD - control)':<22}{'':>11}   "
                f"{_fmt_ci(t.delta_transfer, t.ci_transfer):<26}{_fmt_p(t.p_transfer):>8}"
            )
            out.append(
                f"  {t.seeds} seeds (look {t.look} of {len(self.rule.looks)}, level "
                f"{t.alpha_look:.4g}, stopped: {t.stopped}); MDE {t.mde:.2f} points; "
                f"{t.epochs} epochs, {t.cost_s:.1f} s"
            )
            if t.warning:
                out.append(f"  {t.warning}")
        return "\n".join(out)


def _fmt_p(p: float) -> str:
    return "n/a" if not math.isfinite(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _fmt_ci(d: float, ci) -> str:
    return f"{d:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]"


def _no_nan(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    if isinstance(value, np.integer | np.floating):
        return _no_nan(value.item())
    return value
