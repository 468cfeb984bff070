"""``nbtrack.pyfunc``: load any saved model as a generic Python function, as ``mlflow.pyfunc``.

``load_model(uri).predict(data)`` checks ``data`` against the model's signature first, with
MLflow's rules: columns are matched by name (extra ones are dropped with a warning, a missing
required one is an error naming it), only lossless type conversions are made (int32 → long or
double, float → double; never double → int), and tensors must have the declared dtype and
shape (``-1`` = any size). Every mismatch raises :class:`~nbtrack.errors.SignatureError`
naming the column, the expected and the received type.

The signature is compiled once at load time, so the check costs microseconds per call when
the data already matches (the usual case in a serving loop).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from nbtrack.errors import InvalidParameter, SignatureError
from nbtrack.models.model import Model
from nbtrack.types import AnyType, DataType, ParamSchema, Schema, enforce_param_value

FLAVOR_NAME = "python_function"
_SKLEARN_LOADERS = ("mlflow.sklearn", "nbtrack.sklearn")

__all__ = ["FLAVOR_NAME", "PyFuncModel", "load_model"]


class PyFuncModel:
    """A loaded model with a ``predict(data, params=None)`` that enforces its signature.

    Built by :func:`load_model`; ``metadata`` is the model's :class:`~nbtrack.models.Model`.
    """

    def __init__(self, model_meta: Model, model_impl: Any, predict_fn: str = "predict",
                 model_path: str | None = None):
        if not hasattr(model_impl, predict_fn):
            raise InvalidParameter(
                f"the model has no {predict_fn!r} method; save it with a pyfunc_predict_fn it has"
            )
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._predict_fn = getattr(model_impl, predict_fn)
        self._takes_params = predict_fn == "predict"
        inputs = model_meta.get_input_schema()
        self._enforce = _Enforcer(inputs) if inputs is not None else None
        self._params_schema = model_meta.get_params_schema()
        self._model_path = model_path
        self._input_example: Any = _UNREAD

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on ``data`` after checking it against the signature.

        Parameters
        ----------
        data
            A DataFrame (column signatures), a numpy array or dict of arrays (tensor
            signatures), or a dict/list/scalar that converts to a one-row DataFrame.
        params
            Inference params declared in the signature; the others are ignored with a warning.

        Raises
        ------
        SignatureError
            The data does not match the signature (the message names the column and types).
        """
        if self._enforce is not None:
            data = self._enforce(data)
        if params or self._params_schema is not None:
            params = enforce_params(params, self._params_schema)
        if self._takes_params:
            return self._predict_fn(data, params=params)
        return self._predict_fn(data)

    @property
    def metadata(self) -> Model:
        """The model's ``MLmodel`` metadata."""
        return self._model_meta

    @property
    def loader_module(self) -> str | None:
        """The module that loads the model (``mlflow.sklearn``)."""
        return self._model_meta.flavors.get(FLAVOR_NAME, {}).get("loader_module")

    @property
    def model_config(self) -> dict[str, Any]:
        """The model's pyfunc configuration (empty for scikit-learn models)."""
        return self._model_meta.flavors.get(FLAVOR_NAME, {}).get("config") or {}

    @property
    def input_example(self) -> Any:
        """The input example saved with the model, or None (read on first access)."""
        if self._input_example is _UNREAD:
            path = self._model_path
            try:
                example = self._model_meta.load_input_example(path) if path else None
            except (OSError, ValueError):  # as in MLflow, an unreadable example is no example
                example = None
            self._input_example = example
        return self._input_example

    def get_raw_model(self) -> Any:
        """The underlying model object (the fitted scikit-learn estimator)."""
        return self._model_impl.get_raw_model()

    def __repr__(self) -> str:
        meta = self._model_meta
        parts = [f"flavor={self.loader_module!r}"]
        if meta.run_id:
            parts.insert(0, f"run_id={meta.run_id!r}, artifact_path={meta.artifact_path!r}")
        return f"<PyFuncModel {', '.join(parts)}>"


_UNREAD = object()


