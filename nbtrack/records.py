"""The base of nbtrack's entities: immutable records compared, hashed and shown by field.

What a frozen, slotted dataclass gives, without importing :mod:`dataclasses` (and
:mod:`inspect`) at ``import nbtrack``. :mod:`nbtrack.entities` and
:mod:`nbtrack.model_entities` build on it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """Base of the entities: immutable values compared, hashed and shown field by field.

    What a frozen, slotted dataclass gives (equality, hash, repr, pickling, refusing
    assignment), without importing :mod:`dataclasses` (and :mod:`inspect`) at
    ``import nbtrack``. ``_fields`` lists the constructor's arguments in order.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"cannot assign to {type(self).__name__}.{name}: entities are read-only values "
            "(call the API to change what is stored)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {type(self).__name__}.{name}: entities are read-only")


set_field = object.__setattr__  # how a record's own __init__ fills its slots


class KeyValue(Record):
    """A record of a key and a string value (params, tags)."""

    _fields = ("key", "value")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    key: str
    value: str

    def __init__(self, key: str, value: str) -> None:
        set_field(self, "key", key)
        set_field(self, "value", value)
