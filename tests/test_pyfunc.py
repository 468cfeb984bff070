from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import InvalidParameter, SignatureError
from nbtrack.models import Model, infer_signature
from nbtrack.models.enforcement import enforce_params, enforce_schema
from nbtrack.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

COLUMNS = Schema(
    [
        ColSpec("double", "x"),
        ColSpec("long", "n"),
        ColSpec("string", "s"),
        ColSpec("double", "opt", required=False),
    ]
)


def frame(**columns):
    base = {"x": [1.0, 2.0], "n": [1, 2], "s": ["a", "b"]}
    return pd.DataFrame({**base, **columns})


def test_matching_frame_passes_through_unchanged():
    data = frame(opt=[0.5, 1.5])
    assert enforce_schema(data, COLUMNS) is data


@pytest.mark.parametrize(
    ("data", "column", "expected", "received"),
    [
        # double values into a long column would lose their fraction
        (frame(n=[1.5, 2.0]), "n", "long", "float64"),
        # int64 into double may lose precision above 2**53 (MLflow refuses it too)
        (frame(x=np.array([3, 5], dtype=np.int64)), "x", "double", "int64"),
        # text into a number
        (frame(x=["1", "2"]), "x", "double", "str"),
        # float64 into float32 would round
        (pd.DataFrame({"x": [0.1, 0.2]}), "x", "float", "float64"),
    ],
)
def test_unsafe_conversions_name_column_and_types(data, column, expected, received):
    schema = COLUMNS if expected != "float" else Schema([ColSpec("float", "x")])
    with pytest.raises(SignatureError) as caught:
        enforce_schema(data, schema)
    error = caught.value
    assert (error.column, error.expected, error.received) == (column, expected, received)
    assert repr(column) in str(error) and expected in str(error) and received in str(error)


@pytest.mark.parametrize(
    ("values", "spec_type", "result_dtype"),
    [
        # int32 fits a double exactly
        (np.array([1, 2], dtype=np.int32), "double", "float64"),
        # int32 widens to long
        (np.array([1, 2], dtype=np.int32), "long", "int64"),
        # float32 widens to double
        (np.array([0.5, 1.5], dtype=np.float32), "double", "float64"),
        # uint16 fits an int32
        (np.array([1, 2], dtype=np.uint16), "integer", "int32"),
        # 0/1 int64 values are exact in any float
        (np.array([0, 1], dtype=np.int64), "float", "float32"),
        # Python ints in an object column are inferred first
        (pd.Series([1, 2], dtype=object), "long", "int64"),
        # nanosecond datetimes of any precision
        (np.array(["2024-01-01"], dtype="datetime64[s]"), "datetime", "datetime64[ns]"),
    ],
)
def test_safe_conversions_happen(values, spec_type, result_dtype):
    out = enforce_schema(pd.DataFrame({"c": values}), Schema([ColSpec(spec_type, "c")]))
    assert str(out["c"].dtype) == result_dtype


def test_missing_required_column_is_named():
    with pytest.raises(SignatureError, match=r"missing column\(s\) \['n'\]") as caught:
        enforce_schema(frame().drop(columns="n"), COLUMNS)
    assert caught.value.missing == ["n"]


def test_extra_columns_are_dropped_with_a_warning_and_order_follows_the_schema():
    data = frame(extra=[0, 0])[["s", "extra", "n", "x"]]
    with pytest.warns(UserWarning, match=r"\['extra'\] are not in the model's signature"):
        out = enforce_schema(data, COLUMNS)
    assert list(out.columns) == ["x", "n", "s"]


@pytest.mark.parametrize(
    ("data", "expected_rows"),
    [
        # a dict of scalars is one row
        ({"x": 1.0, "n": 1, "s": "a"}, 1),
        # a dict of lists is a column each
        ({"x": [1.0, 2.0], "n": [1, 2], "s": ["a", "b"]}, 2),
        # a list of records
        ([{"x": 1.0, "n": 1, "s": "a"}], 1),
    ],
)
def test_non_frame_inputs_become_frames(data, expected_rows):
    assert len(enforce_schema(data, COLUMNS)) == expected_rows


def test_unnamed_columns_are_checked_by_count():
    schema = Schema([ColSpec("double"), ColSpec("double")])
    assert enforce_schema(np.zeros((2, 3)), schema).shape == (2, 2)
    with pytest.raises(SignatureError, match="declares 2 unnamed input columns"):
        enforce_schema(np.zeros((2, 1)), schema)


