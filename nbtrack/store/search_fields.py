"""What each search can filter and order on: runs, experiments, registered models, versions.

Each :class:`SearchSpec` names the columns a filter may use (with their kind and operators),
the child entities (metrics, params, tags…) and how they link, and the default order;
:mod:`nbtrack.store.search` compiles filters and ``order_by`` against these, into a
:class:`SqlQuery`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbtrack.store.filter_syntax import LIST_OPS, NULL_OPS, NUM_OPS, STR_OPS


@dataclass(frozen=True)
class SqlQuery:
    """The SQL pieces of one search, to splice into the store's SELECT.

    Attributes
    ----------
    joins
        ``LEFT JOIN`` clauses needed by the ORDER BY (may be empty), placed right after
        the FROM table.
    join_args
        Parameters of ``joins``, in order.
    where
        A boolean SQL expression (``"1"`` when there is no filter).
    where_args
        Parameters of ``where``, in order.
    order
        The complete ORDER BY list, without the words ``ORDER BY``.
    """

    joins: str
    join_args: list
    where: str
    where_args: list
    order: str


# -- what each search can see -----------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A column a filter or order_by may name, with its kind and operators."""

    column: str
    kind: str = "str"  # "str", "num" (int or float), "int", or "id" (an integer as text)
    ops: frozenset[str] = STR_OPS
    nullable: bool = False


@dataclass(frozen=True)
class SearchSpec:
    """What one search API can filter and order on."""

    label: str  # the API name, for messages
    prefixes: dict[str, str]  # prefix as written -> entity
    attrs: dict[str, Field]  # filterable attributes
    order_attrs: dict[str, Field]
    children: dict[str, tuple[str, str, frozenset[str]]]  # entity -> (table, link, ops)
    default_order: tuple[str, ...]
    tiebreak: tuple[tuple[str, str], ...]  # (column, direction) appended unless ordered on
    order_children: bool = False  # may order by metrics, params, tags (via LEFT JOINs)
    # (outer column, child column): child clauses compile to "outer IN (SELECT child …)",
    # evaluated once through the (key, value) indexes instead of once per row
    member: tuple[str, str] | None = None


def _names(entity: str, *written: str) -> dict[str, str]:
    return dict.fromkeys(written, entity)


_ATTRIBUTE = _names("attribute", "attr", "attribute", "attributes")
_TAG = _names("tag", "tag", "tags")
_START = Field("r.start_time", "num", NUM_OPS)
_RUN_NAME = Field("r.name")
_RUN_ATTRS = {
    "run_id": Field("r.run_uuid", ops=STR_OPS | LIST_OPS),
    **dict.fromkeys(("run_name", "run name", "Run name", "Run Name"), _RUN_NAME),
    "status": Field("r.status"),
    "artifact_uri": Field("r.artifact_uri"),
    "user_id": Field("r.user_id"),
    **dict.fromkeys(("start_time", "created", "Created"), _START),
    "end_time": Field("r.end_time", "num", NUM_OPS, nullable=True),
}
_RUN_LINK = "{a}.run_uuid = r.run_uuid"
RUNS = SearchSpec(
    label="search_runs",
    prefixes={
        **_ATTRIBUTE,
        **_TAG,
        "run": "attribute",
        **_names("metric", "metric", "metrics"),
        **_names("param", "param", "params", "parameter", "parameters"),
        **_names("dataset", "dataset", "datasets"),
    },
    attrs=_RUN_ATTRS,
    order_attrs=_RUN_ATTRS,
    children={
        "metric": ("latest_metrics", _RUN_LINK, NUM_OPS | NULL_OPS),
        "param": ("params", _RUN_LINK, STR_OPS | NULL_OPS),
        "tag": ("tags", _RUN_LINK, STR_OPS | NULL_OPS),
    },
    default_order=(),
    tiebreak=(("r.start_time", "DESC"), ("r.run_uuid", "ASC")),
    order_children=True,
    member=("r.run_uuid", "run_uuid"),
)
_EXPERIMENT_ATTRS = {
    "name": Field("e.name"),
    "experiment_id": Field("e.experiment_id", "id", frozenset({"=", "!="}) | LIST_OPS),
    "creation_time": Field("e.creation_time", "int", NUM_OPS),
    "last_update_time": Field("e.last_update_time", "int", NUM_OPS),
}
EXPERIMENTS = SearchSpec(
    label="search_experiments",
    prefixes={**_ATTRIBUTE, **_TAG},
    attrs=_EXPERIMENT_ATTRS,
    order_attrs=_EXPERIMENT_ATTRS,
    children={
        "tag": ("experiment_tags", "{a}.experiment_id = e.experiment_id", STR_OPS | NULL_OPS)
    },
    default_order=("creation_time DESC", "experiment_id ASC"),
    tiebreak=(("e.experiment_id", "DESC"),),
)
_RM_UPDATED = Field("rm.last_updated_time", "int", NUM_OPS)
REGISTERED_MODELS = SearchSpec(
    label="search_registered_models",
    prefixes={**_ATTRIBUTE, **_TAG},
    attrs={"name": Field("rm.name", ops=STR_OPS | LIST_OPS)},
    order_attrs={
        "name": Field("rm.name"),
        "timestamp": _RM_UPDATED,
        "last_updated_timestamp": _RM_UPDATED,
        "creation_timestamp": Field("rm.creation_time", "int", NUM_OPS),
    },
    children={"tag": ("registered_model_tags", "{a}.name = rm.name", STR_OPS)},
    default_order=(),
    tiebreak=(("rm.name", "ASC"),),
)
_MV_VERSION = Field("mv.version", "int", NUM_OPS)
_MV_SOURCE = Field("mv.source", nullable=True)
MODEL_VERSIONS = SearchSpec(
    label="search_model_versions",
    prefixes={**_ATTRIBUTE, **_TAG},
    attrs={
        "name": Field("mv.name", ops=STR_OPS | LIST_OPS),
        "run_id": Field("mv.run_id", ops=STR_OPS | LIST_OPS, nullable=True),
        "source_path": _MV_SOURCE,
        "source": _MV_SOURCE,
        "version_number": _MV_VERSION,
        "version": _MV_VERSION,
    },
    order_attrs={
        "name": Field("mv.name"),
        "version_number": _MV_VERSION,
        "version": _MV_VERSION,
        "creation_timestamp": Field("mv.creation_time", "int", NUM_OPS),
        "last_updated_timestamp": Field("mv.last_updated_time", "int", NUM_OPS),
    },
    children={
        "tag": ("model_version_tags", "{a}.name = mv.name AND {a}.version = mv.version", STR_OPS)
    },
    default_order=("last_updated_timestamp DESC", "name ASC", "version_number DESC"),
    tiebreak=(("mv.name", "ASC"), ("mv.version", "DESC")),
)
