"""nbtrack sync against a real ``mlflow server`` (SQLite-backed, --serve-artifacts).

Everything pushed is read back with MLflow's own client in MLflow's venv; pulls go into
fresh stores and are compared with the store they came from.
"""

from __future__ import annotations

import contextlib
import http.server
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow_servers import (
    MAKE_STORE,
    by_local_id,
    mlflow_json,
    read_back,
    start_mlflow,
)
from sklearn.linear_model import LogisticRegression

import nbtrack
import nbtrack.data
import nbtrack.pyfunc
import nbtrack.sklearn
import nbtrack.sync
from nbtrack.cli import main
from nbtrack.errors import ExperimentNotFound, MissingDependency, SyncError

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-sqlite")
    srv = start_mlflow(f"sqlite:///{folder / 'mlflow.db'}", folder)
    yield srv
    srv.stop()


@pytest.fixture
def exp_name():
    return f"exp-{uuid.uuid4().hex[:8]}"


def x_y():
    x = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 4})
    return x, (x.a > 14).astype(int)


def make_runs(name: str, model_name: str | None = None) -> dict[str, str]:
    """A parent run (params, histories with NaN/inf, note, dataset, files, a model) and
    two children."""
    nbtrack.set_experiment(name)
    x, y = x_y()
    with nbtrack.start_run(run_name="parent", description="a note") as parent:
        nbtrack.log_params({"alpha": 0.5, "solver": "lbfgs"})
        nbtrack.set_tag("team", "blue")
        for step in range(20):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_metric("odd", math.nan, step=0)
        nbtrack.log_metric("odd", math.inf, step=1)
        nbtrack.log_input(nbtrack.data.from_pandas(x, name="train"), context="training")
        nbtrack.log_text("hello", "notes/hello.txt")
        nbtrack.sklearn.log_model(
            LogisticRegression().fit(x, y), name="model", input_example=x.head(2)
        )
        children = []
        for i in range(2):
            with nbtrack.start_run(run_name=f"child-{i}", nested=True) as child:
                nbtrack.log_metric("acc", 0.5 + i / 10, step=0)
                children.append(child.info.run_id)
    if model_name:
        client = nbtrack.MlflowClient()
        version = nbtrack.register_model(f"runs:/{parent.info.run_id}/model", model_name)
        client.update_registered_model(model_name, description="the model")
        client.set_registered_model_tag(model_name, "owner", "blue")
        client.update_model_version(model_name, version.version, description="first")
        client.set_model_version_tag(model_name, version.version, "validated", "yes")
        client.set_registered_model_alias(model_name, "champion", version.version)
    return {"parent": parent.info.run_id, "child-0": children[0], "child-1": children[1]}


def local_runs(name: str) -> dict[str, dict]:
    """The local runs of an experiment in the shape read_back gives."""
    client = nbtrack.MlflowClient()
    exp = client.get_experiment_by_name(name)
    result = {}
    for run in client.search_runs([exp.experiment_id]):
        histories = {
            k: [
                [m.step, m.timestamp, repr(m.value)]
                for m in client.get_metric_history(run.info.run_id, k)
            ]
            for k in run.data.metrics
        }
        result[run.info.run_id] = {
            "name": run.info.run_name,
            "status": run.info.status,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            "params": run.data.params,
            "tags": run.data.tags,
            "histories": histories,
        }
    return result


def mlflow_inf(history):
    """MLflow stores +inf as the largest double; compare in its terms."""
    return [[s, t, "1.7976931348623157e+308" if v == "inf" else v] for s, t, v in history]


