"""The SQLite store: durability, concurrency, refusal of foreign files, bad input."""

from __future__ import annotations

import hashlib
import math
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbtrack as mlflow
from nbtrack import store
from nbtrack.errors import InvalidParameter, StoreError
from nbtrack.store.metrics import DBL_MAX
from nbtrack.store.schema import SCHEMA_VERSION


def _dump(db_path) -> list[str]:
    """Every row of the store, to compare before and after a refused call."""
    with sqlite3.connect(db_path) as conn:
        return list(conn.iterdump())


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_is_documented_sqlite(fresh_store):
    mlflow.start_run()
    mlflow.end_run()
    conn = sqlite3.connect(fresh_store)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "experiments",
        "runs",
        "params",
        "metrics",
        "latest_metrics",
        "tags",
        "datasets",
        "inputs",
        "registered_models",
        "model_versions",
        "registered_model_aliases",
    } <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def test_artifacts_live_beside_the_store(fresh_store):
    with mlflow.start_run() as run:
        mlflow.log_text("x", "a.txt")
    expected = fresh_store.parent / "nbtrack-artifacts"
    assert (expected / "0" / run.info.run_id / "artifacts" / "a.txt").read_text() == "x"


def test_default_store_is_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    assert mlflow.get_tracking_uri() == "sqlite:///nbtrack.db"
    mlflow.start_run()
    mlflow.end_run()
    assert (tmp_path / "nbtrack.db").is_file()


@pytest.mark.parametrize(
    ("uri", "relative"),
    [
        ("sqlite:///sub/x.db", "sub/x.db"),  # MLflow's relative form
        ("sub/y.db", "sub/y.db"),  # a plain path
    ],
)
def test_tracking_uri_forms(tmp_path, uri, relative):
    (tmp_path / "sub").mkdir()
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run():
        pass
    assert (tmp_path / relative).is_file()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        # an MLflow server: the message says how to share with it
        ("http://server:5000", "nbtrack sync push --to URL"),
        ("https://server", "nbtrack sync pull --from URL"),
        ("databricks", "Databricks"),  # not a file named databricks
        ("databricks://profile", "Databricks"),
        ("file:./mlruns", "MLflow's file store"),  # not a SQLite file named mlruns
        ("ftp://host/x.db", "not supported"),  # another scheme
        ("sqlite://", "no file path"),  # no path after the scheme
        ("", "non-empty"),  # empty: not the default store
        ("   ", "non-empty"),
    ],
)
def test_bad_tracking_uris(uri, message):
    with pytest.raises(InvalidParameter, match=message):
        mlflow.set_tracking_uri(uri)
    with pytest.raises(InvalidParameter, match=message):
        mlflow.set_tracking_uri(uri=uri)  # MLflow's keyword
    assert not list(Path.cwd().iterdir())  # no file was created


def test_mlflow_tracking_uri_in_the_environment_is_not_ignored(monkeypatch):
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://server:5000")
    with pytest.raises(InvalidParameter, match=r"MLFLOW_TRACKING_URI is set .*nbtrack sync push"):
        mlflow.start_run()
    assert not list(Path.cwd().iterdir())
    mlflow.set_tracking_uri(uri="here.db")  # choosing the store explicitly is the fix
    mlflow.start_run()
    assert Path("here.db").is_file()


def test_a_sqlite_mlflow_tracking_uri_is_honoured(monkeypatch):
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///ported.db")  # MLflow's own setting
    with mlflow.start_run():
        mlflow.log_metric("m", 1.0)
    assert mlflow.get_tracking_uri() == "sqlite:///ported.db"
    assert Path("ported.db").is_file()
    assert not Path("nbtrack.db").exists()


def test_an_empty_tracking_uri_on_the_command_line_is_refused():
    from click.testing import CliRunner

    from nbtrack.cli import main

    result = CliRunner().invoke(main, ["--tracking-uri", "", "runs", "list"])
    assert result.exit_code == 2 and "must not be empty" in result.output
    assert not list(Path.cwd().iterdir())


