"""The objects the API returns, mirroring MLflow's entities field for field.

They are plain immutable values read from the store; changing one changes nothing in
the store (call the API for that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Metric:
    """One point of a metric's history."""

    key: str
    value: float
    timestamp: int
    step: int = 0

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


@dataclass(frozen=True, slots=True)
class Param:
    """A run parameter: a string, immutable once logged."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    """A run tag: a mutable string annotation."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ExperimentTag:
    """An experiment tag."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run's metadata: identity, status, times and where its artifacts live."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


@dataclass(frozen=True, slots=True)
class RunData:
    """What a run logged: latest metric values, params and tags as dicts."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset as recorded by ``log_input``: identity, origin and shape."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class InputTag:
    """A tag on a run's dataset input, such as ``mlflow.data.context=train``."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset used by a run, with its tags."""

    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunInputs:
    """Everything a run consumed."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunOutputs:
    """Everything a run produced: the LoggedModels it output, each at a step (MLflow 3)."""

    model_outputs: list[LoggedModelOutput] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Run:
    """A run: its info, its data, its inputs and its outputs."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

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


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An artifact file or folder, as ``list_artifacts`` reports it."""

    path: str
    is_dir: bool
    file_size: int | None


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model in the registry."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a registered model: a snapshot with its lineage."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    user_id: str | None = None
    current_stage: str = "None"
    source: str | None = None
    run_id: str | None = None
    status: str = "READY"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    model_id: str | None = None  # the LoggedModel the version was registered from


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


@dataclass(frozen=True)
class LoggedModelTag:
    """A tag of a LoggedModel."""

    key: str
    value: str


@dataclass(frozen=True)
class LoggedModelParameter:
    """A param of a LoggedModel (set once: the model's configuration)."""

    key: str
    value: str


@dataclass(frozen=True)
class LoggedModelOutput:
    """A model a run produced, at a step (``log_outputs``)."""

    model_id: str
    step: int


@dataclass(frozen=True)
class LoggedModelInput:
    """A model a run consumed."""

    model_id: str


@dataclass
class LoggedModel:
    """A logged model: identity, lineage (source run), status, tags, params and metrics."""

    experiment_id: str
    model_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: str = LoggedModelStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] | None = None

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
