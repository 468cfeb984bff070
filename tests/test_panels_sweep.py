"""Parallel coordinates (nbtrack.panels.ParallelCoordinates): axes, colour, brushing."""

from __future__ import annotations

import base64
import json
import math
import re
from xml.etree import ElementTree

import pytest

import nbtrack
from nbtrack.entities import Metric, Param
from nbtrack.errors import InvalidParameter
from nbtrack.panels import ParallelCoordinates, show_sweep
from nbtrack.panels.sweep import search_score
from nbtrack.panels.sweep_axes import AXES_TAG, AxisPrefs, Candidate
from nbtrack.panels.sweep_svg import viridis


@pytest.fixture
def parent_id():
    """A grid over alpha (decades) x solver, one grandchild level for the CV folds."""
    with nbtrack.start_run(run_name="grid") as parent:
        for alpha in (0.001, 0.01, 0.1, 1.0, 10.0):
            for solver in ("saga", "lbfgs"):
                with nbtrack.start_run(run_name=f"{alpha}-{solver}", nested=True):
                    nbtrack.log_params({"alpha": alpha, "solver": solver, "tol": 0.001})
                    score = 0.9 - abs(math.log10(alpha)) / 10 + (solver == "saga") / 100
                    nbtrack.log_metrics({"score": score, "fit_time": alpha})
                    if alpha == 10.0 and solver == "saga":
                        with nbtrack.start_run(run_name="fold", nested=True):
                            nbtrack.log_params({"alpha": 5.0, "solver": "saga", "tol": 0.001})
                            nbtrack.log_metric("score", 0.5)
    return parent.info.run_id


def axes_of(panel: ParallelCoordinates) -> dict[str, object]:
    return {a.label: a for a in panel.axes}


def test_axes_varying_params_left_metrics_right(parent_id):
    panel = show_sweep(parent_id, live=False)
    labels = [axis["label"] for axis in panel.figure.data["axes"]]
    assert labels == ["alpha", "solver", "score"]  # tol is constant, fit_time a timing
    assert len(panel.run_ids) == 11  # children and the grandchild: all depths


def test_log_axis_for_a_param_spanning_decades(parent_id):
    panel = show_sweep(parent_id, live=False)
    alpha = axes_of(panel)["alpha"]
    assert alpha.kind == "param-log"
    axis = panel.figure.data["axes"][0]
    assert axis["scale"] == "log"  # the browser draws it on a log scale, in real values
    assert sorted(set(axis["values"])) == pytest.approx([0.001, 0.01, 0.1, 1, 5, 10])


def test_categorical_axis_with_labels(parent_id):
    panel = show_sweep(parent_id, live=False)
    solver = panel.figure.data["axes"][1]
    assert axes_of(panel)["solver"].kind == "param-category"
    assert solver["scale"] == "category" and solver["categories"] == ["lbfgs", "saga"]
    assert set(solver["values"]) == {0, 1}


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", "2", "3"], "param-number"),  # numbers within a decade: a linear axis
        (["0.001", "1", "100"], "param-log"),  # positive and spanning decades: log
        (["-1", "10", "1000"], "param-number"),  # a negative value: no log
        (["1", "two", "3"], "param-category"),  # any non-number: categories
        (["True", "False", "True"], "param-category"),  # booleans are categories
    ],
)
def test_axis_kinds(values, kind):
    client = nbtrack.MlflowClient()
    with nbtrack.start_run() as parent:
        pass
    exp = parent.info.experiment_id
    for value in values:
        run = client.create_run(exp, tags={"mlflow.parentRunId": parent.info.run_id})
        client.log_batch(
            run.info.run_id, params=[Param("p", value)], metrics=[Metric("m", 1.0, 0, 0)]
        )
    panel = show_sweep(parent.info.run_id, live=False)
    assert axes_of(panel)["p"].kind == kind


def test_colour_by_a_chosen_metric(parent_id):
    panel = show_sweep(parent_id, color_by="score", live=False, timings=True)
    assert panel.color_choice.value == "score" and panel.figure.color_by == "score"
    panel.color_choice.value = "fit_time"
    assert panel.figure.color_by == "fit_time"


def test_brushing_in_the_browser_selects_runs_and_filters_the_table(parent_id):
    panel = show_sweep(parent_id, live=False)
    assert panel.table.grid.total == 11
    # What the browser sets when a person brushes the alpha axis from 0.008 to 0.12
    panel.figure.set_state({"brushes": {"alpha": [[0.008, 0.12]]}})
    selected = panel.selected
    assert sorted(selected["params.alpha"]) == ["0.01", "0.01", "0.1", "0.1"]
    assert panel.table.grid.total == 4  # the linked table shows the runs inside the brush
    assert sorted(panel.selected_run_ids) == sorted(
        panel.table.content.rows[i]["id"] for i in range(4)
    )


