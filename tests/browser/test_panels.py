"""The panels in a real JupyterLab: each renders, and the browser and kernel agree.

One notebook, built here, logs a small experiment (plain runs, a sweep parent with child
runs, a registered model) and shows every panel. The test runs it in headless Chromium,
checks each panel rendered without a widget error, drives the run table (click a row,
type a filter, sort, open the sweep), brushes the parallel coordinates, confirms a
registry action, and saves a screenshot of each panel under ``tests/artifacts/browser/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """\
import numpy as np
import nbtrack, nbtrack.sklearn
from sklearn.linear_model import LogisticRegression

nbtrack.set_experiment("browser-demo")
rng = np.random.default_rng(0)
for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "sgd"), (0.001, "adam")]):
    with nbtrack.start_run(run_name=f"train-{i}"):
        nbtrack.log_params({"lr": lr, "optimizer": opt, "epochs": 10,
                            "clf__C": 10 * lr, "clf__penalty": "l2", "scaler__with_mean": True})
        nbtrack.set_tag("team", "vision" if i % 2 else "nlp")
        for step in range(10):
            nbtrack.log_metric("loss", float(np.exp(-step * lr * 10) + i / 10), step=step)
        nbtrack.log_metric("accuracy", 0.8 + i / 20)
with nbtrack.start_run(run_name="sweep") as parent:
    for i, (alpha, solver) in enumerate(
        [(a, s) for a in (0.001, 0.01, 0.1, 1.0, 10.0) for s in ("lbfgs", "saga")]
    ):
        with nbtrack.start_run(run_name=f"trial-{i}", nested=True):
            nbtrack.log_params({"alpha": alpha, "solver": solver, "max_iter": 100})
            score = 0.9 - abs(np.log10(alpha)) / 20 + (solver == "saga") / 50
            nbtrack.log_metric("val_score", score)
X = rng.random((60, 3))
y = (X[:, 0] > 0.5).astype(int)
with nbtrack.start_run(run_name="model") as model_run:
    clf = LogisticRegression().fit(X, y)
    nbtrack.log_metric("accuracy", clf.score(X, y))
    for step in range(20):
        nbtrack.log_metric("loss", 0.7 * 0.85**step, step=step)
    nbtrack.log_text("trained on random data", "notes.txt")
    nbtrack.sklearn.log_model(clf, name="model", registered_model_name="demo-clf",
                              input_example=X[:2])
train_ids = [r.info.run_id for r in nbtrack.search_runs(
    filter_string="tags.team != ''", output_format="list")]
print(len(train_ids))
"""

CELLS = [
    new_markdown_cell("# nbtrack panels"),
    new_code_cell(SETUP),  # 1
    new_code_cell("table = nbtrack.show_runs()\ntable"),  # 2
    new_code_cell("detail = nbtrack.show_run(model_run.info.run_id)\ndetail"),  # 3
    new_code_cell("comparison = nbtrack.compare_runs(train_ids)\ncomparison"),  # 4
    new_code_cell("sweep = nbtrack.show_sweep(parent.info.run_id)\nsweep"),  # 5
    new_code_cell("registry = nbtrack.show_registry()\nregistry"),  # 6
    new_code_cell(
        "%load_ext nbtrack\nmagic_table = %nbtrack runs metrics.accuracy > 0.84\nmagic_table"
    ),  # 7
]
TABLE, DETAIL, COMPARE, SWEEP, REGISTRY, MAGIC = 2, 3, 4, 5, 6, 7
ELSEWHERE = """\
import subprocess, sys
subprocess.run([sys.executable, "-c", "import nbtrack; nbtrack.set_experiment('browser-demo'); "
                "nbtrack.start_run(run_name='elsewhere'); nbtrack.end_run()"], check=True)
"""
TRAINING = """\
import time
with nbtrack.start_run(run_name="training-live"):
    for step in range(40):
        nbtrack.log_metric("accuracy", step / 40, step=step)
        time.sleep(0.2)
