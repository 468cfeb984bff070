"""Every error nbtrack raises on purpose.

The hierarchy, with MLflow's error codes where MLflow has one::

    NbtrackError (alias MlflowException)
    ├── StoreError               the store file is corrupt, foreign or from a newer nbtrack
    ├── InvalidParameter         a name, value or argument is not acceptable (also ValueError)
    │   ├── InvalidFilter        a search filter or order_by string does not parse
    │   ├── SignatureError       model input does not match the model's signature
    │   ├── EvaluationError      data, targets or predictions that cannot be evaluated
    │   ├── MetricThresholdClassException  a MetricThreshold that cannot be built
    │   └── InvalidInput         a scoring request or input file is not model input (BAD_REQUEST)
    ├── ResourceNotFound         the thing asked for does not exist (also KeyError-free)
    │   ├── ExperimentNotFound
    │   ├── RunNotFound
    │   ├── ArtifactNotFound
    │   └── ModelNotFound        a registered model, version or alias
    ├── ResourceAlreadyExists    creating something whose name is taken
    ├── InvalidState             the operation does not fit the object's state (deleted run …)
    ├── RegistryError            a model-registry operation that cannot be done
    ├── UnsafeModelError         a model file holds types that are not trusted to load
    ├── ModelValidationFailedException  an evaluation did not pass its thresholds
    ├── MissingDependency        an optional extra is needed (names the pip command)
    ├── SyncError                an MLflow server or store refused or failed a sync request
    ├── AsyncLoggingError        data logged with synchronous=False that the store refused
    └── ExecutionException       a project (MLproject or notebook) cannot run, or its run failed
        └── ProjectSpecError     an MLproject file, entry point or parameter is not acceptable

Each error keeps what it is about as declared attributes (``run_id``, ``experiment_id``,
``name``…; None when the error is not about that thing), and its message says what was
expected, what was found and how to fix it. The attributes every error may carry are
listed on :class:`NbtrackError`; a few classes add their own (``SignatureError.column``,
``InvalidFilter.position``…).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Unpack


class About(TypedDict, total=False):
    """What an error may be about: the keyword arguments every error class takes."""

    run_id: object
    experiment_id: object
    name: Any
    key: object
    path: str
    model_uri: str
    version: object
    alias: object
    stage: object


class NbtrackError(Exception):
    """Root of every error nbtrack raises on purpose.

    Attributes
    ----------
    message : str
        What was expected, what was found, and the fix.
    run_id, experiment_id : object
        The run or experiment the error is about (as given, which may be malformed).
    name : object
        The experiment or registered model name the error is about.
    key : object
        The param, metric or tag key (or signature param) the error is about.
    path : str or None
        The file or folder the error is about.
    model_uri : str or None
        The model URI the error is about.
    version, alias, stage : object
        The registered model version, alias or stage the error is about.
    """

    error_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, **about: Unpack[About]) -> None:
        if undeclared := sorted(set(about) - set(About.__annotations__)):
            raise TypeError(
                f"{type(self).__name__} has no attribute {undeclared}; declare what an error "
                "is about in nbtrack/errors.py (About, or the class's own attributes)"
            )
        super().__init__(message)
        self.message = message
        self.run_id: object = about.get("run_id")
        self.experiment_id: object = about.get("experiment_id")
        self.name: Any = about.get("name")  # Any: ImportError (MissingDependency) has one too
        self.key: object = about.get("key")
        self.path: str | None = about.get("path")
        self.model_uri: str | None = about.get("model_uri")
        self.version: object = about.get("version")
        self.alias: object = about.get("alias")
        self.stage: object = about.get("stage")


MlflowException = NbtrackError


class StoreError(NbtrackError):
    """The store file cannot be used: corrupt, foreign, or written by a newer nbtrack."""


class InvalidParameter(NbtrackError, ValueError):
    """A name, value or argument is not acceptable.

    Attributes
    ----------
    argument : str or None
        The argument that was refused (``status``, ``page_size``, ``section``…).
    value : object
        The refused value, as given.
    column : object
        The input column (or signature column) the error is about.
    expected, received : str or None
        The type or shape expected, and the one found.
    """

    error_code: ClassVar[str] = "INVALID_PARAMETER_VALUE"

    def __init__(
        self,
        message: str,
        *,
        argument: str | None = None,
        value: object = None,
        column: object = None,
        expected: str | None = None,
        received: str | None = None,
        **about: Unpack[About],
    ) -> None:
        super().__init__(message, **about)
        self.argument = argument
        self.value = value
        self.column = column
        self.expected = expected
        self.received = received


class InvalidFilter(InvalidParameter):
    """A search filter or order_by clause does not parse.

    Attributes
    ----------
    filter_string : str or None
        The filter that does not parse.
    order_by : object
        The order_by entry that does not parse.
    position : int or None
        Where in the filter the problem starts (0-based), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        filter_string: str | None = None,
        order_by: object = None,
        position: int | None = None,
        **about: Unpack[About],
    ) -> None:
        super().__init__(message, **about)
        self.filter_string = filter_string
        self.order_by = order_by
        self.position = position