def test_brush_from_python_in_real_units_and_several_axes(parent_id):
    panel = show_sweep(parent_id, live=False)
    panel.brush("alpha", 0.005, 0.5)  # log axis: real values
    panel.brush("solver", 0.5, 1.5)  # categorical: codes (saga = 1)
    names = sorted(panel.selected["tags.mlflow.runName"])
    assert names == ["0.01-saga", "0.1-saga"]
    assert panel.brushes == {"alpha": [[0.005, 0.5]], "solver": [[0.5, 1.5]]}  # data units
    panel.brush("solver")  # no bounds: that axis's brush goes
    assert panel.brushes == {"alpha": [[0.005, 0.5]]} and panel.table.grid.total == 4
    panel.clear_brushes()
    assert panel.brushes == {} and panel.table.grid.total == 11


def test_brushing_an_unknown_axis_names_the_axes(parent_id):
    panel = show_sweep(parent_id, live=False)
    with pytest.raises(InvalidParameter, match=r"no axis 'rmse'.*alpha, solver, score"):
        panel.brush("rmse", 0, 1)
    assert panel.brushes == {}


def test_refresh_keeps_brushes_and_adds_new_runs(parent_id):
    panel = show_sweep(parent_id, live=False)
    panel.brush("alpha", 0.005, 0.5)
    client = nbtrack.MlflowClient()
    run = client.create_run(panel.parent.info.experiment_id, tags={"mlflow.parentRunId": parent_id})
    client.log_batch(
        run.info.run_id,
        params=[Param("alpha", "0.05"), Param("solver", "saga")],
        metrics=[Metric("score", 0.95, 0, 0)],
    )
    panel.refresh()
    assert len(panel.run_ids) == 12
    assert "alpha" in panel.brushes
    assert run.info.run_id in panel.selected_run_ids


def test_static_renderings(parent_id):
    panel = show_sweep(parent_id, live=False)
    bundle = panel._repr_mimebundle_()
    assert "Sweep under grid" in bundle["text/html"] and "lbfgs" in bundle["text/html"]
    assert bundle["text/plain"].startswith("Sweep under grid: 11 runs")
    assert "0.001" in bundle["text/plain"]  # log axes show real values


@pytest.mark.slow
def test_two_thousand_children():
    client = nbtrack.MlflowClient()
    with nbtrack.start_run(run_name="big sweep") as parent:
        pass
    exp = parent.info.experiment_id
    for i in range(2000):
        run = client.create_run(exp, tags={"mlflow.parentRunId": parent.info.run_id})
        client.log_batch(
            run.info.run_id,
            params=[
                Param("lr", str(10 ** -(i % 5))),
                Param("depth", str(i % 7)),
                Param("act", ["relu", "tanh"][i % 2]),
            ],
            metrics=[Metric("loss", 1 / (1 + i), 0, 0), Metric("acc", (i % 100) / 100, 0, 0)],
        )
    panel = show_sweep(parent.info.run_id, live=False)
    axes = panel.figure.data["axes"]
    assert [a["label"] for a in axes] == ["act", "depth", "lr", "acc", "loss"]
    assert all(len(a["values"]) == 2000 for a in axes)
    panel.brush("depth", 2.5, 3.5)
    assert len(panel.selected_run_ids) == 2000 // 7 + (2000 % 7 > 3)


def test_timings_off_the_axes_unless_asked(parent_id):
    panel = show_sweep(parent_id, live=False)
    assert "fit_time" not in axes_of(panel) and panel.color_choice.options == ("score",)
    assert "fit_time" in axes_of(show_sweep(parent_id, live=False, timings=True))


@pytest.mark.parametrize(
    ("parent_params", "keys", "colour"),
    [
        ({}, ["mean_fit_time", "mean_test_score", "rank_test_score"], "mean_test_score"),
        ({}, ["mean_fit_time", "rank_test_score", "std_test_score"], "rank_test_score"),
        (
            {"refit": "f1", "scoring": "['acc', 'f1']"},
            ["mean_test_acc", "mean_test_f1"],
            "mean_test_f1",
        ),
        ({"scoring": "accuracy"}, ["accuracy", "loss"], "accuracy"),
        ({}, ["fit_time", "loss"], "loss"),
        ({}, ["fit_time"], "fit_time"),
        ({}, [], None),
    ],
)
def test_search_score_colours_the_lines(parent_params, keys, colour):
    assert search_score(parent_params, keys) == colour


@pytest.mark.slow
def test_grid_search_sweep_axes_and_colour():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    import nbtrack.sklearn

    x, y = load_iris(return_X_y=True)
    nbtrack.sklearn.autolog(log_models=False)
    try:
        with nbtrack.start_run() as parent:
            grid = {"max_depth": [1, 2, 3], "min_samples_leaf": [1, 5]}
            GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=3).fit(x, y)
    finally:
        nbtrack.sklearn.autolog(disable=True)
    panel = show_sweep(parent.info.run_id, live=False)
    labels = [a.label for a in panel.axes]
    assert not [label for label in labels if label.endswith("_time")], labels
    assert {"max_depth", "min_samples_leaf", "mean_test_score"} <= set(labels)
    assert panel.color_choice.value == "mean_test_score"
    assert panel.figure.color_by == "mean_test_score"


