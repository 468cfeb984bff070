"""``nbtrack models serve`` beside ``mlflow models serve`` 3.17 on one model: same answers.

MLflow's server runs from its own virtual environment (``NBTRACK_MLFLOW_PYTHON``, default
``.bench/mlflow-venv/bin/python``, which ``make bench`` builds) with ``--env-manager local``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest
from mlflow_servers import MLFLOW_PYTHON
from serving_helpers import ServerProcess, get, request

import nbtrack.sklearn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from sklearn.datasets import load_wine
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_wine(return_X_y=True, as_frame=True)
    folder = tmp_path_factory.mktemp("parity") / "model"
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    nbtrack.sklearn.save_model(tree, folder, input_example=x.head(2))
    return folder, x.iloc[[0, 100]]


@pytest.fixture(scope="module")
def servers(model, tmp_path_factory):
    """(nbtrack URL, MLflow URL), both serving the same folder."""
    if not MLFLOW_PYTHON.is_file():
        pytest.skip(f"no MLflow at {MLFLOW_PYTHON}: run make bench or set NBTRACK_MLFLOW_PYTHON")
    folder, _ = model
    store = tmp_path_factory.mktemp("stores")
    ours = ServerProcess(str(folder), f"sqlite:///{store / 'nbtrack.db'}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bin_dir = MLFLOW_PYTHON.parent
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
    }
    theirs = subprocess.Popen(
        [str(bin_dir / "mlflow"), "models", "serve", "--env-manager", "local",
         "-m", str(folder), "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and theirs.poll() is None:
            try:
                if get(url + "/ping")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        assert get(url + "/ping")[0] == 200
        yield ours.url, url
    finally:
        os.killpg(theirs.pid, signal.SIGTERM)
        theirs.wait(60)
        assert ours.terminate() == 0


def _cases(rows):
    columns = list(rows.columns)
    data = rows.to_numpy().tolist()
    split = {"columns": columns, "data": data}
    records = rows.to_dict(orient="records")
    csv = rows.to_csv(index=False)
    return {
        "dataframe_split": ({"dataframe_split": split}, "application/json"),
        "dataframe_records": ({"dataframe_records": records}, "application/json"),
        "instances": ({"instances": records}, "application/json"),
        "inputs": ({"inputs": {c: rows[c].tolist() for c in columns}}, "application/json"),
        "an extra key": ({"dataframe_split": split, "other": 1}, "application/json"),
        "params the model lacks": ({"dataframe_split": split, "params": {"k": 1}},
                                   "application/json"),
        "csv": (csv, "text/csv"),
        "malformed JSON": ("{", "application/json"),
        "a list": ("[1]", "application/json"),
        "an unknown field": ({"x": 1}, "application/json"),
        "two fields": ({"dataframe_split": split, "inputs": [1]}, "application/json"),
        "missing columns": ({"dataframe_split": {"columns": columns[:2],
                                                 "data": [r[:2] for r in data]}},
                            "application/json"),
        "a text column": ({"dataframe_split": {"columns": columns,
                                               "data": [["x", *r[1:]] for r in data]}},
                          "application/json"),
        "split without data": ({"dataframe_split": {"columns": columns}}, "application/json"),
        "records as a dict": ({"dataframe_records": {"a": 1}}, "application/json"),
        "broken CSV": ('a,b\n1,"2\n', "text/csv"),
        "text/plain": ("x", "text/plain"),
        "latin-1": ({"dataframe_split": split}, "application/json; charset=latin-1"),
    }  # fmt: skip


CASES = [
    "dataframe_split", "dataframe_records", "instances", "inputs", "an extra key",
    "params the model lacks", "csv", "malformed JSON", "a list", "an unknown field",
    "two fields", "missing columns", "a text column", "split without data",
    "records as a dict", "broken CSV", "text/plain", "latin-1",
]  # fmt: skip


def _answer(url, payload, content_type):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    status, _, answer = request(url + "/invocations", body.encode(), content_type)
    try:
        decoded = json.loads(answer)
    except ValueError:  # MLflow answers 415 in plain text
        decoded = None
    return status, decoded


@pytest.mark.parametrize("case", CASES)
def test_same_status_error_code_and_predictions_as_mlflow(servers, model, case):
    ours_url, mlflow_url = servers
    payload, content_type = _cases(model[1])[case]
    ours = _answer(ours_url, payload, content_type)
    theirs = _answer(mlflow_url, payload, content_type)
    assert ours[0] == theirs[0]
    if theirs[0] == 200:
        assert ours[1] == theirs[1]
    elif theirs[1] is not None:
        assert ours[1]["error_code"] == theirs[1]["error_code"]
        assert ours[1]["message"][:40] == theirs[1]["message"][:40]
    else:
        assert ours[1]["error_code"] == "BAD_REQUEST"  # JSON where MLflow sends text


def test_the_legacy_pandas_split_request_mlflow_refuses_is_answered(servers, model):
    ours_url, mlflow_url = servers
    rows = model[1]
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    legacy = "application/json; format=pandas-split"
    assert _answer(mlflow_url, split, legacy)[0] == 415
    modern = _answer(mlflow_url, {"dataframe_split": split}, "application/json")
    assert _answer(ours_url, split, legacy) == modern
