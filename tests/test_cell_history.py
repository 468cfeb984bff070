"""What a %%track cell reads from the kernel's history, and the hidden-state warning."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import nbtrack
from nbtrack import cell_history
from nbtrack.magics import unload_ipython_extension


@pytest.mark.parametrize(
    ("source", "bound", "reads"),
    [
        ("y = x * 2", {"y"}, ["x"]),  # a plain read
        ("x = x + 1", {"x"}, ["x"]),  # read before it is rebound
        ("n += 1", {"n"}, ["n"]),  # an augmented assignment reads its target
        ("import numpy as np\nz = np.ones(k)", {"np", "z"}, ["k"]),  # imports bind
        ("def f(a):\n    return a + w\nv = f(1)", {"f", "v"}, ["w"]),  # free names of a def
        ("s = [i * m for i in range(3)]", {"s"}, ["range", "m"]),  # comprehension is local
        ("for i in items:\n    total = i", {"i", "total"}, ["items"]),  # the loop target binds
        ("%%track --name a\nscore = base", {"score"}, ["base"]),  # a %%track cell's body
        ("get_ipython().run_cell_magic('track', '', 'q = p\\n')", {"q"}, ["p"]),  # as in In
        ("x = = 1", set(), []),  # unparsable: nothing known
    ],
)
def test_names_bound_and_read(source, bound, reads):
    assert cell_history.names(source) == (bound, reads)


@pytest.fixture
def ip():
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "nbtrack")
    yield shell
    unload_ipython_extension(shell)
    InteractiveShell.clear_instance()
    cell_history._cell_ids.clear()


def run_cells(ip, *cells: str | tuple[str, str]) -> None:
    for cell in cells:
        source, cell_id = cell if isinstance(cell, tuple) else (cell, None)
        result = ip.run_cell(source, store_history=True, cell_id=cell_id)
        result.raise_error()


def stored_history(run) -> dict:
    path = Path(run.info.artifact_uri.removeprefix("file://"), cell_history.HISTORY_FILE)
    return json.loads(path.read_text())


def test_in_order_cells_give_no_warning_and_are_stored_for_reproduce(ip):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_cells(ip, "x = 1", "y = x * 2", "%%track\nscore = y + 1")
    run = nbtrack.last_active_run()
    history = stored_history(run)
    assert history["cells"][-3:] == ["x = 1", "y = x * 2", "%%track\nscore = y + 1"]
    assert history["reads"] == {"y": len(history["cells"]) - 1}
    assert history["hidden_state"] == []


def test_stale_value_from_a_cell_executed_out_of_order_warns(ip):
    with pytest.warns(UserWarning, match="nbtrack: hidden state") as caught:
        run_cells(ip, "x = 1", "y = x * 2", "x = 5", "%%track\nscore = y + 1")
    message = str(caught[0].message)
    assert "'y' comes from cell" in message
    assert "which read 'x' before cell" in message
    assert "(executed out of order)" in message
    run = nbtrack.last_active_run()
    assert stored_history(run)["hidden_state"] == [message.split(": ", 2)[2].split(". ")[0]]


def test_value_from_a_cell_edited_since_it_ran_warns(ip):
    with pytest.warns(UserWarning, match="edited since it ran"):
        run_cells(
            ip,
            ("a = 1\nb = 2", "cell-1"),
            ("b = 3", "cell-1"),  # the same cell, edited: it no longer defines a
            "%%track\nscore = a + b",
        )


def test_stale_value_deeper_in_the_chain_warns(ip):
    with pytest.warns(UserWarning, match="'z' ← 'y' comes from cell"):
        run_cells(ip, "x = 1", "y = x + 1", "z = y * 2", "x = 7", "%%track\nout = z")


def test_rerunning_a_cell_unchanged_is_not_hidden_state(ip):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_cells(ip, "x = 1", "y = x * 2", "x = 1", "%%track\nscore = y + 1")


def test_edited_cell_is_seen_through_a_real_kernel(fresh_store):
    """JupyterLab sends each cell's id in the execute request's metadata, as done here."""
    import os

    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(
        kernel_name="python3", env={**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)}
    )

    def run(code: str, cell_id: str) -> str:
        content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
        msg = kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
        kc.shell_channel.send(msg)
        streams = []
        while True:
            reply = kc.get_iopub_msg(timeout=60)
            if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if reply["msg_type"] == "stream":
                streams.append(reply["content"]["text"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return "".join(streams)

    try:
        run("%load_ext nbtrack", "c0")
        run("a = 1\nb = 2", "c1")
        run("b = 3", "c1")  # cell c1 edited: it no longer defines a
        shown = run("%%track\nscore = a + b", "c2")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "nbtrack: hidden state: 'a' comes from cell [2], edited and re-run as [3]" in shown
