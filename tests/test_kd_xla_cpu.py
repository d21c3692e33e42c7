"""XLA:CPU's Eigen convolutions are an explicit opt-in: importing cch_jax.kd sets nothing."""

import os
import subprocess
import sys
import warnings

import jax
import pytest

from cch_jax import _xla_cpu, kd

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


def test_no_effect_and_a_warning_once_backends_started(monkeypatch):
    jax.numpy.zeros(1).block_until_ready()  # backends are up in this process
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    with pytest.warns(RuntimeWarning, match="^use_fast_cpu_convolutions: JAX's backends already"):
        assert kd.use_fast_cpu_convolutions() is False
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"


# In a fresh process, as a script would: print XLA_FLAGS after `import cch_jax.kd` and after the
# opt-in (when argv[1] == "opt-in"), then whether a convolution compiles to XLA's own convolution
# (Eigen) or to a YNNPACK fusion.
_PROBE = """
import os, sys, jax, jax.numpy as jnp
from cch_jax import kd
print(os.environ.get("XLA_FLAGS", "unset"))
if sys.argv[1] == "opt-in":
    print(kd.use_fast_cpu_convolutions(), os.environ.get("XLA_FLAGS", "unset"))
dn = ("NHWC", "HWIO", "NHWC")
conv = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=dn)
x, k = jnp.ones((8, 14, 14, 32)), jnp.ones((3, 3, 32, 64))  # big enough for YNNPACK
hlo = jax.jit(conv).lower(x, k).compile().as_text()
print("convolution(" in hlo, "__ynn_fusion" in hlo)
"""


def _probe(mode: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="an XLA:CPU flag")
@pytest.mark.skipif(not jax.__version__.startswith("0.10."), reason="measured on jaxlib 0.10.x")
def test_importing_kd_sets_nothing_and_the_opt_in_gives_convolutions_to_eigen():
    # importing cch_jax.kd leaves XLA_FLAGS unset: the convolution stays a YNNPACK fusion
    assert _probe("import-only") == ["unset", "True", "True"]
    # the opt-in, before JAX starts, sets the flag and takes the convolution out of YNNPACK
    assert _probe("opt-in") == ["unset", "True", FLAG, "True", "False"]


def test_the_cch_command_opts_in_before_running_its_subcommand(monkeypatch):
    from cch_jax import cli
    from cch_jax._cli import figure1

    calls = []
    monkeypatch.setattr(_xla_cpu, "use_fast_cpu_convolutions", lambda: calls.append("opt-in"))
    monkeypatch.setattr(figure1, "run", lambda args: calls.append("run") or 0)
    assert cli.main(["figure1"]) == 0
    assert calls == ["opt-in", "run"]
    calls.clear()
    with pytest.raises(SystemExit):  # --help: no subcommand runs, nothing is set
        cli.main(["--help"])
    assert calls == []


def test_opt_in_before_jax_starts_other_series_user_setting_and_repeat(monkeypatch):
    import jaxlib

    monkeypatch.setattr(_xla_cpu, "_backends_started", lambda: False)  # as in a fresh process
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(jaxlib, "__version__", "0.11.0")
    with pytest.warns(RuntimeWarning, match="^use_fast_cpu_convolutions: jaxlib 0.11.0 is not"):
        assert kd.use_fast_cpu_convolutions() is False
    assert "XLA_FLAGS" not in os.environ
    monkeypatch.setattr(jaxlib, "__version__", "0.10.2")
    user = "--xla_cpu_experimental_ynn_fusion_type=individual_dot"
    monkeypatch.setenv("XLA_FLAGS", user)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the remaining calls are silent
        assert kd.use_fast_cpu_convolutions() is False  # the user's own setting wins
        assert os.environ["XLA_FLAGS"] == user
        monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
        assert kd.use_fast_cpu_convolutions() is True
        assert kd.use_fast_cpu_convolutions() is True  # a second call changes nothing more
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=2 {FLAG}"
