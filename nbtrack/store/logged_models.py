"""LoggedModels in the store: every SQL statement on ``logged_models`` and its link tables.

A LoggedModel row has tags, params (set once) and metric points of its own; it is linked to
the run that produced it (``source_run_id``, and ``run_model_outputs`` with the step) and to
the registry versions registered from it (``logged_model_versions``). Search filters use
MLflow's grammar over ``name``, ``model_id``, ``model_type``, ``status``,
``source_run_id``, ``creation_timestamp``, ``last_updated_timestamp``, ``tags.<k>``,
``params.<k>`` and ``metrics.<k>`` (a model's latest value of the metric).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import (
    LifecycleStage,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
)
from nbtrack.errors import InvalidFilter, InvalidParameter, ResourceNotFound
from nbtrack.store.database import Database
from nbtrack.store.metrics import decode_value, encode_value
from nbtrack.store.sql import (
    decode_page_token,
    encode_page_token,
    experiment_int,
    fetch_in,
    marks,
    now_ms,
    page_limit,
)

if TYPE_CHECKING:
    from nbtrack.store.filter_syntax import Clause, Source

_COLUMNS = (
    "model_id, experiment_id, name, artifact_location, creation_timestamp, "
    "last_updated_timestamp, model_type, source_run_id, status, status_message"
)
_ATTRIBUTES = {
    "name": "name",
    "model_id": "model_id",
    "model_type": "model_type",
    "status": "status",
    "source_run_id": "source_run_id",
    "creation_timestamp": "creation_timestamp",
    "creation_time": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}
_NUMERIC_ATTRIBUTES = frozenset({"creation_timestamp", "last_updated_timestamp"})
_SQL_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "LIKE": "LIKE"}


def new_model_id() -> str:
    """A fresh LoggedModel id in MLflow's form: ``m-`` and 32 hex digits."""
    import uuid  # loaded with the first model, not at import

    return f"m-{uuid.uuid4().hex}"


