"""The CCH predictors: ``cch.check`` on (student reps, labels, teacher reps), one MI estimator each.

``cch_<est>`` calls the interval verdict (holds -> distill, fails -> dont, undecided -> abstain);
``cch_<est>_sign`` calls on the sign of the point gap alone (distill iff gap > 0). The score of both
is the point gap I(H_t; H_s) - I(H_s; Y) in nats.
"""

from __future__ import annotations

import jax

from cch_jax import criterion
from cch_jax.criterion import CheckConfig
from cch_jax.predictors._inputs import PredictorInputs

VERDICT_CALLS = {"holds": "distill", "fails": "dont", "undecided": "abstain"}


def cch_core(
    inputs: PredictorInputs,
    key: jax.Array,
    *,
    estimator: str,
    sign: bool,
    config: CheckConfig | None,
):
    """(call, score, details) of one CCH predictor (see the module docstring)."""
    res = criterion.check(
        inputs.student_reps,
        inputs.labels,
        {"teacher": inputs.teacher_reps},
        key=key,
        target="continuous" if inputs.continuous else "classes",
        estimators=(estimator,),
        config=config or CheckConfig(),
    )
    row = res.rows()[0]
    gap = float(row["gap"])
    details = {
        "gap": gap,
        "gap_low": float(row["gap_low"]),
        "gap_high": float(row["gap_high"]),
        "mi_teacher_student": float(row["mi_teacher_student"]),
        "mi_student_label": float(row["mi_student_label"]),
        "verdict": row["verdict"],
        "label_estimator": row["label_estimator"],
        "rows": float(res.n_rows),
    }
    call = ("distill" if gap > 0 else "dont") if sign else VERDICT_CALLS[row["verdict"]]
    return call, gap, details
