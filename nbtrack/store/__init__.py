"""The SQLite store: one file per tracking URI, opened once per process."""

from __future__ import annotations

import threading

from nbtrack.store.database import Database
from nbtrack.store.tracking import TrackingStore
from nbtrack.uri import artifact_root, db_path

_stores: dict[str, TrackingStore] = {}
_lock = threading.Lock()


def get_store(uri: str) -> TrackingStore:
    """The tracking store for a URI, opened (and created) on first use.

    A store already open is reopened first if its file was deleted or replaced meanwhile.
    """
    path = db_path(uri)
    key = str(path)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = TrackingStore(Database(path), artifact_root(path))
            _stores[key] = store
            return store
    store.reopen_if_replaced()
    return store


def reopen_if_replaced(uri: str) -> bool:
    """Reopen the store of a URI if it is open and its file was deleted or replaced.

    Returns whether it was reopened; a store not open yet is left for its first use.
    """
    with _lock:
        store = _stores.get(str(db_path(uri)))
    return store is not None and store.reopen_if_replaced()


def close_all() -> None:
    """Close every open store (tests, and before a store file is moved)."""
    with _lock:
        for store in _stores.values():
            store.db.close()
        _stores.clear()


__all__ = ["Database", "TrackingStore", "close_all", "get_store", "reopen_if_replaced"]
