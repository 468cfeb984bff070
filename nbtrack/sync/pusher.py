"""``nbtrack sync push``: send local runs (and the registry) to an MLflow tracking server.

Each run goes through MLflow's REST API: ``runs/create`` (with its original start time and
every tag; ``nbtrack.local_run_id`` names the local run), ``runs/log-batch`` (params, tags
and every metric point with its step and timestamp, in MLflow's batch sizes),
``runs/log-inputs``, the artifact proxy, and ``runs/update`` (status and end time once the
run has finished locally). The store records each step only after the server acknowledged
it (nbtrack/store/sync.py), so a second push sends only what is new, and a push that was
killed or failed resumes where the record stops. Metric points and params sent twice are
harmless: MLflow keeps an identical metric point once and accepts an unchanged param.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from nbtrack import tag_keys
from nbtrack.entities import Run, RunStatus
from nbtrack.errors import SyncError
from nbtrack.store.sync import MappedRun, MetricStat, SyncStore
from nbtrack.sync import files as artifact_files
from nbtrack.sync.deletions import push_deletions, restore_remote
from nbtrack.sync.local import local_store
from nbtrack.sync.remote_experiments import LOCAL_RUN_TAG, RemoteExperiments
from nbtrack.sync.rest import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    RestClient,
    artifact_path,
)
from nbtrack.sync.selection import experiment_ids, selected_deleted, selected_runs

# Runs pushed at once, each on its own connection: two for each of the 4 worker processes
# `mlflow server` runs by default, so none idles while another waits for its database
# (bench/sync.py: 1,000 runs × 100 steps took 100 s with 4, 57-69 s with 8, same load)
WORKERS = 8


@dataclass
class PushReport:
    """What one push sent (also what was sent before an error stopped it)."""

    server: str
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    metric_points: int = 0
    params: int = 0
    tags: int = 0
    artifact_files: int = 0
    artifact_bytes: int = 0
    model_versions: int = 0
    runs_deleted: int = 0  # pushed runs deleted locally since: deleted on the server
    runs_restored: int = 0  # and restored there when restored locally
    copies_deleted: int = 0  # runs a killed push had created late, found by their tag
    model_versions_skipped: int = 0  # registered from a path, not from a run: nothing to point at
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Count what the server acknowledged."""
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def summary(self) -> str:
        """One line saying what was sent."""
        return (
            f"{self.runs_created} runs created, {self.runs_updated} updated, "
            f"{self.runs_unchanged} unchanged"
            + (f", {self.runs_deleted} deleted" if self.runs_deleted else "")
            + (f", {self.runs_restored} restored" if self.runs_restored else "")
            + f"; {self.metric_points} metric points, "
            f"{self.params} params, {self.tags} tags, {self.artifact_files} artifact files "
            f"({self.artifact_bytes} bytes), {self.model_versions} model versions"
            + (
                f" ({self.model_versions_skipped} skipped: not registered from a run)"
                if self.model_versions_skipped
                else ""
            )
        )

    def sent_anything(self) -> bool:
        """Whether the server acknowledged anything during this push."""
        return any(
            getattr(self, name)
            for name in (
                "runs_created",
                "runs_updated",
                "runs_deleted",
                "runs_restored",
                "metric_points",
                "params",
                "tags",
                "artifact_files",
                "model_versions",
            )
        )


