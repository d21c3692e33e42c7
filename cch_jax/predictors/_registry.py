"""The registry of predictors and ``predict``: every predictor behind one interface."""

from __future__ import annotations

import functools
import time
import types
import zlib
from collections.abc import Callable, Iterable, Mapping

import jax

from cch_jax import _checks, criterion
from cch_jax.criterion import CheckConfig
from cch_jax.predictors import _baselines, _cch, _grace, _theory, _transfer
from cch_jax.predictors._defaults import DEFAULT_THRESHOLDS
from cch_jax.predictors._fill import fill_missing
from cch_jax.predictors._inputs import (
    CALLS,
    FILLABLE,
    Prediction,
    Predictor,
    PredictorInputs,
    check_inputs,
    require,
)

_FILL_SALT = 0x46494C4C  # the fill's key is fold_in(key, _FILL_SALT), the predictor's own is key


def _json_ready(details: dict) -> dict:
    out = {}
    for name, value in details.items():
        if isinstance(value, str):
            out[name] = value
        else:
            out[name] = float(value)
    return out


def make_predictor(
    name: str,
    description: str,
    needs: tuple[str, ...],
    threshold: str,
    core: Callable,
    default_threshold: float | None = None,
    key_name: str | None = None,
) -> Predictor:
    """Wraps ``core(inputs, key) -> (call, score, details[, external_cost_s])`` as a Predictor.

    The wrapped ``fn`` checks the inputs and the needs, fills absent logits/accuracies it needs
    with :func:`fill_missing` (key ``fold_in(key, salt)``), times everything with
    ``time.perf_counter`` and adds ``external_cost_s`` (the pilot's training time).

    Args:
      name: as in :class:`Predictor`.
      description: as in :class:`Predictor`.
      needs: as in :class:`Predictor`.
      threshold: as in :class:`Predictor`.
      default_threshold: as in :class:`Predictor`.
      core: the predictor's computation on filled inputs.
      key_name: as in :class:`Predictor`.

    Returns:
      A :class:`Predictor`.
    """
    fillable = tuple(n for n in needs if n in FILLABLE)

    def fn(inputs: PredictorInputs, key: jax.Array) -> Prediction:
        t0 = time.perf_counter()
        check_inputs(inputs)
        _checks.check_key("key", key)
        require(inputs, name, needs)
        if fillable:
            inputs, _ = fill_missing(
                inputs, key=jax.random.fold_in(key, _FILL_SALT), fields=fillable
            )
        out = core(inputs, key)
        call, score, details = out[:3]
        external = float(out[3]) if len(out) > 3 else 0.0
        if call not in CALLS:
            raise RuntimeError(f"predictor {name!r} returned the call {call!r}")
        cost = time.perf_counter() - t0 + external
        return Prediction(call, float(score), cost, _json_ready(details))

    fn.__name__ = name
    fn.__doc__ = f"{name}: {description}"
    return Predictor(
        name=name,
        description=description,
        needs=tuple(needs),
        threshold=threshold,
        fn=fn,
        default_threshold=default_threshold,
        key_name=key_name,
    )


def cch_predictor(
    estimator: str,
    *,
    sign: bool = False,
    config: CheckConfig | None = None,
    name: str | None = None,
) -> Predictor:
    """A CCH predictor on ``criterion.check`` with one estimator and a chosen :class:`CheckConfig`.

    Args:
      estimator: ``"ksg"``, ``"latent"`` or ``"mine"``.
      sign: False: interval verdict (holds -> distill, fails -> dont, undecided -> abstain); True:
        distill iff the point gap > 0.
      config: the check's settings (default ``CheckConfig()``).
      name: registry name (default ``cch_<estimator>`` or ``cch_<estimator>_sign``).

    Returns:
      A :class:`Predictor` whose score is the point gap I(H_t; H_s) - I(H_s; Y), nats. It draws
      the key of ``cch_<estimator>`` (``key_name``), so that under :func:`predict` the interval
      and the sign predictor of one estimator and configuration read one check.
    """
    _checks.check_choice("estimator", estimator, criterion.ESTIMATORS)
    name = name or f"cch_{estimator}" + ("_sign" if sign else "")
    rule = "sign of the point gap" if sign else "interval verdict (undecided -> abstain)"
    return make_predictor(
        name,
        f"CCH gap I(Ht;Hs) - I(Hs;Y) with {estimator}, {rule}; score = point gap, nats",
        (),
        "natural",
        functools.partial(_cch.cch_core, estimator=estimator, sign=sign, config=config),
        key_name=f"cch_{estimator}",
    )


