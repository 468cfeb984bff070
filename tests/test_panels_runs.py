"""The run table (nbtrack.panels.RunTable) at the Python level: traits, rows, selection."""

from __future__ import annotations

import json
import math
import time

import pytest

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import ExperimentNotFound, InvalidParameter
from nbtrack.panels import RunTable, show_runs
from nbtrack.store import panels as store_panels
from nbtrack.store import search


@pytest.fixture
def sweep():
    """Three plain runs and a parent with four children, in experiment 'demo'."""
    nbtrack.set_experiment("demo")
    ids = {}
    for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "sgd"), (0.001, "adam")]):
        time.sleep(0.002)  # distinct start times (ms): the default order is newest first
        with nbtrack.start_run(run_name=f"train-{i}") as run:
            nbtrack.log_params({"lr": lr, "optimizer": opt, "epochs": 10})
            nbtrack.set_tag("team", "nlp")
            for step in range(5):
                nbtrack.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            nbtrack.log_metric("acc", 0.8 + i / 10)
        ids[f"train-{i}"] = run.info.run_id
    time.sleep(0.002)
    with nbtrack.start_run(run_name="parent") as parent:
        for i in range(4):
            time.sleep(0.002)
            with nbtrack.start_run(run_name=f"child-{i}", nested=True) as child:
                nbtrack.log_param("alpha", i)
                nbtrack.log_metric("acc", i / 4)
            ids[f"child-{i}"] = child.info.run_id
    ids["parent"] = parent.info.run_id
    return ids


def names(table: RunTable) -> list[str]:
    return [r["name"] for r in table.grid.rows if "id" in r]


def test_columns_are_grouped_with_varying_ones_first(sweep):
    table = show_runs(live=False)
    cols = [(c["group"], c["key"], c["varies"]) for c in table.grid.columns]
    groups = [g for g, _, _ in cols]
    # name and status, then metrics, params, tags, then the other attributes
    assert [k for _, k, _ in cols[:2]] == ["run_name", "status"]
    assert groups[2:] == sorted(groups[2:], key=["metrics", "params", "tags", "attributes"].index)
    params = [(k, v) for g, k, v in cols if g == "params"]
    # epochs is logged by 3 of 7 runs (missing counts as varying); all params vary here
    assert {k for k, _ in params} == {"alpha", "epochs", "lr", "optimizer"}
    tags = [k for g, k, _ in cols if g == "tags"]
    assert tags == ["team"]  # mlflow.* and nbtrack.* system tags are not columns
    sort = {c["key"]: c["sort"] for c in table.grid.columns}
    assert sort["loss"] == "metrics.`loss`" and sort["duration"] is None


def test_columns_keep_their_place_when_a_param_becomes_constant():
    nbtrack.set_experiment("const")
    for i in range(3):
        with nbtrack.start_run():
            nbtrack.log_params({"a_varies": str(i), "b_same": "1", "c_varies": str(i % 2)})
    table = show_runs(live=False)

    def params() -> list[tuple[str, bool]]:
        return [(c["key"], c["varies"]) for c in table.grid.columns if c["group"] == "params"]

    assert params() == [("a_varies", True), ("b_same", False), ("c_varies", True)]
    table.filter = "params.c_varies = '0'"  # a_varies and b_same stay; c_varies now constant
    assert params() == [("a_varies", True), ("b_same", False), ("c_varies", False)]
    table.filter = "params.a_varies = '1'"  # one run: every param constant, same order
    assert params() == [("a_varies", False), ("b_same", False), ("c_varies", False)]


def test_tree_nests_children_and_expands(sweep):
    table = show_runs(live=False)
    assert names(table) == ["parent", "train-2", "train-1", "train-0"]
    parent = table.grid.rows[0]
    assert (parent["children"], parent["descendants"]) == (4, 4)
    table.grid.expanded = [sweep["parent"]]
    rows = table.grid.rows
    assert [(r["name"], r["depth"]) for r in rows[:5]] == [
        ("parent", 0),
        ("child-3", 1),
        ("child-2", 1),
        ("child-1", 1),
        ("child-0", 1),
    ]
    table.grid.tree = False  # flat: every run is a row
    assert len(names(table)) == 8