TENSOR = Schema([TensorSpec(np.dtype("float64"), (-1, 3))])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # a wrong fixed dimension
        (np.zeros((2, 4)), r"has shape \(2, 4\) but the model takes shape \(-1, 3\)"),
        # a wrong number of dimensions
        (np.zeros(3), r"has shape \(3,\)"),
        # tensors are strict about dtype, as in MLflow
        (np.zeros((2, 3), dtype=np.float32), "has dtype float32 but the model takes float64"),
        # not an array at all
        ([[1.0, 2.0, 3.0]], "must be a numpy array"),
        # a DataFrame of the wrong width
        (pd.DataFrame(np.zeros((2, 2))), r"takes a tensor of shape \(-1, 3\)"),
    ],
)
def test_tensor_mismatches(data, message):
    with pytest.raises(SignatureError, match=message):
        enforce_schema(data, TENSOR)


def test_tensor_any_size_dimension_and_named_tensors():
    data = np.zeros((7, 3))
    assert enforce_schema(data, TENSOR) is data
    assert enforce_schema(pd.DataFrame(data), TENSOR).shape == (7, 3)
    named = Schema(
        [
            TensorSpec(np.dtype("int64"), (-1,), "a"),
            TensorSpec(np.dtype("float64"), (-1, 2), "b"),
        ]
    )
    out = enforce_schema({"a": np.array([1, 2]), "b": np.zeros((2, 2))}, named)
    assert set(out) == {"a", "b"}
    with pytest.raises(SignatureError, match=r"missing tensor\(s\) \['b'\]"):
        enforce_schema({"a": np.array([1])}, named)


def test_params_are_checked_and_defaulted():
    schema = ParamSchema([ParamSpec("k", "long", 5), ParamSpec("t", "double", 0.5)])
    assert enforce_params(None, schema) == {"k": 5, "t": 0.5}
    assert enforce_params({"t": 1}, schema) == {"k": 5, "t": 1.0}
    with pytest.raises(InvalidParameter, match="param 'k' expects long"):
        enforce_params({"k": 1.5}, schema)
    with pytest.warns(UserWarning, match=r"params \['zzz'\] are ignored"):
        enforce_params({"zzz": 1}, schema)
    with pytest.warns(UserWarning, match="declares no params"):
        assert enforce_params({"k": 1}, None) == {}


@pytest.fixture
def saved_regressor(tmp_path):
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    model = LinearRegression().fit(x, [1.0, 2.0, 3.0, 4.0])
    path = tmp_path / "reg"
    nbtrack.sklearn.save_model(model, path, input_example=x.head(2))
    return model, x, path


def test_loaded_model_predicts_like_the_estimator(saved_regressor):
    model, x, path = saved_regressor
    loaded = nbtrack.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert isinstance(loaded.metadata, Model)
    assert loaded.loader_module == "mlflow.sklearn"
    assert loaded.model_config == {}
    assert type(loaded.get_raw_model()) is LinearRegression
    pd.testing.assert_frame_equal(loaded.input_example, x.head(2))
    with pytest.raises(SignatureError, match=r"\['b'\]"):
        loaded.predict(x[["a"]])


def test_predict_fn_and_params_reach_the_model(tmp_path):
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    signature = infer_signature(x, params={"unused": 1})
    nbtrack.sklearn.save_model(
        model, tmp_path / "m", signature=signature, pyfunc_predict_fn="predict_proba"
    )
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    assert loaded.predict(x, params={"unused": 2}).shape == (4, 2)


def test_model_without_signature_takes_anything(tmp_path):
    x = np.array([[0.0], [1.0]])
    nbtrack.sklearn.save_model(LinearRegression().fit(x, [0.0, 1.0]), tmp_path / "m")
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    assert loaded.metadata.signature is None and loaded.input_example is None
    np.testing.assert_allclose(loaded.predict(x), [0.0, 1.0], atol=1e-9)


@pytest.mark.parametrize(
    ("flavors", "message"),
    [
        # only a flavor pyfunc cannot call
        ({"sklearn": {"pickled_model": "model.pkl"}}, "has no python_function flavor"),
        # another library's loader
        ({"python_function": {"loader_module": "mlflow.xgboost"}}, "uses 'mlflow.xgboost'"),
    ],
)
def test_models_nbtrack_cannot_load_are_refused(tmp_path, flavors, message):
    Model(flavors=flavors).save(tmp_path / "MLmodel")
    with pytest.raises(InvalidParameter, match=message):
        nbtrack.pyfunc.load_model(str(tmp_path))


def test_other_python_version_warns(saved_regressor):
    _, _, path = saved_regressor
    meta = Model.load(path)
    meta.flavors["python_function"]["python_version"] = "2.7.18"
    meta.save(path / "MLmodel")
    with pytest.warns(UserWarning, match="saved with Python 2.7.18"):
        nbtrack.pyfunc.load_model(str(path))
    nbtrack.pyfunc.load_model(str(path), suppress_warnings=True)
