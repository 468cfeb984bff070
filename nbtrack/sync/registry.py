"""The model registry over sync: registered models, versions, aliases, tags, descriptions.

Pushed versions point at the pushed run's model (``runs:/<remote run>/<path>``), so the
server's registry resolves to artifacts it holds. The record keeps local ↔ remote version
numbers (they differ when versions were deleted); ``version = 0`` rows stand for the
registered model itself (its description, tags and aliases). Remote versions carry
``nbtrack.local_version`` so that a push killed between the server's answer and the
record does not register the version twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from nbtrack.errors import SyncError
from nbtrack.store.sync import SyncStore

if TYPE_CHECKING:
    from nbtrack.client import MlflowClient
    from nbtrack.entities import ModelVersion, RegisteredModel
    from nbtrack.store import TrackingStore
    from nbtrack.sync.pusher import PushReport
    from nbtrack.sync.rest import RestClient

LOCAL_VERSION_TAG = "nbtrack.local_version"
MODEL_ROW = 0  # the sync_model_versions row of a registered model itself


def local_client(store: TrackingStore) -> MlflowClient:
    """The public client on the store being synced."""
    from nbtrack.client import MlflowClient

    return MlflowClient(f"sqlite:///{store.db.path}")


def local_models(client: MlflowClient) -> list[tuple[RegisteredModel, list[ModelVersion]]]:
    """Every registered model of the local store with its versions, oldest first."""
    models = []
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        models += list(page)
        token = page.token
        if not token:
            break
    result = []
    for model in models:
        versions: list[ModelVersion] = []
        token = None
        while True:
            vpage = client.search_model_versions(
                f"name = '{_quote(model.name)}'", max_results=10000, page_token=token
            )
            versions += list(vpage)
            token = vpage.token
            if not token:
                break
        versions.sort(key=lambda v: int(v.version))
        result.append((client.get_registered_model(model.name), versions))
    return result


def version_run_ids(store: TrackingStore) -> list[str]:
    """The runs the local model versions came from (pushed along with ``--models``)."""
    client = local_client(store)
    return [v.run_id for _, versions in local_models(client) for v in versions if v.run_id]


def push_registry(
    rest: RestClient, store: TrackingStore, sync: SyncStore, report: PushReport
) -> None:
    """Create or update every local registered model and version on the server."""
    server = rest.url
    mapped_runs = sync.mapped_runs(server)
    for model, versions in local_models(local_client(store)):
        record = sync.mapped_versions(server)
        remote_versions = _push_versions(
            rest, sync, model.name, versions, mapped_runs, record, report
        )
        report.add(model_versions=len(remote_versions.keys() - record.keys()))
        digest = _digest(
            model.description,
            model.tags,
            {a: remote_versions.get((model.name, int(v))) for a, v in model.aliases.items()},
        )
        if record.get((model.name, MODEL_ROW), (None, None))[1] == digest:
            continue
        _ensure_model(rest, model)
        for alias, version in model.aliases.items():
            remote = remote_versions.get((model.name, int(version)))
            if remote is not None:
                rest.call(
                    "POST",
                    "registered-models/alias",
                    {"name": model.name, "alias": alias, "version": remote},
                )
        sync.record_version(server, model.name, MODEL_ROW, model.name, digest)


def _ensure_model(rest: RestClient, model: RegisteredModel) -> None:
    try:
        remote = rest.call("GET", "registered-models/get", name=model.name)["registered_model"]
    except SyncError as exc:
        if rest.error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
            raise
        body: dict[str, Any] = {"name": model.name, "tags": _tag_list(model.tags)}
        if model.description:
            body["description"] = model.description
        rest.call("POST", "registered-models/create", body)
        return
    if (remote.get("description") or None) != (model.description or None):
        rest.call(
            "PATCH",
            "registered-models/update",
            {"name": model.name, "description": model.description or ""},
        )
    remote_tags = {t["key"]: t["value"] for t in remote.get("tags", [])}
    for key, value in model.tags.items():
        if remote_tags.get(key) != value:
            rest.call(
                "POST",
                "registered-models/set-tag",
                {"name": model.name, "key": key, "value": value},
            )


def _push_versions(
    rest: RestClient,
    sync: SyncStore,
    name: str,
    versions: list[ModelVersion],
    mapped_runs: dict[str, Any],
    record: dict[tuple[str, int], tuple[str, str | None]],
    report: PushReport,
) -> dict[tuple[str, int], str]:
    """Create or update the versions of one model; local → remote version numbers."""
    server = rest.url
    result = {key: remote for key, (remote, _) in record.items() if key[0] == name}
    pending = [v for v in versions if (name, int(v.version)) not in record]
    if pending:
        _ensure_model_exists(rest, name)
        result.update(_adopt_versions(rest, sync, name))
    for v in versions:
        key = (name, int(v.version))
        digest = _digest(v.description, v.tags, {"stage": v.current_stage})
        if key in result and record.get(key, (None, None))[1] == digest:
            continue
        if key not in result:
            source, run_id = _remote_source(v, mapped_runs)
            if source is None:
                report.add(model_versions_skipped=1)  # no run: nothing on the server to point at
                continue
            body: dict[str, Any] = {
                "name": name,
                "source": source,
                "run_id": run_id,
                "tags": _tag_list({**v.tags, LOCAL_VERSION_TAG: f"{name}/{v.version}"}),
            }
            if v.description:
                body["description"] = v.description
            created = rest.call("POST", "model-versions/create", body, idempotent=False)
            created = created["model_version"]
            result[key] = str(created["version"])
            sync.record_version(server, name, key[1], result[key], None)
        else:
            remote = result[key]
            rest.call(
                "PATCH",
                "model-versions/update",
                {"name": name, "version": remote, "description": v.description or ""},
            )
            for tag_key, value in v.tags.items():
                rest.call(
                    "POST",
                    "model-versions/set-tag",
                    {"name": name, "version": remote, "key": tag_key, "value": value},
                )
        if v.current_stage and v.current_stage != "None":
            rest.call(
                "POST",
                "model-versions/transition-stage",
                {
                    "name": name,
                    "version": result[key],
                    "stage": v.current_stage,
                    "archive_existing_versions": False,
                },
            )
        sync.record_version(server, name, key[1], result[key], digest)
    return result


def _ensure_model_exists(rest: RestClient, name: str) -> None:
    try:
        rest.call("GET", "registered-models/get", name=name)
    except SyncError as exc:
        if rest.error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
            raise
        rest.call("POST", "registered-models/create", {"name": name})


def _adopt_versions(rest: RestClient, sync: SyncStore, name: str) -> dict[tuple[str, int], str]:
    """Remote versions pushed before whose record was lost, by their local-version tag."""
    found: dict[tuple[str, int], str] = {}
    for v in remote_versions(rest, name):
        tags = {t["key"]: t["value"] for t in v.get("tags", [])}
        local = tags.get(LOCAL_VERSION_TAG, "")
        model, _, number = local.rpartition("/")
        if model == name and number.isdigit():
            found[(name, int(number))] = str(v["version"])
            sync.record_version(rest.url, name, int(number), str(v["version"]), None)
    return found


def remote_versions(rest: RestClient, name: str) -> list[dict[str, Any]]:
    """Every version of a registered model on the server."""
    versions: list[dict[str, Any]] = []
    token = None
    while True:
        page = rest.call(
            "GET",
            "model-versions/search",
            filter=f"name = '{_quote(name)}'",
            max_results=10000,
            page_token=token,
        )
        versions += page.get("model_versions", [])
        token = page.get("next_page_token")
        if not token:
            return versions


def _remote_source(v: ModelVersion, mapped_runs: dict[str, Any]) -> tuple[str | None, str | None]:
    """The version's source on the server: the same path in the pushed run's artifacts."""
    if not v.run_id or v.run_id not in mapped_runs:
        return None, None
    remote_run = mapped_runs[v.run_id].remote_run
    path = "model"
    if v.source and v.source.startswith("runs:/"):
        path = v.source[len("runs:/") :].split("/", 1)[1] if "/" in v.source[6:] else ""
    return f"runs:/{remote_run}/{path}".rstrip("/"), remote_run


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _digest(description: str | None, tags: dict[str, str], extra: dict[str, Any]) -> str:
    state = [description or "", sorted(tags.items()), sorted(extra.items())]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:32]
