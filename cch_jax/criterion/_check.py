"""``check``: the CCH as a decision tool on a user's own representations."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping

import jax
import numpy as np

from cch_jax import _checks, mi
from cch_jax.criterion import _estimate
from cch_jax.criterion._config import DEFAULT_ESTIMATORS, TARGETS, CheckConfig
from cch_jax.criterion._prepare import prepare
from cch_jax.criterion._result import CheckResult, Estimate, combine, verdict_of


def _progress_fn(progress) -> Callable[[str], None]:
    if callable(progress):
        return progress
    if progress:
        return lambda msg: print(f"[cch check] {msg}", file=sys.stderr, flush=True)
    return lambda msg: None


def _check_estimators(estimators) -> tuple[str, ...]:
    """The teacher-term estimators: registered "pair" estimators (tuple, or comma-separated)."""
    if estimators is None:
        return DEFAULT_ESTIMATORS
    if isinstance(estimators, str):
        estimators = tuple(e.strip() for e in estimators.split(","))
    return mi.check_names("estimators", estimators, kind="pair")


def check(
    student,
    labels,
    teachers: Mapping,
    *,
    key: jax.Array,
    target: str = "classes",
    estimators=None,
    config: CheckConfig | None = None,
    progress=False,
) -> CheckResult:
    """Should I distill from these teachers? The CCH gap I(H_t; H_s) - I(H_s; Y) with intervals.

    For every teacher and estimator it estimates I(H_t; H_s), the label term I(H_s; Y) (once, shared
    by all teachers) and their gap, each with a ``config.level`` interval from ``config.repeats``
    random subsamples without replacement; the verdict is ``"holds"`` (gap interval above 0 for every
    estimator), ``"fails"`` (below 0 for every estimator) or ``"undecided"``. Teachers are ranked
    by their mean gap over estimators.

    Estimators of I(H_t; H_s) (``estimators``): ``"ksg"`` (default; KSG with k = ``config.k`` on
    ``config.cca_dim`` canonical variate pairs, fitted on the rows outside each subsample after PCA
    to ``config.pca_dim`` components, and weighted by their canonical correlations), ``"mine"`` (MINE on
    ``config.mine_pca_dim`` components) and ``"latent"`` (the paper's latent estimator, latentmi:
    paired autoencoders to 8-dim codes, then KSG). The label term uses ``config.label_estimator``:
    by default Ross's KSG for labels (classes) or KSG (continuous target) on cross-fitted
    canonical variates, the same construction as ``"ksg"`` so that both terms err alike; the probe
    bound (:func:`cch_jax.mi.probe_labels`) is the alternative for classes. See the README ("Should I distill?") for the measured biases
    and the coverage of the intervals.

    Args:
      student: H_s, [n, d_s] (a NumPy memory map is read only on the rows used).
      labels: Y, [n]: integer classes (``target="classes"``) or floats (``"continuous"``).
      teachers: mapping name -> H_t [n, d_t], one or more; insertion order is kept.
      key: a ``jax.random.key`` (row subsample, subsamples, estimator initialisations).
      target: ``"classes"`` or ``"continuous"``.
      estimators: names from ``("ksg", "mine", "latent")`` (tuple or comma-separated string);
        default ``("ksg",)``.
      config: a :class:`CheckConfig` (default ``CheckConfig()``).
      progress: True to print progress lines to stderr, or a callable taking one message.
        Step messages start with ``[i/N]`` (N = 1 + estimators x teachers: the label term, then
        each teacher and estimator), which ``cch check`` turns into a progress bar.

    Returns:
      A :class:`CheckResult` (``.verdicts``, ``.ranking``, ``.rows()``, ``.table()``,
      ``.to_dict()``).

    Raises:
      ValueError: any problem with the input (mismatched rows, NaN/inf, non-integer labels with
        ``target="classes"``, a class smaller than k + 1, unknown estimator, bad config).
    """
    t_start = time.perf_counter()
    config = CheckConfig() if config is None else config
    if not isinstance(config, CheckConfig):
        raise ValueError(f"config: expected a CheckConfig, got {type(config).__name__}")
    if target not in TARGETS:
        raise ValueError(f"target: expected one of {TARGETS}, got {target!r}")
    estimators = _check_estimators(estimators)
    label_estimator = config.resolved_label_estimator(target)
    _checks.check_key("key", key)
    say = _progress_fn(progress)
    k_rows, k_sub, k_label, k_est = jax.random.split(key, 4)

    prep = prepare(
        student, labels, teachers, target=target, k=config.k, max_rows=config.max_rows, key=k_rows
    )
    n = prep.student.shape[0]
    num_classes = None if prep.classes is None else len(prep.classes)
    idx = _estimate.subsample_indices(k_sub, n, config.repeats, config.subsample_fraction)
    m = _estimate.subsample_size(n, config.subsample_fraction)
    timings = {"prepare": time.perf_counter() - t_start}
    notes = list(prep.notes)
    if "ksg" in estimators or label_estimator in ("ross", "ksg"):
        q = _estimate.effective_pca_dim(config, n)
        notes.append(
            f"ksg/{label_estimator}: canonical variates fitted in {q} principal components "
            f"(pca_dim={config.pca_dim}, at most one per 100 fitting rows), {config.cca_dim} kept"
        )
    say(
        f"{n} rows, student {prep.student.shape[1]} columns, {len(prep.teachers)} teacher(s); "
        f"{config.repeats} subsamples of {m} rows"
    )

    t0 = time.perf_counter()
    total = 1 + len(estimators) * len(prep.teachers)  # steps: the label term, then each pair
    say(f"[0/{total}] I(Hs;Y) with {label_estimator} ...")
    if "mine" in estimators or label_estimator == "mine":
        notes.append(
            f"mine: {_estimate.effective_mine_dim(config, n)} principal components "
            f"(mine_pca_dim={config.mine_pca_dim}, at most one per 100 training rows)"
        )
    if "latent" in estimators:
        notes.append(
            f"latent: {_estimate.effective_latent_dim(config, n)} principal components "
            f"(latent_pca_dim={config.latent_pca_dim}, at most one per 100 training rows)"
        )
    label_values = _estimate.student_label(
        label_estimator, prep.student, prep.labels, num_classes, idx, k_label, config
    )
    timings[f"label:{label_estimator}"] = time.perf_counter() - t0
    say(
        f"[1/{total}] I(Hs;Y) with {label_estimator}: {label_values.mean():.3f} nats "
        f"({timings[f'label:{label_estimator}']:.1f} s)"
    )
    fraction = m / n
    interval = lambda v: Estimate(  # noqa: E731
        *_estimate.interval(v, fraction=fraction, level=config.level)
    )
    label_est = interval(label_values)

    estimates = {}
    est_keys = jax.random.split(k_est, len(estimators))
    done = 1
    for est, k_e in zip(estimators, est_keys, strict=True):
        t0 = time.perf_counter()
        for t_i, (name, h_t) in enumerate(prep.teachers.items()):
            values = _estimate.teacher_student(
                est, h_t, prep.student, idx, jax.random.fold_in(k_e, t_i), config
            )
            gap = interval(values - label_values)
            allowance = config.bias_allowance * max(abs(float(values.mean())), abs(label_est.value))
            gap = Estimate(gap.value, gap.low - allowance, gap.high + allowance)
            estimates[(name, est)] = dict(
                teacher_student=interval(values),
                student_label=label_est,
                gap=gap,
                allowance=allowance,
                verdict=verdict_of(gap.low, gap.high),
            )
            done += 1
            say(
                f"[{done}/{total}] {est} {name}: I(Ht;Hs) {values.mean():.3f}, gap "
                f"{gap.value:+.3f} [{gap.low:+.3f}, {gap.high:+.3f}] "
                f"({time.perf_counter() - t0:.1f} s)"
            )
        timings[est] = time.perf_counter() - t0

    names = tuple(prep.teachers)
    verdicts = {t: combine([estimates[(t, e)]["verdict"] for e in estimators]) for t in names}
    mean_gap = {
        t: float(np.mean([estimates[(t, e)]["gap"].value for e in estimators])) for t in names
    }
    ranking = tuple(sorted(names, key=lambda t: -mean_gap[t]))
    timings["total"] = time.perf_counter() - t_start
    return CheckResult(
        target=target,
        teachers=names,
        estimators=estimators,
        label_estimator=label_estimator,
        verdicts=verdicts,
        ranking=ranking,
        estimates=estimates,
        n_rows=n,
        n_input=prep.n_input,
        num_classes=num_classes,
        level=config.level,
        repeats=config.repeats,
        subsample_fraction=fraction,
        notes=tuple(notes),
        dims=prep.dims,
        timings_s=timings,
        config=config.to_dict(),
    )
