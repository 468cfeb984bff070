"""The chart engine in a real JupyterLab: 20+ charts on one page, all drawn, library sent once.

One notebook shows six sweeps (parallel coordinates), seven run details (metric charts)
and four comparisons (histories and bars): 25 charts. After Run All, every chart must be
drawn with its data (asserted on the SVG in the DOM, not on Python objects), no canvas
(no WebGL context) may exist, the chart library must have reached the page once, and each
further panel must cost the page only its data (the comm messages of its cell, measured in
the page). A sweep re-run while scrolled off-screen must be drawn when scrolled back, and
every chart again after the notebook is saved and the page reloaded (same kernel).
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

SETUP = """\
import nbtrack
nbtrack.set_experiment("many-charts")
parents = []
for p in range(3):
    with nbtrack.start_run(run_name=f"sweep-{p}") as parent:
        for alpha in (0.001, 0.01, 0.1, 1.0):
            for solver in ("lbfgs", "saga", "liblinear"):
                with nbtrack.start_run(run_name=f"s{p}-{alpha}-{solver}", nested=True):
                    nbtrack.log_params({"alpha": alpha, "solver": solver})
                    nbtrack.log_metric("score", 0.9 - alpha / 10 + p / 100)
    parents.append(parent.info.run_id)
train_ids = []
for i in range(6):
    with nbtrack.start_run(run_name=f"train-{i}") as run:
        for step in range(15):
            nbtrack.log_metric("loss", 1 / (step + 1 + i), step=step)
        nbtrack.log_metric("accuracy", 0.8 + i / 50)
    train_ids.append(run.info.run_id)
"""
SWEEPS = 6
DETAILS = 7
COMPARES = 4
CELLS = (
    [new_code_cell(SETUP)]
    + [new_code_cell(f"nbtrack.show_sweep(parents[{i % 3}])") for i in range(SWEEPS)]
    + [
        new_code_cell(f"d = nbtrack.show_run(train_ids[{i % 6}])\nd.tabs.selected_index = 1\nd")
        for i in range(DETAILS)
    ]
    + [new_code_cell(f"nbtrack.compare_runs(train_ids[{i}:{i + 3}])") for i in range(COMPARES)]
)
CHART_STATE = """() => {
    const root = window.__nbPanel.node;
    return [...root.querySelectorAll('.nbc-chart')].map(c => ({
        kind: c.dataset.kind,
        drawn: Number(c.dataset.drawn || 0),
        lines: c.querySelectorAll('.nbc-run').length,
        traces: [...c.querySelectorAll('.nbc-trace')].map(p => Number(p.dataset.points)),
        bars: c.querySelectorAll('.nbc-bar').length,
    }));
}"""
# Adds up the comm messages the kernel sends the page (their JSON and binary buffers).
COUNT_BYTES = """() => {
    window.__commBytes = 0;
    window.__nbPanel.sessionContext.iopubMessage.connect((_, msg) => {
        const type = msg.header.msg_type;
        if (type !== 'comm_open' && type !== 'comm_msg') return;
        window.__commBytes += JSON.stringify(msg.content).length;
        for (const b of msg.buffers || []) window.__commBytes += b.byteLength;
    });
}"""


def test_twenty_five_charts_drawn_library_once_no_webgl(open_notebook, artifacts_dir: Path):
    nb = open_notebook(new_notebook(cells=CELLS), "charts.ipynb")
    webgl: list[str] = []
    nb.page.on("console", lambda m: webgl.append(m.text) if "WebGL" in m.text else None)
    nb.page.evaluate(COUNT_BYTES)
    assert nb.run_all(timeout=300), nb.errors()
    nb.wait_widgets_rendered()
    nb.page.wait_for_function(
        f"() => window.__nbPanel.node.querySelectorAll('.nbc-chart[data-drawn]').length >= "
        f"{SWEEPS + DETAILS + 2 * COMPARES}",
        timeout=60_000,
    )
    charts = nb.page.evaluate(CHART_STATE)
    kinds = [c["kind"] for c in charts]
    assert kinds.count("parcoords") == SWEEPS
    assert kinds.count("lines") == DETAILS + COMPARES
    assert kinds.count("bars") == COMPARES
    for chart in charts:  # every chart drawn with its data
        assert chart["drawn"] >= 1, chart
        if chart["kind"] == "parcoords":
            assert chart["lines"] == 12, chart
        elif chart["kind"] == "lines":
            assert chart["traces"] and all(n == 15 for n in chart["traces"]), chart
        else:
            assert chart["bars"] == 6, chart  # 3 runs x (accuracy, loss)
    page = nb.page
    assert page.evaluate("() => window.__nbPanel.node.querySelectorAll('canvas').length") == 0
    styles = page.evaluate("() => document.querySelectorAll('style[data-nbtrack-charts]').length")
    assert styles == 1  # the library was imported once
    assert webgl == []
    total = page.evaluate("() => window.__commBytes")
    assert total < 2_000_000, f"{total} bytes for the whole notebook"  # plotly: 5 MB a chart

    # Once the library is on the page, a panel costs its data only.
    costs = {}
    for name, code in (
        ("run detail", "nbtrack.show_run(train_ids[0])"),
        ("compare", "nbtrack.compare_runs(train_ids)"),
        ("sweep", "nbtrack.show_sweep(parents[0])"),
    ):
        before = page.evaluate("() => window.__commBytes")
        nb.append_and_run(code)
        nb.wait_widgets_rendered()
        costs[name] = page.evaluate("() => window.__commBytes") - before
    print("bytes per panel:", costs)
    assert all(0 < cost < 200 * 1024 for cost in costs.values()), costs

    # A sweep re-run while scrolled off-screen is drawn when scrolled back into view.
    page.evaluate(
        "() => window.__nbPanel.content.node.closest('.jp-WindowedPanel-outer, .jp-Notebook')"
        ".scrollTop = 0"
    )
    assert nb.run_cell(SWEEPS)  # the last sweep cell
    last = nb.output(SWEEPS)
    last.scroll_into_view_if_needed()
    nb.wait_for(f".jp-Cell:nth-child({SWEEPS + 1}) .nbc-parcoords[data-drawn] .nbc-run")
    assert last.locator(".nbc-run").count() == 12
    assert last.locator(".nbc-chart").count() == 1  # the old view went with the old output

    nb.screenshot_outputs(artifacts_dir, "charts", cells=[1, SWEEPS + 1, SWEEPS + DETAILS + 1])
    page.screenshot(path=str(artifacts_dir / "charts-page.png"), full_page=False)
    nb.assert_no_errors()

    # Saved and reopened with its kernel (a page reload): the widget models come back from
    # the kernel in any order, the library among them, and every chart is drawn again.
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)
    nb.load()
    page.wait_for_function(
        f"() => window.__nbPanel.node.querySelectorAll('.nbc-chart[data-drawn]').length >= "
        f"{SWEEPS + DETAILS + 2 * COMPARES}",
        timeout=60_000,
    )
    again = nb.page.evaluate(CHART_STATE)
    assert all(c["drawn"] and (c["lines"] or c["traces"] or c["bars"]) for c in again), again
    page.screenshot(path=str(artifacts_dir / "charts-page-reloaded.png"), full_page=False)
