"""What ``evaluate`` is given, made uniform: the rows, their targets, and a way to predict.

``data`` may be a DataFrame (``targets`` names the label column), a numpy array or a list
of feature rows (``targets`` is then the array of labels), the ``(X_test, y_test)`` tuple,
or a dataset from ``nbtrack.data`` (its own ``targets`` column). ``model`` may be a model
URI, a loaded pyfunc model, a scikit-learn estimator, a function of the features, or None
with a ``predictions`` column. Every problem is an ``EvaluationError`` raised before
anything is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbtrack.errors import EvaluationError


@dataclass
class Rows:
    """The evaluation rows: features (a DataFrame), targets, and given predictions if any."""

    features: Any
    targets: np.ndarray
    predictions: np.ndarray | None
    dataset: Any  # the nbtrack.data.Dataset logged as the run's "evaluation" input
    targets_name: str
    model_input: Any = None  # what the model is given: the array when data was an array

    def __post_init__(self) -> None:
        if self.model_input is None:
            self.model_input = self.features


@dataclass
class Predictor:
    """A model reduced to what evaluation needs."""

    predict: Callable[[Any], Any]
    predict_proba: Callable[[Any], Any] | None
    estimator: Any  # the scikit-learn estimator, when there is one (score, importance)
    uri: str | None  # the model URI, when the model was given or loaded as one


def rows(
    data: Any,
    targets: Any,
    predictions: str | None,
    feature_names: list[str] | None,
    model_given: bool,
    source: str | None = None,
) -> Rows:
    """Normalize ``data`` / ``targets`` / ``predictions`` into :class:`Rows`.

    ``source`` (``dataset_path``) is recorded as the logged dataset's source.
    """
    from nbtrack import data as datasets

    if data is None:
        raise EvaluationError("data must be given: a DataFrame, an array, (X, y) or a dataset")
    if isinstance(data, datasets.Dataset):
        return _from_dataset(data, targets, predictions, model_given)
    found = _rows(data, targets, predictions, feature_names, model_given)
    if source is not None:
        found.dataset = datasets.from_pandas(
            _table(found.features, found.targets, found.targets_name),
            source=source,
            targets=found.targets_name,
            name=found.dataset.name,
        )
    return found


def _rows(
    data: Any,
    targets: Any,
    predictions: str | None,
    feature_names: list[str] | None,
    model_given: bool,
) -> Rows:
    import pandas as pd

    if isinstance(data, tuple):
        if len(data) != 2:
            raise EvaluationError(
                f"a tuple for data must be (X, y); found a tuple of {len(data)} items"
            )
        if targets is not None:
            raise EvaluationError("data=(X, y) already holds the targets; leave targets=None")
        x, y = data
        found = _checked(
            _frame(x, feature_names),
            _labels(y, "the y of data=(X, y)"),
            None,
            "target",
            model_given,
        )
        return _as_given(found, x)
    if isinstance(data, pd.DataFrame):
        return _from_frame(data, targets, predictions, feature_names, model_given)
    if isinstance(data, (np.ndarray, list)):
        if targets is None or isinstance(targets, str):
            raise EvaluationError(
                "with an array or list as data, targets must be the array of labels "
                f"(found {targets!r}); or pass data=(X, y)"
            )
        found = _checked(
            _frame(data, feature_names), _labels(targets, "targets"), None, "target", model_given
        )
        return _as_given(found, data)
    raise EvaluationError(
        f"data must be a DataFrame, a numpy array, a list, (X, y) or an nbtrack.data "
        f"dataset (found {type(data).__name__})"
    )


def _from_frame(
    df: Any,
    targets: Any,
    predictions: str | None,
    feature_names: list[str] | None,
    model_given: bool,
) -> Rows:
    if targets is None:
        raise EvaluationError(
            "targets must name the label column of the DataFrame (the classifier and "
            f"regressor model types need labels); columns: {list(df.columns)}"
        )
    if not isinstance(targets, str) or targets not in df.columns:
        raise EvaluationError(
            f"targets {targets!r} is not a column of the DataFrame (columns: {list(df.columns)})"
        )
    given = None
    if not model_given:
        if predictions is None or predictions not in df.columns:
            raise EvaluationError(
                "without a model, predictions must name the DataFrame column holding the "
                f"model's outputs (found {predictions!r}; columns: {list(df.columns)})"
            )
        given = df[predictions].to_numpy()
    dropped = [targets] + ([predictions] if predictions in df.columns else [])
    features = df[feature_names] if feature_names else df.drop(columns=dropped)
    return _checked(features, _labels(df[targets], "targets"), given, targets, model_given)


def _from_dataset(dataset: Any, targets: Any, predictions: str | None, model_given: bool) -> Rows:
    if targets is not None:
        raise EvaluationError(
            "targets are named by the dataset (nbtrack.data.from_pandas(df, targets='y')); "
            "leave targets=None"
        )
    if dataset.targets is None:
        raise EvaluationError(
            f"dataset {dataset.name!r} has no targets: build it with "
            "nbtrack.data.from_pandas(df, targets='label') or from_numpy(X, targets=y)"
        )
    if dataset.data is None:
        raise EvaluationError(
            f"dataset {dataset.name!r} holds no rows (it was read back from the store); "
            "evaluate the DataFrame or arrays it was built from"
        )
    if isinstance(dataset.data, tuple):
        x, y = dataset.data
        found = _checked(
            _frame(x, None), _labels(y, "the dataset's targets"), None, "target", model_given
        )
        found = _as_given(found, x)
    else:
        found = _from_frame(dataset.data, dataset.targets, predictions, None, model_given)
    found.dataset = dataset
    return found


def _as_given(found: Rows, x: Any) -> Rows:
    """Predict on an array as an array: a model fitted without column names gets none."""
    import pandas as pd

    if not isinstance(x, pd.DataFrame):
        found.model_input = found.features.to_numpy()
    return found


def _frame(x: Any, feature_names: list[str] | None) -> Any:
    import pandas as pd

    if isinstance(x, pd.DataFrame):
        return x[feature_names] if feature_names else x
    array = np.asarray(x)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise EvaluationError(f"features must be 2-D rows × columns (found shape {array.shape})")
    names = feature_names or [f"feature_{i + 1}" for i in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise EvaluationError(
            f"feature_names has {len(names)} names for {array.shape[1]} feature columns"
        )
    return pd.DataFrame(array, columns=names)


def _labels(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise EvaluationError(f"{what} must be one label per row (found shape {array.shape})")
    return array


def _checked(
    features: Any, targets: np.ndarray, given: np.ndarray | None, name: str, model_given: bool
) -> Rows:
    from nbtrack import data as datasets

    if len(targets) != len(features):
        raise EvaluationError(
            f"targets have {len(targets)} rows but the features have {len(features)}"
        )
    if len(targets) == 0:
        raise EvaluationError("data has no rows to evaluate")
    if _has_missing(targets):
        bad = int(np.sum(_missing_mask(targets)))
        raise EvaluationError(
            f"targets hold {bad} missing value(s) (NaN/None); drop those rows or fill them "
            "before evaluating"
        )
    if not model_given and given is None:
        raise EvaluationError("give a model, or model=None with a predictions column")
    dataset = datasets.from_pandas(
        _table(features, targets, name), targets=name, name="evaluation_dataset"
    )
    return Rows(features, targets, given, dataset, name)


def _table(features: Any, targets: np.ndarray, name: str) -> Any:
    """The features with the targets as a column (what the logged dataset describes)."""
    return features.assign(**{name: targets}) if name not in features.columns else features


def _missing_mask(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    return np.asarray(pd.isna(values))


def _has_missing(values: np.ndarray) -> bool:
    return bool(_missing_mask(values).any())


def predictor(model: Any) -> Predictor:
    """A :class:`Predictor` for a model URI, pyfunc model, estimator or function."""
    if isinstance(model, str):
        from nbtrack.pyfunc import load_model

        return _pyfunc(load_model(model), model)
    if hasattr(model, "metadata") and hasattr(model, "get_raw_model"):
        meta = model.metadata
        uri = f"runs:/{meta.run_id}/{meta.artifact_path}" if meta.run_id else None
        return _pyfunc(model, uri)
    if hasattr(model, "predict") and hasattr(model, "fit"):
        return Predictor(model.predict, getattr(model, "predict_proba", None), model, None)
    if callable(model):
        return Predictor(model, None, None, None)
    raise EvaluationError(
        "model must be a model URI, a loaded pyfunc model, a scikit-learn estimator, a "
        f"function of the features, or None with a predictions column (found "
        f"{type(model).__name__})"
    )


def _pyfunc(model: Any, uri: str | None) -> Predictor:
    raw = model.get_raw_model()  # as MLflow: predict and predict_proba of the estimator itself
    return Predictor(raw.predict, getattr(raw, "predict_proba", None), raw, uri)


def predicted(output: Any, rows_count: int, column: str | None) -> np.ndarray:
    """A model's output as one prediction per row (a named column of a frame or dict)."""
    import pandas as pd

    if isinstance(output, dict):
        output = pd.DataFrame(output)
    if isinstance(output, pd.DataFrame):
        if column is not None and column in output.columns:
            output = output[column]
        elif output.shape[1] == 1:
            output = output.iloc[:, 0]
        else:
            raise EvaluationError(
                f"the model returned columns {list(output.columns)}; name the one holding "
                "predictions with predictions='<column>'"
            )
    array = np.asarray(output)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1 or len(array) != rows_count:
        raise EvaluationError(
            f"the model returned predictions of shape {array.shape} for {rows_count} rows; "
            "it must return one prediction per row"
        )
    return array