def test_missing_folder_is_a_clear_error(tmp_path):
    mlflow.set_tracking_uri(str(tmp_path / "nope" / "x.db"))
    with pytest.raises(StoreError, match="does not exist"):
        mlflow.start_run()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,score\nalice,1\n", "not a SQLite database"),  # a CSV file
        (b"SQLite format 3\x00" + b"\xff" * 4000, "corrupt"),  # a damaged database
    ],
)
def test_foreign_or_corrupt_file_is_refused_untouched(tmp_path, content, message):
    path = tmp_path / "other.db"
    path.write_bytes(content)
    before = _digest(path)
    mlflow.set_tracking_uri(str(path))
    with pytest.raises(StoreError, match=message):
        mlflow.start_run()
    assert _digest(path) == before
    assert not (tmp_path / "other.db-wal").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("CREATE TABLE people (name TEXT)", "foreign SQLite database"),  # someone else's db
        ("CREATE TABLE alembic_version (v TEXT)", "MLflow store"),  # an MLflow store
    ],
)
def test_other_sqlite_databases_are_refused(tmp_path, setup, message):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute(setup)
    conn.close()
    before = _digest(path)
    mlflow.set_tracking_uri(str(path))
    with pytest.raises(StoreError, match=message):
        mlflow.start_run()
    assert _digest(path) == before


def test_store_from_a_newer_nbtrack_is_refused(fresh_store):
    mlflow.start_run()
    mlflow.end_run()
    store.close_all()
    with sqlite3.connect(fresh_store) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    mlflow.tracking._reset_for_tests()
    with pytest.raises(StoreError, match="newer nbtrack"):
        mlflow.start_run()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlflow.log_param("", 1), "must not be empty"),  # empty key
        (lambda: mlflow.log_param("k" * 251, 1), "at most 250"),  # too long
        (lambda: mlflow.log_metric("a/../b", 1.0), "another path"),  # path traversal
        (lambda: mlflow.log_metric("..", 1.0), "another path"),  # parent folder
        (lambda: mlflow.set_tag("a\nb", "x"), "not allowed"),  # newline
        (lambda: mlflow.set_tag("/abs", "x"), "another path"),  # leading slash
        (lambda: mlflow.log_param("p", "x" * 6001), "at most 6000"),  # oversized value
        (lambda: mlflow.set_tag("t", "x" * 8001), "at most 8000"),  # oversized tag
        (lambda: mlflow.log_metric("m", "high"), "must be a number"),  # not a number
        (lambda: mlflow.log_metric(3, 1.0), "must be a string"),  # key of the wrong type
        (lambda: mlflow.log_metrics({"ok": 1.0, "bad key!": 2.0}), "not allowed"),  # batch
    ],
)
def test_bad_input_changes_nothing(fresh_store, call, message):
    run = mlflow.start_run()
    mlflow.log_param("kept", "yes")
    before = _dump(fresh_store)
    with pytest.raises(InvalidParameter, match=message):
        call()
    assert _dump(fresh_store) == before
    assert mlflow.active_run().info.run_id == run.info.run_id


_WRITER = """
import sys, nbtrack
nbtrack.set_tracking_uri(sys.argv[1])
run = nbtrack.start_run()
print(run.info.run_id, flush=True)
step = 0
while True:
    nbtrack.log_metric("m", float(step), step=step)
    print(step, flush=True)
    step += 1
"""


def test_kill_9_after_log_metric_returns_loses_nothing(fresh_store, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(fresh_store)], stdout=subprocess.PIPE, text=True
    )
    run_id = proc.stdout.readline().strip()
    acknowledged = -1
    while acknowledged < 300:
        acknowledged = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(run_id, "m")]
    assert steps[: acknowledged + 1] == list(range(acknowledged + 1))


_CONCURRENT = """
import sys, nbtrack
from nbtrack.entities import Metric
nbtrack.set_tracking_uri(sys.argv[1])
worker = sys.argv[2]
nbtrack.set_experiment("shared")  # eight processes race to create it
for i in range(int(sys.argv[3])):
    with nbtrack.start_run(run_name=f"{worker}-{i}"):
        nbtrack.log_params({"worker": worker, "i": i})
        for step in range(10):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_metrics({"a": 1.0, "b": 2.0})
        nbtrack.set_tag("done", "yes")
"""

_READER = """
import sys, time, nbtrack
nbtrack.set_tracking_uri(sys.argv[1])
client = nbtrack.MlflowClient()
reads = errors = 0
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        exp = client.get_experiment_by_name("shared")
        if exp is not None:
            for run in client.search_runs([exp.experiment_id], max_results=500):
                client.get_metric_history(run.info.run_id, "loss")
            reads += 1
            if len(client.search_runs([exp.experiment_id], "tags.done = 'yes'")) == 80:
                break
    except Exception as error:
        errors += 1
        print(type(error).__name__, error, file=sys.stderr)
print(reads, errors)
"""