def test_tree_of_any_depth():
    with nbtrack.start_run(run_name="a") as a:
        with nbtrack.start_run(run_name="b", nested=True) as b:
            with nbtrack.start_run(run_name="c", nested=True):
                nbtrack.log_param("x", 1)
    table = show_runs(live=False)
    assert [(r["name"], r["children"], r["descendants"]) for r in table.grid.rows] == [("a", 1, 2)]
    table.grid.expanded = [a.info.run_id]
    assert [(r["name"], r["depth"], r["children"]) for r in table.grid.rows] == [
        ("a", 0, 1),
        ("b", 1, 1),
    ]
    table.grid.expanded = [a.info.run_id, b.info.run_id]
    assert [(r["name"], r["depth"]) for r in table.grid.rows] == [("a", 0), ("b", 1), ("c", 2)]
    table.grid.expanded = []
    table.filter = "params.x = '1'"  # c matches, its parents do not: shown above it, open
    rows = [(r["name"], r["depth"], r.get("context", False)) for r in table.grid.rows]
    assert rows == [("a", 0, True), ("b", 1, True), ("c", 2, False)]
    assert (table.grid.total, table.grid.roots) == (1, 1)  # one match, in one group
    table.grid.tree = False  # flat: the matches only
    assert [(r["name"], r["depth"], "context" in r) for r in table.grid.rows] == [("c", 0, False)]


def test_show_more_children(sweep):
    table = show_runs(live=False, page_size=2)
    table.grid.expanded = [sweep["parent"]]
    rows = table.grid.rows
    more = [r for r in rows if "more" in r]
    assert more == [{"more": sweep["parent"], "depth": 1, "hidden": 2}]
    table._on_msg(table.grid, {"action": "more", "run_id": sweep["parent"]}, [])
    assert not any("more" in r for r in table.grid.rows)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.optimizer = 'adam'", ["train-2", "train-0"]),  # params compare as strings
        ("metrics.acc >= 0.9", ["train-2", "train-1"]),  # children (acc <= .75) drop out
        # the children match, their parent does not: it is shown above them, as context
        (
            "attributes.run_name LIKE 'child-%'",
            ["parent", "child-3", "child-2", "child-1", "child-0"],
        ),
    ],
)
def test_filter_runs_in_sql(sweep, filter_string, expected):
    table = show_runs(live=False)
    table.filter = filter_string
    assert names(table) == expected
    assert table.grid.total == sum(not r.get("context") for r in table.grid.rows)
    assert table.filter_error == ""


def test_bad_filter_is_reported_and_rows_kept(sweep):
    table = show_runs(live=False)
    before = table.grid.rows
    table.filter = "metrics.acc >"
    assert "expected a value" in table.filter_error
    assert table.grid.rows == before
    table.filter = ""
    assert table.filter_error == ""


def test_filter_given_at_creation(sweep):
    table = show_runs(filter="params.lr = '0.01'", live=False)
    assert names(table) == ["train-1"]


def test_sort_by_any_column(sweep):
    table = show_runs(live=False)
    table.grid.tree = False
    table.grid.order_by = ["metrics.`acc` DESC"]
    assert names(table)[:3] == ["train-2", "train-1", "train-0"]
    table.grid.order_by = ["params.`lr` ASC"]
    assert names(table)[:3] == ["train-2", "train-1", "train-0"]  # '0.001' < '0.01' < '0.1'
    assert names(table)[3:] != []  # runs without lr sort last


def test_paging(sweep):
    table = show_runs(live=False, page_size=2)
    assert (table.grid.roots, len(names(table))) == (4, 2)
    table.grid.page = 1
    assert names(table) == ["train-1", "train-0"]
    table.grid.page = 9  # past the end: clamped to the last page
    assert table.grid.page == 1
    table.grid.order_by = ["metrics.`acc` ASC"]  # a new sort starts at the first page
    assert table.grid.page == 0


