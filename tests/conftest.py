"""Strict JAX settings for the whole suite, and opt-in markers.

Several CPU devices are forced so that sharded code paths run on a laptop; rank promotion raises so
that a silent broadcast of mismatched shapes is a test failure.
"""

import jax
import pytest

jax.config.update("jax_num_cpu_devices", 4)
jax.config.update("jax_numpy_rank_promotion", "raise")

_OPT_IN = {
    "slow": "--run-slow",
    "gpu": "--run-gpu",
    "realdata": "--run-realdata",
}


def pytest_addoption(parser):
    for marker, flag in _OPT_IN.items():
        parser.addoption(flag, action="store_true", default=False, help=f"run {marker} tests")


def pytest_collection_modifyitems(config, items):
    for marker, flag in _OPT_IN.items():
        if config.getoption(flag):
            continue
        skip = pytest.mark.skip(reason=f"{marker} test: run with {flag}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
