"""Every error nbtrack raises on purpose.

The hierarchy, with MLflow's error codes where MLflow has one::

    NbtrackError (alias MlflowException)
    ├── StoreError               the store file is corrupt, foreign or from a newer nbtrack
    ├── InvalidParameter         a name, value or argument is not acceptable (also ValueError)
    │   ├── InvalidFilter        a search filter or order_by string does not parse
    │   └── SignatureError       model input does not match the model's signature
    ├── ResourceNotFound         the thing asked for does not exist (also KeyError-free)
    │   ├── ExperimentNotFound
    │   ├── RunNotFound
    │   ├── ArtifactNotFound
    │   └── ModelNotFound        a registered model, version or alias
    ├── ResourceAlreadyExists    creating something whose name is taken
    ├── InvalidState             the operation does not fit the object's state (deleted run …)
    ├── RegistryError            a model-registry operation that cannot be done
    ├── UnsafeModelError         a model file holds types that are not trusted to load
    ├── SyncError                an MLflow server or store refused or failed a sync request
    └── MissingDependency        an optional extra is needed (names the pip command)

Each error keeps what it is about as attributes (``run_id``, ``experiment_id``, ``name``…),
and its message says what was expected, what was found and how to fix it.
"""

from __future__ import annotations

from typing import Any


class NbtrackError(Exception):
    """Root of every error nbtrack raises on purpose."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        for key, value in context.items():
            setattr(self, key, value)


MlflowException = NbtrackError


class StoreError(NbtrackError):
    """The store file cannot be used: corrupt, foreign, or written by a newer nbtrack."""


class InvalidParameter(NbtrackError, ValueError):
    """A name, value or argument is not acceptable."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidFilter(InvalidParameter):
    """A search filter or order_by clause does not parse."""


class SignatureError(InvalidParameter):
    """Model input does not match the model's signature."""


class ResourceNotFound(NbtrackError):
    """The experiment, run, artifact or model asked for does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class ExperimentNotFound(ResourceNotFound):
    """No experiment with that id or name."""


class RunNotFound(ResourceNotFound):
    """No run with that id."""


class ArtifactNotFound(ResourceNotFound):
    """No artifact at that path."""


class ModelNotFound(ResourceNotFound):
    """No registered model, model version or alias with that name."""


class ResourceAlreadyExists(NbtrackError):
    """Something with that name already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidState(NbtrackError):
    """The operation does not fit the object's current state."""

    error_code = "INVALID_STATE"


class RegistryError(NbtrackError):
    """A model-registry operation that cannot be done."""

    error_code = "INVALID_PARAMETER_VALUE"


class UnsafeModelError(NbtrackError):
    """A model file holds types that are not trusted to load."""


class SyncError(NbtrackError):
    """An MLflow tracking server (or an MLflow store being imported) refused or failed."""


class MissingDependency(NbtrackError, ImportError):
    """An optional dependency is needed for this feature."""


def missing(package: str, extra: str, feature: str) -> MissingDependency:
    """Build the error for a missing optional dependency, naming the extra to install."""
    return MissingDependency(
        f"{feature} needs the '{package}' package, which is not installed; "
        f"install it with: pip install 'nbtrack[{extra}]'",
        package=package,
    )