def test_sparklines_and_json_safe_values(sweep):
    with nbtrack.start_run(run_name="odd"):
        nbtrack.log_metric("acc", math.nan)
        nbtrack.log_metric("loss", math.inf)
    table = show_runs(live=False)
    json.dumps(table.grid.rows, allow_nan=False)  # NaN/inf travel as strings
    odd = next(r for r in table.grid.rows if r.get("name") == "odd")
    assert odd["m"] == {"acc": "NaN", "loss": "Infinity"}
    train = next(r for r in table.grid.rows if r.get("name") == "train-0")
    assert train["s"]["loss"][0] == 1.0 and len(train["s"]["loss"]) == 5
    assert "acc" not in train["s"]  # a single point has no sparkline


def test_selection_round_trip(sweep):
    table = show_runs(live=False)
    # from Python: the synced trait (what the browser shows) follows
    table.selected_run_ids = [sweep["train-1"], sweep["train-0"], sweep["train-1"]]
    assert table.grid.selected_run_ids == [sweep["train-1"], sweep["train-0"]]
    # from the browser: the trait changes, Python reads it back as a DataFrame
    table.grid.selected_run_ids = [sweep["train-2"]]
    frame = table.selected
    assert list(frame["run_id"]) == [sweep["train-2"]]
    assert frame.loc[0, "params.optimizer"] == "adam"
    # a refresh keeps the selection
    table.refresh()
    assert table.selected_run_ids == [sweep["train-2"]]
    with pytest.raises(InvalidParameter):
        table.selected_run_ids = [42]


def test_actions_open_panels_below(sweep):
    table = show_runs(live=False)
    table.selected_run_ids = [sweep["train-0"], sweep["train-1"]]
    table._on_msg(table.grid, {"action": "compare"}, [])
    _, opened = table.detail.children
    assert type(opened).__name__ == "CompareRuns" and opened.run_ids == table.selected_run_ids
    table._on_msg(table.grid, {"action": "sweep", "run_id": sweep["parent"]}, [])
    _, opened = table.detail.children
    assert type(opened).__name__ == "ParallelCoordinates"
    table._on_msg(table.grid, {"action": "open", "run_id": sweep["train-2"]}, [])
    close, opened = table.detail.children
    assert type(opened).__name__ == "RunDetail"
    close.click()  # the Close button above the panel
    assert table.detail.children == ()
    assert opened._closed


def test_errors_in_callbacks_show_in_the_panel(sweep):
    table = show_runs(live=False)
    # the callback wrapper routes the error to the panel's output area
    wrapped = table.callback(table._on_msg)
    wrapped(table.grid, {"action": "open", "run_id": "no-such-run"}, [])
    assert "RunNotFound" in table.output.outputs[-1]["text"]
    assert table.detail.children == ()


def test_static_renderings(sweep):
    table = show_runs(live=False)
    bundle = table._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<table" in bundle["text/html"] and "train-0" in bundle["text/html"]
    assert "FINISHED" in bundle["text/html"]
    text = bundle["text/plain"]
    assert text.startswith("8 runs") and "train-0" in text and "<" not in text


@pytest.mark.parametrize(
    ("experiment", "expected"),
    [
        ("demo", 4),  # by name: the tree's roots
        ("*", 4),  # every experiment (Default is empty)
        (["demo", "0"], 4),  # a list of names and ids
    ],
)
def test_show_runs_resolves_experiments(sweep, experiment, expected):
    assert len(names(show_runs(experiment, live=False))) == expected


def test_show_runs_unknown_experiment():
    with pytest.raises(ExperimentNotFound, match="no experiment named"):
        show_runs("nope", live=False)


