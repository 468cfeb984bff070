"""Every test runs in a fresh temporary store and working directory, with no active run."""

from __future__ import annotations

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
    store.close_all()


def _undo_autolog() -> None:
    import sys

    autolog = sys.modules.get("nbtrack.autolog.sklearn")
    if autolog is not None:
        autolog.autolog(disable=True)
