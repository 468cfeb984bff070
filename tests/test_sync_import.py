"""``nbtrack import`` of MLflow stores made by real MLflow 3.17: mlflow.db and mlruns/."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from mlflow_servers import MAKE_STORE, mlflow_json

import nbtrack
import nbtrack.pyfunc
import nbtrack.sync
from nbtrack.cli import main
from nbtrack.errors import InvalidParameter

pytestmark = pytest.mark.slow


def _unique(points: list) -> list:
    return [list(p) for p in dict.fromkeys(tuple(p) for p in points)]


@pytest.fixture(scope="module", params=["mlflow.db", "mlruns"])
def mlflow_store(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-store")
    if request.param == "mlflow.db":
        uri, path = f"sqlite:///{folder / 'mlflow.db'}", folder / "mlflow.db"
    else:
        uri, path = (folder / "mlruns").as_uri(), folder / "mlruns"
    made = mlflow_json(MAKE_STORE, uri, cwd=folder)
    return path, made


def test_import_keeps_ids_times_histories_artifacts_and_registry(mlflow_store):
    path, made = mlflow_store
    report = nbtrack.sync.import_store(path)
    assert (report.runs_new, report.model_versions) == (2, 1)
    client = nbtrack.MlflowClient()
    for run_id, theirs in made["runs"].items():
        run = client.get_run(run_id)  # the same id
        assert run.info.run_name == theirs["name"]
        assert (run.info.start_time, run.info.end_time) == (
            theirs["start_time"],
            theirs["end_time"],
        )
        assert run.data.params == theirs["params"]
        assert run.data.tags == theirs["tags"]
        histories = {
            k: [[m.step, m.timestamp, repr(m.value)] for m in client.get_metric_history(run_id, k)]
            for k in run.data.metrics
        }
        # an identical point is kept once, as MLflow's SQL store does (its FileStore can
        # list one twice)
        assert histories == {k: _unique(v) for k, v in theirs["histories"].items()}
    assert nbtrack.get_parent_run(made["child"]).info.run_id == made["parent"]
    parent = client.get_run(made["parent"])
    assert parent.inputs.dataset_inputs[0].dataset.name == "train"
    assert {f.path for f in client.list_artifacts(made["parent"], "notes")} == {"notes/hello.txt"}
    model = client.get_registered_model("imported-model")
    assert (model.description, model.aliases) == ("from MLflow", {"champion": "1"})
    loaded = nbtrack.pyfunc.load_model("models:/imported-model@champion")
    x = __import__("pandas").DataFrame({"a": [1.0, 15.0], "b": [0.0, 1.0]})
    assert list(loaded.predict(x)) == [0, 1]


def test_import_twice_duplicates_nothing(mlflow_store):
    path, _ = mlflow_store
    nbtrack.sync.import_store(path)
    again = nbtrack.sync.import_store(path)
    assert (again.runs_new, again.runs_updated, again.model_versions) == (0, 0, 0)
    assert len(nbtrack.search_runs(experiment_names=["imported"])) == 2
    assert len(nbtrack.MlflowClient().search_model_versions("name = 'imported-model'")) == 1


def test_cli_import(mlflow_store):
    path, _ = mlflow_store
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 new runs" in result.output


@pytest.mark.parametrize(
    "content",
    [
        # a text file
        b"not a database",
        # an empty folder is not an mlruns store
        None,
    ],
)
def test_import_refuses_what_is_not_an_mlflow_store(tmp_path, content):
    path = tmp_path / "thing"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidParameter, match="MLflow"):
        nbtrack.sync.import_store(path)
