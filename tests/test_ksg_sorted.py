"""search="sorted": the exact sorted sweep gives bit-for-bit the brute force's eps and counts (hence
the same estimate) on continuous, tied, duplicated and heavy-tailed data, in 1-D to 5+5, in float32
and float64; "auto" picks it only where it is meant to; bad combinations are refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cch_jax.mi as mi
from cch_jax.mi import _ksg_sorted, _search


def _brute(x, y, k):
    """eps and the strict counts n_x, n_y of KSG (max-norm) by brute force in NumPy: differences,
    absolute values and maxima are exact in either float type, so these are the values of every
    exact search, the library's brute force (_neighbours.brute_counts, checked against SciPy's
    cKDTree in tests/test_ksg.py) included, bit for bit; nothing to compile per shape."""

    def distances(a):  # [n, n] max-norm distances, one coordinate at a time
        a = np.asarray(a)
        d = np.zeros((a.shape[0],) * 2, a.dtype)
        for c in range(a.shape[1]):
            np.maximum(d, np.abs(a[:, c, None] - a[None, :, c]), out=d)
        return d

    dx, dy = distances(x), distances(y)
    eps = np.partition(np.maximum(dx, dy), k, axis=1)[:, k]  # self (d(i, i) = 0) is one of them
    self_counted = eps > 0
    nx = np.count_nonzero(dx < eps[:, None], axis=1) - self_counted
    return eps, nx, np.count_nonzero(dy < eps[:, None], axis=1) - self_counted


def _assert_same_counts(x, y, k):
    x, y = jnp.asarray(x), jnp.asarray(y)
    expected = _brute(x, y, k)
    got = jax.jit(lambda a, b: _ksg_sorted.ksg_counts_sorted(a, b, k=k))(x, y)
    # the dtypes of the library's brute force: eps in the data's, counts in the default integer
    dtypes = (x.dtype, *[jax.dtypes.canonicalize_dtype(np.int64)] * 2)
    for name, e, g, dtype in zip(("eps", "n_x", "n_y"), expected, got, dtypes, strict=True):
        e, g = np.asarray(e), np.asarray(g)
        assert g.dtype == dtype, name
        bad = np.flatnonzero(e != g)
        assert bad.size == 0, (name, bad[:5], e[bad[:5]], g[bad[:5]])
    return np.asarray(got[0])


def _data(kind, n, dx, dy, seed, dtype):
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        x = rng.standard_normal((n, dx))
        y = 0.6 * x[:, :1] + 0.8 * rng.standard_normal((n, dy))
    elif kind == "ties":  # integer codes: tied distances and duplicate rows everywhere
        x = rng.integers(0, 7, (n, dx)).astype(float)
        y = x[:, :1] + rng.integers(0, 4, (n, dy))
    elif kind == "duplicates":  # every row three times, plus continuous noise
        base = rng.standard_normal((n // 3 + 1, dx + dy))
        z = np.repeat(base, 3, axis=0)[:n]
        x, y = z[:, :dx], z[:, dx:]
    else:  # heavy tails: sparse outskirts where the first step's bounds fail and the sweep resumes
        x = rng.standard_cauchy((n, dx))
        y = x[:, :1] + rng.standard_cauchy((n, dy))
    return x.astype(dtype), y.astype(dtype)


# (kind, n, dx, dy, k, dtype): low dimension (several stripes, first step + resumed sweep, 1-D
# counts by binary search, a 2-D count by the sweep) and high dimension (one stripe, wide steps).
CASES = [
    ("gauss", 3000, 1, 1, 3, "float32"),
    ("ties", 1200, 1, 1, 5, "float64"),
    ("cauchy", 1000, 1, 1, 1, "float32"),
    ("duplicates", 900, 2, 1, 2, "float64"),
    ("gauss", 700, 5, 5, 10, "float32"),
    ("ties", 500, 5, 5, 3, "float64"),
    ("gauss", 6, 1, 1, 3, "float32"),
]


@pytest.mark.parametrize(("kind", "n", "dx", "dy", "k", "dtype"), CASES)
def test_sorted_counts_equal_brute_force(kind, n, dx, dy, k, dtype):
    x, y = _data(kind, n, dx, dy, n + dx + k, dtype)
    with jax.enable_x64(dtype == "float64"):
        eps = _assert_same_counts(x, y, k)
    if kind == "ties" and dx == 1:
        assert np.mean(eps == 0) > 0.01  # exact copies within k: eps = 0 occurs
    if kind == "duplicates":
        assert np.all(eps[: (n // 3) * 3] >= 0)


@pytest.mark.parametrize(
    ("kind", "dx", "dy", "dtype"), [("gauss", 2, 2, "float32"), ("ties", 3, 1, "float64")]
)
def test_sorted_at_joint_dimension_four_equals_brute_force(kind, dx, dy, dtype):
    """dx + dy = 4 is where search="auto" takes the sweep only from n = 100 000 rows
    (``_search.SORTED_MIN_ROWS_4D``). Forced at n = 1 500 the layout already has several stripes
    and the first step, and eps, n_x, n_y (a 2- or 3-coordinate marginal counted by its own sweep)
    equal the brute force's bit for bit; so do the estimates of mi.ksg."""
    n, k = 1500, 3
    stripe, plan = _ksg_sorted.plan_for(n, dx + dy, k)
    assert stripe < n and plan[2] > 0, (stripe, plan)  # stripes + first step, as at large n
    x, y = _data(kind, n, dx, dy, 40 + dx, dtype)
    with jax.enable_x64(dtype == "float64"):
        _assert_same_counts(x, y, k)
        if kind == "ties":  # standardised tied data once gave the brute force NaN (n_y = -1)
            sweep = mi.ksg(x, y, k=k, search="sorted", ties="keep")
            brute = mi.ksg(x, y, k=k, search="grouped", ties="keep")
            assert np.isfinite(float(brute)) and float(sweep) == float(brute)
    assert _search.choose("auto", "grouped", n=n, d=4, metric="max", batched=False) == "grouped"


