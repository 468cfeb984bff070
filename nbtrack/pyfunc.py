"""``nbtrack.pyfunc``: load any saved model as a generic Python function, as ``mlflow.pyfunc``.

``load_model(uri).predict(data)`` checks ``data`` against the model's signature first, with
MLflow's rules (:mod:`nbtrack.models.enforcement`): columns by name, only lossless type
conversions, tensors of the declared dtype and shape; every mismatch raises
:class:`~nbtrack.errors.SignatureError`. The signature is compiled once at load time, so the
check costs microseconds per call when the data already matches (a serving loop).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models import python_model
from nbtrack.models import sklearn as sklearn_serialization
from nbtrack.models.enforcement import SchemaEnforcer, enforce_params
from nbtrack.models.model import Model
from nbtrack.models.packaging import add_code_to_path
from nbtrack.models.python_model import (
    PythonModel,
    PythonModelContext,
    get_default_pip_requirements,
    log_model,
    save_model,
)
from nbtrack.models.uri import local_model_path

FLAVOR_NAME = "python_function"
_SKLEARN_LOADERS = ("mlflow.sklearn", "nbtrack.sklearn")
_PYTHON_MODEL_LOADERS = (python_model.CODE_MODEL_LOADER, python_model.PICKLED_MODEL_LOADER)

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]


class PyFuncModel:
    """A loaded model with a ``predict(data, params=None)`` that enforces its signature.

    Built by :func:`load_model`; ``metadata`` is the model's :class:`~nbtrack.models.Model`.
    """

    def __init__(
        self,
        model_meta: Model,
        model_impl: Any,
        predict_fn: str = "predict",
        model_path: str | None = None,
    ):
        if not hasattr(model_impl, predict_fn):
            raise InvalidParameter(
                f"the model has no {predict_fn!r} method; save it with a pyfunc_predict_fn it has"
            )
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._predict_fn = getattr(model_impl, predict_fn)
        self._takes_params = predict_fn == "predict"
        inputs = model_meta.get_input_schema()
        self._enforce = SchemaEnforcer(inputs) if inputs is not None else None
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
    model_config: dict[str, Any] | None = None,
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
    model_config
        Custom Python models: settings that override the saved ``model_config`` (the model
        sees them as ``context.model_config``).
    trusted_types
        Extra types to trust in a skops file, e.g. ``["mypackage.MyEstimator"]``. Classes
        from scikit-learn, numpy and scipy are trusted already; anything else is refused.
    allow_pickle
        Load a "pickle" or "cloudpickle" model file (a scikit-learn model or a pickled custom
        Python model). Unpickling runs whatever code the file holds, so it is refused unless
        you trust where the file came from and say so here. Custom models saved from a code
        file (``python_model="model.py"``) need no pickle: loading runs that file.

    Raises
    ------
    UnsafeModelError
        The file holds untrusted types, or is a pickle and ``allow_pickle`` is False.
    """
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
    if loader in _PYTHON_MODEL_LOADERS:
        custom = python_model.load_pyfunc(path, conf, allow_pickle, model_config)
        return PyFuncModel(meta, custom, "predict", str(path))
    if loader not in _SKLEARN_LOADERS:
        raise InvalidParameter(
            f"nbtrack loads scikit-learn and custom Python models (loader_module mlflow.sklearn, "
            f"{', '.join(_PYTHON_MODEL_LOADERS)}); the model at "
            f"{model_uri!r} uses {loader!r}: load it with mlflow.pyfunc.load_model",
            model_uri=model_uri,
        )
    if not suppress_warnings:
        _warn_python_version(conf.get("python_version"))
    add_code_to_path(path, conf)
    impl = sklearn_serialization.load_pyfunc(
        path,
        meta,
        trusted_types=trusted_types,
        allow_pickle=allow_pickle,
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
