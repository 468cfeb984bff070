"""MLflow's scoring protocol: a request body in, the model's input and params out; predictions back.

Every input MLflow 3.17's scoring server accepts is read the way it reads it
(``mlflow/pyfunc/scoring_server``): ``application/json`` holding exactly one of
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` (plus ``params``),
``text/csv`` and ``application/vnd.apache.parquet``. Columns are cast to the signature's
types before the model's own signature check, as MLflow does. nbtrack also accepts the
MLflow 1 content types ``application/json; format=pandas-split`` and ``format=pandas-records``
(a bare DataFrame in that orientation), which MLflow 2 and later refuse.

Each bad request raises :class:`~nbtrack.errors.InvalidInput` with MLflow's message and the
HTTP status to answer with (400, or 415 for a content type the server does not read).
"""

from __future__ import annotations

import base64
import datetime
import json
from io import BytesIO, StringIO
from typing import Any, NamedTuple

from nbtrack.errors import InvalidInput, MissingDependency
from nbtrack.types import AnyType, DataType, Schema, TensorSpec

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = [CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET]

DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
SUPPORTED_FORMATS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS_KEY = "params"
# MLflow 1's `format=` content-type parameter: the body is a bare DataFrame in that orient.
LEGACY_FORMATS = {"pandas-split": "split", "pandas-records": "records"}

REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)
SCORING_PROTOCOL_CHANGE_INFO = (
    "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are"
    " seeing this error, you are likely using an outdated scoring request format. nbtrack still"
    " reads MLflow 1 requests sent with the content type 'application/json; format=pandas-split'"
    " (or format=pandas-records); otherwise wrap the data in one of the input fields, e.g."
    ' {"dataframe_split": {"columns": [...], "data": [[...]]}}.'
)
_ECHO_LIMIT = 1000  # characters of a malformed body quoted back in the error


class ParsedInput(NamedTuple):
    """The model input a request holds, and its inference params (or None)."""

    data: Any
    params: dict[str, Any] | None


def parse_request(body: bytes, content_type: str | None, schema: Schema | None) -> ParsedInput:
    """Read a scoring request body as model input, as MLflow's ``/invocations`` does.

    Parameters
    ----------
    body
        The raw request body.
    content_type
        The request's ``Content-Type`` header (None when absent).
    schema
        The model's input schema, used to cast columns; None when it has no signature.

    Raises
    ------
    InvalidInput
        The body is not valid input in that content type (``status`` 400), or the content
        type is not one the server reads (``status`` 415).
    """
    mime_type, parameters = _split_content_type(content_type)
    if parameters.pop("charset", "utf-8").lower() != "utf-8":
        raise _unsupported("The scoring server only supports UTF-8")
    legacy = parameters.pop("format", None) if mime_type == CONTENT_TYPE_JSON else None
    if legacy is not None and legacy not in LEGACY_FORMATS:
        parameters["format"] = legacy
    if parameters:
        raise _unsupported(
            f"Unrecognized content type parameters: {', '.join(parameters)}. "
            f"{SCORING_PROTOCOL_CHANGE_INFO}"
        )
    if mime_type == CONTENT_TYPE_JSON:
        if legacy is not None:
            return ParsedInput(_legacy_frame(body, LEGACY_FORMATS[legacy], schema), None)
        return parse_json(body, schema)
    if mime_type == CONTENT_TYPE_CSV:
        return ParsedInput(parse_csv(_utf8(body), schema), None)
    if mime_type == CONTENT_TYPE_PARQUET:
        try:
            return ParsedInput(parse_parquet(body), None)
        except MissingDependency as error:
            raise _unsupported(
                "This server cannot read Parquet: the 'pyarrow' package is not installed "
                "where it runs; send JSON or CSV, or install pyarrow and restart it"
            ) from error
    raise _unsupported(
        f"This predictor only supports the following content types: Types: {CONTENT_TYPES}. "
        f"Got '{content_type}'."
    )


