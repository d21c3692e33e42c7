"""A classification family after the Modality Focusing Hypothesis (Xue et al., ICLR 2023).

theory/mfh.md derives every formula here. In short: a balanced binary label s = 2y - 1 in {-1, +1};
latent *modality-general decisive* features g (both views), *teacher-specific decisive* features h
(teacher view only) and shared nuisance features v (both views, independent of the label):

    g = s mu_g e_g + xi_g  (k_g dims),  h = s mu_h e_h + xi_h  (k_h dims),  v ~ N(0, I_{k_n}),

with unit vectors e_g = 1/sqrt(k_g), e_h = 1/sqrt(k_h) and xi ~ N(0, I). Each view reads g through
its own noise and is a fixed orthogonal map Q of its blocks:

    x_s = Q_s [ rho_s g + sqrt(1 - rho_s^2) eps_s ; v ]                 (d_s = k_g + k_n)
    x_t = Q_t [ rho_t g + sqrt(1 - rho_t^2) eps_t ; h ; v ]             (d_t = k_g + k_h + k_n)

(rho in [0, 1]: how reliably a view reads g; eps ~ N(0, I)), so that both views are N(s m, I)
given s. The teacher is the Bayes posterior of its view, logit
L_t = 2 m_t^T x_t (log-odds of y = 1). Separations (squared half Mahalanobis distances):
D_s = rho_s^2 mu_g^2, D_tg = rho_t^2 mu_g^2, D_h = mu_h^2, D_t = D_tg + D_h;
accuracies Phi(sqrt(D)); the MFH's gamma = D_tg / D_t (share of the teacher's decisive signal that
is modality-general).

The student is a linear classifier without bias fitted on n rows by the bench's KD loss
(1 - w) CE(y, sigma(z)) + w T^2 KL(sigma(L_t / T) || sigma(z / T)), z = beta^T x_s. Its population
optimum lies on the Bayes direction for every teacher of the family (section 3 of theory/mfh.md),
so KD changes accuracy only through the variance of the fitted direction:

    E acc(n) = Phi(sqrt(D_s)) - 100 phi(sqrt(D_s)) sqrt(D_s) (d_s - 1) R(w) / (2 n) + O(n^-2)  [points]
    R(w) = E[psi^2] / (b^2 E[l'']^2),   Delta(n) = 100 phi(sqrt(D_s)) sqrt(D_s) (d_s - 1)
                                                   (R(0) - R(w)) / (2 n),

with psi, l'' the loss's first and second derivatives in z at the optimum z = b u (u the student's
projection on its Bayes direction) and b the root of E[psi(b u) u] = 0. The expectations are over
the bivariate normal (u, L_t) given s, by Gauss-Hermite quadrature.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from cch_jax import _checks

_NODES = 64  # Gauss-Hermite nodes per dimension (the integrands are smooth: 1e-10 relative)


class MFHModel(NamedTuple):
    """One setting of the family (the student's view is shared by every teacher).

    Attributes:
      mu_g: mean norm of the modality-general decisive features g given s (> 0).
      rho_s: how reliably the student's view reads g, in (0, 1] (its g-block is
        rho_s g + sqrt(1 - rho_s^2) eps).
      rho_t: the same for the teacher's view, in [0, 1] (0: the teacher sees no general feature).
      mu_h: mean norm of the teacher-specific decisive features h (>= 0).
      k_g, k_h, k_n: dimensions of g, h and the shared nuisance v (k_g, k_n >= 1; k_h >= 1).
    """

    mu_g: float
    rho_s: float
    rho_t: float
    mu_h: float
    k_g: int = 4
    k_h: int = 4
    k_n: int = 16

    @property
    def d_student(self) -> int:
        return self.k_g + self.k_n

    @property
    def d_teacher(self) -> int:
        return self.k_g + self.k_h + self.k_n


def check_model(model: MFHModel) -> MFHModel:
    """Checks and returns ``model`` (ValueError naming the field)."""
    _checks.check_instance("model", model, MFHModel)
    _checks.check_real("mu_g", model.mu_g, low=0.0, low_open=True)
    _checks.check_real("rho_s", model.rho_s, low=0.0, high=1.0, low_open=True)
    _checks.check_real("rho_t", model.rho_t, low=0.0, high=1.0)
    _checks.check_real("mu_h", model.mu_h, low=0.0)
    for name in ("k_g", "k_h", "k_n"):
        _checks.check_int(name, getattr(model, name), minimum=1)
    return model


# --------------------------------------------------------------------------------------------------
# Separations, accuracies, gamma


def separations(model: MFHModel) -> dict:
    """``{'student', 'teacher_general', 'teacher_specific', 'teacher'}``: D_s, D_tg, D_h, D_t."""
    check_model(model)
    d_s = (model.rho_s * model.mu_g) ** 2
    d_tg = (model.rho_t * model.mu_g) ** 2
    d_h = model.mu_h**2
    return {"student": d_s, "teacher_general": d_tg, "teacher_specific": d_h, "teacher": d_tg + d_h}


def _phi_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _phi_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def bayes_accuracy(separation: float) -> float:
    """Phi(sqrt(D)) in percentage points: the Bayes accuracy of a view with separation D."""
    _checks.check_real("separation", separation, low=0.0)
    return 100.0 * _phi_cdf(math.sqrt(separation))


def gamma(model: MFHModel) -> float:
    """The MFH's gamma: D_tg / D_t, the modality-general share of the teacher's decisive signal."""
    sep = separations(model)
    return sep["teacher_general"] / sep["teacher"]


def student_accuracy(model: MFHModel, beta) -> np.ndarray:
    """Population accuracy (points) of the linear student(s) ``beta`` written in the student's
    latent coordinates (first k_g coordinates the g-block, before Q_s): Phi(sqrt(D_s) cos angle).

    Args:
      model: :class:`MFHModel`.
      beta: ``[..., d_s]`` weights in latent coordinates (x_s = Q_s x_latent, so beta_latent =
        Q_s^T beta).

    Returns:
      ``[...]`` accuracies in points (a zero vector scores 50).
    """
    from scipy.special import ndtr

    check_model(model)
    beta = np.asarray(beta, np.float64)
    e = np.zeros(model.d_student)
    e[: model.k_g] = 1.0 / math.sqrt(model.k_g)
    norm = np.linalg.norm(beta, axis=-1)
    cos = np.divide(beta @ e, norm, out=np.zeros_like(norm), where=norm > 0)
    return 100.0 * ndtr(math.sqrt(separations(model)["student"]) * cos)


# --------------------------------------------------------------------------------------------------
# The population optimum and the variance of the fitted direction


class _Quadrature(NamedTuple):
    u: np.ndarray  # student projection on its Bayes direction, given s = +1
    lt: np.ndarray  # the teacher's logit, given s = +1
    weight: np.ndarray  # quadrature weights (sum 1)


def conditional_moments(model: MFHModel) -> dict:
    """Given s = +1: u ~ N(sqrt(D_s), 1), L_t ~ N(2 D_t, 4 D_t), Cov(u, L_t) = 2 rho_s rho_t^2
    mu_g (only the shared latent xi_g links them). Returns ``{'mean_u', 'mean_lt', 'var_lt',
    'cov'}``."""
    sep = separations(model)
    cov = 2.0 * model.rho_s * model.rho_t**2 * model.mu_g
    return {
        "mean_u": math.sqrt(sep["student"]),
        "mean_lt": 2.0 * sep["teacher"],
        "var_lt": 4.0 * sep["teacher"],
        "cov": cov,
    }


def _quadrature(model: MFHModel, nodes: int = _NODES) -> _Quadrature:
    m = conditional_moments(model)
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    u = m["mean_u"] + z1
    resid = max(m["var_lt"] - m["cov"] ** 2, 0.0)
    lt = m["mean_lt"] + m["cov"] * z1 + math.sqrt(resid) * z2
    return _Quadrature(u.ravel(), lt.ravel(), np.outer(w, w).ravel())


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _derivatives(z, lt, kd_weight: float, temperature: float):
    """psi = dl/dz and l'' at label y = 1 (s = +1): the KD loss's derivatives in the logit z."""
    w, t = kd_weight, temperature
    q = _sigmoid(lt / t)
    p, pt = _sigmoid(z), _sigmoid(z / t)
    psi = (1.0 - w) * (p - 1.0) + w * t * (pt - q)
    curv = (1.0 - w) * p * (1.0 - p) + w * pt * (1.0 - pt)
    return psi, curv


