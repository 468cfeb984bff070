"""Pulling (or importing) a model registry into the local store.

A remote version becomes a local version of the same model, made from the model folder
inside the pulled run's artifacts, with the remote creation times, tags, description,
stage and aliases. An MLflow 3 version whose source is a logged model (``models:/m-…``)
has its model files brought into the run's artifacts first. The record maps remote
version numbers to local ones, so a second pull adds only new versions.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from nbtrack.artifacts import uri_to_path
from nbtrack.errors import ModelNotFound
from nbtrack.store.sync import SyncStore
from nbtrack.sync.registry import LOCAL_VERSION_TAG, MODEL_ROW, local_client

if TYPE_CHECKING:
    from nbtrack.client import MlflowClient
    from nbtrack.store import TrackingStore
    from nbtrack.sync.puller import PullReport, Source


def pull_registry(
    source: Source, store: TrackingStore, sync: SyncStore, report: PullReport
) -> None:
    """Bring every registered model of ``source`` whose versions' runs are local."""
    client = local_client(store)
    server = source.server
    run_map = {m.remote_run: m.local_run for m in sync.mapped_runs(server).values()}
    for model in source.registered_models():
        name = model["name"]
        record = sync.mapped_versions(server)
        local_of = {
            remote: version
            for (n, version), (remote, _) in record.items()
            if n == name and version != MODEL_ROW
        }
        _ensure_local_model(client, model)
        for v in sorted(source.versions(name), key=lambda v: int(v["version"])):
            remote = str(v["version"])
            if remote in local_of:
                _update_version(client, sync, server, name, local_of[remote], v, record)
                continue
            local_source, local_run = _local_source(source, store, v, run_map)
            if local_source is None:
                report.model_versions_skipped += 1  # its run was not pulled
                continue
            tags = {t["key"]: t["value"] for t in v.get("tags", [])}
            tags.pop(LOCAL_VERSION_TAG, None)
            created = client.create_model_version(
                name, local_source, run_id=local_run, tags=tags, description=v.get("description")
            )
            number = int(created.version)
            sync.set_version_times(
                name,
                number,
                int(v.get("creation_timestamp") or created.creation_timestamp),
                int(v.get("last_updated_timestamp") or created.last_updated_timestamp),
            )
            stage = v.get("current_stage") or "None"
            if stage != "None":
                client.transition_model_version_stage(name, number, stage)
            sync.record_version(server, name, number, remote, _version_digest(v))
            local_of[remote] = number
            report.model_versions += 1
        for alias in model.get("aliases", []):
            local = local_of.get(str(alias["version"]))
            if local is not None:
                client.set_registered_model_alias(name, alias["alias"], local)


def _ensure_local_model(client: MlflowClient, model: dict[str, Any]) -> None:
    name = model["name"]
    tags = {t["key"]: t["value"] for t in model.get("tags", [])}
    description = model.get("description") or None
    try:
        local = client.get_registered_model(name)
    except ModelNotFound:
        client.create_registered_model(name, tags=tags, description=description)
        return
    if description is not None and local.description != description:
        client.update_registered_model(name, description=description)
    for key, value in tags.items():
        if local.tags.get(key) != value:
            client.set_registered_model_tag(name, key, value)


def _update_version(
    client: MlflowClient,
    sync: SyncStore,
    server: str,
    name: str,
    local: int,
    v: dict[str, Any],
    record: dict[tuple[str, int], tuple[str, str | None]],
) -> None:
    digest = _version_digest(v)
    if record.get((name, local), (None, None))[1] == digest:
        return
    if v.get("description") is not None:
        client.update_model_version(name, local, description=v.get("description"))
    for tag in v.get("tags", []):
        if tag["key"] != LOCAL_VERSION_TAG:
            client.set_model_version_tag(name, local, tag["key"], tag["value"])
    stage = v.get("current_stage") or "None"
    if client.get_model_version(name, local).current_stage != stage:
        client.transition_model_version_stage(name, local, stage)
    sync.record_version(server, name, local, str(v["version"]), digest)


def _local_source(
    source: Source, store: TrackingStore, v: dict[str, Any], run_map: dict[str, str]
) -> tuple[str | None, str | None]:
    """A local source for a remote version: the model inside the pulled run's artifacts."""
    local_run = run_map.get(v.get("run_id") or "")
    if local_run is None:
        return None, None
    text = v.get("source") or ""
    if text.startswith("runs:/"):
        path = text[len("runs:/") :].partition("/")[2]
        return f"runs:/{local_run}/{path}".rstrip("/"), local_run
    found = source.model_files(v)
    if found is None:
        path = _path_in_run(text, v)
        return (f"runs:/{local_run}/{path}" if path is not None else None), local_run
    folder_name, files = found
    root = uri_to_path(store.get_run(local_run).info.artifact_uri)
    folder = folder_name if not (root / folder_name).exists() else f"models/{folder_name}"
    for path, _size in files:
        dest = root / folder / path
        if not dest.is_file():
            source.fetch_model_file(v, path, dest)
    return f"runs:/{local_run}/{folder}", local_run


def _path_in_run(text: str, v: dict[str, Any]) -> str | None:
    """The path of a source inside its run's artifacts (``…/<run_id>/artifacts/<path>``)."""
    run_id = v.get("run_id") or ""
    marker = f"/{run_id}/artifacts/"
    path = urlparse(text).path if "://" in text or text.startswith("file:") else text
    if run_id and marker in path:
        return path.split(marker, 1)[1].strip("/")
    return None


def _version_digest(v: dict[str, Any]) -> str:
    state = [
        v.get("description") or "",
        v.get("current_stage") or "None",
        sorted((t["key"], t["value"]) for t in v.get("tags", [])),
    ]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:32]
