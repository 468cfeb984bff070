"""The objects the API returns, mirroring MLflow's entities field for field.

They are plain immutable values read from the store; changing one changes nothing in
the store (call the API for that). Plain classes with ``__slots__`` rather than dataclasses:
``import nbtrack`` stays light, and building thousands of them (search) stays cheap.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class RunStatus:
    """The states of a run, as MLflow names them."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL: ClassVar[tuple[str, ...]] = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED: ClassVar[tuple[str, ...]] = (FINISHED, FAILED, KILLED)

    @staticmethod
    def is_terminated(status: str) -> bool:
        """Whether a run in this status has ended."""
        return status in RunStatus.TERMINATED


class LifecycleStage:
    """Whether an experiment or run is active or (soft-)deleted."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which lifecycle stages a search returns (MLflow's ``ViewType``)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def stages(view_type: int) -> tuple[str, ...]:
        """The lifecycle stages a view type selects."""
        return {
            ViewType.ACTIVE_ONLY: (LifecycleStage.ACTIVE,),
            ViewType.DELETED_ONLY: (LifecycleStage.DELETED,),
            ViewType.ALL: (LifecycleStage.ACTIVE, LifecycleStage.DELETED),
        }[view_type]


class _Record:
    """Base of the entities: immutable values compared, hashed and shown field by field.

    What a frozen, slotted dataclass gives (equality, hash, repr, pickling, refusing
    assignment), without importing :mod:`dataclasses` (and :mod:`inspect`) at
    ``import nbtrack``. ``_fields`` lists the constructor's arguments in order.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"cannot assign to {type(self).__name__}.{name}: entities are read-only values "
            "(call the API to change what is stored)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {type(self).__name__}.{name}: entities are read-only")


_set = object.__setattr__  # how a record's own __init__ fills its slots


class Metric(_Record):
    """One point of a metric's history."""

    _fields = ("key", "value", "timestamp", "step")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    key: str
    value: float
    timestamp: int
    step: int

    def __init__(self, key: str, value: float, timestamp: int, step: int = 0) -> None:
        _set(self, "key", key)
        _set(self, "value", value)
        _set(self, "timestamp", timestamp)
        _set(self, "step", step)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (
            math.isnan(self.value) and math.isnan(other.value)
        )
        return (self.key, self.timestamp, self.step) == (
            other.key,
            other.timestamp,
            other.step,
        ) and same_value

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp, self.step))


class _KeyValue(_Record):
    _fields = ("key", "value")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    key: str
    value: str

    def __init__(self, key: str, value: str) -> None:
        _set(self, "key", key)
        _set(self, "value", value)


class Param(_KeyValue):
    """A run parameter: a string, immutable once logged."""

    __slots__ = ()


class RunTag(_KeyValue):
    """A run tag: a mutable string annotation."""

    __slots__ = ()


class ExperimentTag(_KeyValue):
    """An experiment tag."""

    __slots__ = ()


class InputTag(_KeyValue):
    """A tag on a run's dataset input, such as ``mlflow.data.context=train``."""

    __slots__ = ()


class RunInfo(_Record):
    """A run's metadata: identity, status, times and where its artifacts live."""

    _fields = (
        "run_id",
        "experiment_id",
        "run_name",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "lifecycle_stage",
        "artifact_uri",
    )
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str

    def __init__(
        self,
        run_id: str,
        experiment_id: str,
        run_name: str,
        user_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        lifecycle_stage: str,
        artifact_uri: str,
    ) -> None:
        _set(self, "run_id", run_id)
        _set(self, "experiment_id", experiment_id)
        _set(self, "run_name", run_name)
        _set(self, "user_id", user_id)
        _set(self, "status", status)
        _set(self, "start_time", start_time)
        _set(self, "end_time", end_time)
        _set(self, "lifecycle_stage", lifecycle_stage)
        _set(self, "artifact_uri", artifact_uri)

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


