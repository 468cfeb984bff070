"""The fluent API: runs, params, metrics, tags, experiments and search, as MLflow behaves."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time

import pytest

import nbtrack as mlflow
from nbtrack.entities import RunStatus
from nbtrack.errors import (
    ExperimentNotFound,
    InvalidParameter,
    InvalidState,
    ResourceAlreadyExists,
    RunNotFound,
)


def test_quickstart_from_the_issue():
    mlflow.set_experiment("wine")
    with mlflow.start_run(run_name="en-0.5") as run:
        mlflow.log_params({"alpha": 0.5, "l1_ratio": 0.1})
        for step in range(100):
            mlflow.log_metric("rmse", 0.9 - step / 1000, step=step)
        mlflow.set_tags({"author": "me"})
        mlflow.log_text("notes", "notes.txt")
    df = mlflow.search_runs(
        filter_string="metrics.rmse < 1 and params.alpha = '0.5'",
        order_by=["metrics.rmse ASC"],
    )
    assert list(df["run_id"]) == [run.info.run_id]
    row = df.iloc[0]
    assert row["params.alpha"] == "0.5"
    assert row["metrics.rmse"] == pytest.approx(0.801)
    assert row["tags.author"] == "me"
    assert row["tags.mlflow.runName"] == "en-0.5"
    assert row["status"] == "FINISHED"
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "rmse")
    assert [m.step for m in history] == list(range(100))
    assert mlflow.MlflowClient().list_artifacts(run.info.run_id)[0].path == "notes.txt"


def test_run_info_and_data_mirror_mlflow():
    with mlflow.start_run(run_name="r1") as run:
        mlflow.log_param("p", 1)
        mlflow.log_metric("m", 2.5)
        mlflow.set_tag("t", "v")
    got = mlflow.get_run(run.info.run_id)
    assert got.info.run_id == got.info.run_uuid == run.info.run_id
    assert got.info.run_name == "r1"
    assert got.info.experiment_id == "0"
    assert got.info.status == "FINISHED"
    assert got.info.lifecycle_stage == "active"
    assert got.info.end_time >= got.info.start_time
    assert got.info.artifact_uri.startswith("file://")
    assert got.data.params == {"p": "1"}
    assert got.data.metrics == {"m": 2.5}
    assert got.data.tags["t"] == "v"
    assert got.data.tags["mlflow.runName"] == "r1"
    assert got.data.tags["nbtrack.python.version"].count(".") == 2
    assert got.data.tags["mlflow.source.type"] == "LOCAL"


def test_random_run_name_when_none_given():
    with mlflow.start_run() as run:
        pass
    adjective, noun, number = run.info.run_name.split("-")
    assert adjective.isalpha() and noun.isalpha() and number.isdigit()


def test_second_run_needs_nested():
    with mlflow.start_run(), pytest.raises(InvalidState, match="nested=True"):
        mlflow.start_run()


def test_nested_runs_record_their_parent():
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        with mlflow.start_run(nested=True) as grandchild:
            pass
    client = mlflow.MlflowClient()
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert mlflow.get_parent_run(grandchild.info.run_id).info.run_id == child.info.run_id
    assert mlflow.get_parent_run(parent.info.run_id) is None
    (column,) = client.store.db.query(
        "SELECT parent_run_id FROM runs WHERE run_uuid = ?", (grandchild.info.run_id,)
    )
    assert column == (child.info.run_id,)


def test_parent_run_id_argument():
    parent = mlflow.start_run()
    mlflow.end_run()
    with pytest.raises(InvalidState, match="FINISHED"):
        mlflow.start_run(parent_run_id=parent.info.run_id)
    with mlflow.start_run() as active:
        with mlflow.start_run(parent_run_id=active.info.run_id) as child:
            pass
    assert mlflow.get_parent_run(child.info.run_id).info.run_id == active.info.run_id


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValueError, RunStatus.FAILED),  # an exception fails the run
        (KeyboardInterrupt, RunStatus.KILLED),  # an interrupt kills it
    ],
)
def test_with_block_status_on_error(error, status):
    with pytest.raises(error), mlflow.start_run() as run:
        raise error()
    assert mlflow.get_run(run.info.run_id).info.status == status
    assert mlflow.active_run() is None


def test_leaving_the_parent_block_ends_children_left_open():
    with mlflow.start_run() as parent:
        child = mlflow.start_run(nested=True)
    assert mlflow.active_run() is None
    assert mlflow.get_run(child.info.run_id).info.status == "FINISHED"
    assert mlflow.get_run(parent.info.run_id).info.status == "FINISHED"


def test_end_run_with_status_and_last_active_run():
    run = mlflow.start_run()
    mlflow.end_run("KILLED")
    assert mlflow.active_run() is None
    assert mlflow.last_active_run().info.status == "KILLED"
    assert mlflow.last_active_run().info.run_id == run.info.run_id
    with pytest.raises(InvalidParameter, match="status must be one of"):
        mlflow.start_run()
        mlflow.end_run("DONE")


def test_logging_without_an_active_run_starts_one():
    mlflow.log_metric("m", 1.0)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run()
    assert mlflow.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_resume_a_run():
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id, tags={"resumed": "yes"}) as again:
        assert mlflow.get_run(again.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("m", 2.0, step=1)
    got = mlflow.get_run(run.info.run_id)
    assert got.data.metrics == {"m": 2.0}
    assert got.data.tags["resumed"] == "yes"
    assert got.info.status == "FINISHED"
    with pytest.raises(RunNotFound):
        mlflow.start_run(run_id="0" * 32)


def test_description_is_stored_as_note():
    with mlflow.start_run(description="first try") as run:
        pass
    assert mlflow.get_run(run.info.run_id).data.tags["mlflow.note.content"] == "first try"


def test_params_are_immutable_and_store_is_unchanged():
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_param("alpha", 0.5)  # the same value again is fine
        with pytest.raises(InvalidParameter, match=r"already logged with value '0\.5'"):
            mlflow.log_param("alpha", 0.6)
        with pytest.raises(InvalidParameter, match="immutable"):
            mlflow.log_params({"beta": 1, "alpha": 0.7})  # beta must not land either
    assert mlflow.get_run(run.info.run_id).data.params == {"alpha": "0.5"}


@pytest.mark.parametrize(
    ("points", "latest"),
    [
        # the highest step wins, whatever the logging order
        ([(1.0, 100, 5), (2.0, 200, 3)], 1.0),
        # at the same step, the newest timestamp wins
        ([(1.0, 300, 2), (2.0, 200, 2)], 1.0),
        # at the same step and time, the larger value wins (MLflow's tie-break)
        ([(1.0, 200, 2), (3.0, 200, 2)], 3.0),
        # the last logged is not necessarily the latest
        ([(5.0, 100, 9), (1.0, 999, 1)], 5.0),
    ],
)
def test_latest_metric_is_highest_step_then_newest(points, latest):
    with mlflow.start_run() as run:
        for value, timestamp, step in points:
            mlflow.log_metric("m", value, step=step, timestamp=timestamp)
    assert mlflow.get_run(run.info.run_id).data.metrics["m"] == latest
    with mlflow.start_run() as batch_run:
        mlflow.MlflowClient().log_batch(
            batch_run.info.run_id,
            metrics=[mlflow.entities.Metric("m", v, t, s) for v, t, s in points],
        )
    assert mlflow.get_run(batch_run.info.run_id).data.metrics["m"] == latest


def test_nan_and_infinities_are_kept():
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", math.nan)
        mlflow.log_metric("pos", math.inf)
        mlflow.log_metrics({"neg": -math.inf, "zero": 0.0})
    metrics = mlflow.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pos"] == math.inf
    assert metrics["neg"] == -math.inf
    assert metrics["zero"] == 0.0
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "nan")
    assert math.isnan(history[0].value)


def test_log_metrics_shares_step_and_time():
    with mlflow.start_run() as run:
        mlflow.log_metrics({"a": 1, "b": 2}, step=7)
    client = mlflow.MlflowClient()
    (a,) = client.get_metric_history(run.info.run_id, "a")
    (b,) = client.get_metric_history(run.info.run_id, "b")
    assert a.step == b.step == 7
    assert a.timestamp == b.timestamp


def test_tags_are_mutable_and_deletable():
    with mlflow.start_run() as run:
        mlflow.set_tag("k", "1")
        mlflow.set_tag("k", "2")
        mlflow.set_tag("gone", "x")
        mlflow.delete_tag("gone")
        with pytest.raises(InvalidParameter, match="no tag 'missing'"):
            mlflow.delete_tag("missing")
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["k"] == "2"
    assert "gone" not in tags


def test_setting_the_run_name_tag_renames_the_run():
    with mlflow.start_run(run_name="before") as run:
        mlflow.set_tag("mlflow.runName", "after")
    assert mlflow.get_run(run.info.run_id).info.run_name == "after"


# -- experiments --------------------------------------------------------------------


def test_set_experiment_creates_then_reuses():
    first = mlflow.set_experiment("exp")
    second = mlflow.set_experiment("exp")
    assert first.experiment_id == second.experiment_id != "0"
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == first.experiment_id
    assert mlflow.set_experiment(experiment_id=first.experiment_id).name == "exp"
    with pytest.raises(InvalidParameter, match="exactly one"):
        mlflow.set_experiment()


@pytest.mark.parametrize(
    "variable",
    [
        "NBTRACK_EXPERIMENT_NAME",  # nbtrack's own variable
        "MLFLOW_EXPERIMENT_NAME",  # honoured for ported scripts
    ],
)
def test_experiment_from_environment(monkeypatch, variable):
    monkeypatch.setenv(variable, "from-env")
    with mlflow.start_run() as run:
        pass
    assert mlflow.get_experiment(run.info.experiment_id).name == "from-env"


def test_experiment_lifecycle():
    exp_id = mlflow.create_experiment("e1", tags={"team": "a"})
    assert mlflow.get_experiment(exp_id).tags == {"team": "a"}
    assert mlflow.get_experiment_by_name("e1").experiment_id == exp_id
    assert mlflow.get_experiment_by_name("nope") is None
    with pytest.raises(ResourceAlreadyExists, match="already exists"):
        mlflow.create_experiment("e1")
    with mlflow.start_run(experiment_id=exp_id) as run:
        pass
    mlflow.delete_experiment(exp_id)
    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(InvalidState, match="deleted"):
        mlflow.set_experiment("e1")
    with pytest.raises(InvalidState, match="deleted"):
        mlflow.start_run(experiment_id=exp_id)
    names = [e.name for e in mlflow.search_experiments()]
    assert names == ["Default"]
    mlflow.MlflowClient().restore_experiment(exp_id)
    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "active"
    with pytest.raises(ExperimentNotFound):
        mlflow.get_experiment("999")
    with pytest.raises(InvalidParameter, match="Default experiment"):
        mlflow.delete_experiment("0")


# -- search -------------------------------------------------------------------------


def _runs(n, experiment_id="0"):
    ids = []
    for i in range(n):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"r{i}") as run:
            mlflow.log_param("i", i)
            mlflow.log_metric("loss", 1.0 / (i + 1))
            ids.append(run.info.run_id)
        time.sleep(0.002)  # distinct start times, so start_time DESC has one answer
    return ids


def test_search_runs_dataframe_columns():
    _runs(2)
    df = mlflow.search_runs()
    assert list(df.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert "metrics.loss" in df.columns and "params.i" in df.columns
    assert str(df["start_time"].dtype) == "datetime64[ms, UTC]" or "UTC" in str(
        df["start_time"].dtype
    )


def test_search_runs_order_limit_and_list():
    ids = _runs(4)
    df = mlflow.search_runs(order_by=["metrics.loss ASC"], max_results=2)
    assert list(df["run_id"]) == [ids[3], ids[2]]
    runs = mlflow.search_runs(filter_string="params.i = '1'", output_format="list")
    assert [r.info.run_id for r in runs] == [ids[1]]
    assert list(mlflow.search_runs()["run_id"]) == list(reversed(ids))  # start_time DESC


def test_search_by_experiment_names_and_all():
    a = mlflow.create_experiment("a")
    b = mlflow.create_experiment("b")
    run_a = _runs(1, a)
    run_b = _runs(1, b)
    assert list(mlflow.search_runs(experiment_names=["a"])["run_id"]) == run_a
    found = set(mlflow.search_runs(search_all_experiments=True)["run_id"])
    assert found == set(run_a + run_b)
    # as MLflow: an unknown name is skipped with a warning; ids and names together refused
    with pytest.warns(UserWarning, match="no experiment named 'zzz'"):
        assert list(mlflow.search_runs(experiment_names=["zzz", "a"])["run_id"]) == run_a
    with pytest.warns(UserWarning, match="no experiment named 'zzz'"):
        assert len(mlflow.search_runs(experiment_names=["zzz"])) == 0
    with pytest.raises(InvalidParameter, match="not both"):
        mlflow.search_runs(experiment_ids=[a], experiment_names=["b"])


def test_empty_search_gives_empty_frame():
    df = mlflow.search_runs(filter_string="metrics.x > 1")
    assert len(df) == 0
    assert "run_id" in df.columns


def test_client_search_pages_with_tokens():
    ids = _runs(5)
    client = mlflow.MlflowClient()
    first = client.search_runs(["0"], max_results=2)
    second = client.search_runs(["0"], max_results=2, page_token=first.token)
    third = client.search_runs(["0"], max_results=2, page_token=second.token)
    seen = [r.info.run_id for page in (first, second, third) for r in page]
    assert seen == list(reversed(ids))
    assert third.token is None
    with pytest.raises(InvalidParameter, match="page_token"):
        client.search_runs(["0"], page_token="garbage")


def test_deleted_runs_leave_search_results():
    ids = _runs(2)
    mlflow.delete_run(ids[0])
    assert list(mlflow.search_runs()["run_id"]) == [ids[1]]
    deleted = mlflow.search_runs(run_view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert list(deleted["run_id"]) == [ids[0]]
    with pytest.raises(InvalidState, match="deleted"):
        mlflow.MlflowClient().log_metric(ids[0], "m", 1.0)


# -- where a run comes from ---------------------------------------------------------


def _script(tmp_path, body):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=False
    )


def test_script_source_and_git_commit(tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    (tmp_path / "f.txt").write_text("x")
    subprocess.run([*git, "add", "f.txt"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "c"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    result = _script(tmp_path, "import nbtrack\nwith nbtrack.start_run():\n    pass\n")
    assert result.returncode == 0, result.stderr
    (run,) = mlflow.search_runs(output_format="list")
    assert run.data.tags["mlflow.source.name"] == str(tmp_path / "train.py")
    assert run.data.tags["mlflow.source.git.commit"] == head
    assert run.data.tags["mlflow.source.git.branch"] == "main"


@pytest.mark.parametrize(
    ("raise_line", "status"),
    [
        ("raise RuntimeError('boom')", "FAILED"),  # a crash fails the run
        ("raise KeyboardInterrupt", "KILLED"),  # Ctrl-C kills it
        ("pass", "FINISHED"),  # a clean exit finishes it
    ],
)
def test_script_exit_ends_open_runs(tmp_path, raise_line, status):
    result = _script(tmp_path, f"import nbtrack\nnbtrack.start_run()\n{raise_line}\n")
    assert (result.returncode == 0) == (status == "FINISHED"), result.stderr
    (run,) = mlflow.search_runs(output_format="list")
    assert run.info.status == status


def test_set_experiment_survives_losing_the_creation_race(monkeypatch):
    # another process creates the experiment between our lookup and our create
    other = mlflow.MlflowClient()
    real_lookup = mlflow.MlflowClient.get_experiment_by_name
    calls = []

    def lookup_then_lose_the_race(self, name):
        calls.append(name)
        if len(calls) == 1:
            other.create_experiment(name)
            return None
        return real_lookup(self, name)

    monkeypatch.setattr(mlflow.MlflowClient, "get_experiment_by_name", lookup_then_lose_the_race)
    experiment = mlflow.set_experiment("raced")
    assert experiment.name == "raced"
    assert len(mlflow.search_experiments(filter_string="name = 'raced'")) == 1
