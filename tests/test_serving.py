"""``nbtrack models serve``: a real server process on a free loopback port, spoken to over HTTP.

One server (a decision tree on the wine data, with an inference param) answers the payload
and error tables; the tests that stop, time out, or follow an alias start their own.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from serving_helpers import ServerProcess, get, post, request

import nbtrack
import nbtrack.sklearn
from nbtrack.artifacts import uri_to_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wine():
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True, as_frame=True)
    return x, y


@pytest.fixture(scope="module")
def model_dir(wine, tmp_path_factory):
    from sklearn.tree import DecisionTreeClassifier

    x, y = wine
    folder = tmp_path_factory.mktemp("served") / "model"
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    nbtrack.sklearn.save_model(tree, folder, input_example=(x.head(3), {"threshold": 0.5}))
    return folder, tree


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    folder, _ = model_dir
    store = f"sqlite:///{tmp_path_factory.mktemp('store') / 'nbtrack.db'}"
    proc = ServerProcess(str(folder), store)
    yield proc
    assert proc.terminate() == 0, proc.output()


@pytest.fixture
def rows(wine, model_dir):
    """Five rows and what the fitted tree predicts for them."""
    x, _ = wine
    _, tree = model_dir
    sample = x.iloc[[0, 60, 61, 130, 177]]
    return sample, tree.predict(sample).tolist()


def split(frame):
    return {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}


# -- what the server answers ------------------------------------------------------------


def test_ping_health_and_version(server):
    assert get(server.url + "/ping") == (200, b"\n")
    assert get(server.url + "/health") == (200, b"\n")
    assert get(server.url + "/version") == (200, nbtrack.__version__.encode())


def _payloads(frame):
    records = frame.to_dict(orient="records")
    columns = {c: frame[c].tolist() for c in frame.columns}
    reordered = frame[list(reversed(frame.columns))]
    csv = frame.to_csv(index=False).encode()
    return {
        # MLflow 2+ JSON forms
        "dataframe_split": ({"dataframe_split": split(frame)}, "application/json"),
        "split with index": (
            {"dataframe_split": {**split(frame), "index": list(range(5))}},
            "application/json",
        ),
        "split, columns reordered": ({"dataframe_split": split(reordered)}, "application/json"),
        "dataframe_records": ({"dataframe_records": records}, "application/json"),
        "instances": ({"instances": records}, "application/json"),
        "inputs as columns": ({"inputs": columns}, "application/json"),
        "inputs as records": ({"inputs": records}, "application/json"),
        "params": (
            {"dataframe_split": split(frame), "params": {"threshold": 0.7}},
            "application/json",
        ),
        "charset": ({"dataframe_split": split(frame)}, "application/json; charset=utf-8"),
        # MLflow 1's content types, as the study notes' curl sends them
        "legacy pandas-split": (split(frame), "application/json; format=pandas-split"),
        "legacy pandas-records": (records, "application/json; format=pandas-records"),
        "csv": (csv, "text/csv"),
    }


FORMS = [
    "dataframe_split",
    "split with index",
    "split, columns reordered",
    "dataframe_records",
    "instances",
    "inputs as columns",
    "inputs as records",
    "params",
    "charset",
    "legacy pandas-split",
    "legacy pandas-records",
    "csv",
]


@pytest.mark.parametrize("form", FORMS)
def test_every_payload_form_predicts_like_the_model(server, rows, form):
    frame, expected = rows
    payload, content_type = _payloads(frame)[form]
    assert post(server.url, payload, content_type) == (200, {"predictions": expected})


def test_predictions_are_json_of_the_model_output(server, rows):
    frame, expected = rows
    status, headers, body = request(
        server.url + "/invocations",
        json.dumps({"dataframe_split": split(frame)}).encode(),
        "application/json",
    )
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"predictions": expected}


# -- errors: MLflow's JSON body, a 4xx status, and the server keeps serving --------------


def _errors(frame):
    good = split(frame)
    text_column = {"dataframe_split": {**good, "data": [["x", *r[1:]] for r in good["data"]]}}
    return {
        # case: (body, content type) -> (status, error_code, words in the message)
        "malformed JSON": (
            b'{"dataframe_split": ',
            "application/json",
            400,
            "BAD_REQUEST",
            "valid JSON formatted string",
        ),
        "not UTF-8": (
            b'{"inputs": "\xff"}',
            "application/json",
            400,
            "BAD_REQUEST",
            "valid JSON formatted string",
        ),
        "a list": (b"[1, 2]", "application/json", 400, "BAD_REQUEST", "Received a list"),
        "unknown format": (
            {"frame": good},
            "application/json",
            400,
            "BAD_REQUEST",
            "exactly one of the input fields",
        ),
        "two formats": (
            {"dataframe_split": good, "inputs": [[1]]},
            "application/json",
            400,
            "BAD_REQUEST",
            "exactly one of the input fields",
        ),
        "split without data": (
            {"dataframe_split": {"columns": ["a"]}},
            "application/json",
            400,
            "BAD_REQUEST",
            "must have 'data' field",
        ),
        "records not a list": (
            {"dataframe_records": {"a": 1}},
            "application/json",
            400,
            "BAD_REQUEST",
            "must be a list of records",
        ),
        "missing columns": (
            {"dataframe_split": {"columns": ["alcohol"], "data": [[13.0]]}},
            "application/json",
            400,
            "INVALID_PARAMETER_VALUE",
            "missing column(s) ['malic_acid'",
        ),
        "wrong column type": (
            text_column,
            "application/json",
            400,
            "BAD_REQUEST",
            "Failed to convert column alcohol",
        ),
        "bad param type": (
            {"dataframe_split": good, "params": {"threshold": "high"}},
            "application/json",
            400,
            "INVALID_PARAMETER_VALUE",
            "threshold",
        ),
        "params not an object": (
            {"dataframe_split": good, "params": [1]},
            "application/json",
            400,
            "BAD_REQUEST",
            "'params' must be a JSON object",
        ),
        "wrong content type": (
            b"alcohol=1",
            "text/plain",
            415,
            "BAD_REQUEST",
            "only supports the following content types",
        ),
        "form content type": (
            b"{}",
            None,  # urllib sends application/x-www-form-urlencoded
            415,
            "BAD_REQUEST",
            "Got 'application/x-www-form-urlencoded'",
        ),
        "unknown legacy format": (
            {"inputs": [1]},
            "application/json; format=tf-serving",
            415,
            "BAD_REQUEST",
            "Unrecognized content type parameters",
        ),
        "latin-1 charset": (
            {"inputs": [1]},
            "application/json; charset=latin-1",
            415,
            "BAD_REQUEST",
            "only supports UTF-8",
        ),
        "CSV garbage": (b'a,b\n1,"2\n', "text/csv", 400, "BAD_REQUEST", "valid CSV-formatted"),
    }


ERRORS = [
    "malformed JSON",
    "not UTF-8",
    "a list",
    "unknown format",
    "two formats",
    "split without data",
    "records not a list",
    "missing columns",
    "wrong column type",
    "bad param type",
    "params not an object",
    "wrong content type",
    "form content type",
    "unknown legacy format",
    "latin-1 charset",
    "CSV garbage",
]


@pytest.mark.parametrize("case", ERRORS)
def test_bad_requests_get_mlflow_json_errors_and_the_server_keeps_serving(server, rows, case):
    frame, expected = rows
    payload, content_type, status, code, words = _errors(frame)[case]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    answer_status, headers, answer = request(server.url + "/invocations", body, content_type)
    error = json.loads(answer)
    assert (answer_status, error["error_code"]) == (status, code), error
    assert words in error["message"]
    assert headers["content-type"] == "application/json"
    assert post(server.url, {"dataframe_split": split(frame)}) == (200, {"predictions": expected})


def test_a_body_over_the_limit_gets_413(server, rows):
    frame, expected = rows
    big = b'{"inputs": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    status, _, answer = request(server.url + "/invocations", big, "application/json")
    error = json.loads(answer)
    assert status == 413
    assert error["error_code"] == "BAD_REQUEST"
    assert "over the server's limit of 10485760 bytes" in error["message"]
    assert post(server.url, {"dataframe_split": split(frame)}) == (200, {"predictions": expected})


def test_a_chunked_body_over_the_limit_gets_413_too(server):
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    chunks = (b"x" * (1024 * 1024) for _ in range(11))  # no Content-Length: 11 MB in chunks
    try:
        connection.request(
            "POST",
            "/invocations",
            chunks,
            {"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error_code"] == "BAD_REQUEST"
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/invocations", 405, "BAD_REQUEST"),  # scoring is a POST
        ("GET", "/predict", 404, "ENDPOINT_NOT_FOUND"),  # no such route
        ("POST", "/ping", 405, "BAD_REQUEST"),  # health checks are GETs
    ],
)
def test_unknown_routes_and_methods_answer_json(server, method, path, status, code):
    body = b"{}" if method == "POST" else None
    answer_status, _, answer = request(server.url + path, body, "application/json", method)
    assert (answer_status, json.loads(answer)["error_code"]) == (status, code)


# -- starting and stopping ------------------------------------------------------------


def test_binds_loopback_and_answers_within_seconds(server):
    assert urllib.parse.urlsplit(server.url).hostname == "127.0.0.1"


@pytest.mark.parametrize(
    ("uri", "port", "words"),
    [
        ("models:/nope/1", "0", "nope"),  # no such registered model
        ("runs:/0123456789abcdef/model", "0", "0123456789abcdef"),  # no such run
        ("no/such/folder", "0", "no MLmodel file"),  # a path that holds no model
        ("MODEL", "BUSY", "cannot listen on 127.0.0.1"),  # the port is taken
    ],
)
def test_a_bad_start_fails_with_one_line(model_dir, fresh_store, uri, port, words):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if port == "BUSY":
            port = str(taken.getsockname()[1])
        uri = str(model_dir[0]) if uri == "MODEL" else uri
        proc = subprocess.run(
            [sys.executable, "-m", "nbtrack", "models", "serve", "-m", uri, "-p", port],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and words in lines[0]


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(model_dir, wine, fresh_store):
    folder, tree = model_dir
    x, _ = wine
    proc = ServerProcess(str(folder), f"sqlite:///{fresh_store}")
    try:
        big = x.sample(30_000, replace=True, random_state=0)
        body = big.to_csv(index=False).encode()
        answers: list[object] = []
        sender = threading.Thread(
            target=lambda: answers.append(request(proc.url + "/invocations", body, "text/csv"))
        )
        sender.start()
        time.sleep(0.05)  # the request is in flight (parsing 30,000 CSV rows)
        proc.process.send_signal(signal.SIGTERM)
        sender.join(60)
        assert proc.process.wait(60) == 0, proc.output()
    finally:
        proc.kill()
    status, _, answer = answers[0]
    assert status == 200
    assert json.loads(answer)["predictions"] == tree.predict(big).tolist()
    assert "Shutting down" in proc.output()


def test_time_limit_workers_size_and_access_log_flags(model_dir, wine, fresh_store):
    folder, _ = model_dir
    x, _ = wine
    proc = ServerProcess(
        str(folder),
        f"sqlite:///{fresh_store}",
        "-w",
        "2",
        "--timeout",
        "0.001",
        "--max-body-size",
        "64KB",
        "--access-log",
    )
    try:
        status, error = post(proc.url, {"dataframe_split": split(x.head(100))})
        assert status == 504
        assert error["error_code"] == "DEADLINE_EXCEEDED"
        status, error = post(proc.url, {"inputs": "x" * 70_000})
        assert status == 413
        assert "limit of 65536 bytes" in error["message"]
        assert get(proc.url + "/ping")[0] == 200
        assert proc.terminate() == 0, proc.output()
        assert '"POST /invocations HTTP/1.1" 504' in proc.output()
    finally:
        proc.kill()


# -- following an alias ---------------------------------------------------------------


def _constant_versions(wine, name):
    """Register two versions that predict 0 and 1 for every row."""
    from sklearn.dummy import DummyClassifier

    x, y = wine
    for constant in (0, 1):
        dummy = DummyClassifier(strategy="constant", constant=constant).fit(x, y)
        with nbtrack.start_run():
            nbtrack.sklearn.log_model(
                dummy, name="model", input_example=x.head(2), registered_model_name=name
            )


def test_the_server_follows_its_alias_without_dropping_a_request(wine, fresh_store):
    x, _ = wine
    _constant_versions(wine, "wine")
    client = nbtrack.MlflowClient()
    client.set_registered_model_alias("wine", "champion", "1")
    proc = ServerProcess("models:/wine@champion", f"sqlite:///{fresh_store}")
    body = json.dumps({"dataframe_split": split(x.head(1))})
    seen: list[object] = []
    stop = threading.Event()

    def stream():
        host, port = urllib.parse.urlsplit(proc.url).netloc.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while not stop.is_set():
                connection.request(
                    "POST", "/invocations", body, {"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                answer = response.read()
                seen.append(
                    json.loads(answer)["predictions"]
                    if response.status == 200
                    else (response.status, answer)
                )
        finally:
            connection.close()

    try:
        assert "(version 1)" in proc.output()
        loaders = [threading.Thread(target=stream) for _ in range(2)]
        for loader in loaders:
            loader.start()
        time.sleep(0.5)
        client.set_registered_model_alias("wine", "champion", "2")
        deadline = time.monotonic() + 30
        while [1] not in seen[-5:] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for loader in loaders:
            loader.join(30)
    finally:
        stop.set()
        exit_code = proc.terminate()
    assert exit_code == 0, proc.output()
    failures = [s for s in seen if s not in ([0], [1])]
    assert failures == []
    first_new = seen.index([1])
    assert seen[:first_new] == [[0]] * first_new and len(seen) > first_new + 5
    assert seen[first_new:].count([0]) <= 1  # at most the other stream's request in flight
    assert "alias 'champion' of 'wine' moved: now serving version 2 (was 1)" in proc.output()


def test_an_alias_moved_to_an_unloadable_version_keeps_the_old_one(wine, fresh_store):
    x, _ = wine
    _constant_versions(wine, "wine")
    client = nbtrack.MlflowClient()
    client.set_registered_model_alias("wine", "champion", "1")
    location = client.get_model_version_download_uri("wine", "2")
    proc = ServerProcess("models:/wine@champion", f"sqlite:///{fresh_store}")
    try:
        (uri_to_path(location) / "MLmodel").unlink()
        client.set_registered_model_alias("wine", "champion", "2")
        deadline = time.monotonic() + 20
        while "cannot be loaded" not in proc.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "still serving version 1" in proc.output()
        assert post(proc.url, {"dataframe_split": split(x.head(1))}) == (200, {"predictions": [0]})
    finally:
        assert proc.terminate() == 0