def _check_kd(kd_weight, temperature) -> None:
    _checks.check_real("kd_weight", kd_weight, low=0.0, high=1.0)
    _checks.check_real("temperature", temperature, low=0.0, low_open=True)


def optimal_scale(model: MFHModel, kd_weight: float, temperature: float = 3.0) -> float:
    """b: the population optimum is beta* = b e (e the student's Bayes direction).

    The root of E[psi(b u) u] = 0 (increasing in b), by bisection on a log scale. With no KD,
    b = 2 sqrt(D_s) (the Bayes logit).
    """
    check_model(model)
    _check_kd(kd_weight, temperature)
    q = _quadrature(model)

    def score(b: float) -> float:
        psi, _ = _derivatives(b * q.u, q.lt, kd_weight, temperature)
        return float(np.sum(q.weight * psi * q.u))

    lo, hi = 1e-6, 1.0
    while score(hi) < 0:
        hi *= 2.0
        if hi > 1e6:
            raise ValueError("model: no finite optimum (separable population?)")
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if score(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-13:
            break
    return math.sqrt(lo * hi)


def direction_variance(model: MFHModel, kd_weight: float, temperature: float = 3.0) -> float:
    """R(w) = E[psi^2] / (b^2 E[l'']^2): n times the variance of each orthogonal coordinate of the
    fitted direction beta_hat / b (the sandwich covariance's orthogonal block over b^2)."""
    b = optimal_scale(model, kd_weight, temperature)
    q = _quadrature(model)
    psi, curv = _derivatives(b * q.u, q.lt, kd_weight, temperature)
    return float(np.sum(q.weight * psi**2) / (b**2 * np.sum(q.weight * curv) ** 2))


def accuracy_loss_factor(model: MFHModel) -> float:
    """100 phi(sqrt(D_s)) sqrt(D_s) (d_s - 1) / 2: points of accuracy lost per unit of R / n."""
    d_s = separations(model)["student"]
    return 100.0 * _phi_pdf(math.sqrt(d_s)) * math.sqrt(d_s) * (model.d_student - 1) / 2.0


def expected_accuracy(model: MFHModel, kd_weight: float, n: int, temperature: float = 3.0) -> float:
    """The student's expected accuracy (points) after fitting on n rows, to order 1/n."""
    n = _checks.check_int("n", n, minimum=1)
    r = direction_variance(model, kd_weight, temperature)
    return bayes_accuracy(separations(model)["student"]) - accuracy_loss_factor(model) * r / n


def theory_delta(model: MFHModel, kd_weight: float, n: int, temperature: float = 3.0) -> float:
    """The known answer: E acc(KD) - E acc(no KD) in points, to order 1/n (positive: KD helps).

    Args:
      model: :class:`MFHModel`.
      kd_weight: w in [0, 1].
      n: rows the student fits on (>= 1; the formula is the large-n term).
      temperature: T > 0.

    Returns:
      accuracy_loss_factor * (R(0) - R(w)) / n.
    """
    n = _checks.check_int("n", n, minimum=1)
    r0 = direction_variance(model, 0.0, temperature)
    rw = direction_variance(model, kd_weight, temperature)
    return accuracy_loss_factor(model) * (r0 - rw) / n


# --------------------------------------------------------------------------------------------------
# Sampling


def views(model: MFHModel, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fixed orthogonal maps (Q_s [d_s, d_s], Q_t [d_t, d_t]), drawn from ``seed``."""
    check_model(model)
    rng = np.random.default_rng([int(seed), 41])

    def ortho(d):
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        return q * np.sign(np.diag(r))[None, :]

    return ortho(model.d_student), ortho(model.d_teacher)


class Latents(NamedTuple):
    """The latent draws of n rows (shared by every teacher of a family with the same dimensions).

    Attributes:
      s: ``[n]`` label signs in {-1, +1}.
      xi_g: ``[n, k_g]``, xi_h: ``[n, k_h]``: the noise of g and h (g = s mu_g e_g + xi_g).
      eps_s, eps_t: ``[n, k_g]`` the student's and the teacher's read-out noise on g.
      v: ``[n, k_n]`` the shared nuisance features.
    """

    s: np.ndarray
    xi_g: np.ndarray
    xi_h: np.ndarray
    eps_s: np.ndarray
    eps_t: np.ndarray
    v: np.ndarray


def draw_latents(model: MFHModel, n: int, rng: np.random.Generator) -> Latents:
    """n rows of latents (P(s = +1) = 1/2, every noise N(0, 1) and independent)."""
    check_model(model)
    n = _checks.check_int("n", n, minimum=1)
    s = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    k_g, k_h, k_n = model.k_g, model.k_h, model.k_n
    return Latents(
        s,
        rng.standard_normal((n, k_g)),
        rng.standard_normal((n, k_h)),
        rng.standard_normal((n, k_g)),
        rng.standard_normal((n, k_g)),
        rng.standard_normal((n, k_n)),
    )


def _blocks(model: MFHModel, lat: Latents) -> tuple[np.ndarray, np.ndarray]:
    """(student blocks [n, d_s], teacher blocks [n, d_t]) before the maps Q."""
    g = lat.s[:, None] * (model.mu_g / math.sqrt(model.k_g)) + lat.xi_g
    h = lat.s[:, None] * (model.mu_h / math.sqrt(model.k_h)) + lat.xi_h
    gs = model.rho_s * g + math.sqrt(1.0 - model.rho_s**2) * lat.eps_s
    gt = model.rho_t * g + math.sqrt(1.0 - model.rho_t**2) * lat.eps_t
    return np.concatenate([gs, lat.v], axis=1), np.concatenate([gt, h, lat.v], axis=1)


def teacher_logit(model: MFHModel, lat: Latents) -> np.ndarray:
    """``[n]`` the teacher's Bayes log-odds L_t = 2 m_t^T x_t, from the latents (Q_t drops out)."""
    check_model(model)
    _, blocks_t = _blocks(model, lat)
    k_g, k_h = model.k_g, model.k_h
    mean_g = model.rho_t * model.mu_g / math.sqrt(k_g)
    mean_h = model.mu_h / math.sqrt(k_h)
    return 2.0 * (
        mean_g * blocks_t[:, :k_g].sum(axis=1) + mean_h * blocks_t[:, k_g : k_g + k_h].sum(axis=1)
    )


class MFHSample(NamedTuple):
    """Rows of the family.

    Attributes:
      y: ``[n]`` int32 labels in {0, 1}.
      x_student: ``[n, d_s]`` the student view.
      x_teacher: ``[n, d_t]`` the teacher view.
      teacher_logit: ``[n]`` the teacher's Bayes log-odds L_t = 2 m_t^T x_t.
      latent_student: ``[n, d_s]`` the student's blocks before Q_s (x_s = latent @ Q_s^T).
    """

    y: np.ndarray
    x_student: np.ndarray
    x_teacher: np.ndarray
    teacher_logit: np.ndarray
    latent_student: np.ndarray


def class_means(model: MFHModel, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(m_s [d_s], m_t [d_t]): the views' means given s = +1 (given s: N(s m, I))."""
    sep = separations(model)
    q_s, q_t = views(model, seed)
    lat_s = np.zeros(model.d_student)
    lat_s[: model.k_g] = math.sqrt(sep["student"] / model.k_g)
    lat_t = np.zeros(model.d_teacher)
    lat_t[: model.k_g] = math.sqrt(sep["teacher_general"] / model.k_g)
    lat_t[model.k_g : model.k_g + model.k_h] = model.mu_h / math.sqrt(model.k_h)
    return q_s @ lat_s, q_t @ lat_t


def sample(model: MFHModel, n: int, rng: np.random.Generator, *, seed: int = 0) -> MFHSample:
    """Draws n rows (balanced in expectation: P(y = 1) = 1/2).

    Args:
      model: :class:`MFHModel`.
      n: rows, >= 1.
      rng: ``numpy.random.Generator`` of the latent draws.
      seed: seed of the fixed maps Q_s, Q_t (:func:`views`).

    Returns:
      :class:`MFHSample` (float64).
    """
    lat = draw_latents(model, n, rng)
    blocks_s, blocks_t = _blocks(model, lat)
    q_s, q_t = views(model, seed)
    x_t = blocks_t @ q_t.T
    _, m_t = class_means(model, seed)
    y = ((lat.s + 1) / 2).astype(np.int32)
    return MFHSample(y, blocks_s @ q_s.T, x_t, 2.0 * x_t @ m_t, blocks_s)


# --------------------------------------------------------------------------------------------------
# The exact M-estimator (for the checks)


def _softplus(x):
    return np.logaddexp(0.0, x)


def kd_loss(z, y, teacher_logit, kd_weight: float, temperature: float = 3.0):
    """The bench's per-row KD loss of a binary student with logit difference z (nats, the KL's
    constant entropy term dropped): (1 - w) CE(y, sigma(z)) + w T^2 CE(sigma(L_t/T), sigma(z/T))."""
    w, t = kd_weight, temperature
    q = _sigmoid(np.asarray(teacher_logit, np.float64) / t)
    z = np.asarray(z, np.float64)
    ce = _softplus(z) - np.asarray(y, np.float64) * z
    soft = _softplus(z / t) - q * z / t
    return (1.0 - w) * ce + w * t * t * soft


def fit_students(x, y, teacher_logit, kd_weight: float, temperature: float = 3.0, *, steps=50):
    """The unregularised minimiser of the mean KD loss over rows, by damped Newton steps from 0,
    batched over training sets.

    Args:
      x: ``[R, n, d]`` inputs of R training sets.
      y: ``[R, n]`` labels in {0, 1}.
      teacher_logit: ``[R, n]`` teacher log-odds.
      kd_weight: w in [0, 1].
      temperature: T > 0.
      steps: Newton iterations (each halves its step until the loss does not increase).

    Returns:
      ``[R, d]`` weights (the logit difference's; a softmax student with two zero-initialised
      outputs learns the same difference).
    """
    _check_kd(kd_weight, temperature)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    q = _sigmoid(np.asarray(teacher_logit, np.float64) / temperature)
    w, t = kd_weight, temperature
    r, n, d = x.shape
    beta = np.zeros((r, d))

    def loss(b):
        z = np.einsum("rnd,rd->rn", x, b)
        ce = _softplus(z) - y * z
        return np.mean((1 - w) * ce + w * t * t * (_softplus(z / t) - q * z / t), axis=1)

    cur = loss(beta)
    for _ in range(steps):
        z = np.einsum("rnd,rd->rn", x, beta)
        p, pt = _sigmoid(z), _sigmoid(z / t)
        psi = (1 - w) * (p - y) + w * t * (pt - q)
        curv = (1 - w) * p * (1 - p) + w * pt * (1 - pt)
        grad = np.einsum("rnd,rn->rd", x, psi) / n
        hess = np.einsum("rnd,rn,rne->rde", x, curv, x) / n + 1e-10 * np.eye(d)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        scale = np.ones(r)
        for _ in range(30):
            new = loss(beta - scale[:, None] * step)
            bad = new > cur + 1e-15
            if not bad.any():
                break
            scale = np.where(bad, scale / 2, scale)
        beta = beta - scale[:, None] * step
        cur = loss(beta)
        if np.max(np.abs(scale[:, None] * step)) < 1e-10:
            break
    return beta