def test_layout_has_several_stripes_in_low_dimension():
    """The low-dimensional cases above really cut the rows into stripes (not one sorted run)."""
    for n, d, k in ((3000, 2, 3), (1200, 2, 5), (1000, 2, 1), (900, 3, 2)):
        stripe, plan = _ksg_sorted.plan_for(n, d, k)
        assert stripe < n and plan[2] > 0, (n, d, stripe)
    stripe, plan = _ksg_sorted.plan_for(700, 10, 10)
    assert stripe >= 700 and plan[2] == 0


def test_auto_uses_sorted_in_low_dimension_with_identical_estimates(monkeypatch):
    # 20 000 rows, 1 + 1, k = 3: the sweep's program is tests/test_ksg.py's
    # test_gaussian_converges_with_n's (compiled once for both files; the brute force's run at this
    # n, ~2 s, costs less than the sweep's compilation at a size of its own)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000).astype(np.float32)
    y = (0.6 * x + 0.8 * rng.standard_normal(20000)).astype(np.float32)
    calls = []
    real = _ksg_sorted.ksg_counts_sorted
    monkeypatch.setattr(
        _ksg_sorted, "ksg_counts_sorted", lambda *a, **kw: calls.append(1) or real(*a, **kw)
    )
    auto = mi.ksg(x, y, k=3)
    assert calls  # traced through the sorted sweep
    grouped = mi.ksg(x, y, k=3, search="grouped")
    assert float(auto) == float(grouped)


def test_auto_keeps_brute_force_where_it_wins():
    assert _search.choose("auto", "grouped", n=10_000, d=2, metric="max", batched=False) == (
        "sorted" if jax.default_backend() == "cpu" else "grouped"
    )
    for kwargs in (
        dict(n=10_000, d=10, metric="max", batched=False),  # high dimension
        dict(n=20_000, d=4, metric="max", batched=False),  # 2+2 below 10^5 rows
        dict(n=500, d=2, metric="max", batched=False),  # small n
        dict(n=10_000, d=2, metric="bmi", batched=False),  # Euclidean parts
        dict(n=10_000, d=2, metric="max", batched=True),  # vmapped batch
    ):
        assert _search.choose("auto", "grouped", **kwargs) == "grouped"
    assert _search.choose("topk", "topk", n=10_000, d=2, metric="max", batched=False) == "topk"


def test_sorted_under_vmap_and_batched_input():
    # 600 rows, 1 + 1, k = 3 (several stripes): the loop runs tests/test_ksg.py's program of
    # test_continuous_float32_data_are_not_jittered
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((3, 600, 1)).astype(np.float32)
    ys = (xs + rng.standard_normal((3, 600, 1))).astype(np.float32)
    batched = np.asarray(mi.ksg(xs, ys, k=3, search="sorted"))
    loop = np.array([float(mi.ksg(xs[i], ys[i], k=3, search="grouped")) for i in range(3)])
    np.testing.assert_array_equal(batched, loop)


def test_sorted_refused_where_not_exact():
    x = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(ValueError, match=r"^search: 'sorted' needs metric='max'"):
        mi.ksg(x, x[:, :1], metric="bmi", search="sorted")
    with pytest.raises(ValueError, match=r"^search: 'sorted' is not available for ksg_labels"):
        mi.ksg_labels(x, np.arange(50) % 3, search="sorted")
    with pytest.raises(ValueError, match=r"^search: expected one of .*'sorted'"):
        mi.ksg(x, x, search="kdtree")
