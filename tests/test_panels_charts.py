"""The chart engine (nbtrack.panels.charts): one shared library, charts born with their data.

What reaches the browser is checked on the comm messages themselves: a recording comm
stands in for the kernel's, so each widget's first state (``comm_open``) and every later
update are seen as the browser would receive them.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import pytest
from comm.base_comm import BaseComm
from ipywidgets.widgets import widget as widget_module

import nbtrack
from nbtrack.entities import Metric, Param
from nbtrack.panels import (
    CompareRuns,
    ParallelCoordinates,
    RunDetail,
    RunTable,
    charts,
)
from nbtrack.store import panels as store_panels

LIMIT_BYTES = 200 * 1024  # per panel at 100 runs, once the first chart was shown


class Recorded(BaseComm):
    """A comm that keeps what it would send to the browser."""

    log: ClassVar[list[tuple[str, str, dict]]] = []

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        Recorded.log.append((msg_type, self.comm_id, data or {}))


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, dict]]:
    """The comm messages of every widget created during the test, in order."""
    Recorded.log = []
    monkeypatch.setattr(widget_module.comm, "create_comm", lambda **kw: Recorded(**kw))
    monkeypatch.setattr(charts, "_library", None)  # a library opened on the recording comm
    yield Recorded.log
    store_panels.close_all()


@pytest.fixture
def hundred_runs() -> dict[str, Any]:
    """100 runs (each a 20-step loss and two metrics) and a sweep of 100 children."""
    client = nbtrack.MlflowClient()
    exp = client.create_experiment("hundred")
    ids = []
    for i in range(100):
        run_id = client.create_run(exp, run_name=f"run-{i}").info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1 / (s + 1 + i), 0, s) for s in range(20)]
            + [Metric("rmse", i / 100, 0, 0), Metric("r2", 1 - i / 100, 0, 0)],
            params=[Param("alpha", str(10 ** -(i % 5))), Param("model", "ridge")],
        )
        ids.append(run_id)
    parent = client.create_run(exp, run_name="sweep").info.run_id
    for i in range(100):
        child = client.create_run(exp, tags={"mlflow.parentRunId": parent}).info.run_id
        client.log_batch(
            child,
            params=[
                Param("lr", str(10 ** -(i % 5))),
                Param("depth", str(i % 7)),
                Param("act", ["relu", "tanh", "gelu"][i % 3]),
            ],
            metrics=[Metric("loss", 1 / (1 + i), 0, 0), Metric("acc", (i % 100) / 100, 0, 0)],
        )
    return {"client": client, "ids": ids, "parent": parent}


def opened(sent: list, since: int = 0) -> dict[str, dict]:
    """comm id -> first state, of the widgets opened after message ``since``."""
    return {cid: data["state"] for kind, cid, data in sent[since:] if kind == "comm_open"}


def size(sent: list, since: int = 0) -> int:
    """Bytes of every message sent after message ``since`` (JSON, as the kernel sends it)."""
    return sum(len(json.dumps(data)) for _, _, data in sent[since:])


def chart_states(sent: list, since: int = 0) -> list[dict]:
    return [
        s
        for s in opened(sent, since).values()
        if s.get("_model_name") == "AnyModel" and "library" in s
    ]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda d: RunDetail(d["ids"][1], client=d["client"], live=False), id="run detail"
        ),
        pytest.param(
            lambda d: CompareRuns(d["ids"][:5], client=d["client"], live=False), id="compare"
        ),
        pytest.param(
            lambda d: CompareRuns(d["ids"], client=d["client"], live=False), id="compare all 100"
        ),
        pytest.param(
            lambda d: ParallelCoordinates(d["parent"], client=d["client"], live=False), id="sweep"
        ),
    ],
)
def test_a_panel_sends_under_200_kb_once_the_library_is_on_the_page(sent, hundred_runs, make):
    RunDetail(hundred_runs["ids"][0], client=hundred_runs["client"], live=False)  # first chart
    start = len(sent)
    make(hundred_runs)
    assert 0 < size(sent, start) < LIMIT_BYTES
    states = chart_states(sent, start)
    assert states and all("code" not in s for s in states)
    # every chart is a small loader plus its data; the library is a reference
    assert {s["library"] for s in states} == {f"IPY_MODEL_{charts.shared_library().model_id}"}
    assert all(len(s["_esm"]) < 3000 for s in states)


def test_the_library_goes_to_the_page_once(sent, hundred_runs):
    client, ids = hundred_runs["client"], hundred_runs["ids"]
    for run_id in ids[:3]:
        RunDetail(run_id, client=client, live=False)
    CompareRuns(ids[:3], client=client, live=False)
    libraries = [s for s in opened(sent).values() if "code" in s and "digest" in s]
    assert len(libraries) == 1
    assert "export function render" in libraries[0]["code"] and libraries[0]["css"]
    assert {s["library_digest"] for s in chart_states(sent)} == {libraries[0]["digest"]}


def test_every_chart_is_created_with_its_data(sent, hundred_runs):
    client, ids = hundred_runs["client"], hundred_runs["ids"]
    RunDetail(ids[0], client=client, live=False)
    CompareRuns(ids[:3], client=client, live=False)
    ParallelCoordinates(hundred_runs["parent"], client=client, live=False)
    by_kind = {s["kind"]: s for s in chart_states(sent)}
    assert by_kind.keys() == {"lines", "bars", "parcoords"}
    lines = [s for s in chart_states(sent) if s["kind"] == "lines"]
    assert all(s["data"]["series"] and s["data"]["series"][0]["x"] for s in lines)
    assert by_kind["bars"]["data"]["metrics"]
    assert [len(a["values"]) for a in by_kind["parcoords"]["data"]["axes"]] == [100] * 5
    # and never filled afterwards: no chart's data moves while the panels are built
    charts_ids = {cid for cid, s in opened(sent).items() if "library" in s}
    updates = [
        d
        for kind, cid, d in sent
        if kind == "comm_msg" and cid in charts_ids and "data" in d.get("state", {})
    ]
    assert updates == []


def test_the_run_table_is_created_with_its_first_page(sent, hundred_runs):
    RunTable(
        [hundred_runs["client"].get_run(hundred_runs["ids"][0]).info.experiment_id],
        client=hundred_runs["client"],
        live=False,
    )
    (grid,) = [s for s in opened(sent).values() if s.get("_anywidget_id", "").endswith("RunGrid")]
    assert grid["total"] == 201 and grid["roots"] == 101  # the sweep children nest
    assert len(grid["rows"]) == 50 and grid["columns"]


def test_a_run_without_metrics_gets_its_chart_with_the_first_metric(sent):
    client = nbtrack.MlflowClient()
    run_id = client.create_run("0").info.run_id
    detail = RunDetail(run_id, client=client, live=False)
    assert detail.figure is None and chart_states(sent) == []
    client.log_metric(run_id, "loss", 0.5, step=0)
    client.log_metric(run_id, "loss", 0.25, step=1)
    detail.refresh()
    (state,) = chart_states(sent)
    assert state["data"]["series"][0]["y"] == [0.5, 0.25]


def test_non_finite_values_are_sent_as_missing(sent):
    chart = charts.Chart(
        "lines", {"series": [{"x": [0, 1, 2], "y": [1.0, math.nan, math.inf]}]}, {}
    )
    assert chart.data["series"][0]["y"] == [1.0, None, None]
    json.dumps(chart.get_state(), allow_nan=False)


def test_a_closed_library_is_replaced(sent):
    first = charts.shared_library()
    first.close()
    second = charts.shared_library()
    assert second is not first and second.comm is not None
    assert second.digest == first.digest


def test_clicking_a_line_names_its_run(sent, hundred_runs):
    sweep = ParallelCoordinates(hundred_runs["parent"], client=hundred_runs["client"], live=False)
    clicked: list[str] = []
    sweep.figure.on_run_click(clicked.append)
    run_id = sweep.run_ids[3]
    sweep.figure._handle_custom_msg({"event": "click", "run_id": run_id}, [])
    assert clicked == [run_id]