def load_model(
    model_uri: str,
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    *,
    trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
) -> PyFuncModel:
    """Load a model saved in MLflow's format (by nbtrack or MLflow) as a :class:`PyFuncModel`.

    Parameters
    ----------
    model_uri
        ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
        ``models:/<name>/<stage>``, ``models:/<name>/latest``, a folder path or a
        ``file://`` URI.
    suppress_warnings
        Do not warn when the model was saved with another Python or scikit-learn version.
    dst_path
        Copy the model folder into this existing folder and load it from there.
    trusted_types
        Extra types to trust in a skops file, e.g. ``["mypackage.MyEstimator"]``. Classes
        from scikit-learn, numpy and scipy are trusted already; anything else is refused.
    allow_pickle
        Load a "pickle" or "cloudpickle" model file. Unpickling runs whatever code the file
        holds, so it is refused unless you trust where the file came from and say so here.

    Raises
    ------
    UnsafeModelError
        The file holds untrusted types, or is a pickle and ``allow_pickle`` is False.
    """
    from nbtrack.models import sklearn as sklearn_flavor
    from nbtrack.models.uri import local_model_path

    path = local_model_path(model_uri, dst_path)
    meta = Model.load(path)
    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidParameter(
            f"model at {model_uri!r} has no python_function flavor (flavors: "
            f"{sorted(meta.flavors)}); load it with its own flavor's load_model",
            model_uri=model_uri,
        )
    loader = conf.get("loader_module")
    if loader not in _SKLEARN_LOADERS:
        raise InvalidParameter(
            f"nbtrack loads scikit-learn models (loader_module mlflow.sklearn); the model at "
            f"{model_uri!r} uses {loader!r}: load it with mlflow.pyfunc.load_model",
            model_uri=model_uri,
        )
    if not suppress_warnings:
        _warn_python_version(conf.get("python_version"))
    impl = sklearn_flavor.load_pyfunc(
        path, meta, trusted_types=trusted_types, allow_pickle=allow_pickle,
        suppress_warnings=suppress_warnings,
    )
    return PyFuncModel(meta, impl, conf.get("predict_fn", "predict"), str(path))


def _warn_python_version(saved: str | None) -> None:
    current = "{}.{}".format(*sys.version_info[:2])
    if saved and ".".join(saved.split(".")[:2]) != current:
        warnings.warn(
            f"nbtrack: the model was saved with Python {saved} and is loaded with Python "
            f"{current}; if loading or predicting fails, use Python {saved}",
            stacklevel=3,
        )


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
    return _Enforcer(schema)(data)


class _Enforcer:
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
                s.type.to_numpy() if isinstance(s.type, DataType) and s.type.name not in
                ("string", "binary") else np.dtype("O") for s in self.specs
            ]
        if not frame.columns.equals(self._index):
            return False
        dtypes = _column_dtypes(frame)
        return all(d == e or _is_text(d, s.type)
                   for d, e, s in zip(dtypes, self._exact, self.specs, strict=True))

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
                f"nbtrack: input columns {extra} are not in the model's signature and are "
                "ignored",
                stacklevel=4,
            )
        return pd.DataFrame({
            s.name: _convert_column(s.name, frame[s.name], s.type)
            for s in self.specs
            if s.name in present
        })

    def _unnamed_columns(self, frame: Any) -> Any:
        import pandas as pd

        if len(frame.columns) < len(self.specs):
            raise SignatureError(
                f"the model's signature declares {len(self.specs)} unnamed input columns but "
                f"the input has {len(frame.columns)}; pass all of them",
            )
        columns = frame.columns[: len(self.specs)]
        return pd.DataFrame({
            c: _convert_column(c, frame[c], s.type)
            for c, s in zip(columns, self.specs, strict=True)
        })


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
        if all(np.isscalar(v) or v is None or (isinstance(v, list) and
               all(isinstance(i, str) for i in v)) for v in data.values()):
            return pd.DataFrame([data])
        return pd.DataFrame({
            k: v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v
            for k, v in data.items()
        })
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
        hint = (" (the column may hold missing values, which make integers floats: declare "
                "it double in the signature)")
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
                raise SignatureError(f"the input is missing tensor(s) {missing}; add them",
                                     column=missing[0], missing=missing)
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
            return _check_tensor(spec, array if isinstance(first, np.ndarray)
                                 else array.astype(spec.type))
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
    return (len(spec.shape) > 1 and -1 in spec.shape[1:] and values.ndim == 1
            and values.dtype.kind == "O")
