"""What every known-answer task shares: the :class:`Task` protocol and the helpers of both task
families (:mod:`cch_jax.mi._tasks_pairs`, :mod:`cch_jax.mi._tasks_labels`).

Sampling is pure JAX: ``n`` is static and ``key`` may be traced. Samples are float32 unless
``jax_enable_x64`` is set. Task parameters are concrete NumPy float64 arrays fixed at construction.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks


@runtime_checkable
class Task(Protocol):
    """A joint distribution of (X, Y) with known mutual information (nats)."""

    name: str
    dim_x: int
    dim_y: int

    def sample(self, *, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draws ``n`` i.i.d. pairs: x of shape [n, dim_x], y of shape [n, dim_y]."""
        ...

    def mutual_information(self) -> float:
        """The exact I(X; Y) in nats."""
        ...


def float_dtype():
    """The default float dtype of samples (float32, or float64 under ``jax_enable_x64``)."""
    return jnp.result_type(float)


def check_n(n) -> int:
    """n: the number of samples, an integer >= 1."""
    return _checks.check_positive_int("n", n, minimum=1)


def gaussian_mi_f64(cov: np.ndarray, dim_x: int) -> float:
    """1/2 log(det S_xx det S_yy / det S) in float64 (the formula of ``theory.gaussian_mi``)."""

    def logdet(m):
        return 2.0 * float(np.sum(np.log(np.diag(np.linalg.cholesky(m)))))

    return 0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov))


def random_orthogonal(key: jax.Array, dim: int) -> np.ndarray:
    """A Haar-random orthogonal matrix [dim, dim] (float64), drawn from ``key``."""
    a = np.asarray(jax.random.normal(key, (dim, dim), dtype=jnp.float32), dtype=np.float64)
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diag(r))[None, :]  # Haar-distributed


def check_task(name: str, task) -> None:
    """Refuses anything that does not implement :class:`Task`."""
    if not isinstance(task, Task):
        raise ValueError(
            f"{name}: expected a task with name, dim_x, dim_y, sample and mutual_information, "
            f"got {type(task).__name__}"
        )
