"""Griffe extension: Sphinx roles in docstrings (``:func:`risk```) shown as inline code.

The docstrings cross-reference with Sphinx roles (``:func:``, ``:class:``, ``:data:``, ``:mod:``,
``:meth:``, ``:attr:``, ``:exc:``), which Markdown would print literally (":func: risk"). This
rewrites each to the inline code it names (`` `risk` ``) before mkdocstrings renders the
docstring; as in Sphinx, ``~a.b.c`` shows only ``c`` and a leading ``!`` is dropped. Loaded by mkdocs.yml
(``extensions:`` of the python handler).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|data|mod|meth|attr|exc|obj|const):`([~!]?)([^`]+)`")


def strip_roles(text: str) -> str:
    """``:func:`name``` -> ```name```, for every Sphinx role in ``text``.

    Args:
      text: a docstring.

    Returns:
      The docstring with each role replaced by inline code of its target.
    """

    def code(match: re.Match) -> str:
        prefix, target = match.groups()
        return f"`{target.rsplit('.', 1)[-1] if prefix == '~' else target}`"

    return _ROLE.sub(code, text)


class SphinxRolesToCode(griffe.Extension):
    """Rewrites the Sphinx roles of every loaded object's docstring (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = strip_roles(obj.docstring.value)