class RunData(_Record):
    """What a run logged: latest metric values, params and tags as dicts."""

    _fields = ("metrics", "params", "tags")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]

    def __init__(
        self,
        metrics: dict[str, float] | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        _set(self, "metrics", {} if metrics is None else metrics)
        _set(self, "params", {} if params is None else params)
        _set(self, "tags", {} if tags is None else tags)


class Dataset(_Record):
    """A dataset as recorded by ``log_input``: identity, origin and shape."""

    _fields = ("name", "digest", "source_type", "source", "schema", "profile")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None

    def __init__(
        self,
        name: str,
        digest: str,
        source_type: str,
        source: str,
        schema: str | None = None,
        profile: str | None = None,
    ) -> None:
        _set(self, "name", name)
        _set(self, "digest", digest)
        _set(self, "source_type", source_type)
        _set(self, "source", source)
        _set(self, "schema", schema)
        _set(self, "profile", profile)


class DatasetInput(_Record):
    """A dataset used by a run, with its tags."""

    _fields = ("dataset", "tags")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    dataset: Dataset
    tags: list[InputTag]

    def __init__(self, dataset: Dataset, tags: list[InputTag] | None = None) -> None:
        _set(self, "dataset", dataset)
        _set(self, "tags", [] if tags is None else tags)


class RunInputs(_Record):
    """Everything a run consumed."""

    _fields = ("dataset_inputs",)
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    dataset_inputs: list[DatasetInput]

    def __init__(self, dataset_inputs: list[DatasetInput] | None = None) -> None:
        _set(self, "dataset_inputs", [] if dataset_inputs is None else dataset_inputs)


class RunOutputs(_Record):
    """Everything a run produced: the LoggedModels it output, each at a step (MLflow 3)."""

    _fields = ("model_outputs",)
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    model_outputs: list[LoggedModelOutput]

    def __init__(self, model_outputs: list[LoggedModelOutput] | None = None) -> None:
        _set(self, "model_outputs", [] if model_outputs is None else model_outputs)


class Run(_Record):
    """A run: its info, its data, its inputs and its outputs."""

    _fields = ("info", "data", "inputs", "outputs")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    info: RunInfo
    data: RunData
    inputs: RunInputs
    outputs: RunOutputs

    def __init__(
        self,
        info: RunInfo,
        data: RunData,
        inputs: RunInputs | None = None,
        outputs: RunOutputs | None = None,
    ) -> None:
        _set(self, "info", info)
        _set(self, "data", data)
        _set(self, "inputs", RunInputs() if inputs is None else inputs)
        _set(self, "outputs", RunOutputs() if outputs is None else outputs)

    def to_dictionary(self) -> dict[str, Any]:
        """A plain-dict view, as MLflow's ``Run.to_dictionary``."""
        return {
            "info": {
                "run_id": self.info.run_id,
                "run_uuid": self.info.run_id,
                "run_name": self.info.run_name,
                "experiment_id": self.info.experiment_id,
                "user_id": self.info.user_id,
                "status": self.info.status,
                "start_time": self.info.start_time,
                "end_time": self.info.end_time,
                "lifecycle_stage": self.info.lifecycle_stage,
                "artifact_uri": self.info.artifact_uri,
            },
            "data": {
                "metrics": dict(self.data.metrics),
                "params": dict(self.data.params),
                "tags": dict(self.data.tags),
            },
        }


class Experiment(_Record):
    """A named group of runs."""

    _fields = (
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "tags",
        "creation_time",
        "last_update_time",
    )
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int | None
    last_update_time: int | None

    def __init__(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str,
        lifecycle_stage: str,
        tags: dict[str, str] | None = None,
        creation_time: int | None = None,
        last_update_time: int | None = None,
    ) -> None:
        _set(self, "experiment_id", experiment_id)
        _set(self, "name", name)
        _set(self, "artifact_location", artifact_location)
        _set(self, "lifecycle_stage", lifecycle_stage)
        _set(self, "tags", {} if tags is None else tags)
        _set(self, "creation_time", creation_time)
        _set(self, "last_update_time", last_update_time)


class FileInfo(_Record):
    """An artifact file or folder, as ``list_artifacts`` reports it."""

    _fields = ("path", "is_dir", "file_size")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    path: str
    is_dir: bool
    file_size: int | None

    def __init__(self, path: str, is_dir: bool, file_size: int | None) -> None:
        _set(self, "path", path)
        _set(self, "is_dir", is_dir)
        _set(self, "file_size", file_size)


class RegisteredModel(_Record):
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
        _set(self, "name", name)
        _set(self, "creation_timestamp", creation_timestamp)
        _set(self, "last_updated_timestamp", last_updated_timestamp)
        _set(self, "description", description)
        _set(self, "latest_versions", [] if latest_versions is None else latest_versions)
        _set(self, "tags", {} if tags is None else tags)
        _set(self, "aliases", {} if aliases is None else aliases)


class ModelVersion(_Record):
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
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "creation_timestamp", creation_timestamp)
        _set(self, "last_updated_timestamp", last_updated_timestamp)
        _set(self, "description", description)
        _set(self, "user_id", user_id)
        _set(self, "current_stage", current_stage)
        _set(self, "source", source)
        _set(self, "run_id", run_id)
        _set(self, "status", status)
        _set(self, "status_message", status_message)
        _set(self, "tags", {} if tags is None else tags)
        _set(self, "run_link", run_link)
        _set(self, "aliases", [] if aliases is None else aliases)
        _set(self, "model_id", model_id)


class PagedList(list, Generic[T]):  # type: ignore[type-arg]
    """A page of results plus the token for the next page (None on the last)."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


# -- LoggedModels (MLflow 3) -----------------------------------------------------------

MODEL_ID_PREFIX = "m-"


class LoggedModelStatus:
    """Where a LoggedModel stands: PENDING while its files are written, then READY or FAILED."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"
    ALL = (PENDING, READY, FAILED)


class LoggedModelTag(_Record):
    """A tag of a LoggedModel."""

    _fields = ("key", "value")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    key: str
    value: str

    def __init__(self, key: str, value: str) -> None:
        _set(self, "key", key)
        _set(self, "value", value)


class LoggedModelParameter(_Record):
    """A param of a LoggedModel (set once: the model's configuration)."""

    _fields = ("key", "value")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    key: str
    value: str

    def __init__(self, key: str, value: str) -> None:
        _set(self, "key", key)
        _set(self, "value", value)


class LoggedModelOutput(_Record):
    """A model a run produced, at a step (``log_outputs``)."""

    _fields = ("model_id", "step")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    model_id: str
    step: int

    def __init__(self, model_id: str, step: int) -> None:
        _set(self, "model_id", model_id)
        _set(self, "step", step)


class LoggedModelInput(_Record):
    """A model a run consumed."""

    _fields = ("model_id",)
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    model_id: str

    def __init__(self, model_id: str) -> None:
        _set(self, "model_id", model_id)


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