def parse_json(body: bytes | str, schema: Schema | None) -> ParsedInput:
    """Read MLflow's JSON request: one input field (``dataframe_split``…) and ``params``."""
    decoded = _decode_json(body)
    if isinstance(decoded, list):
        raise _invalid(f"{REQUIRED_INPUT_FORMAT}. Received a list.")
    if not isinstance(decoded, dict):
        raise _invalid(f"{REQUIRED_INPUT_FORMAT}. Received unexpected input type '{type(decoded)}.")
    params = decoded.get(PARAMS_KEY)
    if params is not None and not isinstance(params, dict):
        raise _invalid(
            f"'params' must be a JSON object of param names and values; received "
            f"{type(params).__name__}"
        )
    fields = [key for key in SUPPORTED_FORMATS if key in decoded]
    if len(fields) != 1:
        raise InvalidInput(
            f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: "
            f"{list(decoded)}. {SCORING_PROTOCOL_CHANGE_INFO}"
        )
    field = fields[0]
    if field in (DF_SPLIT, DF_RECORDS):
        data = dataframe_from_json(decoded[field], field[len("dataframe_") :], schema)
    elif field == INSTANCES:
        data = _instances(decoded[field], schema)
    else:
        data = _cast_values(decoded[field], schema)
    return ParsedInput(data, params)


