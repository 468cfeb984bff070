"""``nbtrack.models.serve``: a model server in the background, from a notebook."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

import pytest
from serving_helpers import get, post

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import NbtrackError

pytestmark = pytest.mark.slow


@pytest.fixture
def champion(fresh_store):
    """'wine' version 1 (a decision tree) under the alias champion; the rows and predictions."""
    from sklearn.datasets import load_wine
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_wine(return_X_y=True, as_frame=True)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    with nbtrack.start_run():
        nbtrack.sklearn.log_model(
            tree, name="model", input_example=x.head(2), registered_model_name="wine"
        )
    nbtrack.MlflowClient().set_registered_model_alias("wine", "champion", "1")
    return x.head(2), tree.predict(x.head(2)).tolist()


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_serve_returns_a_handle_that_answers_and_stops(champion):
    rows, expected = champion
    server = nbtrack.models.serve("models:/wine@champion", port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert get(server.url + "/ping")[0] == 200
        split = {"dataframe_split": rows.to_dict(orient="split")}
        assert post(server.url, split) == (200, {"predictions": expected})
        text = repr(server)
        assert server.url in text and "models:/wine@champion (version 1)" in text
        assert "curl -X POST " + server.url + "/invocations" in text
        assert server.url in server._repr_html_()
    finally:
        server.stop()
    assert not server.running and not _alive(server.pid)
    assert "(stopped)" in repr(server)


def test_the_curl_command_works_as_shown(champion):
    _, expected = champion
    with nbtrack.models.serve("models:/wine/1") as server:
        command = shlex.split(server.curl)
        assert command[:2] == ["curl", "-X"]
        body = command[command.index("-d") + 1]
        assert post(server.url, json.loads(body)) == (200, {"predictions": expected})
    assert not server.running


def test_a_bad_uri_raises_with_the_server_output(champion):
    with pytest.raises(NbtrackError, match="exited") as raised:
        nbtrack.models.serve("models:/wine@nobody")
    assert "nobody" in str(raised.value)


def test_the_server_stops_when_the_python_process_exits(champion, fresh_store):
    code = "import nbtrack; s = nbtrack.models.serve('models:/wine/1'); print(s.pid, flush=True)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "NBTRACK_TRACKING_URI": f"sqlite:///{fresh_store}"},
    )
    pid = int(out.stdout.split()[-1])
    assert not _alive(pid)


def test_the_registry_browser_serves_the_selected_version(champion):
    from nbtrack.panels import show_registry
    from nbtrack.store import panels as store_panels

    browser = show_registry(live=False)
    try:
        browser.toggle_serving()
        server = browser.server
        assert server is not None and browser.serve_button.description == "Stop serving"
        assert server.url in browser.serve_status.value
        assert "models:/wine/1" in browser.serve_status.value
        browser.toggle_serving()
        assert browser.server is None and not server.running
        assert "stopped" in browser.serve_status.value
    finally:
        if browser.server is not None:
            browser.server.stop()
        store_panels.close_all()


def test_the_server_stops_when_its_kernel_is_killed(champion, fresh_store):
    code = (
        "import time, nbtrack; s = nbtrack.models.serve('models:/wine/1'); "
        "print(s.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NBTRACK_TRACKING_URI": f"sqlite:///{fresh_store}"},
    )
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.kill()  # as a kernel dies: no atexit
        parent.wait()
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
