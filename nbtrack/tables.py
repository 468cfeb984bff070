"""Tables logged with ``log_table``, read back and joined across runs (``load_table``).

``log_table`` writes a JSON artifact in pandas' ``split`` form and lists it in the run's
``mlflow.loggedArtifacts`` tag; this module finds those runs among the ones it is given and
concatenates their tables, adding run fields as columns on request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from nbtrack import tag_keys
from nbtrack.artifacts import LocalArtifacts, check_relative
from nbtrack.entities import Run
from nbtrack.errors import ArtifactNotFound, InvalidParameter

if TYPE_CHECKING:
    import pandas as pd

RUN_FIELDS = ("run_id", "experiment_id", "status", "run_name")

__all__ = ["RUN_FIELDS", "join_tables", "table_filter"]


def table_filter(artifact_file: str) -> str | None:
    """A search filter that keeps runs which may hold the table (None: search every run)."""
    path = check_relative(artifact_file, "artifact_file")
    if "'" in path or "\\" in path:
        return None
    return f'tags.`{tag_keys.LOGGED_ARTIFACTS}` LIKE \'%"path": "{path}"%\''


def join_tables(
    runs: Iterable[Run],
    artifact_file: str,
    run_ids: list[str] | None = None,
    extra_columns: list[str] | None = None,
) -> pd.DataFrame:
    """The table ``artifact_file`` of every run given (only ``run_ids``, if any), joined.

    Parameters
    ----------
    extra_columns
        Run fields to add as columns: ``run_id``, ``experiment_id``, ``status``,
        ``run_name``, ``params.<key>``, ``metrics.<key>`` or ``tags.<key>``. A column the
        table already has gets a trailing underscore, as in MLflow.

    Raises
    ------
    ArtifactNotFound
        If no run holds the table.
    """
    import pandas as pd

    path = check_relative(artifact_file, "artifact_file")
    entry = {"path": path, "type": "table"}
    wanted = set(run_ids) if run_ids else None
    frames = []
    for run in runs:
        logged = json.loads(run.data.tags.get(tag_keys.LOGGED_ARTIFACTS, "[]"))
        if (wanted is not None and run.info.run_id not in wanted) or entry not in logged:
            continue
        table = LocalArtifacts(run.info.artifact_uri).path(path)
        if not table.is_file():
            continue
        content = json.loads(table.read_text(encoding="utf-8"))
        frame = pd.DataFrame(content["data"], columns=content["columns"])
        for column in extra_columns or []:
            name = f"{column}_" if column in frame.columns else column
            frame[name] = _run_field(run, column)
        frames.append(frame)
    if not frames:
        raise ArtifactNotFound(
            f"no run has the table {artifact_file!r}; log it with log_table, or pass run_ids "
            "of runs that did",
            path=artifact_file,
        )
    return pd.concat(frames, ignore_index=True)


def _run_field(run: Run, column: str) -> Any:
    kind, _, key = column.partition(".")
    sources: dict[str, dict[str, Any]] = {
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": run.data.tags,
    }
    if key and kind in sources:
        return sources[kind].get(key)
    if column in RUN_FIELDS:
        return getattr(run.info, column)
    raise InvalidParameter(
        f"extra column {column!r} is not a run field; use run_id, experiment_id, status, "
        "run_name, params.<key>, metrics.<key> or tags.<key>",
        key=column,
    )
