"""The kernel's window on the plugin registry.

The plugin layer (:mod:`psychcore._plugins`) sits above the kernel: it imports the kernel's base
classes (``Task``, ``Backend``, ``Initializer``) to check what plugins register. A kernel module
that needs a class a plugin may have registered under a name -- ``get_initializer("name")``,
behind ``ModelSpec(initializer="name")`` -- therefore does not import the plugin layer; it asks
:func:`registered`, and the plugin layer installs the lookup with :func:`install_lookup` when it
is imported (``import psychcore`` imports it, so the lookup is always there for users). Plugins
are still discovered on first use, not at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

KINDS = ("task", "backend", "initializer")
"""What plugins register, as the kernel names it."""

Lookup = Callable[[str], Mapping[str, type]]

_lookup: Lookup | None = None


def install_lookup(lookup: Lookup) -> None:
    """Make ``lookup(kind)`` the source of :func:`registered` (called by the plugin layer).

    Args:
        lookup: Takes one of :data:`KINDS` and returns the registered classes of that kind,
            name -> class, discovering plugins on its first call.

    Raises:
        TypeError: If ``lookup`` is not callable.
    """
    global _lookup
    if not callable(lookup):
        raise TypeError(f"install_lookup: lookup must be callable; received {lookup!r}")
    _lookup = lookup


def registered(kind: str) -> dict[str, type]:
    """Classes of ``kind`` registered by plugins, name -> class.

    Empty until the plugin layer has installed its lookup (it does when ``psychcore`` is
    imported), so the kernel's own modules work on their own, with their built-ins only.

    Raises:
        ValueError: If ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"registered: kind must be one of {KINDS}; received {kind!r}")
    return {} if _lookup is None else dict(_lookup(kind))
