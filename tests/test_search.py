"""nbtrack.store.search: MLflow's filter grammar compiled to SQL, run against a real store."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nbtrack.errors import InvalidFilter
from nbtrack.store import search
from nbtrack.store.database import Database
from nbtrack.store.search import (
    SqlQuery,
    experiments_query,
    model_versions_query,
    registered_models_query,
    runs_query,
)

INF = 1.7976931348623157e308  # how ±inf metrics are stored

# -- the store ----------------------------------------------------------------------------
#
# run  name        status    start  end   user  metrics (rmse, acc)  params (alpha)  tags (team)
# r1   alpha-run   FINISHED  100    200   ann   0.5, -1.0            '0.001'         'Vision'
# r2   Beta        FAILED    200    NULL  bob   NaN, 0.25            '1e-3'          'vision'
# r3   gamma       RUNNING   300    400   ann   +inf, -inf           'abc'           'nlp'
# r4   delta       FINISHED  300    350   cy    -, 0.0               -               -
# The default order is start_time DESC, run_uuid ASC: r3, r4, r2, r1.

RUNS = [
    ("r1", "alpha-run", "FINISHED", 100, 200, "ann"),
    ("r2", "Beta", "FAILED", 200, None, "bob"),
    ("r3", "gamma", "RUNNING", 300, 400, "ann"),
    ("r4", "delta", "FINISHED", 300, 350, "cy"),
]
METRICS = [  # run, key, value, is_nan
    ("r1", "rmse", 0.5, 0),
    ("r2", "rmse", 0.0, 1),
    ("r3", "rmse", INF, 0),
    ("r1", "acc", -1.0, 0),
    ("r2", "acc", 0.25, 0),
    ("r3", "acc", -INF, 0),
    ("r4", "acc", 0.0, 0),
]
PARAMS = [
    ("r1", "alpha", "0.001"),
    ("r2", "alpha", "1e-3"),
    ("r3", "alpha", "abc"),
    ("r1", "a.b", "dotted"),
    ("r2", "x y", "spaced"),
]
TAGS = [
    ("r1", "team", "Vision"),
    ("r2", "team", "vision"),
    ("r3", "team", "nlp"),
    ("r1", "pat", "a*b"),
    ("r2", "pat", "axb"),
    ("r3", "pat", "a[b"),
    ("r3", "quote", "it's"),
    ("r4", "quote", 'say "hi"'),
]


def _insert_experiment(c, experiment_id: int, name: str, created: int, updated: int) -> None:
    c.execute(
        "INSERT INTO experiments (experiment_id, name, artifact_location, creation_time, "
        "last_update_time) VALUES (?, ?, ?, ?, ?)",
        (experiment_id, name, f"/tmp/{experiment_id}", created, updated),
    )


def _insert_runs(db: Database) -> None:
    with db.write() as c:
        _insert_experiment(c, 1, "Default", 100, 500)
        _insert_experiment(c, 2, "exp-B", 300, 300)
        _insert_experiment(c, 3, "exp-a", 300, 100)
        c.executemany(
            "INSERT INTO experiment_tags VALUES (?, 'team', ?)", [(2, "Vision"), (3, "vision")]
        )
        for run_id, name, status, start, end, user in RUNS:
            c.execute(
                "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
                "end_time, artifact_uri) VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
                (run_id, name, user, status, start, end, f"file:///art/{run_id}"),
            )
        c.executemany(
            "INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan) "
            "VALUES (?, ?, ?, 0, 0, ?)",
            METRICS,
        )
        c.executemany("INSERT INTO params VALUES (?, ?, ?)", PARAMS)
        c.executemany("INSERT INTO tags VALUES (?, ?, ?)", TAGS)


def _insert_registry(db: Database) -> None:
    with db.write() as c:
        c.executemany(
            "INSERT INTO registered_models (name, creation_time, last_updated_time) "
            "VALUES (?, ?, ?)",
            [("alpha", 1, 30), ("Beta", 2, 20), ("gamma", 3, 10), ("m1", 4, 4), ("m2", 5, 5)],
        )
        c.executemany(
            "INSERT INTO registered_model_tags VALUES (?, 'stage', ?)",
            [("alpha", "prod"), ("Beta", "Prod")],
        )
        c.executemany(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
            "run_id, source) VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("m1", 1, 10, 10, "r1", "s3://a/1"),
                ("m1", 2, 20, 40, "r2", "s3://b/2"),
                ("m2", 1, 30, 40, "r1", "file:///x"),
                ("m2", 3, 5, 5, None, None),
            ],
        )
        c.execute("INSERT INTO model_version_tags VALUES ('m1', 2, 'stage', 'best')")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    database = Database(tmp_path_factory.mktemp("search") / "s.db")
    _insert_runs(database)
    _insert_registry(database)
    return database


def search_runs(db: Database, filter_string: str | None = None, order_by=None) -> list[str]:
    """Compose the query exactly as the store does."""
    q = runs_query(filter_string, order_by)
    sql = (
        f"SELECT r.run_uuid FROM runs r {q.joins} WHERE r.experiment_id IN (?) "
        f"AND r.lifecycle_stage IN (?) AND ({q.where}) ORDER BY {q.order} LIMIT ? OFFSET ?"
    )
    return [row[0] for row in db.query(sql, [*q.join_args, 1, "active", *q.where_args, 100, 0])]


def _select(db: Database, q: SqlQuery, columns: str, table: str) -> list:
    sql = f"SELECT {columns} FROM {table} {q.joins} WHERE ({q.where}) ORDER BY {q.order}"
    rows = db.query(sql, [*q.join_args, *q.where_args])
    return [row[0] if len(row) == 1 else tuple(row) for row in rows]


# -- runs: filters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        # no filter, blank filter: everything, in the default order
        (None, ["r3", "r4", "r2", "r1"]),
        ("  ", ["r3", "r4", "r2", "r1"]),
        # metrics: every comparator; NaN (r2) never matches except !=
        ("metrics.rmse < 1", ["r1"]),
        ("metrics.rmse <= 0", []),
        ("metrics.rmse = 0.5", ["r1"]),
        ("metrics.rmse >= 0.5", ["r3", "r1"]),
        ("metrics.rmse > 1", ["r3"]),
        # != matches NaN, never a run without the metric (r4)
        ("metrics.rmse != 0.5", ["r3", "r2"]),
        # NaN is stored as 0 but still matches != 0
        ("metrics.rmse != 0", ["r3", "r2", "r1"]),
        # +inf compares as the largest double, -inf as the smallest
        ("metrics.rmse >= 1.7976931348623157e308", ["r3"]),
        ("metrics.acc < -1e308", ["r3"]),
        # number forms MLflow accepts: exponent, negative, leading dot, trailing dot
        ("metrics.acc = 25e-2", ["r2"]),
        ("metrics.acc > -.5", ["r4", "r2"]),
        ("metrics.acc >= -1", ["r4", "r2", "r1"]),
        ("metrics.acc > 0.", ["r2"]),
        ("metrics.acc<0", ["r3", "r1"]),
        # IS NULL / IS NOT NULL: key absent / present
        ("metrics.rmse IS NULL", ["r4"]),
        ("metrics.rmse is not null", ["r3", "r2", "r1"]),
        # params compare as strings: '0.001' is not '1e-3'
        ("params.alpha = '0.001'", ["r1"]),
        ("params.alpha = '1e-3'", ["r2"]),
        ("params.alpha != '0.001'", ["r3", "r2"]),
        ("params.alpha LIKE '%e%'", ["r2"]),
        ("params.alpha LIKE '0._01'", ["r1"]),
        ("params.alpha ILIKE 'ABC'", ["r3"]),
        ("params.alpha IS NULL", ["r4"]),
        ("params.alpha IS NOT NULL", ["r3", "r2", "r1"]),
        # tags: LIKE is case-sensitive, ILIKE is not, = is exact
        ("tags.team = 'vision'", ["r2"]),
        ("tags.team LIKE 'V%'", ["r1"]),
        ("tags.team LIKE 'vision'", ["r2"]),
        ("tags.team ILIKE 'V%'", ["r2", "r1"]),
        ("tags.team ILIKE '%ISI%'", ["r2", "r1"]),
        ("tags.team != 'nlp'", ["r2", "r1"]),
        # GLOB metacharacters in a LIKE pattern are literal; only % and _ are wildcards
        ("tags.pat LIKE 'a*b'", ["r1"]),
        ("tags.pat LIKE 'a[b'", ["r3"]),
        ("tags.pat LIKE 'a?b'", []),
        ("tags.pat LIKE 'a_b'", ["r3", "r2", "r1"]),
        ("tags.pat ILIKE 'A*B'", ["r1"]),
        # backticked and quoted keys; an unquoted dotted key is all after the first dot
        ("params.`a.b` = 'dotted'", ["r1"]),
        ("params.a.b = 'dotted'", ["r1"]),
        ("params.\"x y\" = 'spaced'", ["r2"]),
        ("params.'x y' = 'spaced'", ["r2"]),
        ("`params`.alpha = 'abc'", ["r3"]),
        # values in double quotes, values holding the other quote (no escapes, as MLflow)
        ('params.alpha = "abc"', ["r3"]),
        ('tags.quote = "it\'s"', ["r3"]),
        ("tags.quote = 'say \"hi\"'", ["r4"]),
        # prefix aliases
        ("metric.rmse < 1", ["r1"]),
        ("param.alpha = 'abc'", ["r3"]),
        ("parameters.alpha = 'abc'", ["r3"]),
        ("tag.team = 'nlp'", ["r3"]),
        ("attr.status = 'FAILED'", ["r2"]),
        ("attribute.status = 'FAILED'", ["r2"]),
        ("run.status = 'FAILED'", ["r2"]),
        # string attributes, bare or prefixed
        ("status = 'FINISHED'", ["r4", "r1"]),
        ("attributes.status != 'FINISHED'", ["r3", "r2"]),
        ("attributes.run_id = 'r2'", ["r2"]),
        ("user_id = 'ann'", ["r3", "r1"]),
        ("artifact_uri LIKE '%/r2'", ["r2"]),
        ("run_name = 'Beta'", ["r2"]),
        ("run_name LIKE 'b%'", []),
        ("attributes.run_name ILIKE 'b%'", ["r2"]),
        ("`run name` = 'gamma'", ["r3"]),
        # IN / NOT IN on run_id, trailing comma allowed as in MLflow
        ("run_id IN ('r1', 'r3')", ["r3", "r1"]),
        ("attributes.run_id not in ('r1','r3')", ["r4", "r2"]),
        ("run_id IN ('r1',)", ["r1"]),
        ('run_id IN ("r2")', ["r2"]),
        # numeric attributes; end_time NULL (r2) never matches, not even !=
        ("start_time >= 300", ["r3", "r4"]),
        ("attributes.start_time = 200", ["r2"]),
        ("created < 200", ["r1"]),
        ("end_time > 300", ["r3", "r4"]),
        ("end_time != 200", ["r3", "r4"]),
        # AND in any case joins clauses
        (
            "metrics.rmse < 1 and params.alpha = '0.001' AND tags.team LIKE 'V%' "
            "and attributes.status = 'FINISHED'",
            ["r1"],
        ),
        ("metrics.acc > -1 And metrics.acc < 0.1", ["r4"]),
        # SQL in a value or a key stays a value or a key
        ("params.alpha = 'x'' OR 1=1 --'", []),
        ('tags.team = "nlp\'); DROP TABLE runs; --"', []),
        ("params.`alpha' OR '1'='1` = 'abc'", []),
    ],
)
def test_run_filters(db: Database, filter_string: str | None, expected: list[str]) -> None:
    assert search_runs(db, filter_string) == expected


@pytest.mark.parametrize(
    "clauses",
    [
        ["params.alpha = '0.001'", "metrics.rmse < 1"],
        ["metrics.rmse != 0.5", "tags.team IS NULL", "attributes.status = 'FINISHED'"],
        ["tags.pat LIKE 'a%'", "run_name != 'x'", "metrics.acc IS NOT NULL", "params.alpha != 'z'"],
        ["metrics.rmse IS NULL", "params.alpha IS NOT NULL"],  # an absent key drives nothing
        ["tags.pat != 'q'"] * (search.MAX_NESTED + 3),  # more than go inside the driving one
    ],
)
def test_clauses_checked_inside_the_driving_one_still_mean_and(db: Database, clauses) -> None:
    """Later metric, param and tag clauses run inside the first one's subquery: the runs
    found are still those every clause finds alone."""
    alone = [set(search_runs(db, clause)) for clause in clauses]
    expected = [run for run in search_runs(db) if all(run in found for found in alone)]
    assert search_runs(db, " and ".join(clauses)) == expected


def test_injection_left_the_store_intact(db: Database) -> None:
    search_runs(db, 'tags.team = "x\'; DROP TABLE runs; --"')
    assert len(search_runs(db)) == 4


def test_numbers_are_bound_not_formatted() -> None:
    q = runs_query("metrics.rmse < 5e-1 and params.alpha = 'a'", None)
    assert "5e-1" not in q.where and "'a'" not in q.where
    assert q.where_args == ["rmse", 0.5, "alpha", "a"]


# -- runs: order_by -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # default: start_time DESC, then run_id ASC (r3 and r4 tie on start_time)
        (None, ["r3", "r4", "r2", "r1"]),
        ([], ["r3", "r4", "r2", "r1"]),
        # metrics: NaN (r2) after every number, missing (r4) last, in both directions
        (["metrics.rmse"], ["r1", "r3", "r2", "r4"]),
        (["metrics.rmse ASC"], ["r1", "r3", "r2", "r4"]),
        (["metrics.rmse DESC"], ["r3", "r1", "r2", "r4"]),
        # ±inf sort as the extreme doubles
        (["metrics.acc"], ["r3", "r1", "r4", "r2"]),
        (["metric.acc desc"], ["r2", "r4", "r1", "r3"]),
        # params compare as strings (lexicographic), missing last both ways
        (["params.alpha"], ["r1", "r2", "r3", "r4"]),
        (["params.alpha DESC"], ["r3", "r2", "r1", "r4"]),
        # tags: binary order puts upper case first
        (["tags.team"], ["r1", "r3", "r2", "r4"]),
        (["tags.team desc"], ["r2", "r3", "r1", "r4"]),
        # a key no run has: tie-breakers decide
        (["tags.`no such tag`"], ["r3", "r4", "r2", "r1"]),
        # attributes; run_id breaks the start_time tie of r3 and r4
        (["attributes.start_time ASC"], ["r1", "r2", "r3", "r4"]),
        (["created"], ["r1", "r2", "r3", "r4"]),
        (["run_name"], ["r2", "r1", "r4", "r3"]),
        (["attributes.run_id DESC"], ["r4", "r3", "r2", "r1"]),
        # a NULL end_time (r2) sorts last both ways
        (["end_time"], ["r1", "r4", "r3", "r2"]),
        (["end_time DESC"], ["r3", "r4", "r1", "r2"]),
        # several terms, each with its own join
        (["status", "metrics.rmse DESC"], ["r2", "r1", "r4", "r3"]),
        (["tags.team", "params.alpha DESC", "metrics.acc"], ["r1", "r3", "r2", "r4"]),
    ],
)
def test_run_order(db: Database, order_by: list[str] | None, expected: list[str]) -> None:
    assert search_runs(db, None, order_by) == expected


def test_order_joins_and_filter_together(db: Database) -> None:
    # join parameters come before the WHERE parameters in the composed statement
    assert search_runs(db, "params.alpha != 'abc'", ["params.alpha DESC"]) == ["r2", "r1"]
    q = runs_query(None, ["metrics.rmse", "tags.`x y` desc"])
    assert q.join_args == ["rmse", "x y"]
    assert q.order.endswith("r.start_time DESC, r.run_uuid ASC")


# -- malformed filters: one clear error, saying where ---------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "position", "says"),
    [
        # a missing value, at the end of the string
        ("metrics.rmse <", 14, "expected a value after '<'"),
        # MLflow does not read '+' in exponents; the fix names the accepted form
        ("metrics.rmse > 1e+3", 15, "write 1e3"),
        ("metrics.rmse > 1.e3", 15, "malformed number"),
        # OR is not part of MLflow's grammar
        ("metrics.rmse < 1 or params.a = 'x'", 17, "OR is not supported"),
        # unbalanced quotes
        ("params.alpha = 'abc", 15, "unbalanced quote"),
        ('params.alpha = "abc', 15, "unbalanced quote"),
        ("params.`a b = 'x'", 7, "unbalanced quote"),
        # wrong value type for the entity
        ("params.alpha = 5", 15, "compares as a string"),
        ("tags.team = nlp", 12, "expected a value"),
        ("metrics.rmse > '1'", 15, "compares with numbers"),
        ("start_time > '5'", 13, "compares with numbers"),
        ("run_id = 5", 9, "compares as a string"),
        # comparator not allowed for the entity
        ("metrics.rmse LIKE '1'", 13, "LIKE cannot compare metrics"),
        ("params.alpha > '1'", 13, "> cannot compare params"),
        ("status IN ('a')", 7, "IN cannot compare the attribute 'status'"),
        ("start_time LIKE '1'", 11, "LIKE cannot compare"),
        ("start_time IS NULL", 11, "does not apply"),
        ("params.alpha IN ('a')", 13, "IN cannot compare params"),
        ("metrics.rmse == 1", 13, "unknown comparison '=='"),
        ("metrics.rmse <> 1", 13, "write !="),
        # unknown names
        ("metricz.rmse > 1", 0, "did you mean 'metric"),
        ("PARAMS.alpha = 'x'", 0, "unknown prefix 'PARAMS'"),
        ("lifecycle_stage = 'active'", 0, "unknown attribute 'lifecycle_stage'"),
        ("attributes.run_uuid = 'r1'", 0, "did you mean 'run_id'"),
        ("datasets.size = 'x'", 0, "unknown dataset key"),
        # structure
        ("metrics.rmse", 12, "expected a comparison after 'metrics.rmse'"),
        ("metrics.rmse > 1 and", 20, "expected a column"),
        ("and metrics.rmse > 1", 0, "expected a column"),
        ("metrics.rmse > 1 metrics.acc > 1", 17, "expected AND"),
        ("(metrics.rmse > 1)", 0, "parentheses are not supported"),
        ("metrics.rmse > 1;", 16, "unexpected character ';' at position 16; remove it"),
        ("metrics.val-loss > 1", 11, "must be backticked"),
        ("metrics. rmse > 1", 8, "expected a key right after '.'"),
        ("params.`a b`.c = 'x'", 0, "quoted key must be the whole key"),
        ("params.alpha IS 5", 16, "expected NULL after IS"),
        ("params.alpha NOT LIKE 'x'", 13, "expected a comparison"),
        # IN lists
        ("run_id IN ()", 11, "list is empty"),
        ("run_id IN (1)", 11, "expected a quoted string"),
        ("run_id IN 'r1'", 10, "expected '(' after IN"),
        ("run_id IN ('a' 'b')", 15, "expected ',' or ')'"),
        ("run_id = ('a')", 9, "a list needs IN"),
    ],
)
def test_malformed_filters(filter_string: str, position: int, says: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        runs_query(filter_string, None)
    message = str(caught.value)
    assert message.startswith(f'Invalid filter "{filter_string}": ')
    assert f"at position {position}" in message
    assert says in message
    assert caught.value.position == position
    assert caught.value.filter_string == filter_string


@pytest.mark.parametrize(
    ("order_by", "position", "says"),
    [
        # bad direction words
        (["metrics.rmse DESCENDING"], 13, "expected ASC, DESC"),
        (["metrics.rmse ASC DESC"], 17, "expected ASC, DESC"),
        # unknown attribute or prefix
        (["foo"], 0, "unknown attribute 'foo'"),
        (["metricz.rmse"], 0, "unknown prefix"),
        # the same column twice (aliases count)
        (["metrics.rmse", "metric.rmse DESC"], 0, "ordered on twice"),
        (["start_time", "created DESC"], 0, "ordered on twice"),
        # empty entry
        ([""], 0, "expected a column"),
    ],
)
def test_malformed_order_by(order_by: list[str], position: int, says: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        runs_query(None, order_by)
    assert f"at position {position}" in str(caught.value)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "order_by",
    [
        "metrics.rmse",  # a string where a list is expected
        [5],  # a non-string entry
    ],
)
def test_order_by_of_the_wrong_type(order_by) -> None:
    with pytest.raises(InvalidFilter, match="order_by"):
        runs_query(None, order_by)


def test_filter_of_the_wrong_type() -> None:
    with pytest.raises(InvalidFilter, match="must be a string"):
        runs_query(5, None)  # type: ignore[arg-type]


def test_invalid_filter_is_an_invalid_parameter() -> None:
    from nbtrack.errors import InvalidParameter

    with pytest.raises(InvalidParameter):
        runs_query("metrics.rmse <", None)


# -- experiments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        # MLflow's SQL store default: creation_time DESC, experiment_id ASC
        (None, None, [2, 3, 1]),
        # name: =, LIKE (case-sensitive), ILIKE
        ("name = 'Default'", None, [1]),
        ("name LIKE 'exp-%'", None, [2, 3]),
        ("name LIKE 'exp-b'", None, []),
        ("attribute.name ILIKE 'EXP-A'", None, [3]),
        # experiment_id as quoted text (MLflow) or a bare integer; IN / NOT IN
        ("experiment_id = '2'", None, [2]),
        ("experiment_id = 2", None, [2]),
        ("experiment_id IN ('1', '3')", None, [3, 1]),
        ("experiment_id NOT IN ('1')", None, [2, 3]),
        # numeric times
        ("creation_time >= 300", None, [2, 3]),
        ("last_update_time < 300", None, [3]),
        # tags, including IS NULL
        ("tags.team = 'vision'", None, [3]),
        ("tags.team LIKE 'V%'", None, [2]),
        ("tag.team != 'x'", None, [2, 3]),
        ("tags.team IS NULL", None, [1]),
        ("tags.team IS NOT NULL", None, [2, 3]),
        # order_by; experiment_id DESC breaks ties when not named
        (None, ["last_update_time DESC"], [1, 2, 3]),
        (None, ["name"], [1, 2, 3]),
        (None, ["creation_time"], [1, 3, 2]),
        (None, ["creation_time", "experiment_id ASC"], [1, 2, 3]),
    ],
)
def test_experiments(db: Database, filter_string, order_by, expected) -> None:
    q = experiments_query(filter_string, order_by)
    assert q.joins == ""
    assert _select(db, q, "e.experiment_id", "experiments e") == expected


@pytest.mark.parametrize(
    ("filter_string", "order_by", "says"),
    [
        ("experiment_id > '1'", None, "> cannot compare the attribute 'experiment_id'"),
        ("experiment_id = 'abc'", None, "experiment_id takes integers"),
        ("creation_time > 1.5", None, "compares with whole numbers"),
        ("tags.team IN ('a')", None, "IN cannot compare tags"),
        ("metrics.a > 1", None, "unknown prefix 'metrics' in search_experiments"),
        ("run_id = 'x'", None, "unknown attribute 'run_id'"),
        (None, ["tags.team"], "orders only by attributes"),
    ],
)
def test_experiment_errors(filter_string, order_by, says) -> None:
    with pytest.raises(InvalidFilter, match="at position") as caught:
        experiments_query(filter_string, order_by)
    assert says in str(caught.value)


# -- registered models and model versions ---------------------------------------------------

MODELS = "rm.name IN ('alpha', 'Beta', 'gamma')"


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        # default: name ASC (binary: upper case first)
        (None, None, ["Beta", "alpha", "gamma"]),
        ("name = 'alpha'", None, ["alpha"]),
        ("name != 'alpha'", None, ["Beta", "gamma"]),
        ("name LIKE 'b%'", None, []),
        ("name ILIKE 'b%'", None, ["Beta"]),
        ("name IN ('alpha', 'gamma')", None, ["alpha", "gamma"]),
        ("name NOT IN ('alpha')", None, ["Beta", "gamma"]),
        # tags (no IS NULL here, as in MLflow)
        ("tags.stage = 'prod'", None, ["alpha"]),
        ("tags.stage ILIKE 'PROD'", None, ["Beta", "alpha"]),
        ("tags.stage != 'prod'", None, ["Beta"]),
        # order keys: timestamp is last_updated_timestamp
        (None, ["timestamp DESC"], ["alpha", "Beta", "gamma"]),
        (None, ["last_updated_timestamp"], ["gamma", "Beta", "alpha"]),
        (None, ["creation_timestamp DESC"], ["gamma", "Beta", "alpha"]),
        (None, ["name DESC"], ["gamma", "alpha", "Beta"]),
    ],
)
def test_registered_models(db: Database, filter_string, order_by, expected) -> None:
    q = registered_models_query(filter_string, order_by)
    where = SqlQuery(q.joins, q.join_args, f"{MODELS} AND ({q.where})", q.where_args, q.order)
    assert _select(db, where, "rm.name", "registered_models rm") == expected


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        # MLflow's default: last_updated_timestamp DESC, name ASC, version_number DESC
        (None, None, [("m1", 2), ("m2", 1), ("m1", 1), ("m2", 3)]),
        ("name = 'm1'", None, [("m1", 2), ("m1", 1)]),
        ("run_id = 'r1'", None, [("m2", 1), ("m1", 1)]),
        ("run_id IN ('r1', 'r2')", None, [("m1", 2), ("m2", 1), ("m1", 1)]),
        # a NULL run_id never matches !=
        ("run_id != 'r1'", None, [("m1", 2)]),
        ("version_number >= 2", None, [("m1", 2), ("m2", 3)]),
        ("version = 1", None, [("m2", 1), ("m1", 1)]),
        ("source_path LIKE 's3://%'", None, [("m1", 2), ("m1", 1)]),
        ("source = 'file:///x'", None, [("m2", 1)]),
        ("tags.stage = 'best'", None, [("m1", 2)]),
        ("name = 'm1' and version_number < 2", None, [("m1", 1)]),
        # order_by; name ASC and version DESC break ties when not named
        (None, ["version_number ASC"], [("m1", 1), ("m2", 1), ("m1", 2), ("m2", 3)]),
        (None, ["creation_timestamp DESC"], [("m2", 1), ("m1", 2), ("m1", 1), ("m2", 3)]),
        (None, ["name DESC"], [("m2", 3), ("m2", 1), ("m1", 2), ("m1", 1)]),
    ],
)
def test_model_versions(db: Database, filter_string, order_by, expected) -> None:
    q = model_versions_query(filter_string, order_by)
    assert _select(db, q, "mv.name, mv.version", "model_versions mv") == expected


@pytest.mark.parametrize(
    ("query", "filter_string", "says"),
    [
        (registered_models_query, "tags.stage IS NULL", "IS NULL cannot compare tags"),
        (registered_models_query, "name > 'a'", "> cannot compare the attribute 'name'"),
        (registered_models_query, "run_id = 'x'", "unknown attribute 'run_id'"),
        (model_versions_query, "version_number = 1.5", "compares with whole numbers"),
        (model_versions_query, "version_number = '1'", "compares with numbers"),
        (model_versions_query, "source_path IN ('x')", "IN cannot compare"),
        (model_versions_query, "params.a = 'x'", "unknown prefix 'params'"),
    ],
)
def test_registry_errors(query, filter_string: str, says: str) -> None:
    with pytest.raises(InvalidFilter, match="at position") as caught:
        query(filter_string, None)
    assert says in str(caught.value)


# -- round trips ---------------------------------------------------------------------------


def _quoted(value: str) -> str:
    """Quote a value as MLflow reads it: no escapes, so use the quote it does not hold."""
    quote = "'" if "'" not in value else '"'
    assume(quote not in value)
    return f"{quote}{value}{quote}"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(Path(folder) / "h.db")
        with database.write() as c:
            _insert_experiment(c, 1, "Default", 0, 0)
            for run_id in ("hit", "miss"):
                c.execute(
                    "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, "
                    "start_time, artifact_uri) VALUES (?, ?, 1, 'u', 'FINISHED', 0, '')",
                    (run_id, run_id),
                )
        yield database
        database.close()


def _with_param(db: Database, value: str, other: str) -> None:
    with db.write() as c:
        c.execute("DELETE FROM params")
        c.executemany("INSERT INTO params VALUES (?, 'p', ?)", [("hit", value), ("miss", other)])


@settings(max_examples=200, deadline=None)
@given(value=st.text())
def test_param_values_round_trip_through_equals(scratch: Database, value: str) -> None:
    _with_param(scratch, value, value + "x")
    assert search_runs(scratch, f"params.p = {_quoted(value)}") == ["hit"]


@settings(max_examples=200, deadline=None)
@given(value=st.text(alphabet=st.sampled_from("ab*?[]^!-\\.% _\n'\"é")))
def test_like_without_wildcards_matches_only_itself(scratch: Database, value: str) -> None:
    # every character but % and _ is literal in LIKE, including GLOB's * ? [ ]
    assume("%" not in value and "_" not in value)
    _with_param(scratch, value, value + "x")
    assert search_runs(scratch, f"params.p LIKE {_quoted(value)}") == ["hit"]


@settings(max_examples=100, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_metric_numbers_round_trip(value: float) -> None:
    # repr() of any finite float is a number MLflow's grammar reads (no '+' exponent)
    text = repr(value).replace("e+", "e")
    assert math.isclose(runs_query(f"metrics.m = {text}", None).where_args[1], value)
