"""Tracking scenarios: the same code runs against nbtrack and MLflow (``mlflow`` argument)."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

from timing import median_time

SEARCH_FILTER = "metrics.rmse < 0.5 and params.alpha != '0.1'"
SEARCH_ORDER = ["metrics.rmse ASC"]


def scenario_start_run_10_params_end_run(mlflow, workdir: Path) -> dict[str, float]:
    """One short run: start, ten params in one call, end."""
    params = {f"p{i}": i * 0.1 for i in range(10)}
    mlflow.set_experiment("bench")

    def one() -> None:
        mlflow.start_run()
        mlflow.log_params(params)
        mlflow.end_run()

    one()  # warm-up: experiment lookup, first connection
    return {"start_run_10_params_end_run_s": median_time(one, 30)}


def scenario_log_metric(mlflow, workdir: Path) -> dict[str, float]:
    """One log_metric call inside an active run (durable when it returns)."""
    mlflow.set_experiment("bench")
    step = iter(range(10**9))
    with mlflow.start_run():
        mlflow.log_metric("warm", 1.0)
        per_call = median_time(lambda: mlflow.log_metric("loss", 0.5, step=next(step)), 200)
    return {"log_metric_s": per_call}


def scenario_log_batch(mlflow, workdir: Path) -> dict[str, float]:
    """10,000 points (10 metrics x 1,000 steps) through the client's log_batch.

    The best of seven batches, as for the model and autolog scenarios: on a shared
    machine other processes only ever add time.
    """
    client = mlflow.MlflowClient()
    mlflow.set_experiment("bench")
    run = mlflow.start_run()
    now = int(time.time() * 1000)
    rates = []
    for rep in range(7):
        metrics = [
            mlflow.entities.Metric(f"m{i % 10}", random.random(), now, rep * 1000 + i // 10)
            for i in range(10_000)
        ]
        t0 = time.perf_counter()
        client.log_batch(run.info.run_id, metrics=metrics)
        rates.append(10_000 / (time.perf_counter() - t0))
    mlflow.end_run()
    return {"log_batch_points_per_s": max(rates)}


def _populate(mlflow, n_api: int) -> str:
    """n_api runs of 5 params and 3 metrics through the API; returns the experiment id."""
    exp = mlflow.set_experiment("search")
    client = mlflow.MlflowClient()
    rng = random.Random(0)
    now = int(time.time() * 1000)
    for i in range(n_api):
        run = client.create_run(exp.experiment_id, run_name=f"run-{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[
                mlflow.entities.Metric("rmse", rng.random(), now, 0),
                mlflow.entities.Metric("mae", rng.random(), now, 0),
                mlflow.entities.Metric("r2", rng.random(), now, 0),
            ],
            params=[
                mlflow.entities.Param("alpha", str(rng.choice([0.1, 0.5, 1.0]))),
                mlflow.entities.Param("l1_ratio", str(rng.random())),
                mlflow.entities.Param("max_iter", str(rng.choice([100, 1000]))),
                mlflow.entities.Param("solver", rng.choice(["auto", "saga"])),
                mlflow.entities.Param("seed", str(i)),
            ],
        )
        client.set_terminated(run.info.run_id)
    return exp.experiment_id


# MLflow's SQL store needs ~50 ms a run through its API: 10,000 runs would take minutes.
# Both stores are therefore filled to 1,000 runs through the API, then copied in SQL to
# 10,000 (new ids, shuffled metric values), which is what search then reads.
_COPY_SQL = {
    "runs": "INSERT INTO runs SELECT {cols} FROM runs r JOIN ids ON ids.old = r.run_uuid",
    "params": "INSERT INTO params SELECT {cols} FROM params r JOIN ids ON ids.old = r.run_uuid",
    "tags": "INSERT INTO tags SELECT {cols} FROM tags r JOIN ids ON ids.old = r.run_uuid",
    "metrics": "INSERT INTO metrics SELECT {cols} FROM metrics r JOIN ids ON ids.old = r.run_uuid",
    "latest_metrics": (
        "INSERT INTO latest_metrics SELECT {cols} FROM latest_metrics r "
        "JOIN ids ON ids.old = r.run_uuid"
    ),
}


def _copy_runs(db: Path, times: int) -> None:
    conn = sqlite3.connect(db)
    conn.create_function("jitter", 1, lambda v: v * random.random() * 2 if v is not None else v)
    originals = [row[0] for row in conn.execute("SELECT run_uuid FROM runs")]
    for _ in range(times):
        conn.execute("DROP TABLE IF EXISTS ids")
        conn.execute("CREATE TEMP TABLE ids (old TEXT, new TEXT)")
        conn.executemany(
            "INSERT INTO ids VALUES (?, lower(hex(randomblob(16))))", [(o,) for o in originals]
        )
        for table, template in _COPY_SQL.items():
            names = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            cols = ", ".join(
                "ids.new"
                if n == "run_uuid"
                else "jitter(r.value)"
                if (n == "value" and "metrics" in table)
                else f"r.{n}"
                for n in names
            )
            conn.execute(template.format(cols=cols))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _search(mlflow, experiment_id: str) -> float:
    def one() -> None:
        mlflow.search_runs(
            [experiment_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=100
        )

    one()
    return median_time(one, 7)


def scenario_search(mlflow, workdir: Path) -> dict[str, float]:
    """search_runs with a filter and order_by (top 100 as a DataFrame) over 1k and 10k runs."""
    exp_id = _populate(mlflow, 1000)
    result = {"search_1000_runs_s": _search(mlflow, exp_id)}
    _copy_runs(workdir / "store.db", 9)
    result["search_10000_runs_s"] = _search(mlflow, exp_id)
    size = sum(p.stat().st_size for p in workdir.glob("store.db*"))
    result["store_10000_runs_bytes"] = float(size)
    return result
