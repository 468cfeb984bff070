"""The search_runs DataFrame beside real MLflow's, for the same runs logged by both.

MLflow 3.17 runs in its own virtual environment (``NBTRACK_MLFLOW_PYTHON``); both sides
log the same runs through the client API, search them, and describe every column: its
type, where it is missing, and its values. Columns are compared by name (MLflow orders
params, metrics and tags as its dict happened to fill; nbtrack sorts them by key).
"""

from __future__ import annotations

import json
import types

import pytest
from mlflow_servers import mlflow_json

import nbtrack

pytestmark = pytest.mark.slow  # MLflow's SQLite store takes seconds to create

# Runs 0 and 2 end; run 1 stays RUNNING (no end time). Missing keys, NaN, ±inf, the
# largest double, an empty string and a dotted key on purpose.
LOG_AND_DESCRIBE = """
import json, math

def log_and_describe(mlflow):
    from mlflow.entities import Metric, Param, RunTag
    client = mlflow.MlflowClient()
    exp = client.create_experiment("frames")
    specs = [
        ({"alpha": "0.1", "i": "0"}, {"loss": 0.5, "acc": math.nan}, {"team": "a"}, True),
        ({"i": "1"}, {"loss": math.inf}, {}, False),
        ({"i": "2", "beta": ""}, {"loss": -math.inf, "r2": 1.7976931348623157e308},
         {"team": "b", "x.y": "z"}, True),
    ]
    for params, metrics, tags, ended in specs:
        run_id = client.create_run(exp).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, 1_700_000_000_000, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if ended:
            client.set_terminated(run_id)
    frame = mlflow.search_runs([exp])
    frame = frame.sort_values("params.i").reset_index(drop=True)
    described = {}
    for name in frame.columns:
        if name.startswith("tags.mlflow."):
            continue  # system tags: each library sets its own
        column = frame[name]
        exact = name.split(".")[0] in ("metrics", "params", "tags") or name == "status"
        described[name] = {
            "dtype": str(column.dtype),
            "missing": column.isna().tolist(),
            "values": [repr(v) for v in column] if exact else None,
        }
    return described
"""

MLFLOW_SIDE = (
    LOG_AND_DESCRIBE
    + """
import mlflow
mlflow.set_tracking_uri("sqlite:///mlflow.db")
print(json.dumps(log_and_describe(mlflow)))
"""
)


def test_same_columns_types_and_missing_values_as_mlflow() -> None:
    theirs = mlflow_json(MLFLOW_SIDE, timeout=600)
    namespace: dict = {}
    exec(LOG_AND_DESCRIBE.replace("from mlflow.entities", "from nbtrack.entities"), namespace)
    ours = json.loads(json.dumps(namespace["log_and_describe"](_as_mlflow())))
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        assert ours[name] == _as_mlflow_stores_infinity(theirs[name]), name


def _as_mlflow_stores_infinity(described: dict) -> dict:
    """MLflow's SQL store reads ±inf back as ±1.797e308; nbtrack as ±inf (README: on purpose)."""
    values = described["values"]
    if values is None:
        return described
    reads = {"1.7976931348623157e+308": "inf", "-1.7976931348623157e+308": "-inf"}
    return {**described, "values": [reads.get(v, v) for v in values]}


def _as_mlflow() -> types.SimpleNamespace:
    """nbtrack under the two names the describing code uses."""
    return types.SimpleNamespace(MlflowClient=nbtrack.MlflowClient, search_runs=nbtrack.search_runs)
