"""An MLflow tracking server as a :class:`~nbtrack.sync.puller.Source` of runs and models."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nbtrack.errors import SyncError
from nbtrack.sync.registry import remote_versions
from nbtrack.sync.rest import RestClient, artifact_path


class RestSource:
    """Reads experiments, runs, artifacts and the registry through MLflow's REST API."""

    parallel = True  # the HTTP client is thread-safe

    def __init__(self, client: RestClient):
        self.client = client
        self.server = client.url
        # proxy folder of an experiment -> the run folders in it (runs with any artifact)
        self._run_folders: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def experiments(self, names: Sequence[str] | None) -> list[dict[str, Any]]:
        """The named experiments that exist on the server, or every active one."""
        if names:
            found = [self.client.experiment_by_name(name) for name in names]
            return [e for e in found if e is not None and e.get("lifecycle_stage") != "deleted"]
        result: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {"max_results": 1000, "view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            page = self.client.call("POST", "experiments/search", body)
            result += page.get("experiments", [])
            token = page.get("next_page_token")
            if not token:
                return result

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any]]:
        """The active runs of an experiment."""
        return self.client.search_runs(experiment_id)

    def deleted_runs(self, experiment_id: str) -> list[str]:
        """The ids of an experiment's deleted runs (not yet removed for good)."""
        return self.client.deleted_run_ids(experiment_id)

    def history(self, run: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every point of one metric."""
        return self.client.metric_history(run["info"]["run_id"], key)

    def files(self, run: dict[str, Any]) -> list[tuple[str, int]]:
        """Every artifact file of a run, walking its folders."""
        run_id = run["info"]["run_id"]
        if not self._may_have_files(run):
            return []
        result: list[tuple[str, int]] = []
        folders = [""]
        while folders:
            folder = folders.pop()
            for entry in self.client.list_artifacts(run_id, folder):
                if entry.get("is_dir"):
                    folders.append(entry["path"])
                else:
                    result.append((entry["path"], int(entry.get("file_size", 0))))
        return result

    def _may_have_files(self, run: dict[str, Any]) -> bool:
        """False when the artifact proxy has no folder for the run (it logged no file).

        Runs the server made keep artifacts at ``<experiment folder>/<run id>/artifacts``;
        one listing of the experiment folder answers for all its runs, so runs without
        artifacts (most of a sweep) cost no request each.
        """
        uri = run["info"].get("artifact_uri") or ""
        run_id = run["info"]["run_id"]
        if not uri.startswith("mlflow-artifacts:"):
            return True
        parent, _, leaf = artifact_path(uri).rpartition("/")
        exp_folder, _, run_folder = parent.rpartition("/")
        if leaf != "artifacts" or run_folder != run_id or not exp_folder:
            return True  # not the layout the server makes: list the run itself
        with self._lock:
            if exp_folder not in self._run_folders:
                listing = self.client.call_artifacts_list(exp_folder)
                self._run_folders[exp_folder] = {e["path"].rsplit("/", 1)[-1] for e in listing}
        return run_id in self._run_folders[exp_folder]

    def fetch(self, run: dict[str, Any], path: str, dest: Path) -> None:
        """Download one artifact file through the server's artifact proxy."""
        prefix = artifact_path(run["info"]["artifact_uri"])
        self.client.download(f"{prefix}/{path}" if prefix else path, dest)

    def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model, with its aliases."""
        names: list[str] = []
        token = None
        while True:
            page = self.client.call(
                "GET", "registered-models/search", max_results=1000, page_token=token
            )
            names += [m["name"] for m in page.get("registered_models", [])]
            token = page.get("next_page_token")
            if not token:
                break
        return [
            self.client.call("GET", "registered-models/get", name=name)["registered_model"]
            for name in names
        ]

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of a registered model."""
        return remote_versions(self.client, name)

    def model_files(self, version: dict[str, Any]) -> tuple[str, list[tuple[str, int]]] | None:
        """The files of an MLflow 3 logged model (``models:/m-…`` source), and its name."""
        source = version.get("source") or ""
        model_id = version.get("model_id") or (
            source[len("models:/") :].strip("/") if source.startswith("models:/m-") else None
        )
        if not model_id:
            return None
        model = self.client.call("GET", f"logged-models/{model_id}")["model"]["info"]
        prefix = artifact_path(model["artifact_uri"])
        files: list[tuple[str, int]] = []
        folders = [""]
        while folders:
            folder = folders.pop()
            path = f"{prefix}/{folder}".rstrip("/")
            page = self.client.call_artifacts_list(path)
            for entry in page:
                rel = f"{folder}/{entry['path']}".lstrip("/")
                if entry.get("is_dir"):
                    folders.append(rel)
                else:
                    files.append((rel, int(entry.get("file_size", 0))))
        version["_model_prefix"] = prefix
        return model.get("name") or model_id, files

    def fetch_model_file(self, version: dict[str, Any], path: str, dest: Path) -> None:
        """Download one file of a logged model through the artifact proxy."""
        prefix = version.get("_model_prefix")
        if prefix is None:
            raise SyncError(f"version {version.get('version')} has no logged model files")
        self.client.download(f"{prefix}/{path}", dest)
