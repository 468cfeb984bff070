from __future__ import annotations

import json
from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import nbtrack
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import (
    ArtifactNotFound,
    InvalidParameter,
    InvalidState,
    ModelNotFound,
    ResourceAlreadyExists,
    UnsafeModelError,
)
from nbtrack.models import Model, get_model_info, infer_signature


def double(x):
    return x * 2


class Doubler(BaseEstimator, TransformerMixin):
    """An estimator class of the user's own: skops cannot vouch for it."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return x * 2


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, y


@pytest.fixture(scope="module")
def classifier(iris):
    x, y = iris
    return LogisticRegression(max_iter=1000).fit(x, y)


@pytest.mark.parametrize(
    ("serialization_format", "file_name", "load_kwargs"),
    [
        # skops: the safe default, loads with no opt-in
        ("skops", "model.skops", {}),
        # pickle: opt-in at save and at load
        ("pickle", "model.pkl", {"allow_pickle": True}),
        # cloudpickle: the same
        ("cloudpickle", "model.pkl", {"allow_pickle": True}),
    ],
)
def test_save_and_load_each_format(
    tmp_path, iris, classifier, serialization_format, file_name, load_kwargs
):
    x, _ = iris
    path = tmp_path / "model"
    nbtrack.sklearn.save_model(classifier, path, serialization_format=serialization_format)
    assert (path / file_name).is_file()
    flavor = Model.load(path).flavors["sklearn"]
    assert flavor["serialization_format"] == serialization_format
    loaded = nbtrack.sklearn.load_model(str(path), **load_kwargs)
    np.testing.assert_array_equal(loaded.predict(x), classifier.predict(x))


@pytest.mark.parametrize("serialization_format", ["pickle", "cloudpickle"])
def test_pickles_need_allow_pickle_to_load(tmp_path, classifier, serialization_format):
    path = tmp_path / "m"
    nbtrack.sklearn.save_model(classifier, path, serialization_format=serialization_format)
    for load in (nbtrack.sklearn.load_model, nbtrack.pyfunc.load_model):
        with pytest.raises(UnsafeModelError, match="allow_pickle=True"):
            load(str(path))


def test_mlmodel_contents(tmp_path, iris, classifier):
    x, _ = iris
    nbtrack.sklearn.save_model(
        classifier, tmp_path / "m", input_example=x.head(3), metadata={"team": "search"}
    )
    content = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert content["flavors"] == {
        "python_function": {
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "loader_module": "mlflow.sklearn",
            "model_path": "model.skops",
            "predict_fn": "predict",
            "python_version": content["flavors"]["python_function"]["python_version"],
        },
        "sklearn": {
            "code": None,
            "pickled_model": "model.skops",
            "serialization_format": "skops",
            "sklearn_version": version("scikit-learn"),
            "skops_trusted_types": None,
        },
    }
    assert content["mlflow_version"] == "3.17.2"
    assert content["nbtrack_version"] == nbtrack.__version__
    assert content["metadata"] == {"team": "search"}
    assert content["saved_input_example_info"]["type"] == "dataframe"
    assert len(content["model_uuid"]) == 32 and content["model_size_bytes"] > 0
    inputs = json.loads(content["signature"]["inputs"])
    assert [c["name"] for c in inputs] == list(x.columns)
    assert json.loads(content["signature"]["outputs"]) == [{"type": "long", "required": True}]
    assert "run_id" not in content and "artifact_path" not in content


@pytest.mark.parametrize(
    ("serialization_format", "format_package"),
    [
        # skops models need skops
        ("skops", "skops"),
        # cloudpickle models need cloudpickle
        ("cloudpickle", "cloudpickle"),
    ],
)
def test_requirements_are_pinned_to_installed_versions(
    tmp_path, classifier, serialization_format, format_package
):
    nbtrack.sklearn.save_model(
        classifier, tmp_path / "m", serialization_format=serialization_format
    )
    lines = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert lines[0] == "mlflow==3.17.2"
    for package in ("scikit-learn", "numpy", "scipy", "pandas", format_package):
        assert f"{package}=={version(package)}" in lines
    env = yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]
    assert f"pip=={version('pip')}" in env["build_dependencies"]
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert conda["dependencies"][2] == {"pip": lines}


@pytest.mark.parametrize(
    ("kwargs", "expected_extra"),
    [
        # extra requirements are added to the defaults
        ({"extra_pip_requirements": ["requests==2.0"]}, ["requests==2.0", "skops=="]),
        # pip_requirements replace them (mlflow stays first)
        ({"pip_requirements": ["scikit-learn"]}, ["scikit-learn"]),
    ],
)
def test_pip_requirements_options(tmp_path, classifier, kwargs, expected_extra):
    nbtrack.sklearn.save_model(classifier, tmp_path / "m", **kwargs)
    text = (tmp_path / "m" / "requirements.txt").read_text()
    for requirement in expected_extra:
        assert requirement in text
    if "pip_requirements" in kwargs:
        assert text.splitlines() == ["mlflow==3.17.2", "scikit-learn"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        # an unknown format
        ({"serialization_format": "joblib"}, InvalidParameter),
        # both requirement options
        ({"pip_requirements": ["a"], "extra_pip_requirements": ["b"]}, InvalidParameter),
    ],
)
def test_bad_save_arguments_leave_no_folder(tmp_path, classifier, kwargs, error):
    with pytest.raises(error):
        nbtrack.sklearn.save_model(classifier, tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_save_refuses_a_non_empty_folder(tmp_path, classifier):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    with pytest.raises(ResourceAlreadyExists, match="not empty"):
        nbtrack.sklearn.save_model(classifier, tmp_path / "m")
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["keep.txt"]


def test_sklearn_numpy_scipy_classes_are_trusted(tmp_path, iris):
    x, y = iris
    search = GridSearchCV(
        RandomForestClassifier(n_estimators=3, random_state=0), {"max_depth": [2, 3]}, cv=2
    ).fit(x, y)
    nbtrack.sklearn.save_model(search, tmp_path / "m")
    trusted = Model.load(tmp_path / "m").flavors["sklearn"]["skops_trusted_types"]
    assert "sklearn.tree._tree.Tree" in trusted  # recorded so MLflow's loader accepts it
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(x), search.predict(x))


def test_scikit_learn_functions_are_trusted(tmp_path, iris):
    # a search scored by name holds sklearn.metrics' function (MLflow's autolog case)
    x, y = iris
    search = GridSearchCV(
        LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=2, scoring="balanced_accuracy"
    ).fit(x, y)
    nbtrack.sklearn.save_model(search, tmp_path / "m")
    loaded = nbtrack.sklearn.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(x), search.predict(x))


@pytest.mark.parametrize(
    ("model", "type_name"),
    [
        # a pipeline step calling a user function
        (make_pipeline(FunctionTransformer(double), LogisticRegression(max_iter=1000)), "double"),
        # an estimator class defined by the user
        (make_pipeline(Doubler(), LogisticRegression(max_iter=1000)), "Doubler"),
        # a numpy function (numpy.save in its place would write files when called)
        (make_pipeline(FunctionTransformer(np.sort), LogisticRegression(max_iter=1000)), "sort"),
    ],
)
def test_skops_refuses_untrusted_types(tmp_path, iris, model, type_name):
    x, y = iris
    model.fit(x.to_numpy(), y)
    with pytest.raises(UnsafeModelError, match=type_name) as caught:
        nbtrack.sklearn.save_model(model, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    names = caught.value.types
    assert len(names) == 1 and names[0].endswith(type_name)

    # trusting them at save writes the model, but loading asks again
    nbtrack.sklearn.save_model(model, tmp_path / "m", skops_trusted_types=names)
    assert Model.load(tmp_path / "m").flavors["sklearn"]["skops_trusted_types"] == names
    with pytest.raises(UnsafeModelError, match=f"trusted_types=\\['.*{type_name}'\\]"):
        nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    loaded = nbtrack.sklearn.load_model(str(tmp_path / "m"), trusted_types=names)
    np.testing.assert_array_equal(loaded.predict(x.to_numpy()), model.predict(x.to_numpy()))


def test_cloudpickle_saves_what_skops_refuses(tmp_path, iris):
    x, y = iris
    model = make_pipeline(
        FunctionTransformer(lambda v: v + 1), StandardScaler(), LogisticRegression()
    ).fit(x.to_numpy(), y)
    with pytest.raises(UnsafeModelError, match="serialization_format='cloudpickle'"):
        nbtrack.sklearn.save_model(model, tmp_path / "skops")
    nbtrack.sklearn.save_model(model, tmp_path / "m", serialization_format="cloudpickle")
    loaded = nbtrack.sklearn.load_model(str(tmp_path / "m"), allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(x.to_numpy()), model.predict(x.to_numpy()))


def test_signature_choices(tmp_path, iris, classifier):
    x, _ = iris
    given = infer_signature(x, classifier.predict(x))
    nbtrack.sklearn.save_model(
        classifier, tmp_path / "given", signature=given, input_example=x.head(2)
    )
    assert Model.load(tmp_path / "given").signature == given
    nbtrack.sklearn.save_model(
        classifier, tmp_path / "none", signature=False, input_example=x.head(2)
    )
    assert Model.load(tmp_path / "none").signature is None
    with pytest.warns(UserWarning, match="could not infer the signature"):
        nbtrack.sklearn.save_model(
            classifier, tmp_path / "bad", input_example=pd.DataFrame({"wrong": [1.0]})
        )
    assert Model.load(tmp_path / "bad").signature is None


def test_log_model_starts_a_run_and_records_it(iris, classifier):
    x, _ = iris
    info = nbtrack.sklearn.log_model(classifier, name="clf", input_example=x.head(2))
    run = nbtrack.active_run()
    assert run is not None and info.run_id == run.info.run_id
    assert info.model_uri == f"runs:/{info.run_id}/clf"
    assert info.artifact_path == "clf" and info.registered_model_version is None
    assert set(info.flavors) == {"python_function", "sklearn"}
    assert info.signature is not None and len(info.model_uuid) == 32
    content = Model.load(info.model_uri)
    assert (content.run_id, content.artifact_path) == (info.run_id, "clf")
    history = json.loads(nbtrack.get_run(info.run_id).data.tags["mlflow.log-model.history"])
    assert [(h["artifact_path"], h["model_uuid"]) for h in history] == [("clf", info.model_uuid)]
    names = [f.path for f in nbtrack.MlflowClient().list_artifacts(info.run_id)]
    assert names == ["clf"]
    assert get_model_info(info.model_uri).model_uuid == info.model_uuid


def test_log_model_artifact_path_is_the_older_name(classifier):
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(classifier, "legacy")
        second = nbtrack.sklearn.log_model(classifier, name="nested/path")
    assert info.artifact_path == "legacy" and second.artifact_path == "nested/path"
    history = json.loads(nbtrack.get_run(info.run_id).data.tags["mlflow.log-model.history"])
    assert [h["artifact_path"] for h in history] == ["legacy", "nested/path"]
    assert nbtrack.pyfunc.load_model(second.model_uri) is not None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        # both spellings
        ({"artifact_path": "a", "name": "b"}, InvalidParameter),
        # a path escaping the run
        ({"name": "../outside"}, InvalidParameter),
        # an artifact already there
        ({"name": "taken"}, ResourceAlreadyExists),
        # a registered model name the registry would refuse
        ({"name": "fresh", "registered_model_name": "bad/name"}, InvalidParameter),
    ],
)
def test_bad_log_model_calls_change_nothing(tmp_path, classifier, kwargs, error):
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(classifier, name="taken")
        before = nbtrack.get_run(run.info.run_id).data.tags["mlflow.log-model.history"]
        with pytest.raises(error):
            nbtrack.sklearn.log_model(classifier, **kwargs)
        after = nbtrack.get_run(run.info.run_id).data.tags["mlflow.log-model.history"]
        assert after == before
        names = [f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id)]
        assert names == ["taken"]


def test_log_model_to_a_deleted_run_is_refused(classifier):
    client = nbtrack.MlflowClient()
    run_id = nbtrack.start_run().info.run_id
    client.delete_run(run_id)
    with pytest.raises(InvalidState, match="deleted"):
        nbtrack.sklearn.log_model(classifier, name="m")
    client.restore_run(run_id)
    assert client.list_artifacts(run_id) == []


def test_uri_forms_for_paths_and_runs(tmp_path, iris, classifier):
    x, _ = iris
    nbtrack.sklearn.save_model(classifier, tmp_path / "saved")
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(classifier, name="m")
    expected = classifier.predict(x)
    for uri in (
        str(tmp_path / "saved"),
        (tmp_path / "saved").as_uri(),
        info.model_uri,
        f"runs:///{info.run_id}/m",
    ):
        np.testing.assert_array_equal(nbtrack.pyfunc.load_model(uri).predict(x), expected)
        np.testing.assert_array_equal(nbtrack.sklearn.load_model(uri).predict(x), expected)


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        # a run with no such artifact
        ("runs:/{run_id}/nothing", ArtifactNotFound),
        # no run id
        ("runs:/", InvalidParameter),
        # an unknown run
        ("runs:/0123456789abcdef/m", nbtrack.errors.RunNotFound),
        # a folder that is no model
        ("{tmp}", ArtifactNotFound),
        # a remote scheme
        ("s3://bucket/model", InvalidParameter),
        # a malformed registry URI
        ("models:/", InvalidParameter),
        # a stage that does not exist
        ("models:/clf/Sandbox", InvalidParameter),
    ],
)
def test_bad_uris(tmp_path, classifier, uri, error):
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(classifier, name="m")
    with pytest.raises(error):
        nbtrack.pyfunc.load_model(uri.format(run_id=run.info.run_id, tmp=tmp_path))


def test_dst_path_gets_a_copy(tmp_path, classifier):
    nbtrack.sklearn.save_model(classifier, tmp_path / "saved")
    (tmp_path / "copies").mkdir()
    nbtrack.sklearn.load_model(str(tmp_path / "saved"), dst_path=str(tmp_path / "copies"))
    assert (tmp_path / "copies" / "saved" / "MLmodel").is_file()


def test_registered_model_uris(iris, classifier):
    x, y = iris
    other = LogisticRegression(max_iter=1000, C=0.01).fit(x, y)
    client = nbtrack.MlflowClient()
    with nbtrack.start_run():
        first = nbtrack.sklearn.log_model(classifier, name="a", registered_model_name="clf")
        second = nbtrack.sklearn.log_model(other, name="b", registered_model_name="clf")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    client.set_registered_model_alias("clf", "champion", "1")
    client.transition_model_version_stage("clf", "2", "Staging")
    cases = {
        "models:/clf/1": classifier,  # a version number
        "models:/clf@champion": classifier,  # an alias
        "models:/clf/Staging": other,  # a stage
        "models:/clf/staging": other,  # stages ignore case, as in MLflow
        "models:/clf/latest": other,  # the highest version
    }
    for uri, estimator in cases.items():
        np.testing.assert_array_equal(
            nbtrack.pyfunc.load_model(uri).predict(x), estimator.predict(x), err_msg=uri
        )
    np.testing.assert_array_equal(
        nbtrack.sklearn.load_model("models:/clf/2").predict(x), other.predict(x)
    )
    for uri in (
        "models:/clf/9",
        "models:/clf@nobody",
        "models:/clf/Production",
        "models:/unknown/latest",
    ):
        with pytest.raises(ModelNotFound):
            nbtrack.pyfunc.load_model(uri)


def test_autolog_forwards_to_the_autolog_module(iris):
    x, y = iris
    nbtrack.sklearn.autolog()
    try:
        model = LogisticRegression(max_iter=1000).fit(x, y)
    finally:
        nbtrack.sklearn.autolog(disable=True)
    run = nbtrack.last_active_run()
    loaded = nbtrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert LogisticRegression.fit.__module__.startswith("sklearn")  # the patch is undone