def test_forwarding_functions_in_nbtrack(sweep):
    table = nbtrack.show_runs("demo", live=False)
    assert isinstance(table, RunTable)
    assert type(nbtrack.show_run(sweep["train-0"], live=False)).__name__ == "RunDetail"


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """10,000 runs (100 parents with 20 children each, 7,900 plain runs), made once."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}"
    client = nbtrack.MlflowClient(uri)
    exp = client.create_experiment("big")
    parents: list[str] = []
    for i in range(10_000):
        tags = {"mlflow.parentRunId": parents[i % 100]} if i >= 100 and i < 2100 else {}
        run_id = client.create_run(exp, start_time=1_700_000_000_000 + i, tags=tags).info.run_id
        if i < 100:
            parents.append(run_id)
        client.log_batch(
            run_id,
            metrics=[Metric("rmse", (i % 97) / 97, 0, s) for s in range(3)],
            params=[Param("alpha", str([0.001, 0.01, 0.1][i % 3])), Param("seed", "0")],
            tags=[RunTag("team", "a")],
        )
    yield client, exp
    store_panels.close_all()


@pytest.mark.slow
def test_large_store_pages_in_sql(big_store):
    client, exp = big_store
    table = RunTable([exp], client=client, live=False)
    # roots: the 100 parents and the 7,900 runs without a parent
    assert (table.grid.total, table.grid.roots, len(table.grid.rows)) == (10_000, 8_000, 50)
    table.filter = "params.alpha = '0.1' and metrics.rmse < 0.5"
    assert 0 < table.grid.total < 10_000
    table.grid.order_by = ["metrics.`rmse` DESC"]
    rows = table.grid.rows
    matched = [r for r in rows if not r.get("context")]
    assert all(r["p"]["alpha"] == "0.1" and r["m"]["rmse"] < 0.5 for r in matched)
    # each group placed by its own value, or a context parent by its best (first) child
    keys = [
        rows[i + 1]["m"]["rmse"] if r.get("context") else r["m"]["rmse"]
        for i, r in enumerate(rows)
        if r["depth"] == 0
    ]
    assert keys == sorted(keys, reverse=True)
    assert any(r.get("context") for r in rows)  # the parents of matching children
    table.filter = ""
    table.grid.order_by = []
    table.grid.page = 10_000
    assert table.grid.page == 8_000 // 50 - 1
    parent = next(r for r in table.grid.rows if r["children"])
    table.grid.expanded = [parent["id"]]
    assert sum(r["depth"] == 1 for r in table.grid.rows) == 20


@pytest.mark.parametrize(
    ("typed", "shown", "names_shown", "note", "error"),
    [
        ("rmse < 56", "metrics.rmse < 56", ["r0", "r1"], "Read rmse as metrics.rmse.", ""),
        (
            "alpha = '2' and rmse > 1",
            "params.alpha = '2' and metrics.rmse > 1",
            ["r2"],
            "Read alpha as params.alpha, rmse as metrics.rmse.",
            "",
        ),
        (
            "score > 0",
            "score > 0",
            None,
            "",
            "'score' is the name of several keys: write metrics.score or params.score",
        ),
        ("rmsee < 3", "rmsee < 3", None, "", "no key named 'rmsee'; did you mean metrics.rmse?"),
        ("status = 'FINISHED' and tags.x = 'rmse < 1'", None, None, "", ""),
    ],
)
def test_bare_keys_resolved_or_suggested(keyed, typed, shown, names_shown, note, error):
    table = show_runs(live=False)
    table.filter = typed
    assert table.grid.filter == (shown or typed)
    assert table.grid.filter_note == note
    assert table.filter_error == error
    if names_shown is not None:
        assert sorted(names(table)) == names_shown  # runs made in one ms: any order


def test_placeholder_uses_the_experiments_keys(keyed):
    table = show_runs(live=False)
    assert table.grid.placeholder.startswith("Filter: metrics.")
    assert "params." in table.grid.placeholder and "rmse < 1" not in table.grid.placeholder
    search.runs_query(table.grid.placeholder.removeprefix("Filter: "), [])  # it parses


def test_failed_rows_carry_their_exception_line():
    nbtrack.set_experiment("failing")
    with nbtrack.start_run(run_name="ok"):
        pass
    run = nbtrack.start_run(run_name="broken")
    nbtrack.log_text(
        "Traceback (most recent call last):\n  File ...\nValueError: alpha < 0\n", "traceback.txt"
    )
    nbtrack.end_run("FAILED")
    table = show_runs(live=False)
    errors = {r["name"]: r["error"] for r in table.grid.rows}
    assert errors == {"ok": "", "broken": "ValueError: alpha < 0"}
    assert run.info.run_id in [r["id"] for r in table.grid.rows]


def test_timing_metrics_after_the_scores():
    nbtrack.set_experiment("timed")
    for i in range(2):
        with nbtrack.start_run():
            nbtrack.log_metrics({"mean_fit_time": i, "a_time": i, "mean_test_score": i / 2})
    table = show_runs(live=False)
    metrics = [c["key"] for c in table.grid.columns if c["group"] == "metrics"]
    assert metrics == ["mean_test_score", "a_time", "mean_fit_time"]
    assert table.grid.placeholder.startswith("Filter: metrics.mean_test_score <")


def test_export_every_shown_run_as_csv(keyed, tmp_path):
    import pandas as pd

    table = show_runs(live=False, page_size=1)
    table.filter = "metrics.rmse > 52"
    table.grid.order_by = ["metrics.rmse DESC"]
    path = tmp_path / "runs.csv"
    assert table.to_csv(str(path)) is None
    frame = pd.read_csv(path)
    assert list(frame["tags.mlflow.runName"]) == ["r2", "r1"]  # all pages, in the sort
    assert list(frame["metrics.rmse"]) == [60.0, 55.0]
    assert table.to_csv().splitlines()[0].startswith("run_id,")


def test_experiment_switcher(keyed):
    other = nbtrack.set_experiment("other").experiment_id
    with nbtrack.start_run(run_name="elsewhere"):
        pass
    table = show_runs("keyed", live=False)
    names_of = [name for _, name in table.grid.experiment_choices]
    assert names_of == sorted(names_of) and {"other", "keyed"} <= set(names_of)
    keyed_id = table.experiment_id
    assert table.grid.experiment == keyed_id and sorted(names(table)) == ["r0", "r1", "r2"]
    table.selected_run_ids = [table.grid.rows[0]["id"]]
    table.experiment_id = other
    assert names(table) == ["elsewhere"] and table.selected_run_ids == []
    table.grid.experiment = keyed_id
    assert sorted(names(table)) == ["r0", "r1", "r2"]


def test_experiment_switcher_only_for_one_experiment(keyed):
    table = show_runs("*", live=False)
    assert table.grid.experiment == "" and table.grid.experiment_choices == []
    with pytest.raises(InvalidParameter, match="fixed set of runs"):
        table.experiment_id = "0"


def test_column_choices_are_remembered_with_the_experiment(keyed):
    table = show_runs("keyed", live=False)
    assert table.grid.column_prefs == {}
    table.grid.column_prefs = {"hidden": ["params.score"], "pinned": ["params.alpha"]}
    experiment = nbtrack.MlflowClient().get_experiment(table.experiment_id)
    assert json.loads(experiment.tags["nbtrack.panel.columns"]) == {
        "hidden": ["params.score"],
        "pinned": ["params.alpha"],
    }
    again = show_runs("keyed", live=False)  # a new table of the experiment: same choices
    assert again.grid.column_prefs == {"hidden": ["params.score"], "pinned": ["params.alpha"]}
    other = nbtrack.set_experiment("other").experiment_id
    again.experiment_id = other
    assert again.grid.column_prefs == {}  # each experiment keeps its own


def test_damaged_column_choices_are_ignored(keyed):
    client = nbtrack.MlflowClient()
    experiment_id = client.get_experiment_by_name("keyed").experiment_id
    client.set_experiment_tag(experiment_id, "nbtrack.panel.columns", "{not json")
    assert show_runs("keyed", live=False).grid.column_prefs == {}
    client.set_experiment_tag(experiment_id, "nbtrack.panel.columns", '{"hidden": [1, "a"]}')
    assert show_runs("keyed", live=False).grid.column_prefs == {"hidden": ["a"]}
