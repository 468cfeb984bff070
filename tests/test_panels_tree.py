"""The run table's trees and row actions: context rows, tree sorting, completion, edits."""

from __future__ import annotations

import time

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter
from nbtrack.panels import filter_keys, show_runs
from nbtrack.panels import rows as table_rows
from nbtrack.panels.row_actions import EditRun
from nbtrack.store import shown_runs


def names(table) -> list[str]:
    return [r["name"] for r in table.grid.rows if "id" in r]


@pytest.fixture
def ranked():
    """A parent without a score (children .9 and .1), one with .4 (child .95), two lone runs."""
    nbtrack.set_experiment("ranked")
    ids = {}

    def run(name: str, score: float | None, parent: str | None = None) -> str:
        time.sleep(0.002)
        tags = {"mlflow.parentRunId": ids[parent]} if parent else {}
        run_id = (
            nbtrack.MlflowClient()
            .create_run(
                nbtrack.get_experiment_by_name("ranked").experiment_id, run_name=name, tags=tags
            )
            .info.run_id
        )
        if score is not None:
            nbtrack.MlflowClient().log_metric(run_id, "score", score)
        nbtrack.MlflowClient().log_param(run_id, "kind", "child" if parent else "top")
        ids[name] = run_id
        return run_id

    run("sweep", None)
    run("good", 0.9, "sweep")
    run("bad", 0.1, "sweep")
    run("scored", 0.4)
    run("best", 0.95, "scored")
    run("lone-5", 0.5)
    run("lone-3", 0.3)
    return ids


@pytest.mark.parametrize("cache_above", [1_000, 0])  # pages sliced from one sort, or not
@pytest.mark.parametrize(
    ("order", "top", "under_sweep"),
    [
        # sweep has no score: placed by its best child (.9 descending, .1 ascending);
        # scored keeps its own .4, not its child's .95
        ("DESC", ["sweep", "lone-5", "scored", "lone-3"], ["good", "bad"]),
        ("ASC", ["sweep", "lone-3", "scored", "lone-5"], ["bad", "good"]),
    ],
)
def test_tree_sort_orders_groups_and_children_alike(
    ranked, monkeypatch, cache_above, order, top, under_sweep
):
    monkeypatch.setattr(shown_runs, "ORDER_CACHE_ABOVE", cache_above)
    table = show_runs(live=False, order_by=[f"metrics.score {order}"])
    assert names(table) == top
    table.grid.expanded = [ranked["sweep"]]
    assert names(table)[1:3] == under_sweep
    table.grid.page_size = 2  # pages hold whole groups, in the same order
    table.grid.page = 1
    assert [r["name"] for r in table.grid.rows if r["depth"] == 0] == top[2:]


def test_context_parent_placed_by_its_best_match(ranked):
    table = show_runs(live=False, order_by=["metrics.score DESC"])
    table.filter = "params.kind = 'child'"  # children only: both parents become context
    rows = [(r["name"], r["depth"], bool(r.get("context"))) for r in table.grid.rows]
    assert rows == [
        ("scored", 0, True),  # its match (.95) beats sweep's best (.9), whatever its own .4
        ("best", 1, False),
        ("sweep", 0, True),
        ("good", 1, False),
        ("bad", 1, False),
    ]
    assert (table.grid.total, table.grid.roots) == (3, 2)


def test_filter_keys_offered_for_completion(keyed):
    nbtrack.set_experiment("other")
    with nbtrack.start_run():
        nbtrack.log_metric("elsewhere", 1)
    table = show_runs("keyed", live=False)
    keys = table.grid.filter_keys
    assert {"metrics.rmse", "metrics.score", "params.alpha", "params.score"} <= set(keys)
    assert "metrics.elsewhere" not in keys  # another experiment's key
    assert "tags.`mlflow.runName`" in keys  # keys that need it come backticked
    assert keys[-6:] == [f"attributes.{a}" for a in filter_keys.ATTRIBUTE_KEYS]
    with nbtrack.start_run(experiment_id=table.experiment_id):
        nbtrack.log_param("new_param", 1)
    table.refresh()
    assert "params.new_param" in table.grid.filter_keys


