"""A run's inputs, tables and artifact locations beyond plain logging (MLflow's fluent names).

``get_artifact_uri``, ``restore_run``, ``log_inputs`` (several datasets at once) and
``load_table`` (a table logged by ``log_table`` in many runs, joined), plus the locator that
lets :func:`nbtrack.artifacts.download_artifacts` find ``runs:/`` and ``models:/`` URIs.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from nbtrack import artifacts, session, tag_keys, tracking
from nbtrack.artifacts import LocalArtifacts, check_relative, uri_to_path
from nbtrack.client import MlflowClient
from nbtrack.entities import DatasetInput, InputTag
from nbtrack.errors import InvalidParameter
from nbtrack.registry import resolve_model_uri
from nbtrack.uri import logged_model_id, parse_runs_uri

if TYPE_CHECKING:
    import pandas as pd

    from nbtrack.data import Dataset

__all__ = ["get_artifact_uri", "load_table", "log_inputs", "log_stream", "restore_run"]


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifacts (or of one path in them); starts a run if none.

    Parameters
    ----------
    artifact_path
        A relative path inside the run's artifacts; the root when omitted.
    """
    run_id = session.active_run_id() or tracking.start_run().info.run_id
    root = session.client().get_run(run_id).info.artifact_uri
    rel = check_relative(artifact_path)
    return f"{root.rstrip('/')}/{rel}" if rel else root


def log_stream(stream: IO[bytes], artifact_file: str, run_id: str | None = None) -> None:
    """Write a binary file-like object (``io.BytesIO``, an open file…) as an artifact.

    Parameters
    ----------
    stream
        Read from its current position to the end.
    artifact_file
        The artifact path to write, such as ``"weights/model.bin"``.
    run_id
        The run (the active run, started if none, by default).
    """
    target = run_id or session.active_run_id() or tracking.start_run().info.run_id
    session.client().log_stream(target, stream, artifact_file)


def restore_run(run_id: str) -> None:
    """Restore a deleted run (and make it searchable again)."""
    session.client().restore_run(run_id)


def log_inputs(
    datasets: list[Dataset | None] | None = None,
    contexts: list[str | None] | None = None,
    tags_list: list[dict[str, str] | None] | None = None,
    models: list[Any] | None = None,
) -> None:
    """Record several datasets as inputs of the active run, in one transaction.

    Parameters
    ----------
    datasets, contexts, tags_list
        Lists of equal length: each dataset with its context (``"training"``) and tags.
    models
        MLflow accepts model inputs only on Databricks; passing any is an error, as there.
    """
    datasets, contexts, tags_list = datasets or [], contexts or [], tags_list or []
    if not len(datasets) == len(contexts) == len(tags_list):
        raise InvalidParameter(
            "log_inputs needs datasets, contexts and tags_list of the same length (found "
            f"{len(datasets)}, {len(contexts)}, {len(tags_list)}); pass None for a missing "
            "context or tags"
        )
    if models:
        raise InvalidParameter(
            "log_inputs(models=...) is only supported by Databricks managed MLflow, as in "
            "MLflow; link models to a run with log_model or log_outputs"
        )
    inputs = [
        _dataset_input(d, c, t)
        for d, c, t in zip(datasets, contexts, tags_list, strict=True)
        if d is not None
    ]
    run_id = session.active_run_id() or tracking.start_run().info.run_id
    session.client().log_inputs(run_id, inputs)


def _dataset_input(
    dataset: Dataset, context: str | None, tags: dict[str, str] | None
) -> DatasetInput:
    entity = dataset.to_entity() if hasattr(dataset, "to_entity") else dataset
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context is not None:
        input_tags.append(InputTag(tag_keys.DATASET_CONTEXT, context))
    return DatasetInput(entity, input_tags)  # type: ignore[arg-type]


def load_table(
    artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None
) -> pd.DataFrame:
    """The table ``log_table`` wrote as ``artifact_file``, from every run of the active experiment.

    Parameters
    ----------
    artifact_file
        The table's artifact path, such as ``"eval_results.json"``.
    run_ids
        Only these runs (default: every run of the active experiment that logged it).
    extra_columns
        Run fields to add as columns: ``run_id``, ``experiment_id``, ``status``,
        ``run_name``, ``params.<key>``, ``metrics.<key>`` or ``tags.<key>``. A column that
        the table already has gets a trailing underscore, as in MLflow.

    Raises
    ------
    ArtifactNotFound
        If no run holds the table.
    """
    experiment_id = session.active_experiment_id()
    return session.client().load_table(experiment_id, artifact_file, run_ids, extra_columns)


# -- locating artifact URIs (for nbtrack.artifacts.download_artifacts) ---------------------


def locate_artifact(artifact_uri: str | None, run_id: str | None, tracking_uri: str | None) -> Path:
    """The local file or folder an artifact URI (or a run's artifact root) names.

    ``runs:/<run_id>/<path>``, ``models:/<name>/<version>`` (and its alias, stage and
    ``latest`` forms), ``file:`` URIs and plain paths are understood.
    """
    client = MlflowClient(tracking_uri) if tracking_uri else session.client()
    if artifact_uri is None:
        return uri_to_path(client.get_run(str(run_id)).info.artifact_uri)
    if artifact_uri.startswith("runs:"):
        rid, path = parse_runs_uri(artifact_uri)
        return LocalArtifacts(client.get_run(rid).info.artifact_uri).path(path)
    if model_id := logged_model_id(artifact_uri):
        return uri_to_path(client.get_logged_model(model_id).artifact_location)
    if artifact_uri.startswith("models:"):
        version = resolve_model_uri(client, artifact_uri)
        return uri_to_path(client.get_model_version_download_uri(version.name, version.version))
    return uri_to_path(artifact_uri).expanduser().absolute()


artifacts.set_locator(locate_artifact)
