"""``MlflowClient``: the object API over one store, with MLflow's names and semantics.

Unlike the fluent API it keeps no active run: every call names its run or experiment.
"""

from __future__ import annotations

import io
import json
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nbtrack import tables, tag_keys, validation
from nbtrack.artifacts import LocalArtifacts
from nbtrack.async_logging import QUEUE, RunOperations, drain, is_async
from nbtrack.context import user
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import InvalidParameter
from nbtrack.image import Image as NbtrackImage
from nbtrack.image import step_image_files
from nbtrack.logged_models_client import LoggedModelClient
from nbtrack.naming import random_run_name
from nbtrack.registry.client import RegistryClient
from nbtrack.store import TrackingStore, get_store
from nbtrack.store.metrics import MetricBatch
from nbtrack.store.sql import now_ms
from nbtrack.uri import get_tracking_uri

SEARCH_MAX_RESULTS_DEFAULT = 1000


class MlflowClient(RegistryClient, LoggedModelClient):
    """Client of an nbtrack store (``tracking_uri`` defaults to the one in force).

    Parameters
    ----------
    tracking_uri
        ``sqlite:///path.db`` or a plain path; the current tracking URI if omitted.
    registry_uri
        Accepted for MLflow compatibility; the registry lives in the same store.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None):
        self._tracking_uri = tracking_uri or get_tracking_uri()
        self._store: TrackingStore | None = None

    @property
    def tracking_uri(self) -> str:
        """The tracking URI this client talks to."""
        return self._tracking_uri

    @property
    def store(self) -> TrackingStore:
        """The tracking store, opened on first use."""
        if self._store is None:
            self._store = get_store(self._tracking_uri)
        return self._store

    # -- experiments ------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment; return its id."""
        validation.experiment_name(name)
        clean = {
            validation.validate_key(k, "experiment tag"): validation.tag_value(k, v)
            for k, v in (tags or {}).items()
        }
        return self.store.create_experiment(name, artifact_location, clean)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id."""
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or None."""
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments matching a filter (``name LIKE 'x%'``, ``tags.k = 'v'``)."""
        items, token = self.store.search_experiments(
            view_type, max_results, filter_string, order_by, page_token
        )
        return PagedList(items, token)

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment and its runs deleted."""
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and its runs."""
        self.store.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment."""
        self.store.rename_experiment(experiment_id, validation.experiment_name(new_name))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment."""
        validation.validate_key(key, "experiment tag")
        self.store.set_experiment_tag(experiment_id, key, validation.tag_value(key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        self.store.delete_experiment_tag(experiment_id, key)

    # -- runs -------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run; ``mlflow.parentRunId`` in tags makes it a child run."""
        clean = {
            validation.validate_key(k, "tag"): validation.tag_value(k, v)
            for k, v in (tags or {}).items()
        }
        name = run_name or clean.get(tag_keys.RUN_NAME) or random_run_name()
        return self.store.create_run(
            experiment_id=str(experiment_id),
            user_id=clean.get(tag_keys.USER) or user(),
            start_time=validation.whole_number("start_time", start_time)
            if start_time is not None
            else now_ms(),
            tags=clean,
            run_name=validation.run_name(name),
            parent_run_id=clean.get(tag_keys.PARENT_RUN_ID),
        )

    def get_run(self, run_id: str) -> Run:
        """The run with its params, latest metrics, tags and inputs."""
        drain()  # what this process queued is read back
        return self.store.get_run(_run_id(run_id))

    def get_parent_run(self, run_id: str) -> Run | None:
        """The parent of a nested run, or None."""
        parent = self.get_run(run_id).data.tags.get(tag_keys.PARENT_RUN_ID)
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status or name."""
        if status is not None:
            _check_status(status)
        end = now_ms() if status and RunStatus.is_terminated(status) else None
        drain()
        self.store.update_run_info(
            _run_id(run_id), status, end, validation.run_name(name) if name else None
        )

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End a run: FINISHED unless another status is given."""
        status = status or RunStatus.FINISHED
        _check_status(status)
        end = validation.whole_number("end_time", end_time) if end_time is not None else now_ms()
        refused = QUEUE.settle()  # what was logged asynchronously lands before the run ends
        self.store.update_run_info(_run_id(run_id), status, end, None)
        QUEUE.raise_failures(refused)

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (``nbtrack gc`` removes it for good)."""
        drain()
        self.store.delete_run(_run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        """Restore a deleted run."""
        self.store.restore_run(_run_id(run_id))

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching MLflow's filter grammar, as a page of ``Run`` objects."""
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        drain()
        runs, token = self.store.search_runs(
            ids,
            filter_string=filter_string or None,
            run_view_type=run_view_type,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )
        return PagedList(runs, token)

    # -- logging ----------------------------------------------------------------------

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param (immutable: a different value for the key is an error).

        Returns the value, or a ``RunOperations`` handle when ``synchronous=False``.
        """
        validation.validate_key(key, "param")
        params = [Param(key, validation.param_value(key, value))]
        if is_async(synchronous):
            return QUEUE.put(self.store, _run_id(run_id), params=params)
        drain()
        self.store.log_batch(_run_id(run_id), params=params)
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Append a point to a metric's history.

        Committed when this returns; with ``synchronous=False`` queued instead, and the
        returned ``RunOperations``' ``wait()`` blocks until it has committed.
        """
        validation.validate_key(key, "metric")
        row = (
            _run_id(run_id),
            key,
            validation.metric_value(key, value),
            now_ms() if timestamp is None else validation.whole_number("timestamp", timestamp),
            0 if step is None else validation.whole_number("step", step),
        )
        if is_async(synchronous):
            return QUEUE.put(self.store, row[0], metrics=(*row, 0))
        drain()
        self.store.log_metric(*row)
        return None

    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> RunOperations | None:
        """Set (or replace) a tag; queued when ``synchronous=False``."""
        validation.validate_key(key, "tag")
        tags = [RunTag(key, validation.tag_value(key, value))]
        name = validation.run_name(str(value)) if key == tag_keys.RUN_NAME else None
        if is_async(synchronous):
            return QUEUE.put(self.store, _run_id(run_id), tags=tags, run_name=name)
        drain()
        self.store.log_batch(_run_id(run_id), tags=tags)
        if name is not None:
            self.store.update_run_info(run_id, None, None, name)
        return None

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag."""
        drain()
        self.store.delete_tag(_run_id(run_id), key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] | None = (),
        params: Sequence[Param] | None = (),
        tags: Sequence[RunTag] | None = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log many metrics, params and tags in one transaction: all or nothing.

        Queued when ``synchronous=False`` (one ``RunOperations`` for the whole batch).
        """
        run_id = _run_id(run_id)
        batch = _checked_metrics(run_id, metrics or ())
        checked_params, checked_tags = _checked_params(params or ()), _checked_tags(tags or ())
        if is_async(synchronous):
            return QUEUE.put(self.store, run_id, batch.flat, checked_params, checked_tags)
        drain()
        self.store.log_batch(run_id, batch, checked_params, checked_tags)
        return None

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point logged for a metric, by step."""
        drain()
        return self.store.get_metric_history(_run_id(run_id), key)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None) -> None:
        """Record the datasets a run used."""
        drain()
        self.store.log_inputs(_run_id(run_id), datasets or [])

    # -- artifacts --------------------------------------------------------------------

    def _artifacts(self, run_id: str) -> LocalArtifacts:
        return LocalArtifacts(self.get_run(run_id).info.artifact_uri)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a local file into the run's artifacts."""
        self._artifacts(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local folder's contents into the run's artifacts."""
        self._artifacts(run_id).log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under ``path`` in the run's artifacts."""
        return self._artifacts(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy an artifact to a local folder; return the local path."""
        return self._artifacts(run_id).download_artifacts(path, dst_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write a string as a text artifact."""
        self._artifacts(run_id).write_bytes(artifact_file, text.encode("utf-8"))

    def log_stream(self, run_id: str, stream: Any, artifact_file: str) -> None:
        """Write a binary file-like object (``io.BytesIO``, an open file…) as an artifact."""
        data = stream.read() if hasattr(stream, "read") else None
        if not isinstance(data, bytes):
            raise InvalidParameter(
                f"log_stream needs a binary file-like object such as io.BytesIO (found "
                f"{type(stream).__name__}, or a text stream); for text use log_text"
            )
        self._artifacts(run_id).write_bytes(artifact_file, data)

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: list[str] | None = None,
        extra_columns: list[str] | None = None,
    ) -> Any:
        """The ``log_table`` table ``artifact_file`` of an experiment's runs, as one DataFrame.

        See :func:`nbtrack.tables.join_tables` for ``run_ids`` and ``extra_columns``.
        """
        found = tables.table_filter(artifact_file)
        runs: list[Run] = []
        token = None
        while True:
            page = self.search_runs([experiment_id], found or "", page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return tables.join_tables(runs, artifact_file, run_ids, extra_columns)

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        """Write a dict as JSON, or YAML when the file ends in .yaml/.yml."""
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False, default_flow_style=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(run_id, text, artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib or plotly figure (html for plotly, any image format else)."""
        module = type(figure).__module__
        buffer = io.BytesIO()
        suffix = posixpath.splitext(artifact_file)[1].lower().lstrip(".")
        if module.startswith("matplotlib"):
            figure.savefig(buffer, format=suffix or "png")
        elif module.startswith("plotly"):
            if suffix in ("html", "htm"):
                buffer.write(figure.to_html(include_plotlyjs="cdn").encode("utf-8"))
            else:
                buffer.write(figure.to_image(format=suffix or "png"))
        else:
            raise InvalidParameter(
                f"log_figure takes a matplotlib or plotly figure (found {type(figure).__name__}); "
                "save other images with log_artifact"
            )
        self._artifacts(run_id).write_bytes(artifact_file, buffer.getvalue())

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Write a DataFrame or dict of columns as JSON (``{"columns", "data"}``, MLflow's form)."""
        import pandas as pd

        if not artifact_file.endswith(".json"):
            raise InvalidParameter(
                f"log_table writes JSON: artifact_file must end in .json (found {artifact_file!r})"
            )
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        text = frame.to_json(orient="split", index=False)
        self.log_text(run_id, text, artifact_file)
        run = self.get_run(run_id)
        logged = json.loads(run.data.tags.get(tag_keys.LOGGED_ARTIFACTS, "[]"))
        entry = {"path": artifact_file, "type": "table"}
        if entry not in logged:
            self.set_tag(run_id, tag_keys.LOGGED_ARTIFACTS, json.dumps([*logged, entry]))

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Save a numpy array, PIL image or ``nbtrack.Image`` as an image artifact.

        Either ``artifact_file`` (one image file), or ``key`` with an optional ``step`` and
        ``timestamp``: a series of images as MLflow logs them for its image charts (under
        ``images/``, with a thumbnail; the run is tagged ``mlflow.loggedImages``).
        """
        if artifact_file is not None and (key, step, timestamp) != (None, None, None):
            raise InvalidParameter(
                "log_image takes artifact_file alone, or key with step and timestamp; not both"
            )
        if artifact_file is None:
            if key is None:
                raise InvalidParameter(
                    "log_image needs artifact_file (one image, such as 'confusion.png') or key "
                    "(a series of images by step)"
                )
            self._log_step_image(run_id, image, key, step, timestamp)
            return
        from PIL import Image

        if isinstance(image, NbtrackImage):
            image = image.to_pil()
        picture = image if hasattr(image, "save") else Image.fromarray(image)
        buffer = io.BytesIO()
        picture.save(buffer, format=Path(artifact_file).suffix.lstrip(".").upper() or "PNG")
        self._artifacts(run_id).write_bytes(artifact_file, buffer.getvalue())

    def _log_step_image(
        self, run_id: str, image: Any, key: str, step: int | None, timestamp: int | None
    ) -> None:
        files = step_image_files(
            image,
            key,
            0 if step is None else validation.whole_number("step", step),
            now_ms() if timestamp is None else validation.whole_number("timestamp", timestamp),
        )
        artifacts = self._artifacts(run_id)
        for path, data in files.items():
            artifacts.write_bytes(path, data)
        self.set_tag(run_id, tag_keys.LOGGED_IMAGES, "True")


def _run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise InvalidParameter(
            f"run_id must be a non-empty string (found {run_id!r}); pass run.info.run_id"
        )
    return run_id


def _check_status(status: str) -> None:
    if status not in RunStatus.ALL:
        raise InvalidParameter(
            f"status must be one of {', '.join(RunStatus.ALL)} (found {status!r})",
            argument="status",
            value=status,
        )


def _checked_metrics(run_id: str, metrics: Sequence[Metric]) -> MetricBatch:
    """Metrics as the store's batch, checked column by column (fast for 10,000 points)."""
    batch = MetricBatch(run_id, metrics)
    try:
        keys: Iterable[object] = set(batch.keys)
    except TypeError:  # an unhashable key: validate_key names the problem
        keys = batch.keys
    for key in keys:
        validation.validate_key(key, "metric")
    value_types = set(map(type, batch.values))
    whole_types = set(map(type, batch.timestamps)) | set(map(type, batch.steps))
    if value_types <= {float} and whole_types <= {int}:
        return batch  # the common case: no object built per point
    checked = [
        Metric(
            m.key,
            validation.metric_value(m.key, m.value),
            validation.whole_number("timestamp", m.timestamp),
            validation.whole_number("step", m.step or 0),
        )
        for m in metrics
    ]
    return MetricBatch(run_id, checked)


def _checked_params(params: Sequence[Param]) -> list[Param]:
    return [
        Param(validation.validate_key(p.key, "param"), validation.param_value(p.key, p.value))
        for p in params
    ]


def _checked_tags(tags: Sequence[RunTag]) -> list[RunTag]:
    return [
        RunTag(validation.validate_key(t.key, "tag"), validation.tag_value(t.key, t.value))
        for t in tags
    ]


Client = MlflowClient
