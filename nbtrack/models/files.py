"""The files an ``MLmodel`` names, kept inside their model folder.

An ``MLmodel`` is data that may come from anyone (a registered snapshot, a copied folder):
the file names it holds (``pickled_model``, the input example) are resolved inside the
model's folder and refused if they are absolute, climb out with ``..`` or follow a
symbolic link out.
"""

from __future__ import annotations

from pathlib import Path

from nbtrack.errors import ModelFileError


def file_in_folder(folder: Path, name: object, what: str) -> Path:
    """The file ``name`` (from an ``MLmodel``) inside ``folder``; never a path outside it.

    Raises
    ------
    ModelFileError
        ``name`` is not a relative path, climbs out with ``..``, or a symlink leads out.
    """
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{what} must be a file name (found {name!r})", path=str(folder))
    target = folder / name
    inside = not Path(name).is_absolute() and ".." not in Path(name).parts
    if not (inside and target.resolve().is_relative_to(folder.resolve())):
        raise ModelFileError(
            f"{what} {name!r} leaves the model folder {folder}; a model loads only files "
            "inside its own folder",
            path=str(folder),
        )
    return target
