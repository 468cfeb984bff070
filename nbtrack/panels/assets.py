"""Where the browser side of the panels (``widgets/*.js``, ``*.css``) is found at run time.

A wheel ships them inside the package as ``nbtrack/_widgets``; an editable install reads
the repository's top-level ``widgets/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from nbtrack.errors import NbtrackError

_PACKAGE = Path(__file__).resolve().parent.parent


def widget_file(name: str) -> Path:
    """The path of one file of the widgets' browser code.

    Raises
    ------
    NbtrackError
        If neither the packaged copy nor the repository's ``widgets/`` holds it.
    """
    for folder in (_PACKAGE / "_widgets", _PACKAGE.parent / "widgets"):
        path = folder / name
        if path.is_file():
            return path
    raise NbtrackError(
        f"the panel file {name!r} is missing from {_PACKAGE / '_widgets'} (and from the "
        "repository's widgets/ folder); reinstall nbtrack: pip install --force-reinstall nbtrack",
        name=name,
    )
