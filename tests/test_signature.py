from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from nbtrack.errors import InvalidParameter
from nbtrack.models import Model, ModelSignature, infer_signature
from nbtrack.models.signature import read_example, save_example
from nbtrack.types import ColSpec, Schema, TensorSpec


def mlflow_module(name):
    """An MLflow module to compare with; the test skips where MLflow is not installed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own import-time deprecations
        return pytest.importorskip(name, reason="comparing with MLflow needs mlflow-skinny")


def mlflow_signature_dict(*args, **kwargs):
    mlflow_infer = mlflow_module("mlflow.models").infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow hints about integer columns
        return mlflow_infer(*args, **kwargs).to_dict()


FRAME = pd.DataFrame({"x": [1.0, 2.5], "n": [1, 2], "s": ["a", "b"]})


@pytest.mark.parametrize(
    ("model_input", "model_output", "params"),
    [
        # a DataFrame in, a 1-D array out
        (FRAME, np.array([0, 1]), None),
        # a 2-D array in, probabilities out
        (np.zeros((3, 4)), np.zeros((3, 2), dtype=np.float32), None),
        # input only
        (FRAME, None, None),
        # params only
        (None, None, {"threshold": 0.5, "top_k": 3}),
        # everything, with a Series output
        (FRAME, pd.Series([1.0, 2.0], name="y"), {"labels": ["a", "b"]}),
    ],
)
def test_infer_signature_dict_is_mlflows(model_input, model_output, params):
    signature = infer_signature(model_input, model_output, params)
    assert signature.to_dict() == mlflow_signature_dict(model_input, model_output, params)


def test_signature_from_dict_round_trip_and_mlflow_reads_it():
    MlflowSignature = mlflow_module("mlflow.models").ModelSignature

    signature = infer_signature(FRAME, np.array([0, 1]), {"k": 1})
    assert ModelSignature.from_dict(signature.to_dict()) == signature
    assert MlflowSignature.from_dict(signature.to_dict()).to_dict() == signature.to_dict()


@pytest.mark.parametrize(
    "kwargs",
    [
        # nothing at all
        {},
        # a dict where a Schema belongs
        {"inputs": {"x": "double"}},
        # a Schema where a ParamSchema belongs
        {"params": Schema([ColSpec("double")])},
    ],
)
def test_bad_signatures_are_refused(kwargs):
    with pytest.raises(InvalidParameter):
        ModelSignature(**kwargs)


EXAMPLES = [
    # a DataFrame with a missing value
    pd.DataFrame({"x": [1.0, np.nan], "s": ["a", "b"]}),
    # a DataFrame without column names
    pd.DataFrame([[1, 2], [3, 4]]),
    # a float array with NaN
    np.array([[1.0, np.nan], [3.0, 4.0]]),
    # a dict of arrays
    {"a": np.array([1, 2]), "b": np.array([[0.5], [1.5]])},
    # a JSON object
    {"question": "why?", "n": 3},
    # a list
    ["a", "b"],
    # a scalar
    7,
    # a CSR matrix
    sparse.csr_matrix(np.eye(2)),
    # data with params
    (pd.DataFrame({"x": [1.0]}), {"threshold": 0.5}),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: type(e).__name__)
def test_input_example_files_are_mlflows(example, tmp_path):
    MlflowModel = mlflow_module("mlflow.models").Model
    _save_example = mlflow_module("mlflow.models.utils")._save_example

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    model, mlflow_model = Model(), MlflowModel()
    save_example(model, example, ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own pandas-4 and type-hint warnings
        _save_example(mlflow_model, example, str(theirs))
    assert model.saved_input_example_info == mlflow_model.saved_input_example_info
    for name in sorted(p.name for p in theirs.iterdir()):
        assert (ours / name).read_text() == (theirs / name).read_text(), name


def test_input_example_reads_back_as_the_data(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0], "n": [1, 2]})
    model = Model(signature=infer_signature(frame))
    save_example(model, frame, tmp_path)
    pd.testing.assert_frame_equal(read_example(model, tmp_path), frame)

    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    model = Model(signature=infer_signature(array))
    save_example(model, array, tmp_path)
    back = read_example(model, tmp_path)
    assert back.dtype == np.float32 and (back == array).all()


def test_input_example_with_params_keeps_them_apart(tmp_path):
    model = Model()
    _, params = save_example(model, ({"q": "hi"}, {"k": 2}), tmp_path)
    assert params == {"k": 2}
    assert json.loads((tmp_path / "input_example.json").read_text()) == {
        "inputs": {"q": "hi"},
        "params": {"k": 2},
    }
    assert read_example(model, tmp_path) == {"q": "hi"}


def test_unsupported_input_example_is_refused(tmp_path):
    with pytest.raises(InvalidParameter, match="input_example must be"):
        save_example(Model(), object(), tmp_path)


def test_tensor_signature_repr_names_its_parts():
    signature = ModelSignature(Schema([TensorSpec(np.dtype("float64"), (-1, 3))]))
    assert "Tensor('float64', (-1, 3))" in repr(signature)
    assert signature.to_dict()["outputs"] is None
