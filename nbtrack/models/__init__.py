"""``nbtrack.models``: the model format, as ``mlflow.models``.

:class:`Model` is a model folder's ``MLmodel`` file, :class:`ModelInfo` what ``log_model``
returns, :class:`ModelSignature` and :func:`infer_signature` describe what a model takes.
"""

from __future__ import annotations

from nbtrack.models.model import Model, ModelInfo, get_model_info
from nbtrack.models.signature import ModelSignature, infer_signature

__all__ = ["Model", "ModelInfo", "ModelSignature", "get_model_info", "infer_signature"]


def __getattr__(name: str) -> object:
    """``nbtrack.models.serve``: the model server handle, loaded on first use."""
    if name in ("serve", "ModelServer"):
        from nbtrack import serving

        return getattr(serving, name)
    raise AttributeError(f"module 'nbtrack.models' has no attribute {name!r}")