class LoggedModelStore:
    """The LoggedModel half of the tracking store (mixed into ``TrackingStore``)."""

    db: Database

    def create_logged_model(
        self,
        experiment_id: str,
        name: str,
        location: Callable[[str], str],
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
        status: str = LoggedModelStatus.PENDING,
    ) -> LoggedModel:
        """Insert a LoggedModel; ``location(model_id)`` gives its artifact location."""
        model_id = new_model_id()
        ts = now_ms()
        with self.db.write() as c:
            c.execute(
                f"INSERT INTO logged_models ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model_id,
                    experiment_int(experiment_id),
                    name,
                    location(model_id),
                    ts,
                    ts,
                    model_type,
                    source_run_id,
                    status,
                    None,
                ),
            )
            _put(c, "logged_model_tags", model_id, tags or {})
            _put(c, "logged_model_params", model_id, params or {})
            return _models(c, [model_id])[0]

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """The LoggedModel with this id (deleted ones are not found)."""
        with self.db.read() as c:
            found = _models(c, [model_id])
        if not found:
            raise ResourceNotFound(
                f"no logged model with id {model_id!r}; search_logged_models() lists them",
                key=model_id,
            )
        return found[0]

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        """Set a model's final status (READY or FAILED)."""
        with self.db.write() as c:
            _require(c, model_id)
            c.execute(
                "UPDATE logged_models SET status = ?, last_updated_timestamp = ? "
                "WHERE model_id = ?",
                (status, now_ms(), model_id),
            )
            return _models(c, [model_id])[0]

    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> None:
        """Set (or replace) tags of a model."""
        with self.db.write() as c:
            _require(c, model_id)
            _put(c, "logged_model_tags", model_id, tags)
            _touch(c, model_id)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a model; a missing tag is an error, as in MLflow."""
        with self.db.write() as c:
            _require(c, model_id)
            gone = c.execute(
                "DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?", (model_id, key)
            ).rowcount
            if not gone:
                raise ResourceNotFound(
                    f"logged model {model_id} has no tag {key!r}; get_logged_model(...).tags "
                    "lists its tags",
                    key=key,
                )
            _touch(c, model_id)

    def log_logged_model_params(self, model_id: str, params: dict[str, str]) -> None:
        """Record params of a model; a param keeps its first value, as run params do."""
        with self.db.write() as c:
            _require(c, model_id)
            for key, value in params.items():
                row = c.execute(
                    "SELECT value FROM logged_model_params WHERE model_id = ? AND key = ?",
                    (model_id, key),
                ).fetchone()
                if row is not None and row[0] != value:
                    raise InvalidParameter(
                        f"param {key!r} of logged model {model_id} is already {row[0]!r}; "
                        f"params are set once (found {value!r}): use a tag for what changes",
                        key=key,
                    )
            _put(c, "logged_model_params", model_id, params)
            _touch(c, model_id)

    def log_logged_model_metrics(
        self,
        model_id: str,
        metrics: Sequence[Metric],
        run_id: str | None = None,
        dataset: tuple[str, str] | None = None,
    ) -> None:
        """Append metric points to a model (from a run; on a dataset's (name, digest))."""
        with self.db.write() as c:
            _require(c, model_id)
            c.executemany(
                "INSERT OR IGNORE INTO logged_model_metrics (model_id, key, value, timestamp, "
                "step, is_nan, run_id, dataset_name, dataset_digest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*_metric_row(model_id, m, run_id), *(dataset or (None, None))) for m in metrics],
            )

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a model deleted: it is no longer found or searched."""
        with self.db.write() as c:
            _require(c, model_id)
            c.execute(
                "UPDATE logged_models SET lifecycle_stage = ?, last_updated_timestamp = ? "
                "WHERE model_id = ?",
                (LifecycleStage.DELETED, now_ms(), model_id),
            )

    def log_model_outputs(self, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record models as outputs of a run, each at a step."""
        with self.db.write() as c:
            for model_id, _step in outputs:
                _require(c, model_id)
            c.executemany(
                "INSERT OR REPLACE INTO run_model_outputs (run_uuid, model_id, step) "
                "VALUES (?, ?, ?)",
                [(run_id, model_id, step) for model_id, step in outputs],
            )

    def link_model_version(self, model_id: str, name: str, version: int) -> None:
        """Record that registry version ``name``/``version`` was registered from a model."""
        with self.db.write() as c:
            if c.execute("SELECT 1 FROM logged_models WHERE model_id = ?", (model_id,)).fetchone():
                c.execute(
                    "INSERT OR REPLACE INTO logged_model_versions (model_id, name, version) "
                    "VALUES (?, ?, ?)",
                    (model_id, name, version),
                )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
        page_token: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
    ) -> tuple[list[LoggedModel], str | None]:
        """Models of these experiments matching a filter, one page at a time.

        ``datasets`` (``[{"dataset_name": …, "dataset_digest": …}]``) limits the metrics that
        ``metrics.<key>`` filters and orderings see to those logged on these datasets.
        """
        on = _on_datasets(datasets)
        where, args = _where(filter_string, on)
        ids = [experiment_int(e) for e in experiment_ids]
        limit = page_limit(max_results)
        offset = decode_page_token(page_token)
        sql = (
            f"SELECT lm.model_id FROM logged_models lm WHERE lm.lifecycle_stage = 'active' "
            f"AND lm.experiment_id IN ({marks(ids)}){where} ORDER BY {_order(order_by, on)} "
            "LIMIT ? OFFSET ?"
        )
        with self.db.read() as c:
            found = [row[0] for row in c.execute(sql, [*ids, *args, limit + 1, offset])]
            models = _models(c, found[:limit])
        token = encode_page_token(offset + limit) if len(found) > limit else None
        return models, token


# -- rows ---------------------------------------------------------------------------------