def test_push_reads_back_through_mlflow(server, exp_name):
    ids = make_runs(exp_name, model_name=f"m-{exp_name}")
    report = nbtrack.sync.push(server.url, experiments=[exp_name], models=True)
    assert (report.runs_created, report.model_versions) == (3, 1)
    remote = by_local_id(read_back(server.url, exp_name))
    assert set(remote) == set(ids.values())
    local = local_runs(exp_name)
    for run_id, mine in local.items():
        theirs = remote[run_id]
        for key in ("name", "status", "start_time", "end_time", "params"):
            assert theirs[key] == mine[key], key
        assert {k: mlflow_inf(v) for k, v in mine["histories"].items()} == theirs["histories"]
        expected_tags = dict(mine["tags"], **{"nbtrack.local_run_id": run_id})
        if "mlflow.parentRunId" in mine["tags"]:
            parent = remote[mine["tags"]["mlflow.parentRunId"]]["run_id"]
            expected_tags["mlflow.parentRunId"] = parent
        assert theirs["tags"] == expected_tags
    parent = remote[ids["parent"]]
    assert parent["tags"]["mlflow.note.content"] == "a note"
    assert parent["datasets"] and parent["datasets"][0][0] == "train"
    assert ["notes/hello.txt", 5] in parent["files"]
    assert any(path == "model/MLmodel" for path, _ in parent["files"])
    registry = mlflow_json(
        """
        import json, sys, mlflow, pandas as pd
        url, name = sys.argv[1], sys.argv[2]
        mlflow.set_tracking_uri(url)
        client = mlflow.MlflowClient()
        model = client.get_registered_model(name)
        versions = client.search_model_versions(f"name = '{name}'")
        v = client.get_model_version_by_alias(name, "champion")
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        x = pd.DataFrame({"a": [1.0, 25.0], "b": [0.0, 1.0]})
        print(json.dumps({
            "description": model.description, "tags": model.tags, "aliases": model.aliases,
            "versions": len(versions), "run_id": v.run_id, "source": v.source,
            "version_description": v.description, "version_tags": v.tags,
            "predictions": [int(p) for p in loaded.predict(x)],
        }))
        """,
        server.url,
        f"m-{exp_name}",
    )
    assert registry["description"] == "the model"
    assert registry["tags"] == {"owner": "blue"}
    assert registry["aliases"] == {"champion": "1"}
    assert registry["versions"] == 1
    assert registry["run_id"] == parent["run_id"]
    assert registry["source"] == f"runs:/{parent['run_id']}/model"
    assert registry["version_description"] == "first"
    assert registry["version_tags"]["validated"] == "yes"
    assert registry["predictions"] == [0, 1]


def test_second_push_sends_nothing_and_duplicates_nothing(server, exp_name):
    make_runs(exp_name, model_name=f"m-{exp_name}")
    nbtrack.sync.push(server.url, experiments=[exp_name], models=True)
    again = nbtrack.sync.push(server.url, experiments=[exp_name], models=True)
    assert (again.runs_created, again.runs_updated, again.runs_unchanged) == (0, 0, 3)
    assert (again.metric_points, again.artifact_files, again.model_versions) == (0, 0, 0)
    remote = read_back(server.url, exp_name)
    assert len(remote) == 3
    assert max(len(h) for r in remote for h in r["histories"].values()) == 20


def test_running_run_is_pushed_then_finished_remotely(server, exp_name):
    nbtrack.set_experiment(exp_name)
    run = nbtrack.start_run()
    for step in range(5):
        nbtrack.log_metric("loss", float(step), step=step)
    nbtrack.sync.push(server.url, experiments=[exp_name])
    (remote,) = read_back(server.url, exp_name)
    assert remote["status"] == "RUNNING" and len(remote["histories"]["loss"]) == 5
    for step in range(5, 8):
        nbtrack.log_metric("loss", float(step), step=step)
    nbtrack.end_run()
    report = nbtrack.sync.push(server.url, experiments=[exp_name])
    assert report.metric_points == 3
    (remote,) = read_back(server.url, exp_name)
    finished = nbtrack.get_run(run.info.run_id).info
    assert (remote["status"], remote["end_time"]) == ("FINISHED", finished.end_time)
    assert [p[0] for p in remote["histories"]["loss"]] == list(range(8))


RUNS, STEPS = 100, 30


def test_killed_push_resumes_without_duplicates(server, exp_name, fresh_store):
    nbtrack.set_experiment(exp_name)
    client = nbtrack.MlflowClient()
    exp_id = client.get_experiment_by_name(exp_name).experiment_id
    for i in range(RUNS):
        run = client.create_run(exp_id, run_name=f"r{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[nbtrack.entities.Metric("m", float(s), 1000 + s, s) for s in range(STEPS)],
            params=[nbtrack.entities.Param("i", str(i))],
        )
        client.set_terminated(run.info.run_id)
    nbtrack.store.close_all()
    command = [
        sys.executable,
        "-m",
        "nbtrack",
        "--tracking-uri",
        str(fresh_store),
        "sync",
        "push",
        "--to",
        server.url,
        "--experiment",
        exp_name,
    ]
    env = {**os.environ, "PYTHONPATH": ROOT}
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sqlite3.connect(fresh_store) as conn:
            try:
                done = conn.execute("SELECT COUNT(*) FROM sync_runs").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
        if done >= 10:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 10 <= done < RUNS, "the push ended before it could be killed half-way"
    report = nbtrack.sync.push(server.url, experiments=[exp_name])
    assert report.runs_created + report.runs_updated < RUNS
    remote = read_back(server.url, exp_name)
    assert len(remote) == RUNS
    assert sorted(int(r["params"]["i"]) for r in remote) == list(range(RUNS))
    assert all(len(r["histories"]["m"]) == STEPS for r in remote)
    assert all(r["status"] == "FINISHED" for r in remote)


