"""Model signatures and input examples: what a model takes, and a sample of it.

``ModelSignature.to_dict()`` is MLflow's form: each schema as a JSON string, so that the
``signature`` block of an ``MLmodel`` file is identical in nbtrack and MLflow.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidParameter, ModelFileError
from nbtrack.models.enforcement import enforce_schema
from nbtrack.models.files import file_in_folder
from nbtrack.types import ParamSchema, Schema, infer_param_schema, infer_schema


class ModelSignature:
    """The input and output schemas of a model, and the params it takes at inference.

    Parameters
    ----------
    inputs, outputs
        A :class:`~nbtrack.types.Schema` each, or None.
    params
        A :class:`~nbtrack.types.ParamSchema`, or None.
    """

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ):
        for label, value, kind in (
            ("inputs", inputs, Schema),
            ("outputs", outputs, Schema),
            ("params", params, ParamSchema),
        ):
            if value is not None and not isinstance(value, kind):
                raise InvalidParameter(
                    f"{label} must be a {kind.__name__} or None (found {type(value).__name__}); "
                    "build it with infer_signature or nbtrack.types"
                )
        if inputs is None and outputs is None and params is None:
            raise InvalidParameter("a signature needs at least one of inputs, outputs or params")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's form: ``{"inputs", "outputs", "params"}``, each a JSON string or None."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: dict[str, Any]) -> ModelSignature:
        """Read a signature from its dict form (the ``signature`` block of ``MLmodel``)."""
        inputs = Schema.from_json(x) if (x := signature_dict.get("inputs")) else None
        outputs = Schema.from_json(x) if (x := signature_dict.get("outputs")) else None
        params = ParamSchema.from_json(x) if (x := signature_dict.get("params")) else None
        return cls(inputs, outputs, params)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ModelSignature)
            and self.inputs == other.inputs
            and self.outputs == other.outputs
            and self.params == other.params
        )

    def __repr__(self) -> str:
        return (
            f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\n"
            f"params: \n  {self.params!r}\n"
        )


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Infer a signature from example input, output and params, as MLflow does.

    Parameters
    ----------
    model_input
        Valid model input: a DataFrame (column-based signature), a numpy array or dict of
        arrays (tensor-based), a list or dict of values.
    model_output
        Valid model output, e.g. the predictions on ``model_input``.
    params
        Inference params and their default values, e.g. ``{"threshold": 0.5}``.

    Returns
    -------
    ModelSignature
        With a schema for each argument given.
    """
    inputs = infer_schema(model_input) if model_input is not None else None
    outputs = infer_schema(model_output) if model_output is not None else None
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(inputs, outputs, param_schema)


def signature_from_example(
    data: Any, params: dict[str, Any] | None, predict: Any
) -> ModelSignature:
    """The signature MLflow infers when a model is saved with an input example and no signature.

    The output schema comes from predicting on the example; a 1-D prediction on column-based
    input becomes one unnamed column, as in MLflow.
    """
    inputs = infer_schema(data)
    param_schema = infer_param_schema(params) if params else None
    prediction = predict(enforce_schema(data, inputs))
    if not inputs.is_tensor_spec() and getattr(prediction, "ndim", None) == 1:
        import pandas as pd

        prediction = pd.Series(prediction)
    return ModelSignature(inputs, infer_schema(prediction), param_schema)


# -- input examples -------------------------------------------------------------------

EXAMPLE_FILE_NAME = "input_example.json"
SERVING_EXAMPLE_FILE_NAME = "serving_input_example.json"


def save_example(model: Any, input_example: Any, path: Path) -> tuple[Any, Any] | None:
    """Write an input example in MLflow's JSON forms and record it in ``model``.

    ``input_example`` is a DataFrame, numpy array, dict of arrays, sparse matrix, dict, list
    or scalar, or a ``(data, params)`` tuple. Returns ``(data, params)``, or None when there
    is no example.
    """
    if input_example is None:
        return None
    data, params = input_example, None
    if (
        isinstance(input_example, tuple)
        and len(input_example) == 2
        and isinstance(input_example[1], dict)
    ):
        data, params = input_example
        infer_param_schema(params)  # refuse params that no signature could describe
    info: dict[str, Any] = {"artifact_path": EXAMPLE_FILE_NAME}
    stored, serving = _example_json(data, info)
    if params is not None:
        info["params"] = "true"
        stored = {"inputs": stored, "params": params}
        serving = {**serving, "params": params}
    (path / EXAMPLE_FILE_NAME).write_text(json.dumps(stored, cls=_Encoder), encoding="utf-8")
    (path / SERVING_EXAMPLE_FILE_NAME).write_text(
        json.dumps(serving, cls=_Encoder, indent=2), encoding="utf-8"
    )
    info["serving_input_path"] = SERVING_EXAMPLE_FILE_NAME
    model.saved_input_example_info = info
    return data, params