def model_outputs(
    c: sqlite3.Connection, run_ids: Sequence[str]
) -> dict[str, list[LoggedModelOutput]]:
    """The LoggedModels each run output (``Run.outputs``), by step."""
    found: dict[str, list[LoggedModelOutput]] = {}
    for run_id, model_id, step in sorted(
        fetch_in(c, "SELECT run_uuid, model_id, step FROM run_model_outputs", "run_uuid", run_ids),
        key=lambda row: (row[2], row[1]),
    ):
        found.setdefault(run_id, []).append(LoggedModelOutput(model_id, step))
    return found


def _require(c: sqlite3.Connection, model_id: str) -> None:
    if not c.execute(
        "SELECT 1 FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'",
        (model_id,),
    ).fetchone():
        raise ResourceNotFound(
            f"no logged model with id {model_id!r}; search_logged_models() lists them",
            key=model_id,
        )


def _metric_row(model_id: str, metric: Metric, run_id: str | None) -> tuple[object, ...]:
    value, is_nan = encode_value(metric.value)
    return (model_id, metric.key, value, metric.timestamp, metric.step, is_nan, run_id or "")


def _put(c: sqlite3.Connection, table: str, model_id: str, values: dict[str, str]) -> None:
    c.executemany(
        f"INSERT OR REPLACE INTO {table} (model_id, key, value) VALUES (?, ?, ?)",
        [(model_id, k, v) for k, v in values.items()],
    )


def _touch(c: sqlite3.Connection, model_id: str) -> None:
    c.execute(
        "UPDATE logged_models SET last_updated_timestamp = ? WHERE model_id = ?",
        (now_ms(), model_id),
    )


def _models(c: sqlite3.Connection, model_ids: Sequence[str]) -> list[LoggedModel]:
    """LoggedModels by id, in the order given, with tags, params and metrics."""
    if not model_ids:
        return []
    rows = fetch_in(
        c,
        f"SELECT {_COLUMNS} FROM logged_models WHERE lifecycle_stage = 'active' AND",
        "model_id",
        model_ids,
    )
    tags: dict[str, dict[str, str]] = {}
    for model_id, key, value in fetch_in(
        c, "SELECT model_id, key, value FROM logged_model_tags", "model_id", model_ids
    ):
        tags.setdefault(model_id, {})[key] = value
    params: dict[str, dict[str, str]] = {}
    for model_id, key, value in fetch_in(
        c, "SELECT model_id, key, value FROM logged_model_params", "model_id", model_ids
    ):
        params.setdefault(model_id, {})[key] = value
    metrics: dict[str, list[Metric]] = {}
    for model_id, key, value, ts, step, is_nan in fetch_in(
        c,
        "SELECT model_id, key, value, timestamp, step, is_nan FROM logged_model_metrics",
        "model_id",
        model_ids,
    ):
        metrics.setdefault(model_id, []).append(Metric(key, decode_value(value, is_nan), ts, step))
    by_id = {
        row[0]: LoggedModel(
            experiment_id=str(row[1]),
            model_id=row[0],
            name=row[2],
            artifact_location=row[3],
            creation_timestamp=row[4],
            last_updated_timestamp=row[5],
            model_type=row[6],
            source_run_id=row[7],
            status=row[8],
            status_message=row[9],
            tags=tags.get(row[0], {}),
            params=params.get(row[0], {}),
            metrics=sorted(metrics.get(row[0], []), key=lambda m: (m.key, m.step, m.timestamp)),
        )
        for row in rows
    }
    return [by_id[m] for m in model_ids if m in by_id]


# -- search -------------------------------------------------------------------------------


