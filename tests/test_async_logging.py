"""Asynchronous logging (``synchronous=False``): order, durability, flushing, errors, threads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.async_logging import RunOperations
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import AsyncLoggingError, InvalidParameter

ROOT = Path(__file__).resolve().parent.parent


def _stored_points(db: Path, key: str) -> list[tuple[int, float]]:
    """What another connection (another process) sees committed: (step, value) rows."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT step, value FROM metrics WHERE key = ? ORDER BY step", (key,)
        ).fetchall()
    conn.close()
    return rows


# -- the calls and their handles --------------------------------------------------------


@pytest.mark.parametrize(
    "log",
    [
        # each fluent call MLflow accepts synchronous=False on
        lambda: nbtrack.log_metric("m", 1.0, synchronous=False),
        lambda: nbtrack.log_metrics({"m": 1.0, "n": 2.0}, synchronous=False),
        lambda: nbtrack.log_param("p", 1, synchronous=False),
        lambda: nbtrack.log_params({"p": 1, "q": "x"}, synchronous=False),
        lambda: nbtrack.set_tag("t", "v", synchronous=False),
        lambda: nbtrack.set_tags({"t": "v", "u": 2}, synchronous=False),
    ],
)
def test_fluent_calls_return_a_handle_that_waits(log):
    with nbtrack.start_run() as run:
        handle = log()
        assert isinstance(handle, RunOperations)
        handle.wait()
        data = nbtrack.get_run(run.info.run_id).data
        assert data.metrics or data.params or "t" in data.tags


def test_client_log_batch_asynchronous(fresh_store):
    client = nbtrack.MlflowClient()
    run = client.create_run("0")
    handle = client.log_batch(
        run.info.run_id,
        metrics=[Metric("m", float(i), 1000 + i, i) for i in range(100)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "v")],
        synchronous=False,
    )
    assert isinstance(handle, RunOperations)
    handle.wait()
    assert len(_stored_points(fresh_store, "m")) == 100
    data = client.get_run(run.info.run_id).data
    assert (data.params, data.tags["t"]) == ({"p": "1"}, "v")


def test_synchronous_calls_return_what_they_did(fresh_store):
    with nbtrack.start_run():
        assert nbtrack.log_metric("m", 1.0) is None
        assert nbtrack.log_param("p", 0.5) == 0.5
        assert nbtrack.set_tag("t", "v", synchronous=True) is None


def test_set_tag_run_name_renames_the_run():
    with nbtrack.start_run() as run:
        nbtrack.set_tag("mlflow.runName", "renamed", synchronous=False).wait()
    assert nbtrack.get_run(run.info.run_id).info.run_name == "renamed"


# -- order and durability -----------------------------------------------------------------


def test_points_land_in_the_order_they_were_logged(fresh_store):
    with nbtrack.start_run() as run:
        for i in range(2000):
            nbtrack.set_tag("last", str(i), synchronous=False)
            nbtrack.log_metric("m", float(i), step=i, synchronous=False)
        nbtrack.flush_async_logging()
        assert nbtrack.get_run(run.info.run_id).data.tags["last"] == "1999"
    assert _stored_points(fresh_store, "m") == [(i, float(i)) for i in range(2000)]


def test_a_synchronous_write_lands_after_the_queued_ones():
    with nbtrack.start_run() as run:
        for i in range(500):
            nbtrack.set_tag("t", f"queued-{i}", synchronous=False)
        nbtrack.set_tag("t", "synchronous")
        assert nbtrack.get_run(run.info.run_id).data.tags["t"] == "synchronous"


def test_wait_makes_the_point_durable(fresh_store):
    with nbtrack.start_run():
        handle = nbtrack.log_metric("m", 0.25, step=7, synchronous=False)
        handle.wait()
        assert _stored_points(fresh_store, "m") == [(7, 0.25)]


def test_the_writer_thread_writes_without_being_asked(fresh_store):
    with nbtrack.start_run():
        nbtrack.log_metric("m", 0.5, synchronous=False)
        deadline = time.monotonic() + 10
        while not _stored_points(fresh_store, "m") and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _stored_points(fresh_store, "m") == [(0, 0.5)]


