"""One interface for every mutual-information estimator: what it estimates and a uniform result.

An :class:`Estimator` is a frozen description of one estimator (its registry name, whether it
estimates I(X; Y) between two continuous arrays or I(H; Y) between a representation and class
labels, whether it needs a PRNG key, its config class) plus the callable that runs it. Calling it
returns an :class:`MIEstimate`: the estimate in nats and the estimator's own diagnostics, a pytree
of arrays, so that ``jax.jit`` and ``jax.vmap`` apply to every estimator alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

# What an estimator estimates: I(X; Y) of two continuous arrays, or I(H; Y) with integer classes.
KINDS = ("pair", "labels")


class MIEstimate(NamedTuple):
    """The uniform result of an :class:`Estimator` call (a pytree: jit- and vmap-friendly).

    Attributes:
      estimate: the mutual information in nats, ``[]`` (or ``[B]`` for batched / vmapped input).
      diagnostics: the estimator's own outputs besides the estimate (arrays with the same leading
        batch axes), e.g. MINE's training curves and divergence flag; ``{}`` for KSG.
    """

    estimate: jax.Array
    diagnostics: dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Estimator:
    """One mutual-information estimator of the registry (:data:`cch_jax.mi.ESTIMATORS`).

    Attributes:
      name: the registry name (``"ksg"``, ``"ross"``, ``"mine"``, ``"latent"``, ``"probe"``); the
        same name is used by :func:`cch_jax.criterion.check`, the experiments and the CLI.
      kind: ``"pair"``, I(X; Y) for x ``[n, dx]`` and y ``[n, dy]`` continuous; or ``"labels"``,
        I(H; Y) for h ``[n, d]`` and integer class labels ``[n]``.
      summary: one line saying what it is.
      needs_key: whether a call needs ``key=`` (the trained estimators).
      config_type: the class of its ``config=`` (None: it takes keyword options instead).
      fn: ``fn(x, y, *, key, config, **options) -> MIEstimate``.
    """

    name: str
    kind: str
    summary: str
    needs_key: bool
    config_type: type | None
    fn: Callable[..., MIEstimate] = dataclasses.field(repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")

    @property
    def estimates(self) -> str:
        """What it estimates, in words: ``"I(X;Y)"`` or ``"I(H;labels)"``."""
        return "I(X;Y)" if self.kind == "pair" else "I(H;labels)"

    def __call__(self, x, y, *, key: jax.Array | None = None, config=None, **options) -> MIEstimate:
        """Runs the estimator.

        Args:
          x: ``[n, dx]`` (or ``[B, n, dx]`` where the estimator batches) first variable, or the
            representation H for a ``"labels"`` estimator.
          y: ``[n, dy]`` second variable, or ``[n]`` integer class labels for ``"labels"``.
          key: ``jax.random.key``; required when :attr:`needs_key`.
          config: an instance of :attr:`config_type` (None: its defaults).
          **options: the estimator's keyword options (e.g. ``k=`` for KSG).

        Returns:
          :class:`MIEstimate` in nats.

        Raises:
          ValueError: a missing key, a config of the wrong class, or bad input (from the estimator).
        """
        if self.needs_key and key is None:
            raise ValueError(f"key: estimator {self.name!r} is trained and needs key=")
        if config is not None:
            if self.config_type is None:
                raise ValueError(f"config: estimator {self.name!r} takes no config")
            if not isinstance(config, self.config_type):
                raise ValueError(
                    f"config: estimator {self.name!r} expects a {self.config_type.__name__}, got "
                    f"{type(config).__name__}"
                )
        return self.fn(x, y, key=key, config=config, **options)
