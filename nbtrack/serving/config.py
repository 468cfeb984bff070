"""What a model server is configured with: addresses, limits, and the extra it needs.

Shared by the server process (:mod:`nbtrack.serving.server`), the app and the notebook
handle, so none of them imports another's heavy parts for a constant.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass

from nbtrack.errors import InvalidParameter, missing

CONFIG_ENV = "NBTRACK_SERVE_CONFIG"
# Set by nbtrack.models.serve: the server stops when this process (the kernel) is gone.
PARENT_ENV = "NBTRACK_SERVE_PARENT_PID"
READY_PREFIX = "nbtrack: serving "
DEFAULT_PORT = 5000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_TIMEOUT_S = 60
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024
_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kmg]?i?b?)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class ServerConfig:
    """Everything a server process needs; JSON-able, so workers can read it."""

    model_uri: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    timeout: float = DEFAULT_TIMEOUT_S
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    tracking_uri: str | None = None
    follow_interval: float = 1.0
    access_log: bool = False


def require_extra() -> None:
    """Raise MissingDependency unless Starlette and uvicorn (``nbtrack[serve]``) are installed.

    Looked up, not imported: a server imports them after its model (see ``server.run``).
    """
    for package in ("starlette", "uvicorn"):
        try:
            found = importlib.util.find_spec(package)
        except (ImportError, ValueError) as error:
            raise missing(package, "serve", "serving models") from error
        if found is None:
            raise missing(package, "serve", "serving models")


def parse_size(value: str | int) -> int:
    """A byte count from ``10485760``, ``10MB``, ``512k`` or ``1GiB`` (binary units)."""
    match = _SIZE.fullmatch(str(value).strip())
    if match is None or float(match["number"]) <= 0:
        raise InvalidParameter(
            f"max body size must be a positive number of bytes such as 10MB, 512KB or "
            f"1048576 (found {value!r})"
        )
    unit = (match["unit"] or "").lower().replace("i", "").rstrip("b") or ""
    return int(float(match["number"]) * _UNITS[unit])