def test_axis_chooser_offers_params_metrics_and_timings(parent_id):
    panel = show_sweep(parent_id, live=False)
    boxes = panel.chooser._boxes
    assert list(boxes) == ["params.alpha", "params.solver", "metrics.fit_time", "metrics.score"]
    assert {k for k, box in boxes.items() if box.value} == {
        "params.alpha",
        "params.solver",
        "metrics.score",
    }
    assert panel.chooser.button.description == "Axes (3 of 4)"


def test_ticking_a_timing_adds_its_axis_and_is_remembered_per_experiment(parent_id):
    panel = show_sweep(parent_id, live=False)
    panel.chooser._boxes["metrics.fit_time"].value = True  # as a click in the browser
    panel.chooser._boxes["params.solver"].value = False
    assert [a.label for a in panel.axes] == ["alpha", "fit_time", "score"]
    assert "fit_time" in panel.color_choice.options
    exp = nbtrack.MlflowClient().get_run(parent_id).info.experiment_id
    tag = nbtrack.MlflowClient().get_experiment(exp).tags["nbtrack.panel.sweep_axes"]
    assert json.loads(tag) == {"shown": ["metrics.fit_time"], "hidden": ["params.solver"]}
    again = show_sweep(parent_id, live=False)  # another sweep of the experiment
    assert again.axis_keys == ["params.alpha", "metrics.fit_time", "metrics.score"]
    assert again.chooser._boxes["metrics.fit_time"].value


def test_set_axis_from_python_and_an_unknown_key(parent_id):
    panel = show_sweep(parent_id, live=False)
    panel.brush("score", 0.6, 1.0)
    panel.set_axis("metrics.score", shown=False)
    assert "score" not in axes_of(panel) and panel.brushes == {}  # its brush went with it
    panel.set_axis("metrics.score")
    assert "score" in axes_of(panel)
    with pytest.raises(InvalidParameter, match=r"no varying param or metric 'tol'.*params\.alpha"):
        panel.set_axis("tol")


@pytest.mark.parametrize(
    "stored",
    [
        "not json",  # damaged by hand
        '["metrics.fit_time"]',  # not an object
        '{"shown": "metrics.fit_time", "hidden": [1]}',  # wrong types inside
    ],
)
def test_damaged_axis_choices_count_as_none(parent_id, stored):
    client = nbtrack.MlflowClient()
    client.set_experiment_tag(client.get_run(parent_id).info.experiment_id, AXES_TAG, stored)
    assert show_sweep(parent_id, live=False).axis_keys == [
        "params.alpha",
        "params.solver",
        "metrics.score",
    ]


def test_choices_about_other_keys_are_kept():
    prefs = AxisPrefs(shown=("metrics.other_time",), hidden=("params.seed",))
    mine = [Candidate("params.alpha", "alpha", True), Candidate("metrics.t_time", "t_time", False)]
    chosen = prefs.choose(mine, {"metrics.t_time"})
    assert chosen == AxisPrefs(
        shown=("metrics.other_time", "metrics.t_time"), hidden=("params.seed", "params.alpha")
    )


def test_reset_button_clears_the_brushes(parent_id):
    panel = show_sweep(parent_id, live=False)
    panel.brush("score", 0.85, 1.0)
    assert len(panel.table.grid.rows) < 11
    panel.reset_button.click()
    assert panel.brushes == {} and panel.table.content.total == 11


def test_static_html_holds_a_chart_drawn_without_javascript(parent_id):
    panel = show_sweep(parent_id, live=False)
    html = panel._repr_mimebundle_()["text/html"]
    assert "<script" not in html
    found = re.search(
        r'<img alt="Parallel coordinates of 11 runs" src="data:image/svg\+xml;base64,([^"]+)"', html
    )
    assert found is not None
    svg = ElementTree.fromstring(base64.b64decode(found.group(1)))  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    paths = list(svg.iter(f"{ns}path"))
    assert len(paths) == 11 and all(p.get("d", "").startswith("M") for p in paths)
    texts = [t.text for t in svg.iter(f"{ns}text")]
    assert {"alpha", "solver", "score", "saga", "lbfgs", "0.001", "10"} <= set(texts)
    colours = {p.get("stroke") for p in paths}
    assert len(colours) > 3  # coloured by score on the viridis scale


@pytest.mark.parametrize(
    ("value", "colour"),
    [(0.0, "#440154"), (1.0, "#fde725"), (0.5, "#21918c"), (-3.0, "#440154")],
)
def test_static_colour_scale_is_the_live_charts(value, colour):
    assert viridis(value) == colour
