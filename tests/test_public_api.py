"""Every public name of every public package imports and is documented; `cch --help` lists commands."""

import importlib
import inspect
import subprocess
import sys

import pytest

import cch_jax
from cch_jax import cli

PACKAGES = [
    "cch_jax.theory",
    "cch_jax.mi",
    "cch_jax.mi.tasks",
    "cch_jax.kd",
    "cch_jax.figure1",
    "cch_jax.data",
    "cch_jax.criterion",
    "cch_jax.predictors",
    "cch_jax.bench",
]


def _public_names(module):
    return [
        n for n in vars(module) if not n.startswith("_") and not inspect.ismodule(vars(module)[n])
    ]


def _real_docstring(obj) -> str | None:
    """The object's own docstring, or None when it is missing or auto-generated.

    ``inspect.getdoc`` would inherit a base class's text, and dataclasses and NamedTuples invent
    ``"ClassName(field, ...)"`` when the author wrote nothing: neither counts.
    """
    doc = obj.__doc__ if isinstance(obj, type) else inspect.getdoc(obj)
    if not doc or not doc.strip():
        return None
    name = getattr(obj, "__name__", "")
    if name and doc.strip().startswith(f"{name}("):
        return None
    return doc


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_import_and_have_docstrings(package):
    module = importlib.import_module(package)  # a missing package fails here: it is not optional
    names = _public_names(module)
    assert names, f"{package} exports nothing"
    undocumented = [n for n in names if callable(getattr(module, n))]
    undocumented = [n for n in undocumented if _real_docstring(getattr(module, n)) is None]
    assert not undocumented, f"{package}: no real docstring for {undocumented}"


def test_the_docstring_check_can_fail():
    import dataclasses
    from typing import NamedTuple

    @dataclasses.dataclass
    class Auto:
        a: int

    class Tuple(NamedTuple):
        a: int

    class Child(Tuple):
        pass

    def bare():
        pass

    for obj in (Auto, Tuple, Child, bare):
        assert _real_docstring(obj) is None, obj
    assert _real_docstring(cch_jax.theory.risk)


def test_lazy_subpackages():
    assert cch_jax.theory is importlib.import_module("cch_jax.theory")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cch_jax.nope  # noqa: B018


def test_cch_help_lists_every_subcommand_with_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "cch_jax.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    for name in cli.SUBCOMMANDS:
        # argparse puts the help of a long command name on the next line
        found = [i for i, line in enumerate(lines) if line.split()[:1] == [name]]
        assert found, f"`cch --help` does not list {name}"
        i = found[0]
        text = lines[i].strip()[len(name) :].strip() or lines[i + 1].strip()
        assert len(text) > 10, f"{name} has no one-line help"
