"""The package's warning categories (public as ``cch_jax.InputWarning`` and
``cch_jax.DivergenceWarning``). Standard library only: nothing here imports JAX."""

from __future__ import annotations


class InputWarning(UserWarning):
    """A non-fatal problem with user input that was handled (e.g. a constant column dropped)."""


class DivergenceWarning(RuntimeWarning):
    """Some runs of a training sweep diverged (non-finite or exploding loss); see their flags."""
