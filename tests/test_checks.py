"""The shared validation layer: every user-input error is a ValueError naming the argument."""

import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cch_jax import _checks


def test_check_choice():
    assert _checks.check_choice("metric", "max", ("max", "bmi")) == "max"
    with pytest.raises(ValueError, match=r"^metric: expected one of 'max', 'bmi', got 'euclid'"):
        _checks.check_choice("metric", "euclid", ("max", "bmi"))
    with pytest.raises(ValueError, match=r"^metric: .*got 3"):
        _checks.check_choice("metric", 3, ("max", "bmi"))
    with pytest.raises(ValueError, match=r"^metric:"):
        _checks.check_choice("metric", ["max"], ("max", "bmi"))  # unhashable


@pytest.mark.parametrize("value", [3, np.int64(3), np.array(3), jnp.array(3)])
def test_check_int_accepts_integers(value):
    out = _checks.check_int("n", value, minimum=1, maximum=5)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize(
    "value, match",
    [
        (3.0, r"^n: expected an integer, got 3.0 \(write 3 instead of 3.0\)"),
        (True, r"^n: expected an integer, got True"),
        ("3", r"^n: expected an integer, got '3'"),
        (None, r"^n: expected an integer, got None"),
        (np.array([3]), r"^n: expected an integer"),
        (0, r"^n: must be >= 1, got 0"),
        (6, r"^n: must be <= 5, got 6"),
    ],
)
def test_check_int_rejects(value, match):
    with pytest.raises(ValueError, match=match):
        _checks.check_int("n", value, minimum=1, maximum=5)


def test_check_real():
    assert _checks.check_real("t", 2) == 2.0
    assert _checks.check_real("t", np.float32(0.5), low=0.0, high=1.0) == 0.5
    assert _checks.check_real("w", 1.0, low=0.0, high=1.0) == 1.0
    with pytest.raises(ValueError, match=r"^t: must be > 0, got 0"):
        _checks.check_real("t", 0.0, low=0.0, low_open=True)
    with pytest.raises(ValueError, match=r"^w: must be < 1, got 1"):
        _checks.check_real("w", 1.0, high=1.0, high_open=True)
    with pytest.raises(ValueError, match=r"^w: must be <= 1, got 1.5"):
        _checks.check_real("w", 1.5, high=1.0)
    with pytest.raises(ValueError, match=r"^w: must be finite, got nan"):
        _checks.check_real("w", float("nan"))
    for bad in (True, "0.5", None, [0.5], 1j):
        with pytest.raises(ValueError, match=r"^w: expected a real number"):
            _checks.check_real("w", bad)


def test_check_real_passes_tracers_through():
    out = jax.jit(lambda t: _checks.check_real("t", t, low=0.0) * 2)(3.0)
    assert float(out) == 6.0


def test_check_bool():
    assert _checks.check_bool("shuffle", np.bool_(True)) is True
    for bad in (1, 0, "yes", None):
        with pytest.raises(ValueError, match=r"^shuffle: expected True or False"):
            _checks.check_bool("shuffle", bad)


def test_check_int_tuple():
    assert _checks.check_int_tuple("hidden", [32, np.int64(16)], minimum=1) == (32, 16)
    assert _checks.check_int_tuple("seeds", np.arange(3)) == (0, 1, 2)
    with pytest.raises(
        ValueError,
        match=r"^hidden: expected a tuple of integers, got the single "
        r"number 32 \(write \(32,\) for one value\)",
    ):
        _checks.check_int_tuple("hidden", 32)
    with pytest.raises(ValueError, match=r"^hidden\[1\]: must be >= 1, got 0"):
        _checks.check_int_tuple("hidden", (4, 0), minimum=1)
    with pytest.raises(ValueError, match=r"^hidden\[0\]: expected an integer, got 2.5"):
        _checks.check_int_tuple("hidden", (2.5,))
    with pytest.raises(ValueError, match=r"^hidden: expected a tuple of integers, got '32'"):
        _checks.check_int_tuple("hidden", "32")
    with pytest.raises(ValueError, match=r"^seeds: expected at least 1 value"):
        _checks.check_int_tuple("seeds", (), min_length=1)
    with pytest.raises(ValueError, match=r"^seeds: expected a 1-D sequence"):
        _checks.check_int_tuple("seeds", np.zeros((2, 2), int))


