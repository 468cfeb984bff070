"""Model-card SQL: the hand-written sections stored with a version, and the runs a card reads.

``model_card_sections`` holds one row per (model, version, section); rows follow a rename
(ON UPDATE CASCADE) and go with their version. The run lookups find a training run's
children and the runs tagged as evaluating a version, without scanning runs in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from nbtrack.store.database import Database
from nbtrack.store.registry_rows import require_version
from nbtrack.store.sql import marks


class CardStore:
    """Model-card reads and writes on one store file (the tracking store's connection)."""

    def __init__(self, db: Database):
        self.db = db

    def card_sections(self, name: str, version: int) -> dict[str, str]:
        """The edited sections of a version's model card, by section key."""
        with self.db.read() as c:
            require_version(c, name, version)
            return dict(
                c.execute(
                    "SELECT section, text FROM model_card_sections WHERE name = ? AND version = ?",
                    (name, version),
                ).fetchall()
            )

    def set_card_section(self, name: str, version: int, section: str, text: str) -> None:
        """Store a card section's text; empty text removes it."""
        with self.db.write() as c:
            require_version(c, name, version)
            if text:
                c.execute(
                    "INSERT OR REPLACE INTO model_card_sections (name, version, section, text) "
                    "VALUES (?, ?, ?, ?)",
                    (name, version, section, text),
                )
            else:
                c.execute(
                    "DELETE FROM model_card_sections WHERE name = ? AND version = ? "
                    "AND section = ?",
                    (name, version, section),
                )

    def runs_tagged(self, key: str, values: Sequence[str]) -> list[str]:
        """Ids of the active runs whose tag ``key`` has one of ``values``, oldest first."""
        return [
            row[0]
            for row in self.db.query(
                "SELECT t.run_uuid FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid "
                f"WHERE t.key = ? AND t.value IN ({marks(values)}) "
                "AND r.lifecycle_stage = 'active' ORDER BY r.start_time, r.rowid",
                (key, *values),
            )
        ]

    def child_run_ids(self, parent_run_id: str) -> list[str]:
        """Ids of the active child runs of a run, in the order they were created."""
        return [
            row[0]
            for row in self.db.query(
                "SELECT run_uuid FROM runs WHERE parent_run_id = ? AND lifecycle_stage = 'active' "
                "ORDER BY start_time, rowid",  # autolog's children share a start time
                (parent_run_id,),
            )
        ]
