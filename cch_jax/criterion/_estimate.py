"""The estimates behind ``check``: PCA, row subsamples and each estimator vmapped over them.

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

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from cch_jax.mi._ksg import ksg
from cch_jax.mi._ksg_labels import ksg_labels
from cch_jax.mi._latent import latent_mi
from cch_jax.mi._mine import mine
from cch_jax.mi._probe import probe_labels


def pca(a: np.ndarray, dim: int | None) -> np.ndarray:
    """The first ``dim`` principal-component scores of ``a`` [n, d] (float32); all if d <= dim.

    Computed from the d x d covariance in float64 (memory O(d^2) beyond the data).
    """
    a = np.asarray(a, np.float32)
    centred = a - a.mean(axis=0, dtype=np.float64).astype(np.float32)
    if dim is None or a.shape[1] <= dim:
        return centred
    cov = centred.T.astype(np.float64) @ centred.astype(np.float64) / a.shape[0]
    _, vecs = np.linalg.eigh(cov)
    top = vecs[:, ::-1][:, :dim].astype(np.float32)
    return centred @ top


def subsample_indices(key: jax.Array, n: int, repeats: int, fraction: float) -> jax.Array:
    """[R, m] row indices, each row a subsample of m = round(f n) rows without replacement."""
    m = max(2, int(round(fraction * n)))
    keys = jax.random.split(key, repeats)
    return jax.vmap(lambda k: jax.random.permutation(k, n)[:m])(keys)


def interval(values: np.ndarray, *, fraction: float, level: float) -> tuple[float, float, float]:
    """(centre, low, high) from R subsample values (see the module docstring)."""
    v = np.asarray(values, np.float64)
    r = v.shape[0]
    centre = float(v.mean())
    sd = float(v.std(ddof=1))
    se = sd * np.sqrt(fraction / (1.0 - fraction) + 1.0 / r)
    half = float(scipy.stats.t.ppf(0.5 + level / 2.0, r - 1)) * se
    return centre, centre - half, centre + half


def _block(r: int, m: int) -> int:
    """Query rows per KSG step for R datasets of m rows: keep [block, m] x R near 2^18 values."""
    return max(8, (1 << 18) // max(m * r, 1))


def teacher_student(
    name: str, teacher: np.ndarray, student: np.ndarray, idx, key, config
) -> np.ndarray:
    """[R] estimates of I(H_t; H_s) with estimator ``name`` on the subsamples ``idx`` [R, m]."""
    r, m = idx.shape
    if name == "ksg":
        t = jnp.asarray(pca(teacher, config.pca_dim))[idx]
        s = jnp.asarray(pca(student, config.pca_dim))[idx]
        return np.asarray(ksg(t, s, k=config.k, block=_block(r, m)))
    keys = jax.random.split(key, r)
    if name == "mine":
        t = jnp.asarray(pca(teacher, config.mine_pca_dim))
        s = jnp.asarray(pca(student, config.mine_pca_dim))
        cfg = config.mine

        def one(i, kk):
            return mine(t[i], s[i], key=kk, config=cfg).estimate

    elif name == "latent":
        t = jnp.asarray(pca(teacher, config.latent_pca_dim))
        s = jnp.asarray(pca(student, config.latent_pca_dim))
        cfg = config.latent

        def one(i, kk):
            return latent_mi(t[i], s[i], key=kk, config=cfg).estimate

    else:  # pragma: no cover - names are validated by check()
        raise ValueError(f"estimators: unknown estimator {name!r}")
    return np.asarray(jax.jit(jax.vmap(one))(idx, keys))


def student_label(
    name: str, student: np.ndarray, labels: np.ndarray, num_classes: int | None, idx, key, config
) -> np.ndarray:
    """[R] estimates of I(H_s; Y) with label estimator ``name`` on the subsamples ``idx``."""
    r, m = idx.shape
    y = jnp.asarray(labels)
    if name == "ross":
        s = jnp.asarray(pca(student, config.pca_dim))[idx]
        return np.asarray(ksg_labels(s, y[idx], k=config.k, block=_block(r, m)))
    if name == "ksg":
        s = jnp.asarray(pca(student, config.pca_dim))[idx]
        return np.asarray(ksg(s, y[idx][..., None], k=config.k, block=_block(r, m)))
    keys = jax.random.split(key, r)
    if name == "probe":
        s = jnp.asarray(pca(student, config.probe_pca_dim))
        cfg = config.probe

        def one(i, kk):
            return probe_labels(s[i], y[i], key=kk, num_classes=num_classes, config=cfg).estimate

    elif name == "mine":
        s = jnp.asarray(pca(student, config.mine_pca_dim))
        target = jax.nn.one_hot(y, num_classes) if num_classes else y[:, None]
        cfg = config.mine

        def one(i, kk):
            return mine(s[i], target[i], key=kk, config=cfg).estimate

    else:  # pragma: no cover - validated by CheckConfig
        raise ValueError(f"label_estimator: unknown estimator {name!r}")
    return np.asarray(jax.jit(jax.vmap(one))(idx, keys))
