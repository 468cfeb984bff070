"""Run detail's artifact tree, panels saved in their final state, compare's single values.

In a real JupyterLab: the artifact tree lists each file once with sizes, folders collapse,
choosing a file previews it (a CSV's first rows as a table, images inline, JSON pretty, an
MLmodel's signature), the download buttons save the exact bytes (a folder as a zip) through
the widget's comm, and a file over the limit says so. A ``%%track`` cell showing its own
run ends with the panel's header and the cell's summary both FINISHED; saved, the notebook
file holds the final state, and reopened with a fresh kernel (JupyterLab's "save widget
state" on) each panel comes back as the run ended. Compare names metrics logged once per
run instead of drawing them as dots, and no chart's title overlaps other text.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

CSV = "epoch,loss,acc\n" + "".join(
    f"{i},{1 / (i + 1):.4f},{0.5 + i / 100:.2f}\n" for i in range(60)
)
SETUP = f"""\
import time
import numpy as np
import pandas as pd
import nbtrack
import nbtrack.sklearn
from sklearn.linear_model import LinearRegression
%load_ext nbtrack
nbtrack.set_experiment("artifacts")
frame = pd.DataFrame({{"x1": [1.0, 2.0, 3.0], "x2": [0.0, 1.0, 0.0]}})
with nbtrack.start_run(run_name="files") as files:
    nbtrack.log_text({CSV!r}, "data/table.csv")
    nbtrack.log_dict({{"alpha": 0.5, "layers": [64, 32]}}, "config/settings.json")
    nbtrack.log_dict({{"alpha": 0.5}}, "config/params.yaml")
    ramp = np.linspace(0, 255, 96 * 64 * 3).reshape(64, 96, 3).astype(np.uint8)
    nbtrack.log_image(ramp, "plots/ramp.png")
    nbtrack.log_text('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40">'
                     '<rect width="80" height="40" fill="#2563eb"/></svg>', "plots/box.svg")
    nbtrack.log_text("first notes\\n", "notes.txt")
    nbtrack.sklearn.log_model(LinearRegression().fit(frame, [1.0, 2.0, 3.0]), name="model",
                              input_example=frame)
    nbtrack.log_metrics({{"rmse": 55.47, "r2": 0.81}})
"""
DETAIL = "detail = nbtrack.show_run(files.info.run_id)\ndetail.tabs.selected_index = 3\ndetail"
TRACKED = """\
%%track
run_id = nbtrack.active_run().info.run_id
live = nbtrack.show_run(run_id)
display(live)
for step in range(5):
    nbtrack.log_metric("loss", 1 / (step + 1), step=step)
    time.sleep(0.3)
"""
COMPARE = """\
fits = []
for i in range(3):
    with nbtrack.start_run(run_name=f"fit-{i}") as fit:
        nbtrack.log_metrics({"rmse": 55.47 + 0.01 * i * (i + 1), "r2": 0.8 + i / 100,
                             "training_mean_absolute_percentage_error": 0.1 + i / 50})
        for step in range(6):
            nbtrack.log_metric("val_loss", 1 / (step + 1 + i), step=step)
            nbtrack.log_metric("tiny_gradient_norm", 1e-4 / (step + 1 + i), step=step)
    fits.append(fit.info.run_id)
