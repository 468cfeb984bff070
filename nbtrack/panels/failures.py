"""What a FAILED run stored about its error: the traceback artifact and its last line.

``%%track`` cells and launched notebooks store the exception's traceback as the run's
``traceback.txt`` artifact. The run table shows its last line (the exception) on FAILED
rows, the run detail the whole traceback first. Only FAILED runs are read, each file
once per (size, mtime): a table page costs at most one small read per failed row.
"""

from __future__ import annotations

from nbtrack.artifacts import LocalArtifacts
from nbtrack.capture import TRACEBACK_FILE
from nbtrack.errors import NbtrackError

MAX_LINE = 300
MAX_TRACEBACK = 64_000
_CACHE: dict[tuple[str, int, int], str] = {}


def traceback_text(artifact_uri: str) -> str | None:
    """The run's stored traceback, or None when it stored none."""
    try:
        path = LocalArtifacts(artifact_uri).path(TRACEBACK_FILE)
        stat = path.stat()
    except (OSError, NbtrackError):
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        try:
            with path.open(encoding="utf-8", errors="replace") as file:
                _CACHE[key] = file.read(MAX_TRACEBACK)
        except OSError:
            return None
    return _CACHE[key]


def error_line(artifact_uri: str) -> str:
    """The exception line of the run's stored traceback ('' when none), shortened."""
    text = traceback_text(artifact_uri) or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
