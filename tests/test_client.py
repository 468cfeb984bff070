"""MlflowClient: runs by id, batches, histories and artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbtrack as mlflow
from nbtrack import MlflowClient
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import ArtifactNotFound, InvalidParameter, InvalidState, RunNotFound


@pytest.fixture
def client():
    return MlflowClient()


@pytest.fixture
def run_id(client):
    return client.create_run("0", run_name="c").info.run_id


def test_create_run_and_terminate(client):
    run = client.create_run("0", tags={"k": "v"}, run_name="named", start_time=1000)
    assert run.info.status == "RUNNING"
    assert run.info.start_time == 1000
    assert run.data.tags["k"] == "v"
    client.set_terminated(run.info.run_id, "FAILED", end_time=2000)
    info = client.get_run(run.info.run_id).info
    assert (info.status, info.end_time) == ("FAILED", 2000)


def test_log_batch_all_or_nothing(client, run_id):
    client.log_batch(
        run_id,
        metrics=[Metric("m", 1.0, 10, 0), Metric("m", 2.0, 20, 1)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "x")],
    )
    with pytest.raises(InvalidParameter):
        client.log_batch(
            run_id,
            metrics=[Metric("ok", 1.0, 10, 0)],
            params=[Param("p", "2")],  # conflicts with the logged value
        )
    run = client.get_run(run_id)
    assert run.data.metrics == {"m": 2.0}
    assert run.data.params == {"p": "1"}
    assert [m.value for m in client.get_metric_history(run_id, "m")] == [1.0, 2.0]


def test_log_batch_converts_numpy_numbers(client, run_id):
    np = pytest.importorskip("numpy")
    client.log_batch(run_id, metrics=[Metric("m", np.float32(0.5), 1, np.int64(3))])
    (point,) = client.get_metric_history(run_id, "m")
    assert (point.value, point.step) == (0.5, 3)


def test_identical_point_logged_twice_is_kept_once(client, run_id):
    client.log_metric(run_id, "m", 1.0, timestamp=5, step=1)
    client.log_metric(run_id, "m", 1.0, timestamp=5, step=1)
    assert len(client.get_metric_history(run_id, "m")) == 1


def test_a_repeated_point_adds_nothing_and_keeps_the_latest(client, run_id):
    client.log_metric(run_id, "m", 1.0, timestamp=5, step=1)
    client.log_metric(run_id, "m", 3.0, timestamp=5, step=1)  # same step and time: larger wins
    client.log_metric(run_id, "m", 1.0, timestamp=5, step=1)  # already there: nothing added
    assert sorted(m.value for m in client.get_metric_history(run_id, "m")) == [1.0, 3.0]
    assert client.get_run(run_id).data.metrics == {"m": 3.0}


def test_logging_to_a_deleted_run_is_refused_and_changes_nothing(client, run_id):
    client.log_metric(run_id, "m", 1.0, step=0)
    client.delete_run(run_id)
    with pytest.raises(InvalidState, match="is deleted; restore it"):
        client.log_metric(run_id, "m", 2.0, step=1)
    client.restore_run(run_id)
    assert [m.value for m in client.get_metric_history(run_id, "m")] == [1.0]


def test_unknown_run_id_is_a_clear_error(client):
    with pytest.raises(RunNotFound, match="no run with id 'nope'") as info:
        client.log_metric("nope", "m", 1.0)
    assert info.value.run_id == "nope"
    with pytest.raises(RunNotFound):
        client.get_run("nope")
    with pytest.raises(RunNotFound):
        client.get_metric_history("nope", "m")


def test_artifacts_round_trip(client, run_id, tmp_path):
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("bb")
    client.log_artifacts(run_id, str(source), "dir")
    client.log_artifact(run_id, str(source / "a.txt"))
    client.log_dict(run_id, {"x": 1}, "conf.json")
    client.log_dict(run_id, {"x": 1}, "conf.yaml")
    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [
        ("a.txt", False),
        ("conf.json", False),
        ("conf.yaml", False),
        ("dir", True),
    ]
    assert top[0].file_size == 1
    nested = client.list_artifacts(run_id, "dir/sub")
    assert [(f.path, f.file_size) for f in nested] == [("dir/sub/b.txt", 2)]
    local = client.download_artifacts(run_id, "dir", str(tmp_path / "out"))
    assert (tmp_path / "out" / "dir" / "sub" / "b.txt").read_text() == "bb"
    assert local == str(tmp_path / "out" / "dir")
    conf = client.download_artifacts(run_id, "conf.yaml", str(tmp_path / "out"))
    assert Path(conf).read_text().strip() == "x: 1"
    with pytest.raises(ArtifactNotFound):
        client.download_artifacts(run_id, "missing.txt")


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",  # climbing out of the run's folder
        "a/../../escape.txt",  # climbing out through a subfolder
        "/etc/passwd",  # an absolute path
    ],
)
def test_artifact_paths_cannot_escape(client, run_id, path):
    with pytest.raises(InvalidParameter, match="relative path"):
        client.log_text(run_id, "x", path)


@pytest.mark.slow  # worker processes (or matplotlib) take seconds to start
def test_log_table_and_figures(client, run_id):
    client.log_table(run_id, {"a": [1, 2], "b": ["x", "y"]}, "table.json")
    path = client.download_artifacts(run_id, "table.json")
    assert json.loads(Path(path).read_text()) == {
        "columns": ["a", "b"],
        "data": [[1, "x"], [2, "y"]],
    }
    logged = json.loads(client.get_run(run_id).data.tags["mlflow.loggedArtifacts"])
    assert logged == [{"path": "table.json", "type": "table"}]
    with pytest.raises(InvalidParameter, match=r"\.json"):
        client.log_table(run_id, {"a": [1]}, "table.csv")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    client.log_figure(run_id, fig, "plot.png")
    plt.close(fig)
    client.log_figure(run_id, go.Figure(go.Scatter(y=[1, 2])), "plot.html")
    png = Path(client.download_artifacts(run_id, "plot.png")).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plotly" in Path(client.download_artifacts(run_id, "plot.html")).read_text()
    with pytest.raises(InvalidParameter, match="matplotlib or plotly"):
        client.log_figure(run_id, object(), "x.png")


def test_log_image_from_array(client, run_id):
    np = pytest.importorskip("numpy")
    client.log_image(run_id, np.zeros((4, 4, 3), dtype=np.uint8), "img.png")
    assert client.list_artifacts(run_id)[0].path == "img.png"


def test_log_input_records_dataset(client):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, source="data/train.csv", name="train", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training")  # the same dataset again is one input
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    (item,) = inputs
    assert item.dataset.name == "train"
    assert item.dataset.digest == dataset.digest
    assert json.loads(item.dataset.source) == {"uri": "data/train.csv"}
    assert json.loads(item.dataset.profile)["num_rows"] == 3
    schema = json.loads(item.dataset.schema)["mlflow_colspec"]
    assert [c["name"] for c in schema] == ["x"]
    assert [(t.key, t.value) for t in item.tags] == [("mlflow.data.context", "training")]


def test_metric_values_must_be_numbers(client, run_id):
    with pytest.raises(InvalidParameter, match="must be a number"):
        client.log_metric(run_id, "m", "0.5")
    with pytest.raises(InvalidParameter, match="whole number"):
        client.log_metric(run_id, "m", 1.0, step=1.5)
    client.log_metric(run_id, "m", True)  # bools are numbers, as in MLflow
    assert client.get_run(run_id).data.metrics == {"m": 1.0}
