"""Panel outputs (nbtrack.panels.outputs): shown under a display id, re-rendered when a run
they show ends, so the output a notebook saves is the final state.

Through IPython's own shell with a capturing display publisher; a real kernel and nbclient
are in ``test_panels_static.py``, JupyterLab in ``tests/browser/test_artifacts.py``.
"""

from __future__ import annotations

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import nbtrack
from nbtrack.panels import outputs
from nbtrack.store import panels as store_panels


@pytest.fixture
def ip():
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.display_pub = CapturingDisplayPublisher()
    shell.user_ns["nbtrack"] = nbtrack
    yield shell
    for panel in list(outputs._shown):
        panel.close()  # a closed panel is never re-rendered
    if shell in outputs._hooked:
        shell.events.unregister("post_run_cell", outputs.rerender_ended)
        outputs._hooked.discard(shell)
    InteractiveShell.clear_instance()  # later tests run outside IPython again
    store_panels.close_all()


def published(shell) -> list[dict]:
    return list(shell.display_pub.outputs)


def test_a_panel_is_rerendered_once_when_its_run_ends(ip):
    ip.run_cell("run = nbtrack.start_run(run_name='live')\nnbtrack.log_metric('loss', 0.5)")
    ip.run_cell("panel = nbtrack.show_run(run.info.run_id, live=False)\ndisplay(panel)")
    (first,) = published(ip)
    display_id = first["transient"]["display_id"]
    assert "RUNNING" in first["data"]["text/html"] and not first["update"]
    assert "application/vnd.jupyter.widget-view+json" in first["data"]

    ip.run_cell("nbtrack.log_metric('loss', 0.25)")  # still running: nothing re-rendered
    assert len(published(ip)) == 1
    ip.run_cell("nbtrack.end_run()")
    _, update = published(ip)
    assert update["update"] and update["transient"]["display_id"] == display_id
    html = update["data"]["text/html"]
    assert "FINISHED" in html and "RUNNING" not in html and "0.25" in html
    assert "FINISHED" in update["data"]["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" in update["data"]  # still a widget

    ip.run_cell("x = 1")  # ended: never re-rendered again
    assert len(published(ip)) == 2
    assert outputs.shown(ip.user_ns["panel"]).renders == 1


def test_compare_rerenders_when_one_of_its_runs_ends(ip):
    ip.run_cell(
        "with nbtrack.start_run() as done:\n    nbtrack.log_metric('m', 1)\n"
        "running = nbtrack.start_run()\n"
        "panel = nbtrack.compare_runs([done.info.run_id, running.info.run_id], live=False)\n"
        "display(panel)"
    )
    ip.run_cell("nbtrack.log_metric('m', 2)\nnbtrack.end_run('KILLED')")
    _, update = published(ip)
    assert update["update"]
    assert update["data"]["text/plain"].splitlines()[-1].split() == ["metrics.m", "1", "2"]
    assert outputs.shown(ip.user_ns["panel"]).statuses == {
        ip.user_ns["done"].info.run_id: "FINISHED",
        ip.user_ns["running"].info.run_id: "KILLED",
    }


def test_a_panel_of_finished_runs_reads_nothing_after_cells(ip, monkeypatch):
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 1)
    ip.user_ns["run_id"] = run.info.run_id
    ip.run_cell("display(nbtrack.show_run(run_id, live=False))")
    calls = []
    monkeypatch.setattr(outputs, "_statuses_now", lambda *a: calls.append(a) or {})
    ip.run_cell("x = 1")
    assert calls == [] and len(published(ip)) == 1


def test_the_last_expression_is_shown_the_same_way(ip):
    ip.run_cell("run = nbtrack.start_run()")
    ip.run_cell("nbtrack.show_run(run.info.run_id, live=False)")
    (shown,) = published(ip)
    assert shown["transient"]["display_id"] and "RUNNING" in shown["data"]["text/html"]
    ip.run_cell("nbtrack.end_run()")
    assert "FINISHED" in published(ip)[-1]["data"]["text/html"]


def test_a_run_ended_elsewhere_rerenders_on_the_live_refresh(ip):
    ip.run_cell("run = nbtrack.start_run()\npanel = nbtrack.show_run(run.info.run_id, live=False)")
    ip.run_cell("display(panel)")
    panel = ip.user_ns["panel"]
    nbtrack.MlflowClient().set_terminated(ip.user_ns["run"].info.run_id, "FAILED")
    panel.poll()  # what the refresher thread does twice a second
    _, update = published(ip)
    assert update["update"] and "FAILED" in update["data"]["text/html"]
    panel.poll()
    assert len(published(ip)) == 2  # sent once
    ip.run_cell("x = 1")  # the cell running now gets it too (nbclient reads only its own)
    assert len(published(ip)) == 3 and "FAILED" in published(ip)[-1]["data"]["text/html"]
    ip.run_cell("x = 2")
    assert len(published(ip)) == 3


def test_a_terminal_prints_the_panel_once(ip, monkeypatch, capsys):
    from IPython.core.displaypub import DisplayPublisher

    monkeypatch.setattr(ip, "display_pub", DisplayPublisher(shell=ip))  # terminal IPython's
    ip.run_cell("run = nbtrack.start_run(run_name='term')")
    ip.run_cell("nbtrack.show_run(run.info.run_id, live=False)")
    ip.run_cell("nbtrack.end_run()")
    assert capsys.readouterr().out.count("Run term (") == 1
    assert all(p._closed for p in outputs._shown)  # nothing recorded for re-rendering


@pytest.mark.parametrize(
    "show",
    [
        "nbtrack.show_runs(live=False)",
        "nbtrack.show_sweep(parent.info.run_id, live=False)",
    ],
)
def test_the_run_table_and_the_sweep_rerender_when_their_run_ends(ip, show):
    ip.run_cell(
        "parent = nbtrack.start_run(run_name='search')\n"
        "for c in (0.1, 1.0):\n"
        "    with nbtrack.start_run(nested=True):\n"
        "        nbtrack.log_param('C', c)\n        nbtrack.log_metric('score', c)\n"
        f"panel = {show}\ndisplay(panel)"
    )
    (first,) = published(ip)
    assert not first["update"]
    ip.run_cell("nbtrack.end_run()")
    _, update = published(ip)
    assert update["update"]
    assert outputs.shown(ip.user_ns["panel"]).statuses[ip.user_ns["parent"].info.run_id] == (
        "FINISHED"
    )
