"""The model registry's and MLflow 3's LoggedModel entities (``nbtrack.entities`` re-exports them).

Registered models and their versions, and the logged models runs produce: plain values
read from the store, as :mod:`nbtrack.entities`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbtrack.records import KeyValue, Record, set_field

if TYPE_CHECKING:
    from nbtrack.entities import Metric


class RegisteredModel(Record):
    """A named model in the registry."""

    _fields = (
        "name",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
        "latest_versions",
        "tags",
        "aliases",
    )
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    latest_versions: list[ModelVersion]
    tags: dict[str, str]
    aliases: dict[str, str]

    def __init__(
        self,
        name: str,
        creation_timestamp: int,
        last_updated_timestamp: int,
        description: str | None = None,
        latest_versions: list[ModelVersion] | None = None,
        tags: dict[str, str] | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        set_field(self, "name", name)
        set_field(self, "creation_timestamp", creation_timestamp)
        set_field(self, "last_updated_timestamp", last_updated_timestamp)
        set_field(self, "description", description)
        set_field(self, "latest_versions", [] if latest_versions is None else latest_versions)
        set_field(self, "tags", {} if tags is None else tags)
        set_field(self, "aliases", {} if aliases is None else aliases)


class ModelVersion(Record):
    """One version of a registered model: a snapshot with its lineage."""

    _fields = (
        "name",
        "version",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
        "user_id",
        "current_stage",
        "source",
        "run_id",
        "status",
        "status_message",
        "tags",
        "run_link",
        "aliases",
        "model_id",
    )
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    user_id: str | None
    current_stage: str
    source: str | None
    run_id: str | None
    status: str
    status_message: str | None
    tags: dict[str, str]
    run_link: str | None
    aliases: list[str]
    model_id: str | None  # the LoggedModel the version was registered from

    def __init__(
        self,
        name: str,
        version: str,
        creation_timestamp: int,
        last_updated_timestamp: int,
        description: str | None = None,
        user_id: str | None = None,
        current_stage: str = "None",
        source: str | None = None,
        run_id: str | None = None,
        status: str = "READY",
        status_message: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        aliases: list[str] | None = None,
        model_id: str | None = None,
    ) -> None:
        set_field(self, "name", name)
        set_field(self, "version", version)
        set_field(self, "creation_timestamp", creation_timestamp)
        set_field(self, "last_updated_timestamp", last_updated_timestamp)
        set_field(self, "description", description)
        set_field(self, "user_id", user_id)
        set_field(self, "current_stage", current_stage)
        set_field(self, "source", source)
        set_field(self, "run_id", run_id)
        set_field(self, "status", status)
        set_field(self, "status_message", status_message)
        set_field(self, "tags", {} if tags is None else tags)
        set_field(self, "run_link", run_link)
        set_field(self, "aliases", [] if aliases is None else aliases)
        set_field(self, "model_id", model_id)


# -- LoggedModels (MLflow 3) -----------------------------------------------------------

MODEL_ID_PREFIX = "m-"


class LoggedModelStatus:
    """Where a LoggedModel stands: PENDING while its files are written, then READY or FAILED."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"
    ALL = (PENDING, READY, FAILED)


class LoggedModelTag(KeyValue):
    """A tag of a LoggedModel."""

    __slots__ = ()


class LoggedModelParameter(KeyValue):
    """A param of a LoggedModel (set once: the model's configuration)."""

    __slots__ = ()


class LoggedModelOutput(Record):
    """A model a run produced, at a step (``log_outputs``)."""

    _fields = ("model_id", "step")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    model_id: str
    step: int

    def __init__(self, model_id: str, step: int) -> None:
        set_field(self, "model_id", model_id)
        set_field(self, "step", step)


class LoggedModelInput(Record):
    """A model a run consumed."""

    _fields = ("model_id",)
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    model_id: str

    def __init__(self, model_id: str) -> None:
        set_field(self, "model_id", model_id)


class LoggedModel:
    """A logged model: identity, lineage (source run), status, tags, params and metrics.

    Mutable, as MLflow's: the fluent API fills ``metrics`` when it reads them.
    """

    _fields = (
        "experiment_id",
        "model_id",
        "name",
        "artifact_location",
        "creation_timestamp",
        "last_updated_timestamp",
        "model_type",
        "source_run_id",
        "status",
        "status_message",
        "tags",
        "params",
        "metrics",
    )
    __slots__ = _fields

    def __init__(
        self,
        experiment_id: str,
        model_id: str,
        name: str,
        artifact_location: str,
        creation_timestamp: int,
        last_updated_timestamp: int,
        model_type: str | None = None,
        source_run_id: str | None = None,
        status: str = LoggedModelStatus.READY,
        status_message: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        metrics: list[Metric] | None = None,
    ) -> None:
        self.experiment_id = experiment_id
        self.model_id = model_id
        self.name = name
        self.artifact_location = artifact_location
        self.creation_timestamp = creation_timestamp
        self.last_updated_timestamp = last_updated_timestamp
        self.model_type = model_type
        self.source_run_id = source_run_id
        self.status = status
        self.status_message = status_message
        self.tags: dict[str, str] = {} if tags is None else tags
        self.params: dict[str, str] = {} if params is None else params
        self.metrics = metrics

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable, as a dataclass

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"LoggedModel({shown})"

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``: the URI that loads this model."""
        return f"models:/{self.model_id}"

    def to_dictionary(self) -> dict[str, Any]:
        """The model as a plain dict (MLflow's ``to_dictionary``)."""
        return {
            "experiment_id": self.experiment_id,
            "model_id": self.model_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "model_type": self.model_type,
            "source_run_id": self.source_run_id,
            "status": self.status,
            "status_message": self.status_message,
            "tags": dict(self.tags),
            "params": dict(self.params),
            "metrics": list(self.metrics or []),
        }