def _build() -> dict[str, Predictor]:
    preds = [
        cch_predictor(est, sign=sign) for est in ("ksg", "latent", "mine") for sign in (False, True)
    ]
    preds += [
        make_predictor(
            "teacher_better",
            "distill iff teacher accuracy > student accuracy; score = difference",
            ("teacher_accuracy", "student_accuracy", "classes"),
            "natural",
            _baselines.teacher_better_core,
        ),
        make_predictor("always", "always distill; score +1", (), "natural", _baselines.always_core),
        make_predictor("never", "never distill; score -1", (), "natural", _baselines.never_core),
        make_predictor(
            "agreement_top1",
            "top-1 agreement of teacher and probe student (fraction of rows)",
            ("teacher_logits", "student_logits", "classes"),
            "fitted",
            _baselines.agreement_top1_core,
            DEFAULT_THRESHOLDS["agreement_top1"],
        ),
        make_predictor(
            "agreement_kl",
            "-mean KL(teacher_T || student_T) at the input temperature, nats",
            ("teacher_logits", "student_logits", "classes"),
            "fitted",
            _baselines.agreement_kl_core,
            DEFAULT_THRESHOLDS["agreement_kl"],
        ),
        make_predictor(
            "hscore_gap",
            "H-score(Hs -> teacher soft labels) - H-score(Hs -> labels); distill iff > 0",
            ("teacher_logits", "classes"),
            "natural",
            functools.partial(_transfer.transfer_gap_core, score="hscore"),
        ),
        make_predictor(
            "logme_gap",
            "LogME(Hs -> teacher soft labels) - LogME(Hs -> labels), nats per row; distill iff > 0",
            ("teacher_logits",),
            "natural",
            functools.partial(_transfer.transfer_gap_core, score="logme"),
        ),
        make_predictor(
            "grace",
            "GRACE for logit KD: -mean tr(K_train^-1 K_test) of projected head "
            "gradients of the KD loss",
            ("teacher_logits", "student_logits", "classes"),
            "fitted",
            _grace.grace_core,
            DEFAULT_THRESHOLDS["grace"],
        ),
        make_predictor(
            "theory_risk",
            "Theorem 1's risk with plug-in moments: distill iff R(kd_weight) < R0; "
            "score = (R0 - R) / R0",
            ("teacher_logits",),
            "natural",
            _theory.theory_risk_core,
        ),
        make_predictor(
            "pilot",
            "pilot run: distill iff mean(pilot_delta) > 0; score = mean / standard "
            "error; cost = pilot_cost_s",
            ("pilot_delta",),
            "natural",
            _pilot_with_cost,
        ),
    ]
    return {p.name: p for p in preds}


def _pilot_with_cost(inputs, key):
    call, score, details = _baselines.pilot_core(inputs, key)
    cost = inputs.pilot_cost_s or 0.0
    return call, score, dict(details, pilot_cost_s=cost), cost


REGISTRY: Mapping[str, Predictor] = types.MappingProxyType(_build())


def get(name: str) -> Predictor:
    """The registered predictor ``name``.

    Args:
      name: a registry key.

    Returns:
      The :class:`Predictor`.

    Raises:
      ValueError: unknown name (the message lists the known ones).
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"name: unknown predictor {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def names(available_from: PredictorInputs | None = None) -> tuple[str, ...]:
    """Registry names, in registry order; with ``available_from``, only those whose needs it meets.

    Args:
      available_from: a :class:`PredictorInputs`, or None for every name.

    Returns:
      A tuple of names.
    """
    if available_from is None:
        return tuple(REGISTRY)
    check_inputs(available_from)
    return tuple(n for n, p in REGISTRY.items() if p.available(available_from))


_names = names  # `predict` takes an argument called `names`


def predictor_key(key: jax.Array, name: str) -> jax.Array:
    """The key :func:`predict` gives a predictor whose ``key_name`` (or, without one, whose name)
    is ``name``: fold_in(key, crc32(name)), so it does not depend on which other predictors run.

    Args:
      key: the ``jax.random.key`` given to :func:`predict`.
      name: a predictor's ``key_name`` or registry name.

    Returns:
      The predictor's own key.
    """
    return jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


def predict(
    inputs: PredictorInputs,
    names: Iterable[str] | None = None,
    *,
    key: jax.Array,
    on_error: str = "raise",
) -> dict[str, Prediction]:
    """Runs predictors on one set of inputs.

    The missing logits/accuracies any of them needs are filled once (:func:`fill_missing`, key
    ``fold_in(key, salt)``), and the fill's wall time for a side (teacher or student) is added to
    the ``cost_s`` of every predictor that needs a filled field of that side. Each predictor is
    timed with ``time.perf_counter`` (its ``fn`` times itself) and gets
    :func:`predictor_key` ``(key, key_name or name)``: the CCH predictors of one estimator share
    one key and one check (each reports the check's cost).

    Args:
      inputs: a :class:`PredictorInputs`.
      names: registry names (default: every predictor available from ``inputs``).
      key: a ``jax.random.key``.
      on_error: ``"raise"``, or ``"abstain"``: a predictor that raises ValueError returns
        ``Prediction("abstain", nan, cost, {"error": message})``.

    Returns:
      {name: :class:`Prediction`} in the order of ``names``.
    """
    check_inputs(inputs)
    _checks.check_key("key", key)
    _checks.check_choice("on_error", on_error, ("raise", "abstain"))
    if names is None:
        selected = _names(available_from=inputs)
    else:
        if isinstance(names, str):
            raise ValueError(f"names: expected a sequence of names, got the string {names!r}")
        selected = tuple(names)
    preds = [get(n) for n in selected]
    for p in preds:
        require(inputs, p.name, p.needs)
    wanted = sorted({n for p in preds for n in p.needs if n in FILLABLE})
    missing = {n for n in wanted if getattr(inputs, n) is None}
    filled, side_costs = fill_missing(
        inputs, key=jax.random.fold_in(key, _FILL_SALT), fields=wanted
    )
    out = {}
    for p in preds:
        charge = sum(
            cost
            for side, cost in side_costs.items()
            if any(n.startswith(side) and n in missing for n in p.needs)
        )
        t0 = time.perf_counter()
        try:
            pred = p.fn(filled, predictor_key(key, p.key_name or p.name))
        except ValueError as err:
            if on_error == "raise":
                raise
            pred = Prediction(
                "abstain", float("nan"), time.perf_counter() - t0, {"error": str(err)}
            )
        out[p.name] = pred._replace(cost_s=pred.cost_s + charge)
    return out
