"""The tie counts of concrete inputs (NumPy, cch_jax.mi._ties.tie_note) equal the jnp counts that
the estimators' jitted cores compute (tie_counts), on tied, signed-zero and batched data."""

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax.mi import _ties


def test_numpy_counts_equal_the_jitted_counts():
    rng = np.random.default_rng(0)
    n = 200
    tied = np.stack(
        [
            rng.integers(0, 5, n).astype(np.float32),  # 5 codes: ~40 rows each
            rng.standard_normal(n).astype(np.float32),  # continuous: 1
            np.where(rng.random(n) < 0.5, -0.0, 0.0).astype(np.float32),  # -0 == +0: n
            np.where(rng.random(n) < 0.9, 3.5, rng.standard_normal(n)).astype(np.float32),
        ],
        axis=1,
    )
    batch = np.stack([tied, tied[::-1] * 2.0, rng.standard_normal((n, 4)).astype(np.float32)])
    for a in (tied, tied.astype(np.float64), batch):
        want = np.asarray(jax.jit(jnp.vectorize(_ties.tie_counts, signature="(n,d)->(d)"))(a))
        got = _ties._tie_counts_np(a)
        assert got.dtype == np.int32 and got.shape == a.shape[:-2] + a.shape[-1:]
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(_ties._tie_counts_np(tied)[1:3], [1, n])
    assert "column(s) 0, 2, 3" in _ties.tie_note("x", tied)
    # the note of the estimators' warning, from the jitted core's counts of a batch (the last
    # `want`): the columns tied in any dataset
    assert _ties.counts_note("x", want, n).startswith("x: column(s) 0, 2, 3 have many tied")
    assert _ties.tie_note("x", tied[:, 1:2]) is None