def _latest_metric(key_sql: str, on: str) -> str:
    """SQL for a model's latest value of a metric (on the datasets ``on`` names, if any)."""
    return (
        "(SELECT value FROM logged_model_metrics m WHERE m.model_id = lm.model_id "
        f"AND m.key = {key_sql} AND m.is_nan = 0{on} ORDER BY m.step DESC, m.timestamp DESC "
        "LIMIT 1)"
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _on_datasets(datasets: Sequence[dict[str, Any]] | None) -> str:
    """The SQL condition limiting metrics to some datasets ('' for all metrics)."""
    if not datasets:
        return ""
    parts = []
    for entry in datasets:
        name = entry.get("dataset_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidParameter(
                "datasets takes dicts such as {'dataset_name': 'test', 'dataset_digest': "
                f"'3f2a…'}} (the digest is optional; found {entry!r})"
            )
        part = f"m.dataset_name = {_quote(name)}"
        if digest := entry.get("dataset_digest"):
            part += f" AND m.dataset_digest = {_quote(str(digest))}"
        parts.append(f"({part})")
    return f" AND ({' OR '.join(parts)})"


def _where(filter_string: str | None, on: str) -> tuple[str, list[object]]:
    # the filter parser loads on first use, so that import nbtrack stays light
    from nbtrack.store.filter_syntax import Parser, Source

    src = Source(filter_string or "", "filter")
    parts: list[str] = []
    args: list[object] = []
    for clause in Parser(src).clauses():
        sql, clause_args = _clause(src, clause, on)
        parts.append(sql)
        args += clause_args
    return "".join(f" AND {p}" for p in parts), args


def _clause(src: Source, clause: Clause, on: str) -> tuple[str, list[object]]:
    names = [part for part, _ in clause.ident.parts]
    op = _SQL_OPS.get(clause.op)
    if op is None:
        src.fail(
            clause.op_tok.pos,
            f"{clause.op} is not supported for logged models",
            "use =, !=, <, <=, >, >= or LIKE",
            clause.op_tok,
        )
    if len(names) == 1 and names[0] in _ATTRIBUTES:
        column = _ATTRIBUTES[names[0]]
        if column in _NUMERIC_ATTRIBUTES and not isinstance(clause.value, (int, float)):
            src.fail(
                clause.value_tok.pos, f"{names[0]} compares with a number", found=clause.value_tok
            )
        return f"lm.{column} {op} ?", [clause.value]
    if len(names) >= 2 and names[0] in ("tags", "params"):
        table = "logged_model_tags" if names[0] == "tags" else "logged_model_params"
        return (
            f"EXISTS (SELECT 1 FROM {table} t WHERE t.model_id = lm.model_id AND t.key = ? "
            f"AND t.value {op} ?)",
            [".".join(names[1:]), clause.value],
        )
    if len(names) >= 2 and names[0] == "metrics":
        if not isinstance(clause.value, (int, float)):
            src.fail(
                clause.value_tok.pos, "a metric compares with a number", found=clause.value_tok
            )
        return f"{_latest_metric('?', on)} {op} ?", [".".join(names[1:]), clause.value]
    raise InvalidFilter(
        f"Invalid filter {src.text!r}: {'.'.join(names)!r} is not a logged model field; use "
        "name, model_id, model_type, status, source_run_id, creation_timestamp, "
        "last_updated_timestamp, tags.<key>, params.<key> or metrics.<key>"
    )


def _order(order_by: Sequence[dict[str, Any]] | None, on: str) -> str:
    terms = []
    for entry in order_by or []:
        if not isinstance(entry, dict) or "field_name" not in entry:
            raise InvalidParameter(
                "order_by takes dicts such as {'field_name': 'metrics.accuracy', "
                f"'ascending': False}} (found {entry!r})"
            )
        field = str(entry["field_name"])
        direction = "ASC" if entry.get("ascending", True) else "DESC"
        if field in _ATTRIBUTES:
            terms.append(f"lm.{_ATTRIBUTES[field]} {direction}")
        elif field.startswith("metrics."):
            metric = _latest_metric(_quote(field[len("metrics.") :]), on)
            terms.append(f"{metric} IS NULL, {metric} {direction}")
        else:
            raise InvalidParameter(
                f"cannot order logged models by {field!r}; use an attribute (name, "
                "creation_timestamp…) or metrics.<key>"
            )
    terms.append("lm.creation_timestamp DESC, lm.rowid DESC")  # newest first, then by insertion
    return ", ".join(terms)
