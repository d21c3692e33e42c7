"""Compile once: repeated criterion calls compile nothing, and a second `cch` process loads its
programs from the persistent compilation cache instead of compiling them."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from _shared_configs import TRAINED_CHECK

from cch_jax import _compile_cache, criterion


def _triple(n=400, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 6)).astype(np.float32)
    t = (s + rng.normal(size=(n, 6))).astype(np.float32)
    y = np.digitize(s[:, 0] + 0.5 * rng.normal(size=n), np.linspace(-1, 1, classes + 1)[1:-1])
    return s, t, y.astype(np.int32)


def test_identical_checks_compile_only_once():
    """The trained terms (MINE for I(Ht;Hs), the probe for I(Hs;Y)) and KSG: the second and third
    identical calls compile nothing (each used to jit a fresh closure, recompiling every time)."""
    # the shapes and configs of tests/test_criterion_parts.py::
    # test_mine_teacher_term_and_probe_label_term_on_known_gaps (1200 rows, 4 classes, 4
    # components for the probe and for MINE): the trained programs are compiled once for both
    s, t, y = _triple(n=1200, classes=4)
    config = TRAINED_CHECK
    counts = []
    for _ in range(3):
        with _compile_cache.CompileCounter() as counter:
            result = criterion.check(
                s, y, {"t": t}, key=jax.random.key(0), estimators=("ksg", "mine"), config=config
            )
        counts.append(counter.compiles)
        assert np.isfinite(result.rows()[0]["gap"])
    assert counts[0] > 0  # the counter sees compilations at all
    assert counts[1:] == [0, 0], counts


def test_counter_counts_only_inside_its_block():
    counter = _compile_cache.CompileCounter()
    with counter:
        jax.jit(lambda x: x * 3.0 + 1.0)(np.arange(7.0)).block_until_ready()
    seen = counter.compiles
    jax.jit(lambda x: x * 5.0 - 2.0)(np.arange(9.0)).block_until_ready()
    assert seen >= 1 and counter.compiles == seen


def test_disabled_by_env(monkeypatch):
    monkeypatch.setenv(_compile_cache.ENV_OFF, "1")
    assert _compile_cache.disabled_by_env() and _compile_cache.enable() is None
    monkeypatch.setenv(_compile_cache.ENV_OFF, "0")
    assert not _compile_cache.disabled_by_env()


def test_default_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(_compile_cache.ENV_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _compile_cache.default_dir() == tmp_path / "cch_jax" / "jax"
    monkeypatch.setenv(_compile_cache.ENV_DIR, str(tmp_path / "here"))
    assert _compile_cache.default_dir() == tmp_path / "here"


@pytest.fixture(scope="module")
def check_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cache_check")
    s, t, y = _triple(n=300, seed=1)
    np.save(d / "s.npy", s)
    np.save(d / "t.npy", t)
    np.save(d / "y.npy", y)
    return d


def _cch_check(d, cache, *extra):
    """`cch check --no-advice --json` in a fresh process with its own cache folder; its JSON."""
    env = {k: v for k, v in os.environ.items() if k != _compile_cache.ENV_OFF}
    env[_compile_cache.ENV_DIR] = str(cache)
    out = d / f"out{len(list(d.glob('out*.json')))}.json"
    cmd = [sys.executable, "-c", "import sys; from cch_jax.cli import main; sys.exit(main())"]
    args = ["check", "--quiet", "--no-advice", "--repeats", "2", "--json", str(out)]
    args += ["--student", str(d / "s.npy"), "--labels", str(d / "y.npy")]
    args += ["--teacher", f"t={d / 't.npy'}", *extra]
    done = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def test_second_process_hits_the_persistent_cache(check_files, tmp_path):
    cache = tmp_path / "jax_cache"
    first = _cch_check(check_files, cache)["compile_cache"]
    second = _cch_check(check_files, cache)["compile_cache"]
    assert first["dir"] == str(cache) and first["cache_misses"] > 0 and any(cache.iterdir())
    assert second["cache_hits"] >= first["cache_misses"] and second["cache_misses"] == 0, second


def test_no_compile_cache_flag(check_files, tmp_path):
    cache = tmp_path / "unused"
    info = _cch_check(check_files, cache, "--no-compile-cache")["compile_cache"]
    assert info == {"dir": None} and not cache.exists()
