"""The objects the API returns, mirroring MLflow's entities field for field.

They are plain immutable values read from the store; changing one changes nothing in
the store (call the API for that). Plain classes with ``__slots__`` rather than dataclasses:
``import nbtrack`` stays light, and building thousands of them (search) stays cheap.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Generic, TypeVar

from nbtrack.model_entities import (
    MODEL_ID_PREFIX,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    ModelVersion,
    RegisteredModel,
)
from nbtrack.records import KeyValue, Record, set_field

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


class Metric(Record):
    """One point of a metric's history."""

    _fields = ("key", "value", "timestamp", "step")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    key: str
    value: float
    timestamp: int
    step: int

    def __init__(self, key: str, value: float, timestamp: int, step: int = 0) -> None:
        set_field(self, "key", key)
        set_field(self, "value", value)
        set_field(self, "timestamp", timestamp)
        set_field(self, "step", step)

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


class Param(KeyValue):
    """A run parameter: a string, immutable once logged."""

    __slots__ = ()


class RunTag(KeyValue):
    """A run tag: a mutable string annotation."""

    __slots__ = ()


class ExperimentTag(KeyValue):
    """An experiment tag."""

    __slots__ = ()


class InputTag(KeyValue):
    """A tag on a run's dataset input, such as ``mlflow.data.context=train``."""

    __slots__ = ()


class RunInfo(Record):
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
        set_field(self, "run_id", run_id)
        set_field(self, "experiment_id", experiment_id)
        set_field(self, "run_name", run_name)
        set_field(self, "user_id", user_id)
        set_field(self, "status", status)
        set_field(self, "start_time", start_time)
        set_field(self, "end_time", end_time)
        set_field(self, "lifecycle_stage", lifecycle_stage)
        set_field(self, "artifact_uri", artifact_uri)

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


class RunData(Record):
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
        set_field(self, "metrics", {} if metrics is None else metrics)
        set_field(self, "params", {} if params is None else params)
        set_field(self, "tags", {} if tags is None else tags)


class Dataset(Record):
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
        set_field(self, "name", name)
        set_field(self, "digest", digest)
        set_field(self, "source_type", source_type)
        set_field(self, "source", source)
        set_field(self, "schema", schema)
        set_field(self, "profile", profile)


class DatasetInput(Record):
    """A dataset used by a run, with its tags."""

    _fields = ("dataset", "tags")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    dataset: Dataset
    tags: list[InputTag]

    def __init__(self, dataset: Dataset, tags: list[InputTag] | None = None) -> None:
        set_field(self, "dataset", dataset)
        set_field(self, "tags", [] if tags is None else tags)


class RunInputs(Record):
    """Everything a run consumed."""

    _fields = ("dataset_inputs",)
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    dataset_inputs: list[DatasetInput]

    def __init__(self, dataset_inputs: list[DatasetInput] | None = None) -> None:
        set_field(self, "dataset_inputs", [] if dataset_inputs is None else dataset_inputs)


class RunOutputs(Record):
    """Everything a run produced: the LoggedModels it output, each at a step (MLflow 3)."""

    _fields = ("model_outputs",)
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    model_outputs: list[LoggedModelOutput]

    def __init__(self, model_outputs: list[LoggedModelOutput] | None = None) -> None:
        set_field(self, "model_outputs", [] if model_outputs is None else model_outputs)


class Run(Record):
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
        set_field(self, "info", info)
        set_field(self, "data", data)
        set_field(self, "inputs", RunInputs() if inputs is None else inputs)
        set_field(self, "outputs", RunOutputs() if outputs is None else outputs)

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


class Experiment(Record):
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
        set_field(self, "experiment_id", experiment_id)
        set_field(self, "name", name)
        set_field(self, "artifact_location", artifact_location)
        set_field(self, "lifecycle_stage", lifecycle_stage)
        set_field(self, "tags", {} if tags is None else tags)
        set_field(self, "creation_time", creation_time)
        set_field(self, "last_update_time", last_update_time)


class FileInfo(Record):
    """An artifact file or folder, as ``list_artifacts`` reports it."""

    _fields = ("path", "is_dir", "file_size")
    __slots__ = __match_args__ = _fields  # matched as a dataclass: case Param(key, value)
    path: str
    is_dir: bool
    file_size: int | None

    def __init__(self, path: str, is_dir: bool, file_size: int | None) -> None:
        set_field(self, "path", path)
        set_field(self, "is_dir", is_dir)
        set_field(self, "file_size", file_size)


class PagedList(list, Generic[T]):  # type: ignore[type-arg]
    """A page of results plus the token for the next page (None on the last)."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


__all__ = [
    "MODEL_ID_PREFIX",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelParameter",
    "LoggedModelStatus",
    "LoggedModelTag",
    "Metric",
    "ModelVersion",
    "PagedList",
    "Param",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
