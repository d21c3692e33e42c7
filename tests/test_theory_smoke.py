import jax.numpy as jnp
import pytest

from cch_jax import theory


def test_family_model_matches_closed_form_moments():
    m = theory.moments(theory.family_model(1.3, 1.0, 5))
    ref = theory.family_moments(1.3, 1.0)
    for got, want in zip(m, ref, strict=True):
        assert jnp.allclose(got, want, atol=1e-5)


def test_alpha_must_exceed_one():
    with pytest.raises(ValueError, match="alpha"):
        theory.asymptotic_f(1.0)
