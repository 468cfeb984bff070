"""The tracking URI: which store file (and artifact folder) the API talks to; run URIs.

Accepted forms: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, a plain
path, or ``file:`` URI of a ``.db`` file. The default is ``./nbtrack.db``; the
``NBTRACK_TRACKING_URI`` environment variable overrides it, and ``set_tracking_uri``
overrides both. Artifacts live beside the file, in ``<stem>-artifacts/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from nbtrack.errors import InvalidParameter

ENV_TRACKING_URI = "NBTRACK_TRACKING_URI"
DEFAULT_TRACKING_URI = "sqlite:///nbtrack.db"

_tracking_uri: str | None = None


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Point the API at another store (``sqlite:///path.db`` or a plain path)."""
    global _tracking_uri
    text = os.fspath(uri)
    db_path(text)  # refuse a malformed URI now, not at the first log call
    _tracking_uri = text


def get_tracking_uri() -> str:
    """The tracking URI in force: ``set_tracking_uri``, else the environment, else the default."""
    return _tracking_uri or os.environ.get(ENV_TRACKING_URI) or DEFAULT_TRACKING_URI


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was chosen (``set_tracking_uri`` or the environment)."""
    return _tracking_uri is not None or bool(os.environ.get(ENV_TRACKING_URI))


def reset_tracking_uri() -> None:
    """Forget ``set_tracking_uri``, falling back to the environment or the default."""
    global _tracking_uri
    _tracking_uri = None


def db_path(uri: str) -> Path:
    """The absolute path of the SQLite file a tracking URI names."""
    if uri.startswith("sqlite://"):
        rest = uri[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise InvalidParameter(
                f"tracking URI {uri!r} has no file path; write sqlite:///relative.db or "
                "sqlite:////absolute/path.db"
            )
        path = Path(unquote(rest[1:].split("?")[0]))
    elif uri.startswith("file:"):
        path = Path(unquote(urlparse(uri).path))
    elif "://" in uri:
        scheme = uri.split("://")[0]
        raise InvalidParameter(
            f"tracking URI scheme {scheme!r} is not supported; nbtrack stores runs in a local "
            "SQLite file: use sqlite:///path.db or a plain path"
        )
    else:
        path = Path(uri)
    if not str(path):
        raise InvalidParameter("tracking URI is empty; use sqlite:///nbtrack.db or a path")
    return path.expanduser().absolute()


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` → (run_id, path): a model or artifact logged in a run."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidParameter(
            f"model URI {uri!r} names no run; write runs:/<run_id>/<path>", model_uri=uri
        )
    return run_id, path.strip("/")


_LOGGED_MODEL_URI = re.compile(r"models:/+(m-[0-9a-f]{32})/?")


def logged_model_id(uri: str) -> str | None:
    """The id in ``models:/<model_id>`` (MLflow 3's LoggedModel URI), else None."""
    match = _LOGGED_MODEL_URI.fullmatch(uri)
    return match[1] if match else None


def artifact_root(path: Path) -> Path:
    """The artifact folder that goes with a store file: ``<stem>-artifacts`` beside it."""
    return path.with_name(f"{path.stem}-artifacts")
