"""Both directions against real MLflow (mlflow-skinny 3.17): the model folder is one format."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import SignatureError, UnsafeModelError
from nbtrack.models import Model, infer_signature

# MLflow's requirement inference runs pip in a subprocess; give MLflow's saves their list.
REQUIREMENTS = ["scikit-learn", "skops"]


@contextmanager
def quiet():
    """Silence the deprecation and hint warnings MLflow's own code emits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


with quiet():  # without MLflow (mlflow-skinny, in the dev extra) these tests skip
    pytest.importorskip("mlflow", reason="the interop tests need MLflow: pip install mlflow-skinny")

pytestmark = pytest.mark.slow  # importing MLflow alone takes seconds


def mlflow_modules():
    with quiet():
        import mlflow.models
        import mlflow.pyfunc
        import mlflow.sklearn
    return mlflow


@pytest.fixture(scope="module")
def data():
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return x, y


@pytest.fixture(scope="module")
def classifier(data):
    x, y = data
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)


@pytest.mark.parametrize(
    "serialization_format",
    [
        # the skops default
        "skops",
        # cloudpickle, which MLflow loads too
        "cloudpickle",
    ],
)
def test_mlflow_loads_what_nbtrack_saves(tmp_path, data, classifier, serialization_format):
    mlflow = mlflow_modules()
    x, _ = data
    nbtrack.sklearn.save_model(
        classifier,
        tmp_path / "m",
        input_example=x.head(3),
        serialization_format=serialization_format,
    )
    with quiet():
        loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
        predictions = loaded.predict(x)
        estimator = mlflow.sklearn.load_model(str(tmp_path / "m"))
        meta = mlflow.models.Model.load(str(tmp_path / "m"))
    np.testing.assert_array_equal(predictions, classifier.predict(x))
    np.testing.assert_array_equal(estimator.predict(x), classifier.predict(x))
    ours = Model.load(tmp_path / "m")
    assert meta.signature.to_dict() == ours.signature.to_dict()
    assert meta.saved_input_example_info == ours.saved_input_example_info
    assert (meta.model_uuid, meta.utc_time_created) == (ours.model_uuid, ours.utc_time_created)
    pd.testing.assert_frame_equal(loaded.input_example, x.head(3))


def test_mlflow_loads_a_logged_model_with_trusted_types(data):
    mlflow = mlflow_modules()
    x, y = data
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(forest, name="forest")
    folder = nbtrack.MlflowClient().download_artifacts(info.run_id, "forest")
    with quiet():
        loaded = mlflow.pyfunc.load_model(folder)
        predictions = loaded.predict(x)
    np.testing.assert_array_equal(predictions, forest.predict(x))
    assert loaded.metadata.run_id == info.run_id


def test_mlflow_enforces_a_tensor_signature_nbtrack_wrote(tmp_path, data):
    mlflow = mlflow_modules()
    x, y = data
    array = x.to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(array, y)
    signature = infer_signature(array, model.predict(array))
    nbtrack.sklearn.save_model(model, tmp_path / "m", signature=signature)
    ours = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    with quiet():
        theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
        np.testing.assert_array_equal(theirs.predict(array), ours.predict(array))
        with pytest.raises(mlflow.exceptions.MlflowException, match="Shape of input"):
            theirs.predict(array[:, :5])
    with pytest.raises(SignatureError, match="shape"):
        ours.predict(array[:, :5])


def test_nbtrack_loads_what_mlflow_saves_by_default(tmp_path, data, classifier):
    mlflow = mlflow_modules()
    x, _ = data
    with quiet():
        mlflow.sklearn.save_model(classifier, str(tmp_path / "m"), input_example=x.head(2))
        theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    assert loaded.metadata.flavors["sklearn"]["serialization_format"] == "skops"
    np.testing.assert_array_equal(loaded.predict(x), classifier.predict(x))
    assert loaded.metadata.signature.to_dict() == theirs.metadata.signature.to_dict()
    pd.testing.assert_frame_equal(loaded.input_example, x.head(2))
    estimator = nbtrack.sklearn.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(estimator.predict(x), classifier.predict(x))


def test_nbtrack_loads_mlflow_skops_models_with_sklearn_types(tmp_path, data):
    mlflow = mlflow_modules()
    x, y = data
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    with quiet():
        mlflow.sklearn.save_model(
            forest,
            str(tmp_path / "m"),
            pip_requirements=REQUIREMENTS,
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(x), forest.predict(x))


@pytest.mark.parametrize("serialization_format", ["cloudpickle", "pickle"])
def test_mlflow_pickles_load_only_with_allow_pickle(
    tmp_path, data, classifier, serialization_format
):
    mlflow = mlflow_modules()
    x, _ = data
    with quiet():
        mlflow.sklearn.save_model(
            classifier,
            str(tmp_path / "m"),
            pip_requirements=REQUIREMENTS,
            serialization_format=serialization_format,
        )
    with pytest.raises(UnsafeModelError, match="allow_pickle=True"):
        nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(x), classifier.predict(x))


@pytest.mark.parametrize(
    "change",
    [
        # the data as logged
        lambda d: d,
        # columns in another order
        lambda d: d[d.columns[::-1]],
        # a column missing
        lambda d: d.drop(columns=["n"]),
        # int64 values for a double column (MLflow refuses: > 2**53 loses precision)
        lambda d: d.assign(x=d["x"].round().astype("int64") + 2),
        # int32 values for a double column (exact)
        lambda d: d.assign(x=d["x"].round().astype("int32")),
        # doubles for a long column
        lambda d: d.assign(n=d["n"] + 0.5),
        # int32 for a long column
        lambda d: d.assign(n=d["n"].astype("int32")),
        # float32 for a double column
        lambda d: d.assign(x=d["x"].astype("float32")),
    ],
)
def test_signature_enforcement_agrees_with_mlflow(tmp_path, change):
    mlflow = mlflow_modules()
    train = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "n": [1, 2, 3, 4]})
    model = LogisticRegression().fit(train, [0, 0, 1, 1])
    nbtrack.sklearn.save_model(
        model, tmp_path / "m", signature=infer_signature(train, model.predict(train))
    )
    ours = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    with quiet():
        theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    data = change(train)
    try:
        with quiet():
            expected = theirs.predict(data)
    except mlflow.exceptions.MlflowException:
        with pytest.raises(SignatureError):
            ours.predict(data)
    else:
        np.testing.assert_array_equal(ours.predict(data), expected)
