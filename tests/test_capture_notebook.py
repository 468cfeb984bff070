"""%%track in a notebook executed by nbclient in a real ipykernel, logging to this test's store."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

import nbtrack
from nbtrack.entities import RunStatus

pytestmark = pytest.mark.slow

CELLS = [
    "%load_ext nbtrack",
    # logs step by step for ~1.5 s, so the summary is refreshed while the cell runs
    "%%track --name steps --metrics final\n"
    "import time\n"
    "import nbtrack\n"
    "lr = 0.1\n"
    "for step in range(5):\n"
    "    nbtrack.log_metric('loss', 1.0 / (step + 1), step=step)\n"
    "    time.sleep(0.3)\n"
    "final = 0.2",
    "%%track --name fit\n"
    "from sklearn.datasets import make_classification\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X, y = make_classification(n_samples=80, random_state=0)\n"
    "LogisticRegression(C=0.5).fit(X, y)",
    "%%track --name broken\nraise ValueError('boom')",
    "%nbtrack runs",
    # an estimator defined in the notebook, searched in two worker processes: the workers
    # receive the patched class by value, and must not log
    "%%track --name custom-search\n"
    "import numpy as np\n"
    "from sklearn.base import BaseEstimator, ClassifierMixin\n"
    "from sklearn.model_selection import GridSearchCV\n"
    "class Threshold(ClassifierMixin, BaseEstimator):\n"
    "    def __init__(self, cut=0.0):\n"
    "        self.cut = cut\n"
    "    def fit(self, X, y):\n"
    "        self.classes_ = np.unique(y)\n"
    "        return self\n"
    "    def predict(self, X):\n"
    "        return (X[:, 0] > self.cut).astype(int)\n"
    "GridSearchCV(Threshold(), {'cut': [-1.0, 0.0, 1.0]}, cv=3, n_jobs=2).fit(X, y);",
]


class RecordingClient(NotebookClient):
    """nbclient that keeps the type of every message a cell produced."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: dict[int, list[str]] = {}

    def process_message(self, msg, cell, cell_index):
        self.messages.setdefault(cell_index, []).append(msg["msg_type"])
        return super().process_message(msg, cell, cell_index)


@pytest.fixture
def executed(tmp_path, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "demo.ipynb"))  # as Jupyter Server does
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.cells[3].metadata["tags"] = ["raises-exception"]  # the one cell that fails on purpose
    client = RecordingClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # the kernel inherits NBTRACK_TRACKING_URI: this test's store
    return nb, client


def outputs_of(cell, kind):
    return [o for o in cell.outputs if o.output_type == kind]


def test_a_notebook_logs_its_tracked_cells(executed):
    nb, client = executed
    every_run = nbtrack.search_runs(search_all_experiments=True, output_format="list")
    runs = {r.info.run_name: r for r in every_run if "mlflow.parentRunId" not in r.data.tags}
    assert set(runs) == {"steps", "fit", "broken", "custom-search"}

    steps = runs["steps"]
    assert steps.info.status == RunStatus.FINISHED
    assert steps.data.params == {"lr": "0.1", "final": "0.2"}  # literal assignments
    assert steps.data.metrics == {"loss": 0.2, "final": 0.2}
    assert steps.data.tags["nbtrack.notebook.path"].endswith("demo.ipynb")
    assert steps.data.tags["nbtrack.cell.execution_count"] == str(nb.cells[1].execution_count)
    history = nbtrack.MlflowClient().get_metric_history(steps.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]

    # the summary was shown while the cell ran, then updated in place, and ends FINISHED
    assert "update_display_data" in client.messages[1]
    (summary,) = [o for o in outputs_of(nb.cells[1], "display_data")]
    assert "nbtrack-run-summary" in summary.data["text/html"]
    assert "FINISHED" in summary.data["text/plain"] and "loss=0.2" in summary.data["text/plain"]

    fit = runs["fit"]
    assert fit.data.params["C"] == "0.5"
    assert fit.data.tags["estimator_name"] == "LogisticRegression"
    assert "training_roc_auc" in fit.data.metrics
    assert outputs_of(nb.cells[2], "execute_result")  # the fitted model's repr, as usual

    broken = runs["broken"]
    assert broken.info.status == RunStatus.FAILED
    (error,) = outputs_of(nb.cells[3], "error")
    assert error.ename == "ValueError" and error.evalue == "boom"

    (table,) = outputs_of(nb.cells[4], "display_data")  # panels display under a display id
    assert "steps" in table.data["text/html"] and "broken" in table.data["text/html"]

    search = runs["custom-search"]
    assert search.info.status == RunStatus.FINISHED
    assert search.data.tags["estimator_name"] == "GridSearchCV"
    children = [r for r in every_run if "mlflow.parentRunId" in r.data.tags]
    assert sorted(r.data.params["cut"] for r in children) == ["-1.0", "0.0", "1.0"]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {search.info.run_id}
    assert len(every_run) == 7  # the workers' fits logged nothing
