"""``nbtrack sync pull`` and the writing half of ``nbtrack import``.

A :class:`Source` (an MLflow server through its REST API, or an MLflow store on disk in
nbtrack/sync/mlflow_store.py) hands runs over in the shape of MLflow's REST JSON; this
module writes them into the local store keeping their ids and times, records each run
once written (nbtrack/store/sync.py), and skips on the next pull what did not change.
A run that was pushed from this store comes back to its local run, never as a copy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nbtrack import tag_keys
from nbtrack.artifacts import uri_to_path
from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import ExperimentNotFound
from nbtrack.store.sync import MetricStat, PulledRun, SyncStore
from nbtrack.sync.deletions import pull_deletions, restore_local
from nbtrack.sync.local import local_store
from nbtrack.sync.remote_experiments import LOCAL_RUN_TAG

WORKERS = 8  # runs fetched at once


class Source(Protocol):
    """Where runs come from: an MLflow server or an MLflow store."""

    server: str  # the key of the sync record: a URL without credentials, or file:<path>
    parallel: bool  # whether several threads may read at once

    def experiments(self, names: Sequence[str] | None) -> list[dict[str, Any]]:
        """Experiments (``experiment_id``, ``name``, ``tags``), all of them for None."""

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any]]:
        """The active runs of an experiment, as MLflow's REST API returns them."""

    def history(self, run: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every point of one metric of a run."""

    def files(self, run: dict[str, Any]) -> list[tuple[str, int]]:
        """``(path, size)`` of every artifact file of a run."""

    def fetch(self, run: dict[str, Any], path: str, dest: Path) -> None:
        """Copy one artifact file of a run to ``dest``."""

    def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model (REST JSON, with ``aliases``)."""

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of a registered model (REST JSON)."""

    def model_files(self, version: dict[str, Any]) -> tuple[str, list[tuple[str, int]]] | None:
        """For a version whose source is not inside its run: a folder name and its files."""

    def fetch_model_file(self, version: dict[str, Any], path: str, dest: Path) -> None:
        """Copy one file of such a version's model to ``dest``."""


@dataclass
class PullReport:
    """What one pull or import brought in."""

    source: str
    runs_new: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    runs_deleted: int = 0  # synced runs the server deleted since: deleted locally
    runs_restored: int = 0  # and restored locally when the server restored them
    metric_points: int = 0
    artifact_files: int = 0
    model_versions: int = 0
    model_versions_skipped: int = 0  # their runs were not brought in

    def summary(self) -> str:
        """One line saying what was brought in."""
        skipped = (
            f" ({self.model_versions_skipped} skipped: their runs are in experiments not "
            "brought in)"
            if self.model_versions_skipped
            else ""
        )
        return (
            f"{self.runs_new} new runs, {self.runs_updated} updated, {self.runs_unchanged} "
            "unchanged"
            + (f", {self.runs_deleted} deleted" if self.runs_deleted else "")
            + (f", {self.runs_restored} restored" if self.runs_restored else "")
            + f"; {self.metric_points} metric points, {self.artifact_files} artifact "
            f"files, {self.model_versions} model versions{skipped}"
        )


def pull(
    from_: str,
    experiments: Sequence[str] | None = None,
    models: bool = False,
    tracking_uri: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PullReport:
    """Bring an MLflow server's runs (and with ``models`` its registry) into the local store.

    Parameters
    ----------
    from_
        The server URL, e.g. ``http://127.0.0.1:5000``.
    experiments
        Names of the experiments to pull (all when None).
    models
        Also pull registered models, versions (with their model files), aliases and tags.
    tracking_uri
        The local store; the current tracking URI by default.
    progress, on_total
        Called with the number of runs done, and once with the number of runs to do.

    Returns
    -------
    PullReport
        What was brought in. Running it again brings only what changed.
    """
    from nbtrack.sync.rest import RestClient
    from nbtrack.sync.rest_source import RestSource

    client = RestClient(from_)
    try:
        client.check()
        return apply(RestSource(client), experiments, models, tracking_uri, progress, on_total)
    finally:
        client.close()


def apply(
    source: Source,
    experiments: Sequence[str] | None,
    models: bool,
    tracking_uri: str | None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PullReport:
    """Write what ``source`` holds into the local store (the common part of pull and import)."""
    store = local_store(tracking_uri)
    sync = SyncStore(store.db)
    report = PullReport(source.server)
    chosen = source.experiments(experiments)
    for name in experiments or ():
        if name not in {e["name"] for e in chosen}:
            raise ExperimentNotFound(
                f"no experiment named {name!r} at {source.server}; check the name",
                name=name,
            )
    remote_runs = [(exp, run) for exp in chosen for run in source.runs(exp["experiment_id"])]
    if on_total is not None:
        on_total(len(remote_runs))
    writer = _RunWriter(source, store, sync, report)
    for exp in chosen:
        writer.local_experiment(exp)
    # histories and files come over the network on a few threads; writes stay in order here
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        mapper = pool.map if getattr(source, "parallel", False) else map
        for exp, run, fetched in mapper(lambda item: (*item, writer.fetch(*item)), remote_runs):
            if fetched is None:
                report.runs_unchanged += 1
            else:
                writer.write(exp, run, fetched)
            if progress is not None:
                progress(1)
    # a source that keeps deleted runs (an MLflow server) passes their deletion on
    deleted_runs = getattr(source, "deleted_runs", None)
    if deleted_runs is not None:
        remote_deleted = [r for exp in chosen for r in deleted_runs(exp["experiment_id"])]
        report.runs_deleted += pull_deletions(source.server, remote_deleted, store, sync)
    if models:
        from nbtrack.sync.registry_pull import pull_registry

        pull_registry(source, store, sync, report)
    return report


class _RunWriter:
    """Writes remote runs into the store, one transaction a run."""

    def __init__(self, source: Source, store: Any, sync: SyncStore, report: PullReport):
        self.source = source
        self.store = store
        self.sync = sync
        self.report = report
        self.server = source.server
        mapped = sync.mapped_runs(self.server)
        self.digests = {m.remote_run: m.pulled for m in mapped.values()}
        self.local_of = {m.remote_run: m.local_run for m in mapped.values()}
        self.synced_files = sync.synced_artifacts(self.server)
        self._experiments: dict[str, int] = {}
        self._locations: dict[str, str] = {}

    def local_experiment(self, exp: dict[str, Any]) -> int:
        name = exp["name"]
        if name not in self._experiments:
            local = self.store.get_experiment_by_name(name)
            if local is None:
                tags = {t["key"]: t["value"] for t in exp.get("tags", [])}
                self._experiments[name] = int(self.store.create_experiment(name, tags=tags))
            else:
                self._experiments[name] = int(local.experiment_id)
            location = self.store.get_experiment(str(self._experiments[name])).artifact_location
            self._locations[name] = location
        return self._experiments[name]

    def local_id(self, run: dict[str, Any]) -> str:
        remote_id = run["info"]["run_id"]
        if remote_id in self.local_of:
            return self.local_of[remote_id]
        tags = _tags(run)
        pushed_from = tags.get(LOCAL_RUN_TAG)
        if pushed_from and self.store.get_runs([pushed_from]):
            return pushed_from  # pushed from this store: it comes home
        return remote_id

    def fetch(self, exp: dict[str, Any], run: dict[str, Any]) -> _Fetched | None:
        """Histories and artifact files of a run that changed since the last pull (else None)."""
        digest = _remote_digest(run)
        if self.digests.get(run["info"]["run_id"]) == digest:
            return None
        histories = {
            m["key"]: self.source.history(run, m["key"])
            for m in run.get("data", {}).get("metrics", [])
        }
        local_id = self.local_id(run)
        return _Fetched(digest, local_id, histories, self._fetch_files(exp, run, local_id))

    def write(self, exp: dict[str, Any], run: dict[str, Any], fetched: _Fetched) -> None:
        """Write one fetched run, then record it as pulled."""
        info = run["info"]
        remote_id = info["run_id"]
        local_id = fetched.local_id
        is_new = remote_id not in self.local_of
        exp_id = self.local_experiment(exp)
        tags = _tags(run)
        if tags.get(LOCAL_RUN_TAG) == local_id:
            del tags[LOCAL_RUN_TAG]
        parent = tags.get(tag_keys.PARENT_RUN_ID)
        if parent:
            tags[tag_keys.PARENT_RUN_ID] = self.local_of.get(parent, parent)
        points = []
        stats: dict[str, MetricStat] = {}
        for key, history in fetched.histories.items():
            points += [
                (m["key"], _double(m["value"]), int(m["timestamp"]), int(m.get("step", 0)))
                for m in history
            ]
            if history:
                stats[key] = MetricStat(
                    len(history),
                    max(int(m.get("step", 0)) for m in history),
                    max(int(m["timestamp"]) for m in history),
                )
        pulled = PulledRun(
            run_id=local_id,
            experiment_id=exp_id,
            name=info.get("run_name") or tags.get(tag_keys.RUN_NAME, ""),
            user_id=info.get("user_id", ""),
            status=info.get("status", "FINISHED"),
            start_time=int(info.get("start_time", 0)),
            end_time=int(info["end_time"]) if info.get("end_time") else None,
            artifact_uri=self._artifact_uri(exp, local_id),
            parent_run_id=tags.get(tag_keys.PARENT_RUN_ID),
            params={p["key"]: p["value"] for p in run.get("data", {}).get("params", [])},
            tags=tags,
            metrics=points,
        )
        if restore_local(self.store, self.sync, local_id, self.digests.get(remote_id)):
            self.report.runs_restored += 1
        self.sync.write_pulled_run(pulled)
        datasets = _datasets(run)
        if datasets:
            self.store.log_inputs(local_id, datasets)
        if fetched.files:
            self.sync.record_artifacts(self.server, local_id, fetched.files)
            self.report.artifact_files += len(fetched.files)
        self.sync.record_metrics(self.server, local_id, stats)
        self.sync.record_run(
            self.server, local_id, remote_id, str(exp["experiment_id"]), pulled=fetched.digest
        )
        self.local_of[remote_id] = local_id
        self.report.metric_points += len(points)
        if is_new:
            self.report.runs_new += 1
        else:
            self.report.runs_updated += 1

    def _artifact_uri(self, exp: dict[str, Any], local_id: str) -> str:
        existing = self.store.get_runs([local_id])
        if existing:
            return existing[0].info.artifact_uri
        return f"{self._locations[exp['name']].rstrip('/')}/{local_id}/artifacts"

    def _fetch_files(
        self, exp: dict[str, Any], run: dict[str, Any], local_id: str
    ) -> list[tuple[str, int, int]]:
        """Download the run's new or changed files; ``(path, size, mtime_ns)`` of each."""
        root = uri_to_path(self._artifact_uri(exp, local_id))
        synced = self.synced_files.get(local_id, {})
        done = []
        for path, size in self.source.files(run):
            dest = root / path
            if synced.get(path, (None,))[0] == size and dest.is_file():
                continue
            self.source.fetch(run, path, dest)
            st = dest.stat()
            done.append((path, st.st_size, st.st_mtime_ns))
        return done


@dataclass
class _Fetched:
    """What was fetched of a changed remote run, ready to write."""

    digest: str
    local_id: str
    histories: dict[str, list[dict[str, Any]]]
    files: list[tuple[str, int, int]]


def _tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}


def _double(value: Any) -> float:
    """A metric value from JSON (protobuf writes NaN and ±inf as strings)."""
    return float(value) if value is not None else math.nan


def _datasets(run: dict[str, Any]) -> list[DatasetInput]:
    result = []
    for item in run.get("inputs", {}).get("dataset_inputs", []):
        d = item["dataset"]
        dataset = Dataset(
            d["name"],
            d["digest"],
            d.get("source_type", ""),
            d.get("source", ""),
            d.get("schema"),
            d.get("profile"),
        )
        tags = [InputTag(t["key"], t["value"]) for t in item.get("tags", [])]
        result.append(DatasetInput(dataset, tags))
    return result


def _remote_digest(run: dict[str, Any]) -> str:
    """A fingerprint of a remote run: changes whenever something a pull writes changes."""
    info = run["info"]
    data = run.get("data", {})
    state = [
        info.get("status"),
        info.get("end_time"),
        info.get("run_name"),
        sorted((p["key"], p["value"]) for p in data.get("params", [])),
        sorted((t["key"], t["value"]) for t in data.get("tags", [])),
        sorted(
            (m["key"], str(m["value"]), m.get("step", 0), m["timestamp"])
            for m in data.get("metrics", [])
        ),
        len(run.get("inputs", {}).get("dataset_inputs", [])),
    ]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:32]
