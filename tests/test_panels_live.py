"""Live updates: panels refresh when the store changes, here or in another process."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import nbtrack
from nbtrack.panels import RunTable, live, show_run, show_runs
from nbtrack.panels.live import REFRESHER

WAIT_S = 20.0  # generous: a loaded CI machine; the refresher polls ten times a second


@pytest.fixture(autouse=True)
def close_live_panels():
    yield
    for panel in REFRESHER.panels():
        panel.close()  # no refresher left polling a later test's store


def log_elsewhere(code: str) -> None:
    """Run nbtrack code in another Python process on the same store."""
    subprocess.run([sys.executable, "-c", f"import nbtrack\n{code}"], check=True)


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"the panel did not refresh within {WAIT_S:.0f} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def demo():
    nbtrack.set_experiment("live")
    ids = []
    for i in range(3):
        time.sleep(0.002)  # distinct start times (ms): the default order is newest first
        with nbtrack.start_run(run_name=f"r{i}") as run:
            nbtrack.log_param("i", i)
            nbtrack.log_metric("m", i)
        ids.append(run.info.run_id)
    return ids


def test_refreshes_after_a_write_from_another_process(demo):
    table = show_runs()  # live: polled by the refresher thread
    assert table.grid.total == 3 and table.live
    log_elsewhere(
        "nbtrack.set_experiment('live')\n"
        "with nbtrack.start_run(run_name='from-elsewhere'):\n"
        "    nbtrack.log_metric('m', 9)"
    )
    wait_until(lambda: table.grid.total == 4, "a run logged by another process")
    assert table.grid.rows[0]["name"] == "from-elsewhere"


def test_refreshes_while_this_kernel_logs(demo):
    table = show_runs()
    time.sleep(0.002)
    with nbtrack.start_run(run_name="running"):
        wait_until(lambda: table.grid.total == 4, "a run started in this process")
        assert table.grid.rows[0]["status"] == "RUNNING"
        nbtrack.log_metric("m", 1.5)
        wait_until(lambda: table.grid.rows[0]["m"].get("m") == 1.5, "a metric logged here")
    wait_until(lambda: table.grid.rows[0]["status"] == "FINISHED", "the run's end")


def test_refresh_keeps_filter_sort_selection_page_and_expansion(demo):
    with nbtrack.start_run(run_name="parent") as parent:
        with nbtrack.start_run(run_name="kid", nested=True):
            nbtrack.log_param("i", 7)
    table = show_runs(live=False, page_size=1)
    grid = table.grid
    grid.filter = "params.i != '1'"
    grid.order_by = ["params.`i` DESC"]
    grid.page = 1
    grid.expanded = [parent.info.run_id]
    table.selected_run_ids = [demo[0]]
    state = (grid.filter, grid.order_by, grid.page, grid.expanded, grid.selected_run_ids)
    log_elsewhere(f"nbtrack.MlflowClient().set_tag({demo[2]!r}, 'note', 'x')")
    table.poll()
    assert (grid.filter, grid.order_by, grid.page, grid.expanded, grid.selected_run_ids) == state
    shown = next(r for r in grid.rows if "id" in r)
    assert shown["id"] == demo[2] and shown["t"] == {"note": "x"}


def test_poll_reads_nothing_when_the_store_did_not_change(demo):
    table = show_runs(live=False)
    calls = []
    table._update = lambda: calls.append(1)  # type: ignore[method-assign]
    table.poll()
    assert calls == []
    nbtrack.MlflowClient().set_tag(demo[0], "k", "v")
    table.poll()
    assert calls == [1]


def test_close_stops_polling(demo):
    table = show_runs()
    assert table in REFRESHER.panels()
    table.close()
    assert table not in REFRESHER.panels() and not table.live
    calls = []
    table._update = lambda: calls.append(1)  # type: ignore[method-assign]
    nbtrack.MlflowClient().set_tag(demo[0], "k", "v")
    table.poll()
    assert calls == []


def test_polling_pauses_while_no_view_is_shown(demo):
    table = show_runs(live=False)
    calls = []
    table._update = lambda: calls.append(1)  # type: ignore[method-assign]
    presence = table._presence
    presence._on_msg(presence, {"event": "attached"}, [])
    presence._on_msg(presence, {"event": "detached"}, [])  # the output was cleared
    nbtrack.MlflowClient().set_tag(demo[0], "k", "v")
    table.poll()
    assert calls == []
    presence._on_msg(presence, {"event": "attached"}, [])  # shown again
    table.poll()
    assert calls == [1]


def test_refresh_errors_show_in_the_panel(demo):
    table = show_runs(live=False)

    def broken() -> None:
        raise RuntimeError("refresh exploded")

    table._update = broken  # type: ignore[method-assign]
    nbtrack.MlflowClient().set_tag(demo[0], "k", "v")
    table.poll()
    assert "refresh exploded" in table.output.outputs[-1]["text"]


def test_run_detail_follows_a_running_run(demo):
    client = nbtrack.MlflowClient()
    run_id = client.create_run(client.get_experiment_by_name("live").experiment_id).info.run_id
    detail = show_run(run_id)
    assert detail.metric_choice.options == ()
    log_elsewhere(
        f"c = nbtrack.MlflowClient()\n"
        f"for s in range(5):\n"
        f"    c.log_metric({run_id!r}, 'loss', 1 / (s + 1), step=s)"
    )
    wait_until(lambda: detail.metric_choice.options == ("loss",), "a metric from elsewhere")
    wait_until(
        lambda: detail.figure is not None and len(detail.figure.data["series"][0]["x"]) == 5,
        "the metric's history chart",
    )


def test_panels_of_one_store_share_the_poll(demo):
    first, second = show_runs(live=False), RunTable(live=False)
    assert first.queries is second.queries  # one connection and one change check per store


def test_a_new_panel_refreshes_at_once_then_at_most_twice_a_second(demo, monkeypatch):
    table = show_runs(live=False)
    calls = []
    table._update = lambda: calls.append(time.monotonic())  # type: ignore[method-assign]
    client = nbtrack.MlflowClient()
    for value in ("a", "b"):  # young: each change shows a tenth of a second later at most
        client.set_tag(demo[0], "k", value)
        table.poll()
        time.sleep(live.FIRST_GAP_S + 0.02)
    assert len(calls) == 2
    table._created -= live.FIRST_UPDATES_S  # as if shown a while ago
    for value in ("c", "d"):
        client.set_tag(demo[0], "k", value)
        table.poll()
        time.sleep(live.FIRST_GAP_S + 0.02)
    assert len(calls) == 3  # the second waits for the steady gap
    later = calls[-1] + live.STEADY_GAP_S + 0.01
    monkeypatch.setattr(time, "monotonic", lambda: later)
    table.poll()
    assert len(calls) == 4


class _Panel:
    """A panel for the refresher alone: records when it was polled; ``cost`` s to refresh."""

    def __init__(self, name: str, cost: float, polled: list[str]):
        self.name, self.cost, self.polled = name, cost, polled

    def poll(self) -> None:
        self.polled.append(self.name)
        time.sleep(self.cost)


def test_cheap_panels_are_polled_before_costly_ones():
    polled: list[str] = []
    refresher = live.Refresher(interval=0.01)
    panels = [_Panel("big table", 0.05, polled), _Panel("run detail", 0.0, polled)]
    try:
        for panel in panels:
            refresher.add(panel)
        wait_until(lambda: len(polled) >= 6, "three rounds of polls")
    finally:
        refresher.stop()
    assert polled[-2:] == ["run detail", "big table"]
