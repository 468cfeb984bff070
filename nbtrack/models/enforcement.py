"""Signature enforcement: model input and params checked against a model's signature.

MLflow's rules: columns are matched by name (extra ones are dropped with a warning, a
missing required one is an error naming it), only lossless type conversions are made
(int32 → long or double, float → double; never double → int), and tensors must have the
declared dtype and shape (``-1`` = any size). Every mismatch raises
:class:`~nbtrack.errors.SignatureError` naming the column, the expected and the received
type. ``pyfunc.load_model`` compiles a :class:`SchemaEnforcer` once per model.
"""

from __future__ import annotations

import warnings
from typing import Any

from nbtrack.errors import InvalidParameter, SignatureError
from nbtrack.types.schema import AnyType, DataType, ParamSchema, Schema, enforce_param_value

# -- params ---------------------------------------------------------------------------


def enforce_params(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any]:
    """The params to pass to the model: declared ones checked, defaults filled in."""
    if schema is None:
        if params:
            warnings.warn(
                f"nbtrack: params {sorted(params)} are ignored: the model's signature declares "
                "no params; log the model with a signature that has them",
                stacklevel=3,
            )
        return {}
    params = params or {}
    if not isinstance(params, dict):
        raise InvalidParameter(f"params must be a dict (found {type(params).__name__})")
    known = {p.name for p in schema.params}
    if unknown := sorted(set(params) - known):
        warnings.warn(
            f"nbtrack: params {unknown} are ignored: the signature declares {sorted(known)}",
            stacklevel=3,
        )
    return {
        p.name: enforce_param_value(p.name, params[p.name], p.dtype, p.shape)
        if p.name in params
        else p.default
        for p in schema.params
    }


