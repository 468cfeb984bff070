"""Which local runs a push sends: experiments or ids chosen, their parents, model runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack.errors import ExperimentNotFound, RunNotFound
from nbtrack.store.sync import SyncStore


def experiment_ids(store: Any, experiments: Sequence[str] | None) -> list[int] | None:
    """The local ids of the named experiments (None: every experiment)."""
    if not experiments:
        return None
    exp_ids = []
    for name in experiments:
        exp = store.get_experiment_by_name(name)
        if exp is None:
            raise ExperimentNotFound(
                f"no experiment named {name!r} in the local store; `nbtrack experiments "
                "list` shows the names",
                name=name,
            )
        exp_ids.append(int(exp.experiment_id))
    return exp_ids


def selected_runs(
    sync: SyncStore,
    exp_ids: list[int] | None,
    run_ids: Sequence[str] | None,
    models: bool,
    store: Any,
) -> list[str]:
    """The active runs to push, parents first.

    With ``models``, the runs of registered versions too. Every id given must exist (of a
    deleted one only its deletion is pushed).
    """
    ids = sync.run_ids(exp_ids, None) if exp_ids or not run_ids else []
    if run_ids:
        found = set(sync.run_ids(None, run_ids))
        deleted = set(sync.run_ids(None, run_ids, "deleted"))  # their deletion is pushed
        for run_id in run_ids:
            if run_id not in found | deleted:
                raise RunNotFound(
                    f"no run with id {run_id!r} in the local store; check the id",
                    run_id=run_id,
                )
        ids += [i for i in run_ids if i not in ids and i in found]
    if models:
        from nbtrack.sync.registry import version_run_ids

        ids += [i for i in version_run_ids(store) if i not in ids]
    return with_parents(sync, ids)


def selected_deleted(
    sync: SyncStore, exp_ids: list[int] | None, run_ids: Sequence[str] | None
) -> list[str]:
    """The deleted runs the same selection names (their deletion is pushed)."""
    ids = sync.run_ids(exp_ids, None, "deleted") if exp_ids or not run_ids else []
    if run_ids:
        ids += [i for i in sync.run_ids(None, run_ids, "deleted") if i not in ids]
    return ids


def with_parents(sync: SyncStore, ids: list[str]) -> list[str]:
    """The runs and their ancestors, parents before children."""
    wanted = list(dict.fromkeys(ids))
    parents = sync.parents(wanted)
    missing = [p for p in parents.values() if p not in set(wanted)]
    while missing:
        wanted = list(dict.fromkeys([*missing, *wanted]))
        parents = sync.parents(wanted)
        missing = [p for p in parents.values() if p not in set(wanted)]
    depth: dict[str, int] = {}

    def level(run_id: str) -> int:
        if run_id not in depth:
            parent = parents.get(run_id)
            depth[run_id] = 0 if parent is None or parent == run_id else level(parent) + 1
        return depth[run_id]

    return sorted(wanted, key=level)
