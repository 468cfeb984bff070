"""The model a server answers with, and how it follows a ``models:/name@alias`` that moves.

A :class:`ModelSlot` holds the :class:`ServedModel` in force. Each request takes the slot's
model once, at its start, so a swap never changes the model under a request in flight; the
swap itself is one reference assignment (atomic in CPython), so no request waits or fails.

:class:`AliasFollower` asks the registry (the public ``MlflowClient`` API, one indexed
lookup) every second where the alias points. When it has moved, it loads the new version in
a worker thread while the old one keeps answering, then swaps. A version that fails to load
is logged once and the old model stays in service.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import NbtrackError
from nbtrack.registry import resolve_model_uri

logger = logging.getLogger("nbtrack.serving")

_ALIAS_URI = re.compile(r"models:/+(?P<name>[^/@]+)@(?P<alias>[^/]+)/?")
FOLLOW_INTERVAL_S = 1.0


@dataclass(frozen=True)
class ServedModel:
    """A loaded model, the URI it was asked for by, and its registry version (if any)."""

    model: Any
    uri: str
    version: str | None = None

    @property
    def schema(self) -> Any:
        """The model's input schema, or None."""
        return self.model.metadata.get_input_schema()

    def describe(self) -> str:
        """``models:/wine@champion (version 3)``, or the bare URI."""
        return f"{self.uri} (version {self.version})" if self.version else self.uri


class ModelSlot:
    """The model in service; :meth:`swap` replaces it for the requests that start after."""

    def __init__(self, served: ServedModel):
        self.current = served

    def swap(self, served: ServedModel) -> None:
        """Serve ``served`` from now on (requests in flight finish on the model they took)."""
        self.current = served


def load_served(model_uri: str, client: Any) -> ServedModel:
    """Load the model a URI names; a ``models:/`` URI is pinned to the version it names now.

    Raises
    ------
    NbtrackError
        The URI names no model, or the model cannot be loaded safely.
    """
    from nbtrack.serving.startup import load_model

    if not model_uri.startswith("models:"):
        return ServedModel(load_model(model_uri), model_uri)
    version = resolve_model_uri(client, model_uri)
    pinned = f"models:/{version.name}/{version.version}"
    return ServedModel(load_model(pinned), model_uri, str(version.version))


def alias_of(model_uri: str) -> tuple[str, str] | None:
    """``(name, alias)`` of a ``models:/name@alias`` URI, or None for any other URI."""
    match = _ALIAS_URI.fullmatch(model_uri)
    return (match["name"], match["alias"]) if match else None


class AliasFollower:
    """Poll where an alias points and swap the new version into a :class:`ModelSlot`.

    Parameters
    ----------
    slot
        The slot whose model was loaded from ``models:/name@alias``.
    client
        An ``MlflowClient`` of the store the alias lives in.
    interval
        Seconds between two looks at the registry.
    """

    def __init__(self, slot: ModelSlot, client: Any, interval: float = FOLLOW_INTERVAL_S):
        found = alias_of(slot.current.uri)
        if found is None:
            raise ValueError(f"{slot.current.uri!r} is not a models:/name@alias URI")
        self.slot = slot
        self.client = client
        self.interval = interval
        self.name, self.alias = found
        self._refused: str | None = None  # the version that failed to load (or "missing")

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.check)
            except Exception:  # e.g. the store briefly unreadable: look again next time
                logger.exception(
                    "following alias '%s' of '%s' failed; trying again", self.alias, self.name
                )

    def check(self) -> bool:
        """Swap in the version the alias points at now, if it moved; True when swapped."""
        try:
            version = str(self.client.get_model_version_by_alias(self.name, self.alias).version)
        except NbtrackError as error:
            self._refuse(
                "missing",
                f"cannot read alias '{self.alias}' of '{self.name}' "
                f"({error}); still serving version {self.slot.current.version}",
            )
            return False
        if version == self.slot.current.version:
            self._refused = None  # back where it was: report the next problem again
            return False
        if version == self._refused:
            return False
        uri = f"models:/{self.name}/{version}"
        try:
            served = load_served(uri, self.client)
        except NbtrackError as error:
            self._refuse(
                version,
                f"alias '{self.alias}' moved to version {version}, which "
                f"cannot be loaded ({error}); still serving version "
                f"{self.slot.current.version}",
            )
            return False
        before = self.slot.current.version
        self.slot.swap(ServedModel(served.model, self.slot.current.uri, version))
        gc.unfreeze()  # the start froze the old model (startup.collector_paused): free it
        self._refused = None
        logger.info(
            "alias '%s' of '%s' moved: now serving version %s (was %s)",
            self.alias,
            self.name,
            version,
            before,
        )
        return True

    def _refuse(self, key: str, message: str) -> None:
        if self._refused != key:
            logger.warning(message)
        self._refused = key