def test_end_run_writes_what_is_queued(fresh_store):
    with nbtrack.start_run() as run:
        for i in range(3000):
            nbtrack.log_metric("m", float(i), step=i, synchronous=False)
    assert len(_stored_points(fresh_store, "m")) == 3000
    assert nbtrack.get_run(run.info.run_id).info.status == "FINISHED"


def test_non_finite_values_are_kept():
    with nbtrack.start_run() as run:
        nbtrack.log_metrics({"nan": float("nan"), "inf": float("inf")}, synchronous=False)
    metrics = nbtrack.get_run(run.info.run_id).data.metrics
    assert metrics["inf"] == float("inf") and metrics["nan"] != metrics["nan"]


SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import nbtrack
nbtrack.set_tracking_uri({uri!r})
run = nbtrack.start_run()
print(run.info.run_id, flush=True)
for i in range(5000):
    nbtrack.log_metric("m", float(i), step=i, synchronous=False)
{after}
"""


@pytest.mark.parametrize(
    "after",
    [
        # the script ends with its run still active: the exit handlers end it
        "",
        # the run ended by hand, a client point queued after: only the queue's handler is left
        "nbtrack.end_run()\nnbtrack.MlflowClient().log_metric(run.info.run_id, 'late', 1.0,"
        " synchronous=False)",
    ],
)
def test_interpreter_exit_writes_what_is_queued(tmp_path, after):
    db = tmp_path / "exit.db"
    code = SCRIPT.format(root=str(ROOT), uri=f"sqlite:///{db}", after=after)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stderr == ""
    nbtrack.set_tracking_uri(f"sqlite:///{db}")
    run = nbtrack.get_run(proc.stdout.split()[0])
    assert run.info.status == "FINISHED"
    assert len(_stored_points(db, "m")) == 5000
    if after:
        assert _stored_points(db, "late") == [(0, 1.0)]


def test_a_refused_write_at_exit_is_printed(tmp_path):
    db = tmp_path / "exit.db"
    after = "nbtrack.end_run()\nnbtrack.delete_run(run.info.run_id)\n" + (
        "nbtrack.MlflowClient().log_metric(run.info.run_id, 'late', 1.0, synchronous=False)"
    )
    code = SCRIPT.format(root=str(ROOT), uri=f"sqlite:///{db}", after=after)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stderr.startswith("nbtrack: 1 asynchronous logging operation(s) were refused")


# -- errors -------------------------------------------------------------------------------


def test_bad_input_raises_at_once():
    with nbtrack.start_run():
        with pytest.raises(InvalidParameter, match="metric 'm' value must be a number"):
            nbtrack.log_metric("m", "high", synchronous=False)
        with pytest.raises(InvalidParameter, match="character that is not allowed"):
            nbtrack.set_tag("bad*key", 1, synchronous=False)
        with pytest.raises(InvalidParameter, match="step must be a whole number"):
            nbtrack.log_metric("m", 1.0, step=0.5, synchronous=False)


def test_a_refused_write_raises_on_wait_and_nothing_else_is_lost():
    with nbtrack.start_run() as run:
        nbtrack.log_param("p", "1")
        before = nbtrack.log_metric("m", 1.0, step=0, synchronous=False)
        refused = nbtrack.log_param("p", "2", synchronous=False)
        after = nbtrack.log_metric("m", 2.0, step=1, synchronous=False)
        with pytest.raises(AsyncLoggingError, match="already logged with value '1'") as info:
            refused.wait()
        assert [type(e).__name__ for e in info.value.failures] == ["InvalidParameter"]
        before.wait()
        after.wait()
        nbtrack.flush_async_logging()  # already raised by wait(): not raised again
    client = nbtrack.MlflowClient()
    assert [m.value for m in client.get_metric_history(run.info.run_id, "m")] == [1.0, 2.0]
    assert client.get_run(run.info.run_id).data.params == {"p": "1"}


def test_a_refused_write_raises_on_flush_once():
    client = nbtrack.MlflowClient()
    run = client.create_run("0")
    client.delete_run(run.info.run_id)
    client.log_metric(run.info.run_id, "m", 1.0, synchronous=False)
    with pytest.raises(AsyncLoggingError, match="1 asynchronous logging operation") as info:
        nbtrack.flush_async_logging()
    assert info.value.run_id == run.info.run_id
    nbtrack.flush_async_logging()


def test_a_refused_write_raises_on_end_run_which_still_ends_the_run():
    run = nbtrack.start_run()
    nbtrack.log_param("p", "1")
    nbtrack.log_param("p", "2", synchronous=False)
    with pytest.raises(AsyncLoggingError, match="params are immutable"):
        nbtrack.end_run()
    assert nbtrack.active_run() is None
    assert nbtrack.get_run(run.info.run_id).info.status == "FINISHED"


# -- the environment variable -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "queued"),
    [("true", True), ("1", True), ("TRUE", True), ("false", False), ("0", False)],
)
def test_mlflow_enable_async_logging(monkeypatch, value, queued):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", value)
    with nbtrack.start_run():
        assert isinstance(nbtrack.log_metric("m", 1.0), RunOperations) is queued
        assert nbtrack.log_metric("m", 1.0, synchronous=True) is None


def test_mlflow_enable_async_logging_refuses_other_values(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "yes")
    with nbtrack.start_run():
        with pytest.raises(InvalidParameter, match="MLFLOW_ENABLE_ASYNC_LOGGING must be one of"):
            nbtrack.log_metric("m", 1.0)


# -- threads ------------------------------------------------------------------------------


def test_threads_log_asynchronously_at_once(fresh_store):
    client = nbtrack.MlflowClient()
    run_id = client.create_run("0").info.run_id
    seen_after_wait: dict[int, int] = {}

    def worker(n: int) -> None:
        handles = [
            client.log_metric(run_id, f"m{n}", float(i), step=i, synchronous=False)
            for i in range(500)
        ]
        handles[-1].wait()  # returns only once this thread's points have all committed
        seen_after_wait[n] = len(_stored_points(fresh_store, f"m{n}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_after_wait == {n: 500 for n in range(4)}
    for n in range(4):
        assert _stored_points(fresh_store, f"m{n}") == [(i, float(i)) for i in range(500)]


def test_reads_in_this_process_see_what_it_queued(monkeypatch):
    # with the environment switch, every call queues: a read must still see earlier writes
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    with nbtrack.start_run() as run:
        for i in range(300):
            nbtrack.log_metric("m", float(i), step=i)
        nbtrack.set_tag("t", "v")
        assert nbtrack.get_run(run.info.run_id).data.tags["t"] == "v"
        assert len(nbtrack.MlflowClient().get_metric_history(run.info.run_id, "m")) == 300
        found = nbtrack.search_runs(filter_string="tags.t = 'v'", output_format="list")
        assert [r.info.run_id for r in found] == [run.info.run_id]
        nbtrack.log_table({"a": [1]}, "one.json")
        nbtrack.log_table({"a": [2]}, "two.json")  # reads the tag the first one set
        logged = nbtrack.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"]
        assert "one.json" in logged and "two.json" in logged


FORK_SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
import nbtrack
nbtrack.set_tracking_uri({uri!r})
client = nbtrack.MlflowClient()
run_id = client.create_run("0").info.run_id
print(run_id, flush=True)
for i in range(1000):
    client.log_metric(run_id, "parent", float(i), step=i, synchronous=False)
pid = os.fork()
if pid == 0:  # the child has no writer thread of its own until it queues something
    client.log_metric(run_id, "child", 1.0, synchronous=False).wait()
    nbtrack.flush_async_logging()
    os._exit(0)
_, status = os.waitpid(pid, 0)
nbtrack.flush_async_logging()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_logs_asynchronously_on_its_own(tmp_path):
    db = tmp_path / "fork.db"
    code = FORK_SCRIPT.format(root=str(ROOT), uri=f"sqlite:///{db}")
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=True)
    assert len(_stored_points(db, "parent")) == 1000
    assert _stored_points(db, "child") == [(0, 1.0)]
