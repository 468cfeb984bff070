"""A run's artifacts as a tree, with previews and downloads that need no Jupyter file route.

Folders open and close, each file is listed once with its size.

The browser side is ``widgets/artifacts.js``. The listing (paths and sizes) is the synced
``entries`` trait; open folders are ``expanded``; choosing a file sets ``selected`` and
the kernel answers with its ``preview`` (see ``nbtrack.panels.previews``). A download asks
the kernel over the widget's comm for the bytes of a file (a folder comes zipped) and the
browser saves them from a Blob through a link: JupyterLab, Notebook 7 and VS Code (whose
notebook webview saves ``blob:`` links itself) alike, with no server route to the file.
Past ``DOWNLOAD_LIMIT`` the answer is a message saying where the file is and how to copy it.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import anywidget
import traitlets

from nbtrack import display
from nbtrack.artifacts import LocalArtifacts
from nbtrack.errors import NbtrackError
from nbtrack.panels import previews, static
from nbtrack.panels.assets import widget_file

MAX_ENTRIES = 2000  # files and folders listed; a run with more says so
DOWNLOAD_LIMIT = 50 * 1024 * 1024  # bytes one download sends through the widget's comm
OPEN_ALL_BELOW = 40  # a smaller tree opens with every folder open
STATIC_ENTRIES = 200  # entries in the static HTML a saved notebook keeps


def list_entries(artifact_uri: str) -> tuple[list[dict[str, Any]], bool]:
    """Every artifact file and folder (``path``, ``size``, ``dir``), folders first per level.

    Returns the entries (at most ``MAX_ENTRIES``) and whether some were left out.
    """
    store = LocalArtifacts(artifact_uri)
    found: list[dict[str, Any]] = []
    pending: list[str | None] = [None]
    while pending:
        folder = pending.pop()
        try:
            listed = store.list_artifacts(folder)
        except (OSError, NbtrackError):  # removed while listing: show what could be read
            continue
        subfolders = []
        for entry in listed:
            if len(found) >= MAX_ENTRIES:
                return found, True
            found.append({"path": entry.path, "size": entry.file_size, "dir": entry.is_dir})
            if entry.is_dir:
                subfolders.append(entry.path)
        pending.extend(reversed(subfolders))
    return found, False


def folder_sizes(entries: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Each folder's (file count, total bytes), counting everything below it."""
    totals: dict[str, tuple[int, int]] = {e["path"]: (0, 0) for e in entries if e["dir"]}
    for entry in entries:
        if entry["dir"]:
            continue
        parts = entry["path"].split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            count, size = totals.get(folder, (0, 0))
            totals[folder] = (count + 1, size + (entry["size"] or 0))
    return totals


