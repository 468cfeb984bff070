"""The scikit-learn flavor: writing and reading the estimator file, safely.

Formats (the ``serialization_format`` of ``MLmodel``'s ``sklearn`` flavor, as in MLflow):

* ``"skops"`` (default), ``model.skops``: loading builds only the types the file declares,
  and nbtrack accepts a declared type only if it is a class of scikit-learn, numpy or scipy
  (``sklearn.*``, ``numpy.*``, ``scipy.*``) or a function of scikit-learn (a scorer's
  metric), a type skops trusts itself, or one the caller
  lists in ``trusted_types``. Anything else (a function or class of your own) is refused
  with :class:`~nbtrack.errors.UnsafeModelError` naming it. The ``skops_trusted_types`` that
  ``MLmodel`` carries are written for MLflow's loader but never read by nbtrack: a list that
  comes with the file cannot vouch for the file.
* ``"pickle"`` and ``"cloudpickle"``, ``model.pkl``: unpickling runs any code the file
  holds, so loading one needs ``allow_pickle=True``, whoever wrote it (nbtrack or MLflow).
"""

from __future__ import annotations

import importlib
import pickle
import types
import warnings
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidParameter, UnsafeModelError

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = [
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
]
SKOPS_FILE_NAME = "model.skops"
PICKLE_FILE_NAME = "model.pkl"
TRUSTED_PACKAGES = ("sklearn", "numpy", "scipy")
_PREDICT_FNS = ("predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")


def check_format(serialization_format: str) -> None:
    """Refuse an unknown serialization format."""
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidParameter(
            f"serialization_format must be one of {', '.join(SUPPORTED_SERIALIZATION_FORMATS)} "
            f"(found {serialization_format!r})",
            argument="serialization_format",
            value=serialization_format,
        )


def dump(
    sk_model: Any, folder: Path, serialization_format: str, skops_trusted_types: list[str] | None
) -> tuple[str, list[str] | None]:
    """Write the estimator file; return its name and the skops types MLflow must trust."""
    if serialization_format != SERIALIZATION_FORMAT_SKOPS:
        with open(folder / PICKLE_FILE_NAME, "wb") as out:
            if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
                import cloudpickle

                cloudpickle.dump(sk_model, out, protocol=pickle.DEFAULT_PROTOCOL)
            else:
                pickle.dump(sk_model, out, protocol=pickle.DEFAULT_PROTOCOL)
        return PICKLE_FILE_NAME, skops_trusted_types
    import skops.io

    try:
        data = skops.io.dumps(sk_model)
    except Exception as error:  # skops raises assorted errors for what it cannot describe
        raise InvalidParameter(
            f"skops cannot serialize this {type(sk_model).__name__} ({error}); functions and "
            "classes must be defined at module level. If you trust everyone who will load the "
            "model, pass serialization_format='cloudpickle'",
        ) from error
    declared = skops.io.get_untrusted_types(data=data)
    refused = [t for t in declared if not (is_trusted_class(t) or t in (skops_trusted_types or []))]
    if refused:
        raise UnsafeModelError(
            f"the model holds types that loading would have to trust: {refused}. If they are "
            f"yours and safe, pass skops_trusted_types={refused!r} (and trusted_types=... when "
            "loading), or save with serialization_format='cloudpickle'",
            types=refused,
        )
    (folder / SKOPS_FILE_NAME).write_bytes(data)
    return SKOPS_FILE_NAME, declared or None


def load(
    path: Path,
    serialization_format: str,
    trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
) -> Any:
    """Read an estimator file written in ``serialization_format``, by nbtrack's trust rules."""
    check_format(serialization_format)
    if serialization_format != SERIALIZATION_FORMAT_SKOPS:
        if not allow_pickle:
            raise UnsafeModelError(
                f"{path.name} is a {serialization_format} file: loading it runs whatever code "
                "it holds. If you trust its origin, load it with allow_pickle=True",
                path=str(path),
                serialization_format=serialization_format,
            )
        with open(path, "rb") as f:
            if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
                import cloudpickle

                return cloudpickle.load(f)
            return pickle.load(f)  # the caller opted in with allow_pickle
    import skops.io

    data = path.read_bytes()
    declared = skops.io.get_untrusted_types(data=data)
    extra = set(trusted_types or ())
    if refused := [t for t in declared if t not in extra and not is_trusted_class(t)]:
        raise UnsafeModelError(
            f"{path} holds types nbtrack does not trust: {refused}. Only classes of "
            f"{', '.join(TRUSTED_PACKAGES)} and types skops trusts load by default; if you "
            f"trust these, load with trusted_types={refused!r}",
            path=str(path),
            types=refused,
        )
    return skops.io.loads(data, trusted=declared)


def is_trusted_class(type_name: str) -> bool:
    """Whether a skops type name is a class of scikit-learn, numpy or scipy.

    Functions of scikit-learn itself (a scorer's metric, such as
    ``sklearn.metrics._regression.root_mean_squared_error``) are trusted too; functions of
    numpy and scipy are not (``numpy.save`` called by a FunctionTransformer writes files).
    """
    module_name, _, attr = type_name.rpartition(".")
    package = module_name.split(".")[0]
    if package not in TRUSTED_PACKAGES or not attr:
        return False
    try:
        found = getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        return False
    if isinstance(found, type):
        return found.__module__ == module_name
    is_function = isinstance(found, types.FunctionType)
    return package == "sklearn" and is_function and found.__module__ == module_name


class SklearnModelWrapper:
    """What pyfunc calls: the estimator's predict (and predict_proba… when it has them)."""

    def __init__(self, sklearn_model: Any):
        self.sklearn_model = sklearn_model
        for name in _PREDICT_FNS:
            if method := getattr(sklearn_model, name, None):
                setattr(self, name, method)

    def get_raw_model(self) -> Any:
        """The estimator."""
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The estimator's predictions (scikit-learn takes no inference params)."""
        return self.sklearn_model.predict(data)


def load_model_from_folder(
    folder: Path,
    meta: Any,
    trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
    suppress_warnings: bool = True,
) -> Any:
    """The estimator of a model folder whose ``MLmodel`` has been read into ``meta``."""
    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidParameter(
            f"the model at {folder} has no sklearn flavor (flavors: {sorted(meta.flavors)}); "
            "load it with nbtrack.pyfunc.load_model or its own flavor",
            path=str(folder),
        )
    if not suppress_warnings:
        _warn_version(conf.get("sklearn_version"))
    serialization_format = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    model_file = conf.get("pickled_model") or (
        meta.flavors.get("python_function", {}).get("model_path")
    )
    return load(folder / model_file, serialization_format, trusted_types, allow_pickle)


def load_pyfunc(
    folder: Path,
    meta: Any,
    trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
    suppress_warnings: bool = True,
) -> SklearnModelWrapper:
    """The pyfunc implementation of a scikit-learn model folder."""
    return SklearnModelWrapper(
        load_model_from_folder(folder, meta, trusted_types, allow_pickle, suppress_warnings)
    )


def _warn_version(saved: str | None) -> None:
    import sklearn

    if saved and saved != sklearn.__version__:
        warnings.warn(
            f"nbtrack: the model was saved with scikit-learn {saved} and is loaded with "
            f"{sklearn.__version__}; predictions may differ: install scikit-learn=={saved}",
            stacklevel=4,
        )
