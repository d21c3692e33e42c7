"""The ``cch`` command. Each subcommand lives in ``cch_jax/_cli/<name>.py`` and defines
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.

Subcommand modules import only the standard library at module level, so that ``cch --help`` is
instant and ``cch figure1`` pays only for what it uses.

The command makes one process-wide choice before any JAX computation: XLA:CPU's faster
convolutions for the CNN (:func:`cch_jax.kd.use_fast_cpu_convolutions`). A flag for
``xla_cpu_experimental_ynn_fusion_type`` already in ``XLA_FLAGS`` wins (e.g.
``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=individual_dot`` opts out).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

# name -> module under cch_jax._cli; order is the order shown by `cch --help`.
SUBCOMMANDS = {
    "check": "check",
    "figure1": "figure1",
    "experiment": "experiment",
    "mi": "mi",
    "bench": "bench",
    "trial": "trial",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cch",
        description="Information-theoretic criteria for cross-modal knowledge distillation (CCH).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(f"cch_jax._cli.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _use_fast_cpu_convolutions() -> bool:
    """The opt-in, silent where it cannot take effect (JAX already started in this process, as
    when ``main`` is called from Python, or another jaxlib series)."""
    from cch_jax._xla_cpu import use_fast_cpu_convolutions  # standard library only: no JAX yet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return use_fast_cpu_convolutions()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _use_fast_cpu_convolutions()  # before the subcommand imports JAX and starts its backends
    try:
        return int(args._run(args) or 0)
    except ValueError as err:  # bad input: one clear line, no traceback
        print(f"cch {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cch {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
