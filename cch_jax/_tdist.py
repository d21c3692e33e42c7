"""Student-t CDF and quantiles for integer degrees of freedom, in plain Python (float64).

The intervals of the criterion, the advice and the benchmark need only t quantiles; computing
them here keeps ``scipy.stats`` (half a second to import) out of the ``cch`` command's start-up.
``tests/test_bench_stats.py`` checks them against ``scipy.stats.t``.
"""

from __future__ import annotations

import math


def t_cdf(x: float, df: int) -> float:
    """Student-t CDF for an integer ``df >= 1`` (the finite series of Abramowitz & Stegun 26.7)."""
    theta = math.atan(x / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd: A = (2/pi) (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...))
        term, series = math.cos(theta), 0.0
        if df > 1:
            series = term
            for j in range(1, (df - 3) // 2 + 1):
                term *= c2 * (2 * j) / (2 * j + 1)
                series += term
        a = 2.0 / math.pi * (theta + s * series)
    else:  # even: A = sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
        term = series = 1.0
        for j in range(1, (df - 2) // 2 + 1):
            term *= c2 * (2 * j - 1) / (2 * j)
            series += term
        a = s * series
    return 0.5 * (1.0 + a)  # A(x) = P(|T| <= x) is odd in x, so this holds for x < 0 too


def t_ppf(q: float, df: int) -> float:
    """Student-t quantile for an integer ``df >= 1`` by bisection on :func:`t_cdf` (float64)."""
    if q == 0.5:
        return 0.0
    lo, hi = -1.0, 1.0
    while t_cdf(lo, df) > q:
        lo *= 2.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)