class ArtifactTree(anywidget.AnyWidget):
    """The artifacts of one run: a collapsible tree, a preview pane and downloads.

    Parameters
    ----------
    artifact_uri
        The run's artifact folder (``run.info.artifact_uri``).
    run_id
        The run's id (named in the message of a download over the limit).
    """

    _esm = widget_file("artifacts.js")
    _css = widget_file("artifacts.css")

    entries: traitlets.List[dict[str, Any]] = traitlets.List(
        help="files and folders: path, size, dir"
    ).tag(sync=True)
    truncated = traitlets.Bool(False, help="more than MAX_ENTRIES entries").tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode(), help="open folders").tag(sync=True)
    selected = traitlets.Unicode("", help="the file previewed").tag(sync=True)
    preview = traitlets.Dict(help="the selected file's preview").tag(sync=True)
    download_limit = traitlets.Int(DOWNLOAD_LIMIT).tag(sync=True)

    def __init__(self, artifact_uri: str, run_id: str = "", **kwargs: Any):
        self.store = LocalArtifacts(artifact_uri)
        self.run_id = run_id
        entries, truncated = list_entries(artifact_uri)
        folders = [e["path"] for e in entries if e["dir"]]
        super().__init__(
            entries=entries,
            truncated=truncated,
            expanded=folders if len(entries) < OPEN_ALL_BELOW else [],
            **kwargs,
        )
        self._previewed: tuple[str, int | None, int] | None = None
        self.observe(lambda _: self._preview(), names=["selected"])
        self.on_msg(self._on_msg)

    @property
    def files(self) -> list[str]:
        """The paths of the files listed (not folders)."""
        return [e["path"] for e in self.entries if not e["dir"]]

    def refresh(self, artifact_uri: str) -> None:
        """List the folder again; the preview follows its file if that changed."""
        self.store = LocalArtifacts(artifact_uri)
        entries, truncated = list_entries(artifact_uri)
        with self.hold_sync():
            if entries != self.entries:
                self.entries = entries
            self.truncated = truncated
        if self.selected:
            self._preview()

    def _preview(self) -> None:
        path = self.selected
        if not path:
            self.preview = {}
            return
        try:
            file = self.store.path(path)
            stat = file.stat()
            key = (path, stat.st_size, stat.st_mtime_ns)
            if key == self._previewed:
                return
            found = previews.preview(file, path)
        except (OSError, NbtrackError) as exc:
            key = None
            found = {"path": path, "size": None, "kind": "none", "note": _unreadable(path, exc)}
        self._previewed = key
        self.preview = found

    # -- downloads --------------------------------------------------------------------

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "download":
            path = str(content.get("path", ""))
            try:
                reply, data = self.download(path)
            except (OSError, NbtrackError) as exc:
                self.send({"event": "download", "path": path, "error": _unreadable(path, exc)})
                return
            self.send(reply, [data] if data is not None else None)

    def download(self, path: str) -> tuple[dict[str, Any], bytes | None]:
        """The reply to a download request: a file's bytes, a folder zipped, or why not."""
        source = self.store.path(path)
        name = source.name or "artifacts"
        if source.is_dir():
            root = self.store.root.resolve()
            files = sorted(
                p for p in source.rglob("*") if p.is_file() and p.resolve().is_relative_to(root)
            )
            size = sum(p.stat().st_size for p in files)
            name += ".zip"
        else:
            size = source.stat().st_size
        reply: dict[str, Any] = {"event": "download", "path": path, "name": name, "size": size}
        if size > DOWNLOAD_LIMIT:
            reply["error"] = (
                f"{path} is {display.size(size)}, over the {display.size(DOWNLOAD_LIMIT)} a "
                f"panel sends to the browser. It is on disk at {source}; copy it with "
                f"nbtrack.artifacts.download_artifacts(run_id={self.run_id!r}, "
                f"artifact_path={path!r}, dst_path='.')"
            )
            return reply, None
        if not source.is_dir():
            return reply, source.read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                archive.write(file, file.relative_to(source).as_posix())
        return reply, buffer.getvalue()


def _unreadable(path: str, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{path} cannot be read now ({reason}); it may have been removed or moved."


# -- static form --------------------------------------------------------------------------


def tree_html(entries: list[dict[str, Any]], truncated: bool = False) -> str:
    """The tree as nested ``<details>`` (open folders) with sizes: no script needed.

    At most ``STATIC_ENTRIES`` are listed: a saved notebook stays small.
    """
    if not entries:
        return '<p style="color:#6b7280">No artifacts logged.</p>'
    sizes = folder_sizes(entries)
    truncated = truncated or len(entries) > STATIC_ENTRIES
    entries = entries[:STATIC_ENTRIES]
    children: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        parent = entry["path"].rpartition("/")[0]
        children.setdefault(parent, []).append(entry)

    def level(folder: str) -> str:
        items = []
        for entry in sorted(children.get(folder, []), key=lambda e: (not e["dir"], e["path"])):
            name = static.esc(entry["path"].rpartition("/")[2])
            if entry["dir"]:
                count, size = sizes.get(entry["path"], (0, 0))
                note = f"{count} file{'s' if count != 1 else ''}, {display.size(size)}"
                items.append(
                    f"<li><details open><summary><b>{name}/</b> "
                    f'<span style="color:#6b7280">{note}</span></summary>'
                    f"{level(entry['path'])}</details></li>"
                )
            else:
                items.append(
                    f"<li><code>{name}</code> "
                    f'<span style="color:#6b7280">{display.size(entry["size"])}</span></li>'
                )
        return (
            '<ul style="list-style:none;padding-left:1.2em;margin:2px 0">'
            + "".join(items)
            + "</ul>"
        )

    more = (
        f'<p style="color:#6b7280">Only the first {len(entries)} entries are listed.</p>'
        if truncated
        else ""
    )
    return level("") + more


def summary_text(entries: list[dict[str, Any]]) -> str:
    """``3 files, 1.2 KiB`` for a text form."""
    files = [e for e in entries if not e["dir"]]
    total = sum(e["size"] or 0 for e in files)
    return f"{len(files)} file{'s' if len(files) != 1 else ''}, {display.size(total)}"
