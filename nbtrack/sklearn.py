"""``nbtrack.sklearn``: scikit-learn models and autologging, as ``mlflow.sklearn``.

``save_model``, ``log_model`` and ``load_model`` are the scikit-learn flavor
(:mod:`nbtrack.models.sklearn_flavor`); ``autolog`` patches scikit-learn to log every fit
(:mod:`nbtrack.autolog.sklearn`).
"""

from __future__ import annotations

from nbtrack.autolog.sklearn import autolog
from nbtrack.models.sklearn_flavor import (
    FLAVOR_NAME,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    get_default_pip_requirements,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "autolog",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]
