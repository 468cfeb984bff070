"""MLflow 3's LoggedModels: a store entity linked to runs, registry versions and metrics."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import nbtrack
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.entities import LoggedModel, LoggedModelOutput
from nbtrack.errors import InvalidFilter, InvalidParameter, InvalidState, ResourceNotFound
from nbtrack.store import schema


@pytest.fixture(scope="module")
def classifier():
    x, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(x, y)


def test_log_model_creates_a_ready_logged_model_linked_to_its_run(classifier):
    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(classifier, name="clf")
    assert info.model_id.startswith("m-") and len(info.model_id) == 34
    model = nbtrack.get_logged_model(info.model_id)
    assert model.status == "READY"
    assert model.name == "clf"
    assert model.source_run_id == run.info.run_id
    assert model.experiment_id == run.info.experiment_id
    assert model.model_uri == f"models:/{info.model_id}"
    assert nbtrack.last_logged_model().model_id == info.model_id
    assert (
        nbtrack.models.Model.load(nbtrack.artifacts.download_artifacts(info.model_uri)).model_id
        == info.model_id
    )
    outputs = nbtrack.get_run(run.info.run_id).outputs.model_outputs
    assert outputs == [LoggedModelOutput(info.model_id, 0)]


def test_models_uri_by_id_loads_and_registers(classifier):
    x, _ = load_iris(return_X_y=True, as_frame=True)
    info = nbtrack.sklearn.log_model(classifier, name="clf")
    nbtrack.end_run()
    loaded = nbtrack.pyfunc.load_model(f"models:/{info.model_id}")
    assert (loaded.predict(x) == classifier.predict(x)).all()
    version = nbtrack.register_model(f"models:/{info.model_id}", "iris")
    assert version.model_id == info.model_id
    assert version.run_id == info.run_id
    again = nbtrack.register_model(info.model_uri, "iris")  # runs:/ source, same folder
    assert again.model_id == info.model_id
    assert nbtrack.MlflowClient().get_model_version("iris", 1).model_id == info.model_id
    registered = nbtrack.sklearn.log_model(classifier, name="c2", registered_model_name="iris")
    assert nbtrack.MlflowClient().get_model_version("iris", 3).model_id == registered.model_id


def test_metrics_link_to_the_named_or_active_model():
    with nbtrack.start_run() as run:
        model = nbtrack.initialize_logged_model(name="agent", model_type="agent")
        nbtrack.log_metric("accuracy", 0.8, step=1, model_id=model.model_id)
        with nbtrack.set_active_model(model_id=model.model_id) as active:
            assert nbtrack.get_active_model_id() == model.model_id == active.model_id
            nbtrack.log_metrics({"accuracy": 0.9, "loss": 0.2}, step=2)
        assert nbtrack.get_active_model_id() is None
        nbtrack.log_metric("unlinked", 1.0)
    got = nbtrack.get_logged_model(model.model_id)
    assert [(m.key, m.value, m.step) for m in got.metrics] == [
        ("accuracy", 0.8, 1),
        ("accuracy", 0.9, 2),
        ("loss", 0.2, 2),
    ]
    assert got.status == "PENDING"
    assert got.source_run_id == run.info.run_id
    assert nbtrack.finalize_logged_model(model.model_id, "READY").status == "READY"
    with pytest.raises(InvalidParameter, match="READY or FAILED"):
        nbtrack.finalize_logged_model(model.model_id, "DONE")


def test_tags_params_and_their_errors():
    model = nbtrack.initialize_logged_model(name="m", tags={"team": "a"}, params={"alpha": 1})
    assert nbtrack.active_run() is None  # no run is started for a model
    nbtrack.set_logged_model_tags(model.model_id, {"stage": "dev", "team": "b"})
    nbtrack.delete_logged_model_tag(model.model_id, "stage")
    nbtrack.log_model_params({"beta": "2"}, model_id=model.model_id)
    got = nbtrack.get_logged_model(model.model_id)
    assert got.tags["team"] == "b" and "stage" not in got.tags
    assert {"mlflow.user", "mlflow.source.name", "mlflow.source.type"} <= set(got.tags)
    assert got.params == {"alpha": "1", "beta": "2"}
    with pytest.raises(ResourceNotFound):
        nbtrack.delete_logged_model_tag(model.model_id, "stage")
    with pytest.raises(InvalidParameter, match="set once"):
        nbtrack.log_model_params({"alpha": "3"}, model_id=model.model_id)
    with pytest.raises(InvalidState, match="set_active_model"):
        nbtrack.log_model_params({"x": "1"})
    with pytest.raises(ResourceNotFound, match="search_logged_models"):
        nbtrack.get_logged_model("m-" + "0" * 32)


def test_search_logged_models_filters_orders_and_pages():
    nbtrack.set_experiment("models")
    ids = []
    for i, name in enumerate(["a", "b", "c"]):
        model = nbtrack.initialize_logged_model(name=name, tags={"i": str(i)}, params={"p": "x"})
        nbtrack.MlflowClient().log_model_metrics(
            model.model_id, [nbtrack.entities.Metric("acc", 0.5 + i / 10, 0, 0)]
        )
        ids.append(model.model_id)
    nbtrack.finalize_logged_model(ids[1], "READY")
    frame = nbtrack.search_logged_models()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["name"]) == ["c", "b", "a"]  # newest first
    found = nbtrack.search_logged_models(filter_string="status = 'READY'", output_format="list")
    assert [m.name for m in found] == ["b"]
    found = nbtrack.search_logged_models(
        filter_string="metrics.acc >= 0.6 AND params.p = 'x'",
        order_by=[{"field_name": "metrics.acc", "ascending": True}],
        output_format="list",
    )
    assert [m.name for m in found] == ["b", "c"]
    found = nbtrack.search_logged_models(filter_string="tags.i LIKE '%2'", output_format="list")
    assert [m.name for m in found] == ["c"]
    assert len(nbtrack.search_logged_models(max_results=2, output_format="list")) == 2
    page = nbtrack.MlflowClient().search_logged_models(
        [nbtrack.get_experiment_by_name("models").experiment_id], max_results=2
    )
    rest = nbtrack.MlflowClient().search_logged_models(
        [nbtrack.get_experiment_by_name("models").experiment_id], page_token=page.token
    )
    assert len(page) == 2 and len(rest) == 1 and rest.token is None
    nbtrack.MlflowClient().delete_logged_model(ids[0])
    assert len(nbtrack.search_logged_models(output_format="list")) == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"filter_string": "colour = 'red'"}, InvalidFilter),
        ({"filter_string": "metrics.acc > 'high'"}, InvalidFilter),
        ({"filter_string": "name IN ('a')"}, InvalidFilter),
        ({"order_by": ["name"]}, InvalidParameter),
        ({"order_by": [{"field_name": "colour"}]}, InvalidParameter),
        ({"datasets": [{"digest": "d"}]}, InvalidParameter),
        ({"output_format": "json"}, InvalidParameter),
    ],
)
def test_bad_searches(kwargs, error):
    with pytest.raises(error):
        nbtrack.search_logged_models(**kwargs)


def test_external_model_and_set_active_model_by_name(tmp_path):
    model = nbtrack.create_external_model(name="vendor-api", params={"endpoint": "x"})
    assert model.status == "READY"
    assert model.tags["mlflow.model.isExternal"] == "true"
    version = nbtrack.register_model(model.model_uri, "vendor")
    assert version.model_id == model.model_id
    active = nbtrack.set_active_model(name="vendor-api")
    assert active.model_id == model.model_id and active.set_by_user
    nbtrack.clear_active_model()
    assert nbtrack.get_active_model_id() is None
    fresh = nbtrack.set_active_model(name="brand-new")
    assert nbtrack.get_logged_model(fresh.model_id).name == "brand-new"
    assert isinstance(fresh, LoggedModel)
    with pytest.raises(InvalidParameter, match="exactly one"):
        nbtrack.set_active_model()


def test_active_model_from_the_environment(monkeypatch):
    model = nbtrack.initialize_logged_model(name="env")
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", model.model_id)
    assert nbtrack.get_active_model_id() == model.model_id
    nbtrack.clear_active_model()
    assert nbtrack.get_active_model_id() is None


def test_log_outputs_links_models_to_the_active_run():
    model = nbtrack.initialize_logged_model(name="later")
    with nbtrack.start_run() as run:
        nbtrack.log_outputs([LoggedModelOutput(model.model_id, step=3)])
    outputs = nbtrack.get_run(run.info.run_id).outputs.model_outputs
    assert outputs == [LoggedModelOutput(model.model_id, 3)]
    with nbtrack.start_run(), pytest.raises(ResourceNotFound):
        nbtrack.log_outputs([LoggedModelOutput("m-" + "1" * 32, step=0)])


def test_failed_log_model_marks_the_logged_model_failed(classifier):
    with pytest.raises(InvalidParameter):
        nbtrack.sklearn.log_model(classifier, name="bad", serialization_format="yaml")
    failed = nbtrack.search_logged_models(filter_string="name = 'bad'", output_format="list")
    assert [m.status for m in failed] == ["FAILED"]  # as MLflow marks it


def test_the_logged_model_migration_is_applied(fresh_store):
    nbtrack.initialize_logged_model(name="x")
    conn = sqlite3.connect(fresh_store)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert schema.LOGGED_MODELS_MIGRATION in schema.MIGRATIONS  # numbered at merge
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"logged_models", "logged_model_metrics", "run_model_outputs"} <= tables
    conn.close()


def test_metrics_after_log_model_link_to_the_model_output_at_their_step(classifier):
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(classifier, name="clf")
        nbtrack.log_metric("accuracy", 0.97)
        nbtrack.log_metrics({"f1": 0.95})
        nbtrack.log_metric("epoch_loss", 0.3, step=5)  # no model was output at step 5
        nbtrack.log_metrics({})
    got = nbtrack.get_logged_model(info.model_id)
    assert sorted((m.key, m.value) for m in got.metrics) == [("accuracy", 0.97), ("f1", 0.95)]


def test_log_outputs_at_a_step_links_later_metrics_at_that_step():
    model = nbtrack.initialize_logged_model(name="checkpoint")
    with nbtrack.start_run():
        nbtrack.log_metric("loss", 0.5, step=3)  # before the output: not linked
        nbtrack.log_outputs([LoggedModelOutput(model.model_id, step=3)])
        nbtrack.log_metric("loss", 0.4, step=3)
        nbtrack.log_metric("loss", 0.3, step=4)
    got = nbtrack.get_logged_model(model.model_id)
    assert [(m.value, m.step) for m in got.metrics] == [(0.4, 3)]


def test_a_store_of_the_first_schema_gains_the_logged_model_tables(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in schema.MIGRATIONS[0].split(";"):  # the initial schema only
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    nbtrack.set_tracking_uri(f"sqlite:///{path}")
    with nbtrack.start_run():
        model = nbtrack.initialize_logged_model(name="after-upgrade")
    assert nbtrack.get_logged_model(model.model_id).name == "after-upgrade"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()


def test_metrics_on_datasets_and_search_by_dataset():
    import numpy as np

    train = nbtrack.data.from_numpy(np.arange(6).reshape(3, 2), name="train")
    test = nbtrack.data.from_numpy(np.arange(4).reshape(2, 2), name="test")
    nbtrack.set_experiment("by-dataset")
    with nbtrack.start_run() as run:
        good = nbtrack.initialize_logged_model(name="good")
        poor = nbtrack.initialize_logged_model(name="poor")
        nbtrack.log_metric("acc", 0.99, model_id=good.model_id, dataset=train)
        nbtrack.log_metric("acc", 0.70, step=1, model_id=good.model_id, dataset=test)
        nbtrack.log_metrics({"acc": 0.80}, model_id=poor.model_id, dataset=test)
    inputs = nbtrack.get_run(run.info.run_id).inputs.dataset_inputs
    assert sorted(i.dataset.name for i in inputs) == ["test", "train"]

    def names(**kwargs):
        return [m.name for m in nbtrack.search_logged_models(output_format="list", **kwargs)]

    assert names(filter_string="metrics.acc > 0.75") == ["poor"]  # good's latest point: 0.70
    on_train = [{"dataset_name": "train"}]
    assert names(filter_string="metrics.acc > 0.75", datasets=on_train) == ["good"]
    on_test = [{"dataset_name": "test", "dataset_digest": test.digest}]
    best = names(datasets=on_test, order_by=[{"field_name": "metrics.acc", "ascending": False}])
    assert best == ["poor", "good"]


def test_last_logged_model_is_per_thread():
    import threading

    mine = nbtrack.initialize_logged_model(name="mine")
    seen = []
    worker = threading.Thread(target=lambda: seen.append(nbtrack.last_logged_model()))
    worker.start()
    worker.join()
    assert seen == [None]
    assert nbtrack.last_logged_model().model_id == mine.model_id
