from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from nbtrack.errors import InvalidParameter
from nbtrack.types import (
    AnyType,
    ColSpec,
    DataType,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    infer_param_schema,
    infer_schema,
)


def mlflow_module(name):
    """An MLflow module to compare with; the test skips where MLflow is not installed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own import-time deprecations
        return pytest.importorskip(name, reason="comparing with MLflow needs mlflow-skinny")


def mlflow_schema_json(data):
    _infer_schema = mlflow_module("mlflow.types.utils")._infer_schema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow hints about integer columns
        return _infer_schema(data).to_json()


INFER_CASES = [
    # a DataFrame of every scalar kind
    pd.DataFrame(
        {
            "f64": [1.5, 2.0],
            "f32": np.array([1, 2], dtype=np.float32),
            "i64": [1, 2],
            "i32": np.array([1, 2], dtype=np.int32),
            "i8": np.array([1, 2], dtype=np.int8),
            "u32": np.array([1, 2], dtype=np.uint32),
            "b": [True, False],
            "s": ["x", "y"],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "raw": [b"a", b"b"],
        }
    ),
    # missing values make a column optional
    pd.DataFrame({"x": [1.0, np.nan], "s": ["a", None]}),
    # object column of Python ints is a long column
    pd.DataFrame({"o": pd.Series([1, 2], dtype=object)}),
    # a named Series
    pd.Series([1.0, 2.0], name="score"),
    # a 2-D float array: first dimension variable
    np.zeros((4, 3)),
    # a 3-D int array
    np.zeros((2, 3, 5), dtype=np.int32),
    # string arrays lose their size
    np.array(["a", "bcd"]),
    # a dict of arrays: named tensors
    {"a": np.zeros((2, 2)), "b": np.ones(3, dtype=np.float32)},
    # a CSR matrix
    sparse.csr_matrix(np.eye(3)),
    # a dict of scalars: one named column each
    {"a": 1, "b": "x", "c": 2.5},
    # a list of records
    [{"a": 1, "b": "x"}, {"a": 2, "b": None}],
    # a list of scalars
    ["a", "b"],
    # a scalar
    3.5,
    # the empty list is a string column, for MLflow's backward compatibility
    [],
]


@pytest.mark.parametrize("data", INFER_CASES, ids=lambda d: type(d).__name__)
def test_infer_schema_json_is_mlflows(data):
    assert infer_schema(data).to_json() == mlflow_schema_json(data)


@pytest.mark.parametrize(
    "params",
    [
        # every scalar type
        {"a": 1, "b": 2.5, "c": "x", "d": True},
        # a list param
        {"ids": [1, 2, 3]},
        # a datetime param
        {"when": dt.datetime(2024, 1, 2, 3, 4)},
        # numpy scalars
        {"t": np.float32(0.5), "n": np.int32(3)},
    ],
)
def test_infer_param_schema_json_is_mlflows(params):
    _infer_param_schema = mlflow_module("mlflow.types.utils")._infer_param_schema

    assert infer_param_schema(params).to_json() == _infer_param_schema(params).to_json()


@pytest.mark.parametrize("data", INFER_CASES[:9], ids=lambda d: type(d).__name__)
def test_schema_round_trips_through_json(data):
    schema = infer_schema(data)
    assert Schema.from_json(schema.to_json()) == schema


def test_mlflow_reads_our_schema_json_and_we_read_its():
    MlflowSchema = mlflow_module("mlflow.types").Schema

    schema = Schema(
        [
            ColSpec("double", "x"),
            ColSpec(DataType.string, "s", required=False),
            ColSpec(AnyType(), "nothing", required=False),
        ]
    )
    theirs = MlflowSchema.from_json(schema.to_json())
    assert theirs.to_json() == schema.to_json()
    assert Schema.from_json(theirs.to_json()) == schema


def test_data_types_map_to_numpy_and_python():
    assert DataType.long.to_numpy() == np.dtype("int64")
    assert DataType.float.to_numpy() == np.dtype("float32")
    assert DataType.string.to_pandas() == np.dtype("O")
    assert DataType.datetime.to_python() is dt.date
    assert DataType.check_type(DataType.long, np.int64(1))
    assert not DataType.check_type(DataType.long, 1.0)


def test_schema_accessors():
    schema = Schema([ColSpec("double", "a"), ColSpec("long", "b", required=False)])
    assert schema.input_names() == ["a", "b"]
    assert schema.required_input_names() == ["a"]
    assert schema.optional_input_names() == ["b"]
    assert schema.input_types_dict() == {"a": DataType.double, "b": DataType.long}
    assert schema.numpy_types() == [np.dtype("float64"), np.dtype("int64")]
    assert not schema.is_tensor_spec()
    tensors = Schema([TensorSpec(np.dtype("float32"), (-1, 4), "x")])
    assert tensors.is_tensor_spec() and tensors.has_input_names()
    assert tensors.to_dict() == [
        {"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": (-1, 4)}}
    ]


@pytest.mark.parametrize(
    "build",
    [
        # an empty schema
        lambda: Schema([]),
        # named and unnamed mixed
        lambda: Schema([ColSpec("double", "a"), ColSpec("double")]),
        # columns and tensors mixed
        lambda: Schema([ColSpec("double", "a"), TensorSpec(np.dtype("f8"), (-1,), "b")]),
        # several unnamed tensors
        lambda: Schema([TensorSpec(np.dtype("f8"), (-1,)), TensorSpec(np.dtype("f8"), (-1,))]),
        # an unnamed optional column
        lambda: Schema([ColSpec("double", required=False)]),
        # an unknown type name
        lambda: ColSpec("decimal", "a"),
        # MLflow's complex types are not supported
        lambda: ColSpec.from_json_dict(type="array", items={"type": "string"}, name="a"),
        # a sized string dtype
        lambda: TensorSpec(np.dtype("U5"), (-1,)),
        # binary params are not allowed
        lambda: ParamSpec("p", "binary", b"x"),
        # a default of the wrong type
        lambda: ParamSpec("p", "long", "seven"),
        # duplicated params
        lambda: ParamSchema([ParamSpec("p", "long", 1), ParamSpec("p", "long", 2)]),
        # a column of lists cannot be inferred
        lambda: infer_schema(pd.DataFrame({"l": [[1], [2]]})),
        # mixed value types
        lambda: infer_schema([1, "a"]),
    ],
)
def test_bad_specs_raise_invalid_parameter(build):
    with pytest.raises(InvalidParameter):
        build()


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        # exact type
        ("long", 3, 3),
        # int widens to double
        ("double", 3, 3.0),
        # numpy float32 widens to double
        ("double", np.float32(0.5), 0.5),
        # a string date becomes a datetime
        ("datetime", "2024-01-02", dt.date(2024, 1, 2)),
        # None stays None
        ("string", None, None),
    ],
)
def test_param_values_convert_losslessly(dtype, value, expected):
    spec = ParamSpec("p", dtype, None)
    assert ParamSpec("p", dtype, value).default == expected
    assert spec.default is None


def test_param_double_to_long_is_refused():
    with pytest.raises(InvalidParameter, match="param 'p' expects long but received float"):
        ParamSpec("p", "long", 2.5)


def test_param_schema_round_trips_with_mlflow():
    MlflowParamSchema = mlflow_module("mlflow.types").ParamSchema

    schema = ParamSchema(
        [
            ParamSpec("k", "long", 5),
            ParamSpec("ids", "string", ["a", "b"], (-1,)),
            ParamSpec("when", "datetime", dt.datetime(2024, 1, 1)),
        ]
    )
    assert MlflowParamSchema.from_json(schema.to_json()).to_json() == schema.to_json()
    assert ParamSchema.from_json(schema.to_json()) == schema
    assert json.loads(schema.to_json())[2]["default"] == "2024-01-01T00:00:00"


def test_importing_types_loads_neither_numpy_nor_pandas():
    code = "import sys, nbtrack.types; print('numpy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
