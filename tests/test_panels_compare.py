"""The compare panel (nbtrack.panels.CompareRuns): params, histories, latest values."""

from __future__ import annotations

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter, RunNotFound
from nbtrack.panels import compare_runs, plots


@pytest.fixture
def run_ids():
    ids = []
    for i, (c, kernel) in enumerate([(1.0, "rbf"), (10.0, "rbf"), (10.0, "linear")]):
        with nbtrack.start_run(run_name=f"svm-{i}") as run:
            nbtrack.log_params(
                {
                    "memory": "None",
                    "svc__C": c,
                    "svc__kernel": kernel,
                    "scaler__with_mean": True,
                    "seed": i,
                }
            )
            for step in range(3):
                nbtrack.log_metric("loss", (3 - step) / (i + 1), step=step)
            nbtrack.log_metric("acc", 0.7 + i / 10)
        ids.append(run.info.run_id)
    return ids


def test_params_differences_and_pipeline_steps(run_ids):
    panel = compare_runs(run_ids, live=False)
    assert panel.differing_params() == ["seed", "svc__C", "svc__kernel"]
    assert panel.param_groups() == {
        "": ["memory", "seed"],
        "scaler": ["scaler__with_mean"],
        "svc": ["svc__C", "svc__kernel"],
    }
    titles = [box.get_title(0) for box in panel.steps.children]
    assert titles == ["scaler: 1 param, 0 differ", "svc: 2 params, 2 differ"]
    assert "background:#fff3bf" in panel.params.value  # the differing seed is highlighted
    assert "memory" in panel.params.value


def test_differences_only_toggle(run_ids):
    panel = compare_runs(run_ids, live=False)
    panel.differences_only.value = True
    assert "memory" not in panel.params.value and "seed" in panel.params.value
    scaler = panel._step_tables["scaler"].value
    assert "Every run has the same values" in scaler
    panel.differences_only.value = False
    assert "memory" in panel.params.value


def test_overlaid_histories_and_bars(run_ids):
    panel = compare_runs(run_ids, live=False)
    assert panel.metric_choice.value == "loss"  # the first metric with a history
    series = panel.histories.data["series"]
    assert [s["name"] for s in series] == ["svm-0", "svm-1", "svm-2"]
    assert series[1]["y"] == pytest.approx([1.5, 1.0, 0.5])
    # acc, logged once per run, has no history to draw: named under the chart instead
    assert panel.metric_choice.options == ("loss",)
    assert "Logged once per run" in panel.logged_once.value and "acc" in panel.logged_once.value
    assert panel.bars.data["names"] == ["svm-0", "svm-1", "svm-2"]
    bars = {m["key"]: m["values"] for m in panel.bars.data["metrics"]}
    assert bars["acc"] == pytest.approx([0.7, 0.8, 0.9])
    assert bars["loss"] == pytest.approx([1.0, 0.5, 1 / 3])
    best = {m["key"]: m["best"] for m in panel.bars.data["metrics"]}
    assert best == {"acc": 2, "loss": 2}  # highest accuracy, lowest loss


def test_metrics_logged_once_are_values_not_dots():
    ids = []
    for i in range(2):
        with nbtrack.start_run() as run:
            nbtrack.log_metrics({"rmse": 55.47 + i / 100, "r2": 0.5})
        ids.append(run.info.run_id)
    panel = compare_runs(ids, live=False)
    assert panel.metric_choice.options == () and panel.histories is None
    assert panel.metric_choice.layout.display == "none"
    assert "r2, rmse" in panel.logged_once.value
    bars = {m["key"]: m["values"] for m in panel.bars.data["metrics"]}
    assert bars["rmse"] == pytest.approx([55.47, 55.48])


def test_same_names_are_told_apart():
    ids = []
    for _ in range(2):
        with nbtrack.start_run(run_name="same") as run:
            nbtrack.log_metric("m", 1)
        ids.append(run.info.run_id)
    panel = compare_runs(ids, live=False)
    assert panel.names[0] == "same" and panel.names[1].startswith("same (")


def test_refresh_follows_new_values(run_ids):
    panel = compare_runs(run_ids, live=False)
    nbtrack.MlflowClient().log_metric(run_ids[0], "acc", 0.99, step=5)
    panel.refresh()
    assert "0.99" in panel.metrics_table.value


def test_static_renderings(run_ids):
    panel = compare_runs(run_ids, live=False)
    bundle = panel._repr_mimebundle_()
    assert "svm-2" in bundle["text/html"] and "svc__kernel" in bundle["text/html"]
    text = bundle["text/plain"]
    assert "params.svc__kernel" in text and "params.memory" not in text  # differences only
    assert "metrics.acc" in text


@pytest.mark.parametrize(
    ("run_ids", "error"),
    [
        ([], InvalidParameter),  # nothing to compare
        ("abc", InvalidParameter),  # a string is not a list of ids
        (["0" * 32], RunNotFound),  # an unknown run
    ],
)
def test_bad_input(run_ids, error):
    with pytest.raises(error):
        compare_runs(run_ids, live=False)


@pytest.mark.parametrize(
    ("key", "values", "best"),
    [
        ("rmse", [55.47, 55.48, 55.70], 0),
        ("accuracy", [0.9, 0.95, float("nan")], 1),
        ("val_loss", [None, 0.3, 0.2], 2),
        ("rank_test_score", [3, 1, 2], 1),
        ("mean_fit_time", [0.2, 0.1, 0.3], 1),
        ("f1", [0.5, 0.5, 0.4], 0),
        ("r2", [None, float("nan")], None),
    ],
)
def test_best_value_per_metric(key, values, best):
    assert plots.best_index(key, values) == best


def test_param_against_metric_scatter():
    ids = []
    for i, (alpha, solver) in enumerate(((0.1, "saga"), (1.0, "lbfgs"), (10.0, "saga"))):
        with nbtrack.start_run(run_name=f"r{i}") as run:
            nbtrack.log_params({"alpha": alpha, "solver": solver, "same": 1})
            nbtrack.log_metric("rmse", 50.0 + i)
        ids.append(run.info.run_id)
    panel = compare_runs(ids, live=False)
    scatter = panel.scatter
    assert scatter.param_choice.options == ("alpha",)  # numeric and varying only
    assert scatter.metric_choice.value == "rmse"
    series = scatter.chart.data["series"]
    assert [(s["name"], s["x"], s["y"]) for s in series] == [
        ("r0", [0.1], [50.0]),
        ("r1", [1.0], [51.0]),
        ("r2", [10.0], [52.0]),
    ]
    assert scatter.chart.chart_layout["x_title"] == "alpha"


def test_no_scatter_without_a_numeric_varying_param():
    ids = []
    for solver in ("saga", "lbfgs"):
        with nbtrack.start_run() as run:
            nbtrack.log_params({"solver": solver, "alpha": 1})
            nbtrack.log_metric("rmse", 1.0)
        ids.append(run.info.run_id)
    panel = compare_runs(ids, live=False)
    assert panel.scatter.layout.display == "none" and panel.scatter.chart is None
