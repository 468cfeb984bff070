"""The sweep and the registry browser in a real JupyterLab, used as a person would.

Sweep (a GridSearchCV over C in decades, so C gets a log axis): the Axes chooser adds a
timing metric and the choice lands in the experiment's tag; hovering a line names its
run; a mouse brush on the log axis comes back to Python in real C values; the linked run
table opens a run's detail from its name, has Compare and no "Nest child runs" box; Reset
brushes clears them; tick labels sit on their backing boxes. The saved notebook's static
form holds the chart as an image that an exported HTML page (no kernel, no widget code)
draws.

Registry browser: a version's source run link opens the run detail below; Serve starts a
real server process whose URL and curl command are shown, the test POSTs the shown body to
the shown URL and gets predictions, then Stop serving ends the process.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
import nbtrack, nbtrack.sklearn
nbtrack.set_experiment("sweep-and-registry")
X, Y = load_iris(return_X_y=True, as_frame=True)
nbtrack.sklearn.autolog(log_models=False)
with nbtrack.start_run(run_name="grid") as grid_run:
    space = {"C": [0.01, 0.1, 1.0, 10.0, 100.0], "fit_intercept": [True, False]}
    GridSearchCV(LogisticRegression(max_iter=500), space, cv=3).fit(X, Y)
nbtrack.sklearn.autolog(disable=True)
with nbtrack.start_run(run_name="iris-model") as model_run:
    nbtrack.log_metric("accuracy", 0.97)
    nbtrack.sklearn.log_model(
        LogisticRegression(max_iter=500).fit(X, Y), name="model",
        registered_model_name="iris", input_example=X.head(2),
    )
"""
CELLS = [
    new_code_cell(SETUP),
    new_code_cell("sweep = nbtrack.show_sweep(grid_run.info.run_id)\nsweep"),
    new_code_cell("registry = nbtrack.show_registry(model='iris')\nregistry"),
]
SWEEP, REGISTRY = 1, 2


def axis_labels(sweep) -> list[str]:
    axes = sweep.locator(".nbc-pc-axis")
    return [axes.nth(i).get_attribute("data-label") or "" for i in range(axes.count())]


def drag(nb, hit, start: float, end: float) -> None:
    """Drag down an axis's brush area from ``start`` to ``end`` (fractions of its height)."""
    hit.scroll_into_view_if_needed()
    box = hit.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] / 2
    nb.page.mouse.move(x, box["y"] + box["height"] * start)
    nb.page.mouse.down()
    nb.page.mouse.move(x, box["y"] + box["height"] * end, steps=8)
    nb.page.mouse.up()


