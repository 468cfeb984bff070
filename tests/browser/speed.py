"""Visible times of the panels in a real browser: what a person waits for, measured in the page.

Shared by the browser test ``tests/browser/test_speed.py`` (which asserts only that every
panel is drawn) and ``bench/browser.py`` (which reports the times beside issue 10's targets
in ``make bench``). Every time runs from the user's act (a cell started, Enter in the filter
box, a click, a brush released) to the moment the result is in the DOM of the page, measured
with ``performance.now()`` inside the page, so the kernel, the comm and the front end all
count.

Stores are built in another Python process with ``bench/panels.py``'s builders.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .jupyterlab import NotebookPage

ROOT = Path(__file__).resolve().parents[2]
BUILD_PANELS = """
import sys
sys.path.insert(0, {bench!r})
import nbtrack
from panels import build_store, build_sweep
client = nbtrack.MlflowClient({uri!r})
exp, parents = build_store(client, {runs})
sweep = build_sweep(client, exp, {children})
client.log_text(parents[0], f"run_id: {{parents[0]}}\\nflavors: {{{{}}}}\\n", "model/MLmodel")
client.create_registered_model("speed-model")
client.create_model_version("speed-model", f"runs:/{{parents[0]}}/model", parents[0])
print(exp, sweep, *parents[:6])
"""
BUILD_TABLE = """
import sys
sys.path.insert(0, {bench!r})
import nbtrack
from panels import build_store
exp, _ = build_store(nbtrack.MlflowClient({uri!r}), {runs})
print(exp)
"""
# Starts a new cell with `code` and resolves with the milliseconds until `selector`
# matches inside that cell's output (-1 after a minute).
TIME_CELL = """async ([code, selector]) => {
    const app = window.jupyterapp;
    const nb = window.__nbPanel.content;
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
# One act on the run table in the last cell's output, and the milliseconds until its
# answer is drawn: a filter (Enter in the box) until the run count changes, a sort (a
# click on a column's header) or a page turn until the first row is another run. A
# mutation observer sees the change as it is made (polling would see it only after the
# frame that paints it), and the time runs to the end of the next frame: the paint.
TABLE_ACT = """async ([act, value]) => {
    const nb = window.__nbPanel.content;
    const root = nb.widgets[nb.widgets.length - 1].node.querySelector('.nbt-runs');
    const first = () => root.querySelector('tbody tr[data-id]')?.dataset.id;
    const count = () => root.querySelector('.nbt-count')?.textContent;
    const watched = act === 'filter' ? count : first;
    const before = watched();
    let t0 = 0;
    const changed = new Promise(resolve => {
        const observer = new MutationObserver(() => {
            if (watched() === before || !first()) return;
            observer.disconnect();
            requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
        });
        observer.observe(root, { childList: true, subtree: true, characterData: true });
        setTimeout(() => { observer.disconnect(); resolve(-1); }, 30000);
    });
    t0 = performance.now();
    if (act === 'filter') {
        const box = root.querySelector('.nbt-filter');
        box.value = value;
        box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    } else if (act === 'sort') {
        [...root.querySelectorAll('thead th[data-index]')]
            .find(th => th.textContent.trim().replace(/[▲▼]/g, '').trim() === value).click();
    } else {
        [...root.querySelectorAll('.nbt-pager button')]
            .find(b => b.textContent.includes('Next')).click();
    }
    return await changed;
}"""
# A brush dragged over the middle half of the sweep's second axis in the last cell's
# output, and the milliseconds from the release until the lines are recoloured and drawn.
BRUSH = """async ([lo, hi]) => {
    const nb = window.__nbPanel.content;
    const chart = nb.widgets[nb.widgets.length - 1].node.querySelector('.nbc-parcoords');
    const hit = chart.querySelectorAll('.nbc-brush-hit')[1];
    const box = hit.getBoundingClientRect();
    const at = f => ({ clientX: box.x + box.width / 2, clientY: box.y + box.height * f,
                       bubbles: true, pointerId: 1 });
    const before = chart.dataset.selected;
    hit.dispatchEvent(new PointerEvent('pointerdown', at(lo)));
    window.dispatchEvent(new PointerEvent('pointermove', at(hi)));
    const t0 = performance.now();
    window.dispatchEvent(new PointerEvent('pointerup', at(hi)));
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    return chart.dataset.selected !== before ? performance.now() - t0 : -1;
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
# (each redraw replaces the chart's SVG: look the trace up again each time)
LAST_POINTS = """() => { const all = window.__nbPanel.node.querySelectorAll(
    '.nbc-lines .nbc-trace'); return all[all.length - 1].dataset.points; }"""


@dataclass(frozen=True)
class PanelStore:
    """A store of autolog-like runs with a sweep and a registered model (see ``build``)."""

    uri: str
    experiment: str
    sweep: str
    runs: list[str]


def build(python: str, folder: Path, runs: int = 10_000, children: int = 2_000) -> PanelStore:
    """Build ``folder/speed.db``: ``runs`` runs, a sweep of ``children``, a registered model."""
    uri = f"sqlite:///{folder / 'speed.db'}"
    code = BUILD_PANELS.format(bench=str(ROOT / "bench"), uri=uri, runs=runs, children=children)
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, timeout=1800
    )
    exp, sweep, *ids = out.stdout.split()
    return PanelStore(uri, exp, sweep, ids)


def build_table(python: str, folder: Path, runs: int = 100_000) -> tuple[str, str]:
    """Build ``folder/table.db`` of ``runs`` runs; return its URI and experiment id."""
    uri = f"sqlite:///{folder / 'table.db'}"
    code = BUILD_TABLE.format(bench=str(ROOT / "bench"), uri=uri, runs=runs)
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, timeout=3600
    )
    return uri, out.stdout.split()[-1]


def visible(nb: NotebookPage, code: str, selector: str) -> float:
    """Seconds from starting a new cell with ``code`` until ``selector`` is in its output."""
    ms = nb.page.evaluate(TIME_CELL, [code, selector])
    if ms < 0:
        raise AssertionError(f"{code!r}: {selector!r} never appeared\n{nb.errors()}")
    nb.wait_idle(60)
    return ms / 1000


def kernel_seconds(nb: NotebookPage, code: str) -> float:
    """Seconds the kernel spends in ``code`` (run in a new cell)."""
    text = nb.append_and_run(
        f"import time as _t\n_t0 = _t.perf_counter()\n{code}\nprint(_t.perf_counter() - _t0)"
    )
    return float(text.split()[-1])


def panel_times(nb: NotebookPage, store: PanelStore) -> dict[str, float]:
    """In a fresh kernel: the first panel, each panel warm, the sweep's brush, a live run.

    Returns seconds (``live_points``: how many of the 30 live epochs the chart shows) and
    the main thread's long tasks during live training (``live_longest_stall``).
    """
    runs = store.runs
    times = {
        "first_panel": visible(
            nb,
            f"import nbtrack\nnbtrack.set_tracking_uri({store.uri!r})\n"
            f"nbtrack.show_run({runs[0]!r})",
            ".nbtrack-panel .nbc-lines .nbc-trace",
        )
    }
    nb.append_and_run(f"exp = {store.experiment!r}\nfrom IPython.display import display")
    times["detail"] = visible(nb, f"nbtrack.show_run({runs[1]!r})", ".nbc-lines .nbc-trace")
    times["compare"] = visible(nb, f"nbtrack.compare_runs({runs[1:6]!r})", ".nbc-bars .nbc-bar")
    times["registry"] = visible(nb, "nbtrack.show_registry()", ".nbtrack-panel select option")
    times["table_10k"] = visible(
        nb, f"nbtrack.show_runs({store.experiment!r})", ".nbt-runs tbody tr[data-id]"
    )
    times["sweep"] = visible(
        nb, f"nbtrack.show_sweep({store.sweep!r})", ".nbc-parcoords[data-drawn] .nbc-run"
    )
    brushes = [nb.page.evaluate(BRUSH, span) for span in ([0.3, 0.7], [0.2, 0.5], [0.4, 0.9])]
    if min(brushes) < 0:
        raise AssertionError(f"a brush on the sweep recoloured no line: {brushes}")
    times["sweep_brush"] = sorted(brushes)[1] / 1000
    times["sweep_kernel"] = kernel_seconds(nb, f"nbtrack.show_sweep({store.sweep!r})")
    times.update(live_times(nb))
    return times


def live_times(nb: NotebookPage) -> dict[str, float]:
    """A run logging 30 epochs, 0.2 s apart, shown live: its first update and the stalls."""
    page = nb.page
    # from the cell's start to its chart's first point; then long tasks while the updates
    # arrive (the panel's own first rendering is not an update)
    times = {"live_first_update": visible_live(nb)}
    page.evaluate(LONG_TASKS)
    nb.wait_idle(60)
    with contextlib.suppress(Exception):  # a missing epoch is reported by live_points
        page.wait_for_function(f"() => ({LAST_POINTS})() === '30'", timeout=10_000)
    stalls = page.evaluate("() => window.__longTasks")
    times["live_longest_stall"] = max(stalls, default=0) / 1000
    times["live_points"] = float(page.evaluate(LAST_POINTS) or 0)
    return times


def visible_live(nb: NotebookPage) -> float:
    """Seconds from starting the live training cell until its chart shows a trace."""
    ms = nb.page.evaluate(TIME_CELL, [LIVE, ".nbc-lines .nbc-trace"])
    if ms < 0:
        raise AssertionError(f"the live chart never drew a trace\n{nb.errors()}")
    return ms / 1000


def table_times(nb: NotebookPage, uri: str, experiment: str) -> dict[str, float]:
    """The run table over a big store: first render, then filter, sort and page (medians)."""
    nb.append_and_run(f"nbtrack.set_tracking_uri({uri!r})")
    times = {
        "first_render": visible(
            nb, f"nbtrack.show_runs({experiment!r})", ".nbt-runs tbody tr[data-id]"
        )
    }
    acts = {
        "filter": [
            ("filter", "params.model = 'ridge' and metrics.rmse < 0.5"),
            ("filter", "params.model = 'lasso' and metrics.rmse < 0.5"),
            ("filter", "params.model = 'svr' and metrics.rmse < 0.5"),
        ],
        "sort": [("sort", "rmse")] * 3,  # ascending, descending, back to the default
        "page": [("page", "")] * 3,
    }
    for name, steps in acts.items():
        found = [nb.page.evaluate(TABLE_ACT, list(step)) for step in steps]
        if min(found) < 0:
            raise AssertionError(f"the run table never answered a {name}: {found}")
        times[name] = sorted(found)[1] / 1000
    return times
