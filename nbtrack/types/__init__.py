"""Data types and schemas of model inputs, outputs and params, as ``mlflow.types`` has them.

A :class:`Schema` is a list of :class:`ColSpec` (named or unnamed columns of a scalar
:class:`DataType`) or of :class:`TensorSpec` (numpy arrays of a dtype and shape, ``-1`` for
any size); a :class:`ParamSchema` lists the inference params a model accepts. Their JSON is
MLflow's, byte for byte, so an ``MLmodel`` signature reads the same in both libraries.
:mod:`~nbtrack.types.schema` defines them, :mod:`~nbtrack.types.inference` infers them.
"""

from __future__ import annotations

from nbtrack.types.inference import infer_param_schema, infer_schema
from nbtrack.types.schema import (
    AnyType,
    ColSpec,
    DataType,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

__all__ = [
    "AnyType",
    "ColSpec",
    "DataType",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "infer_param_schema",
    "infer_schema",
]
