"""Sync speed: 1,000 runs × 100 metric steps pushed to a loopback MLflow server.

Usage: python bench/sync.py --mlflow-python PATH [--json]

Starts ``mlflow server`` as a team runs it (the issue's setup): backed by PostgreSQL (a
throwaway cluster, scripts/setup-postgres.sh installs it; SQLite when it is missing, said
on stderr), --serve-artifacts, MLflow's 4 worker processes, without MLflow's job runner
(GenAI scorer jobs; its seven huey consumers poll a third of a core away from the push on
a loopback bench). It runs from MLflow's venv on a free loopback port; then, against it:
the first push of every run (target < 60 s), a second push with nothing new (< 5 s), and a
pull of them all into an empty store (< 30 s). Server and cluster are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

RUNS, STEPS = 1000, 100


def make_runs(uri: str) -> None:
    import nbtrack
    from nbtrack.entities import Metric, Param

    client = nbtrack.MlflowClient(uri)
    exp_id = client.create_experiment("bench-sync")
    t0 = 1_700_000_000_000
    for i in range(RUNS):
        run = client.create_run(exp_id, run_name=f"run-{i}", start_time=t0 + i)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("loss", 1.0 / (s + 1), t0 + i + s, s) for s in range(STEPS)],
            params=[Param("i", str(i)), Param("lr", "0.01")],
        )
        client.set_terminated(run.info.run_id)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def backend(folder: Path) -> tuple[str, Callable[[], None]]:
    """PostgreSQL's URI and how to stop it; SQLite's when PostgreSQL is not installed."""
    from mlflow_servers import start_postgres

    try:
        pg = start_postgres()
    except BaseException as exc:  # pytest's skip when initdb is missing
        if type(exc).__name__ != "Skipped":
            raise
        print("bench/sync.py: no PostgreSQL, the server runs on SQLite", file=sys.stderr)
        return f"sqlite:///{folder / 'mlflow.db'}", lambda: None
    return pg.uri, pg.stop


def measure(mlflow_python: str) -> dict[str, float]:
    os.environ["NBTRACK_MLFLOW_PYTHON"] = mlflow_python  # read when mlflow_servers loads
    from mlflow_servers import start_mlflow

    import nbtrack
    import nbtrack.sync

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        folder = Path(tmp)
        local = f"sqlite:///{folder / 'local.db'}"
        pulled = f"sqlite:///{folder / 'pulled.db'}"
        make_runs(local)
        uri, stop_backend = backend(folder)
        try:
            # MLflow's default of 4 worker processes, as a team's server runs
            server = start_mlflow(uri, folder, workers=4)
            try:
                push = timed(lambda: nbtrack.sync.push(server.url, tracking_uri=local))
                repush = timed(lambda: nbtrack.sync.push(server.url, tracking_uri=local))
                pull = timed(
                    lambda: nbtrack.sync.pull(server.url, ["bench-sync"], tracking_uri=pulled)
                )
            finally:
                server.stop()
        finally:
            stop_backend()
        client = nbtrack.MlflowClient(pulled)
        exp = client.get_experiment_by_name("bench-sync")
        runs = len(client.search_runs([exp.experiment_id], max_results=50000))
        if runs != RUNS:
            raise SystemExit(f"pulled {runs} runs, expected {RUNS}")
    return {
        "sync_push_1000_runs_s": push,
        "sync_repush_nothing_new_s": repush,
        "sync_pull_1000_runs_s": pull,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mlflow-python", required=True, help="python of the MLflow venv")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    result = measure(args.mlflow_python)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
