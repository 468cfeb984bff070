"""Deleting and restoring synced runs on the other side.

A run deleted locally after it was pushed is deleted on the server by the next push
(MLflow's ``runs/delete``, a soft delete like nbtrack's), and restored there
(``runs/restore``) when it is restored locally. A pull does the same the other way: a run
deleted on the server after it was synced is deleted in the local store, and restored when
the server restores it. The sync record keeps :data:`~nbtrack.store.sync.DELETED` as the
run's pushed (or pulled) digest, so each deletion is sent once and a restore is noticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack.errors import SyncError
from nbtrack.store.sync import DELETED, MappedRun, SyncStore
from nbtrack.sync.rest import RestClient


def push_deletions(
    client: RestClient,
    sync: SyncStore,
    mapped: dict[str, MappedRun],
    deleted_ids: Sequence[str],
) -> int:
    """Delete on the server the pushed runs among ``deleted_ids`` (deleted locally); how many."""
    done = 0
    for local_id in deleted_ids:
        run = mapped.get(local_id)
        if run is None or run.pushed == DELETED:
            continue
        try:
            client.call("POST", "runs/delete", {"run_id": run.remote_run})
        except SyncError as exc:
            if client.error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
                raise
            # gone from the server already (deleted for good there): nothing left to delete
        sync.record_run(client.url, local_id, run.remote_run, run.remote_exp, pushed=DELETED)
        mapped[local_id] = MappedRun(local_id, run.remote_run, run.remote_exp, DELETED, run.pulled)
        done += 1
    return done


def restore_remote(client: RestClient, run: MappedRun) -> bool:
    """Restore on the server a run whose deletion was pushed; whether it was one."""
    if run.pushed != DELETED:
        return False
    client.call("POST", "runs/restore", {"run_id": run.remote_run})
    return True


def pull_deletions(server: str, remote_deleted: Sequence[str], store: Any, sync: SyncStore) -> int:
    """Delete locally the synced runs the server deleted (``remote_deleted``); how many."""
    by_remote = {m.remote_run: m for m in sync.mapped_runs(server).values()}
    chosen = [by_remote[r] for r in remote_deleted if r in by_remote]
    chosen = [m for m in chosen if m.pulled != DELETED]
    stages = sync.lifecycle_stages([m.local_run for m in chosen])
    done = 0
    for run in chosen:
        if stages.get(run.local_run) == "active":
            store.delete_run(run.local_run)
            done += 1
        sync.record_run(server, run.local_run, run.remote_run, run.remote_exp, pulled=DELETED)
    return done


def restore_local(store: Any, sync: SyncStore, local_id: str, pulled: str | None) -> bool:
    """Restore locally a run whose deletion was pulled and that the server has again."""
    if pulled != DELETED or sync.lifecycle_stages([local_id]).get(local_id) != "deleted":
        return False
    store.restore_run(local_id)
    return True
