"""Run the scoring server: load the model, bind, serve with uvicorn, stop gracefully.

:func:`run` is what ``nbtrack models serve`` calls. The model is loaded before anything is
bound, so a bad URI fails at once with one error; the socket is bound here (port 0 picks a
free port) and the line announcing the URL carries the real port. SIGTERM and Ctrl-C stop
accepting connections, let requests in flight finish (up to the request time limit), and
end the process with exit code 0.

With ``workers`` > 1, uvicorn's supervisor starts that many processes on the one socket;
each loads the model (and follows its alias) on its own, from :data:`CONFIG_ENV`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import sys
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.serving.config import (
    CONFIG_ENV,
    PARENT_ENV,
    READY_PREFIX,
    ServerConfig,
    require_extra,
)


def build_app(config: ServerConfig, served: Any = None) -> Any:
    """Load the model (unless ``served`` is given) and build the app that serves it."""
    from nbtrack.client import MlflowClient
    from nbtrack.serving.app import create_app
    from nbtrack.serving.follow import AliasFollower, ModelSlot, alias_of, load_served

    _use_store(config.tracking_uri)
    _log_to_stderr()
    client = MlflowClient(config.tracking_uri)
    if served is None:
        served = load_served(config.model_uri, client)
    slot = ModelSlot(served)
    follower = None
    if alias_of(config.model_uri) is not None:
        follower = AliasFollower(slot, client, config.follow_interval)
    return create_app(
        slot, timeout=config.timeout, max_body_size=config.max_body_size, follower=follower
    )


def run(config: ServerConfig, announce: Any = print) -> None:
    """Serve ``config.model_uri`` until SIGTERM or Ctrl-C.

    Parameters
    ----------
    config
        The model, address and limits.
    announce
        Called with the line saying what is served at which URL, once the port is bound.

    Raises
    ------
    NbtrackError
        The URI names no model or it cannot be loaded; the address cannot be bound.
    """
    require_extra()
    from nbtrack.client import MlflowClient
    from nbtrack.serving.follow import load_served
    from nbtrack.serving.startup import collector_paused, import_skops

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _stop_with_parent()
    try:
        with collector_paused():
            _use_store(config.tracking_uri)
            # skops first: building its allow-list scans every module loaded so far
            import_skops()
            served = load_served(config.model_uri, MlflowClient(config.tracking_uri))
            import uvicorn

            sock = bind(config.host, config.port)
            port = sock.getsockname()[1]
            uvicorn_config = _uvicorn_config(config, served)
        announce(
            f"{READY_PREFIX}{served.describe()} at {_url(config.host, port)} "
            f"(POST /invocations; Ctrl-C stops)"
        )
        sys.stdout.flush()
        if config.workers > 1:
            from uvicorn.supervisors import Multiprocess

            os.environ[CONFIG_ENV] = json.dumps(dataclasses.asdict(config))
            Multiprocess(uvicorn_config, sockets=[sock]).run()
        else:
            uvicorn.Server(uvicorn_config).run(sockets=[sock])
    except _Stopped:
        pass


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), or InvalidParameter."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        raise InvalidParameter(
            f"cannot listen on {host}:{port} ({error.strerror or error}); pick another "
            "--port (0 = any free port) or --host",
            argument="port",
            value=f"{host}:{port}",
        ) from error
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(config: ServerConfig, served: Any) -> Any:
    import uvicorn

    options: dict[str, Any] = {
        "workers": config.workers,
        "access_log": config.access_log,
        "timeout_graceful_shutdown": int(config.timeout) + 1,
        "log_level": "info",
        "server_header": False,
    }
    if config.workers > 1:
        return uvicorn.Config(
            "nbtrack.serving.server:app_from_environment", factory=True, **options
        )
    return uvicorn.Config(build_app(config, served), **options)


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def _use_store(tracking_uri: str | None) -> None:
    """Point ``pyfunc.load_model`` at the store given on the command line."""
    if tracking_uri:
        from nbtrack import session

        session.set_tracking_uri(tracking_uri)


def _log_to_stderr() -> None:
    """Show the alias follower's news the way uvicorn shows its own."""
    logger = logging.getLogger("nbtrack.serving")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _stop_with_parent() -> None:
    """With PARENT_ENV set, SIGTERM ourselves once that process has died (kill -9 included)."""
    watched = os.environ.get(PARENT_ENV)
    if not watched or not watched.isdigit():
        return
    import threading
    import time

    def watch() -> None:
        while os.getppid() == int(watched):
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="nbtrack-parent-watch", daemon=True).start()


class _Stopped(Exception):
    """SIGTERM or Ctrl-C, once uvicorn has finished the requests in flight."""


def _stop(signum: int, frame: Any) -> None:
    raise _Stopped


def app_from_environment() -> Any:
    """The app a uvicorn worker process builds (``--workers`` > 1) from its environment."""
    from nbtrack.serving.startup import collector_paused, import_skops

    with collector_paused():
        import_skops()
        return build_app(ServerConfig(**json.loads(os.environ[CONFIG_ENV])))
