"""Asynchronous logging (``synchronous=False``), nbtrack beside MLflow's own async mode.

The same code runs against both libraries (the ``mlflow`` argument). The durable
``log_metric`` is timed in scenarios_tracking.py.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from timing import median_time

RATE_POINTS = 2_000
RATE_BUDGET_S = 5.0  # MLflow writes ~100 queued points a second here: one round is enough


def scenario_async_logging(mlflow, workdir: Path) -> dict[str, float]:
    """log_metric(synchronous=False): time to return, durable rate, time until visible.

    - the median time one call takes to return;
    - points per second from the first call until ``flush_async_logging()`` has made
      them all durable (the best of up to three rounds of 2,000 points, within 5 s);
    - the longest time, over five points, until a queued point can be read from the store
      by another connection without anyone waiting on it.
    """
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        mlflow.log_metric("warm", 1.0, synchronous=False).wait()
        step = iter(range(10**9))
        call = median_time(
            lambda: mlflow.log_metric("loss", 0.5, step=next(step), synchronous=False), 2000
        )
        mlflow.flush_async_logging()
        rates: list[float] = []
        start = time.perf_counter()
        for rep in range(3):
            if rates and time.perf_counter() - start > RATE_BUDGET_S:
                break
            t0 = time.perf_counter()
            for i in range(RATE_POINTS):
                mlflow.log_metric("rate", 0.5, step=rep * RATE_POINTS + i, synchronous=False)
            mlflow.flush_async_logging()
            rates.append(RATE_POINTS / (time.perf_counter() - t0))
        visible = [_time_until_visible(mlflow, workdir / "store.db", i) for i in range(5)]
    return {
        "log_metric_async_call_s": call,
        "log_metric_async_points_per_s": max(rates),
        "log_metric_async_visible_s": max(visible),
    }


def _time_until_visible(mlflow, db: Path, i: int) -> float:
    conn = sqlite3.connect(db)
    query = "SELECT count(*) FROM metrics WHERE key = 'seen'"
    t0 = time.perf_counter()
    mlflow.log_metric("seen", float(i), step=i, synchronous=False)
    while conn.execute(query).fetchone()[0] <= i and time.perf_counter() - t0 < 10:
        time.sleep(0.0002)
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed
