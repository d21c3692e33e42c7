"""The estimates behind ``check``: PCA, row subsamples and each estimator vmapped over them.

KSG-type estimators (``"ksg"`` and the label estimators ``"ross"`` and continuous ``"ksg"``) first
reduce each representation to ``pca_dim`` principal components, then to ``cca_dim`` canonical
variates fitted on the rows *outside* the subsample (cross-fitting; for labels, canonical correlation
with the one-hot classes = discriminant directions), each weighted by its canonical correlation
(:func:`cca_project`). On the known-answer triples this keeps KSG much closer to the truth than
KSG on a few principal components, which reads low (noise directions in the neighbour search;
docs/check.md, "Default pairing and why").

Every estimate is computed on R random subsamples of m = round(f n) rows drawn without replacement
(``subsample_fraction`` f, ``repeats`` R): no row is ever duplicated (a bootstrap's duplicated rows
are zero-distance neighbours that inflate k-NN estimates). The R estimates are one vmapped program
per estimator (KSG's batched form, ``jax.vmap`` over subsample indices and keys for the trained
estimators). The label term uses the same R subsamples, so each gap I(H_t; H_s) - I(H_s; Y) is
paired within a subsample.

Interval (per quantity, from the R values v_r): centre = mean(v), standard error
se = sd(v) * sqrt(f / (1 - f) + 1 / R) (the delete-d jackknife variance of an estimate on n rows,
f / (1 - f) var(v), plus the Monte-Carlo variance of the mean of R subsamples), and
centre +- t_{R-1, (1 + level) / 2} se.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _tdist, mi


def pca(a: np.ndarray, dim: int | None, standardize: bool = False) -> np.ndarray:
    """The first ``dim`` principal-component scores of ``a`` [n, d] (float32); all (centred)
    columns if d <= dim.

    With ``standardize`` each column is first divided by its standard deviation, so that the
    components do not depend on the columns' units (a column in millimetres instead of metres
    would otherwise take the leading components); constant columns (dropped earlier by
    ``prepare``) stay at 0. Computed from the d x d covariance in float64 (memory O(d^2) beyond
    the data).
    """
    a = np.asarray(a, np.float32)
    centred = a - a.mean(axis=0, dtype=np.float64).astype(np.float32)
    if standardize:
        sd = centred.std(axis=0, dtype=np.float64)
        centred = centred / np.where(sd > 0, sd, 1.0).astype(np.float32)
    if dim is None or a.shape[1] <= dim:
        return centred
    cov = centred.T.astype(np.float64) @ centred.astype(np.float64) / a.shape[0]
    _, vecs = np.linalg.eigh(cov)
    top = vecs[:, ::-1][:, :dim].astype(np.float32)
    return centred @ top


def subsample_indices(key: jax.Array, n: int, repeats: int, fraction: float) -> jax.Array:
    """[R, n] row permutations: the first m = round(f n) of each are subsample r, the rest are the
    rows its projections (CCA) are fitted on."""
    keys = jax.random.split(key, repeats)
    return jax.vmap(lambda k: jax.random.permutation(k, n))(keys)


def subsample_size(n: int, fraction: float) -> int:
    """m = round(f n), at least 2 and at most n - 2."""
    return min(max(2, int(round(fraction * n))), n - 2)


def effective_pca_dim(config, n: int) -> int:
    """Principal components the canonical directions are fitted in: ``config.pca_dim``, capped so
    that there are at least 100 fitting rows (n - m) per dimension, and at least ``cca_dim``.

    Measured on the known-answer triples (gap 0, 32 + 32 columns, truth 0.845 nats): at n = 1000
    KSG on variates fitted in 4 / 8 / 16 / 32 components reads 0.81 / 0.77 / 0.68 / 0.61; at
    n = 8000 all read 0.82-0.83.
    """
    fit_rows = n - subsample_size(n, config.subsample_fraction)
    return max(config.cca_dim, min(config.pca_dim, fit_rows // 100))


def effective_mine_dim(config, n: int) -> int | None:
    """Principal components given to MINE: ``config.mine_pca_dim`` capped at one per 100 training
    rows of each subsample (and at least ``cca_dim``); None when ``mine_pca_dim`` is None.

    Measured on the known-answer triple with gap 0 (32 + 32 columns, truth 0.845 nats), n = 2000
    (500 training rows per subsample): MINE on 32 / 8 / 4 components reads 0.22 / 0.74 / 0.83.
    """
    if config.mine_pca_dim is None:
        return None
    m = subsample_size(n, config.subsample_fraction)
    train_rows = m - int(round(m * config.mine.heldout_fraction))
    return max(config.cca_dim, min(config.mine_pca_dim, train_rows // 100))


def effective_latent_dim(config, n: int) -> int | None:
    """Principal components given to the latent autoencoders: ``config.latent_pca_dim`` capped at
    one per 100 network training rows of a subsample (and at least ``cca_dim``).

    Measured on the known-answer triple with gap 0 (truth 0.845 nats), n = 2000 (400 training rows
    per subsample): all 32 columns 0.42, 8 components 0.40, 4 components 0.69.
    """
    if config.latent_pca_dim is None:
        return None
    m = subsample_size(n, config.subsample_fraction)
    n_ksg = int(round(m * config.latent.ksg_fraction))
    n_val = int(round((m - n_ksg) * config.latent.validation_fraction))
    train_rows = m - n_ksg - n_val
    return max(config.cca_dim, min(config.latent_pca_dim, train_rows // 100))


def _inv_sqrt(c: np.ndarray, reg: float) -> np.ndarray:
    q = c.shape[0]
    c = c + reg * np.trace(c) / q * np.eye(q)
    w, v = np.linalg.eigh(c)
    return (v / np.sqrt(np.maximum(w, 1e-12))) @ v.T


def cca_project(x_fit, y_fit, x_eval, y_eval, dim: int, reg: float):
    """Cross-fitted canonical variates, weighted by their canonical correlations (NumPy, float64).

    Canonical directions (ridge ``reg`` times the mean variance on each covariance) are fitted on
    ``x_fit`` [f, dx], ``y_fit`` [f, dy] and applied to the evaluation rows; each of the first
    ``dim`` variates is standardised and multiplied by its fitted canonical correlation, so that
    pairs with (nearly) no shared information barely move a max-norm neighbour search. The
    projection is a fixed linear map of the evaluation rows (fitted elsewhere), so KSG on its output
    estimates I(a^T X; b^T Y) <= I(X; Y) without the over-fitting of in-sample CCA, and the
    scaling (an invertible map of each variate) changes only KSG's finite-sample bias.

    (NumPy rather than JAX: XLA:CPU's LAPACK calls were seen to hang after NumPy's in the same
    process; the matrices are only [d, d] with d <= pca_dim.)

    Returns:
      (x_eval [m, dim] float32, y_eval [m, dim] float32, canonical correlations [dim]).
    """
    x_fit, y_fit = np.asarray(x_fit, np.float64), np.asarray(y_fit, np.float64)
    mx, my = x_fit.mean(axis=0), y_fit.mean(axis=0)
    x_fit, y_fit = x_fit - mx, y_fit - my
    x_eval = np.asarray(x_eval, np.float64) - mx
    y_eval = np.asarray(y_eval, np.float64) - my
    f = x_fit.shape[0]
    wx = _inv_sqrt(x_fit.T @ x_fit / f, reg)
    wy = _inv_sqrt(y_fit.T @ y_fit / f, reg)
    m = wx @ (x_fit.T @ y_fit / f) @ wy
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    dim = min(dim, s.shape[0])
    zx = x_eval @ (wx @ u[:, :dim])
    zy = y_eval @ (wy @ vt.T[:, :dim])
    zx = zx / np.maximum(zx.std(axis=0), 1e-12)
    zy = zy / np.maximum(zy.std(axis=0), 1e-12)
    return (zx * s[:dim]).astype(np.float32), (zy * s[:dim]).astype(np.float32), s[:dim]


def _cca_batch(x, y, perms, m: int, dim: int, reg: float):
    """[R, m, dim] pairs of cross-fitted variates, one per subsample (rows perms[r, :m]; fitted on
    perms[r, m:])."""
    x, y, perms = np.asarray(x), np.asarray(y), np.asarray(perms)
    out = [cca_project(x[p[m:]], y[p[m:]], x[p[:m]], y[p[:m]], dim, reg)[:2] for p in perms]
    return jnp.asarray(np.stack([a for a, _ in out])), jnp.asarray(np.stack([b for _, b in out]))


def interval(values: np.ndarray, *, fraction: float, level: float) -> tuple[float, float, float]:
    """(centre, low, high) from R subsample values (see the module docstring)."""
    v = np.asarray(values, np.float64)
    r = v.shape[0]
    centre = float(v.mean())
    sd = float(v.std(ddof=1))
    se = sd * np.sqrt(fraction / (1.0 - fraction) + 1.0 / r)
    half = _tdist.t_ppf(0.5 + level / 2.0, r - 1) * se
    return centre, centre - half, centre + half


def _block(r: int, m: int) -> int:
    """Query rows per KSG step for R datasets of m rows: keep [block, m] x R near 2^18 values."""
    return max(8, (1 << 18) // max(m * r, 1))


def trained_pca_dim(name: str, config, n: int) -> int | None:
    """Principal components a trained (network) estimator ``name`` is given, capped per estimator
    (``mine_pca_dim``, ``latent_pca_dim``, ``probe_pca_dim``; another registered estimator gets
    MINE's cap)."""
    if name == "latent":
        return effective_latent_dim(config, n)
    if name == "probe":
        return config.probe_pca_dim
    return effective_mine_dim(config, n)


def estimator_config(name: str, config):
    """The criterion's config for a registered estimator (None: the estimator's defaults)."""
    return {"mine": config.mine, "latent": config.latent, "probe": config.probe}.get(name)


def _trained(name: str, x, y, idx, key, config, **options) -> np.ndarray:
    """[R] estimates of a registered trained estimator on the subsamples idx [R, m], vmapped."""
    mi.get_estimator(name)  # an unknown name fails here, outside the compiled program
    cfg = estimator_config(name, config)
    if cfg is not None and hasattr(cfg, "training_rows"):
        # small data with the defaults: a minibatch no larger than the estimator's training split
        rows = cfg.training_rows(idx.shape[1])
        if 2 <= rows < cfg.batch_size:
            cfg = dataclasses.replace(cfg, batch_size=rows)
    keys = jax.random.split(key, idx.shape[0])
    values = _trained_program(
        jnp.asarray(x),
        jnp.asarray(y),
        jnp.asarray(idx),
        keys,
        name=name,
        config=cfg,
        options=tuple(sorted(options.items())),
    )
    return np.asarray(values)


def teacher_student(
    name: str, teacher: np.ndarray, student: np.ndarray, idx, key, config
) -> np.ndarray:
    """[R] estimates of I(H_t; H_s) with the registered "pair" estimator ``name`` on the
    subsamples ``idx`` [R, n] (the first m of each row)."""
    r, n = idx.shape
    m = subsample_size(n, config.subsample_fraction)
    if name == "ksg":
        q = effective_pca_dim(config, n)
        zt, zs = _cca_batch(
            pca(teacher, q, config.standardize),
            pca(student, q, config.standardize),
            idx,
            m,
            config.cca_dim,
            config.cca_reg,
        )
        ksg = mi.get_estimator("ksg")
        return np.asarray(ksg(zt, zs, k=config.k, standardize=False, block=_block(r, m)).estimate)
    q = trained_pca_dim(name, config, n)
    return _trained(
        name,
        pca(teacher, q, config.standardize),
        pca(student, q, config.standardize),
        idx[:, :m],
        key,
        config,
    )


@functools.partial(jax.jit, static_argnames=("name", "config", "options"))
def _trained_program(x, y, idx, keys, *, name: str, config, options: tuple):
    """[R] estimates of the trained estimator ``name`` on the subsamples idx [R, m] of x [n, dx]
    and y [n, ...], one vmapped program.

    Module-level and jitted once: the program is compiled once per (estimator, config, options,
    shapes) and reused by every later call (a closure jitted per call would recompile each time).
    ``config`` (a frozen, hashable dataclass) and ``options`` (sorted (name, value) pairs) are
    static; the data stay arguments (no constant folding).
    """
    est = mi.get_estimator(name)

    def one(i, kk):
        return est(x[i], y[i], key=kk, config=config, **dict(options)).estimate

    return jax.vmap(one)(idx, keys)


def student_label(
    name: str, student: np.ndarray, labels: np.ndarray, num_classes: int | None, idx, key, config
) -> np.ndarray:
    """[R] estimates of I(H_s; Y) with label estimator ``name`` on the subsamples ``idx``: Ross's
    KSG (``"ross"``) or KSG (``"ksg"``, continuous labels) on cross-fitted canonical variates, a
    registered ``"labels"`` estimator on (H_s, labels), or a ``"pair"`` estimator on H_s and the
    labels (the one-hot classes, or continuous labels as one column)."""
    r, n = idx.shape
    m = subsample_size(n, config.subsample_fraction)
    y = jnp.asarray(labels)
    y_matrix = jax.nn.one_hot(y, num_classes) if num_classes else y[:, None]
    if name in ("ross", "ksg"):
        s = pca(student, effective_pca_dim(config, n), config.standardize)
        zs, zy = _cca_batch(s, y_matrix, idx, m, config.cca_dim, config.cca_reg)
        y_ev = y[idx[:, :m]]
        if name == "ross":
            ross = mi.get_estimator("ross")
            return np.asarray(
                ross(zs, y_ev, k=config.k, standardize=False, block=_block(r, m)).estimate
            )
        ksg = mi.get_estimator("ksg")
        return np.asarray(
            ksg(zs[..., :1], y_ev[..., None], k=config.k, block=_block(r, m)).estimate
        )
    s = pca(student, trained_pca_dim(name, config, n), config.standardize)
    if mi.get_estimator(name).kind == "labels":
        return _trained(name, s, y, idx[:, :m], key, config, num_classes=num_classes)
    return _trained(name, s, y_matrix, idx[:, :m], key, config)
