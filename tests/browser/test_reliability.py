"""Panels under load: two kernels Run All the demo notebooks at once, three times in a row.

The sweep notebook and the live-training notebook run side by side (one kernel each, one
tab each), which is what made charts come up empty and the sweep's linked table say
"0 runs" before the chart engine. After each round, every chart on both pages must have
its data drawn and every run table its rows, as the DOM shows them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAIR = ("02-sweep.ipynb", "04-live-training.ipynb")
ROUNDS = 3
# What each page must show after a round: charts by kind and run tables (at least).
EXPECTED = {
    "02-sweep.ipynb": {"parcoords": 1, "lines": 1, "bars": 1, "tables": 2},
    "04-live-training.ipynb": {"lines": 1, "tables": 1},
}
EXECUTION_COUNTS = """() => window.__nbPanel.content.widgets
    .filter(c => c.model.type === 'code').map(c => c.model.executionCount || 0)"""
DRAWN = """() => {
    const root = window.__nbPanel.node;
    const charts = [...root.querySelectorAll('.nbc-chart')].map(c => ({
        kind: c.dataset.kind,
        drawn: Number(c.dataset.drawn || 0),
        items: c.querySelectorAll('.nbc-run, .nbc-bar').length + [...c.querySelectorAll(
            '.nbc-trace')].reduce((n, p) => n + Number(p.dataset.points), 0),
    }));
    const tables = [...root.querySelectorAll('.nbt-runs')].map(t => ({
        rows: t.querySelectorAll('tbody tr[data-id]').length,
        count: (t.querySelector('.nbt-count') || {}).innerText || '',
    }));
    return { charts, tables };
}"""


@pytest.mark.slow
def test_two_kernels_run_all_three_times_and_every_panel_has_its_data(
    open_notebook, artifacts_dir: Path
) -> None:
    pages = {name: open_notebook(NOTEBOOKS / name) for name in PAIR}
    for round_ in range(1, ROUNDS + 1):
        before = {name: nb.page.evaluate(EXECUTION_COUNTS) for name, nb in pages.items()}
        for nb in pages.values():
            nb.start_run_all()
        for name, nb in pages.items():
            nb.finish_command(timeout=400)
            # every code cell ran again (cells tagged raises-exception do not stop Run All)
            nb.page.wait_for_function(
                """old => { const now = window.__nbPanel.content.widgets
                    .filter(c => c.model.type === 'code').map(c => c.model.executionCount || 0);
                    return now.every((n, i) => n > old[i]); }""",
                arg=before[name],
                timeout=120_000,
                polling=200,
            )
            nb.wait_idle(120)
            nb.wait_widgets_rendered(60)
        for name, nb in pages.items():
            expected = EXPECTED[name]
            charts = sum(v for k, v in expected.items() if k != "tables")
            # the last live refresh may still be on its way: give the page a few seconds,
            # then say what is missing
            with contextlib.suppress(PlaywrightTimeout):
                nb.page.wait_for_function(
                    f"""() => {{ const d = ({DRAWN})();
                        return d.charts.length >= {charts}
                            && d.charts.every(c => c.drawn && c.items > 0)
                            && d.tables.length >= {expected["tables"]}
                            && d.tables.every(t => t.rows > 0); }}""",
                    timeout=20_000,
                    polling=250,
                )
            drawn = nb.page.evaluate(DRAWN)
            kinds = [c["kind"] for c in drawn["charts"]]
            for kind, count in expected.items():
                if kind != "tables":
                    assert kinds.count(kind) >= count, (name, round_, drawn)
            empty = [c for c in drawn["charts"] if not c["drawn"] or c["items"] == 0]
            assert empty == [], (name, round_, drawn)
            assert len(drawn["tables"]) >= expected["tables"], (name, round_, drawn)
            assert all(
                t["rows"] > 0 and not t["count"].startswith("0 ") for t in drawn["tables"]
            ), (name, round_, drawn)
            stem = Path(name).stem
            nb.page.screenshot(path=str(artifacts_dir / f"reliability-{stem}-round{round_}.png"))
    for name, nb in pages.items():
        shots = nb.screenshot_outputs(artifacts_dir, f"reliability-{Path(name).stem}")
        assert shots, name
