"""`cch experiment` is retired: one line naming its replacements and exit code 2, whatever follows;
its package is gone."""

from pathlib import Path

import pytest

import cch_jax
from cch_jax import cli


@pytest.mark.parametrize(
    "args",
    [[], ["mnist"], ["pairs", "--data", "pairs.npz", "--epochs", "3"], ["--help"], ["--nonsense"]],
)
def test_retired_command_names_its_replacements(args, capsys):
    assert cli.main(["experiment", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("cch experiment: retired")
    assert "cch trial --data FILE.npz" in err and "cch bench DATASET" in err


def test_the_pipeline_package_is_gone():
    assert "experiment" not in cli.SUBCOMMANDS
    assert "experiments" not in dir(cch_jax)
    assert not (Path(cch_jax.__file__).parent / "experiments").exists()
    with pytest.raises(AttributeError):
        cch_jax.experiments  # noqa: B018