class SignatureError(InvalidParameter):
    """Model input does not match the model's signature.

    Attributes
    ----------
    missing : sequence or None
        The required columns or tensors the input lacks.
    """

    def __init__(
        self,
        message: str,
        *,
        column: object = None,
        expected: str | None = None,
        received: str | None = None,
        missing: Sequence[object] | None = None,
        **about: Unpack[About],
    ) -> None:
        super().__init__(message, column=column, expected=expected, received=received, **about)
        self.missing = missing


class EvaluationError(InvalidParameter):
    """The data, targets, predictions or options given to ``evaluate`` cannot be evaluated."""


class MetricThresholdClassException(InvalidParameter):
    """A ``MetricThreshold`` built with values that make no threshold."""


class InvalidInput(InvalidParameter):
    """A scoring request or input file cannot be read as model input (MLflow's BAD_REQUEST).

    Attributes
    ----------
    status : int
        The HTTP status a model server answers with (400, 413 or 415).
    """

    error_code = "BAD_REQUEST"

    def __init__(self, message: str, *, status: int = 400, **about: Unpack[About]) -> None:
        super().__init__(message, **about)
        self.status = status


class ResourceNotFound(NbtrackError):
    """The experiment, run, artifact or model asked for does not exist."""

    error_code: ClassVar[str] = "RESOURCE_DOES_NOT_EXIST"


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

    error_code: ClassVar[str] = "RESOURCE_ALREADY_EXISTS"


class InvalidState(NbtrackError):
    """The operation does not fit the object's current state."""

    error_code: ClassVar[str] = "INVALID_STATE"


class RegistryError(NbtrackError):
    """A model-registry operation that cannot be done."""

    error_code: ClassVar[str] = "INVALID_PARAMETER_VALUE"


class UnsafeModelError(NbtrackError):
    """A model file holds types that are not trusted to load.

    Attributes
    ----------
    types : list of str or None
        The untrusted types found in the file.
    serialization_format : str or None
        How the file was written (``skops``, ``pickle``…).
    """

    def __init__(
        self,
        message: str,
        *,
        types: list[str] | None = None,
        serialization_format: str | None = None,
        **about: Unpack[About],
    ) -> None:
        super().__init__(message, **about)
        self.types = types
        self.serialization_format = serialization_format


class ModelValidationFailedException(NbtrackError):
    """A candidate model's evaluation failed one or more ``MetricThreshold`` checks.

    Attributes
    ----------
    checks : list
        The failed checks (``nbtrack.evaluation.validation.Check``), for a program to read.
    """

    error_code = "BAD_REQUEST"

    def __init__(
        self, message: str, *, checks: Sequence[object] = (), **about: Unpack[About]
    ) -> None:
        super().__init__(message, **about)
        self.checks = list(checks)


class SyncError(NbtrackError):
    """An MLflow tracking server (or an MLflow store being imported) refused or failed.

    Attributes
    ----------
    url : str or None
        The server (without credentials) or request that failed.
    status_code : int or None
        The HTTP status the server answered with, if it answered.
    report : object or None
        What a push had sent before it stopped (``nbtrack.sync.PushReport``).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status_code: int | None = None,
        report: object = None,
        **about: Unpack[About],
    ) -> None:
        super().__init__(message, **about)
        self.url = url
        self.status_code = status_code
        self.report = report


class MissingDependency(NbtrackError, ImportError):
    """An optional dependency is needed for this feature.

    Attributes
    ----------
    package : str
        The package to install.
    """

    def __init__(self, message: str, *, package: str, **about: Unpack[About]) -> None:
        super().__init__(message, **about)
        self.package = package


class AsyncLoggingError(NbtrackError):
    """Data logged with ``synchronous=False`` that the store refused (found by the writer).

    Attributes
    ----------
    failures : list of Exception
        What the store raised for each refused operation, in the order they were queued.
    """

    def __init__(
        self,
        message: str,
        *,
        failures: Sequence[Exception] = (),
        **about: Unpack[About],
    ) -> None:
        super().__init__(message, **about)
        self.failures = list(failures)


def missing(package: str, extra: str, feature: str) -> MissingDependency:
    """Build the error for a missing optional dependency, naming the extra to install."""
    return MissingDependency(
        f"{feature} needs the '{package}' package, which is not installed; "
        f"install it with: pip install 'nbtrack[{extra}]'",
        package=package,
    )


class ModelFileError(InvalidParameter):
    """A model folder's ``MLmodel`` or estimator file is malformed or leaves its folder."""


class DamagedStore(StoreError):
    """The store file is damaged: nbtrack refuses to write to it and says how to recover."""


class ReadOnlyStore(StoreError):
    """The store is on a read-only medium (or folder): it can be read, not written."""


class ExecutionException(NbtrackError):
    """A project (an MLproject folder or a notebook) cannot run, or its run failed."""


class ProjectSpecError(ExecutionException, InvalidParameter):
    """An MLproject file, entry point or parameter value is not acceptable (nothing ran)."""
