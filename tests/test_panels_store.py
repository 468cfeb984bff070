"""The panels' store queries (nbtrack/store/panels.py): trees, paging, stats, changes."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys

import pytest

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import InvalidFilter
from nbtrack.store import shown_runs
from nbtrack.store.panels import RunScope, panel_queries


@pytest.fixture
def client():
    return nbtrack.MlflowClient()


@pytest.fixture
def tree(client):
    """root ─ a ─ a1 ─ a1x (and root ─ b), plus a lone run; alpha and score on each."""
    exp = client.create_experiment("tree")
    ids: dict[str, str] = {}

    def run(name: str, parent: str | None, alpha: str, score: float, start: int) -> None:
        tags = {"mlflow.parentRunId": ids[parent]} if parent else {}
        r = client.create_run(exp, start_time=start, tags=tags, run_name=name)
        ids[name] = r.info.run_id
        client.log_batch(
            r.info.run_id,
            metrics=[Metric("score", score, 0, 0)],
            params=[Param("alpha", alpha)],
            tags=[RunTag("kind", "x")],
        )

    run("root", None, "1", 0.5, 1)
    run("a", "root", "2", 0.9, 2)
    run("a1", "a", "3", 0.1, 3)
    run("a1x", "a1", "4", 0.7, 4)
    run("b", "root", "5", 0.3, 5)
    run("lone", None, "6", 0.2, 6)
    return exp, ids


@pytest.mark.parametrize(
    ("filter_string", "total", "roots"),
    [
        (None, 6, 2),  # every run; roots are the two runs without a parent
        ("params.alpha != '1'", 5, 2),  # root does not match: shown as context over a and b
        ("metrics.score > 0.6", 2, 1),  # a and a1x match: under root and a1, both context
        ("params.alpha = '99'", 0, 0),  # nothing matches
    ],
)
def test_counts_follow_the_tree_rule(client, tree, filter_string, total, roots):
    exp, _ = tree
    with panel_queries(client.store).shown(RunScope((exp,), filter_string)) as shown:
        assert shown.counts() == (total, roots)


def test_page_orders_and_offsets(client, tree):
    exp, ids = tree
    names = {v: k for k, v in ids.items()}
    with panel_queries(client.store).shown(RunScope((exp,))) as shown:
        newest_first = [names[i] for i in shown.page(None, 0, 10)]
        assert newest_first == ["lone", "b", "a1x", "a1", "a", "root"]
        by_score = [names[i] for i in shown.page(["metrics.score DESC"], 1, 2)]
        assert by_score == ["a1x", "root"]
        assert [names[i] for i in shown.page(None, 0, 10, roots_only=True)] == ["lone", "root"]


def test_children_and_counts(client, tree):
    exp, ids = tree
    names = {v: k for k, v in ids.items()}
    with panel_queries(client.store).shown(RunScope((exp,))) as shown:
        kids = shown.children([ids["root"], ids["a"]], ["params.alpha DESC"], limit=1)
        assert {names[p]: [names[c] for c in cs] for p, cs in kids.items()} == {
            "root": ["b"],
            "a": ["a1"],
        }
        counts = shown.child_counts([ids["root"], ids["a1x"]])
        assert counts == {ids["root"]: 2}
    queries = panel_queries(client.store)
    assert {names[i] for i in queries.descendants(ids["root"])} == {"a", "a1", "a1x", "b"}
    assert queries.descendant_counts([ids["root"], ids["a1"], ids["lone"]]) == {
        ids["root"]: 4,
        ids["a1"]: 1,
    }
    assert queries.descendant_counts([ids["lone"], ids["a1"]]) == {ids["a1"]: 1}  # kept
    client.create_run(exp, tags={"mlflow.parentRunId": ids["a1x"]})  # the store changed
    assert queries.descendant_counts([ids["root"], ids["a1"], ids["lone"]]) == {
        ids["root"]: 5,
        ids["a1"]: 2,
    }


def test_scope_under_and_run_ids(client, tree):
    exp, ids = tree
    queries = panel_queries(client.store)
    with queries.shown(RunScope(None, under=ids["a"])) as shown:
        assert shown.counts() == (2, 1)  # a1 (root of the scope) and a1x under it
    with queries.shown(RunScope((exp,), run_ids=(ids["a"], ids["lone"]))) as shown:
        assert sorted(shown.ids()) == sorted([ids["a"], ids["lone"]])


def test_deleted_runs_are_left_out(client, tree):
    exp, ids = tree
    client.delete_run(ids["lone"])
    with panel_queries(client.store).shown(RunScope((exp,))) as shown:
        assert ids["lone"] not in shown.ids()


def test_key_stats_tell_what_varies(client, tree):
    exp, _ = tree
    with panel_queries(client.store).shown(RunScope((exp,))) as shown:
        stats = shown.key_stats()
    assert [(s.key, s.present, s.varies) for s in stats["params"]] == [("alpha", 6, True)]
    assert [(s.key, s.varies) for s in stats["metrics"]] == [("score", True)]
    assert ("kind", 6, False) in [(s.key, s.present, s.varies) for s in stats["tags"]]


def test_histories_are_thinned_and_keep_the_last_point(client):
    exp = client.create_experiment("h")
    run = client.create_run(exp).info.run_id
    client.log_batch(
        run,
        metrics=[Metric("loss", float(s), 0, s) for s in range(100)]
        + [
            Metric("single", 1.0, 0, 0),
            Metric("odd", math.nan, 0, 0),
            Metric("odd", math.inf, 0, 1),
        ],
    )
    found = panel_queries(client.store).histories([run], ["loss", "single", "odd"], points=10)
    loss = found[(run, "loss")]
    assert loss[0] == 0.0 and loss[-1] == 99.0 and len(loss) <= 12
    assert (run, "single") not in found  # one point is not a history
    odd = found[(run, "odd")]
    assert math.isnan(odd[0]) and odd[1] == math.inf


def test_invalid_filter_raises(client, tree):
    exp, _ = tree
    with (
        pytest.raises(InvalidFilter),
        panel_queries(client.store).shown(RunScope((exp,), "params.alpha =")),
    ):
        pass


def test_change_token_moves_on_any_commit_but_not_on_panel_reads(client, tree, fresh_store):
    exp, ids = tree
    queries = panel_queries(client.store)
    token = queries.change_token()
    with queries.shown(RunScope((exp,))) as shown:
        shown.key_stats()
    assert queries.change_token() == token  # the panel's own temp table is not a change
    client.set_tag(ids["a"], "note", "this process")
    token2 = queries.change_token()
    assert token2 != token
    other = sqlite3.connect(fresh_store)
    other.execute("UPDATE runs SET name = 'renamed' WHERE run_uuid = ?", (ids["b"],))
    other.commit()
    other.close()
    token3 = queries.change_token()
    assert token3 != token2
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import nbtrack; nbtrack.MlflowClient().set_tag({ids['a']!r}, 'from', 'elsewhere')",
        ],
        check=True,
    )
    assert queries.change_token() != token3


@pytest.mark.parametrize("shown", [10, 4_000, 6_000, 100_000])  # below and above the sample
def test_key_presence_scaled_from_a_sample(shown):
    sampled = min(shown, shown_runs.STATS_SAMPLE)
    assert shown_runs.scaled(sampled, sampled, shown) == shown  # all have it: all
    half = shown_runs.scaled(sampled // 2, sampled, shown)
    assert half < shown and abs(half - shown / 2) <= 1


def test_key_names_per_experiment(client, tree):
    exp, _ = tree
    other = client.create_experiment("other")
    run = client.create_run(other)
    client.log_batch(run.info.run_id, params=[Param("elsewhere", "1")])
    queries = panel_queries(client.store)
    names = queries.key_names((exp,))
    assert (names["params"], names["metrics"]) == (["alpha"], ["score"])
    assert "kind" in names["tags"]
    assert queries.key_names(None)["params"] == ["alpha", "elsewhere"]
    assert queries.key_names((other,))["params"] == ["elsewhere"]


def test_context_rows_stay_inside_the_scope(client, tree):
    exp, ids = tree
    names = {v: k for k, v in ids.items()}
    client.delete_run(ids["a1"])  # a1x's parent is deleted: no context row for it
    queries = panel_queries(client.store)
    with queries.shown(RunScope((exp,), "metrics.score > 0.6")) as shown:
        assert shown.counts() == (2, 2)  # a under root (context); a1x a root of its own
        roots = shown.page(None, 0, 10, roots_only=True)
        assert sorted(names[i] for i in roots) == ["a1x", "root"]
        assert shown.context_ids(list(ids.values())) == {ids["root"]}
        assert sorted(names[i] for i in shown.ids()) == ["a", "a1x"]
    with queries.shown(RunScope(None, "metrics.score > 0.6", under=ids["root"])) as shown:
        # under root: root itself is outside the scope, so a is a root, a1x too
        assert shown.counts() == (2, 2) and shown.context_ids(list(ids.values())) == set()
