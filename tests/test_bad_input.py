"""Bad input of every kind: one clear NbtrackError, and the store exactly as it was."""

from __future__ import annotations

import sqlite3

import pytest

import nbtrack as mlflow
from nbtrack import MlflowClient, gc
from nbtrack.errors import ExperimentNotFound, InvalidFilter, InvalidParameter, NbtrackError


def _dump(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        rows = list(conn.iterdump())
    conn.close()
    return rows


S = "a\ud800"  # a lone surrogate: not valid Unicode, cannot be encoded to UTF-8


def _page_token(offset: int) -> str:
    import base64
    import json

    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


# (what, call(client, run_id), error, message): each of issue 12's raw exceptions
_CASES = [
    ("param value", lambda c, r: mlflow.log_param("q", S), InvalidParameter, "surrogate"),
    ("tag value", lambda c, r: mlflow.set_tag("t", S), InvalidParameter, "surrogate"),
    ("run name", lambda c, r: c.create_run("0", run_name=S), InvalidParameter, "surrogate"),
    ("experiment name", lambda c, r: mlflow.create_experiment(S), InvalidParameter, "surrogate"),
    ("set_experiment", lambda c, r: mlflow.set_experiment(S), InvalidParameter, "surrogate"),
    ("model name", lambda c, r: c.create_registered_model(S), InvalidParameter, "surrogate"),
    ("run id", lambda c, r: mlflow.get_run(S), InvalidParameter, "surrogate"),
    (
        "filter value",
        lambda c, r: mlflow.search_runs(filter_string=f"params.p = '{S}'"),
        InvalidFilter,
        "surrogate",
    ),
    ("step 2**63", lambda c, r: mlflow.log_metric("m", 1, step=2**63), InvalidParameter, "64 bits"),
    (
        "timestamp 1e20",
        lambda c, r: c.log_metric(r, "m", 1, timestamp=1e20),
        InvalidParameter,
        "64 bits",
    ),
    ("value 10**400", lambda c, r: mlflow.log_metric("m", 10**400), InvalidParameter, "too large"),
    (
        "batch value 10**400",
        lambda c, r: c.log_batch(r, metrics=[mlflow.entities.Metric("m", 10**400, 0, 0)]),
        InvalidParameter,
        "too large",
    ),
    (
        "experiment id 10**30",
        lambda c, r: mlflow.get_experiment(str(10**30)),
        ExperimentNotFound,
        "64-bit number",
    ),
    (
        "max_results 2**63",
        lambda c, r: mlflow.search_runs(max_results=2**63),
        InvalidParameter,
        "64-bit",
    ),
    (
        "huge page token",
        lambda c, r: c.search_runs(["0"], page_token=_page_token(10**30)),
        InvalidParameter,
        "64-bit",
    ),
    (
        "2,000 ANDed clauses",
        lambda c, r: mlflow.search_runs(
            filter_string=" and ".join(f"params.p{i} = 'x'" for i in range(2000))
        ),
        InvalidFilter,
        "at most 500 clauses",
    ),
    (
        "LIKE pattern over 50 kB",
        lambda c, r: mlflow.search_runs(filter_string="params.p LIKE '" + "%a" * 30_000 + "'"),
        InvalidFilter,
        "longer than 8000",
    ),
    (
        "a number of 5,000 digits",
        lambda c, r: mlflow.search_runs(filter_string="metrics.m < " + "9" * 5000),
        None,
        "",
    ),
    ("gc age", lambda c, r: gc.parse_age("99999999999d"), InvalidParameter, "under"),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [case[1:] for case in _CASES],
    ids=[case[0] for case in _CASES],
)
def test_raw_errors_become_nbtrack_errors(fresh_store, call, error, message):
    client = MlflowClient()
    run = mlflow.start_run()
    mlflow.log_param("p", "kept")
    mlflow.log_metric("m", 1.0)
    before = _dump(fresh_store)
    if error is None:  # a valid request: it must simply work
        call(client, run.info.run_id)
    else:
        with pytest.raises(error, match=message) as caught:
            call(client, run.info.run_id)
        assert isinstance(caught.value, NbtrackError)
    assert _dump(fresh_store) == before


def test_log_batch_takes_none_for_an_empty_list(fresh_store):
    client = MlflowClient()
    run = client.create_run("0")
    client.log_batch(run.info.run_id, metrics=None, params=None, tags=None)
    client.log_batch(run.info.run_id, metrics=None, params=[mlflow.entities.Param("a", "1")])
    assert client.get_run(run.info.run_id).data.params == {"a": "1"}


def test_filter_limits_still_accept_what_sqlite_can_run():
    with mlflow.start_run():
        mlflow.log_params({f"p{i}": "x" for i in range(500)})
    five_hundred = " and ".join(f"params.p{i} = 'x'" for i in range(500))
    assert len(mlflow.search_runs(filter_string=five_hundred)) == 1
    assert len(mlflow.search_runs(filter_string="params.p1 LIKE '" + "%" * 8000 + "'")) == 1


def test_the_command_line_prints_one_line_for_a_byte_it_cannot_decode(tmp_path):
    import subprocess
    import sys

    for args in (
        [b"runs", b"show", b"x\xff"],
        [b"runs", b"list", b"--filter", b"params.a = '\xff'"],
        [b"experiments", b"create", b"-n", b"e\xff"],
    ):
        out = subprocess.run(
            [sys.executable.encode(), b"-m", b"nbtrack", *args],
            capture_output=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert out.returncode == 1, out.stderr
        assert out.stderr.startswith(b"Error: ") and out.stderr.count(b"\n") == 1, out.stderr
        assert b"surrogate" in out.stderr
