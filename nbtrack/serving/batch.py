"""Batch scoring of a file: ``nbtrack models predict -m URI -i input -o output``.

The input is read as the server reads a request body of that type (MLflow's JSON request
forms, CSV, Parquet); the output is MLflow's ``{"predictions": ...}`` JSON, or a CSV or
Parquet table of the predictions when the output file ends in ``.csv`` or ``.parquet``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from nbtrack.errors import InvalidParameter
from nbtrack.serving.payloads import (
    jsonable,
    parquet_missing,
    parse_csv,
    parse_json,
    parse_parquet,
    predictions_json,
)

Format = Literal["json", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("json", "csv", "parquet")


def predict_file(
    model_uri: str,
    input_path: str | Path,
    output_path: str | Path | None = None,
    content_type: Format | None = None,
) -> Any:
    """Predict on the data in a file and write the predictions.

    Parameters
    ----------
    model_uri
        Any URI ``nbtrack.pyfunc.load_model`` takes.
    input_path
        A ``.json`` (MLflow's request forms, with ``params``), ``.csv`` or ``.parquet`` file.
    output_path
        Where to write: ``.csv`` and ``.parquet`` get a table, anything else MLflow's JSON;
        None prints the JSON to standard output.
    content_type
        The input's format when its suffix does not say it.

    Returns
    -------
    The predictions, as the model returned them.

    Raises
    ------
    InvalidInput
        The file is not valid model input.
    MissingDependency
        Parquet without pyarrow.
    """
    from nbtrack.pyfunc import load_model

    source = Path(input_path)
    kind = content_type or file_format(source, "input")
    if not source.is_file():
        raise InvalidParameter(
            f"input file {source} does not exist; pass -i a data file", path=str(source)
        )
    model = load_model(model_uri)
    schema = model.metadata.get_input_schema()
    params = None
    if kind == "json":
        data, params = parse_json(source.read_bytes(), schema)
    elif kind == "csv":
        data = parse_csv(source.read_text(encoding="utf-8"), schema)
    else:
        data = parse_parquet(str(source))
    predictions = model.predict(data, params=params)
    write_predictions(predictions, output_path)
    return predictions


def file_format(path: Path, role: str) -> Format:
    """json, csv or parquet from a file's suffix, or InvalidParameter."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix  # type: ignore[return-value]
    raise InvalidParameter(
        f"cannot tell the format of {role} file {path.name!r} from its suffix; name it "
        f"*.json, *.csv or *.parquet, or pass --content-type",
        path=str(path),
    )


def write_predictions(predictions: Any, output_path: str | Path | None) -> None:
    """Write predictions as MLflow's JSON (stdout when no path), or as a CSV/Parquet table."""
    if output_path is None:
        sys.stdout.write(predictions_json(predictions).decode("utf-8") + "\n")
        return
    target = Path(output_path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        target.write_bytes(predictions_json(predictions))
        return
    frame = _as_table(predictions)
    if suffix == ".csv":
        frame.to_csv(target, index=False)
        return
    try:
        frame.to_parquet(target, index=False)
    except ImportError as error:
        raise parquet_missing() from error


def _as_table(predictions: Any) -> Any:
    """Predictions as a DataFrame: one ``prediction`` column, or one column per output."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return predictions
    if isinstance(predictions, pd.Series):
        return predictions.to_frame(predictions.name or "prediction")
    values = np.asarray(jsonable(predictions))
    if values.ndim == 2:
        return pd.DataFrame(values, columns=[str(i) for i in range(values.shape[1])])
    return pd.DataFrame({"prediction": values.reshape(-1)})
