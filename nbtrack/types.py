"""Data types and schemas of model inputs, outputs and params, as ``mlflow.types`` has them.

A :class:`Schema` is a list of :class:`ColSpec` (named or unnamed columns of a scalar
:class:`DataType`) or of :class:`TensorSpec` (numpy arrays of a dtype and shape, ``-1`` for
any size); a :class:`ParamSchema` lists the inference params a model accepts. Their JSON is
MLflow's, byte for byte, so an ``MLmodel`` signature reads the same in both libraries.

numpy and pandas are imported only when data is inspected, never at import.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from enum import Enum
from typing import Any

from nbtrack.errors import InvalidParameter

__all__ = [
    "AnyType",
    "ColSpec",
    "DataType",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "infer_param_schema",
    "infer_schema",
]


class DataType(Enum):
    """MLflow's scalar column types."""

    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> Any:
        """The numpy dtype of this type (``str``/``bytes`` for string/binary)."""
        import numpy as np

        return np.dtype(_TYPE_INFO[self.name][0])

    def to_pandas(self) -> Any:
        """The dtype pandas holds this type in (object for string and binary)."""
        import numpy as np

        return np.dtype("O") if self.name in ("string", "binary") else self.to_numpy()

    def to_python(self) -> type:
        """The Python type of one value."""
        return _TYPE_INFO[self.name][1]

    @classmethod
    def check_type(cls, data_type: DataType, value: Any) -> bool:
        """Whether a scalar value is of this type (MLflow's exact-type check)."""
        return type(value).__name__ in _TYPE_INFO[data_type.name][2]

    @classmethod
    def all_types(cls) -> list[DataType]:
        """Every data type."""
        return list(cls)


# name: (numpy dtype, Python type, the type(value).__name__ check_type accepts: no numpy needed)
_TYPE_INFO: dict[str, tuple[str, type, tuple[str, ...]]] = {
    "boolean": ("bool", bool, ("bool", "bool_")),
    "integer": ("int32", int, ("int", "int32")),
    "long": ("int64", int, ("int", "int64")),
    "float": ("float32", float, ("float", "float32")),
    "double": ("float64", float, ("float", "float64")),
    "string": ("str", str, ("str", "str_")),
    "binary": ("bytes", bytes, ("bytes", "bytes_", "bytearray")),
    "datetime": ("datetime64[ns]", dt.date, ("date", "datetime", "datetime64")),
}
# type(value).__name__ -> the type MLflow infers for such a value
_SCALAR_TYPES = {
    value_type: DataType[name]
    for name, value_types in {
        "boolean": "bool bool_",
        "integer": "int32",
        "long": "int int64",
        "float": "float32",
        "double": "float float64",
        "string": "str str_",
        "binary": "bytes bytes_ bytearray",
        "datetime": "date datetime datetime64 Timestamp",
    }.items()
    for value_type in value_types.split()
}
_COMPLEX_TYPES = ("array", "object", "map", "sparkml_vector")


class AnyType:
    """A column whose values are all missing, so their type is unknown (not checked)."""

    name = "any"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash("any")

    def __repr__(self) -> str:
        return "Any"

    def to_numpy(self) -> Any:
        """Values of unknown type are held as objects."""
        import numpy as np

        return np.dtype("O")


class ColSpec:
    """One column: its ``type`` (a DataType), optional ``name``, and whether ``required``."""

    def __init__(
        self, type: DataType | AnyType | str, name: str | None = None, required: bool = True
    ):
        self.type = _data_type(type, name)
        self.name = name
        self.required = required

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type", "name", "required"}``."""
        out: dict[str, Any] = {"type": self.type.name}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ColSpec:
        """Read the JSON form back."""
        if "type" not in kwargs:
            raise InvalidParameter(f"a column spec needs a 'type' key (found {sorted(kwargs)})")
        required = kwargs.get("required")
        return cls(kwargs["type"], kwargs.get("name"), True if required is None else required)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ColSpec)
            and self.name == other.name
            and self.type == other.type
            and self.required == other.required
        )

    def __repr__(self) -> str:
        required = "required" if self.required else "optional"
        if self.name is None:
            return f"{self.type!r} ({required})"
        return f"{self.name!r}: {self.type!r} ({required})"