# -- inputs ---------------------------------------------------------------------------


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked and converted to match ``schema`` (MLflow's ``_enforce_schema``)."""
    return SchemaEnforcer(schema)(data)


class SchemaEnforcer:
    """A schema compiled for fast checks: names, required columns and accepted dtypes."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.tensor = schema.is_tensor_spec()
        self.named = schema.has_input_names()
        self.specs = schema.inputs
        self.required = schema.required_input_names()
        self._index: Any = None  # pandas Index of the names, built on first DataFrame
        self._exact: list[Any] = []  # the dtype each column has when no work is needed

    def __call__(self, data: Any) -> Any:
        """``data`` checked and converted to match the schema."""
        if self.tensor:
            return _enforce_tensors(data, self.schema, self.named)
        frame = _as_frame(data)
        if self.named:
            if self._matches_exactly(frame):
                return frame
            return self._named_columns(frame)
        return self._unnamed_columns(frame)

    def _matches_exactly(self, frame: Any) -> bool:
        if self._index is None:
            import numpy as np
            import pandas as pd

            self._index = pd.Index([s.name for s in self.specs])
            self._exact = [
                s.type.to_numpy()
                if isinstance(s.type, DataType) and s.type.name not in ("string", "binary")
                else np.dtype("O")
                for s in self.specs
            ]
        if not frame.columns.equals(self._index):
            return False
        dtypes = _column_dtypes(frame)
        return all(
            d == e or _is_text(d, s.type)
            for d, e, s in zip(dtypes, self._exact, self.specs, strict=True)
        )

    def _named_columns(self, frame: Any) -> Any:
        import pandas as pd

        present = set(frame.columns)
        if missing := [name for name in self.required if name not in present]:
            raise SignatureError(
                f"the input is missing column(s) {missing} required by the model's signature "
                f"(received columns: {list(frame.columns)}); add them",
                column=missing[0],
                missing=missing,
            )
        expected = {s.name for s in self.specs}
        if extra := [c for c in frame.columns if c not in expected]:
            warnings.warn(
                f"nbtrack: input columns {extra} are not in the model's signature and are ignored",
                stacklevel=4,
            )
        return pd.DataFrame(
            {
                s.name: _convert_column(s.name, frame[s.name], s.type)
                for s in self.specs
                if s.name in present
            }
        )

    def _unnamed_columns(self, frame: Any) -> Any:
        import pandas as pd

        if len(frame.columns) < len(self.specs):
            raise SignatureError(
                f"the model's signature declares {len(self.specs)} unnamed input columns but "
                f"the input has {len(frame.columns)}; pass all of them",
            )
        columns = frame.columns[: len(self.specs)]
        return pd.DataFrame(
            {
                c: _convert_column(c, frame[c], s.type)
                for c, s in zip(columns, self.specs, strict=True)
            }
        )


def _column_dtypes(frame: Any) -> Any:
    """The dtype of each column, in order.

    ``DataFrame.dtypes`` builds a Series (25-90 µs, most of the budget of a one-row predict);
    the block manager holds the same array (under 1 µs). The public route is the fallback.
    """
    try:
        return frame._mgr.get_dtypes()
    except AttributeError:
        return frame.dtypes.to_numpy()


def _is_text(dtype: Any, expected: Any) -> bool:
    import pandas as pd

    if isinstance(expected, AnyType):
        return True
    text = dtype == "O" or isinstance(dtype, pd.StringDtype)
    return text and expected in (DataType.string, DataType.binary)


def _as_frame(data: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return pd.DataFrame(data)
    if np.isscalar(data):
        return pd.DataFrame([data])
    if isinstance(data, dict):
        if all(
            np.isscalar(v)
            or v is None
            or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in data.values()
        ):
            return pd.DataFrame([data])
        return pd.DataFrame(
            {
                k: v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v
                for k, v in data.items()
            }
        )
    if isinstance(data, (list, np.ndarray)):
        return pd.DataFrame(data)
    raise SignatureError(
        f"the model's signature is column-based, so it takes a pandas DataFrame (or a dict, "
        f"list or array that converts to one); received {type(data).__name__}",
        received=type(data).__name__,
    )


def _convert_column(name: Any, values: Any, t: Any) -> Any:
    """One column converted to type ``t`` by MLflow's lossless rules, or a SignatureError."""
    import numpy as np
    import pandas as pd

    if isinstance(t, AnyType):
        return values
    if values.dtype == object and t not in (DataType.binary, DataType.string):
        values = values.infer_objects()
    if t in (DataType.string, DataType.binary) and (
        values.dtype == object or isinstance(values.dtype, pd.StringDtype)
    ):
        return values
    target = t.to_numpy()
    if t.to_pandas() == values.dtype or target == values.dtype:
        return values
    kind = values.dtype.kind
    if t is DataType.binary and kind == "S":
        return values
    if t is DataType.datetime and (kind == "M" or values.dtype == object):
        try:
            return values.astype(np.dtype("datetime64[ns]"))
        except (TypeError, ValueError) as error:
            hint = f" ({error}); pass timezone-naive datetimes"
            raise _type_error(name, t, values.dtype, hint) from error
    if t is DataType.boolean and values.dtype == object:
        return values  # converting would turn None into False
    if kind == target.kind:
        upcast = values.dtype.itemsize <= target.itemsize
    elif kind == "u" and target.kind == "i":
        upcast = values.dtype.itemsize < target.itemsize
    elif kind in "iu" and target == np.float64:
        upcast = values.dtype.itemsize <= 6  # int64 does not fit a double's 53-bit mantissa
    else:
        upcast = False
    if upcast:
        return values.astype(target)
    if values.dtype == np.int64 and target.kind == "f" and values.isin([0, 1]).all():
        return values.astype(target)
    hint = ""
    if kind == "f" and target.kind in "iu" and values.hasnans:
        hint = (
            " (the column may hold missing values, which make integers floats: declare "
            "it double in the signature)"
        )
    raise _type_error(name, t, values.dtype, hint)


def _type_error(name: Any, t: DataType, received: Any, hint: str = "") -> SignatureError:
    return SignatureError(
        f"column {name!r} expects {t.name} ({t.to_numpy()}) but received {received}, which "
        f"cannot be converted without losing values{hint}; cast the column "
        f"(e.g. .astype({str(t.to_numpy())!r})) or log the model with a matching signature",
        column=name,
        expected=t.name,
        received=str(received),
    )


def _enforce_tensors(data: Any, schema: Schema, named: bool) -> Any:
    import numpy as np
    import pandas as pd

    specs = schema.inputs
    if named:
        if len(specs) == 1 and isinstance(data, np.ndarray):
            data = {specs[0].name: data}
        if isinstance(data, dict):
            if missing := [s.name for s in specs if s.name not in data]:
                raise SignatureError(
                    f"the input is missing tensor(s) {missing}; add them",
                    column=missing[0],
                    missing=missing,
                )
            return {s.name: _check_tensor(s, data[s.name]) for s in specs}
        if isinstance(data, pd.DataFrame):
            return {s.name: _column_to_tensor(s, data[s.name]) for s in specs}
        raise SignatureError(
            f"the model's signature has named tensors {[s.name for s in specs]}, so it takes a "
            f"dict of numpy arrays or a DataFrame; received {type(data).__name__}",
            received=type(data).__name__,
        )
    spec = specs[0]
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise SignatureError("the input DataFrame is empty")
        if len(data.columns) == 1:
            return _column_to_tensor(spec, data[data.columns[0]])
        if spec.shape != (-1, len(data.columns)):
            raise SignatureError(
                f"the model takes a tensor of shape {spec.shape}; a DataFrame with "
                f"{len(data.columns)} columns does not fit it",
                expected=str(spec.shape),
                received=str((-1, len(data.columns))),
            )
        return _check_tensor(spec, data.to_numpy())
    return _check_tensor(spec, data)


def _column_to_tensor(spec: Any, column: Any) -> Any:
    import numpy as np

    first = column.iloc[0]
    if np.isscalar(first) and spec.shape in ((-1,), (-1, 1)):
        return _check_tensor(spec, np.asarray(column, dtype=spec.type).reshape(spec.shape))
    if isinstance(first, (list, np.ndarray)):
        try:
            array = np.vstack(column.tolist()).reshape(spec.shape)
        except ValueError:
            array = None
        if array is not None and len(array) == len(column):
            return _check_tensor(
                spec, array if isinstance(first, np.ndarray) else array.astype(spec.type)
            )
    raise SignatureError(
        f"column {column.name!r} cannot be reshaped to the tensor shape {spec.shape}; pass "
        "values of uniform length",
        column=column.name,
        expected=str(spec.shape),
    )


def _check_tensor(spec: Any, values: Any) -> Any:
    """A numpy array (or sparse matrix) checked against a TensorSpec: shape, then dtype."""
    shape = getattr(values, "shape", None)
    dtype = getattr(values, "dtype", None)
    if shape is None or dtype is None:
        raise SignatureError(
            f"tensor {spec.name or 'input'!r} must be a numpy array (received "
            f"{type(values).__name__})",
            column=spec.name,
            received=type(values).__name__,
        )
    expected = spec.shape
    if len(expected) != len(shape) or any(
        e not in (-1, a) for e, a in zip(expected, shape, strict=True)
    ):
        if not _ragged_ok(spec, values):
            raise SignatureError(
                f"tensor {spec.name or 'input'!r} has shape {shape} but the model takes shape "
                f"{expected} (-1 = any size); reshape the input",
                column=spec.name,
                expected=str(expected),
                received=str(shape),
            )
        return values
    if dtype.char in "US":
        import numpy as np

        dtype = np.dtype("str" if dtype.char == "U" else "bytes")
    if dtype != spec.type and not _ragged_ok(spec, values):
        raise SignatureError(
            f"tensor {spec.name or 'input'!r} has dtype {dtype} but the model takes "
            f"{spec.type}; convert it with .astype({str(spec.type)!r})",
            column=spec.name,
            expected=str(spec.type),
            received=str(dtype),
        )
    return values


def _ragged_ok(spec: Any, values: Any) -> bool:
    """MLflow lets object arrays through for object / ragged tensor specs."""
    if spec.type.kind == "O" and spec.shape == (-1,):
        return True
    return (
        len(spec.shape) > 1
        and -1 in spec.shape[1:]
        and values.ndim == 1
        and values.dtype.kind == "O"
    )
