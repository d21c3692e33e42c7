"""Configuration of :func:`cch_jax.criterion.check`."""

from __future__ import annotations

import dataclasses

from cch_jax import _checks, mi
from cch_jax.mi import LatentMIConfig, MINEConfig, ProbeConfig

# What the labels are: class indices, or a continuous quantity (a one-column regression).
LABEL_KINDS = ("classes", "continuous")
# Estimators of I(H_t; H_s), one row per teacher and estimator: the registry's "pair" estimators.
ESTIMATORS = mi.estimator_names("pair")
# Estimators of I(H_s; Y): "auto" ("ross" for classes, "ksg" for continuous labels), a "labels"
# estimator of the registry (classes only), or a "pair" estimator on the labels (continuous
# labels as one column, or the one-hot classes; "ksg" only for continuous labels: "ross" is KSG
# for classes).
LABEL_ESTIMATORS = ("auto", *mi.estimator_names())
DEFAULT_ESTIMATORS = ("ksg",)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckConfig:
    """Settings of :func:`cch_jax.criterion.check` (frozen, validated at construction).

    Attributes:
      pca_dim: principal components kept of each representation before the canonical-correlation
        step of KSG (and of Ross's label estimator): a cap on the dimension the canonical directions
        are fitted in (few thousand rows cannot fit 512 x 512 covariances reliably).
      cca_dim: canonical variate pairs given to KSG, fitted on the rows outside each subsample and
        weighted by their canonical correlations (``_estimate.cca_project``). KSG's bias grows
        quickly with dimension, and directions that carry no shared information still enter its
        max-norm neighbour search; the weighting makes them nearly invisible.
      cca_reg: ridge added to each covariance before the canonical correlation analysis, as a
        fraction of the mean variance.
      k: KSG / Ross neighbours.
      repeats: R, random subsamples (without replacement) per estimate; the point estimate is their
        mean and the interval comes from their spread (see ``subsample_fraction``).
      subsample_fraction: each subsample holds this fraction f of the rows. The variance of an
        estimate on all n rows is approximated by the delete-d jackknife, f / (1 - f) times the
        variance between subsamples, plus the Monte-Carlo variance of averaging R of them.
      level: two-sided level of the intervals (a Student-t interval with R - 1 degrees of freedom).
      bias_allowance: the gap interval (and so the verdict) is widened on both sides by this
        fraction of the larger of the two MI terms, for the estimators' systematic error, which the
        subsampling interval does not see (the measured biases: docs/check.md, "Known answers,
        bias and coverage"); 0 gives the sampling interval only.
      max_rows: rows beyond this are subsampled (uniformly, without replacement, before any
        conversion to float32), with a warning; never silently.
      label_estimator: estimator of I(H_s; Y): ``"auto"`` (``"ross"`` for classes, ``"ksg"`` for a
        continuous labels: the KSG-family estimator on the same kind of cross-fitted canonical
        variates as the default ``"ksg"`` teacher term, so that the two terms err alike: docs/check.md,
        "Default pairing and why"), ``"probe"`` (held-out classifier bound, :func:`cch_jax.mi.probe_labels`),
        ``"ross"`` (Ross's KSG for labels on the cross-fitted discriminant variates, classes only), ``"ksg"``
        (KSG on the cross-fitted regression direction with continuous labels) or ``"mine"`` (MINE on the ``mine_pca_dim``
        components with continuous labels or one-hot classes).
      probe_pca_dim: principal components of H_s given to the probe (None: all columns). A linear
        probe on 512 columns with a few thousand training rows over-fits even with the L2 grid.
      mine_pca_dim: principal components of each representation given to MINE (None: all),
        capped at one per 100 training rows of a subsample (MINE's critic over-fits otherwise; see
        docs/check.md).
      latent_pca_dim: principal components given to the latent autoencoders (None: all columns),
        capped at one per 100 network training rows; the autoencoders compress them further to
        ``latent.latent_dim`` codes.
      standardize: divide every column of each representation by its standard deviation before
        the principal components, so that the result does not depend on the columns' units (a
        table whose columns are in different units). Off by default: on the known-answer triples
        (rotated coordinates, where high-variance directions carry the signal) it costs accuracy
        when the components are truncated (docs/check.md, "Warnings"); ``check`` warns when the columns' spreads differ by more than
        ``UNIT_SPREAD`` times, a sign of mixed units.
      probe: :class:`cch_jax.mi.ProbeConfig` of the probe.
      mine: :class:`cch_jax.mi.MINEConfig` of MINE (1 000 steps of batch 256 by default).
      latent: :class:`cch_jax.mi.LatentMIConfig` of the latent estimator (30 epochs at most).
    """

    pca_dim: int = 32
    cca_dim: int = 4
    cca_reg: float = 1e-3
    k: int = 3
    repeats: int = 8
    subsample_fraction: float = 0.5
    level: float = 0.9
    bias_allowance: float = 0.1
    max_rows: int = 20_000
    label_estimator: str = "auto"
    probe_pca_dim: int | None = 64
    mine_pca_dim: int | None = 32
    latent_pca_dim: int | None = 32
    standardize: bool = False
    probe: ProbeConfig = dataclasses.field(default_factory=ProbeConfig)
    mine: MINEConfig = dataclasses.field(default_factory=lambda: MINEConfig(steps=1000))
    latent: LatentMIConfig = dataclasses.field(
        default_factory=lambda: LatentMIConfig(max_epochs=30, patience=5)
    )

    def __post_init__(self):
        _checks.check_positive_int("pca_dim", self.pca_dim)
        _checks.check_positive_int("cca_dim", self.cca_dim)
        _checks.check_scalar_range("cca_reg", self.cca_reg, low=0.0)
        _checks.check_positive_int("k", self.k)
        _checks.check_positive_int("repeats", self.repeats, minimum=2)
        _checks.check_scalar_range(
            "subsample_fraction",
            self.subsample_fraction,
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        _checks.check_scalar_range(
            "level", self.level, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        _checks.check_scalar_range("bias_allowance", self.bias_allowance, low=0.0, high=1.0)
        _checks.check_positive_int("max_rows", self.max_rows, minimum=8)
        _checks.check_bool("standardize", self.standardize)
        _checks.check_choice("label_estimator", self.label_estimator, LABEL_ESTIMATORS)
        for name in ("probe_pca_dim", "mine_pca_dim", "latent_pca_dim"):
            if getattr(self, name) is not None:
                _checks.check_positive_int(name, getattr(self, name))
        for name, cls in (("probe", ProbeConfig), ("mine", MINEConfig), ("latent", LatentMIConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(
                    f"{name}: expected a {cls.__name__}, got {type(getattr(self, name)).__name__}"
                )

    def resolved_label_estimator(self, label_kind: str) -> str:
        """The label estimator actually used for labels of kind ``label_kind``.

        Args:
          label_kind: ``"classes"`` or ``"continuous"``.

        Returns:
          A registered estimator name.
        """
        if self.label_estimator == "auto":
            return "ross" if label_kind == "classes" else "ksg"
        if label_kind == "continuous" and mi.get_estimator(self.label_estimator).kind == "labels":
            raise ValueError(
                f"label_estimator: {self.label_estimator!r} needs class labels; use one of "
                f"{', '.join(mi.estimator_names('pair'))} with continuous labels"
            )
        if label_kind == "classes" and self.label_estimator == "ksg":
            raise ValueError(
                "label_estimator: 'ksg' needs continuous labels; use 'ross' (KSG for labels) "
                "or 'probe' with classes"
            )
        return self.label_estimator

    def to_dict(self) -> dict:
        """JSON-able view of the settings (nested configs as dicts)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if dataclasses.is_dataclass(value):
                value = {
                    f.name: (list(v) if isinstance(v := getattr(value, f.name), tuple) else v)
                    for f in dataclasses.fields(value)
                }
            out[field.name] = value
        return out