def _data_type(value: DataType | AnyType | str, name: str | None) -> DataType | AnyType:
    if isinstance(value, (DataType, AnyType)):
        return value
    if value == "any":
        return AnyType()
    if isinstance(value, str) and value in DataType.__members__:
        return DataType[value]
    where = f" of column {name!r}" if name is not None else ""
    if value in _COMPLEX_TYPES:
        raise InvalidParameter(
            f"type {value!r}{where} is not supported: nbtrack signatures hold scalar columns "
            f"({', '.join(DataType.__members__)}) and tensors; flatten the column or use a "
            "TensorSpec",
            column=name,
        )
    raise InvalidParameter(
        f"type{where} must be a DataType or one of {', '.join(DataType.__members__)} "
        f"(found {value!r})",
        column=name,
    )


class TensorSpec:
    """A numpy array input: its dtype ``type``, its ``shape`` (-1 = any size), its ``name``."""

    def __init__(self, type: Any, shape: tuple[int, ...] | list[int], name: str | None = None):
        import numpy as np

        if not isinstance(type, np.dtype):
            raise InvalidParameter(f"TensorSpec type must be a numpy dtype (found {type!r})")
        if type.char in ("U", "S") and not type.name.isalpha():
            raise InvalidParameter(
                f"TensorSpec dtype {type.name!r} carries a size; use np.dtype("
                f"{type.name.rstrip('0123456789')!r}) instead"
            )
        if not isinstance(shape, (tuple, list)):
            raise InvalidParameter(f"TensorSpec shape must be a tuple or list (found {shape!r})")
        self.type = type
        self.shape = tuple(shape)
        self.name = name
        self.required = True  # tensors always are

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"name"?, "type": "tensor", "tensor-spec": {dtype, shape}}``."""
        spec = {"type": "tensor", "tensor-spec": {"dtype": self.type.name, "shape": self.shape}}
        return spec if self.name is None else {"name": self.name, **spec}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> TensorSpec:
        """Read the JSON form back."""
        import numpy as np

        info = kwargs.get("tensor-spec")
        if kwargs.get("type") != "tensor" or not isinstance(info, dict):
            raise InvalidParameter(
                f"a tensor spec needs type 'tensor' and a 'tensor-spec' (found {kwargs!r})"
            )
        return cls(np.dtype(info["dtype"]), tuple(info["shape"]), kwargs.get("name"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self.name == other.name
            and self.type == other.type
            and self.shape == other.shape
        )

    def __repr__(self) -> str:
        text = f"Tensor({self.type.name!r}, {self.shape!r})"
        return text if self.name is None else f"{self.name!r}: {text}"


class Schema:
    """A dataset's specification: all ColSpecs or all TensorSpecs, all named or all unnamed."""

    def __init__(self, inputs: list[Any]):
        if not isinstance(inputs, list) or not inputs:
            raise InvalidParameter(f"a Schema needs a non-empty list of specs (found {inputs!r})")
        named = [x.name is not None for x in inputs]
        if any(named) and not all(named):
            raise InvalidParameter(
                f"a Schema's inputs must be all named or all unnamed (names: "
                f"{[x.name for x in inputs]})"
            )
        kinds = {type(x) for x in inputs}
        if len(kinds) != 1 or not kinds <= {ColSpec, TensorSpec}:
            raise InvalidParameter("a Schema holds either ColSpecs or TensorSpecs, not a mix")
        if kinds == {TensorSpec} and len(inputs) > 1 and not all(named):
            raise InvalidParameter("a Schema with several TensorSpecs must name each of them")
        if not any(named) and not all(x.required for x in inputs):
            raise InvalidParameter("unnamed inputs cannot be optional; name them")
        self._inputs = inputs

    @property
    def inputs(self) -> list[Any]:
        """The specs, in order."""
        return self._inputs

    def __len__(self) -> int:
        return len(self._inputs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inputs)

    def is_tensor_spec(self) -> bool:
        """Whether the schema is made of TensorSpecs."""
        return isinstance(self._inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """Whether the inputs are named."""
        return self._inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        """The names, or the positions of unnamed inputs."""
        return [x.name or i for i, x in enumerate(self._inputs)]

    def required_input_names(self) -> list[str | int]:
        """The names (or positions) of required inputs."""
        return [x.name or i for i, x in enumerate(self._inputs) if x.required]

    def optional_input_names(self) -> list[str | int]:
        """The names (or positions) of optional inputs."""
        return [x.name or i for i, x in enumerate(self._inputs) if not x.required]

    def input_types(self) -> list[Any]:
        """The type of each input."""
        return [x.type for x in self._inputs]

    def input_types_dict(self) -> dict[str, Any]:
        """Name → type (named schemas only)."""
        return {x.name: x.type for x in self._named()}

    def input_dict(self) -> dict[str, Any]:
        """Name → spec (named schemas only)."""
        return {x.name: x for x in self._named()}

    def _named(self) -> list[Any]:
        if not self.has_input_names():
            raise InvalidParameter("this schema's inputs have no names")
        return self._inputs

    def numpy_types(self) -> list[Any]:
        """The numpy dtype of each input."""
        return [x.type if isinstance(x, TensorSpec) else x.type.to_numpy() for x in self._inputs]

    def to_dict(self) -> list[dict[str, Any]]:
        """The list of spec dicts, as MLflow serialises them."""
        return [x.to_dict() for x in self._inputs]

    def to_json(self) -> str:
        """The JSON string MLflow writes into ``MLmodel``."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str) -> Schema:
        """Read a schema from its JSON string."""
        items = json.loads(json_str)
        return cls([_spec_from_dict(x) for x in items])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return repr(self._inputs)


def _spec_from_dict(item: dict[str, Any]) -> ColSpec | TensorSpec:
    if item.get("type") == "tensor":
        return TensorSpec.from_json_dict(**item)
    return ColSpec.from_json_dict(**item)


class ParamSpec:
    """An inference param: ``name``, ``dtype``, ``default`` and ``shape`` (None, or (-1,))."""

    def __init__(
        self,
        name: str,
        dtype: DataType | AnyType | str,
        default: Any,
        shape: tuple[int, ...] | None = None,
    ):
        self.name = str(name)
        checked = _data_type(dtype, self.name)
        if not isinstance(checked, DataType) or checked is DataType.binary:
            raise InvalidParameter(
                f"param {self.name!r} must have a scalar non-binary type (found {dtype!r})",
                key=self.name,
            )
        self.dtype: DataType = checked
        self.shape = tuple(shape) if shape is not None else None
        self.default = enforce_param_value(self.name, default, self.dtype, self.shape)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"name", "default", "shape", "type"}``."""
        default = self.default
        if self.dtype is DataType.datetime and default is not None:
            default = [v.isoformat() for v in default] if self.shape else default.isoformat()
        return {"name": self.name, "default": default, "shape": self.shape, "type": self.dtype.name}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ParamSpec:
        """Read the JSON form back (``type`` or the older ``dtype`` key)."""
        dtype = kwargs.get("type") or kwargs.get("dtype")
        if "name" not in kwargs or dtype is None or "default" not in kwargs:
            raise InvalidParameter(
                f"a param spec needs 'name', 'type' and 'default' keys (found {sorted(kwargs)})"
            )
        return cls(kwargs["name"], dtype, kwargs["default"], kwargs.get("shape"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {self.dtype!r} (default: {self.default}){shape}"


class ParamSchema:
    """The params a model accepts at inference."""

    def __init__(self, params: list[ParamSpec]):
        if not all(isinstance(p, ParamSpec) for p in params):
            raise InvalidParameter("a ParamSchema holds ParamSpec objects only")
        names = [p.name for p in params]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise InvalidParameter(f"duplicated params in schema: {duplicates}")
        self._params = params

    @property
    def params(self) -> list[ParamSpec]:
        """The param specs."""
        return self._params

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self._params)

    def to_dict(self) -> list[dict[str, Any]]:
        """The list of param dicts."""
        return [p.to_dict() for p in self._params]

    def to_json(self) -> str:
        """The JSON string MLflow writes into ``MLmodel``."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str) -> ParamSchema:
        """Read a param schema from its JSON string."""
        return cls([ParamSpec.from_json_dict(**x) for x in json.loads(json_str)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params

    def __repr__(self) -> str:
        return repr(self._params)


# dtype -> the value types that convert to it without loss (MLflow's rule for params)
_PARAM_CONVERSIONS = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}


def enforce_param_value(
    name: str, value: Any, dtype: DataType, shape: tuple[int, ...] | None
) -> Any:
    """A param value checked against its type and shape, as a Python value."""
    if shape == (-1,):
        if not isinstance(value, (list, tuple)) and type(value).__name__ != "ndarray":
            raise InvalidParameter(
                f"param {name!r} must be a 1-D list of {dtype.name} (found {value!r})", key=name
            )
        return [_param_scalar(name, v, dtype) for v in value]
    if shape is not None:
        raise InvalidParameter(
            f"param {name!r} shape must be None or (-1,) (found {shape!r})", key=name
        )
    return _param_scalar(name, value, dtype)


def _param_scalar(name: str, value: Any, dtype: DataType) -> Any:
    if value is None:
        return None
    if dtype is DataType.datetime:
        import numpy as np

        try:
            converted = np.datetime64(value).item()
        except ValueError:
            converted = None
        if not isinstance(converted, dt.date):
            raise InvalidParameter(
                f"param {name!r} must be a date or datetime (found {value!r})", key=name
            )
        return converted
    allowed = (dtype, *_PARAM_CONVERSIONS.get(dtype, ()))
    if any(DataType.check_type(t, value) for t in allowed):
        return dtype.to_python()(value)
    raise InvalidParameter(
        f"param {name!r} expects {dtype.name} but received {type(value).__name__} {value!r}; "
        "pass a value of that type",
        key=name,
        expected=dtype.name,
        received=type(value).__name__,
    )


# -- inference ------------------------------------------------------------------------


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
        return Schema([
            ColSpec(_pandas_column_type(data[c], c), c, not bool(data[c].isna().any()))
            for c in data.columns
        ])
    if pd is not None and isinstance(data, pd.Series):
        return Schema([ColSpec(_pandas_column_type(data, data.name), data.name,
                               not bool(data.isna().any()))])
    if np is not None and isinstance(data, np.ndarray):
        return Schema([TensorSpec(_clean_dtype(data.dtype), _variable_shape(data.shape))])
    if _is_sparse(data):
        return Schema([TensorSpec(_clean_dtype(data.data.dtype), _variable_shape(data.shape))])
    if isinstance(data, dict):
        if data and np is not None and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([
                TensorSpec(_clean_dtype(v.dtype), _variable_shape(v.shape), str(k))
                for k, v in data.items()
            ])
        return Schema([ColSpec(_values_type([v], k), k, not _missing(v)) for k, v in data.items()])
    if isinstance(data, list) and all(isinstance(v, dict) for v in data):
        names = list(dict.fromkeys(k for row in data for k in row))
        return Schema([
            ColSpec(
                _values_type([row.get(k) for row in data], k),
                k,
                all(row.get(k) is not None for row in data),
            )
            for k in names
        ])
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
        kind = _SCALAR_TYPES.get(type(value).__name__)
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
