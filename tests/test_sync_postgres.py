"""nbtrack sync against ``mlflow server`` backed by PostgreSQL, as a team runs it.

A throwaway PostgreSQL cluster (initdb + pg_ctl on a free port; scripts/setup-postgres.sh
installs the binaries) holds MLflow's tables; artifacts go through --serve-artifacts.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
from mlflow_servers import (
    by_local_id,
    mlflow_json,
    mlflow_python,
    read_back,
    start_mlflow,
    start_postgres,
)

import nbtrack
import nbtrack.sync

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    probe = subprocess.run([str(mlflow_python()), "-c", "import psycopg2"], capture_output=True)
    if probe.returncode != 0:
        pytest.fail(
            f"MLflow's venv ({mlflow_python()}) lacks psycopg2 for PostgreSQL; install it with "
            f"{mlflow_python()} -m pip install psycopg2-binary (make bench's venv has it)"
        )
    pg = start_postgres()
    try:
        folder = tmp_path_factory.mktemp("mlflow-postgres")
        server = start_mlflow(pg.uri, folder)
    except BaseException:
        pg.stop()
        raise
    yield server
    server.stop()
    pg.stop()


def test_push_pull_round_trip_through_postgres(pg_server, tmp_path):
    from test_sync import local_runs, make_runs, mlflow_inf

    name = f"pg-{uuid.uuid4().hex[:8]}"
    make_runs(name, model_name=f"m-{name}")
    before = local_runs(name)
    report = nbtrack.sync.push(pg_server.url, experiments=[name], models=True)
    assert (report.runs_created, report.model_versions) == (3, 1)
    again = nbtrack.sync.push(pg_server.url, experiments=[name], models=True)
    assert (again.runs_created, again.metric_points, again.model_versions) == (0, 0, 0)
    remote = by_local_id(read_back(pg_server.url, name))
    assert set(remote) == set(before)
    for run_id, mine in before.items():
        assert remote[run_id]["params"] == mine["params"]
        assert remote[run_id]["histories"] == {
            k: mlflow_inf(v) for k, v in mine["histories"].items()
        }
        assert (remote[run_id]["start_time"], remote[run_id]["end_time"]) == (
            mine["start_time"],
            mine["end_time"],
        )
    versions = mlflow_json(
        """
        import json, sys, mlflow, pandas as pd
        mlflow.set_tracking_uri(sys.argv[1])
        model = mlflow.pyfunc.load_model(f"models:/{sys.argv[2]}@champion")
        x = pd.DataFrame({"a": [1.0, 25.0], "b": [0.0, 1.0]})
        print(json.dumps([int(p) for p in model.predict(x)]))
        """,
        pg_server.url,
        f"m-{name}",
    )
    assert versions == [0, 1]
    nbtrack.set_tracking_uri(f"sqlite:///{tmp_path / 'pulled.db'}")
    pulled = nbtrack.sync.pull(pg_server.url, experiments=[name], models=True)
    assert (pulled.runs_new, pulled.model_versions) == (3, 1)
    after = local_runs(name)
    for run_id, mine in before.items():
        assert after[remote[run_id]["run_id"]]["histories"] == mine["histories"]
