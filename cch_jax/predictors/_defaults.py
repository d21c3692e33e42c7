"""Default thresholds of the "fitted" predictors (call = score > threshold).

The leaderboard replaces them by thresholds it fits leave-one-dataset-out; these are only what a
predictor's own call uses. How each was chosen is said next to it.
"""

DEFAULT_THRESHOLDS = {
    # top-1 agreement of teacher and probe student: a majority of rows agree.
    "agreement_top1": 0.5,
    # -mean KL(teacher_T || student_T) in nats: distributions within 0.1 nats on average.
    "agreement_kl": -0.1,
    # -raw GRACE trace; see the package docstring for the measurement it comes from.
    "grace": -50.0,
}
