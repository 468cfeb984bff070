"""The local store a sync reads from or writes to."""

from __future__ import annotations

from nbtrack.store import TrackingStore, get_store
from nbtrack.uri import get_tracking_uri


def local_store(tracking_uri: str | None = None) -> TrackingStore:
    """The tracking store of ``tracking_uri`` (the current tracking URI by default)."""
    return get_store(tracking_uri or get_tracking_uri())