def push(
    to: str,
    experiments: Sequence[str] | None = None,
    run_ids: Sequence[str] | None = None,
    models: bool = False,
    tracking_uri: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PushReport:
    """Send local runs (and with ``models`` the model registry) to an MLflow tracking server.

    Parameters
    ----------
    to
        The server URL, e.g. ``http://127.0.0.1:5000`` (``mlflow server --serve-artifacts``).
    experiments
        Names of the experiments to push; every experiment when neither this nor
        ``run_ids`` is given.
    run_ids
        Push only these runs (their parents come along, for the nesting).
    models
        Also push registered models, their versions (pointing at the pushed runs' models),
        aliases, tags and descriptions; the runs of those versions come along.
    tracking_uri
        The local store; the current tracking URI by default.
    progress, on_total
        Called with the number of runs done, and once with the number of runs to do.

    Returns
    -------
    PushReport
        What was sent.

    Raises
    ------
    SyncError
        The server refused or failed; the message says what was sent before. The store
        records only acknowledged work, so running the push again resumes.
    """
    store = local_store(tracking_uri)
    sync = SyncStore(store.db)
    client = RestClient(to)
    report = PushReport(client.url)
    try:
        client.check()
        exp_ids = experiment_ids(store, experiments)
        ids = selected_runs(sync, exp_ids, run_ids, models, store)
        if on_total is not None:
            on_total(len(ids))
        _push_runs(client, store, sync, ids, report, progress)
        deleted = selected_deleted(sync, exp_ids, run_ids)
        report.add(runs_deleted=push_deletions(client, sync, sync.mapped_runs(client.url), deleted))
        if models:
            from nbtrack.sync.registry import push_registry

            push_registry(client, store, sync, report)
    except SyncError as exc:
        if not report.sent_anything():
            raise
        raise SyncError(
            f"{exc.message}. Before the error, this push sent: {report.summary()}. "
            "Both sides are consistent; run the push again to send the rest.",
            url=client.url,
            report=report,
        ) from None
    finally:
        client.close()
    return report


def _push_runs(
    client: RestClient,
    store: Any,
    sync: SyncStore,
    ids: list[str],
    report: PushReport,
    progress: Callable[[int], None] | None,
) -> None:
    server = client.url
    runs = {run.info.run_id: run for run in store.get_runs(ids)}
    mapped = sync.mapped_runs(server)
    stats = sync.metric_stats(ids)
    synced_metrics = sync.synced_metrics(server)
    synced_files = sync.synced_artifacts(server)
    experiments = RemoteExperiments(client, store, sync, mapped, set(ids))
    pusher = _RunPusher(client, sync, report, mapped, experiments)
    # a run's parent must exist remotely first: push in waves of equal nesting depth
    parents = sync.parents(ids)
    waves: list[list[str]] = []
    placed: dict[str, int] = {}
    for run_id in ids:
        parent = parents.get(run_id)
        wave = placed[parent] + 1 if parent in placed else 0
        placed[run_id] = wave
        while len(waves) <= wave:
            waves.append([])
        waves[wave].append(run_id)
    for wave_ids in waves:
        work = []
        for run_id in wave_ids:
            run = runs[run_id]
            files = artifact_files.run_files(run.info.artifact_uri)
            job = _RunJob(
                run,
                stats.get(run_id, {}),
                synced_metrics.get(run_id, {}),
                artifact_files.changed_files(files, synced_files.get(run_id, {})),
                _digest(run),
            )
            if job.unchanged(mapped.get(run_id)):
                report.add(runs_unchanged=1)
                if progress is not None:
                    progress(1)
            else:
                work.append(job)
        _run_parallel(work, pusher.push, progress)
    report.add(copies_deleted=experiments.drop_copies())


def _run_parallel(
    jobs: list[_RunJob],
    push_one: Callable[[_RunJob], None],
    progress: Callable[[int], None] | None,
) -> None:
    """Push runs on a few threads; the first error stops new ones and is raised."""
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(jobs))) as pool:
        pending = {pool.submit(push_one, job) for job in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    for other in pending:
                        other.cancel()
                    wait(pending)
                    raise error
                if progress is not None:
                    progress(1)


@dataclass
class _RunJob:
    """One local run and what of it is not yet on the server."""

    run: Run
    stats: dict[str, MetricStat]
    synced: dict[str, MetricStat]
    files: list[artifact_files.LocalFile]
    digest: str

    def unchanged(self, mapped: MappedRun | None) -> bool:
        return (
            mapped is not None
            and mapped.pushed == self.digest
            and self.stats == self.synced
            and not self.files
        )


class _RunPusher:
    """Sends one run's missing parts, recording each acknowledged step."""

    def __init__(
        self,
        client: RestClient,
        sync: SyncStore,
        report: PushReport,
        mapped: dict[str, MappedRun],
        experiments: RemoteExperiments,
    ):
        self.client = client
        self.sync = sync
        self.report = report
        self.mapped = mapped
        self.experiments = experiments

    def push(self, job: _RunJob) -> None:
        info = job.run.info
        server = self.client.url
        remote_exp = self.experiments.remote_id(info.experiment_id)
        mapped = self.mapped.get(info.run_id)
        tags = self._remote_tags(job.run)
        created = mapped is None
        if mapped is None:
            remote_run, artifact_uri = self._create(job.run, remote_exp, tags)
            self.report.add(runs_created=1, tags=len(tags))
            mapped = MappedRun(info.run_id, remote_run, remote_exp, None, None)
            self.mapped[info.run_id] = mapped
            tags_sent = True
        else:
            if restore_remote(self.client, mapped):
                self.report.add(runs_restored=1)
            remote = self.client.call("GET", "runs/get", run_id=mapped.remote_run)["run"]
            artifact_uri = remote["info"]["artifact_uri"]
            self.report.add(runs_updated=1)
            tags_sent = mapped.pushed == job.digest
        changed = mapped.pushed != job.digest
        params = [{"key": k, "value": v} for k, v in job.run.data.params.items()] if changed else []
        tag_list = [] if tags_sent else [{"key": k, "value": v} for k, v in tags.items()]
        points = self._new_points(job)
        self._log_batches(mapped.remote_run, params, tag_list, points)
        if changed and job.run.inputs.dataset_inputs:
            self._log_inputs(mapped.remote_run, job.run)
        self._send_files(job, mapped.remote_run, artifact_uri)
        if changed and info.status != RunStatus.RUNNING:
            update = {"run_id": mapped.remote_run, "status": info.status, "end_time": info.end_time}
            if not created:  # a new run got its name from runs/create (MLflow then skips a tag)
                update["run_name"] = info.run_name
            self.client.call("POST", "runs/update", update)
        self.sync.record_metrics(server, info.run_id, job.stats)
        self.sync.record_run(server, info.run_id, mapped.remote_run, remote_exp, pushed=job.digest)

    def _remote_tags(self, run: Run) -> dict[str, str]:
        tags = dict(run.data.tags)
        tags[LOCAL_RUN_TAG] = run.info.run_id
        parent = tags.get(tag_keys.PARENT_RUN_ID)
        if parent:
            if parent not in self.mapped:
                raise SyncError(
                    f"the parent run {parent} of run {run.info.run_id} is not on the server",
                    run_id=run.info.run_id,
                )
            tags[tag_keys.PARENT_RUN_ID] = self.mapped[parent].remote_run
        return tags

    def _create(self, run: Run, remote_exp: str, tags: dict[str, str]) -> tuple[str, str]:
        info = run.info
        body = {
            "experiment_id": remote_exp,
            "user_id": info.user_id,
            "run_name": info.run_name,
            "start_time": info.start_time,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        try:
            created = self.client.call("POST", "runs/create", body, idempotent=False)
        except SyncError as exc:
            if exc.status_code is not None:
                raise
            # the line dropped (a kept-alive connection the server had just closed, say):
            # the run may exist; look for it by its tag before creating it once more
            created = self.experiments.created_run(remote_exp, info.run_id) or self.client.call(
                "POST", "runs/create", body, idempotent=False
            )
        created = created["run"]["info"]
        # recorded at once with no digest: a resumed push sends the rest to this run
        self.sync.record_run(self.client.url, info.run_id, created["run_id"], remote_exp)
        return created["run_id"], created["artifact_uri"]

    def _new_points(self, job: _RunJob) -> list[dict[str, Any]]:
        points: list[dict[str, Any]] = []
        for key, stat in job.stats.items():
            synced = job.synced.get(key)
            if synced == stat:
                continue
            rows = self.sync.metric_points(job.run.info.run_id, key, synced)
            if synced is not None and synced.count + len(rows) != stat.count:
                rows = self.sync.metric_points(job.run.info.run_id, key, None)  # resend all
            points += [
                {"key": key, "value": _json_double(v), "timestamp": ts, "step": s}
                for v, ts, s in rows
            ]
        return points

    def _log_batches(
        self, remote_run: str, params: list[dict], tags: list[dict], points: list[dict]
    ) -> None:
        while params or tags or points:
            batch_params = params[:MAX_PARAMS_TAGS_PER_BATCH]
            batch_tags = tags[:MAX_PARAMS_TAGS_PER_BATCH]
            room = min(
                MAX_METRICS_PER_BATCH,
                MAX_ENTITIES_PER_BATCH - len(batch_params) - len(batch_tags),
            )
            batch_points = points[:room]
            self.client.call(
                "POST",
                "runs/log-batch",
                {
                    "run_id": remote_run,
                    "params": batch_params,
                    "tags": batch_tags,
                    "metrics": batch_points,
                },
            )
            self.report.add(
                params=len(batch_params), tags=len(batch_tags), metric_points=len(batch_points)
            )
            params = params[len(batch_params) :]
            tags = tags[len(batch_tags) :]
            points = points[len(batch_points) :]

    def _log_inputs(self, remote_run: str, run: Run) -> None:
        datasets = [
            {
                "tags": [{"key": t.key, "value": t.value} for t in item.tags],
                "dataset": {
                    k: v
                    for k, v in {
                        "name": item.dataset.name,
                        "digest": item.dataset.digest,
                        "source_type": item.dataset.source_type,
                        "source": item.dataset.source,
                        "schema": item.dataset.schema,
                        "profile": item.dataset.profile,
                    }.items()
                    if v is not None
                },
            }
            for item in run.inputs.dataset_inputs
        ]
        self.client.call("POST", "runs/log-inputs", {"run_id": remote_run, "datasets": datasets})

    def _send_files(self, job: _RunJob, remote_run: str, artifact_uri: str) -> None:
        if not job.files:
            return
        prefix = artifact_path(artifact_uri)
        for f in job.files:
            self.client.upload(f"{prefix}/{f.rel}" if prefix else f.rel, f.path)
            self.sync.record_artifacts(self.client.url, job.run.info.run_id, [(f.rel, *f.key)])
            self.report.add(artifact_files=1, artifact_bytes=f.size)


def _json_double(value: float) -> float | str:
    """A metric value as protobuf's JSON form writes it: NaN and ±inf as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _digest(run: Run) -> str:
    """A fingerprint of everything of a run that push sends besides metrics and files."""
    info = run.info
    state = {
        "name": info.run_name,
        "status": info.status,
        "end_time": info.end_time,
        "params": sorted(run.data.params.items()),
        "tags": sorted(run.data.tags.items()),
        "inputs": [
            [i.dataset.name, i.dataset.digest, sorted((t.key, t.value) for t in i.tags)]
            for i in run.inputs.dataset_inputs
        ],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]
