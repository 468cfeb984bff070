"""Panels that open other panels without importing them: openers registered by kind.

The registry browser opens a run's detail, and the run detail (through its "Register
model" form) opens the registry browser. Importing each other would be a cycle, so a panel
that opens another asks here by kind (``"run"``), and ``nbtrack.panels`` registers the
panel classes once they are all imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidState

if TYPE_CHECKING:
    from nbtrack.panels.base import Panel

Opener = Callable[..., "Panel"]

_OPENERS: dict[str, Opener] = {}


def register(kind: str, opener: Opener) -> None:
    """Make ``opener`` (a panel class or factory) the one that opens panels of ``kind``."""
    _OPENERS[kind] = opener


def open_panel(kind: str, *args: Any, **kwargs: Any) -> Panel:
    """A new panel of ``kind``, built by its registered opener with these arguments.

    Raises
    ------
    InvalidState
        If no opener of that kind was registered (``nbtrack.panels`` was not imported).
    """
    opener = _OPENERS.get(kind)
    if opener is None:
        raise InvalidState(
            f"no panel opens {kind!r} views; import nbtrack.panels first (it registers "
            f"{', '.join(sorted(_OPENERS)) or 'them'})",
            name=kind,
        )
    return opener(*args, **kwargs)
