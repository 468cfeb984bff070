"""Model URIs: which local folder ``runs:/…``, ``models:/…``, ``file:`` or a path names.

* ``runs:/<run_id>/<path>`` – a model logged in a run (the folder under its artifacts);
* ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/<stage>``
  (None, Staging, Production, Archived) and ``models:/<name>/latest`` – a registered
  version's snapshot, found by the registry's one resolver (:mod:`nbtrack.registry.resolver`);
* ``models:/<model_id>`` – a LoggedModel (MLflow 3), by its id;
* ``file:///abs/path`` or a plain path – a folder written by ``save_model``.

Everything is local, so resolving a URI copies nothing: models load straight from the store.
"""

from __future__ import annotations

import os
from pathlib import Path

from nbtrack import session
from nbtrack.artifacts import LocalArtifacts, uri_to_path
from nbtrack.errors import ArtifactNotFound, InvalidParameter
from nbtrack.registry import resolve_model_uri
from nbtrack.uri import logged_model_id, parse_runs_uri


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
    elif model_id := logged_model_id(uri):
        folder = uri_to_path(session.client().get_logged_model(model_id).artifact_location)
    elif uri.startswith("models:"):
        folder = _registered_folder(uri)
    elif uri.startswith("file:") or "://" not in uri:
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
        import shutil  # loaded when a model is copied, not at import

        shutil.copytree(folder, copy, dirs_exist_ok=True)
        return copy
    return folder


def _run_folder(uri: str) -> Path:
    run_id, path = parse_runs_uri(uri)
    return LocalArtifacts(session.client().get_run(run_id).info.artifact_uri).path(path)


def _registered_folder(uri: str) -> Path:
    client = session.client()
    version = resolve_model_uri(client, uri)
    return uri_to_path(client.get_model_version_download_uri(version.name, version.version))