nbtrack.compare_runs(fits)
"""
BACKGROUND = """\
import threading
client = nbtrack.MlflowClient()
later = client.create_run(files.info.experiment_id, run_name="ended-later")  # RUNNING
display(nbtrack.show_run(later.info.run_id))
threading.Timer(1.5, client.set_terminated, [later.info.run_id]).start()
"""
SETUP_CELL, DETAIL_CELL, TRACKED_CELL, COMPARE_CELL = range(4)
FILES = [
    "config/params.yaml",
    "config/settings.json",
    "data/table.csv",
    "model/MLmodel",
    "notes.txt",
    "plots/box.svg",
    "plots/ramp.png",
]
SAVE_STATE = "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings"
# pairs of text elements of one chart whose boxes overlap (titles over ticks, labels...)
OVERLAPS = """el => {
    const found = [];
    for (const chart of el.querySelectorAll('svg.nbc-svg')) {
        const texts = [...chart.querySelectorAll('text')].filter(t => t.textContent.trim());
        const boxes = texts.map(t => t.getBoundingClientRect());
        for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
                && b.top < a.bottom - 1) found.push([texts[i].textContent, texts[j].textContent]);
        }
    }
    return found;
}"""


def row(output, path: str):
    return output.locator(f".nba-row[data-path='{path}']")


def test_artifact_tree_previews_downloads_and_final_saved_state(
    open_notebook, jupyterlab, artifacts_dir: Path
):
    setting = jupyterlab.base_dir / "lab-settings" / SAVE_STATE
    setting.parent.mkdir(parents=True, exist_ok=True)
    setting.write_text(json.dumps({"saveState": True}))  # read when a page loads
    try:
        saved = _artifacts_and_live_run(open_notebook, artifacts_dir)
        _reopened(open_notebook, saved, artifacts_dir)
    finally:
        setting.unlink()


def _artifacts_and_live_run(open_notebook, artifacts_dir: Path) -> Path:
    cells = [new_code_cell(code) for code in (SETUP, DETAIL, TRACKED, COMPARE)]
    nb = open_notebook(new_notebook(cells=cells), "artifacts.ipynb")
    assert nb.run_all(timeout=300), nb.errors()
    nb.wait_widgets_rendered()
    detail = nb.output(DETAIL_CELL)
    nb.wait_for(".nba-root[data-files]")

    # Each file once, with its size; folders first, open (a small tree).
    listed = detail.locator(".nba-file").evaluate_all("rows => rows.map(r => r.dataset.path)")
    assert set(FILES) <= set(listed), listed  # and the model's other files, under model/
    assert all(p in FILES or p.startswith("model/") for p in listed), listed
    assert len(listed) == len(set(listed))
    assert f"{len(CSV)} B" in row(detail, "data/table.csv").inner_text()
    config = row(detail, "config")
    assert "2 files" in config.inner_text()

    # A folder closes and opens again.
    config.click()
    nb.wait_for(".nba-row[data-path='config'][aria-expanded='false']")
    assert row(detail, "config/params.yaml").count() == 0
    config.click()
    nb.wait_for(".nba-row[data-path='config/params.yaml']")

    # Previews: a CSV's first rows as a table, images inline, JSON pretty, an MLmodel.
    row(detail, "data/table.csv").click()
    nb.wait_for(".nba-preview[data-kind='table'] table")
    assert detail.locator(".nba-preview tbody tr").count() == 50
    assert "The first 50 of 60 rows" in detail.locator(".nba-preview").inner_text()
    detail.screenshot(path=str(artifacts_dir / "artifacts-csv.png"))
    for image in ("plots/ramp.png", "plots/box.svg"):
        row(detail, image).click()
        nb.wait_for(f".nba-preview[data-kind='image'][data-path='{image}'] img")
        width = detail.locator(".nba-preview img").evaluate(
            "img => img.decode().then(() => img.naturalWidth)"
        )
        assert width in (96, 80), (image, width)
    detail.screenshot(path=str(artifacts_dir / "artifacts-image.png"))
    row(detail, "config/settings.json").click()
    nb.wait_for(".nba-preview[data-kind='text'] pre")
    assert '"layers": [\n    64,' in detail.locator(".nba-preview pre").inner_text()
    row(detail, "model/MLmodel").click()
    nb.wait_for(".nba-preview[data-kind='html'] :text('Signature inputs')")
    detail.screenshot(path=str(artifacts_dir / "artifacts-mlmodel.png"))

    # Downloads: the exact bytes of a file, a folder as a zip; over the limit, a message.
    with nb.page.expect_download() as got:
        row(detail, "data/table.csv").locator(".nba-download").click()
    assert got.value.suggested_filename == "table.csv"
    assert Path(got.value.path()).read_text() == CSV
    with nb.page.expect_download() as got:
        row(detail, "config").locator(".nba-download").click()
    assert got.value.suggested_filename == "config.zip"
    with zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["params.yaml", "settings.json"]
    nb.append_and_run("import nbtrack.panels.artifacts as a\na.DOWNLOAD_LIMIT = 100")
    row(detail, "plots/ramp.png").locator(".nba-download").click()
    error = nb.wait_for(".nba-status.nba-error")
    assert "over the 100 B a panel sends to the browser" in error.inner_text()
    assert "download_artifacts(" in error.inner_text()
    detail.screenshot(path=str(artifacts_dir / "artifacts-over-limit.png"))

    # The %%track cell's panel and its summary agree once the cell is done.
    tracked = nb.output(TRACKED_CELL)
    header = tracked.locator(".nbtrack-panel .widget-html-content").first
    assert "FINISHED" in header.inner_text(), header.inner_text()
    assert "FINISHED" in tracked.locator(".nbtrack-run-summary").inner_text()
    assert "RUNNING" not in tracked.inner_text()

    # Compare: metrics logged once per run are named, not drawn; no text overlaps another.
    compare = nb.output(COMPARE_CELL)
    nb.wait_for(".nbc-bars[data-drawn]")
    assert "Logged once per run (no history to draw): r2, rmse, training_mean_" in (
        compare.inner_text()
    )
    assert compare.locator(".nbc-lines .nbc-trace").count() == 3  # one per run
    assert compare.evaluate(OVERLAPS) == []
    compare.locator("select").first.select_option("tiny_gradient_norm")  # long tick labels
    nb.wait_for(".nbc-lines text:has-text('tiny_gradient_norm')")
    assert compare.evaluate(OVERLAPS) == []
    compare.screenshot(path=str(artifacts_dir / "artifacts-compare-tiny.png"))
    nb.screenshot_outputs(artifacts_dir, "artifacts", cells=[TRACKED_CELL, COMPARE_CELL])
    nb.assert_no_errors()

    # A run ended by another thread while the kernel is idle: re-rendered by the refresh.
    nb.append_and_run(BACKGROUND)
    background = nb.cell_count() - 1
    nb.wait_for(f".jp-Cell:nth-child({background + 1}) .widget-html-content:has-text('FINISHED')")
    nb.page.wait_for_timeout(1000)

    # Saved: the file holds each panel as its run ended, and the widgets' state.
    nb.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = nb.lab.root_dir / nb.relpath
    nb.page.wait_for_timeout(500)
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.get("widgets"), "JupyterLab saved no widget state"
    for index in (TRACKED_CELL, background):
        html = [o["data"]["text/html"] for o in notebook.cells[index].outputs if "data" in o]
        assert html and all("FINISHED" in h and "RUNNING" not in h for h in html), html
    return path


def _reopened(open_notebook, saved: Path, artifacts_dir: Path) -> None:
    """Reopened with a fresh kernel: every panel comes back from the saved widget state."""
    nb = open_notebook(saved, "reopened.ipynb")
    nb.wait_widgets_rendered()
    tracked = nb.output(TRACKED_CELL)
    nb.wait_for(".nbtrack-panel .widget-html-content")
    assert "FINISHED" in tracked.inner_text() and "RUNNING" not in tracked.inner_text()
    nb.wait_for(".nba-root[data-files]")
    nb.screenshot_outputs(artifacts_dir, "reopened", cells=[DETAIL_CELL, TRACKED_CELL])
    nb.assert_no_errors()
