"""Fuzzing the filter and order_by grammar: every outcome is a result or an InvalidFilter.

Filters are generated from MLflow's grammar (columns with every prefix, quoting and key
shape; every operator; numbers, strings, lists, NULL; AND and look-alikes), then mutated
(characters deleted, inserted, duplicated). Each search must return, or raise
``InvalidFilter``: never another exception, and never take longer than the deadline.
The default run tries 300 filters and 100 orderings (each on four searches) in seconds;
the ``slow`` run tries 10,000 filters and 3,000 orderings.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbtrack
from nbtrack import MlflowClient
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import InvalidFilter

PREFIXES = [
    "metrics.", "metric.", "params.", "param.", "tags.", "tag.", "attributes.", "attribute.",
    "attr.", "run.", "datasets.", "dataset.", "", "foo.",
]  # fmt: skip
ATTRIBUTES = [
    "run_id", "run_name", "status", "start_time", "end_time", "artifact_uri", "user_id",
    "lifecycle_stage", "experiment_id", "name", "digest", "context", "creation_time",
    "last_update_time", "version", "source", "current_stage", "tags",
]  # fmt: skip
OPERATORS = [
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "like", "IN", "NOT IN", "IS NULL",
    "IS NOT NULL", "==", "<>", "NOT", "IS", "=>", "",
]  # fmt: skip
JOINERS = [" AND ", " and ", " OR ", " && ", " ", "AND", " AND AND "]
SPECIALS = "'\"`().,=<>!%_*?[]\\ \t\n-+e0123456789aA\x00\u00e9\ud800"

key = st.one_of(
    st.sampled_from(["rmse", "alpha", "loss", "a.b", "val-loss", "x y", ""]),
    st.text(alphabet="ab.-_ `'\"", max_size=5),
    st.text(max_size=6),
)


@st.composite
def column(draw) -> str:
    prefix = draw(st.sampled_from(PREFIXES))
    if prefix in ("attributes.", "attribute.", "attr.", "run.", "", "datasets.", "dataset."):
        name = draw(st.one_of(st.sampled_from(ATTRIBUTES), key))
    else:
        name = draw(key)
    quote = draw(st.sampled_from(["", "`", '"', "'"]))
    return f"{prefix}{quote}{name}{quote}"


number = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["5e-1", "1e+3", ".5", "-", "1.", "1e400", "-0", "9" * 30, "inf", "NaN"]),
)
string = st.builds(
    lambda q, body: f"{q}{body}{q}",
    st.sampled_from(["'", '"', "`"]),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12),
)
string_list = st.lists(string, max_size=4).map(lambda items: f"({', '.join(items)})")
value = st.one_of(number, string, string_list, st.sampled_from(["NULL", "", "(", "()", "'"]))


@st.composite
def clause(draw) -> str:
    return f"{draw(column())} {draw(st.sampled_from(OPERATORS))} {draw(value)}".strip()


@st.composite
def filters(draw) -> str:
    parts = draw(st.lists(clause(), min_size=0, max_size=5))
    text = ""
    for i, part in enumerate(parts):
        text += (draw(st.sampled_from(JOINERS)) if i else "") + part
    return text


@st.composite
def mutated(draw) -> str:
    """A generated filter with random edits: deletions, insertions, duplicated slices."""
    text = draw(filters())
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        if edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "insert":
            text = text[:i] + draw(st.text(alphabet=SPECIALS, min_size=1, max_size=3)) + text[i:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


directions = st.sampled_from(["", " ASC", " DESC", " desc", " X"])
order_terms = st.one_of(
    st.builds(lambda c, d: f"{c}{d}", column(), directions),
    st.text(alphabet=SPECIALS, max_size=10),
)


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """A store with runs, an experiment and a registered model to search (shared, read-only)."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    client = MlflowClient(str(path))
    exp = client.create_experiment("fuzz", tags={"team": "a"})
    for i in range(6):
        run = client.create_run(exp, run_name=f"run-{i}", tags={"kind": f"x{i % 2}"})
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric("rmse", [0.5, float("nan"), float("inf"), -1.0, 0.0, 2.0][i], 0, 0),
                Metric("val-loss", float(i), 0, i),
            ],
            params=[Param("alpha", str(i / 10)), Param("a.b", "q'uote")],
            tags=[RunTag("x y", "%_[*")],
        )
    client.create_registered_model("fuzz-model", tags={"stage": "dev"})
    return client, exp


def _search_all(client: MlflowClient, exp: str, text: str) -> None:
    """Every search that takes a filter; each must return or raise InvalidFilter."""
    for search in (
        lambda: client.search_runs([exp], filter_string=text),
        lambda: client.search_experiments(filter_string=text),
        lambda: client.search_registered_models(filter_string=text),
        lambda: client.search_model_versions(filter_string=text),
    ):
        with contextlib.suppress(InvalidFilter):
            search()


_FAST = settings(
    max_examples=150,
    deadline=2000,  # a filter that takes seconds is a hang
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_SLOW = settings(_FAST, max_examples=10_000)


def _check_filter(populated, text: str) -> None:
    client, exp = populated
    _search_all(client, exp, text)


def _check_order(populated, terms: list[str]) -> None:
    client, exp = populated
    with contextlib.suppress(InvalidFilter):
        client.search_runs([exp], order_by=terms)
    with contextlib.suppress(InvalidFilter):
        client.search_experiments(order_by=terms)


@_FAST
@given(text=filters())
def test_generated_filters(populated, text):
    _check_filter(populated, text)


@_FAST
@given(text=mutated())
def test_mutated_filters(populated, text):
    _check_filter(populated, text)


@settings(_FAST, max_examples=100)
@given(terms=st.lists(order_terms, max_size=3))
def test_generated_order_by(populated, terms):
    _check_order(populated, terms)


@pytest.mark.slow
@_SLOW
@given(text=st.one_of(filters(), mutated()))
def test_many_filters(populated, text):
    _check_filter(populated, text)


@pytest.mark.slow
@settings(_SLOW, max_examples=3000)
@given(terms=st.lists(order_terms, max_size=4))
def test_many_order_by(populated, terms):
    _check_order(populated, terms)


@pytest.mark.parametrize(
    "text",
    [
        "params.alpha = '0.1' AND " * 499 + "params.alpha = '0.1'",  # 500 clauses: fine
        "metrics.rmse > " + "1" * 5000,  # a number too long for int()
        "run_id IN (" + ", ".join(f"'{i}'" for i in range(10_000)) + ")",  # the most values
        "params.alpha LIKE '" + "%_" * 4000 + "'",  # 8000 characters of pattern
    ],
)
def test_filters_at_the_limits_still_run(populated, text):
    client, exp = populated
    client.search_runs([exp], filter_string=text)
    nbtrack.search_runs([exp], filter_string=text)
