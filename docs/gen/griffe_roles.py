"""Griffe extension for the API reference: Sphinx roles in docstrings shown as code.

psychcore's docstrings are Google style with Sphinx cross-reference roles
(``:class:`Task```, ``:func:`~psychcore.plugins.get_task```). Markdown has no such roles, so
they would appear verbatim; this turns each into the code span of its target's last part
(``Task``, ``get_task``) when mkdocstrings loads the docstrings. Only the rendering changes,
never the source.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:class|meth|func|data|attr|mod|obj|exc|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    """The code span of a role: the last dotted part after ``~``, else the whole target."""
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx role replaced by a code span."""
    return _ROLE.sub(_code, text)


class SphinxRolesAsCode(Extension):
    """Rewrites the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        """Called for each object as it is loaded."""
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