"""
START_CELL = """code => {
    const app = window.jupyterapp;
    const notebook = app.shell.currentWidget.content;
    notebook.model.sharedModel.insertCell(notebook.model.cells.length,
                                          { cell_type: 'code', source: code });
    notebook.activeCellIndex = notebook.model.cells.length - 1;
    app.commands.execute('notebook:run-cell');  // not awaited: the cell keeps running
}"""
KERNEL_STATUS = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
SCROLL = """([top, left]) => {
    const box = document.querySelector('.nbt-scroll');
    if (top !== null) { box.scrollTop = top; box.scrollLeft = left; }
    return [box.scrollTop, box.scrollLeft];
}"""


def panels_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=CELLS)


def test_panels_render_and_round_trip(open_notebook, artifacts_dir: Path) -> None:
    nb = open_notebook(panels_notebook(), "panels.ipynb")
    assert nb.run_all(), nb.errors()
    nb.wait_widgets_rendered()

    # The run table: 5 top-level runs (3 train, the sweep parent, the model run).
    table = nb.output(TABLE)
    nb.wait_for(".nbt-runs tbody tr[data-id]")
    assert table.locator("tbody tr[data-id]").count() == 5
    assert table.locator(".nbt-badge").first.inner_text() == "FINISHED"

    # Click a row: the selection reaches the kernel.
    row = table.locator("tbody tr[data-id]").filter(has_text="train-1")
    row.locator("td").nth(3).click()
    nb.wait_for(".nbt-runs tr.nbt-selected")
    assert nb.append_and_run("print(list(table.selected['tags.mlflow.runName']))") == (
        "['train-1']"
    )
    # Select in Python: the view follows.
    nb.append_and_run("table.selected_run_ids = train_ids")
    nb.wait_for(".nbt-runs .nbt-count:has-text('3 selected')")
    assert table.locator("tr.nbt-selected").count() == 3
    # The Compare button opens the comparison of the selection below the table.
    table.locator("button", has_text="Compare 3 runs").click()
    nb.wait_for(f".jp-Cell:nth-child({TABLE + 1}) :text('Comparing 3 runs')")

    # Type a filter: only the matching rows stay; a bad filter is reported inline.
    # Typed key by key: JupyterLab's shortcuts (a, b, d d…) must not fire in the box.
    box = table.locator(".nbt-filter")
    cells_before = nb.cell_count()
    box.click()
    box.press_sequentially("params.optimizer = 'adam'")
    box.press("Enter")
    nb.wait_for(".nbt-runs .nbt-count:has-text('2 runs')")
    names = table.locator("tbody tr[data-id] .nbt-name").all_inner_texts()
    assert sorted(names) == ["train-0", "train-2"]
    assert nb.cell_count() == cells_before
    box.fill("params.optimizer = ")
    box.press("Enter")
    nb.wait_for(".nbt-runs .nbt-error:has-text('Invalid filter')")
    box.fill("")
    box.press("Enter")
    nb.wait_for(".nbt-runs .nbt-count:has-text('5 runs')")

    # Sort by a metric column header.
    table.locator("thead th", has_text="accuracy").click()
    assert nb.append_and_run("print(table.grid.order_by)") == "['metrics.`accuracy` ASC']"

    # Expand the sweep parent: its ten children appear indented.
    sweep_row = table.locator("tbody tr[data-id]").filter(has_text="sweep")
    sweep_row.locator(".nbt-toggle").click()
    nb.wait_for(".nbt-runs tbody tr:nth-child(15)")
    assert table.locator("tbody tr[data-id]").count() == 15

    nb.screenshot_outputs(artifacts_dir, "panels", cells=[TABLE])
    assert nb.append_and_run("print(table._presence.views)") == "1"  # polled while shown

    # Live: runs logged in this kernel and in another process appear by themselves,
    # and the table keeps its scroll position (and selection) meanwhile.
    assert nb.page.evaluate(SCROLL, [30, 150]) == [30, 150]
    nb.append_and_run(
        "with nbtrack.start_run(run_name='late'):\n    nbtrack.log_metric('accuracy', 0.5)"
    )
    nb.wait_for(".nbt-runs tbody tr[data-id]:has-text('late')")
    nb.append_and_run(ELSEWHERE)
    nb.wait_for(".nbt-runs tbody tr[data-id]:has-text('elsewhere')")
    assert nb.page.evaluate(SCROLL, [None, None]) == [30, 150]
    assert table.locator("tr.nbt-selected").count() == 3
    table.locator(".nbt-scroll").screenshot(path=str(artifacts_dir / "panels-table-metrics.png"))
    nb.page.evaluate(SCROLL, [0, 0])

    # While a cell trains (the kernel busy), the table shows the run and its metric move.
    nb.page.evaluate(START_CELL, TRAINING)
    live_row = table.locator("tbody tr[data-id]").filter(has_text="training-live")
    live_row.locator(".nbt-running").wait_for(timeout=30_000)
    first = live_row.locator(".nbt-num").first.inner_text()
    nb.page.wait_for_function(
        """before => {
            const row = [...document.querySelectorAll('.nbt-runs tbody tr[data-id]')]
                .find(r => r.innerText.includes('training-live'));
            return !!row && row.querySelector('.nbt-num').innerText !== before;
        }""",
        arg=first,
        timeout=30_000,
    )
    assert nb.page.evaluate(KERNEL_STATUS) == "busy"  # updated while the cell still runs
    nb.wait_idle(60)
    live_row.locator(".nbt-finished").wait_for(timeout=30_000)

    # Open the sweep from the parent's row: parallel coordinates appear under the table.
    sweep_row.locator(".nbt-chip", has_text="sweep").click()
    nb.wait_for(f".jp-Cell:nth-child({TABLE + 1}) .nbc-parcoords[data-drawn] .nbc-run")

    # The sweep panel: five axes (alpha, solver, max_iter is constant so absent → 3 axes).
    sweep = nb.output(SWEEP)
    nb.wait_for(f".jp-Cell:nth-child({SWEEP + 1}) .nbc-parcoords[data-drawn] .nbc-run")
    assert sweep.locator(".nbc-pc-axis").count() == 3
    assert sweep.locator(".nbc-parcoords .nbc-run").count() == 10  # one line per trial
    assert sweep.locator("canvas").count() == 0  # SVG: no WebGL context
    assert nb.append_and_run("print([a['label'] for a in sweep.figure.data['axes']])") == (
        "['alpha', 'solver', 'val_score']"
    )
    # Hovering a line names its run (the pointer on a point of the line, a quarter along).
    sweep.locator(".nbc-parcoords").scroll_into_view_if_needed()
    point = sweep.locator(".nbc-run").first.evaluate(
        """path => { const p = path.getPointAtLength(path.getTotalLength() / 4);
                     const m = path.getScreenCTM();
                     return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f]; }"""
    )
    nb.page.mouse.move(*point)
    nb.wait_for(f".jp-Cell:nth-child({SWEEP + 1}) .nbc-tip:has-text('trial-')")
    # Brush the solver axis with the mouse: the kernel sees the brush, the table narrows.
    brush_area = sweep.locator(".nbc-brush-hit").nth(1)
    brush_area.scroll_into_view_if_needed()
    box = brush_area.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] / 2
    nb.page.mouse.move(x, box["y"] + 2)
    nb.page.mouse.down()
    nb.page.mouse.move(x, box["y"] + box["height"] * 0.3, steps=8)
    nb.page.mouse.up()
    nb.wait_for(f".jp-Cell:nth-child({SWEEP + 1}) .nbt-count:has-text('5 runs')")
    assert nb.append_and_run("print(sorted(set(sweep.selected['params.solver'])))") == ("['saga']")
    assert sweep.locator(".nbc-run:not(.nbc-out)").count() == 5  # the chart agrees
    # Brush from Python: the linked table narrows to the runs inside both brushes.
    nb.append_and_run("sweep.brush('alpha', 0.005, 0.5)")
    nb.wait_for(f".jp-Cell:nth-child({SWEEP + 1}) .nbt-count:has-text('2 runs')")
    assert nb.append_and_run("print(len(sweep.selected))") == "2"

    # "Only differing columns" hides what the two runs share (max_iter, solver).
    linked = sweep.locator(".nbt-runs")
    assert linked.locator("thead th", has_text="max_iter").count() == 1
    linked.locator("label", has_text="Only differing columns").click()
    nb.wait_for(f".jp-Cell:nth-child({SWEEP + 1}) .nbt-runs thead th:has-text('alpha')")
    assert linked.locator("thead th", has_text="max_iter").count() == 0
    assert linked.locator("thead th", has_text="solver").count() == 0
    assert nb.append_and_run("print(sweep.table.grid.hide_constant)") == "True"

    # The registry: confirm an alias, and the versions list shows it.
    registry = nb.output(REGISTRY)
    registry.locator("input[placeholder^='alias']").fill("champion")
    registry.locator("button", has_text="Set alias").click()
    registry.locator("button", has_text="Confirm").click()
    nb.wait_for(f".jp-Cell:nth-child({REGISTRY + 1}) :text('Done: @champion')")
    assert "@champion" in registry.locator("select").nth(1).inner_text()

    # The run detail's tabs: the metric chart, the artifacts, the model's signature.
    detail = nb.output(DETAIL)
    for tab, expected in (
        ("Charts", ".nbc-lines[data-drawn] .nbc-trace"),
        ("Artifacts", ":text('notes.txt')"),
        ("Model", ":text('Signature inputs')"),
    ):
        detail.locator(".lm-TabBar-tab", has_text=tab).click()
        nb.wait_for(f".jp-Cell:nth-child({DETAIL + 1}) {expected}")
        detail.screenshot(path=str(artifacts_dir / f"panels-detail-{tab.lower()}.png"))

    # %nbtrack runs shows the same live table, filtered.
    magic = nb.output(MAGIC)
    names = magic.locator(".nbt-runs tbody tr[data-id] .nbt-name").all_inner_texts()
    assert sorted(names) == ["model", "train-1", "train-2", "training-live"]

    nb.wait_widgets_rendered()
    shots = nb.screenshot_outputs(artifacts_dir, "panels", cells=[DETAIL, COMPARE, SWEEP, REGISTRY])
    assert len(shots) == 4

    # Clearing an output removes the panel's view: it stops polling until shown again.
    nb.page.evaluate(
        """i => { const app = window.jupyterapp;
                  app.shell.currentWidget.content.activeCellIndex = i;
                  return app.commands.execute('notebook:clear-cell-output'); }""",
        MAGIC,
    )
    assert nb.append_and_run("print(magic_table._presence.hidden)") == "True"
    nb.assert_no_errors()