@pytest.mark.slow
def test_eight_writers_and_a_reader(fresh_store, tmp_path):
    worker, reader = tmp_path / "worker.py", tmp_path / "reader.py"
    worker.write_text(_CONCURRENT)
    reader.write_text(_READER)
    watching = subprocess.Popen(
        [sys.executable, str(reader), str(fresh_store)], stdout=subprocess.PIPE, text=True
    )
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), str(fresh_store), f"w{n}", "10"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors  # no lock error, no lost race
    reads, read_errors = map(int, watching.communicate(timeout=300)[0].split())
    assert read_errors == 0 and reads > 0
    assert len(mlflow.search_experiments(filter_string="name = 'shared'")) == 1
    df = mlflow.search_runs(experiment_names=["shared"])
    assert len(df) == 80
    assert set(df["status"]) == {"FINISHED"}
    assert (df["metrics.loss"] == 0.1).all() and (df["tags.done"] == "yes").all()
    client = mlflow.MlflowClient()
    assert all(len(client.get_metric_history(r, "loss")) == 10 for r in df["run_id"])


_ACKNOWLEDGING_WRITER = """
import sys, nbtrack
nbtrack.set_tracking_uri(sys.argv[1])
run = nbtrack.start_run()
print("run", run.info.run_id, flush=True)
step = 0
while True:
    nbtrack.log_metric("m", float(step), step=step)
    nbtrack.log_param(f"p{step}", step)
    nbtrack.set_tag("last", step)
    if step % 10 == 0:
        nbtrack.log_text(str(step), f"notes/{step}.txt")
    print(step, flush=True)  # acknowledged: every call above has returned
    step += 1
"""


@pytest.mark.slow
def test_twenty_random_kill_9s_lose_nothing_acknowledged(fresh_store, tmp_path):
    import random
    import time

    script = tmp_path / "writer.py"
    script.write_text(_ACKNOWLEDGING_WRITER)
    rng = random.Random(12)
    acknowledged: dict[str, int] = {}
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(fresh_store)], stdout=subprocess.PIPE, text=True
        )
        run_id = proc.stdout.readline().split()[1]
        time.sleep(rng.uniform(0.0, 0.3))  # kill at a random point of the logging loop
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines = proc.stdout.read().split()
        proc.stdout.close()
        acknowledged[run_id] = int(lines[-1]) if lines else -1
    store.close_all()
    mlflow.tracking._reset_for_tests()
    mlflow.set_tracking_uri(str(fresh_store))  # opening checks the file for damage
    client = mlflow.MlflowClient()
    for run_id, last in acknowledged.items():
        run = client.get_run(run_id)
        steps = [m.step for m in client.get_metric_history(run_id, "m")]
        assert steps[: last + 1] == list(range(last + 1))
        assert all(run.data.params[f"p{s}"] == str(s) for s in range(last + 1))
        if last >= 0:
            assert int(run.data.tags["last"]) >= last
        notes = {f.path for f in client.list_artifacts(run_id, "notes")}
        assert {f"notes/{s}.txt" for s in range(0, last + 1, 10)} <= notes
    assert sum(last + 1 for last in acknowledged.values()) > 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(max_size=200),
    # exactly ±DBL_MAX reads back as ±inf: the store encodes infinities as MLflow does
    number=st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: abs(x) != DBL_MAX),
    step=st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_values_round_trip_through_the_store(value, number, step):
    with mlflow.start_run() as run:
        mlflow.log_param("p", value)
        mlflow.set_tag("t", value)
        mlflow.log_metric("m", number, step=step)
    got = mlflow.get_run(run.info.run_id)
    assert got.data.params["p"] == value
    assert got.data.tags["t"] == value
    stored = got.data.metrics["m"]
    assert stored == number or (math.isnan(stored) and math.isnan(number))
    (point,) = mlflow.MlflowClient().get_metric_history(run.info.run_id, "m")
    assert point.step == step


def test_thread_safety_of_one_connection():
    import threading

    run = mlflow.start_run()
    client = mlflow.MlflowClient()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                client.log_metric(run.info.run_id, f"t{n}", float(i), step=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(client.get_metric_history(run.info.run_id, f"t{n}")) == 50 for n in range(4))


def test_a_forked_child_reopens_its_connection(fresh_store):
    code = textwrap.dedent(
        f"""
        import os, nbtrack
        nbtrack.set_tracking_uri({str(fresh_store)!r})
        run = nbtrack.start_run()
        pid = os.fork()
        if pid == 0:
            nbtrack.MlflowClient().log_metric(run.info.run_id, "child", 1.0)
            os._exit(0)
        os.waitpid(pid, 0)
        nbtrack.log_metric("parent", 1.0)
        nbtrack.end_run()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    (run,) = mlflow.search_runs(output_format="list")
    assert run.data.metrics == {"child": 1.0, "parent": 1.0}
