"""Reading the settings table: its columns as validated arrays over the settings (:class:`_Table`).

The table's contract is in :mod:`cch_jax.bench._board`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from cch_jax import _checks
from cch_jax.bench import _stats
from cch_jax.predictors._records import TARGETS

CALLS = ("distill", "dont", "abstain")
BASE_RATE = "base_rate"
ORACLE = "oracle"


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(where: str, value) -> float:
    """A table cell as a float (NaN when blank); a non-number is an error naming the cell."""
    if _blank(value):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a number, got {value!r:.40}") from None


def _predictor_names(rows: Sequence[Mapping]) -> list[str]:
    names = {}
    for row in rows:
        for key in row:
            if isinstance(key, str) and key.startswith("call:"):
                names[key[len("call:") :]] = None
    return list(names)


class _Table:
    """The columns the leaderboard needs, as arrays over the settings (validated)."""

    def __init__(self, rows, predictors, targets):
        if isinstance(rows, Mapping) or isinstance(rows, str | bytes):
            raise ValueError("rows: expected a sequence of dicts (one per setting), got one object")
        try:
            rows = list(rows)
        except TypeError:
            raise ValueError(
                f"rows: expected a sequence of dicts, got {type(rows).__name__}"
            ) from None
        if not rows:
            raise ValueError("rows: the settings table is empty")
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise ValueError(f"rows[{i}]: expected a dict, got {type(row).__name__}")
        self.n = len(rows)
        if isinstance(targets, str):
            targets = (targets,)
        targets = tuple(targets)
        if not targets:
            raise ValueError("targets: expected at least one of 'kd', 'transfer'")
        for t in targets:
            _checks.check_choice("targets", t, TARGETS)
        if len(set(targets)) != len(targets):
            raise ValueError(f"targets: {targets} repeats a target")
        self.targets = targets

        known = _predictor_names(rows)
        if predictors is None:
            predictors = known
        else:
            if isinstance(predictors, str):
                predictors = (predictors,)
            predictors = list(predictors)
            for p in predictors:
                if not isinstance(p, str) or p not in known:
                    raise ValueError(
                        f"predictors: {p!r} has no call:{p} column in rows (have: "
                        f"{', '.join(known) or 'none'})"
                    )
            if len(set(predictors)) != len(predictors):
                raise ValueError(f"predictors: {predictors} repeats a name")
        for reserved in (BASE_RATE, ORACLE):
            if reserved in predictors:
                raise ValueError(f"predictors: {reserved!r} is reserved for a reference row")
        self.predictors = predictors

        def where(i, key):
            setting = rows[i].get("setting")
            return f"rows[{i}]" + (f" (setting {setting!r})" if setting else "") + f".{key}"

        dataset = []
        for i, row in enumerate(rows):
            d = row.get("dataset")
            if _blank(d) or not isinstance(d, str):
                raise ValueError(f"{where(i, 'dataset')}: expected a dataset name, got {d!r}")
            dataset.append(d)
        self.dataset = np.asarray(dataset, dtype=object)
        self.datasets = list(dict.fromkeys(dataset))

        def level(i, key):  # NaN (blank) -> None: NaN != NaN would split every group
            v = _number(where(i, key), rows[i].get(key))
            return None if math.isnan(v) else v

        self.student_group = [(row["dataset"], str(row.get("student", ""))) for row in rows]
        self.group = [
            (
                row["dataset"],
                str(row.get("student", "")),
                level(i, "kd_weight"),
                level(i, "temperature"),
            )
            for i, row in enumerate(rows)
        ]
        self.outcome, self.delta = {}, {}
        for t in targets:
            out = []
            for i, row in enumerate(rows):
                o = row.get(f"outcome_{t}")
                o = "none" if _blank(o) else o
                if o not in _stats.OUTCOMES:
                    raise ValueError(
                        f"{where(i, f'outcome_{t}')}: expected one of gain, loss, none, got {o!r}"
                    )
                out.append(o)
            self.outcome[t] = np.asarray(out, dtype=object)
            self.delta[t] = np.asarray(
                [_number(where(i, f"delta_{t}"), r.get(f"delta_{t}")) for i, r in enumerate(rows)]
            )
        self.call, self.score, self.cost, self.compute = {}, {}, {}, {}
        self.full_cost = np.asarray(
            [_number(where(i, "full_cost_s"), r.get("full_cost_s")) for i, r in enumerate(rows)]
        )
        for p in predictors:
            calls = []
            for i, row in enumerate(rows):
                c = row.get(f"call:{p}")
                c = None if _blank(c) else c  # not available on this setting
                if c is not None and c not in CALLS:
                    raise ValueError(
                        f"{where(i, f'call:{p}')}: expected one of distill, dont, abstain, got {c!r}"
                    )
                calls.append(c)
            self.call[p] = np.asarray(calls, dtype=object)
            self.score[p] = np.asarray(
                [_number(where(i, f"score:{p}"), r.get(f"score:{p}")) for i, r in enumerate(rows)]
            )
            self.cost[p] = np.asarray(
                [_number(where(i, f"cost:{p}"), r.get(f"cost:{p}")) for i, r in enumerate(rows)]
            )
            self.compute[p] = np.asarray(
                [
                    _number(where(i, f"compute:{p}"), r.get(f"compute:{p}"))
                    for i, r in enumerate(rows)
                ]
            )

    def available(self, p: str) -> np.ndarray:
        return np.asarray([c is not None for c in self.call[p]], dtype=bool)