def parse_csv(text: str | Any, schema: Schema | None) -> Any:
    """A CSV document (text or a readable) as a DataFrame, with the signature's dtypes."""
    import pandas as pd

    source = StringIO(text) if isinstance(text, str) else text
    dtypes, dates = _csv_types(schema)
    try:
        return pd.read_csv(source, dtype=dtypes or None, parse_dates=dates or False)
    except Exception as error:
        raise InvalidInput(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` "
            f"method. Error: '{error}'"
        ) from error


def parse_parquet(data: bytes | Any) -> Any:
    """A Parquet document (bytes or a path) as a DataFrame; needs pyarrow."""
    import pandas as pd

    source = BytesIO(data) if isinstance(data, bytes) else data
    try:
        return pd.read_parquet(source)
    except ImportError as error:
        raise parquet_missing() from error
    except Exception as error:
        raise InvalidInput(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "Parquet Pandas DataFrame produced using the `pandas.DataFrame.to_parquet()` "
            f"method. Error: '{error}'"
        ) from error


def parquet_missing() -> MissingDependency:
    """The error for Parquet input or output without pyarrow."""
    return MissingDependency(
        "reading or writing Parquet needs the 'pyarrow' package, which is not installed; "
        "install it with: pip install pyarrow (or pass CSV or JSON)",
        package="pyarrow",
    )


def dataframe_from_json(value: Any, orient: str, schema: Schema | None) -> Any:
    """A ``dataframe_split`` or ``dataframe_records`` value as a DataFrame cast to the schema."""
    import pandas as pd

    if orient == "records":
        if not isinstance(value, list):
            kind = "dictionary" if isinstance(value, dict) else f"type {type(value)}"
            raise _invalid(f"Dataframe records format must be a list of records. Got {kind}.")
        try:
            return cast_to_schema(pd.DataFrame(data=value), schema)
        except (ValueError, TypeError) as error:
            raise _invalid(
                "Provided dataframe_records field is not a valid dataframe representation in "
                f"'records' format. Error: '{error}'"
            ) from error
    if not isinstance(value, dict):
        kind = "list" if isinstance(value, list) else f"type {type(value)}"
        raise _invalid(f"Dataframe split format must be a dictionary. Got {kind}.")
    keys = set(value)
    if "data" not in keys or keys - {"columns", "data", "index"}:
        raise _invalid(
            "Dataframe split format must have 'data' field and optionally 'columns' and "
            f"'index' fields. Got {keys}.'"
        )
    fast = _uniform_frame(value, schema)
    if fast is not None:
        return fast
    try:
        frame = pd.DataFrame(
            index=value.get("index"), columns=value.get("columns"), data=value["data"]
        )
    except (ValueError, TypeError, AssertionError) as error:
        raise _invalid(
            "Provided dataframe_split field is not a valid dataframe representation in "
            f"'split' format. Error: '{error}'"
        ) from error
    return cast_to_schema(frame, schema)


def _uniform_frame(value: dict[str, Any], schema: Schema | None) -> Any:
    """The usual request, fast: every schema column, in order, all of one numeric type.

    One numpy conversion builds a single-block frame (what ``astype`` per column would give),
    several times faster for a one-row request. None when the request is anything else, so
    the general path (and its MLflow error messages) handles it.
    """
    if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
        return None
    if value.get("columns") != schema.input_names() or "index" in value:
        return None
    types = {spec.type for spec in schema.inputs}
    if len(types) != 1:
        return None
    kind = next(iter(types))
    if kind not in (DataType.integer, DataType.long, DataType.float, DataType.double):
        return None
    import numpy as np
    import pandas as pd

    try:
        array = np.array(value["data"], dtype=kind.to_numpy())
    except (ValueError, TypeError, OverflowError):
        return None
    if array.ndim != 2 or array.shape[1] != len(schema.inputs):
        return None
    return pd.DataFrame(array, columns=value["columns"], copy=False)


def cast_to_schema(frame: Any, schema: Schema | None) -> Any:
    """Cast a request's columns to the signature's types, as MLflow's scoring server does."""
    import numpy as np
    import pandas as pd

    if schema is None:
        return frame
    present = set(frame.columns)
    specs: Any
    if schema.has_input_names():
        specs = zip(schema.input_names(), schema.inputs, strict=True)
    elif schema.is_tensor_spec() and len(schema.inputs) == 1:
        specs = ((name, schema.inputs[0]) for name in frame.columns)
    else:
        count = min(len(schema.inputs), len(frame.columns))
        specs = zip(frame.columns[:count], schema.inputs[:count], strict=True)
    for name, spec in specs:
        if name not in present:
            continue
        kind = spec.type
        target = kind.to_pandas() if isinstance(kind, DataType) else kind
        column = frame[name]
        try:
            if kind is DataType.binary:
                frame[name] = column.map(lambda x: base64.decodebytes(bytes(x, "utf8")))
            elif isinstance(spec, TensorSpec) and target == np.dtype(bytes):
                frame[name] = column.map(lambda x: bytes(x, "utf8"))
            elif isinstance(spec, TensorSpec) and len(column) and isinstance(column.iloc[0], list):
                continue  # multidimensional cells: the signature check reshapes them
            elif isinstance(kind, AnyType):
                continue
            elif kind is DataType.datetime:
                frame[name] = pd.to_datetime(column)
            elif target == np.dtype("O") and isinstance(column.dtype, pd.StringDtype):
                continue
            elif column.dtype != target:
                frame[name] = column.astype(target)
        except Exception as error:
            raise _invalid(
                "Data is not compatible with model signature. Failed to convert column "
                f"{name} to type '{target}'. Error: '{error!r}'"
            ) from error
    return frame


def _instances(value: Any, schema: Schema | None) -> Any:
    """TF-serving ``instances``: rows of named values become columns of arrays."""
    import numpy as np

    if isinstance(value, list) and value and isinstance(value[0], dict):
        specs = schema.input_dict() if schema is not None and schema.has_input_names() else {}
        columns: dict[str, list[Any]] = {}
        for row in value:
            if not isinstance(row, dict):
                raise _invalid(f"every instance must be a JSON object; received {row!r}")
            for name, cell in row.items():
                columns.setdefault(name, []).append(_convert(cell, specs.get(name)))
        data: Any = {name: np.array(cells) for name, cells in columns.items()}
    else:
        data = _cast_values(value, schema)
    if isinstance(data, dict):
        lengths = {len(v) for v in data.values() if isinstance(v, (list, np.ndarray))}
        if len(lengths) > 1:
            raise _invalid("The length of values for each input/column name are not the same")
    return data


def _cast_values(value: Any, schema: Schema | None) -> Any:
    """TF-serving ``inputs`` (or non-row ``instances``) as arrays typed by the schema."""
    import numpy as np

    specs = schema.input_dict() if schema is not None and schema.has_input_names() else {}
    if schema is not None:
        if (
            len(specs) == 1
            and isinstance(value, list)
            and not any(isinstance(x, dict) for x in value)
        ):
            value = {next(iter(specs)): value}
        elif not schema.has_input_names() and not (isinstance(value, list) or np.isscalar(value)):
            raise _invalid(
                "Failed to parse input data. This model contains an un-named  model signature "
                "which expects a single n-dimensional array or a single value as input, "
                f"however, an input of type {type(value)} was found."
            )
    if isinstance(value, dict):
        return {name: _convert(cells, specs.get(name)) for name, cells in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [{k: _convert(v, specs.get(k)) for k, v in row.items()} for row in value]
    return _convert(value, schema.inputs[0] if schema is not None else None)


def _convert(value: Any, spec: Any) -> Any:
    """One input value as the numpy array (or scalar) its spec declares (MLflow's rules)."""
    import numpy as np

    try:
        if spec is None:
            return np.array(value)
        if isinstance(spec, TensorSpec):
            return np.array(value, dtype=spec.type)
        if isinstance(spec.type, AnyType):
            return value
        dtype = spec.type.to_numpy()
        if isinstance(value, (list, np.ndarray)):
            return np.array(value, dtype)
        return np.array([value], dtype)[0]
    except (ValueError, TypeError, OverflowError) as error:
        raise _invalid(f"{error}") from error


def _legacy_frame(body: bytes, orient: str, schema: Schema | None) -> Any:
    """An MLflow 1 request: the body is the DataFrame itself in ``split``/``records`` orient."""
    return dataframe_from_json(_decode_json(body), orient, schema)


def _decode_json(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        echo = body[:_ECHO_LIMIT]
        cut = "…" if len(body) > _ECHO_LIMIT else ""
        raise _invalid(
            "Ensure that input is a valid JSON formatted string. "
            f"Error: '{error!r}'\nInput: \n{echo!r}{cut}\n"
        ) from error


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid(
            f"Ensure that input is a valid UTF-8 encoded string. Error: '{error!r}'"
        ) from error


def _csv_types(schema: Schema | None) -> tuple[dict[Any, Any], list[Any]]:
    """read_csv's dtype map from the schema; datetime columns are parsed as dates instead."""
    if schema is None:
        return {}, []
    dtypes: dict[Any, Any] = {}
    dates: list[Any] = []
    for name, spec in zip(schema.input_names(), schema.inputs, strict=True):
        if isinstance(spec, TensorSpec):
            dtypes[name] = spec.type
        elif spec.type is DataType.datetime:
            dates.append(name)
        elif isinstance(spec.type, DataType):
            dtypes[name] = spec.type.to_pandas()
    return dtypes, dates


def _split_content_type(content_type: str | None) -> tuple[str | None, dict[str, str]]:
    if content_type is None:
        return None, {}
    mime_type, *pairs = (part.strip() for part in content_type.split(";"))
    parameters = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        parameters[key.strip().lower()] = value.strip().strip('"')
    return mime_type.lower(), parameters


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(f"Invalid input. {message}")


def _unsupported(message: str) -> InvalidInput:
    return InvalidInput(message, status=415)


# -- responses ------------------------------------------------------------------------


def predictions_json(predictions: Any) -> bytes:
    """MLflow's response body: ``{"predictions": ...}``, DataFrames as records."""
    return json.dumps({"predictions": jsonable(predictions)}, cls=_Encoder).encode("utf-8")


def jsonable(predictions: Any) -> Any:
    """Predictions as plain JSON values: arrays as lists, DataFrames and Series as records."""
    import sys

    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if np is not None and isinstance(predictions, np.ndarray) and predictions.dtype != object:
        return predictions.tolist()
    if pd is not None and isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if pd is not None and isinstance(predictions, pd.Series):
        return pd.DataFrame(predictions).to_dict(orient="records")
    return predictions


class _Encoder(json.JSONEncoder):
    """MLflow's NumpyEncoder: numpy values as Python ones, bytes as base64, dates as ISO."""

    def default(self, o: Any) -> Any:
        if hasattr(o, "isoformat"):  # datetime.date/.time, pandas.Timestamp
            return o.isoformat()
        if type(o).__name__ == "datetime64":
            import numpy as np

            return np.datetime_as_string(o)
        if hasattr(o, "tolist"):  # numpy arrays and scalars
            return o.tolist()
        if isinstance(o, (bytes, bytearray)):
            return base64.encodebytes(o).decode("ascii")
        if isinstance(o, datetime.timedelta):
            return str(o)
        return super().default(o)
