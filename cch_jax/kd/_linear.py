"""Linear students of the Gaussian theory, trained by the KD trainer (Figure 1's 'trainer' solver).

For the regression KD loss (1 - mu)(y - x^T w)^2 + mu (t - x^T w)^2 (mu = kd_weight) averaged over
n rows, the Hessian is 2 X^T X / n whatever mu is, so the loss is a quadratic with curvature between
L_min = 2 lambda_min(X^T X / n) and L_max = 2 lambda_max(X^T X / n). Full-batch gradient descent
with Polyak's heavy-ball momentum, step 4 / (sqrt(L_max) + sqrt(L_min))^2 and momentum
((sqrt(L_max) - sqrt(L_min)) / (sqrt(L_max) + sqrt(L_min)))^2, contracts the error by about
(sqrt(kappa) - 1) / (sqrt(kappa) + 1) per step (kappa = L_max / L_min; ~0.58 at n = 3d), so a few
dozen steps land on the least-squares student. The two eigenvalues only tune the optimizer; the
weights themselves come from the trainer's steps (optax ``sgd`` with momentum, the ``linear`` nnx
model, the per-example regression KD loss).

References:
  Polyak (1964), "Some methods of speeding up the convergence of iteration methods".
  theory/derivation.md, the closed-form student w(mu) = (X^T X)^{-1} X^T [(1 - mu) y + mu t].
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from cch_jax.kd._config import KDConfig, ModelConfig, TrainConfig
from cch_jax.kd._data import KDData
from cch_jax.kd._trainer import HParams, make_trainer

MIN_STEPS = 20


def default_steps(n: int, d: int, *, tol: float = 1e-4) -> int:
    """Heavy-ball steps to contract the error by ``tol`` for an isotropic Gaussian design.

    The Marchenko-Pastur edges give kappa = ((1 + sqrt(d/n)) / (1 - sqrt(d/n)))^2 for
    X^T X / n at n rows and d columns; heavy ball's error after k steps is bounded by about
    sqrt(kappa) rate^k, so the count is log(tol / sqrt(kappa)) / log(rate) plus 5, at least MIN_STEPS
    (25 steps at n = 3d, 62 at n = 1.5d).
    """
    r = math.sqrt(d / n)
    kappa = ((1.0 + r) / (1.0 - r)) ** 2
    rate = (math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)
    return max(MIN_STEPS, math.ceil(math.log(tol / math.sqrt(kappa)) / math.log(rate)) + 5)


def heavy_ball(x: jax.Array) -> optax.GradientTransformation:
    """Optimally tuned heavy-ball gradient descent for the mean squared loss on inputs ``x`` [n, d].

    Args:
      x: the design matrix, [n, d] with n > d (so that X^T X is positive definite).

    Returns:
      ``optax.sgd`` with the step size and momentum of the quadratic's extreme curvatures.
    """
    eig = jnp.linalg.eigvalsh(x.T @ x / x.shape[0])
    l_min, l_max = 2.0 * eig[0], 2.0 * eig[-1]
    root_min, root_max = jnp.sqrt(l_min), jnp.sqrt(l_max)
    lr = 4.0 / (root_max + root_min) ** 2
    momentum = ((root_max - root_min) / (root_max + root_min)) ** 2
    return optax.sgd(lr, momentum=momentum)


def train_linear_students(
    x2: jax.Array, y: jax.Array, t: jax.Array, kd_weights: jax.Array, *, steps: int | None = None
) -> jax.Array:
    """Trains one linear KD student per KD weight, vmapped over ``kd_weights``, by full-batch
    descent.

    Pure JAX (no validation): the caller vmaps it over seeds and teachers, as Figure 1 does.

    Args:
      x2: student inputs, [n, d] with n > d.
      y: labels, [n].
      t: frozen teacher predictions, [n].
      kd_weights: KD weights in [0, 1], [m].
      steps: gradient steps (epochs of one full batch), static; None for :func:`default_steps`.

    Returns:
      Student weights, [m, d], minimising (1 - mu)|y - X2 w|^2 + mu |t - X2 w|^2 for each
      kd_weight mu (no intercept).
    """
    n, d = x2.shape
    steps = default_steps(n, d) if steps is None else steps
    config = TrainConfig(
        model=ModelConfig(name="linear", input_shape=(d,), num_outputs=1, use_bias=False),
        loss=KDConfig(task="regression"),
        epochs=steps,
        batch_size=n,
        optimizer="momentum",
        shuffle=False,
    )
    trainer = make_trainer(config, num_examples=n, optimizer=heavy_ball(x2))
    data = KDData(student_input=x2, label=y, teacher_output=t[None])

    def one(kd_weight):
        # zero weights (the linear model starts at 0); full-batch steps draw no random numbers
        state = trainer.init(jax.random.key(0, impl="rbg"))
        hp = HParams(
            kd_weight=kd_weight,
            temperature=jnp.ones_like(kd_weight),
            teacher=jnp.zeros((), jnp.int32),
        )
        state, _ = trainer.run_epochs(state, data, hp, steps)
        return state.params["out"]["kernel"][:, 0]

    return jax.vmap(one)(kd_weights)


def linear_trainer_solver(
    x2: jax.Array, y: jax.Array, t: jax.Array, kd_weights: jax.Array
) -> jax.Array:
    """Figure 1's solver interface: ``(x2 [n, d], y [n], t [n], kd_weights [m]) -> [m, d]``.

    Public in ``cch_jax.kd`` (Figure 1's ``solver="trainer"``).

    Args:
      x2: student inputs, [n, d] (n > d).
      y: labels (the regression target), [n].
      t: teacher predictions, [n].
      kd_weights: KD weights in [0, 1], [m].

    Returns:
      Student weights trained by the KD trainer, [m, d].
    """
    return train_linear_students(x2, y, t, kd_weights)
