"""Model URIs: which local folder ``runs:/…``, ``models:/…``, ``file:`` or a path names.

* ``runs:/<run_id>/<path>`` – a model logged in a run (the folder under its artifacts);
* ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/<stage>``
  (None, Staging, Production, Archived) and ``models:/<name>/latest`` – a registered
  version's snapshot, looked up with ``MlflowClient``'s registry methods;
* ``file:///abs/path`` or a plain path – a folder written by ``save_model``.

Everything is local, so resolving a URI copies nothing: models load straight from the store.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from nbtrack.errors import ArtifactNotFound, InvalidParameter, ModelNotFound

_MODELS_RE = re.compile(r"models:/+(?P<name>[^/@]+)(?:/(?P<ref>[^/]+)|@(?P<alias>[^/]+))/?")
_STAGES = {"none": "None", "staging": "Staging", "production": "Production",
           "archived": "Archived"}


def local_model_path(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Path:
    """The local model folder a URI names (copied into ``dst_path`` when given).

    Raises
    ------
    ArtifactNotFound
        The URI names no folder holding an ``MLmodel`` file.
    ModelNotFound
        A ``models:/`` URI names an unknown model, version, alias or empty stage.
    """
    uri = os.fspath(model_uri)
    if not isinstance(uri, str) or not uri:
        raise InvalidParameter(f"model_uri must be a non-empty string (found {model_uri!r})")
    if uri.startswith("runs:"):
        folder = _run_folder(uri)
    elif uri.startswith("models:"):
        folder = _registered_folder(uri)
    elif uri.startswith("file:") or "://" not in uri:
        from nbtrack.artifacts import uri_to_path

        folder = uri_to_path(uri).expanduser().absolute()
    else:
        raise InvalidParameter(
            f"model URI scheme of {uri!r} is not supported; use runs:/<run_id>/<path>, "
            "models:/<name>/<version>, models:/<name>@<alias> or a local path",
            model_uri=uri,
        )
    if not (folder / "MLmodel").is_file():
        raise ArtifactNotFound(
            f"no model at {uri!r}: {folder} holds no MLmodel file; pass a folder written by "
            "save_model or the model_uri that log_model returned",
            model_uri=uri,
            path=str(folder),
        )
    if dst_path is not None:
        copy = Path(dst_path) / folder.name
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        return copy
    return folder


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` → (run_id, path)."""
    rest = uri[len("runs:"):].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidParameter(
            f"model URI {uri!r} names no run; write runs:/<run_id>/<path>", model_uri=uri
        )
    return run_id, path.strip("/")


def _run_folder(uri: str) -> Path:
    from nbtrack import session
    from nbtrack.artifacts import LocalArtifacts

    run_id, path = parse_runs_uri(uri)
    return LocalArtifacts(session.client().get_run(run_id).info.artifact_uri).path(path)


def _registered_folder(uri: str) -> Path:
    from nbtrack import session
    from nbtrack.artifacts import uri_to_path

    client = session.client()
    version = registered_version(client, uri)
    return uri_to_path(client.get_model_version_download_uri(version.name, version.version))


def registered_version(client: Any, uri: str) -> Any:
    """The ModelVersion a ``models:/`` URI names."""
    match = _MODELS_RE.fullmatch(uri)
    if match is None:
        raise InvalidParameter(
            f"model URI {uri!r} is malformed; write models:/<name>/<version>, "
            "models:/<name>@<alias>, models:/<name>/<stage> or models:/<name>/latest",
            model_uri=uri,
        )
    name, ref, alias = match["name"], match["ref"], match["alias"]
    if alias is not None:
        return client.get_model_version_by_alias(name, alias)
    if ref.isdigit():
        return client.get_model_version(name, ref)
    if ref.lower() == "latest":
        versions = list(client.search_model_versions(f"name='{name}'"))
        if not versions:
            raise ModelNotFound(
                f"registered model {name!r} has no versions; register one with register_model",
                name=name,
            )
        return max(versions, key=lambda v: int(v.version))
    stage = _STAGES.get(ref.lower())
    if stage is None:
        raise InvalidParameter(
            f"{ref!r} in {uri!r} is neither a version number, 'latest', nor a stage "
            f"({', '.join(_STAGES.values())})",
            model_uri=uri,
        )
    found = client.get_latest_versions(name, stages=[stage])
    if not found:
        raise ModelNotFound(
            f"registered model {name!r} has no version in stage {stage}; move one there with "
            "transition_model_version_stage",
            name=name,
            stage=stage,
        )
    return found[0]
