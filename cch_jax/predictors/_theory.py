"""``theory_risk``: Theorem 1's risk formula (theory/derivation.md, section 3) with plug-in moments.

The targets y are the one-hot labels (k columns; a continuous target is one column) and the
teacher's prediction t is softmax(teacher_logits / T) (the teacher's predictions [m, 1] for a
continuous target; absent logits come from the linear probe on teacher_reps). The student
representations are reduced by PCA (fitted on all held-out rows: it does not see y or t) to
r = min(d_s, rank, floor(m_fit / 10)) components, at least 10 fitting rows per dimension, m_fit the
rows of the smaller half below. The rows are split at random into two halves; least squares fitted
on one half (y on H_s: the student's w*; t on H_s: v; every column centred with the fitting half's
means) predicts the other half, and vice versa. On the pooled out-of-half residuals,

    sigma2 = sum_j Var(y_j - s_j),   tau2 = sum_j Var(t_j - u_j),
    c = sum_j Cov(y_j - s_j, t_j - u_j),   B = sum_j Var(u_j - s_j)

(trace over the k targets). Out-of-half residuals carry the fitting noise of w* and v: under the
model's Gaussian design each of sigma2, tau2, c is inflated by (1 + f_fit), f_fit =
r / (m_fit - r - 1) + 1 / m_fit (the second term: the centring), and B by
(sigma2 - 2c + tau2) f_fit; these are removed (B clipped at 0), so the moments are unbiased rather
than optimistic (in-sample) or pessimistic (out-of-sample).

The formula then uses d = r, alpha = n_train / d, f = d / (n_train - d - 1) (``theory.finite_f``)
and mu = kd_weight:  R(mu) = sigma2 + mu^2 B + [(1 - mu)^2 sigma2 + 2 mu (1 - mu) c + mu^2 tau2] f,
R0 = sigma2 (1 + f). Call distill iff R(mu) < R0; score = (R0 - R(mu)) / R0. When
n_train <= d + 1 least squares interpolates and f is infinite (the asymptotic 1 / (alpha - 1) is
not defined either); the limit f -> inf of the score is used, (sigma2 - nu(mu)) / sigma2 with
nu(mu) = (1 - mu)^2 sigma2 + 2 mu (1 - mu) c + mu^2 tau2: KD helps iff the blended target's
residual is smaller than the label's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import theory
from cch_jax.predictors._inputs import PredictorInputs

ROWS_PER_DIM = 10


def pca_scores(x: np.ndarray, rank: int) -> tuple[np.ndarray, int]:
    """Centred x projected on its leading principal directions ([m, d] -> [m, r], r <= rank).

    Directions with a singular value below 1e-6 of the largest are dropped.
    """
    xc = x - x.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    keep = int(min(rank, np.sum(s > 1e-6 * max(s[0], 1e-300))))
    keep = max(keep, 1)
    return xc @ vt[:keep].T, keep


def _residuals(h_fit, h_eval, y_fit, y_eval):
    """Out-of-sample predictions of y_eval from least squares fitted on (h_fit, y_fit)."""
    h_mean, y_mean = h_fit.mean(axis=0), y_fit.mean(axis=0)
    coef, *_ = np.linalg.lstsq(h_fit - h_mean, y_fit - y_mean, rcond=None)
    return (h_eval - h_mean) @ coef + y_mean


def plugin_moments(h: np.ndarray, y: np.ndarray, t: np.ndarray, halves: np.ndarray) -> dict:
    """Cross-fitted plug-in moments of the risk formula (module docstring).

    Args:
      h: [m, r] student features (after PCA).
      y: [m, q] targets; t: [m, q] teacher predictions.
      halves: [m] bool, True for the first half.

    Returns:
      dict with sigma2, tau2, c, bias, var_y, var_t, var_s, cov_ts (corrected) and f_fit.
    """
    s_hat = np.empty_like(y)
    u_hat = np.empty_like(t)
    for fit in (halves, ~halves):
        ev = ~fit
        s_hat[ev] = _residuals(h[fit], h[ev], y[fit], y[ev])
        u_hat[ev] = _residuals(h[fit], h[ev], t[fit], t[ev])
    m_fit = int(min(halves.sum(), (~halves).sum()))
    r = h.shape[1]
    f_fit = r / (m_fit - r - 1) + 1.0 / m_fit

    def cov(a, b):
        return float(np.sum(np.mean((a - a.mean(0)) * (b - b.mean(0)), axis=0)))

    e_y, e_t, diff = y - s_hat, t - u_hat, u_hat - s_hat
    inflate = 1.0 + f_fit
    sigma2 = cov(e_y, e_y) / inflate
    tau2 = cov(e_t, e_t) / inflate
    c = cov(e_y, e_t) / inflate
    bias = max(cov(diff, diff) - (sigma2 - 2 * c + tau2) * f_fit, 0.0)
    var_y = cov(y, y)
    sigma2 = float(min(max(sigma2, 1e-9 * var_y), var_y))
    return dict(
        sigma2=sigma2,
        tau2=max(tau2, 0.0),
        c=c,
        bias=bias,
        var_y=var_y,
        var_t=cov(t, t),
        var_s=max(var_y - sigma2, 0.0),
        cov_ts=cov(t, s_hat),
        f_fit=f_fit,
    )


def theory_risk_core(inputs: PredictorInputs, key: jax.Array):
    """(call, score, details) of ``theory_risk`` on filled inputs (teacher_logits present)."""
    if inputs.continuous:
        y = inputs.labels[:, None]
        t = inputs.teacher_logits
    else:
        y = np.eye(inputs.num_classes)[inputs.labels]
        t = np.asarray(
            jax.nn.softmax(jnp.asarray(inputs.teacher_logits) / inputs.temperature, axis=-1),
            dtype=np.float64,
        )
    m = inputs.rows
    if m < 2 * (ROWS_PER_DIM + 3):
        raise ValueError(
            f"labels: theory_risk needs at least {2 * (ROWS_PER_DIM + 3)} rows, got {m}"
        )
    order = np.asarray(jax.random.permutation(key, m))
    halves = np.zeros(m, bool)
    halves[order[: m // 2]] = True
    m_fit = m // 2
    rank = max(1, min(inputs.student_reps.shape[1], m_fit // ROWS_PER_DIM))
    h, r = pca_scores(inputs.student_reps, rank)
    mom = plugin_moments(h, y, t, halves)
    f_fit = mom.pop("f_fit")
    moments = theory.Moments(**{k: jnp.asarray(v) for k, v in mom.items()})
    mu = inputs.kd_weight
    n = inputs.n_train
    nu = (1 - mu) ** 2 * mom["sigma2"] + 2 * mu * (1 - mu) * mom["c"] + mu**2 * mom["tau2"]
    details = dict(mom, d=float(r), f_fit=f_fit, alpha=n / r, kd_weight=mu)
    if n > r + 1:
        f = theory.finite_f(n, r)
        r_mu = float(theory.risk(moments, mu, f))
        r0 = float(theory.risk0(moments, f))
        score = (r0 - r_mu) / r0
        details.update(
            f=float(f),
            f_kind="finite",
            risk=r_mu,
            risk0=r0,
            kd_window=float(theory.kd_window(moments, f)),
            best_weight=float(theory.best_weight(moments, f)),
        )
    else:
        score = (mom["sigma2"] - nu) / mom["sigma2"]
        details.update(f=float("inf"), f_kind="limit n_train <= d + 1", blended_residual=nu)
    return ("distill" if score > 0 else "dont"), float(score), details
