"""Data types and schemas of model inputs, outputs and params, as ``mlflow.types.schema``.

A :class:`Schema` is a list of :class:`ColSpec` (named or unnamed columns of a scalar
:class:`DataType`) or of :class:`TensorSpec` (numpy arrays of a dtype and shape, ``-1`` for
any size); a :class:`ParamSchema` lists the inference params a model accepts. Their JSON is
MLflow's, byte for byte, so an ``MLmodel`` signature reads the same in both libraries.

numpy and pandas are imported only when data is inspected, never at import.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from enum import Enum
from typing import Any

from nbtrack.errors import InvalidParameter


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
SCALAR_TYPES = {
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
