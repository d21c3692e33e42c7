"""MkDocs hook: list every public name of a package on its API page.

The packages re-export their public names from private modules (``from cch_jax.theory._risk
import risk as risk``) without ``__all__``, and griffe, which mkdocstrings uses, counts such
imported names as private. A line ``::: cch_jax.theory`` on a page under ``api/`` (with or
without an ``options:`` block after it) gets ``members:`` set to the package's public names:
every member not starting with ``_``, submodules left out (they get their own ``:::`` line), in
the order of the package's ``__init__``. The names are read statically by griffe (nothing is
imported), so the page stays in step with the package.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe

_ROOT = Path(__file__).resolve().parents[2]
_DIRECTIVE = re.compile(
    r"^::: (cch_jax(?:\.\w+)*)[ \t]*(?:\n|\Z)(    options:[ \t]*\n)?", re.MULTILINE
)
_cache: dict[str, list[str]] = {}


def public_members(identifier: str) -> list[str]:
    """The public, non-module member names of ``identifier``, in definition order."""
    if identifier not in _cache:
        package, _, rest = identifier.partition(".")
        obj = griffe.load(package, search_paths=[str(_ROOT)], resolve_aliases=False)
        for part in filter(None, rest.split(".")):
            obj = obj.members[part]
        _cache[identifier] = [
            name
            for name, member in obj.members.items()
            if not name.startswith("_") and not _is_module(member)
        ]
    return _cache[identifier]


def _is_module(member) -> bool:
    try:
        return member.is_module
    except griffe.AliasResolutionError:
        return False


def on_page_markdown(markdown: str, page, config, files) -> str:
    if not page.file.src_uri.startswith("api/"):
        return markdown

    def expand(match: re.Match) -> str:
        names = public_members(match.group(1))
        listing = ", ".join(names)
        return f"::: {match.group(1)}\n    options:\n      members: [{listing}]\n"

    return _DIRECTIVE.sub(expand, markdown)
