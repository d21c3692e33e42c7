"""The ``cch`` command. Each subcommand lives in ``cch_jax/_cli/<name>.py`` and defines
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. A retired subcommand
(``RETIRED``: ``cch experiment``) prints one line naming its replacement and exits with code 2.

Subcommand modules import only the standard library at module level, so that ``cch --help`` is
instant and ``cch figure1`` pays only for what it uses.

The command makes two process-wide choices before any JAX computation:

- XLA:CPU's faster convolutions for the CNN (:func:`cch_jax.kd.use_fast_cpu_convolutions`). A flag
  for ``xla_cpu_experimental_ynn_fusion_type`` already in ``XLA_FLAGS`` wins (e.g.
  ``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=individual_dot`` opts out).
- JAX's persistent compilation cache in a per-user folder (:mod:`cch_jax._compile_cache`), so that
  a second call loads its compiled programs instead of compiling them again; every subcommand takes
  ``--no-compile-cache`` (or set ``CCH_JAX_NO_COMPILE_CACHE=1``) to opt out. A subcommand calls
  ``args.compile_cache()`` for ``{"dir", "compiles", "cache_hits", "cache_misses", "compile_s"}``
  so far, to report them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import warnings

# name -> module under cch_jax._cli; order is the order shown by `cch --help`.
SUBCOMMANDS = {
    "check": "check",
    "figure1": "figure1",
    "mi": "mi",
    "bench": "bench",
    "trial": "trial",
}

# Retired subcommands -> the one line that names their replacement (printed, exit code 2,
# whatever arguments follow).
RETIRED = {
    "experiment": "retired (fixed epochs, no early stopping, no control teacher); for your own "
    "pairs use 'cch trial --data FILE.npz', for the benchmark 'cch bench DATASET'",
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
        p.add_argument(
            "--no-compile-cache",
            action="store_true",
            help="do not read or write the persistent compilation cache (also: "
            "CCH_JAX_NO_COMPILE_CACHE=1; folder: $CCH_JAX_COMPILE_CACHE or ~/.cache/cch_jax/jax)",
        )
        p.set_defaults(_run=module.run, _flags=_flag_names(p))
    return parser


def _flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """dest -> the flag a user types (``kd_weight`` -> ``--kd-weight``), for error messages."""
    return {
        a.dest: a.option_strings[0] if a.option_strings else a.dest
        for a in parser._actions
        if a.dest not in ("help", argparse.SUPPRESS)
    }


def _in_user_terms(message: str, flags: dict[str, str]) -> str:
    """A library message "kd_weight: must be > 0" as "--kd-weight: must be > 0" when the
    subcommand has that flag (the library names its Python arguments; the user typed flags)."""
    name, sep, rest = message.partition(":")
    if sep and name in flags and flags[name] != name:
        return f"{flags[name]}:{rest}"
    return message


def _use_fast_cpu_convolutions() -> bool:
    """The opt-in, silent where it cannot take effect (JAX already started in this process, as
    when ``main`` is called from Python, or another jaxlib series)."""
    from cch_jax._xla_cpu import use_fast_cpu_convolutions  # standard library only: no JAX yet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return use_fast_cpu_convolutions()


def _compile_cache_for(args: argparse.Namespace):
    """(context manager counting compilations while the subcommand runs, a function returning
    ``{"dir", "compiles", "cache_hits", "cache_misses", "compile_s"}``).

    Turns the persistent cache on unless ``--no-compile-cache`` or ``CCH_JAX_NO_COMPILE_CACHE``
    says not to (then ``{"dir": None}``, and JAX is not imported here)."""
    from cch_jax import _compile_cache

    if args.no_compile_cache or _compile_cache.disabled_by_env():
        return contextlib.nullcontext(), lambda: {"dir": None}
    folder = _compile_cache.enable()
    counter = _compile_cache.CompileCounter()
    return counter, lambda: {"dir": None if folder is None else str(folder), **counter.as_dict()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in RETIRED:
        print(f"cch {argv[0]}: {RETIRED[argv[0]]}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _use_fast_cpu_convolutions()  # before the subcommand imports JAX and starts its backends
    counter, args.compile_cache = _compile_cache_for(args)
    try:
        with counter:
            return int(args._run(args) or 0)
    except ValueError as err:  # bad input: one clear line, no traceback
        print(
            f"cch {args.command}: error: {_in_user_terms(str(err), args._flags)}", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print(f"cch {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
