"""A model server started from a notebook: ``server = nbtrack.models.serve(uri, port=0)``.

The server is a separate process (``nbtrack models serve``), so a prediction never holds the
kernel's GIL and a crash in it cannot take the kernel down. :func:`serve` returns once
``/ping`` answers; the handle shows the URL and a ``curl`` command to try, and the server
stops with :meth:`ModelServer.stop` or when the Python process that started it exits.
"""

from __future__ import annotations

import atexit
import collections
import html
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from nbtrack.errors import InvalidState, NbtrackError
from nbtrack.serving.config import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_TIMEOUT_S,
    PARENT_ENV,
    READY_PREFIX,
    require_extra,
)

START_TIMEOUT_S = 60.0
_STOP_GRACE_S = 10.0


class ModelServer:
    """A running model server: its ``url``, ``pid``, and :meth:`stop`.

    Built by :func:`serve`. Its repr (and its HTML form in a notebook) shows the URL and a
    ready-made ``curl`` command that scores the model's input example.
    """

    def __init__(
        self,
        process: subprocess.Popen[str],
        drainer: threading.Thread,
        url: str,
        model_uri: str,
        served: str,
        log: collections.deque[str],
        example: str,
    ):
        self._process = process
        self._drainer = drainer
        self.url = url
        self.model_uri = model_uri
        self.served = served
        self._log = log
        self._example = example

    @property
    def pid(self) -> int:
        """The server process's id."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the server process is still alive."""
        return self._process.poll() is None

    @property
    def curl(self) -> str:
        """A shell command that POSTs the model's input example to ``/invocations``."""
        body = self._example.replace("'", "'\\''")
        return (
            f"curl -X POST {self.url}/invocations -H 'Content-Type: application/json' -d '{body}'"
        )

    def log(self) -> str:
        """The last lines the server printed (startup, alias moves, warnings)."""
        return "\n".join(self._log)

    def stop(self, timeout: float = _STOP_GRACE_S) -> None:
        """Stop the server: SIGTERM (requests in flight finish), SIGKILL after ``timeout`` s."""
        atexit.unregister(self.stop)
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._drainer.join(timeout)
        _close(self._process)

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<ModelServer {self.served} at {self.url} ({state})>\n{self.curl}"

    def _repr_html_(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return (
            f"<div><b>Serving</b> <code>{html.escape(self.served)}</code> at "
            f"<a href='{self.url}/ping' target='_blank'>{html.escape(self.url)}</a> ({state})"
            f"<pre style='white-space:pre-wrap'>{html.escape(self.curl)}</pre></div>"
        )


def serve(
    model_uri: str,
    port: int = 0,
    host: str = DEFAULT_HOST,
    *,
    workers: int = 1,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    tracking_uri: str | None = None,
    start_timeout: float = START_TIMEOUT_S,
) -> ModelServer:
    """Serve a model in a background process and return once it answers.

    Parameters
    ----------
    model_uri
        ``runs:/…``, ``models:/name/1``, ``models:/name@alias`` (followed when the alias
        moves), ``models:/name/Stage`` or a model folder.
    port
        The port to listen on; 0 picks a free one.
    host
        The interface to bind; the default answers this machine only.
    workers, timeout, max_body_size
        As ``nbtrack models serve``'s ``-w``, ``--timeout`` and ``--max-body-size``.
    tracking_uri
        The store the URI is resolved in (default: the one in force).
    start_timeout
        Seconds to wait for the server to answer ``/ping``.

    Returns
    -------
    ModelServer
        The handle: ``.url``, ``.stop()``, ``.curl``.

    Raises
    ------
    NbtrackError
        The server could not start (the message holds its last output lines).
    """
    require_extra()
    from nbtrack.tracking import get_tracking_uri

    store = tracking_uri or get_tracking_uri()
    command = [
        sys.executable,
        "-m",
        "nbtrack",
        "--tracking-uri",
        store,
        "models",
        "serve",
        "-m",
        model_uri,
        "--port",
        str(port),
        "--host",
        host,
        "--workers",
        str(workers),
        "--timeout",
        f"{timeout:g}",
        "--max-body-size",
        str(max_body_size),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_ENV: str(os.getpid())}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    log: collections.deque[str] = collections.deque(maxlen=200)
    try:
        served, url, drainer = _wait_ready(process, log, start_timeout)
    except BaseException:
        _close(process)
        raise
    server = ModelServer(
        process, drainer, url, model_uri, served, log, _example_body(model_uri, store)
    )
    atexit.register(server.stop)
    return server


def _wait_ready(
    process: subprocess.Popen[str], log: collections.deque[str], timeout: float
) -> tuple[str, str, threading.Thread]:
    """Read the server's output up to its ready line, then wait for /ping.

    Returns what is served, the URL, and the thread that keeps reading the output.
    """
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    for line in process.stdout:
        log.append(line.rstrip("\n"))
        if line.startswith(READY_PREFIX):
            served, _, rest = line[len(READY_PREFIX) :].partition(" at ")
            url = rest.split()[0]
            break
    else:
        process.wait()
        raise InvalidState(
            f"the model server exited (code {process.returncode}) before serving:\n"
            + "\n".join(log)
        )
    drainer = threading.Thread(target=_drain, args=(process, log), daemon=True)
    drainer.start()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InvalidState(
                f"the model server exited (code {process.returncode}):\n" + "\n".join(log)
            )
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1) as response:
                if response.status == 200:
                    return served, url, drainer
        except (urllib.error.URLError, OSError):
            time.sleep(0.02)
    raise InvalidState(
        f"the model server did not answer {url}/ping within {timeout:g} s; "
        "raise start_timeout:\n" + "\n".join(log)
    )


def _drain(process: subprocess.Popen[str], log: collections.deque[str]) -> None:
    """Keep reading the server's output so that its pipe never fills up."""
    assert process.stdout is not None
    try:
        for line in process.stdout:
            log.append(line.rstrip("\n"))
    except (ValueError, OSError):  # the pipe was closed by _close after a failed start
        return


def _close(process: subprocess.Popen[str]) -> None:
    """Kill the process if it still runs; close its output pipe."""
    if process.poll() is None:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _example_body(model_uri: str, store: str) -> str:
    """A request body to show in the curl command: the model's serving example if it has one."""
    from nbtrack.models import Model
    from nbtrack.models.model import SERVING_EXAMPLE_FILE_NAME
    from nbtrack.models.uri import local_model_path
    from nbtrack.tracking import get_tracking_uri, set_tracking_uri

    before = get_tracking_uri()
    try:
        if store != before:
            set_tracking_uri(store)
        folder = local_model_path(model_uri)
        example = folder / SERVING_EXAMPLE_FILE_NAME
        if example.is_file():
            return json.dumps(json.loads(example.read_text(encoding="utf-8")))
        schema = Model.load(folder).get_input_schema()
    except (NbtrackError, OSError, ValueError):
        schema = None
    finally:
        if store != before:
            set_tracking_uri(before)
    if schema is not None and schema.has_input_names() and not schema.is_tensor_spec():
        columns = schema.input_names()
        return json.dumps({"dataframe_split": {"columns": columns, "data": [[0] * len(columns)]}})
    return json.dumps({"inputs": [[0]]})
