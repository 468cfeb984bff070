"""The experiments a push writes to on the server, and the runs already there.

A local experiment maps to the server's experiment of the same name (created when
missing). In an experiment that already existed, runs a killed push created but did not
record are found by their ``nbtrack.local_run_id`` tag, so that resuming never creates a
second copy of a run.
"""

from __future__ import annotations

import threading
from typing import Any

from nbtrack.errors import SyncError
from nbtrack.store.sync import MappedRun, SyncStore
from nbtrack.sync.rest import RestClient

LOCAL_RUN_TAG = "nbtrack.local_run_id"


class RemoteExperiments:
    """Local experiment id → remote experiment id, created on the server when missing.

    In an experiment that already existed, runs a killed push created but did not record
    are found by their ``nbtrack.local_run_id`` tag (adopted), and after the push, extra
    copies (a dead push's request the server finished late) are deleted.
    """

    def __init__(
        self,
        client: RestClient,
        store: Any,
        sync: SyncStore,
        mapped: dict[str, MappedRun],
        local_ids: set[str],
    ):
        self.client = client
        self.store = store
        self.sync = sync
        self.mapped = mapped
        self.local_ids = local_ids
        self.existing: list[str] = []  # remote experiments that existed before this push
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def remote_id(self, local_id: str) -> str:
        """The server's id of a local experiment (resolved once per push)."""
        with self._lock:
            if local_id not in self._ids:
                self._ids[local_id] = self._resolve(local_id)
            return self._ids[local_id]

    def _resolve(self, local_id: str) -> str:
        exp = self.store.get_experiment(local_id)
        remote = self.client.experiment_by_name(exp.name)
        if remote is None:
            return self.client.create_experiment(exp.name, dict(exp.tags))
        if remote.get("lifecycle_stage") == "deleted":
            raise SyncError(
                f"experiment {exp.name!r} is deleted on the server {self.client.url}; "
                "restore it there (or rename the local one) and push again",
                name=exp.name,
            )
        remote_id = str(remote["experiment_id"])
        self.existing.append(remote_id)
        self._adopt_pushed_runs(remote_id)
        return remote_id

    def _tagged_runs(self, remote_id: str) -> list[tuple[str, str]]:
        """``(local run id, remote run id)`` of this push's runs already on the server."""
        found = []
        for run in self.client.search_runs(remote_id, f"tags.`{LOCAL_RUN_TAG}` LIKE '%'"):
            tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
            local = tags.get(LOCAL_RUN_TAG)
            if local in self.local_ids:
                found.append((local, run["info"]["run_id"]))
        return found

    def _adopt_pushed_runs(self, remote_id: str) -> None:
        """Runs pushed before whose record was lost (a kill between ack and commit)."""
        known = {m.remote_run for m in self.mapped.values()}
        for local, remote_run in self._tagged_runs(remote_id):
            if local not in self.mapped and remote_run not in known:
                self.sync.record_run(self.client.url, local, remote_run, remote_id)
                self.mapped[local] = MappedRun(local, remote_run, remote_id, None, None)

    def created_run(self, remote_id: str, local_run: str) -> dict[str, Any] | None:
        """The run a create whose answer was lost made for ``local_run``, if it did.

        The experiment is then checked for copies after the push (the lost request may
        still be running on the server while this looks).
        """
        with self._lock:
            if remote_id not in self.existing:
                self.existing.append(remote_id)
        found = self.client.search_runs(remote_id, f"tags.`{LOCAL_RUN_TAG}` = '{local_run}'")
        return next(({"run": run} for run in found), None)

    def drop_copies(self) -> int:
        """Delete remote runs that duplicate a recorded one (same local id); how many."""
        dropped = 0
        for remote_id in self.existing:
            for local, remote_run in self._tagged_runs(remote_id):
                mapped = self.mapped.get(local)
                if mapped is not None and mapped.remote_run != remote_run:
                    self.client.call("POST", "runs/delete", {"run_id": remote_run})
                    dropped += 1
        return dropped
