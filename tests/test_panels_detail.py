"""The run detail panel (nbtrack.panels.RunDetail): every section of one run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.errors import RunNotFound
from nbtrack.panels import show_run
from nbtrack.panels.run_detail import TABS


@pytest.fixture
def run_id(tmp_path):
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\x00\x01" * 600)
    with nbtrack.start_run(run_name="detailed", description="a run to look at") as run:
        nbtrack.log_params({"alpha": 0.5, "solver": "saga"})
        for step in range(4):
            nbtrack.log_metric("loss", 1 / (step + 1), step=step)
        nbtrack.log_metric("acc", 0.75)
        nbtrack.set_tag("owner", "ana")
        nbtrack.log_text("print('hello')\n", "cell.py")
        nbtrack.log_dict({"a": 1}, "config/params.yaml")
        nbtrack.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "plots/blank.png")
        nbtrack.log_artifact(str(binary))
        frame = pd.DataFrame({"x": [1.0, 2.0]})
        nbtrack.log_input(nbtrack.data.from_pandas(frame, name="train-set"), context="training")
    return run.info.run_id


def test_header_and_overview(run_id):
    detail = show_run(run_id, live=False)
    assert "detailed" in detail.header.value and "FINISHED" in detail.header.value
    assert "a run to look at" in detail.header.value
    overview = detail.overview.value
    for text in ("alpha", "0.5", "saga", "acc", "0.75", "owner", "ana"):
        assert text in overview
    assert "mlflow.runName" not in overview  # system tags stay out of the tag table


def test_metric_history_chart(run_id):
    detail = show_run(run_id, live=False)
    assert detail.metric_choice.options == ("loss",)  # acc, logged once, is no chart
    assert "Logged once" in detail.logged_once.value and "0.75" in detail.logged_once.value
    (series,) = detail.figure.data["series"]
    assert series["x"] == [0, 1, 2, 3]
    assert series["y"] == pytest.approx([1, 0.5, 1 / 3, 0.25])
    assert detail.figure.chart_layout["y_title"] == "loss"


def test_artifacts_are_a_tree_each_file_once(run_id):
    detail = show_run(run_id, live=False)
    tree = detail.artifact_tree
    assert sorted(tree.files) == [
        "cell.py",
        "config/params.yaml",
        "plots/blank.png",
        "weights.bin",
    ]  # each file once (not a list plus previews)
    assert {e["path"]: e["size"] for e in tree.entries}["weights.bin"] == 1200
    assert detail.tabs.children[TABS.index("Artifacts")] is tree
    assert "print(&#x27;hello&#x27;)" in detail.source.value  # the captured cell source
    html = detail.static_html()  # a saved notebook lists the tree with sizes
    assert "<b>config/</b>" in html and "1.2 KiB" in html
    assert "artifacts: 4 files" in detail.static_text()


def test_inputs_and_missing_model(run_id):
    detail = show_run(run_id, live=False)
    inputs = detail.inputs.value
    assert "train-set" in inputs and "training" in inputs
    assert "x: double" in inputs and ">2</td>" in inputs  # columns and rows, read
    assert "mlflow_colspec" not in inputs and "{&quot;" not in inputs  # no raw JSON
    assert "No model logged" in detail.model.value


def test_logged_model_and_signature():
    from sklearn.linear_model import LinearRegression

    import nbtrack.sklearn

    frame = pd.DataFrame({"x1": [1.0, 2.0, 3.0], "x2": [0.0, 1.0, 0.0]})
    with nbtrack.start_run() as run:
        model = LinearRegression().fit(frame, [1.0, 2.0, 3.0])
        nbtrack.sklearn.log_model(model, name="model", input_example=frame)
    detail = show_run(run.info.run_id, live=False)
    html = detail.model.value
    assert "Model: model" in html and "sklearn" in html
    assert "Signature inputs" in html and "x1" in html and "double" in html


def test_static_renderings(run_id):
    detail = show_run(run_id, live=False)
    bundle = detail._repr_mimebundle_()
    assert "alpha" in bundle["text/html"]
    text = bundle["text/plain"]
    assert text.startswith("Run detailed") and "alpha = 0.5" in text and "loss = 0.25" in text


def test_unknown_run():
    with pytest.raises(RunNotFound):
        show_run("0" * 32, live=False)


def test_single_step_metrics_are_values_not_dots():
    with nbtrack.start_run() as run:
        nbtrack.log_metrics({"accuracy": 0.93, "f1": 0.9})
    detail = show_run(run.info.run_id, live=False)
    assert detail.metric_choice.options == () and detail.figure is None
    assert detail.metric_choice.layout.display == "none"
    assert "logged once" in detail.no_charts.value
    assert "accuracy" in detail.logged_once.value and "0.93" in detail.logged_once.value


def test_failed_run_shows_its_error_first():
    run = nbtrack.start_run(run_name="broken")
    nbtrack.log_param("alpha", -1)
    nbtrack.log_text(
        "Traceback (most recent call last):\n  File x\nValueError: alpha < 0\n", "traceback.txt"
    )
    nbtrack.end_run("FAILED")
    detail = show_run(run.info.run_id, live=False)
    overview = detail.overview.value
    assert overview.startswith('<div class="nbtrack-failure"')
    assert "ValueError: alpha &lt; 0" in overview and "Traceback" in overview
    assert overview.index("nbtrack-failure") < overview.index("Parameters")
    assert "error: ValueError: alpha < 0" in detail.static_text()
    assert "nbtrack-failure" in detail.static_html()
    with pytest.raises(ValueError), nbtrack.start_run(run_name="raised") as raised:
        raise ValueError("no traceback stored by a with block")
    assert "without storing a traceback" in show_run(raised.info.run_id, live=False).overview.value


def test_registered_versions_listed_and_opened():
    from sklearn.linear_model import LinearRegression

    import nbtrack.sklearn

    with nbtrack.start_run() as run:
        model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
        nbtrack.sklearn.log_model(model, name="model", registered_model_name="lin")
    client = nbtrack.MlflowClient()
    client.set_registered_model_alias("lin", "champion", "1")
    detail = show_run(run.info.run_id, live=False)
    buttons = detail.versions_box.children[1].children
    assert [b.description for b in buttons] == ["lin version 1 @champion"]
    buttons[0].click()
    assert detail.registry is not None and detail.registry.model == "lin"
    assert detail.registry.version.version == "1"
    with nbtrack.start_run() as bare:
        pass
    empty = show_run(bare.info.run_id, live=False)
    assert "No model of this run is registered" in empty.versions_box.children[0].value


def test_edit_tab_renames_notes_tags_untags_deletes_and_restores(run_id):
    detail = show_run(run_id, live=False)
    editor = detail.editor
    assert editor.name.value == "detailed" and editor.note.value == "a run to look at"
    editor.name.value = "renamed"
    editor.note.value = "better than the baseline"
    editor.tag_key.value, editor.tag_value.value = "stage", "review"
    for button in ("Rename", "Save note", "Set tag"):
        next(
            b
            for row in editor.children[:3]
            for b in row.children
            if getattr(b, "description", "") == button
        ).click()
    run = nbtrack.MlflowClient().get_run(run_id)
    assert run.info.run_name == "renamed"
    assert run.data.tags["mlflow.note.content"] == "better than the baseline"
    assert run.data.tags["stage"] == "review"
    assert "renamed" in detail.header.value and "better than the baseline" in detail.header.value
    editor.tag_key.value = "stage"
    next(b for b in editor.children[2].children if b.description == "Delete tag").click()
    assert "stage" not in nbtrack.MlflowClient().get_run(run_id).data.tags
    assert "tag stage deleted" in editor.status.value
    editor.delete_button.click()
    assert nbtrack.MlflowClient().get_run(run_id).info.lifecycle_stage == "deleted"
    assert editor.delete_button.description == "Restore run" and "deleted" in detail.header.value
    editor.delete_button.click()
    assert nbtrack.MlflowClient().get_run(run_id).info.lifecycle_stage == "active"


def test_edit_tab_reports_a_refused_tag(run_id):
    detail = show_run(run_id, live=False)
    detail.editor.tag_key.value = ""
    next(
        b for b in detail.editor.children[2].children if getattr(b, "description", "") == "Set tag"
    ).click()
    assert "Not changed" in detail.editor.status.value
    assert nbtrack.MlflowClient().get_run(run_id).data.tags.get("") is None
    detail.editor.tag_key.value = "never-set"
    next(b for b in detail.editor.children[2].children if b.description == "Delete tag").click()
    assert "Not changed" in detail.editor.status.value and "never-set" in detail.editor.status.value


def test_chart_overlay_time_axis_log_scale_and_smoothing():
    from nbtrack.entities import Metric

    with nbtrack.start_run() as run:
        client = nbtrack.MlflowClient()
        for step in range(4):
            client.log_batch(
                run.info.run_id,
                metrics=[
                    Metric("loss", 10.0**-step, 1_000 + 500 * step, step),
                    Metric("val_loss", 2 * 10.0**-step, 1_000 + 500 * step, step),
                ],
            )
    detail = show_run(run.info.run_id, live=False)
    options = detail.chart_options
    assert detail.metric_choice.value == "loss" and options.overlay.options == ("val_loss",)
    options.overlay.value = ("val_loss",)
    names = [s["name"] for s in detail.figure.data["series"]]
    assert names == ["loss", "val_loss"] and detail.figure.chart_layout["y_title"] == "value"
    options.x_axis.value = "relative"
    assert detail.figure.data["series"][0]["x"] == [0.0, 0.5, 1.0, 1.5]
    assert detail.figure.chart_layout["x_title"] == "seconds since the first point"
    options.log_scale.value = True
    assert detail.figure.chart_layout["y_log"] is True
    options.smoothing.value = 0.5
    smoothed = detail.figure.data["series"][0]["y"]
    assert smoothed[0] == pytest.approx(1.0) and smoothed[1] > 0.1  # pulled toward the past


@pytest.mark.parametrize(
    ("values", "weight", "expected"),
    [
        ([1.0, 1.0, 1.0], 0.9, [1.0, 1.0, 1.0]),  # bias-corrected: a constant stays put
        ([0.0, 2.0], 0.5, [0.0, 4 / 3]),
        ([1.0, float("nan"), 1.0], 0.5, [1.0, float("nan"), 1.0]),
    ],
)
def test_smoothing_is_a_bias_corrected_moving_average(values, weight, expected):
    from nbtrack.panels.chart_options import smooth

    assert smooth(values, weight) == pytest.approx(expected, nan_ok=True)