def test_server_error_mid_push_says_what_was_sent_and_resumes(server, exp_name):
    nbtrack.set_experiment(exp_name)
    with nbtrack.start_run() as first:
        nbtrack.log_metric("m", 1.0)
    nbtrack.sync.push(server.url, experiments=[exp_name])
    (remote,) = read_back(server.url, exp_name)
    mlflow_json(
        "import json, sys, mlflow\nmlflow.MlflowClient(sys.argv[1]).delete_run(sys.argv[2])\n"
        "print(json.dumps(1))",
        server.url,
        remote["run_id"],
    )
    nbtrack.MlflowClient().log_metric(first.info.run_id, "m", 2.0, step=1)
    with pytest.raises(SyncError, match="Before the error, this push sent") as error:
        nbtrack.sync.push(server.url, experiments=[exp_name])
    assert "run the push again" in str(error.value)
    mlflow_json(
        "import json, sys, mlflow\nmlflow.MlflowClient(sys.argv[1]).restore_run(sys.argv[2])\n"
        "print(json.dumps(1))",
        server.url,
        remote["run_id"],
    )
    report = nbtrack.sync.push(server.url, experiments=[exp_name])
    assert report.metric_points == 1
    (remote,) = read_back(server.url, exp_name)
    assert [p[0] for p in remote["histories"]["m"]] == [0, 1]


def test_pull_into_an_empty_store_matches_the_source(server, exp_name, tmp_path):
    ids = make_runs(exp_name, model_name=f"m-{exp_name}")
    before = local_runs(exp_name)
    nbtrack.sync.push(server.url, experiments=[exp_name], models=True)
    remote = by_local_id(read_back(server.url, exp_name))
    nbtrack.set_tracking_uri(f"sqlite:///{tmp_path / 'pulled.db'}")
    report = nbtrack.sync.pull(server.url, experiments=[exp_name], models=True)
    assert (report.runs_new, report.model_versions) == (3, 1)
    again = nbtrack.sync.pull(server.url, experiments=[exp_name], models=True)
    assert (again.runs_new, again.runs_updated, again.metric_points) == (0, 0, 0)
    after = local_runs(exp_name)
    assert set(after) == {r["run_id"] for r in remote.values()}  # the server's run ids
    for local_id, mine in before.items():
        pulled = after[remote[local_id]["run_id"]]
        for key in ("name", "status", "start_time", "end_time", "params", "histories"):
            assert pulled[key] == mine[key], key
        parent = mine["tags"].get("mlflow.parentRunId")
        if parent:
            assert pulled["tags"]["mlflow.parentRunId"] == remote[parent]["run_id"]
    client = nbtrack.MlflowClient()
    pulled_parent = remote[ids["parent"]]["run_id"]
    files = {f.path for f in client.list_artifacts(pulled_parent, "notes")}
    assert files == {"notes/hello.txt"}
    version = client.get_model_version_by_alias(f"m-{exp_name}", "champion")
    assert version.run_id == pulled_parent and version.description == "first"
    x, _ = x_y()
    predictions = nbtrack.pyfunc.load_model(f"models:/m-{exp_name}@champion").predict(x.head(2))
    assert list(predictions) == [0, 0]


def test_pull_brings_models_mlflow_logged_itself(server):
    # a team member logs with MLflow 3 itself: the version's source is a logged model
    made = mlflow_json(MAKE_STORE, server.url)
    report = nbtrack.sync.pull(server.url, experiments=["imported"], models=True)
    assert (report.runs_new, report.model_versions) == (2, 1)
    client = nbtrack.MlflowClient()
    version = client.get_model_version_by_alias("imported-model", "champion")
    assert version.run_id == made["parent"]
    assert client.get_registered_model("imported-model").description == "from MLflow"
    loaded = nbtrack.pyfunc.load_model("models:/imported-model@champion")
    x = pd.DataFrame({"a": [1.0, 15.0], "b": [0.0, 1.0]})
    assert list(loaded.predict(x)) == [0, 1]
    again = nbtrack.sync.pull(server.url, experiments=["imported"], models=True)
    assert (again.runs_new, again.model_versions) == (0, 0)