def test_rows_edited_deleted_and_restored_from_the_table(keyed):
    table = show_runs("keyed", live=False)
    first = table.grid.rows[0]["id"]
    table._on_msg(table.grid, {"action": "edit", "run_id": first}, [])
    editor = table.detail.children[1]
    assert isinstance(editor, EditRun)
    editor.editor.rename("renamed")
    editor.editor.save_note("a note")
    editor.editor.set_tag("stage", "dev")
    run = nbtrack.MlflowClient().get_run(first)
    assert run.info.run_name == "renamed" and run.data.tags["mlflow.note.content"] == "a note"
    assert table.grid.rows[0]["name"] == "renamed"  # the table refreshed after each write
    assert table.grid.rows[0]["t"]["stage"] == "dev"
    others = [r["id"] for r in table.grid.rows[1:]]
    table.selected_run_ids = others
    table._on_msg(table.grid, {"action": "delete"}, [])
    assert [r["id"] for r in table.grid.rows] == [first]
    assert "Deleted 2 runs" in table.grid.filter_note
    assert table.selected_run_ids == []
    table.view = "deleted"  # the deleted runs, to restore
    assert sorted(r["id"] for r in table.grid.rows) == sorted(others)
    assert all(r["deleted"] for r in table.grid.rows)
    table.selected_run_ids = others[:1]
    table._on_msg(table.grid, {"action": "restore"}, [])
    assert [r["id"] for r in table.grid.rows] == others[1:]
    table.view = "all"
    assert len(table.grid.rows) == 3
    editor.editor.toggle_deleted()  # the Edit form deletes too, and the table follows
    assert sum(r["deleted"] for r in table.grid.rows) == 2
    with pytest.raises(InvalidParameter, match="view must be one of"):
        table.view = "trash"


def test_context_rows_open_on_their_first_matches():
    with nbtrack.start_run(run_name="grid") as parent:
        for i in range(12):
            with nbtrack.start_run(run_name=f"fold-{i}", nested=True):
                nbtrack.log_param("kind", "fold")
    table = show_runs(live=False)
    table.filter = "params.kind = 'fold'"
    rows = table.grid.rows
    assert rows[0]["name"] == "grid" and rows[0]["context"]
    assert sum(1 for r in rows if r.get("depth") == 1 and "id" in r) == 10
    assert rows[-1] == {"more": parent.info.run_id, "depth": 1, "hidden": 2}
    table._on_msg(table.grid, {"action": "more", "run_id": parent.info.run_id}, [])
    assert len([r for r in table.grid.rows if "id" in r]) == 13


def test_show_more_under_a_context_row_doubles_what_is_shown():
    with nbtrack.start_run(run_name="grid") as parent:
        for i in range(45):
            with nbtrack.start_run(run_name=f"fold-{i}", nested=True):
                nbtrack.log_param("kind", "fold")
    table = show_runs(live=False)
    table.filter = "params.kind = 'fold'"
    shown = []
    for _ in range(3):
        table._on_msg(table.grid, {"action": "more", "run_id": parent.info.run_id}, [])
        shown.append(sum(1 for r in table.grid.rows if r.get("depth") == 1 and "id" in r))
    assert shown == [20, 40, 45]  # 10 first, then twice as many each time (not 10 -> 100)


@pytest.mark.parametrize(
    ("context", "shown", "after"),
    [(True, None, 20), (True, 20, 40), (False, None, 100), (False, 100, 200)],
)
def test_more_children_steps(context, shown, after):
    assert table_rows.more_children(shown, context, 50) == after


def test_context_rows_collapse_and_reopen():
    with nbtrack.start_run(run_name="grid") as parent:
        for i in range(3):
            with nbtrack.start_run(run_name=f"fold-{i}", nested=True):
                nbtrack.log_param("kind", "fold")
    with nbtrack.start_run(run_name="lone"):
        nbtrack.log_param("kind", "fold")
    table = show_runs(live=False)
    table.filter = "params.kind = 'fold'"
    assert len(table.grid.rows) == 5  # lone, grid (context) and its 3 folds
    table.grid.collapsed = [parent.info.run_id]
    rows = {r["name"]: r for r in table.grid.rows}
    assert set(rows) == {"grid", "lone"} and rows["grid"]["context"]
    assert rows["grid"]["children"] == 3 and (table.grid.total, table.grid.roots) == (4, 2)
    table.grid.collapsed = []
    assert len(table.grid.rows) == 5
    table.grid.collapsed = [parent.info.run_id]
    table.filter = "params.kind = 'fold' and attributes.run_name != 'lone'"
    assert table.grid.collapsed == []  # a new filter opens its context rows again
    assert table.grid.rows[0]["name"] == "grid"
    assert {r["name"] for r in table.grid.rows} == {"grid", "fold-0", "fold-1", "fold-2"}
