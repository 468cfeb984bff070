"""MLflow 3's remaining fluent names: artifact URIs, restore, inputs, tables, tags, registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack import artifacts
from nbtrack.errors import ArtifactNotFound, InvalidParameter, ResourceNotFound


def test_get_artifact_uri_of_active_run_and_a_path_in_it():
    with nbtrack.start_run() as run:
        root = nbtrack.get_artifact_uri()
        assert root == nbtrack.get_run(run.info.run_id).info.artifact_uri
        assert nbtrack.get_artifact_uri("features/a.txt") == f"{root}/features/a.txt"
        with pytest.raises(InvalidParameter):
            nbtrack.get_artifact_uri("../escape")


def test_get_artifact_uri_starts_a_run_like_mlflow():
    assert nbtrack.active_run() is None
    uri = nbtrack.get_artifact_uri()
    assert nbtrack.active_run() is not None
    assert uri == nbtrack.active_run().info.artifact_uri


def test_restore_run_and_experiment():
    exp_id = nbtrack.create_experiment("gone")
    with nbtrack.start_run(experiment_id=exp_id) as run:
        pass
    nbtrack.delete_run(run.info.run_id)
    assert nbtrack.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    nbtrack.restore_run(run.info.run_id)
    assert nbtrack.get_run(run.info.run_id).info.lifecycle_stage == "active"
    nbtrack.delete_experiment(exp_id)
    nbtrack.restore_experiment(exp_id)
    assert nbtrack.get_experiment(exp_id).lifecycle_stage == "active"


def test_experiment_tags_on_the_active_experiment():
    exp = nbtrack.set_experiment("tagged")
    nbtrack.set_experiment_tag("team", "vision")
    nbtrack.set_experiment_tags({"owner": "ana", "n": 3})
    assert nbtrack.get_experiment(exp.experiment_id).tags == {
        "team": "vision",
        "owner": "ana",
        "n": "3",
    }
    nbtrack.delete_experiment_tag("team")
    assert "team" not in nbtrack.get_experiment(exp.experiment_id).tags
    with pytest.raises(ResourceNotFound, match="no tag 'team'"):
        nbtrack.delete_experiment_tag("team")


def test_log_inputs_records_every_dataset_with_context_and_tags():
    train = nbtrack.data.from_numpy(np.arange(6).reshape(3, 2), name="train")
    test = nbtrack.data.from_numpy(np.arange(4).reshape(2, 2), name="test")
    with nbtrack.start_run() as run:
        nbtrack.log_inputs([train, test], ["training", "test"], [None, {"split": "holdout"}])
    inputs = nbtrack.get_run(run.info.run_id).inputs.dataset_inputs
    by_name = {i.dataset.name: {t.key: t.value for t in i.tags} for i in inputs}
    assert by_name["train"] == {"mlflow.data.context": "training"}
    assert by_name["test"] == {"split": "holdout", "mlflow.data.context": "test"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"datasets": [None], "contexts": []}, "same length"),
        ({"models": ["m-1"]}, "Databricks"),
    ],
)
def test_log_inputs_refuses_what_mlflow_refuses(kwargs, message):
    with pytest.raises(InvalidParameter, match=message):
        nbtrack.log_inputs(**kwargs)


def test_load_table_joins_the_table_of_every_run_with_extra_columns():
    nbtrack.set_experiment("tables")
    ids = []
    for i in range(2):
        with nbtrack.start_run() as run:
            nbtrack.log_table({"x": [i, i], "run_id": ["a", "b"]}, "eval.json")
            ids.append(run.info.run_id)
    with nbtrack.start_run():
        nbtrack.log_text("unrelated", "eval.txt")
    table = nbtrack.load_table("eval.json", extra_columns=["run_id"])
    assert sorted(table["x"]) == [0, 0, 1, 1]
    assert set(table["run_id_"]) == set(ids)  # a clashing column gets an underscore
    one = nbtrack.load_table("eval.json", run_ids=[ids[0]])
    assert list(one["x"]) == [0, 0]
    assert isinstance(one, pd.DataFrame)
    with pytest.raises(ArtifactNotFound, match="log_table"):
        nbtrack.load_table("missing.json")
    with pytest.raises(InvalidParameter, match="not a run field"):
        nbtrack.load_table("eval.json", extra_columns=["colour"])


def test_registry_search_and_version_tag_through_the_fluent_api(tmp_path):
    with nbtrack.start_run() as run:
        nbtrack.log_text("weights", "model/MLmodel")
    for name in ("iris", "wine", "iris-2"):
        nbtrack.register_model(f"runs:/{run.info.run_id}/model", name)
    names = [m.name for m in nbtrack.search_registered_models(filter_string="name LIKE 'iris%'")]
    assert sorted(names) == ["iris", "iris-2"]
    assert len(nbtrack.search_registered_models(max_results=2)) == 2
    versions = nbtrack.search_model_versions(filter_string="name = 'wine'")
    assert [v.version for v in versions] == ["1"]
    nbtrack.set_model_version_tag("wine", "1", "validated", "yes")
    assert nbtrack.MlflowClient().get_model_version("wine", 1).tags == {"validated": "yes"}


def test_registry_uri_is_the_tracking_store(fresh_store):
    assert nbtrack.get_registry_uri() == nbtrack.get_tracking_uri()
    nbtrack.set_registry_uri(str(fresh_store))
    assert nbtrack.get_registry_uri() == str(fresh_store)
    for other in ("databricks-uc", "sqlite:///elsewhere.db", "http://host:5000"):
        with pytest.raises(InvalidParameter, match="tracking store"):
            nbtrack.set_registry_uri(other)


def test_set_tracking_uri_takes_mlflows_keyword(tmp_path, monkeypatch):
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    assert not nbtrack.is_tracking_uri_set()
    nbtrack.set_tracking_uri(uri=f"sqlite:///{tmp_path / 'other.db'}")
    assert nbtrack.is_tracking_uri_set()
    assert nbtrack.get_tracking_uri().endswith("other.db")


def test_flush_calls_return_with_everything_already_durable():
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 1.0)
        nbtrack.flush_async_logging()
        nbtrack.flush_artifact_async_logging()
        assert nbtrack.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_download_artifacts_by_run_uri_and_path(tmp_path):
    with nbtrack.start_run() as run:
        nbtrack.log_text("hello", "notes/a.txt")
        nbtrack.log_text("root", "b.txt")
    rid = run.info.run_id
    got = artifacts.download_artifacts(f"runs:/{rid}/notes", dst_path=str(tmp_path / "d1"))
    assert Path(got, "a.txt").read_text() == "hello"
    got = artifacts.download_artifacts(run_id=rid, artifact_path="b.txt")
    assert Path(got).read_text() == "root"
    whole = artifacts.download_artifacts(run_id=rid, dst_path=str(tmp_path / "all"))
    assert sorted(p.name for p in Path(whole).iterdir()) == ["b.txt", "notes"]
    assert nbtrack.artifacts is artifacts


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidParameter),
        ({"artifact_uri": "runs:/x/y", "run_id": "x"}, InvalidParameter),
        ({"artifact_uri": "/no/such/folder"}, ArtifactNotFound),
    ],
)
def test_download_artifacts_bad_arguments(kwargs, error):
    with pytest.raises(error):
        artifacts.download_artifacts(**kwargs)


def test_image_wraps_arrays_and_logs():
    pixels = np.zeros((4, 6, 3), dtype=np.uint8)
    pixels[0, 0] = [255, 0, 0]
    image = nbtrack.Image(pixels)
    assert image.size == (6, 4)
    assert image.to_array()[0, 0].tolist() == [255, 0, 0]
    assert nbtrack.Image(np.ones((2, 2))).to_list() == [[255, 255], [255, 255]]
    assert image.resize((3, 2)).size == (3, 2)
    with nbtrack.start_run() as run:
        nbtrack.log_image(image, "red.png")
    path = Path(nbtrack.get_run(run.info.run_id).info.artifact_uri.replace("file://", ""))
    assert nbtrack.Image(path / "red.png").to_array()[0, 0].tolist() == [255, 0, 0]
    with pytest.raises(InvalidParameter, match="shape"):
        nbtrack.Image(np.zeros((3, 2, 2)))
    with pytest.raises(InvalidParameter, match=r"\[0, 1\]"):
        nbtrack.Image(np.full((2, 2), 2.5))


def test_log_stream_writes_a_binary_stream_as_an_artifact():
    import io

    with nbtrack.start_run() as run:
        nbtrack.log_stream(io.BytesIO(b"\x00\x01weights"), "weights/model.bin")
    path = artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="weights/model.bin")
    assert Path(path).read_bytes() == b"\x00\x01weights"
    with pytest.raises(InvalidParameter, match="binary"):
        nbtrack.log_stream(io.StringIO("text"), "a.txt")
    with pytest.raises(InvalidParameter, match="file-like"):
        nbtrack.log_stream(b"bytes", "a.bin")


def test_doctor_prints_the_facts_and_masks_variables(capsys, fresh_store):
    nbtrack.doctor(mask_envs=True)
    out = capsys.readouterr().out
    assert f"Tracking URI: sqlite:///{fresh_store}" in out
    assert "NBTRACK_TRACKING_URI: ***" in out
    assert "pandas: " in out
    nbtrack.doctor()
    assert f"NBTRACK_TRACKING_URI: sqlite:///{fresh_store}" in capsys.readouterr().out


def test_log_image_by_key_and_step_writes_mlflows_image_series():
    pixels = np.zeros((512, 300, 3), dtype=np.uint8)
    with nbtrack.start_run() as run:
        nbtrack.log_image(pixels, key="val/sample", step=2, timestamp=1000)
        nbtrack.log_image(nbtrack.Image(pixels), key="val/sample", step=3)
    client = nbtrack.MlflowClient()
    names = sorted(f.path for f in client.list_artifacts(run.info.run_id, "images"))
    assert len(names) == 4
    first = [n for n in names if "+step+2+timestamp+1000+" in n]
    assert sorted(n.endswith("+compressed.webp") for n in first) == [False, True]
    assert all(n.startswith("images/val~sample+step+") for n in names)
    thumb = next(n for n in first if n.endswith(".webp"))
    root = Path(nbtrack.get_run(run.info.run_id).info.artifact_uri.replace("file://", ""))
    assert nbtrack.Image(root / thumb).size == (150, 256)
    assert nbtrack.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"artifact_file": "a.png", "step": 1}, {"key": "bad*key"}],
)
def test_log_image_argument_errors(kwargs):
    with nbtrack.start_run(), pytest.raises(InvalidParameter):
        nbtrack.log_image(np.zeros((2, 2), dtype=np.uint8), **kwargs)


@pytest.mark.parametrize("name", ["it's.json", "50%_of.json", "dir/eval.json"])
def test_client_load_table_with_awkward_names(name):
    exp_id = nbtrack.create_experiment("awkward")
    with nbtrack.start_run(experiment_id=exp_id) as run:
        nbtrack.log_table({"a": [1, 2]}, name)
    with nbtrack.start_run(experiment_id=exp_id):
        nbtrack.log_table({"a": [9]}, "other.json")
    table = nbtrack.MlflowClient().load_table(exp_id, name, extra_columns=["run_id"])
    assert table.to_dict("list") == {"a": [1, 2], "run_id": [run.info.run_id] * 2}


def test_logged_model_artifacts(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"w")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "config.json").write_text("{}")
    model = nbtrack.initialize_logged_model(name="by-hand")
    client = nbtrack.MlflowClient()
    client.log_model_artifact(model.model_id, str(tmp_path / "weights.bin"))
    client.log_model_artifacts(model.model_id, str(tmp_path / "folder"))
    listed = [f.path for f in client.list_logged_model_artifacts(model.model_id)]
    assert listed == ["config.json", "weights.bin"]
    got = artifacts.download_artifacts(f"models:/{model.model_id}", dst_path=str(tmp_path / "d"))
    assert Path(got, "weights.bin").read_bytes() == b"w"
