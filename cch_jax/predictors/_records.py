"""The KD-outcome benchmark's measured records of the predictors (``records.json``), read here.

``cch bench leaderboard`` writes ``records.json`` (:func:`cch_jax.bench.make_records`); a copy ships
with the package beside this module. This module reads it and says which predictors it validates,
so that the advice (:func:`cch_jax.predictors.advise`) never imports the benchmark that grades it.
"""

from __future__ import annotations

import importlib.resources
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from cch_jax import _checks

RECORDS_SCHEMA = "cch-bench-records/2"
TARGETS = ("kd", "transfer")
VALIDATION_ALPHA = 0.05
"""Level of the McNemar test in the ``validated`` rule (:func:`is_validated`)."""
MIN_SIGNIFICANT = 10
"""Fewest significant settings before :func:`best_predictor` trusts a predictor's record."""


def is_validated(mcnemar_p, diff_never_low, alpha: float = VALIDATION_ALPHA) -> bool:
    """The leaderboard's rule for a validated predictor.

    A predictor is validated when it beats "never distill" on the paired exact McNemar test
    (``mcnemar_p < alpha``) and the dataset-bootstrap 95 % interval of its accuracy gain over
    never distilling lies above 0 (``diff_never_low > 0``). A McNemar test significant the wrong
    way (worse than never) fails the second condition; NaN fails both.

    Args:
      mcnemar_p: the McNemar p-value in [0, 1] (or NaN).
      diff_never_low: lower bound of the accuracy difference (proportion, in [-1, 1]) or NaN.
      alpha: level of the test (default 0.05).

    Returns:
      True or False.
    """
    p, low = float(mcnemar_p), float(diff_never_low)
    return bool(math.isfinite(p) and math.isfinite(low) and p < alpha and low > 0.0)


def _from_json(v):
    if v is None:
        return math.nan
    if v in ("inf", "-inf"):
        return float(v)
    return v


def load_records(path=None) -> dict | None:
    """Reads a ``records.json`` written by ``cch bench leaderboard`` (:func:`cch_jax.bench.write_leaderboard`).

    Args:
      path: the file; None: the copy shipped in the package, ``cch_jax/predictors/records.json``
        (read with ``importlib.resources``).

    Returns:
      The records (see :func:`cch_jax.bench.make_records`), undefined numbers as NaN and infinite thresholds as
      floats; None when there is no such file (or, for the default, no such package).
    """
    if path is None:
        try:
            resource = importlib.resources.files("cch_jax.predictors").joinpath("records.json")
        except ModuleNotFoundError:
            return None
        if not resource.is_file():
            return None
        text = resource.read_text(encoding="utf-8")
        where = "cch_jax/predictors/records.json"
    else:
        if not isinstance(path, str | Path) and not hasattr(path, "__fspath__"):
            raise ValueError(f"path: expected a file path, got {type(path).__name__}")
        file = Path(path).expanduser()
        if not file.is_file():
            return None
        text = file.read_text(encoding="utf-8")
        where = str(file)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"path: {where} is not valid JSON ({err})") from None
    if not isinstance(records, dict) or records.get("schema") != RECORDS_SCHEMA:
        got = records.get("schema") if isinstance(records, dict) else type(records).__name__
        raise ValueError(f"path: {where} is not a {RECORDS_SCHEMA} file (schema {got!r})")
    for section in (records.get("base_rate", {}), *records.get("predictors", {}).values()):
        for entry in section.values():
            for key, value in entry.items():
                entry[key] = _from_json(value)
    return records


def best_predictor(
    records: Mapping | None,
    target: str = "transfer",
    among: Iterable[str] | None = None,
    *,
    min_significant: int = MIN_SIGNIFICANT,
) -> str | None:
    """The validated predictor whose accuracy gain over never distilling is surest, if any.

    Only predictors whose record says ``validated`` (the paired McNemar test against never
    distilling at p < 0.05 and a dataset-bootstrap interval of the accuracy gain above 0, see
    :func:`is_validated`) are candidates; among them the one with the highest lower bound
    ``diff_never_low`` wins.

    Args:
      records: from :func:`load_records` or :func:`cch_jax.bench.make_records` (None gives None).
      target: ``'kd'`` or ``'transfer'``.
      among: candidate names (e.g. those available for the user's inputs); None: every predictor
        in the records. Names without a record are skipped.
      min_significant: a predictor is considered only with at least this many significant
        settings (``significant_all``: abstentions included; default 10).

    Returns:
      The name (ties: higher ``accuracy_abstain_never``, then the earlier name in ``among``/the
      records), or None when no candidate is validated with enough significant settings.
    """
    _checks.check_choice("target", target, TARGETS)
    min_significant = _checks.check_int("min_significant", min_significant, minimum=1)
    if records is None:
        return None
    table = records.get("predictors", {})
    if among is None:
        among = list(table)
    elif isinstance(among, str):
        among = [among]
    best, best_key = None, None
    for name in among:
        entry = table.get(name, {}).get(target)
        if not entry or entry.get("validated") is not True:
            continue
        n = entry.get("significant_all")
        if n is None or not math.isfinite(n) or n < min_significant:
            continue
        low, acc = entry.get("diff_never_low"), entry.get("accuracy_abstain_never")
        if low is None or not math.isfinite(low):
            continue
        key = (low, acc if acc is not None and math.isfinite(acc) else -math.inf)
        if best_key is None or key > best_key:
            best, best_key = name, key
    return best
