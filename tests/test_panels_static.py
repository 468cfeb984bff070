"""Panels where no widget manager runs: a saved notebook keeps static HTML and text;
without the ``notebook`` extra, one clear error naming it.

nbviewer and GitHub show a notebook's saved ``text/html``; a terminal shows ``text/plain``.
The notebook is executed by nbclient (a real kernel, no browser), as CI or
``jupyter nbconvert --execute`` would, and its saved outputs are read back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]

SETUP = """\
import nbtrack
nbtrack.set_experiment("static")
with nbtrack.start_run(run_name="parent") as parent:
    for i, alpha in enumerate([0.01, 0.1, 1.0]):
        with nbtrack.start_run(run_name=f"child-{i}", nested=True) as child:
            nbtrack.log_params({"alpha": alpha, "solver": "saga"})
            nbtrack.log_metric("score", 0.8 + i / 10)
ids = [r.info.run_id for r in nbtrack.search_runs(filter_string="params.solver = 'saga'",
                                                  output_format="list")]
"""

# (code shown, a text its saved HTML must hold, a text its saved plain text must hold)
PANELS = [
    ("nbtrack.show_runs()", "parent (3 child runs)", "4 runs"),
    ("nbtrack.show_run(ids[0])", "alpha", "params:"),
    ("nbtrack.compare_runs(ids)", "Comparing 3 runs", "metrics.score"),
    ("nbtrack.show_sweep(parent.info.run_id)", "Sweep under parent", "Sweep under parent: 3 runs"),
    ("nbtrack.show_registry()", "Model registry", "Model registry"),
]


@pytest.mark.slow
def test_saved_notebook_holds_static_renderings(tmp_path):
    cells = [new_code_cell(SETUP)] + [new_code_cell(code) for code, _, _ in PANELS]
    notebook = new_notebook(cells=cells)
    NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    saved = nbformat.reads(nbformat.writes(notebook), as_version=4)
    for cell, (code, in_html, in_text) in zip(saved.cells[1:], PANELS, strict=True):
        (output,) = [o for o in cell.outputs if o.output_type == "display_data"]
        data = output["data"]
        assert "application/vnd.jupyter.widget-view+json" in data, code  # live in Jupyter
        assert in_html in data["text/html"], code  # what nbviewer and GitHub show
        assert "<script" not in data["text/html"], code
        assert in_text in data["text/plain"], code  # what a terminal shows


def execute(cells: list[str], folder: Path) -> nbformat.NotebookNode:
    """Run cells in a real kernel (nbclient), save the notebook, read it back."""
    notebook = new_notebook(cells=[new_code_cell(code) for code in cells])
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    path = folder / "saved.ipynb"
    nbformat.write(notebook, path)
    return nbformat.read(path, as_version=4)


def saved_html(cell: nbformat.NotebookNode) -> list[str]:
    return [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]


@pytest.mark.slow
def test_saved_panels_show_the_final_state_of_their_runs(tmp_path):
    """A panel shown while its run logs is saved as the run ended, not as it started."""
    saved = execute(
        [
            "import time, nbtrack\n%load_ext nbtrack",
            # a %%track cell showing its own run: the panel and the summary must agree
            "%%track\nrun_id = nbtrack.active_run().info.run_id\n"
            "display(nbtrack.show_run(run_id))\n"
            "for step in range(3):\n"
            "    nbtrack.log_metric('loss', 1 / (step + 1), step=step)\n"
            "    time.sleep(0.2)",
            # a run started in one cell, shown (alone and compared) in the next, ended later
            "other = nbtrack.start_run(run_name='later')",
            "display(nbtrack.show_run(other.info.run_id))\n"
            "nbtrack.compare_runs([run_id, other.info.run_id])",
            "nbtrack.log_metric('acc', 0.875)\nnbtrack.end_run()",
        ],
        tmp_path,
    )
    tracked, _, shown, _ = saved.cells[1:]
    detail, summary = saved_html(tracked)
    assert "FINISHED" in summary and "RUNNING" not in summary
    assert "FINISHED" in detail and "RUNNING" not in detail and "0.3333" in detail
    later, compared = saved_html(shown)
    for html in (later, compared):
        assert "RUNNING" not in html and "0.875" in html
    assert "FINISHED" in later
    widget = "application/vnd.jupyter.widget-view+json"
    assert all(widget in o["data"] for o in shown.outputs)  # still live in Jupyter


@pytest.mark.parametrize("package", ["ipywidgets", "anywidget"])  # the charts need no plotly
def test_a_missing_extra_is_named(package):
    code = (
        f"import sys; sys.modules[{package!r}] = None\n"
        "import nbtrack\n"
        "try:\n"
        "    nbtrack.show_runs()\n"
        "except nbtrack.errors.MissingDependency as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert f"needs the '{package}' package" in result.stdout, result.stderr
    assert "pip install 'nbtrack[notebook]'" in result.stdout


def test_plain_python_prompt_prints_text_tables(tmp_path):
    """At an interactive ``python`` prompt (no IPython), panels print their text form."""
    session = "\n".join(
        [
            "import nbtrack",
            "nbtrack.set_experiment('plain')",
            "with nbtrack.start_run(run_name='fit') as run:",
            "    nbtrack.log_params({'alpha': 0.5, 'solver': 'saga'})",
            "    nbtrack.log_metric('rmse', 55.47)",
            "",
            "broken = nbtrack.start_run(run_name='broken')",
            "nbtrack.log_text('Traceback ...\\nValueError: alpha < 0\\n', 'traceback.txt')",
            "nbtrack.end_run('FAILED')",
            "nbtrack.show_runs(live=False)",
            "nbtrack.show_run(run.info.run_id, live=False)",
            "",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-i", "-q"],
        input=session,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out = result.stdout
    assert "RunTable(children" not in out and "RunGrid object" not in out
    header = next(line for line in out.splitlines() if line.startswith("Run name"))
    assert header.split()[:3] == ["Run", "name", "Status"]
    assert "metrics.rmse" in header  # metrics among the first columns
    assert "55.47" in out
    assert "Failed runs:\n  broken: ValueError: alpha < 0" in out
    assert "Run fit (" in out and "  rmse = 55.47" in out and "  solver = saga" in out
