"""Keeping a store's write-ahead log smaller than the data it holds.

Every commit appends whole pages to the ``-wal`` file: a short run writes some 40 KB
there. With SQLite's automatic checkpoint at a fixed 8,192 pages, 205 short runs left a
WAL of 34 MB beside a database of 700 KB. The checkpoint threshold therefore follows
the database: three quarters of its pages, at least ``FLOOR_PAGES``, at most
``MAX_PAGES``, so that database, WAL and the 32 KB ``-shm`` stay within twice the data. It is
SQLite's own PASSIVE checkpoint, run by the committing connection right after a commit:
it never waits for a reader, and once it has copied every page the next write starts
the WAL over, which ``PRAGMA journal_size_limit`` then truncates to ``FLOOR_BYTES``.

The price is the checkpoint's two fsyncs, paid once per threshold's worth of pages
written; that spacing grows with the store, so it shrinks per commit as the store grows.
Durability is unchanged: a commit has reached the WAL before the call returns, and a
checkpoint only copies committed pages.
"""

from __future__ import annotations

import sqlite3

FLOOR_PAGES = 32  # 128 KB of WAL allowed whatever the size of the store
FLOOR_BYTES = FLOOR_PAGES * 4096  # the WAL file's size after a restart
MAX_PAGES = 8192  # 32 MB: beyond it a larger WAL saves no measurable time per commit
RESIZE_EVERY = 16  # commits between two updates of the threshold


def checkpoint_pages(page_count: int) -> int:
    """The WAL size, in pages, at which a store of ``page_count`` pages checkpoints."""
    return max(FLOOR_PAGES, min(MAX_PAGES, page_count * 3 // 4))


def resize_checkpoint(conn: sqlite3.Connection) -> None:
    """Set the connection's automatic checkpoint for the store's present size."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA wal_autocheckpoint = {checkpoint_pages(pages)}")
