"""The store's folder stays within twice its data, and every commit still survives kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store.wal import FLOOR_PAGES, MAX_PAGES, checkpoint_pages


def _data_bytes(db: Path) -> int:
    """Bytes of pages in use: what the store holds, free pages left out."""
    conn = sqlite3.connect(db)
    try:
        pages, size, free = (
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "page_size", "freelist_count")
        )
    finally:
        conn.close()
    return (pages - free) * size


def _folder_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


@pytest.mark.parametrize(
    ("page_count", "expected"),
    [
        (0, FLOOR_PAGES),
        (40, FLOOR_PAGES),
        (400, 300),
        (100_000, MAX_PAGES),
    ],
)
def test_checkpoint_follows_the_store_size(page_count: int, expected: int) -> None:
    assert checkpoint_pages(page_count) == expected


@pytest.mark.slow
def test_folder_after_205_short_runs_is_within_twice_the_data(fresh_store: Path) -> None:
    nbtrack.set_experiment("bench")
    largest = 0
    for i in range(205):
        with nbtrack.start_run(run_name=f"short-{i}"):
            nbtrack.log_params({f"p{k}": k * i for k in range(10)})
            for step in range(5):
                nbtrack.log_metrics({"loss": 1 / (step + 1), "acc": step / 5}, step=step)
            nbtrack.set_tag("kind", "short")
        if i % 20 == 0:
            largest = max(largest, _folder_bytes(fresh_store) / _data_bytes(fresh_store))
    data, folder = _data_bytes(fresh_store), _folder_bytes(fresh_store)
    assert folder <= 2 * data, f"folder {folder:,} bytes for {data:,} bytes of data"
    assert largest <= 2, f"the folder reached {largest:.1f}x the data during the runs"
    assert len(nbtrack.search_runs()) == 205


def test_a_logged_metric_survives_kill_9(fresh_store: Path, tmp_path: Path) -> None:
    code = (
        "import os, signal, nbtrack\n"
        "for i in range(300):\n"
        "    with nbtrack.start_run():\n"
        "        nbtrack.log_metric('m', i)\n"
        "nbtrack.start_run(run_name='last')\n"
        "nbtrack.log_metric('last', 1.5)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(nbtrack.__file__).parent.parent)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=False)
    assert proc.returncode == -signal.SIGKILL
    frame = nbtrack.search_runs(filter_string="tags.mlflow.runName = 'last'")
    assert list(frame["metrics.last"]) == [1.5]
    assert len(nbtrack.search_runs()) == 301
