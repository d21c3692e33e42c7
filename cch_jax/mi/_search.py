"""Which exact neighbour search the KSG-type estimators run, and its static plan.

The searches (all exact, all giving the same values; see :mod:`cch_jax.mi._ksg`):

- ``"topk"`` and ``"grouped"``: blocked brute force (:mod:`cch_jax.mi._neighbours`);
- ``"sorted"``: the sorted sweep of :mod:`cch_jax.mi._ksg_sorted` (max-norm only).

``search="auto"`` resolves to ``"grouped"`` on CPU and ``"topk"`` on GPU/TPU, and, for
:func:`cch_jax.mi.ksg` on one dataset with the max-norm on CPU, to ``"sorted"`` where it wins
(:func:`prefer_sorted`). This module imports both search modules; neither imports it.
"""

from __future__ import annotations

import jax

from cch_jax import _checks
from cch_jax.mi import _ksg_sorted, _neighbours

SEARCHES = ("auto", "grouped", "topk", "sorted")

# Elements in one [block, n] distance array: ~1 MiB (float32, cache-sized) on CPU, ~512 MiB on
# accelerators. Measured on a 2-core CPU (benchmarks/ksg.py): 2^18 to 2^19 is fastest.
_CPU_BLOCK_ELEMENTS = 1 << 18
_ACCEL_BLOCK_ELEMENTS = 1 << 27

# search="auto" picks the sorted sweep on CPU for a joint dimension d <= 3 from SORTED_MIN_ROWS
# rows, and for d = 4 from SORTED_MIN_ROWS_4D rows. Measured (2-core CPU, k = 3, steady state):
# 1+1 at n = 2 000 4.2x faster than "grouped", 2+1 at 2*10^4 4.6x and at 10^5 14x; 2+2 at 2*10^4
# 0.63x (slower), at 10^5 1.25x; 3+3 and 5+5 at 2*10^4 0.18x and 0.10x. The sweep's first call
# compiles for ~3-4 s (the brute force ~0.6 s): it pays off from a few calls, or once n >~ 30 000.
SORTED_MIN_ROWS = 2000
SORTED_MIN_ROWS_4D = 100_000


def resolve_search(search: str) -> str:
    """'auto' -> 'grouped' on CPU, 'topk' on GPU/TPU; other names are checked and kept."""
    _checks.check_choice("search", search, SEARCHES)
    if search == "auto":
        return "grouped" if jax.default_backend() == "cpu" else "topk"
    return search


def resolve_block(block, n: int, batch: int = 1) -> int:
    """Query rows per step: ``block`` if given, else a memory budget divided by n (and by the
    number of datasets mapped together, whose blocks are processed side by side)."""
    if block is None:
        budget = _CPU_BLOCK_ELEMENTS if jax.default_backend() == "cpu" else _ACCEL_BLOCK_ELEMENTS
        block = max(8, budget // max(n * batch, 1))
    else:
        block = _checks.check_positive_int("block", block)
    # At least two steps: the loop then keeps its inputs as stored buffers (a one-step loop is
    # inlined, and XLA may re-derive standardised inputs with different rounding in each kernel).
    block = min(block, -(-n // 2))
    steps = -(-n // block)
    return -(-n // steps)  # same number of steps, least padding


def prefer_sorted(*, n: int, d: int, metric: str) -> bool:
    """Whether ``search="auto"`` should use the sorted sweep on this backend and problem."""
    if metric != "max" or jax.default_backend() != "cpu":
        return False
    return (d <= 3 and n >= SORTED_MIN_ROWS) or (d == 4 and n >= SORTED_MIN_ROWS_4D)


def choose(search: str, resolved: str, *, n: int, d: int, metric: str, batched: bool) -> str:
    """The search :func:`cch_jax.mi.ksg` runs: ``resolved`` (from :func:`resolve_search`), or
    ``"sorted"`` where ``search="auto"`` and :func:`prefer_sorted` says so (single datasets only:
    a batch is vmapped, and the sweep's loops then run in lockstep). Refuses ``"sorted"`` with a
    metric other than the max-norm."""
    if search == "sorted" and metric != "max":
        raise ValueError(
            f"search: 'sorted' needs metric='max', got metric={metric!r}; use 'auto', 'grouped' "
            f"or 'topk'"
        )
    if search == "auto" and not batched and prefer_sorted(n=n, d=d, metric=metric):
        return "sorted"
    return resolved


def static_options(*, n: int, k: int, standardize, search: str, block, batch: int) -> dict:
    """Validated static options of the jitted cores (k, standardize, search, block, group),
    shared by ``ksg`` and ``ksg_labels``; ``search`` is resolved by :func:`resolve_search`."""
    try:
        standardize = _checks.check_bool("standardize", standardize)
    except ValueError:
        raise ValueError(f"standardize: expected a bool, got {standardize!r}") from None
    return dict(
        k=k,
        standardize=standardize,
        search=resolve_search(search),
        block=resolve_block(block, n, batch),
        group=_neighbours.group_size(n, k + 1),
    )


def ksg_counts(x, y, *, k: int, metric: str, search: str, block: int, group: int):
    """Per-point (eps_i, n_x(i), n_y(i)) for one dataset by the chosen search:
    x [n, dx], y [n, dy] -> ([n], [n], [n]).

    eps is in the metric's units (squared for the Euclidean parts of ``metric="bmi"``); every
    search gives the same values (``"sorted"`` ignores ``block`` and ``group``).
    """
    if search == "sorted":
        return _ksg_sorted.ksg_counts_sorted(x, y, k=k, metric=metric)
    return _neighbours.brute_counts(
        x, y, k=k, metric=metric, search=search, block=block, group=group
    )
