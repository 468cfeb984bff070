"""Start real ``nbtrack models serve`` processes on free loopback ports and talk HTTP to them."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READY = "nbtrack: serving "


class ServerProcess:
    """``python -m nbtrack models serve -p 0 ...``; ``url`` once it answers /ping."""

    def __init__(self, model_uri: str, tracking_uri: str, *options: str, timeout: float = 90):
        command = [
            sys.executable,
            "-m",
            "nbtrack",
            "--tracking-uri",
            tracking_uri,
            "models",
            "serve",
            "-m",
            model_uri,
            "-p",
            "0",
            *options,
        ]
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: collections.deque[str] = collections.deque(maxlen=500)
        self.url = self._wait_ready(timeout)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_ready(self, timeout: float) -> str:
        assert self.process.stdout is not None
        url = None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY):
                url = line.split(" at ")[1].split()[0]
                break
        if url is None:
            self.process.wait()
            raise AssertionError("server exited before serving:\n" + self.output())
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if get(url + "/ping")[0] == 200:
                    return url
            except OSError:
                time.sleep(0.02)
        raise AssertionError("server never answered /ping:\n" + self.output())

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM by pid; the exit code."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL by pid if still running; close the output pipe."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()
        drainer = getattr(self, "_drainer", None)
        if drainer is not None:
            drainer.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def request(
    url: str, body: bytes | None = None, content_type: str | None = None, method: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one HTTP request; HTTP errors are answers, not exceptions."""
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get(url: str) -> tuple[int, bytes]:
    status, _, body = request(url)
    return status, body


def post(url: str, payload: object, content_type: str = "application/json") -> tuple[int, object]:
    """POST to /invocations; (status, decoded JSON body)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, _, answer = request(url + "/invocations", body, content_type)
    return status, json.loads(answer)
