"""The registry of mutual-information estimators: the one list every layer reads.

``cch_jax.criterion`` (its teacher and label terms), the ``cch`` command line (its
``--estimators`` choices) and ``cch_jax.predictors`` (one CCH predictor per estimator) all take
their names from here, so a name is accepted or refused in the same way everywhere, at
construction.
"""

from __future__ import annotations

import types

from cch_jax import _checks
from cch_jax import _estimator_names as _names
from cch_jax.mi._interface import KINDS, Estimator, MIEstimate


def _ksg(x, y, *, key=None, config=None, **options) -> MIEstimate:
    from cch_jax.mi._ksg import ksg

    return MIEstimate(ksg(x, y, **options), {})


def _ross(h, labels, *, key=None, config=None, **options) -> MIEstimate:
    from cch_jax.mi._ksg_labels import ksg_labels

    return MIEstimate(ksg_labels(h, labels, **options), {})


def _fields(result) -> MIEstimate:
    """A NamedTuple result as (estimate, every other field as a diagnostic)."""
    d = result._asdict()
    return MIEstimate(d.pop("estimate"), d)


def _mine(x, y, *, key, config=None, **options) -> MIEstimate:
    from cch_jax.mi._mine import mine

    return _fields(mine(x, y, key=key, config=config, **options))


def _latent(x, y, *, key, config=None, **options) -> MIEstimate:
    from cch_jax.mi._latent import latent_mi

    return _fields(latent_mi(x, y, key=key, config=config, **options))


def _probe(h, labels, *, key, config=None, **options) -> MIEstimate:
    from cch_jax.mi._probe import probe_labels

    return _fields(probe_labels(h, labels, key=key, config=config, **options))


def _config_types():
    from cch_jax.mi._latent import LatentMIConfig
    from cch_jax.mi._mine import MINEConfig
    from cch_jax.mi._probe import ProbeConfig

    return MINEConfig, LatentMIConfig, ProbeConfig


def _build() -> dict[str, Estimator]:
    mine_cfg, latent_cfg, probe_cfg = _config_types()
    entries = (
        Estimator(
            name="ksg",
            kind="pair",
            summary="Kraskov-Stoegbauer-Grassberger estimator 1 (k nearest neighbours, max-norm)",
            needs_key=False,
            config_type=None,
            fn=_ksg,
        ),
        Estimator(
            name="ross",
            kind="labels",
            summary="Ross (2014): KSG for a continuous H and integer class labels",
            needs_key=False,
            config_type=None,
            fn=_ross,
        ),
        Estimator(
            name="mine",
            kind="pair",
            summary="MINE (Belghazi et al. 2018): a trained critic's Donsker-Varadhan bound, held out",
            needs_key=True,
            config_type=mine_cfg,
            fn=_mine,
        ),
        Estimator(
            name="latent",
            kind="pair",
            summary="latentmi (Gowri et al. 2024): KSG on the codes of paired autoencoders",
            needs_key=True,
            config_type=latent_cfg,
            fn=_latent,
        ),
        Estimator(
            name="probe",
            kind="labels",
            summary="classifier bound: H(Y) minus a trained probe's held-out cross-entropy",
            needs_key=True,
            config_type=probe_cfg,
            fn=_probe,
        ),
    )
    return {e.name: e for e in entries}


ESTIMATORS: types.MappingProxyType = types.MappingProxyType(_build())
# the parsers' copy of the names (no JAX import for `cch --help`) must say the same
if (
    tuple(e.name for e in ESTIMATORS.values() if e.kind == "pair") != _names.PAIR
    or tuple(e.name for e in ESTIMATORS.values() if e.kind == "labels") != _names.LABELS
):
    raise ImportError("cch_jax/_estimator_names.py disagrees with the estimator registry")


def estimator_names(kind: str | None = None) -> tuple[str, ...]:
    """The registered estimator names, in registry order.

    Args:
      kind: ``"pair"`` (I(X; Y) of two continuous arrays), ``"labels"`` (I(H; Y) with classes) or
        None for all.

    Returns:
      A tuple of names.

    Raises:
      ValueError: an unknown ``kind``.
    """
    if kind is not None:
        _checks.check_choice("kind", kind, KINDS)
    return tuple(n for n, e in ESTIMATORS.items() if kind is None or e.kind == kind)


def get_estimator(name: str) -> Estimator:
    """The :class:`Estimator` registered under ``name``.

    Args:
      name: a registry name (see :func:`estimator_names`).

    Returns:
      The :class:`Estimator`.

    Raises:
      ValueError: ``name`` is not registered (the message lists the registered names).
    """
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ValueError(
            f"estimator: unknown estimator {name!r}; registered: {', '.join(ESTIMATORS)}"
        )
    return ESTIMATORS[name]


def check_names(arg: str, names, *, kind: str | None = None, allow_empty: bool = False):
    """Validates a tuple of estimator names against the registry (for configs and the CLI).

    Args:
      arg: the argument's name, used in the error message.
      names: a tuple or list of names (a bare string is refused: ``("ksg",)``, not ``"ksg"``).
      kind: restrict to estimators of this kind (None: any).
      allow_empty: whether ``()`` is accepted.

    Returns:
      The names as a tuple.

    Raises:
      ValueError: not a sequence of strings, empty, a name given twice, or a name that is not
        registered (of that kind); the message starts with ``arg``.
    """
    if isinstance(names, str) or not isinstance(names, tuple | list):
        raise ValueError(f"{arg}: expected a tuple of estimator names, got {names!r}")
    names = tuple(names)
    if not names and not allow_empty:
        raise ValueError(f"{arg}: expected at least one estimator name")
    allowed = estimator_names(kind)
    for n in names:
        if n not in allowed:
            what = f"{kind} estimators" if kind else "estimators"
            raise ValueError(f"{arg}: unknown estimator {n!r}; {what}: {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{arg}: an estimator is named twice in {names}")
    return names
