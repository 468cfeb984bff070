"""Every test runs in a fresh temporary store and working directory, with no active run."""

from __future__ import annotations

import sys

import pytest

import nbtrack
from nbtrack import async_logging, store, tracking


@pytest.fixture(autouse=True)
def fresh_store(tmp_path, monkeypatch):
    """A new store file in a new working directory; the environment cleared of our vars."""
    for var in (
        "NBTRACK_TRACKING_URI",
        "NBTRACK_EXPERIMENT_NAME",
        "NBTRACK_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_EXPERIMENT_ID",
        "JPY_SESSION_NAME",
        "NBTRACK_RUN_ID",
        "MLFLOW_RUN_ID",
        "MLFLOW_ENABLE_ASYNC_LOGGING",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    tracking._reset_for_tests()
    db = tmp_path / "nbtrack.db"
    monkeypatch.setenv("NBTRACK_TRACKING_URI", f"sqlite:///{db}")
    yield db
    while nbtrack.active_run() is not None:
        nbtrack.end_run()
    _undo_autolog()
    async_logging.QUEUE.settle()  # nothing a test queued lands in the next test's store
    tracking._reset_for_tests()
    panels = sys.modules.get("nbtrack.store.panels")
    if panels is not None:
        panels.close_all()  # the panels' own connections, one per store file
    store.close_all()


@pytest.fixture
def keyed():
    """Runs with a metric rmse, a param alpha, and 'score' both a metric and a param."""
    nbtrack.set_experiment("keyed")
    for i in range(3):
        with nbtrack.start_run(run_name=f"r{i}"):
            nbtrack.log_metric("rmse", 50.0 + i * 5)
            nbtrack.log_metric("score", i)
            nbtrack.log_params({"alpha": i, "score": "x"})


def _undo_autolog() -> None:
    autolog = sys.modules.get("nbtrack.autolog.sklearn")
    if autolog is not None:
        autolog.autolog(disable=True)
