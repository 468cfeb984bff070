"""Schemas inferred from data: DataFrames, numpy arrays, dicts and lists, and params.

MLflow's rules (``mlflow.types.utils``): a DataFrame gives one named column per column, a
numpy array one unnamed tensor, a dict of arrays named tensors; numpy and pandas are
imported only when data is inspected.
"""

from __future__ import annotations

import sys
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.types.schema import (
    SCALAR_TYPES,
    AnyType,
    ColSpec,
    DataType,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)


def infer_schema(data: Any) -> Schema:
    """A schema inferred from data, with MLflow's rules (``mlflow.types.utils._infer_schema``).

    Parameters
    ----------
    data
        A pandas DataFrame or Series (→ ColSpecs), a numpy array, a dict of numpy arrays or a
        scipy sparse matrix (→ TensorSpecs with the first dimension variable), a dict of
        scalars, a list of dicts, a list of scalars or a scalar (→ ColSpecs).
    """
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if isinstance(data, list) and not data:
        return Schema([ColSpec(DataType.string)])
    if pd is not None and isinstance(data, pd.DataFrame):
        return Schema(
            [
                ColSpec(_pandas_column_type(data[c], c), c, not bool(data[c].isna().any()))
                for c in data.columns
            ]
        )
    if pd is not None and isinstance(data, pd.Series):
        return Schema(
            [ColSpec(_pandas_column_type(data, data.name), data.name, not bool(data.isna().any()))]
        )
    if np is not None and isinstance(data, np.ndarray):
        return Schema([TensorSpec(_clean_dtype(data.dtype), _variable_shape(data.shape))])
    if _is_sparse(data):
        return Schema([TensorSpec(_clean_dtype(data.data.dtype), _variable_shape(data.shape))])
    if isinstance(data, dict):
        if data and np is not None and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(
                [
                    TensorSpec(_clean_dtype(v.dtype), _variable_shape(v.shape), str(k))
                    for k, v in data.items()
                ]
            )
        return Schema([ColSpec(_values_type([v], k), k, not _missing(v)) for k, v in data.items()])
    if isinstance(data, list) and all(isinstance(v, dict) for v in data):
        names = list(dict.fromkeys(k for row in data for k in row))
        return Schema(
            [
                ColSpec(
                    _values_type([row.get(k) for row in data], k),
                    k,
                    all(row.get(k) is not None for row in data),
                )
                for k in names
            ]
        )
    if isinstance(data, list):
        return Schema([ColSpec(_values_type(data, None))])
    return Schema([ColSpec(_values_type([data], None))])


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """A ParamSchema whose defaults are the given values (scalars or 1-D lists)."""
    if not isinstance(params, dict):
        raise InvalidParameter(f"params must be a dict (found {type(params).__name__})")
    specs = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
            values = list(value)
            if any(isinstance(v, (list, tuple, dict)) for v in values):
                raise InvalidParameter(f"param {name!r} must be a scalar or a 1-D list", key=name)
            specs.append(ParamSpec(name, _values_type(values, name), values, (-1,)))
        else:
            specs.append(ParamSpec(name, _values_type([value], name), value))
    return ParamSchema(specs)


def _missing(value: Any) -> bool:
    if isinstance(value, float):
        return value != value
    pd = sys.modules.get("pandas")
    return value is None or (pd is not None and (value is pd.NA or value is pd.NaT))


def _values_type(values: list[Any], name: Any) -> DataType | AnyType:
    found: DataType | None = None
    for value in values:
        if _missing(value):
            continue
        kind = SCALAR_TYPES.get(type(value).__name__)
        where = f" in column {name!r}" if name is not None else ""
        if kind is None:
            raise InvalidParameter(
                f"cannot infer a type for {type(value).__name__} value {value!r}{where}: "
                f"nbtrack infers scalar types ({', '.join(DataType.__members__)}); pass the "
                "schema by hand or convert the values",
                column=name,
            )
        if found is not None and kind is not found:
            raise InvalidParameter(
                f"values{where} mix types {found.name} and {kind.name}; make them one type",
                column=name,
            )
        found = kind
    return AnyType() if found is None else found


def _pandas_column_type(col: Any, name: Any) -> DataType | AnyType:
    import pandas as pd

    if isinstance(col.dtype, pd.StringDtype):
        return DataType.string
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind == "O":
        if pd.api.types.is_string_dtype(col) and not col.isna().all():
            return DataType.string
        return _values_type(col.tolist(), name)
    return numpy_data_type(col.dtype, name)


def numpy_data_type(dtype: Any, name: Any = None) -> DataType:
    """The DataType of a numpy (or pandas extension) dtype, by MLflow's size rules."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in "iu" and (size < 4 or (kind == "i" and size == 4)):
        return DataType.integer
    if kind in "iu" and (size < 8 or (kind == "i" and size == 8)):
        return DataType.long
    if kind == "f" and size <= 8:
        return DataType.float if size <= 4 else DataType.double
    found = {"U": DataType.string, "S": DataType.binary, "M": DataType.datetime}.get(kind)
    if found is None:
        where = f" of column {name!r}" if name is not None else ""
        raise InvalidParameter(
            f"dtype {dtype}{where} has no MLflow data type; convert it (e.g. to float64)",
            column=name,
        )
    return found


def _clean_dtype(dtype: Any) -> Any:
    import numpy as np

    return np.dtype({"U": "str", "S": "bytes"}.get(dtype.char, dtype))


def _variable_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (-1, *shape[1:]) if shape else shape


def _is_sparse(data: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and isinstance(data, (sparse.csr_matrix, sparse.csc_matrix))
