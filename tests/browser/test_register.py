"""The seed workflow in a real JupyterLab: sweep → brush → best run → register → alias → card.

A parent run holds five children, each logging a fitted model and its accuracy. In the
sweep's parallel coordinates the test brushes the top of the accuracy axis with the
mouse, the linked run table narrows to the best run, its "register" chip opens the
register form, a new model name is typed and registered, the registry browser opens on
the new version, an alias is set and confirmed, and the model card names the version.
Each step is checked in the DOM and the kernel; screenshots go to tests/artifacts/browser.
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

SETUP = """\
import numpy as np
from sklearn.linear_model import LogisticRegression
import nbtrack, nbtrack.sklearn
nbtrack.set_experiment("seed-workflow")
x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
with nbtrack.start_run(run_name="search") as parent:
    for i, c in enumerate((0.01, 0.1, 1.0, 10.0, 100.0)):
        with nbtrack.start_run(run_name=f"C={c}", nested=True):
            nbtrack.log_param("C", c)
            nbtrack.log_metric("accuracy", [0.71, 0.78, 0.93, 0.85, 0.8][i])
            nbtrack.sklearn.log_model(LogisticRegression(C=c).fit(x, y), name="model")
best = nbtrack.search_runs(filter_string="metrics.accuracy > 0.9").iloc[0]["run_id"]
"""
GRID = """\
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier
nbtrack.sklearn.autolog(log_models=False)
X, Y = load_iris(return_X_y=True)
with nbtrack.start_run(run_name="grid") as grid_run:
    space = {"max_depth": [1, 2, 3], "min_samples_leaf": [1, 5]}
    GridSearchCV(DecisionTreeClassifier(random_state=0), space, cv=3).fit(X, Y)
nbtrack.sklearn.autolog(disable=True)
grid = nbtrack.show_sweep(grid_run.info.run_id)
grid
"""
CELLS = [
    new_code_cell(SETUP),
    new_code_cell("sweep = nbtrack.show_sweep(parent.info.run_id)\nsweep"),
    new_code_cell(GRID),
]
SWEEP = 1


def test_sweep_brush_register_alias_card(open_notebook, artifacts_dir: Path):
    nb = open_notebook(new_notebook(cells=CELLS), "register.ipynb")
    assert nb.run_all(timeout=240), nb.errors()
    nb.wait_widgets_rendered()
    sweep = nb.output(SWEEP)
    sweep.locator(".nbc-parcoords .nbc-run").first.wait_for(state="attached", timeout=30_000)

    # Brush the top of the accuracy axis (the last one): only the best run stays.
    hit = sweep.locator(".nbc-brush-hit[data-label='accuracy']")
    hit.scroll_into_view_if_needed()
    box = hit.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] / 2
    nb.page.mouse.move(x, box["y"] + 1)
    nb.page.mouse.down()
    nb.page.mouse.move(x, box["y"] + box["height"] * 0.25, steps=8)
    nb.page.mouse.up()
    sweep.locator(".nbt-count", has_text="1 run").wait_for(timeout=30_000)
    assert nb.append_and_run("print(sweep.selected_run_ids == [best])") == "True"
    linked = sweep.locator(".nbt-runs")
    assert linked.locator("tbody tr[data-id] .nbt-name").all_inner_texts() == ["C=1.0"]

    # The best run's "register" chip opens the form; a new name registers version 1.
    linked.locator("tbody tr[data-id] .nbt-register").click()
    form = sweep.locator(".nbtrack-register")
    form.wait_for(timeout=30_000)
    form.locator(".nbtrack-register-name input").fill("iris-best")
    form.get_by_text("A new registered model").wait_for(timeout=30_000)
    form.locator(".nbtrack-register-button").click()
    form.get_by_text("Registered iris-best version 1").wait_for(timeout=30_000)
    assert (
        nb.append_and_run(
            "v = nbtrack.MlflowClient().get_model_version('iris-best', '1')\n"
            "print(v.run_id == best)"
        )
        == "True"
    )

    # The registry browser below shows the new version: set @champion, confirm.
    registry = form.locator(".nbtrack-panel").last
    form.get_by_text("iris-best - version 1").first.wait_for(timeout=30_000)
    registry.locator("input[placeholder^='alias']").fill("champion")
    registry.locator("button", has_text="Set alias").click()
    registry.locator("button", has_text="Confirm").click()
    form.get_by_text("Done: @champion").wait_for(timeout=30_000)
    assert "@champion" in registry.locator("select").nth(1).inner_text()
    assert (
        nb.append_and_run("print(nbtrack.MlflowClient().get_registered_model('iris-best').aliases)")
        == "{'champion': '1'}"
    )

    # A GridSearchCV sweep: no timing axes, lines coloured by the search's mean_test_score.
    grid = nb.output(SWEEP + 1)
    grid.locator(".nbc-parcoords .nbc-run").first.wait_for(state="attached", timeout=30_000)
    labels = [
        grid.locator(".nbc-pc-axis").nth(i).get_attribute("data-label")
        for i in range(grid.locator(".nbc-pc-axis").count())
    ]
    assert labels and not [label for label in labels if label.endswith("_time")], labels
    assert {"max_depth", "min_samples_leaf", "mean_test_score"} <= set(labels)
    assert "mean_test_score" in grid.locator(".nbc-colorbar").text_content()
    assert grid.locator("select").first.input_value() == "mean_test_score"

    nb.wait_widgets_rendered()
    sweep.scroll_into_view_if_needed()
    nb.screenshot_outputs(artifacts_dir, "register", cells=[SWEEP, SWEEP + 1])
    form.screenshot(path=str(artifacts_dir / "register-form-and-card.png"))
    nb.assert_no_errors()