def test_sweep_axes_hover_brush_table_and_static_form(open_notebook, artifacts_dir: Path):
    nb = open_notebook(new_notebook(cells=CELLS), "sweep-registry.ipynb")
    assert nb.run_all(timeout=240), nb.errors()
    nb.wait_widgets_rendered()
    sweep = nb.output(SWEEP)
    sweep.locator(".nbc-parcoords .nbc-run").first.wait_for(state="attached", timeout=30_000)
    assert sweep.locator(".nbc-run").count() == 10
    labels = axis_labels(sweep)
    assert {"C", "fit_intercept", "mean_test_score"} <= set(labels), labels
    assert not [label for label in labels if label.endswith("_time")], labels

    # The Axes chooser: tick a timing metric, its axis appears, the choice is stored.
    chooser = sweep.locator(".nbtrack-sweep-axes-button")
    assert re.fullmatch(r"Axes \(\d+ of \d+\)", chooser.inner_text().strip())
    chooser.click()
    boxes = sweep.locator(".nbtrack-sweep-axes")
    boxes.wait_for(timeout=30_000)
    assert "Timings" in boxes.inner_text()
    boxes.locator(".widget-checkbox", has_text="mean_fit_time").locator("input").check()
    sweep.locator(".nbc-pc-axis[data-label='mean_fit_time']").wait_for(timeout=30_000)
    sweep.screenshot(path=str(artifacts_dir / "sweep-registry-axes.png"))
    assert (
        nb.append_and_run(
            "import json\n"
            "exp = nbtrack.MlflowClient().get_experiment(grid_run.info.experiment_id)\n"
            "print(json.loads(exp.tags['nbtrack.panel.sweep_axes'])['shown'])"
        )
        == "['metrics.mean_fit_time']"
    )
    chooser.click()  # folded away again

    # Hover: the tooltip names the run under the pointer.
    line = sweep.locator(".nbc-run").first
    line.scroll_into_view_if_needed()
    point = line.evaluate(  # a point of the line that no axis's brush area covers
        """p => { const m = p.getScreenCTM();
                  for (let f = 0.05; f < 1; f += 0.05) {
                    const at = p.getPointAtLength(p.getTotalLength() * f);
                    const x = at.x * m.a + m.e, y = at.y * m.d + m.f;
                    if (document.elementFromPoint(x, y) === p) return [x, y];
                  }
                  return null; }"""
    )
    assert point is not None
    nb.page.mouse.move(point[0], point[1])
    tip = sweep.locator(".nbc-tip")
    tip.wait_for(state="visible", timeout=10_000)
    names = json.loads(
        nb.append_and_run("print(json.dumps(sweep.selected['tags.mlflow.runName'].tolist()))")
    )
    assert tip.locator("b").first.inner_text() in names
    nb.page.mouse.move(0, 0)

    # A brush on the log axis C, dragged over its top half, reads in C's own values.
    drag(nb, sweep.locator(".nbc-brush-hit[data-label='C']"), 0.01, 0.45)
    low, high = json.loads(nb.append_and_run("print(json.dumps(sweep.brushes['C'][0]))"))
    assert 0.3 < low < 10 and high > 50, (low, high)  # log10 units would be about 0..2
    selected = int(nb.append_and_run("print(len(sweep.selected_run_ids))"))
    assert 0 < selected < 10
    sweep.locator(".nbt-count", has_text=f"{selected} run").wait_for(timeout=30_000)
    linked = sweep.locator(".nbt-runs")
    assert linked.locator("button", has_text="Compare").count() == 1
    assert not linked.get_by_text("Nest child runs").is_visible()
    assert sweep.locator(".nbc-tick-bg").count() > 10  # tick labels on their boxes
    nb.screenshot_outputs(artifacts_dir, "sweep-registry", cells=[SWEEP])

    # A run's name in the linked table opens its detail below the table.
    first = linked.locator("tbody tr[data-id] .nbt-name").first
    name = first.inner_text().strip()
    first.click()
    sweep.locator(".nbtrack-subpanel .nbtrack-panel", has_text=name).first.wait_for(timeout=30_000)

    # Reset brushes: every run is back, in the chart and in Python.
    sweep.locator("button", has_text="Reset brushes").click()
    sweep.locator(".nbt-count", has_text="10 runs").wait_for(timeout=30_000)
    assert nb.append_and_run("print(sweep.brushes)") == "{}"

    # The saved notebook's static form: an exported HTML page draws the chart (no JS).
    nb.page.evaluate("() => window.__nbPanel.context.save()")
    saved = nbformat.read(nb.lab.root_dir / nb.relpath, as_version=4)
    html = next(
        o["data"]["text/html"]
        for o in saved.cells[SWEEP].outputs
        if "text/html" in o.get("data", {})
    )
    assert "<script" not in html and 'src="data:image/svg+xml;base64,' in html
    page = nb.page.context.new_page()
    try:
        page.set_content(f"<html><body>{html}</body></html>")
        image = page.locator("img[alt^='Parallel coordinates']")
        assert image.evaluate("i => i.complete && i.naturalWidth") > 600
        image.screenshot(path=str(artifacts_dir / "sweep-registry-static.png"))
    finally:
        page.close()
    nb.assert_no_errors()

    # The same notebook as someone else opens it (untrusted: no widgets, sanitized HTML).
    saved.cells.insert(0, new_markdown_cell("Shared copy"))  # a new signature: untrusted
    copy = open_notebook(saved, "shared-copy.ipynb")
    image = copy.output(SWEEP + 1).locator("img[alt^='Parallel coordinates']")
    image.wait_for(timeout=30_000)
    assert image.evaluate("i => i.complete && i.naturalWidth") > 600
    image.screenshot(path=str(artifacts_dir / "sweep-registry-untrusted.png"))


def test_registry_run_link_and_serve(open_notebook, artifacts_dir: Path):
    nb = open_notebook(new_notebook(cells=CELLS), "registry-serve.ipynb")
    assert nb.run_all(timeout=240), nb.errors()
    nb.wait_widgets_rendered()
    registry = nb.output(REGISTRY)

    # The source run is a link: a click opens the run's detail below the browser.
    link = registry.locator(".nbtrack-run-link").first
    link.wait_for(timeout=30_000)
    assert "iris-model" in link.inner_text()
    link.click()
    opened = registry.locator(".nbtrack-subpanel .nbtrack-panel", has_text="iris-model").first
    opened.wait_for(timeout=30_000)
    assert "accuracy" in opened.inner_text()

    # Serve: a real server; POST the body of the curl command shown to the URL shown.
    registry.locator("button.nbtrack-serve-button").click()
    url_link = registry.locator(".nbtrack-serve-url")
    url_link.wait_for(timeout=90_000)
    url = url_link.inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    curl = registry.locator(".nbtrack-serve-curl").inner_text()
    assert curl.startswith(f"curl -X POST {url}/invocations")
    body = re.search(r"-d '(.*)'$", curl.strip(), re.S)
    assert body is not None, curl
    pid = int(
        re.search(r"\(pid (\d+)\)", registry.locator(".nbtrack-serve-status").inner_text())[1]
    )
    request = urllib.request.Request(
        f"{url}/invocations",
        data=body[1].encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert len(answer["predictions"]) == 2 and set(answer["predictions"]) <= {0, 1, 2}
    registry.scroll_into_view_if_needed()
    nb.screenshot_outputs(artifacts_dir, "sweep-registry", cells=[REGISTRY])

    # Stop serving: the process is gone and the button offers Serve again.
    stop = registry.locator("button.nbtrack-serve-button", has_text="Stop serving")
    stop.click()
    registry.locator(".nbtrack-serve-status", has_text="stopped").wait_for(timeout=30_000)
    assert registry.locator("button.nbtrack-serve-button").inner_text().strip() == "Serve"
    assert not _alive(pid)
    nb.assert_no_errors()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
