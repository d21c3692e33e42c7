"""Default thresholds of the "fitted" predictors (call = score > threshold).

The leaderboard replaces them by thresholds it fits leave-one-dataset-out; these are only what a
predictor's own call uses. How each was chosen is said next to it.
"""

DEFAULT_THRESHOLDS = {
    # top-1 agreement of teacher and probe student: a majority of rows agree.
    "agreement_top1": 0.5,
    # -mean KL(teacher_T || student_T) in nats: distributions within 0.1 nats on average.
    "agreement_kl": -0.1,
    # -raw GRACE trace: minus the median raw trace (1326) over the 36 cells of
    # benchmarks/predictors_direction.py (range 895-2076). raw scales with the gradients' size,
    # so this default means little on other data: only a fitted threshold does.
    "grace": -1326.0,
}
