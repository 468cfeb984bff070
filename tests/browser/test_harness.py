"""The harness itself, on the widget kinds nbtrack's panels are made of.

One notebook, built here, shows a plain ipywidgets Button, a plotly ``FigureWidget`` with
``Parcoords``, an anywidget ES module and a Markdown output. The test runs it in JupyterLab
in headless Chromium, checks each rendered, drives round trips between browser and kernel,
and saves a screenshot of every output under ``tests/artifacts/browser/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .jupyterlab import BrowserTestError

BUTTON = """\
import ipywidgets as widgets

counter = 0

def add_one(_button):
    global counter
    counter += 1

button = widgets.Button(description="Add one", button_style="primary")
button.on_click(add_one)
button
"""

PARCOORDS = """\
import plotly.graph_objects as go

figure = go.FigureWidget(go.Parcoords(
    line=dict(color=[0.91, 0.85, 0.78, 0.95], colorscale="Viridis", showscale=True),
    dimensions=[
        dict(label="alpha", values=[0.001, 0.01, 0.1, 1.0]),
        dict(label="l1_ratio", values=[0.1, 0.5, 0.9, 0.5]),
        dict(label="r2", values=[0.91, 0.85, 0.78, 0.95]),
    ],
))
figure
"""

ANYWIDGET = '''\
import anywidget
import traitlets

class Counter(anywidget.AnyWidget):
    _esm = """
    export default {
      render({ model, el }) {
        const button = document.createElement("button");
        button.dataset.testid = "esm-counter";
        const update = () => {
          button.textContent = `clicked ${model.get("value")} times`;
          button.dataset.value = String(model.get("value"));
        };
        button.addEventListener("click", () => {
          model.set("value", model.get("value") + 1);
          model.save_changes();
        });
        model.on("change:value", update);
        update();
        el.appendChild(button);
        return () => model.off("change:value", update);
      },
    };
    """
    value = traitlets.Int(0).tag(sync=True)

esm_counter = Counter()
esm_counter
'''

MARKDOWN = """\
from IPython.display import Markdown, display

display(Markdown("## Harness check\\n\\nA **Markdown** output with a list:\\n\\n- one\\n- two"))
"""


def widget_notebook() -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell("# Browser harness smoke test"),
            new_code_cell(BUTTON),  # 1
            new_code_cell(PARCOORDS),  # 2
            new_code_cell(ANYWIDGET),  # 3
            new_code_cell(MARKDOWN),  # 4
        ]
    )


def test_widgets_render_and_round_trip(open_notebook, artifacts_dir: Path) -> None:
    nb = open_notebook(widget_notebook(), "harness.ipynb")
    assert nb.run_all(), nb.errors()

    # ipywidgets: a click in the browser reaches the kernel's callback.
    button = nb.wait_for(".jp-Cell:nth-child(2) .widget-button")
    assert button.inner_text() == "Add one"
    button.click()
    assert nb.append_and_run("print(counter)") == "1", nb.errors()

    # plotly FigureWidget: the parcoords trace drew its three axes, and its lines in WebGL.
    nb.wait_for(".js-plotly-plot .parcoords")
    axes = nb.output(2).locator(".js-plotly-plot .parcoords .y-axis")
    assert axes.count() == 3, nb.errors()
    assert nb.output(2).locator(".js-plotly-plot canvas.gl-canvas").count() > 0
    assert nb.append_and_run("print(len(figure.data[0].dimensions))") == "3"

    # anywidget: browser → kernel and kernel → browser through a synced trait.
    esm = nb.wait_for('[data-testid="esm-counter"]')
    esm.click()
    esm.click()
    nb.wait_for('[data-testid="esm-counter"][data-value="2"]')
    assert nb.append_and_run("print(esm_counter.value)") == "2"
    nb.append_and_run("esm_counter.value = 41")
    nb.wait_for('[data-testid="esm-counter"][data-value="41"]')
    assert esm.inner_text() == "clicked 41 times"

    # Markdown output.
    heading = nb.wait_for(".jp-RenderedMarkdown h2")
    assert heading.inner_text().startswith("Harness check")

    nb.wait_widgets_rendered()
    shots = nb.screenshot_outputs(artifacts_dir, "harness", cells=[1, 2, 3, 4])
    assert [p.name for p in shots] == [f"harness-cell{i:02d}.png" for i in (1, 2, 3, 4)]
    nb.assert_no_errors()


# Each case: a cell that goes wrong in its own way, and what errors() must then report.
# The cells run in this order in one notebook; the failing cell comes last because the
# kernel skips the cells after an error.
ERROR_CASES = [
    # a widget callback raises (after the click below): the kernel's traceback
    (
        "import ipywidgets as widgets\n"
        "def boom(_button):\n"
        "    raise KeyError('callback failed')\n"
        "boom_button = widgets.Button(description='Boom')\n"
        "boom_button.on_click(boom)\n"
        "boom_button",
        "kernel, outside a cell: Python exception KeyError: 'callback failed'",
    ),
    # a widget whose model class no frontend module provides: ipywidgets' error view
    (
        "import ipywidgets as widgets, traitlets\n"
        "class Missing(widgets.DOMWidget):\n"
        "    _model_name = traitlets.Unicode('MissingModel').tag(sync=True)\n"
        "    _model_module = traitlets.Unicode('no-such-module').tag(sync=True)\n"
        "    _view_name = traitlets.Unicode('MissingView').tag(sync=True)\n"
        "    _view_module = traitlets.Unicode('no-such-module').tag(sync=True)\n"
        "Missing()",
        "output says 'Click to show javascript error'",
    ),
    # an ES module whose render throws: an uncaught error in the page
    (
        "import anywidget\n"
        "class Broken(anywidget.AnyWidget):\n"
        "    _esm = 'export default { render() { throw new Error(\"render exploded\"); } };'\n"
        "Broken()",
        "page error: render exploded",
    ),
    # a trait observer raises on a change from the browser
    (
        "import anywidget, traitlets\n"
        "class Picky(anywidget.AnyWidget):\n"
        "    _esm = 'export default { render({ model }) {"
        ' model.set("value", 1); model.save_changes(); } };\'\n'
        "    value = traitlets.Int(0).tag(sync=True)\n"
        "    @traitlets.observe('value')\n"
        "    def _refuse(self, change):\n"
        "        raise ValueError('observer failed')\n"
        "Picky()",
        "kernel, outside a cell: Python exception ValueError: observer failed",
    ),
    # a thread dies: its traceback lands in the cell's output
    (
        "import threading\n"
        "thread = threading.Thread(target=lambda: 1 / 0)\n"
        "thread.start()\n"
        "thread.join()",
        "cell 4: output shows a Python traceback",
    ),
    # a cell raises
    ("1 / 0", "cell 5: Python exception ZeroDivisionError: division by zero"),
]


def test_errors_are_reported(open_notebook) -> None:
    cells = [new_code_cell(code) for code, _ in ERROR_CASES]
    nb = open_notebook(new_notebook(cells=cells), "errors.ipynb")
    assert nb.errors(settle=0) == []
    assert nb.run_all() is False  # the last cell raised
    nb.wait_for(".widget-button").click()
    nb.append_and_run("print('after the click')")
    errors = nb.errors()
    for _, expected in ERROR_CASES:
        assert any(expected in error for error in errors), f"{expected!r} not in {errors}"
    with pytest.raises(BrowserTestError, match="division by zero"):
        nb.assert_no_errors()