def test_check_real_tuple():
    assert _checks.check_real_tuple("kd_weights", [0, 0.5, 1], low=0.0, high=1.0) == (0, 0.5, 1)
    with pytest.raises(
        ValueError, match=r"^kd_weights: expected a tuple of numbers, got the single"
    ):
        _checks.check_real_tuple("kd_weights", 0.5)
    with pytest.raises(ValueError, match=r"^kd_weights\[1\]: must be <= 1, got 2"):
        _checks.check_real_tuple("kd_weights", (0.5, 2.0), low=0.0, high=1.0)
    with pytest.raises(
        ValueError, match=r"^kd_weights: expected a tuple of numbers, got \(3\+0j\)"
    ):
        _checks.check_real_tuple("kd_weights", 3 + 0j)


def test_check_instance_is_a_value_error():
    with pytest.raises(ValueError, match=r"^config: expected a dict, got int"):
        _checks.check_instance("config", 3, dict)


@pytest.mark.parametrize(
    "x, match",
    [
        (None, r"^x: expected an array, got None"),
        ("abc", r"^x: expected a numeric array, got the string"),
        (np.array(["a", "b"]), r"^x: expected a numeric array of real numbers, got dtype <U1"),
        (
            np.array([1, None], dtype=object),
            r"^x: expected a numeric array of real numbers, got dtype object",
        ),
        (np.array([True, False]), r"^x: expected a numeric array of real numbers, got dtype bool"),
        (np.array([1j]), r"^x: expected a numeric array of real numbers, got dtype complex"),
        ([[1.0, 2.0], [3.0]], r"^x: expected a numeric array"),
        (np.zeros((2, 2, 2)), r"^x: expected 1 or 2 dimensions, got shape \(2, 2, 2\)"),
        (
            np.array([1.0, np.nan]),
            r"^x: contains 1 non-finite value\(s\) \(NaN\); the first is nan at row 1",
        ),
        (np.array([1e300]), r"^x: values too large for float32"),
    ],
)
def test_as_float_array_rejects(x, match):
    with pytest.raises(ValueError, match=match):
        _checks.as_float_array("x", x, ndims=(1, 2))


def test_as_float_array_casts_integers():
    out = _checks.as_float_array("x", np.arange(4))
    assert jnp.issubdtype(out.dtype, jnp.floating) and out.shape == (4,)


def test_check_finite_says_where():
    x = np.zeros((3, 4))
    x[2, 1] = np.inf
    x[2, 3] = np.nan
    with pytest.raises(
        ValueError,
        match=r"^x: contains 2 non-finite value\(s\) \(NaN\); the first is inf "
        r"at index \(2, 1\)",
    ):
        _checks.check_finite("x", x)
    _checks.check_finite("x", np.arange(3))  # integers are always finite
    jax.jit(lambda a: _checks.check_finite("a", a) or a)(jnp.array([jnp.nan]))  # no-op traced


def test_check_same_rows():
    assert _checks.check_same_rows(x=np.zeros((5, 2)), y=np.zeros(5)) == 5
    with pytest.raises(ValueError, match=r"^y: mismatched number of rows: x has 5, y has 4"):
        _checks.check_same_rows(x=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match=r"^y: expected an array with rows"):
        _checks.check_same_rows(x=np.zeros(5), y=3.0)


def test_check_key():
    key = jax.random.key(0)
    assert _checks.check_key("key", key) is key
    _checks.check_key("key", jax.random.PRNGKey(0))  # legacy raw keys still work
    jax.jit(lambda k: jax.random.normal(_checks.check_key("key", k)))(key)
    for bad in (0, np.uint32([0, 1]), jnp.zeros(2), jnp.zeros(3, jnp.uint32), "0"):
        with pytest.raises(
            ValueError,
            match=r"^key: expected a JAX PRNG key \(make one with "
            r"jax.random.key\(seed\)\)",
        ):
            _checks.check_key("key", bad)
    with pytest.raises(ValueError, match=r"^key: expected a single PRNG key"):
        _checks.check_key("key", jax.random.split(key, 2))


