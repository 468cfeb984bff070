"""Garbage collection: remove deleted runs and experiments for good, as ``mlflow gc`` does.

Deleting a run or an experiment only marks it ``deleted``: its rows and artifact files stay
so that it can be restored. ``purge_deleted`` removes them permanently: the runs' rows in one
transaction, then their artifact folders, then the deleted experiments left with no runs.
Rows go before files, so a crash midway leaves at worst orphan files, never a run whose
artifacts have vanished.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from nbtrack.artifacts import uri_to_path
from nbtrack.entities import LifecycleStage, ViewType
from nbtrack.errors import InvalidParameter, InvalidState, NbtrackError, RunNotFound
from nbtrack.store import TrackingStore
from nbtrack.store.sql import now_ms

# MLflow's ``--older-than`` format: any of days, hours, minutes, seconds, in that order.
_AGE = re.compile(
    r"^((?P<days>[.\d]+?)d)?((?P<hours>[.\d]+?)h)?((?P<minutes>[.\d]+?)m)?((?P<seconds>[.\d]+?)s)?$"
)


@dataclass(frozen=True)
class GcResult:
    """What ``purge_deleted`` removed, and the artifact locations it had to leave."""

    run_ids: list[str] = field(default_factory=list)
    experiment_ids: list[str] = field(default_factory=list)
    removed_paths: list[Path] = field(default_factory=list)
    kept_locations: list[str] = field(default_factory=list)


def parse_age(text: str) -> int:
    """Parse an age as MLflow's gc takes it (``30d``, ``1d2h3m4s``, ``1.5h``) into ms."""
    match = _AGE.match(text.strip())
    try:
        parts = {unit: float(n) for unit, n in match.groupdict().items() if n} if match else {}
    except ValueError:
        parts = {}
    if not parts:
        raise InvalidParameter(
            f"an age must look like 30d, 12h, 1d2h3m4s or 1.5h (found {text!r})",
            argument="older_than",
            value=text,
        )
    try:
        return int(timedelta(**parts).total_seconds() * 1000)
    except OverflowError:
        raise InvalidParameter(
            f"an age must be under {timedelta.max.days} days (found {text!r})",
            argument="older_than",
            value=text,
        ) from None


def purge_deleted(
    store: TrackingStore,
    older_than_ms: int | None = None,
    run_ids: Sequence[str] | None = None,
) -> GcResult:
    """Permanently remove deleted runs, their artifact folders, then emptied experiments.

    Parameters
    ----------
    store
        The tracking store to clean.
    older_than_ms
        Only runs deleted (and experiments last updated) at least this many milliseconds ago.
    run_ids
        Only these runs; each must exist and be deleted. Without it, every deleted run.

    Returns
    -------
    GcResult
        The run and experiment ids removed and the folders deleted from disk.

    Raises
    ------
    RunNotFound, InvalidState, InvalidParameter
        When a given run is unknown, not deleted, or deleted too recently; nothing is
        removed then.
    """
    threshold = None if older_than_ms is None else now_ms() - older_than_ms
    old_enough = store.deleted_run_ids(threshold)
    targets = old_enough if run_ids is None else _checked(store, run_ids, old_enough, threshold)
    locations = {run.info.run_id: run.info.artifact_uri for run in store.get_runs(targets)}
    experiment_locations = {
        e.experiment_id: e.artifact_location
        for e in store.search_experiments(ViewType.DELETED_ONLY, None)[0]
    }
    purged = store.purge_runs(targets)
    removed: list[Path] = []
    kept: list[str] = []
    for run_id in purged:
        _remove_run_folder(locations[run_id], run_id, removed, kept)
    experiment_ids = store.purge_experiments(threshold)
    for exp_id in experiment_ids:
        _remove_if_empty(experiment_locations.get(exp_id), removed)
    return GcResult(purged, experiment_ids, removed, kept)


def _checked(
    store: TrackingStore, run_ids: Sequence[str], old_enough: list[str], threshold: int | None
) -> list[str]:
    """Check that gc may remove every given run; return them, each once."""
    wanted = list(dict.fromkeys(run_ids))
    found = {run.info.run_id: run for run in store.get_runs(wanted)}
    allowed = set(old_enough)
    for run_id in wanted:
        run = found.get(run_id)
        if run is None:
            raise RunNotFound(
                f"no run with id {run_id!r} in this store; check the id and the tracking URI",
                run_id=run_id,
            )
        if run.info.lifecycle_stage != LifecycleStage.DELETED:
            raise InvalidState(
                f"run {run_id} is active, and gc only removes deleted runs; delete it first "
                "(nbtrack runs delete) or leave it out",
                run_id=run_id,
            )
        if threshold is not None and run_id not in allowed:
            raise InvalidParameter(
                f"run {run_id} was deleted more recently than the age asked for; "
                "lower the age or leave the run out",
                run_id=run_id,
            )
    return wanted


def _remove_run_folder(uri: str, run_id: str, removed: list[Path], kept: list[str]) -> None:
    """Delete a run's artifact folder, and the ``<run_id>`` folder holding it once empty."""
    try:
        path = uri_to_path(uri)
    except NbtrackError:
        kept.append(uri)  # not a local folder: MLflow's gc also goes on without it
        return
    if path.is_dir():
        shutil.rmtree(path)
        removed.append(path)
    if path.parent.name == run_id:
        _remove_if_empty(path.parent.as_uri(), removed)


def _remove_if_empty(uri: str | None, removed: list[Path]) -> None:
    """Delete a folder only if nothing is left in it (never another run's files)."""
    if not uri:
        return
    try:
        path = uri_to_path(uri)
        os.rmdir(path)
    except (NbtrackError, OSError):
        return  # missing, not empty or not local: leave it
    removed.append(path)
