"""cch_jax.kd sets one XLA:CPU flag at import (Eigen convolutions), only where it is safe to."""

import os
import subprocess
import sys

import jax
import pytest

from cch_jax.kd import _xla_cpu

FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"


def test_flag_text_is_appended_and_user_settings_win():
    assert _xla_cpu.FLAG == FLAG
    f = _xla_cpu.flags_with_eigen_convolutions
    assert f(None, "0.10.2") == FLAG
    assert f("", "0.10.2") == FLAG
    assert f("--xla_force_host_platform_device_count=4", "0.10.2") == (
        f"--xla_force_host_platform_device_count=4 {FLAG}"
    )
    # the user's own YNNPACK setting is kept as it is
    assert f("--xla_cpu_experimental_ynn_fusion_type=individual_dot", "0.10.2") is None
    # other jaxlib series may not know the flag (XLA aborts on unknown flags): nothing is set
    assert f(None, "0.11.0") is None
    assert f("--foo=1", "0.9.1") is None


def test_no_effect_once_backends_started(monkeypatch):
    jax.numpy.zeros(1).block_until_ready()  # backends are up in this process
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    assert _xla_cpu.use_eigen_convolutions() is False
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"


_PROBE = """
import os, jax, jax.numpy as jnp
from cch_jax import kd  # noqa: F401  (sets the flag: nothing has started JAX's backends yet)
dn = ("NHWC", "HWIO", "NHWC")
conv = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=dn)
x, k = jnp.ones((8, 14, 14, 32)), jnp.ones((3, 3, 32, 64))  # big enough for YNNPACK
hlo = jax.jit(conv).lower(x, k).compile().as_text()
print(os.environ.get("XLA_FLAGS"), "convolution(" in hlo, "__ynn_fusion" in hlo)
"""


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="an XLA:CPU flag")
@pytest.mark.skipif(not jax.__version__.startswith("0.10."), reason="set for jaxlib 0.10.x only")
def test_importing_kd_first_gives_convolutions_to_eigen_not_ynnpack():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [FLAG, "True", "False"]
    # and without the flag the same convolution is a YNNPACK fusion (the test can fail)
    env["XLA_FLAGS"] = (
        "--xla_cpu_experimental_ynn_fusion_type=individual_dot,individual_convolution"
    )
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-2:] == ["True", "True"]
