"""Scale scenarios: the all-rows search at 1,000, 10,000 and 100,000 runs, bytes on disk.

The same code runs against nbtrack and MLflow (``mlflow`` argument). A figure that one
library could not produce within the time bound is reported as NaN ("not run").
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from scenarios_tracking import _copy_runs, _populate
from timing import median_time

SHORT_RUNS = 205
# MLflow turns 10,000 runs into a DataFrame in seconds; 100,000 is run only when ten
# times its 10,000-run figure stays under this bound.
SEARCH_100K_LIMIT_S = 180.0


def _time_all_rows(mlflow, experiment_id: str, expected: int) -> float:
    """Median time of search_runs over every run of the experiment, as a DataFrame."""

    def one() -> None:
        frame = mlflow.search_runs([experiment_id], max_results=100_000)
        assert len(frame) == expected, (len(frame), expected)

    t0 = time.perf_counter()
    one()
    first = time.perf_counter() - t0
    if first > 2.0:  # seconds per call: one more call tells as much as a median of many
        return min(first, median_time(one, 1))
    return median_time(one, 5)


def scenario_search_all(mlflow, workdir: Path) -> dict[str, float]:
    """search_runs returning every run as a DataFrame, at 1,000, 10,000 and 100,000 runs.

    The 1,000-run figure is there to show the growth is linear.
    """
    exp_id = _populate(mlflow, 1000)
    mlflow.search_runs([exp_id], max_results=10)  # warm-up: pandas, first query
    result = {"search_all_1000_runs_s": _time_all_rows(mlflow, exp_id, 1000)}
    _copy_runs(workdir / "store.db", 9)
    result["search_all_10000_runs_s"] = _time_all_rows(mlflow, exp_id, 10_000)
    if 10 * result["search_all_10000_runs_s"] > SEARCH_100K_LIMIT_S:
        result["search_all_100000_runs_s"] = math.nan
        return result
    _copy_runs(workdir / "store.db", 9)  # copies every run there is: 10,000 -> 100,000
    result["search_all_100000_runs_s"] = _time_all_rows(mlflow, exp_id, 100_000)
    return result


def scenario_short_runs_bytes(mlflow, workdir: Path) -> dict[str, float]:
    """Bytes of the store's files (database, -wal, -shm) after 205 short runs, still open.

    Each run: start, ten params, three metrics over five steps, a tag, end.
    """
    mlflow.set_experiment("bench")
    for i in range(SHORT_RUNS):
        with mlflow.start_run(run_name=f"short-{i}"):
            mlflow.log_params({f"p{k}": k * i for k in range(10)})
            for step in range(5):
                mlflow.log_metrics({"loss": 1 / (step + 1), "acc": step / 5, "lr": 0.1}, step=step)
            mlflow.set_tag("kind", "short")
    size = sum(p.stat().st_size for p in workdir.glob("store.db*"))
    return {
        "store_205_short_runs_bytes": float(size),
        "store_205_short_runs_over_data": size / _bytes_in_use(workdir / "store.db"),
    }


def _bytes_in_use(db: Path) -> float:
    """Bytes of the database's pages that hold its tables and indexes (not free pages).

    Read through a second connection, which sees what the writer committed (WAL included).
    """
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()
    finally:
        conn.close()
    return float((pages - free) * page_size)
