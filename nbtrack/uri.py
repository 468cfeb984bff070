"""The tracking URI: which store file (and artifact folder) the API talks to; run URIs.

Accepted forms: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, a plain
path, or ``file:`` URI of a ``.db`` file. The default is ``./nbtrack.db``; the
``NBTRACK_TRACKING_URI`` environment variable overrides it, and ``set_tracking_uri``
overrides both. Artifacts live beside the file, in ``<stem>-artifacts/``.

MLflow's other stores are refused with a message saying what to do instead, never taken
for a file name: a tracking server (``http(s)://``: share with it through ``nbtrack sync``),
``databricks``, MLflow's file store (``file:./mlruns``), an empty URI, and an
``MLFLOW_TRACKING_URI`` left in the environment that nbtrack would otherwise ignore.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from nbtrack.errors import InvalidParameter

ENV_TRACKING_URI = "NBTRACK_TRACKING_URI"
ENV_MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"
DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_DATABRICKS = ("databricks", "databricks-uc", "uc")
DEFAULT_TRACKING_URI = "sqlite:///nbtrack.db"

_tracking_uri: str | None = None


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Point the API at another store (``sqlite:///path.db`` or a plain path)."""
    global _tracking_uri
    try:
        text = os.fspath(uri)
    except TypeError:
        raise InvalidParameter(
            f"tracking URI must be a string or path (found {type(uri).__name__} {uri!r})"
        ) from None
    db_path(text)  # refuse a malformed URI now, not at the first log call
    _tracking_uri = text


def get_tracking_uri() -> str:
    """The tracking URI in force: ``set_tracking_uri``, else the environment, else the default.

    The environment is ``NBTRACK_TRACKING_URI``, else MLflow's ``MLFLOW_TRACKING_URI`` (so a
    ported script's setting is honoured, never silently ignored).

    Raises
    ------
    InvalidParameter
        ``MLFLOW_TRACKING_URI`` names something nbtrack cannot write to (a tracking server,
        Databricks, MLflow's file store): runs would go elsewhere than the user meant.
    """
    if _tracking_uri is not None:
        return _tracking_uri
    if ENV_TRACKING_URI in os.environ:
        return os.environ[ENV_TRACKING_URI]
    if mlflow_uri := os.environ.get(ENV_MLFLOW_TRACKING_URI):
        try:
            db_path(mlflow_uri)
        except InvalidParameter as exc:
            raise InvalidParameter(
                f"MLFLOW_TRACKING_URI is set ({mlflow_uri!r}) and nbtrack cannot use it: {exc} "
                "Set NBTRACK_TRACKING_URI (or call nbtrack.set_tracking_uri) to choose the "
                "local store, or unset MLFLOW_TRACKING_URI.",
                value=mlflow_uri,
            ) from None
        return mlflow_uri
    return DEFAULT_TRACKING_URI


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was chosen (``set_tracking_uri`` or the environment)."""
    return _tracking_uri is not None or bool(os.environ.get(ENV_TRACKING_URI))


def reset_tracking_uri() -> None:
    """Forget ``set_tracking_uri``, falling back to the environment or the default."""
    global _tracking_uri
    _tracking_uri = None


_SHARE_HINT = (
    "To share runs with an MLflow tracking server, keep the local store and run "
    "`nbtrack sync push --to URL` (and `nbtrack sync pull --from URL`)"
)


def db_path(uri: str) -> Path:
    """The absolute path of the SQLite file a tracking URI names."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidParameter(
            f"tracking URI must be a non-empty string (found {uri!r}); use "
            "sqlite:///nbtrack.db or a path such as runs.db",
            value=uri,
        )
    if uri.startswith(("http://", "https://")):
        raise InvalidParameter(
            f"tracking URI {uri!r} is an MLflow tracking server; nbtrack logs to a local "
            f"SQLite file (sqlite:///path.db or a path). {_SHARE_HINT}",
            value=uri,
        )
    if uri in _DATABRICKS or uri.startswith(("databricks://", "databricks-uc://")):
        raise InvalidParameter(
            f"tracking URI {uri!r} names Databricks, which nbtrack does not log to; use "
            f"sqlite:///path.db or a path. {_SHARE_HINT}",
            value=uri,
        )
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
        if path.suffix.lower() not in DB_SUFFIXES or path.is_dir():
            raise InvalidParameter(
                f"tracking URI {uri!r} names MLflow's file store (a folder of runs), which "
                "nbtrack does not read or write; nbtrack keeps runs in one SQLite file: use "
                "sqlite:///nbtrack.db or a path ending in .db",
                value=uri,
            )
    elif "://" in uri:
        scheme = uri.split("://")[0]
        raise InvalidParameter(
            f"tracking URI scheme {scheme!r} is not supported; nbtrack stores runs in a local "
            "SQLite file: use sqlite:///path.db or a plain path"
        )
    else:
        path = Path(uri)
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