def test_pull_brings_a_pushed_run_home_without_a_copy(server, exp_name):
    make_runs(exp_name)
    nbtrack.sync.push(server.url, experiments=[exp_name])
    report = nbtrack.sync.pull(server.url, experiments=[exp_name])
    assert report.runs_new == 0
    assert len(nbtrack.search_runs(experiment_names=[exp_name])) == 3


def test_credentials_are_neither_stored_nor_printed(server, exp_name, fresh_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cret-token")
    make_runs(exp_name)
    url = server.url.replace("http://", "http://alice:pa55word@")
    report = nbtrack.sync.push(url, experiments=[exp_name])
    assert report.server == server.url
    nbtrack.store.close_all()
    data = b"".join(p.read_bytes() for p in fresh_store.parent.glob("nbtrack.db*"))
    assert b"pa55word" not in data and b"s3cret" not in data and b"alice" not in data
    bad = url.rsplit(":", 1)[0] + ":1"
    with pytest.raises(SyncError) as error:
        nbtrack.sync.push(bad, experiments=[exp_name])
    assert "pa55word" not in str(error.value) and "alice" not in str(error.value)


def test_cli_push_and_import(server, exp_name, fresh_store, tmp_path):
    make_runs(exp_name)
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "push", "--to", server.url, "--experiment", exp_name])
    assert result.exit_code == 0, result.output
    assert "3 runs created" in result.output
    result = runner.invoke(main, ["sync", "push", "--to", server.url, "--experiment", "nope"])
    assert result.exit_code == 1 and "no experiment named 'nope'" in result.output
    target = tmp_path / "other.db"
    result = runner.invoke(
        main,
        [
            "--tracking-uri",
            str(target),
            "sync",
            "pull",
            "--from",
            server.url,
            "--experiment",
            exp_name,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"runs_new": 3' in result.output


def test_unknown_experiment_is_refused_before_anything_is_sent(server):
    with pytest.raises(ExperimentNotFound, match="no experiment named 'missing'"):
        nbtrack.sync.push(server.url, experiments=["missing"])


def test_missing_http_client_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(MissingDependency, match=r"nbtrack\[sync\]"):
        nbtrack.sync.push("http://127.0.0.1:9")


@contextlib.contextmanager
def loopback_http(handler: type) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port in a thread; yield its URL; stop it."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def header_server():
    """A loopback HTTP server answering like MLflow's experiments/search; keeps headers."""

    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(self.headers))
            body = b'{"experiments": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with loopback_http(Handler) as url:
        yield url, seen


@pytest.mark.parametrize(
    ("env", "url_auth", "expected"),
    [
        # a bearer token wins
        ({"MLFLOW_TRACKING_TOKEN": "tok"}, "", "Bearer tok"),
        # basic auth from MLflow's two variables: base64("alice:pw")
        (
            {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "pw"},
            "",
            "Basic YWxpY2U6cHc=",
        ),
        # credentials in the URL, taken out of it
        ({}, "alice:pw@", "Basic YWxpY2U6cHc="),
        # nothing: no header
        ({}, "", None),
    ],
)
def test_auth_follows_mlflow_environment_variables(
    header_server, monkeypatch, env, url_auth, expected
):
    from nbtrack.sync.rest import RestClient

    url, seen = header_server
    for var in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    client = RestClient(url.replace("http://", f"http://{url_auth}"))
    try:
        client.check()
    finally:
        client.close()
    assert client.url == url
    assert seen[-1].get("Authorization") == expected


MLFLOW_STAGE = """
import json, sys, mlflow
client = mlflow.MlflowClient(sys.argv[1])
action, run_ids = sys.argv[2], sys.argv[3:]
for run_id in run_ids:
    if action == "delete":
        client.delete_run(run_id)
    elif action == "restore":
        client.restore_run(run_id)
print(json.dumps({r: client.get_run(r).info.lifecycle_stage for r in run_ids}))
"""


def remote_stage(url: str, action: str, *run_ids: str) -> dict[str, str]:
    """Delete, restore or just look at remote runs with MLflow's client: their stages."""
    return mlflow_json(MLFLOW_STAGE, url, action, *run_ids)  # type: ignore[return-value]


def test_local_deletion_and_restore_are_pushed(server, exp_name):
    ids = make_runs(exp_name)
    nbtrack.sync.push(server.url, experiments=[exp_name])
    remote = by_local_id(read_back(server.url, exp_name))
    child = ids["child-1"]
    client = nbtrack.MlflowClient()
    client.delete_run(child)
    report = nbtrack.sync.push(server.url, experiments=[exp_name])
    assert (report.runs_deleted, report.runs_created, report.runs_updated) == (1, 0, 0)
    assert "1 deleted" in report.summary()
    assert set(by_local_id(read_back(server.url, exp_name))) == {ids["parent"], ids["child-0"]}
    assert remote_stage(server.url, "get", remote[child]["run_id"]) == {
        remote[child]["run_id"]: "deleted"
    }
    assert nbtrack.sync.push(server.url, experiments=[exp_name]).runs_deleted == 0  # sent once
    client.restore_run(child)
    client.log_metric(child, "acc", 0.9, step=1)
    report = nbtrack.sync.push(server.url, run_ids=[child])
    assert (report.runs_restored, report.runs_created, report.metric_points) == (1, 0, 1)
    back = by_local_id(read_back(server.url, exp_name))
    assert set(back) == set(ids.values())
    assert back[child]["run_id"] == remote[child]["run_id"]  # the same remote run, restored
    assert [p[0] for p in back[child]["histories"]["acc"]] == [0, 1]
    client.delete_run(child)  # the deletion of one run, chosen by id
    assert nbtrack.sync.push(server.url, run_ids=[child]).runs_deleted == 1


def test_remote_deletion_and_restore_are_pulled(server, exp_name, tmp_path):
    make_runs(exp_name)
    nbtrack.sync.push(server.url, experiments=[exp_name])
    remote = [r["run_id"] for r in read_back(server.url, exp_name)]
    nbtrack.set_tracking_uri(f"sqlite:///{tmp_path / 'pulled.db'}")
    assert nbtrack.sync.pull(server.url, experiments=[exp_name]).runs_new == 3
    client = nbtrack.MlflowClient()
    gone, kept = remote[0], remote[1]
    remote_stage(server.url, "delete", gone)
    report = nbtrack.sync.pull(server.url, experiments=[exp_name])
    assert (report.runs_deleted, report.runs_new, report.runs_updated) == (1, 0, 0)
    assert "1 deleted" in report.summary()
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    assert nbtrack.sync.pull(server.url, experiments=[exp_name]).runs_deleted == 0
    # a run deleted only here stays deleted while the server keeps it unchanged
    client.delete_run(kept)
    again = nbtrack.sync.pull(server.url, experiments=[exp_name])
    assert (again.runs_restored, again.runs_deleted) == (0, 0)
    assert client.get_run(kept).info.lifecycle_stage == "deleted"
    key = next(iter(client.get_run(gone).data.metrics))
    history = [m.step for m in client.get_metric_history(gone, key)]
    remote_stage(server.url, "restore", gone)
    report = nbtrack.sync.pull(server.url, experiments=[exp_name])
    assert (report.runs_restored, report.runs_new) == (1, 0)
    run = client.get_run(gone)
    assert run.info.lifecycle_stage == "active"
    assert [m.step for m in client.get_metric_history(gone, key)] == history  # no duplicates


@pytest.fixture
def lossy_proxy(server):
    """A loopback HTTP proxy to the server that loses the answer to the first runs/create
    (the server made the run; the client sees the connection drop), as a kept-alive
    connection the server closes at the wrong moment does."""
    import httpx

    lost: list[str] = []
    upstream = httpx.Client(base_url=server.url, timeout=120)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def relay(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
            answer = upstream.request(self.command, self.path, content=body, headers=headers)
            if self.path.endswith("/runs/create") and not lost:
                lost.append(answer.json()["run"]["info"]["run_id"])
                self.close_connection = True
                return
            self.send_response(answer.status_code)
            for key in ("Content-Type",):
                if key in answer.headers:
                    self.send_header(key, answer.headers[key])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = relay

        def log_message(self, *args):
            pass

    with loopback_http(Handler) as url:
        yield url, lost
    upstream.close()


def test_a_lost_create_answer_makes_no_copy(server, lossy_proxy, exp_name):
    url, lost = lossy_proxy
    nbtrack.set_experiment(exp_name)
    for i in range(6):
        with nbtrack.start_run():
            nbtrack.log_metric("m", float(i))
    report = nbtrack.sync.push(url, experiments=[exp_name])
    assert len(lost) == 1  # the server made a run whose answer never came
    assert report.runs_created == 6
    remote = read_back(server.url, exp_name)
    assert len(remote) == 6 and lost[0] in {r["run_id"] for r in remote}
    assert len(by_local_id(remote)) == 6
