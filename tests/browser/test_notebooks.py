"""The demo notebooks in a real JupyterLab: every cell runs and every panel renders.

Each notebook of ``notebooks/`` is opened in headless Chromium (the harness of
``tests/browser/jupyterlab.py``), run with *Run All Cells*, and checked as a person would
look at it: each panel is on screen (no "Error displaying widget" or "Loading widget..."
left), the %%track summaries end in the right status, the only Python exceptions are those
of the cells tagged ``raises-exception``, and the browser logged no error. A screenshot of
each panel is written to ``tests/artifacts/browser/<notebook>-cellNN.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# Per notebook: cell id -> a selector that is inside that cell's output once its panel
# rendered. Every nbtrack panel's root carries the class nbtrack-panel.
PANELS = {
    "01-quickstart.ipynb": {
        "01-16": ".nbtrack-panel .nbt-runs tbody tr[data-id]",  # the run table
    },
    "02-sweep.ipynb": {
        "02-06": ".nbtrack-panel .nbc-parcoords .nbc-run",  # parallel coordinates
        "02-10": ".nbtrack-panel .nbc-bars .nbc-bar",  # compare: the latest-value bars
        "02-16": ".nbtrack-panel .nbt-runs tbody tr[data-id]",
    },
    "03-model-card.ipynb": {
        "03-12": ".nbtrack-panel .nbtrack-model-card",  # registry browser, with its card
        "03-14": ".nbtrack-model-card",  # the champion's card, inline
        "03-15": ".nbtrack-model-card",  # the challenger's
    },
    "04-live-training.ipynb": {
        "04-05": ".nbtrack-panel .nbc-lines .nbc-trace",  # the live chart of show_run
        "04-11": ".nbtrack-panel .nbt-runs tbody tr[data-id]",
    },
    "05-evaluate.ipynb": {
        "05-04": ".nbtrack-evaluation img",  # the report's plots
        "05-07": ".nbtrack-evaluation img",  # with the baseline
        "05-11": ".nbtrack-evaluation img",  # with the gate's checks
    },
}
# Per notebook: %%track cell id -> the status its run summary ends with.
SUMMARIES = {
    "01-quickstart.ipynb": {"01-08": "FINISHED"},
    "04-live-training.ipynb": {"04-05": "FINISHED", "04-07": "FAILED", "04-09": "KILLED"},
}
# Cells that raise on purpose (tagged raises-exception) and what they raise.
EXPECTED_EXCEPTIONS = {
    "04-live-training.ipynb": {"04-07": "ValueError", "04-09": "KeyboardInterrupt"},
}


# The live chart of 04 is redrawn from the store while the cell trains: afterwards the
# browser's copy of the figure holds one point per epoch, not a stale first drawing.
CHART_POINTS = {"04-live-training.ipynb": {"04-05": 30}}
# How the harness reports a cell's exception: "cell 7: Python exception ValueError: ...".
EXCEPTION = re.compile(r"cell \d+: Python exception \w+")


def _index(nb: nbformat.NotebookNode, cell_id: str) -> int:
    return next(i for i, cell in enumerate(nb.cells) if cell.id == cell_id)


@pytest.mark.parametrize("name", sorted(PANELS))
def test_notebook_runs_in_jupyterlab_and_every_panel_renders(
    name: str, open_notebook, artifacts_dir: Path
) -> None:
    source = NOTEBOOKS / name
    nb_file = nbformat.read(source, as_version=4)
    nb = open_notebook(source)
    nb.run_all(timeout=300)

    # Every code cell runs: a cell tagged raises-exception does not stop Run All. (Wait for
    # it: with such cells, the Run All command can resolve before the last cells ran.)
    nb.page.wait_for_function(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
            .every(c => c.model.type !== 'code' || c.model.executionCount)""",
        timeout=120_000,
        polling=200,
    )
    nb.wait_idle()

    panels = {_index(nb_file, cell_id): sel for cell_id, sel in PANELS[name].items()}
    for index, selector in panels.items():
        nb.wait_for(f".jp-Cell:nth-child({index + 1}) {selector}", timeout=60)
    nb.wait_widgets_rendered()

    for cell_id, status in SUMMARIES.get(name, {}).items():
        text = nb.output_text(_index(nb_file, cell_id))
        assert f"· {status} ·" in text, f"cell {cell_id}: summary is not {status}:\n{text}"

    expected = {
        f"cell {_index(nb_file, cell_id)}: Python exception {ename}"
        for cell_id, ename in EXPECTED_EXCEPTIONS.get(name, {}).items()
    }
    errors = nb.errors()
    raised = {m.group(0) for e in errors if (m := EXCEPTION.match(e))}
    assert raised == expected, "\n".join(errors)
    unexpected = [e for e in errors if not EXCEPTION.match(e)]
    assert unexpected == [], "\n".join(unexpected)

    for cell_id, count in CHART_POINTS.get(name, {}).items():
        plot = nb.wait_for(f".jp-Cell:nth-child({_index(nb_file, cell_id) + 1}) .nbc-lines")
        points = plot.evaluate(
            "el => [...el.querySelectorAll('.nbc-trace')].map(p => Number(p.dataset.points))"
        )
        assert points and max(points) == count, f"cell {cell_id}: chart points {points}"

    shots = nb.screenshot_outputs(artifacts_dir, Path(name).stem, cells=sorted(panels))
    assert len(shots) == len(panels)
