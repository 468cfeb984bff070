"""What the artifact tree shows of one file: a preview as data the browser draws.

Text files show their first ``MAX_TEXT_BYTES``; JSON comes pretty-printed; a CSV or TSV
shows its first ``PREVIEW_ROWS`` rows as a table; PNG, JPEG, GIF, WebP and SVG images come
inline as ``data:`` URLs up to ``MAX_IMAGE_BYTES``; an ``MLmodel`` file shows its flavors
and signature above its YAML. Anything else (or anything past its cap) gets a one-line note
saying why there is no preview, and the download still works.

A preview is a dict: ``path``, ``size``, ``kind`` (``text``, ``table``, ``image``, ``html``
or ``none``) and what that kind needs (``text``; ``header`` and ``rows``; ``src``;
``html``), plus an optional ``note``.
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

from nbtrack import display
from nbtrack.panels import static

MAX_TEXT_BYTES = 64_000
MAX_IMAGE_BYTES = 2_000_000
PREVIEW_ROWS = 50
SNIFF_BYTES = 4096
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
TABLE_DELIMITERS = {".csv": ",", ".tsv": "\t"}
MODEL_FILE = "MLmodel"


def preview(file: Path, path: str) -> dict[str, Any]:
    """The preview of one artifact file (``file`` on disk, ``path`` as the run names it)."""
    size = file.stat().st_size
    base: dict[str, Any] = {"path": path, "size": size}
    suffix = file.suffix.lower()
    if file.name == MODEL_FILE:
        text = _head(file)
        if text is not None:
            return {**base, "kind": "html", "html": model_html(text, path) + pre(text)}
    if suffix in IMAGE_TYPES:
        if size > MAX_IMAGE_BYTES:
            limit = display.size(MAX_IMAGE_BYTES)
            return _none(
                base,
                f"The image is {display.size(size)}, over the {limit} shown inline: download it.",
            )
        data = base64.b64encode(file.read_bytes()).decode("ascii")
        return {**base, "kind": "image", "src": f"data:{IMAGE_TYPES[suffix]};base64,{data}"}
    text = _head(file)
    if text is None:
        return _none(base, "No preview for a binary file: download it.")
    note = _cut_note(size)
    if suffix in TABLE_DELIMITERS:
        table = _table(text, TABLE_DELIMITERS[suffix], size)
        if table is not None:
            return {**base, **table}
    if suffix == ".json" and not note:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            note = "Not valid JSON: shown as it is."
    return {**base, "kind": "text", "text": text, **({"note": note} if note else {})}


def _none(base: dict[str, Any], note: str) -> dict[str, Any]:
    return {**base, "kind": "none", "note": note}


def _head(file: Path) -> str | None:
    """The file's first ``MAX_TEXT_BYTES`` as text, or None for a binary file."""
    with file.open("rb") as handle:
        data = handle.read(MAX_TEXT_BYTES)
    if b"\x00" in data[:SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 3:  # not only a character cut at the end
            return None
        return data[: exc.start].decode("utf-8")


def _cut_note(size: int) -> str:
    if size <= MAX_TEXT_BYTES:
        return ""
    return f"Showing the first {display.size(MAX_TEXT_BYTES)} of {display.size(size)}."


def _table(text: str, delimiter: str, size: int) -> dict[str, Any] | None:
    """The first rows of a CSV/TSV as header and rows (None when it does not parse)."""
    cut = size > MAX_TEXT_BYTES
    lines = text.splitlines()
    if cut:
        lines = lines[:-1]  # the last line read may stop in the middle
    try:
        rows = list(csv.reader(lines[: PREVIEW_ROWS + 1], delimiter=delimiter))
    except csv.Error:
        return None
    if not rows:
        return None
    header, body = rows[0], rows[1:]
    table: dict[str, Any] = {"kind": "table", "header": header, "rows": body}
    if cut:
        table["note"] = f"The first {len(body)} rows of a {display.size(size)} file."
    elif len(lines) - 1 > len(body):
        table["note"] = f"The first {len(body)} of {len(lines) - 1:,} rows."
    return table


def pre(text: str) -> str:
    """Text in a scrolling block, escaped."""
    return (
        '<pre style="background:#f6f8fa;padding:8px;border-radius:4px;max-height:24em;'
        f'overflow:auto;font-size:12px;margin:4px 0">{static.esc(text)}</pre>'
    )


# -- MLmodel -----------------------------------------------------------------------------


def model_html(text: str, path: str) -> str:
    """An ``MLmodel`` file read for a person: flavors, how to load it, its signature."""
    import yaml

    try:
        meta = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return '<p style="color:#6b7280">This MLmodel file is not valid YAML.</p>'
    if not isinstance(meta, dict):
        meta = {}
    folder = str(Path(path).parent)
    flavors = ", ".join(sorted((meta.get("flavors") or {}).keys()))
    parts = [static.heading(f"Model: {folder}", flavors)]
    run_id = meta.get("run_id")
    if run_id:
        uri = f"runs:/{run_id}/{folder}"
        parts.append(
            '<p style="margin:2px 0 6px">Load it with '
            f"<code>nbtrack.pyfunc.load_model({static.esc(repr(uri))})</code></p>"
        )
    signature = meta.get("signature") or {}
    for side in ("inputs", "outputs", "params"):
        spec = signature.get(side)
        if spec:
            parts.append(_signature_table(side, spec))
    if not signature:
        parts.append('<p style="color:#6b7280">No signature recorded.</p>')
    return "".join(parts)


def _signature_table(side: str, spec: Any) -> str:
    try:
        columns = json.loads(spec) if isinstance(spec, str) else spec
    except ValueError:
        return pre(str(spec))
    rows = []
    for col in columns if isinstance(columns, list) else []:
        kind = col.get("type", "")
        if kind == "tensor":
            kind = f"tensor {col.get('tensor-spec', {})}"
        rows.append((col.get("name", ""), kind, "no" if col.get("required", True) else "yes"))
    return static.heading(f"Signature {side}") + static.html_table(
        ("Name", "Type", "Optional"), rows
    )
