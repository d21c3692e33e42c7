"""Every public name of every public package imports and is documented; `cch --help` lists commands."""

import importlib
import inspect
import subprocess
import sys

import pytest

import cch_jax
from cch_jax import cli

PACKAGES = ["cch_jax.theory", "cch_jax.mi", "cch_jax.kd", "cch_jax.experiments", "cch_jax.data"]


def _public_names(module):
    return [
        n for n in vars(module) if not n.startswith("_") and not inspect.ismodule(vars(module)[n])
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_import_and_have_docstrings(package):
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as err:
        if err.name == package:
            pytest.skip(f"{package} not present")
        raise
    names = _public_names(module)
    assert names, f"{package} exports nothing"
    for name in names:
        obj = getattr(module, name)
        if callable(obj):
            assert inspect.getdoc(obj), f"{package}.{name} has no docstring"


def test_lazy_subpackages():
    assert cch_jax.theory is importlib.import_module("cch_jax.theory")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cch_jax.nope  # noqa: B018


def test_cch_help_lists_every_subcommand_with_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "cch_jax.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in cli.SUBCOMMANDS:
        lines = [line for line in out.splitlines() if line.strip().startswith(name + " ")]
        assert lines, f"`cch --help` does not list {name}"
        assert len(lines[0].split(name, 1)[1].strip()) > 10, f"{name} has no one-line help"