def _example_json(data: Any, info: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The example as stored in ``input_example.json`` and as a serving request body."""
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        split = data.where(data.notnull(), None).to_dict(orient="split")
        del split["index"]
        if list(data.columns) == list(range(len(data.columns))):
            del split["columns"]
        info.update(type="dataframe", pandas_orient="split" if "columns" in split else "values")
        return split, {"dataframe_split": split}
    is_array = np is not None and isinstance(data, np.ndarray)
    if is_array or (
        isinstance(data, dict)
        and data
        and np is not None
        and all(isinstance(v, np.ndarray) for v in data.values())
    ):
        stored = (
            {k: _array_list(v) for k, v in data.items()}
            if isinstance(data, dict)
            else _array_list(data)
        )
        info["type"] = "ndarray"
        return stored, {"inputs": stored}
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and isinstance(data, (sparse.csr_matrix, sparse.csc_matrix)):
        info["type"] = (
            "sparse_matrix_csc" if isinstance(data, sparse.csc_matrix) else "sparse_matrix_csr"
        )
        stored = {
            "data": _array_list(data.data),
            "indices": data.indices.tolist(),
            "indptr": data.indptr.tolist(),
            "shape": list(data.shape),
        }
        return stored, {"inputs": data.toarray()}
    if isinstance(data, (dict, list, str, bytes, int, float, bool, datetime.date)) or (
        np is not None and np.isscalar(data)
    ):
        info["type"] = "json_object"
        return data, {"inputs": data}
    raise InvalidParameter(
        "input_example must be a DataFrame, numpy array, dict of arrays, sparse matrix, dict, "
        f"list or scalar (found {type(data).__name__})"
    )


def _array_list(array: Any) -> Any:
    import numpy as np

    if np.issubdtype(array.dtype, np.number):
        array = np.where(np.isnan(array), None, array)
    return array.tolist()


class _Encoder(json.JSONEncoder):
    """MLflow's NumpyEncoder: numpy values as Python ones, bytes as base64, dates as ISO."""

    def default(self, o: Any) -> Any:
        if hasattr(o, "tolist"):  # numpy arrays and scalars
            return o.tolist()
        if isinstance(o, (bytes, bytearray)):
            return base64.encodebytes(o).decode("ascii")
        if isinstance(o, (datetime.date, datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


def read_example(model: Any, path: Path) -> Any:
    """The input example of the model folder at ``path`` as the data it was (or None)."""
    info = model.saved_input_example_info
    if not info:
        return None
    file = file_in_folder(path, info.get("artifact_path"), "the input example")
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelFileError(
            f"the input example {file} cannot be read ({error}); save the model again",
            path=str(file),
        ) from error
    if info.get("params"):
        stored = stored["inputs"]
    kind = info.get("type")
    schema = model.get_input_schema()
    if kind == "dataframe":
        import pandas as pd

        frame = pd.DataFrame(data=stored["data"], columns=stored.get("columns"))
        return _cast_columns(frame, schema)
    if kind == "ndarray":
        return _tensors(stored, schema)
    if kind in ("sparse_matrix_csc", "sparse_matrix_csr"):
        from scipy import sparse

        build = sparse.csc_matrix if kind == "sparse_matrix_csc" else sparse.csr_matrix
        return build(
            (stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"])
        )
    if kind == "json_object":
        return stored
    raise InvalidParameter(
        f"the input example of {path} has type {kind!r}; nbtrack reads dataframe, ndarray, "
        "sparse matrix and json_object examples",
        path=str(path),
    )


def _cast_columns(frame: Any, schema: Any) -> Any:
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return frame
    for spec in schema.inputs:
        numeric = getattr(spec.type, "name", "") in _NUMERIC and spec.name in frame.columns
        if numeric and (spec.type.name in ("float", "double") or not frame[spec.name].hasnans):
            frame[spec.name] = frame[spec.name].astype(spec.type.to_numpy())
    return frame


_NUMERIC = ("boolean", "integer", "long", "float", "double")


def _tensors(stored: Any, schema: Any) -> Any:
    import numpy as np

    if isinstance(stored, dict):
        dtypes = (
            {s.name: s.type for s in schema.inputs}
            if schema is not None and schema.is_tensor_spec()
            else {}
        )
        return {k: np.array(v, dtype=dtypes.get(k)) for k, v in stored.items()}
    dtype = schema.inputs[0].type if schema is not None and schema.is_tensor_spec() else None
    return np.array(stored, dtype=dtype)
