"""Replacing attributes of classes and modules while keeping the originals, to undo exactly.

Autolog wraps methods and functions of other libraries. Every replacement is recorded
with what the owner held before (its own attribute, or nothing when the attribute was
inherited), and ``restore_all`` puts each owner back as it was, newest first.
"""

from __future__ import annotations

from typing import Any

_ABSENT = object()


class Patches:
    """The replacements made so far, and how to undo them."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []
        self._owners: set[tuple[int, str]] = set()

    def __contains__(self, key: tuple[Any, str]) -> bool:
        owner, name = key
        return (id(owner), name) in self._owners

    def __len__(self) -> int:
        return len(self._saved)

    def replace(self, owner: Any, name: str, new: Any) -> None:
        """Set ``owner.name`` to ``new``, remembering the attribute ``owner`` itself held."""
        own = vars(owner).get(name, _ABSENT)
        setattr(owner, name, new)
        self._saved.append((owner, name, own))
        self._owners.add((id(owner), name))

    def restore_all(self) -> None:
        """Undo every replacement, newest first; owners end exactly as they were."""
        while self._saved:
            owner, name, own = self._saved.pop()
            if own is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, own)
        self._owners.clear()
