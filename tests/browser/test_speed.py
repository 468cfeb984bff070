"""How fast panels become visible in a real browser, over 10,000 runs (issue 10's targets).

A store of 10,000 autolog-like runs, a sweep of 2,000 child runs and a registered model
is built first (bench/panels.py's builders). Then, in a fresh kernel, the time from
starting a cell to its panel drawn in the DOM (chart traces, sweep lines, table rows) is
measured for the first panel, then for each panel warm; and a live training cell is
watched for main-thread stalls (long tasks) and for how soon its chart first shows data.

Targets (the issue's): first panel 2 s, warm panels 0.5 s, the sweep 1 s, no stall over
100 ms, first live update within 1 s. The figures are printed, not asserted: this machine is
shared, and speed is judged in `make bench`, never by a timed test. What is asserted is
that every panel is drawn with its data at this scale and every live epoch arrives.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_notebook
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
BUILD = """
import sys
sys.path.insert(0, {bench!r})
import nbtrack
from panels import build_store, build_sweep
client = nbtrack.MlflowClient({uri!r})
exp, parents = build_store(client, 10_000)
sweep = build_sweep(client, exp, 2_000)
client.log_text(parents[0], f"run_id: {{parents[0]}}\\nflavors: {{{{}}}}\\n", "model/MLmodel")
client.create_registered_model("speed-model")
client.create_model_version("speed-model", f"runs:/{{parents[0]}}/model", parents[0])
print(exp, sweep, *parents[:6])
"""
# Starts a new cell with `code` and resolves with the milliseconds until `selector`
# matches inside that cell's output.
TIME_CELL = """async ([code, selector]) => {
    const app = window.jupyterapp;
    const panel = window.__nbPanel;
    const nb = panel.content;
    nb.model.sharedModel.insertCell(nb.model.cells.length, { cell_type: 'code', source: code });
    const index = nb.model.cells.length - 1;
    nb.activeCellIndex = index;
    const t0 = performance.now();
    app.commands.execute('notebook:run-cell');
    for (;;) {
        const node = nb.widgets[index]?.node;
        if (node && node.querySelector(selector)) return performance.now() - t0;
        if (performance.now() - t0 > 60000) return -1;
        await new Promise(r => setTimeout(r, 5));
    }
}"""
LONG_TASKS = """() => {
    window.__longTasks = [];
    new PerformanceObserver(list => {
        for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
}"""
LIVE = """\
import time
run = nbtrack.start_run(experiment_id=exp, run_name="live")
live = nbtrack.show_run(run.info.run_id)
live.tabs.selected_index = 1
display(live)
for step in range(30):
    nbtrack.log_metric("loss", 1 / (step + 1), step=step)
    time.sleep(0.2)
nbtrack.end_run()
"""


@pytest.mark.slow
def test_every_panel_is_drawn_over_10000_runs(open_notebook, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'speed.db'}"
    built = subprocess.run(
        [sys.executable, "-c", BUILD.format(bench=str(ROOT / "bench"), uri=uri)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    exp, sweep, *runs = built.stdout.split()
    nb = open_notebook(new_notebook(), "speed.ipynb")
    page = nb.page

    def visible(code: str, selector: str) -> float:
        ms = page.evaluate(TIME_CELL, [code, selector])
        assert ms >= 0, f"{code!r}: {selector!r} never appeared\n{nb.errors()}"
        nb.wait_idle(60)
        return ms / 1000

    times = {}
    times["first panel (fresh kernel)"] = visible(
        f"import nbtrack\nnbtrack.set_tracking_uri({uri!r})\nnbtrack.show_run({runs[0]!r})",
        ".nbtrack-panel .nbc-lines .nbc-trace",
    )
    nb.append_and_run(f"exp, runs = {exp!r}, {runs!r}\nfrom IPython.display import display")
    times["run detail"] = visible(f"nbtrack.show_run({runs[1]!r})", ".nbc-lines .nbc-trace")
    times["compare"] = visible(f"nbtrack.compare_runs({runs[1:6]!r})", ".nbc-bars .nbc-bar")
    times["sweep (2,000 runs)"] = visible(
        f"nbtrack.show_sweep({sweep!r})", ".nbc-parcoords[data-drawn] .nbc-run"
    )
    times["sweep: kernel part"] = visible(
        f"import time\nt0 = time.perf_counter()\ns = nbtrack.show_sweep({sweep!r})\n"
        "print(round(time.perf_counter() - t0, 3))",
        ".jp-OutputArea-output pre",
    )
    times["sweep: kernel part"] = float(nb.output_text(nb.cell_count() - 1))
    times["registry: kernel part"] = visible(
        "t0 = time.perf_counter()\nr = nbtrack.show_registry()\n"
        "print(round(time.perf_counter() - t0, 3))",
        ".jp-OutputArea-output pre",
    )
    times["registry: kernel part"] = float(nb.output_text(nb.cell_count() - 1))
    times["registry"] = visible("nbtrack.show_registry()", ".nbtrack-panel select option")
    times["run table (10,000 runs)"] = visible(
        f"nbtrack.show_runs({exp!r})", ".nbt-runs tbody tr[data-id]"
    )
    # the live panel: from the cell's start to its chart's first point, then long tasks
    # while the updates arrive (the panel's own first rendering is not an update)
    times["live: first update"] = visible(LIVE, ".nbc-lines .nbc-trace")
    page.evaluate(LONG_TASKS)
    nb.wait_idle(60)
    # (each redraw replaces the chart's SVG: look the trace up again each time)
    last_points = """() => { const all = window.__nbPanel.node.querySelectorAll(
        '.nbc-lines .nbc-trace'); return all[all.length - 1].dataset.points; }"""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"() => ({last_points})() === '30'", timeout=10_000)
    stalls = page.evaluate("() => window.__longTasks")
    points = page.evaluate(last_points)
    print("visible after (s):", {k: round(v, 3) for k, v in times.items()})
    print("long tasks during live training (ms):", [round(s) for s in stalls])

    assert points == "30"  # every epoch drawn
    nb.assert_no_errors()
