"""cch_jax: deciding before training whether cross-modal knowledge distillation will help.

Subpackages (imported on first use, so that ``import cch_jax`` stays fast):
  - ``cch_jax.theory``: the joint-Gaussian model, closed-form MI and the KD risk formula.
  - ``cch_jax.mi``: mutual-information estimators (KSG, labels, MINE, latent) and known-answer tasks.
  - ``cch_jax.kd``: KD losses, models and the functional trainer.
  - ``cch_jax.data``: image datasets through tensorflow-datasets and offline stand-ins.
  - ``cch_jax.figure1``: the paper's Figure 1 (theory against simulation across the MI gap).
  - ``cch_jax.criterion``: ``cch check``, the CCH as a decision tool (``cch_jax.check`` is
    ``cch_jax.criterion.check``).

``cch_jax.InputWarning``: the warning category for non-fatal input problems that were handled
(tied columns jittered, constant columns dropped, rows subsampled); the CLI prints them as notes.
``cch_jax.DivergenceWarning``: some runs of a training sweep diverged (``kd.fit``'s
``FitResult.diverged`` says which). Both live in ``cch_jax._warnings``.

``cch_jax.__version__``: the installed distribution's version (``cch_jax._version``).
"""

import importlib

from cch_jax._version import __version__ as __version__

_SUBPACKAGES = ("theory", "mi", "kd", "data", "figure1", "criterion", "predictors", "bench")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"cch_jax.{name}")
    if name == "check":
        return importlib.import_module("cch_jax.criterion").check
    if name in ("InputWarning", "DivergenceWarning"):
        return getattr(importlib.import_module("cch_jax._warnings"), name)
    raise AttributeError(f"module 'cch_jax' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBPACKAGES, "check", "InputWarning", "DivergenceWarning"])