def test_check_output_dir(tmp_path):
    out = _checks.check_output_dir("out", tmp_path / "a" / "b")
    assert out.is_dir() and not list(out.iterdir())  # the write probe is removed
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^out: '.*file' exists and is not a folder"):
        _checks.check_output_dir("out", tmp_path / "file")
    with pytest.raises(ValueError, match=r"^out: cannot write to folder"):
        _checks.check_output_dir("out", tmp_path / "file" / "sub")
    with pytest.raises(ValueError, match=r"^out: expected a folder path, got 3"):
        _checks.check_output_dir("out", 3)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_check_output_dir_read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ValueError, match=r"^--out: cannot write to folder .*Permission denied"):
            _checks.check_output_dir("--out", ro)
        with pytest.raises(ValueError, match=r"^--out: cannot write to folder"):
            _checks.check_output_dir("--out", ro / "sub")
    finally:
        ro.chmod(0o700)


def test_legacy_helpers_still_work():
    assert _checks.check_positive_int("k", 3) == 3
    with pytest.raises(ValueError, match=r"^k: must be >= 2, got 1"):
        _checks.check_positive_int("k", 1, minimum=2)
    _checks.check_scalar_range("rho", np.array([0.1, -0.2]), low=-1, high=1, low_inclusive=False)
    with pytest.raises(ValueError, match=r"^rho: must be < 1, got 1"):
        _checks.check_scalar_range("rho", 1.0, high=1.0, high_inclusive=False)
    with pytest.raises(ValueError, match=r"^rho: expected a real number"):
        _checks.check_scalar_range("rho", "a")
    with pytest.raises(ValueError, match=r"^cov: not positive definite"):
        _checks.check_spd("cov", np.diag([1.0, -1.0]))


def test_input_warning_comes_from_the_code_that_handles_the_input():
    """A constant column dropped by the criterion's input clean-up warns with the one public
    InputWarning (cch_jax.InputWarning is the class _checks re-exports) and records the same text;
    an error filter on InputWarning leaves other warnings alone."""
    import cch_jax
    from cch_jax.criterion import _prepare

    assert cch_jax.InputWarning is _checks.InputWarning
    a = np.ones((6, 3), np.float32)
    a[:, 1] = np.arange(6)
    notes = []
    with pytest.warns(cch_jax.InputWarning) as caught:
        kept = _prepare._drop_columns("student", a, notes)
    assert [str(w.message) for w in caught] == notes
    assert notes == ["student: dropped 2 constant column(s) of 3; 1 kept"]
    np.testing.assert_array_equal(kept, a[:, 1:2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", cch_jax.InputWarning)
        with pytest.raises(cch_jax.InputWarning):
            _prepare._drop_columns("student", a, [])
        with pytest.warns(cch_jax.DivergenceWarning):  # a RuntimeWarning, not an InputWarning
            warnings.warn("runs 0, 3 diverged", cch_jax.DivergenceWarning, stacklevel=1)


def test_values_beyond_float32_and_lists_are_refused():
    with pytest.raises(ValueError, match=r"^lr: 1e\+308 is too large for float32"):
        _checks.check_real("lr", 1e308)
    with pytest.raises(ValueError, match=r"^f: 1e\+300 is too large for float32"):
        _checks.check_scalar_range("f", np.array([1.0, 1e300]), low=0.0)
    with jax.enable_x64(True):
        assert _checks.check_real("lr", 1e308) == 1e308
    with pytest.raises(
        ValueError, match=r"^a: expected a real number or an array, got \[0.5\] \(wrap"
    ):
        _checks.check_scalar_range("a", [0.5])
    with pytest.raises(ValueError, match=r"^a: expected a real number or an array, got None"):
        _checks.check_scalar_range("a", None)
