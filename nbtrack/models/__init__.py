"""``nbtrack.models``: the model format, as ``mlflow.models``.

:class:`Model` is a model folder's ``MLmodel`` file, :class:`ModelInfo` what ``log_model``
returns, :class:`ModelSignature` and :func:`infer_signature` describe what a model takes;
:func:`set_model` names the model a model-code file defines (custom Python models).
"""

from __future__ import annotations

from nbtrack.models.model import Model, ModelInfo, get_model_info
from nbtrack.models.python_model import set_model
from nbtrack.models.signature import ModelSignature, infer_signature

__all__ = ["Model", "ModelInfo", "ModelSignature", "get_model_info", "infer_signature", "set_model"]
