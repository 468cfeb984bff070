"""The first pages of a sort found by an index walk (nbtrack/store/first_page.py).

Every page it gives must be the one the full sort gives: same runs, same order,
ties, NaN and missing values, context rows and proxies included. The walk runs above
``ORDER_CACHE_ABOVE`` shown runs; the tests lower it (and ``MANY_TIES``) to reach every
path over a small store.
"""

from __future__ import annotations

import random

import pytest

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.store import first_page, shown_runs
from nbtrack.store.first_page import Leading, leading
from nbtrack.store.panels import RunScope, panel_queries

FILTERS = [
    None,
    "params.kind = 'child'",  # parents become context rows, placed by a proxy
    "metrics.score < 0.5",  # context rows, and a sort against the filter's grain
    "params.kind = 'none'",  # nothing shown
]
ORDERS = [
    [],
    ["metrics.score ASC"],
    ["metrics.score DESC"],
    ["metrics.`score` DESC", "params.kind DESC"],
    ["params.kind"],  # a few values: many ties at the boundary
    ["params.kind DESC"],
    ["tags.team DESC"],
    ["attributes.start_time ASC"],
    ["metrics.rare"],  # fewer values than a page: the full sort
    ["attributes.run_name DESC"],  # no index: the full sort
]


@pytest.fixture
def mixed():
    """70 runs of one experiment (and 5 of another): scores with ties, NaN and gaps.

    Parents 0-4 have children (some grandchildren); parents 0 and 1 log no score; start
    times repeat in pairs so the run id breaks ties.
    """
    client = nbtrack.MlflowClient()
    rng = random.Random(7)
    exp = client.create_experiment("mixed")
    other = client.create_experiment("other")
    ids: list[str] = []
    for i in range(75):
        parent = ids[i % 5] if 5 <= i < 70 and i % 3 == 0 else None
        if parent is not None and i > 40 and i % 2 == 0:
            parent = ids[i - 30]  # a grandchild, when that run is a child
        tags = {"mlflow.parentRunId": parent} if parent else {}
        run = client.create_run(
            exp if i < 70 else other, start_time=1_000 + i // 2, tags=tags, run_name=f"r{i:02}"
        )
        ids.append(run.info.run_id)
        metrics = [Metric("rare", float(i), 0, 0)] if i in (10, 20) else []
        if i not in (0, 1) and i % 11 != 0:
            score = float("nan") if i % 13 == 0 else rng.choice([0.1, 0.2, 0.3, 0.5, 0.7, 0.9])
            metrics.append(Metric("score", score, 0, 0))
        client.log_batch(
            run.info.run_id,
            metrics=metrics,
            params=[Param("kind", "child" if parent else rng.choice(["top", "solo"]))],
            tags=[RunTag("team", rng.choice(["a", "b", "c"]))] if i % 7 else [],
        )
    return exp, other


def first_pages(scope, order, size, tree):
    """The first two pages of an order, each computed anew."""
    with panel_queries(nbtrack.MlflowClient().store).shown(scope) as shown:
        pages = []
        for offset in (0, size):
            shown._memo.pop("head", None)
            pages.append(shown.page(order, offset, size, tree))
        return pages


@pytest.mark.parametrize("tree", [True, False])
@pytest.mark.parametrize(("size", "many_ties"), [(1, 1_000), (4, 3), (9, 3), (9, 1_000)])
def test_first_pages_are_the_full_sorts(mixed, monkeypatch, tree, size, many_ties):
    exp, other = mixed
    monkeypatch.setattr(first_page, "MANY_TIES", many_ties)  # 3: ties walked by start time
    monkeypatch.setattr(first_page, "STEPS_PER_RANKED", 10**6)  # no walk stopped early
    walked = []
    real = first_page.candidates

    def spy(*args):
        found = real(*args)
        walked.append(found is not None)
        return found

    monkeypatch.setattr(first_page, "candidates", spy)
    for experiments in [(exp,), (exp, other)]:
        for filter_string in FILTERS:
            scope = RunScope(experiment_ids=experiments, filter_string=filter_string)
            for order in ORDERS:
                monkeypatch.setattr(shown_runs, "ORDER_CACHE_ABOVE", 0)
                got = first_pages(scope, order, size, tree)
                monkeypatch.setattr(shown_runs, "ORDER_CACHE_ABOVE", 10_000)  # one sort
                want = first_pages(scope, order, size, tree)
                assert got == want, (experiments, filter_string, order)
    assert sum(walked) >= 10  # walked where an index bounds the page


def test_full_sort_where_no_index_bounds_the_page(mixed, monkeypatch):
    exp, other = mixed
    monkeypatch.setattr(shown_runs, "ORDER_CACHE_ABOVE", 0)
    monkeypatch.setattr(first_page, "STEPS_PER_RANKED", 10**6)
    queries = panel_queries(nbtrack.MlflowClient().store)

    def walks(order, experiments=(exp,), size=5):
        with queries.shown(RunScope(experiment_ids=experiments)) as shown:
            shown.page(order, 0, size, True)  # fills temp.proxy for this order
            ranked = shown.counts()[1]
            return first_page.candidates(queries.conn, order, size, True, shown._experiment, ranked)

    assert walks([]) and walks(["metrics.score DESC"]) and walks(["tags.team"])
    assert walks(["params.kind"]) is not None
    assert walks([], (exp, other)) is None  # the start time's index is per experiment
    assert walks(["metrics.score DESC"], (exp, other))  # a key's index is not
    assert walks(["metrics.rare"]) is None  # 2 values, 5 runs a page
    assert walks(["attributes.run_name"]) is None
    assert walks(["metrics.score"], size=0) is None
    assert walks(["metrics.score"], size=40) is None  # most of the 48 roots: the full sort
    monkeypatch.setattr(first_page, "STEPS_PER_RANKED", 0)  # each walk stopped at once
    assert walks(["metrics.score DESC"]) is None
    with queries.shown(RunScope(experiment_ids=(exp,))) as shown:  # the shown runs kept
        assert len(shown.ids()) == 70
        assert len(shown.page(["metrics.score DESC"], 0, 5, True)) == 5


@pytest.mark.parametrize(
    ("order_by", "lead"),
    [
        ([], Leading(None, "r.start_time", True)),
        (["metrics.`a, b` DESC"], Leading("latest_metrics", "a, b", True)),
        (["metrics.rmse", "params.x DESC"], Leading("latest_metrics", "rmse", False)),
        (["params.model asc"], Leading("params", "model", False)),
        (["tags.`mlflow.runName` DESC"], Leading("tags", "mlflow.runName", True)),
        (["created"], Leading(None, "r.start_time", False)),
        (["attributes.run_name DESC"], Leading(None, "r.name", True)),
        (["end_time"], Leading(None, "", False)),  # can be NULL: not walked
    ],
)
def test_leading_term(order_by, lead):
    assert leading(order_by) == lead


def test_near_pages_walked_far_pages_sliced_from_one_sort(mixed, monkeypatch):
    exp, _ = mixed
    monkeypatch.setattr(shown_runs, "ORDER_CACHE_ABOVE", 0)
    monkeypatch.setattr(shown_runs, "WALKED_ROWS", 10)
    order = ["metrics.score DESC"]
    with panel_queries(nbtrack.MlflowClient().store).shown(RunScope((exp,))) as shown:
        near = shown.page(order, 5, 5, True)
        assert "ordered" not in shown._memo  # walked: no sort of every run
        far = shown.page(order, 10, 5, True)
        assert "ordered" in shown._memo
        assert shown.page(order, 5, 10, True) == near + far  # from that one sort
