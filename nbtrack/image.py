"""``nbtrack.Image``: an image to log, as MLflow's ``mlflow.Image``.

It wraps a numpy array (``HxW``, ``HxWx3`` or ``HxWx4``; floats in [0, 1] or integers in
[0, 255]), a PIL image, a path of an image file, or a nested list; ``log_image`` accepts it.
Pillow and numpy are imported when an image is built, not at ``import nbtrack``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from nbtrack.errors import InvalidParameter

__all__ = ["Image", "step_image_files"]

COMPRESSED_IMAGE_SIZE = 256  # the longer side of the thumbnail MLflow's UI shows
_KEY = re.compile(r"[a-zA-Z0-9_\-./ ]+")


class Image:
    """An image held as a PIL image.

    Parameters
    ----------
    image
        A numpy array, a PIL image, the path of an image file, or a (nested) list of pixels.
    """

    def __init__(self, image: Any):
        from PIL import Image as PILImage

        if isinstance(image, PILImage.Image):
            self.image = image.copy()
        elif isinstance(image, (str, os.PathLike)):
            with PILImage.open(image) as opened:
                self.image = opened.copy()
        else:
            self.image = PILImage.fromarray(_as_uint8(image))
        self.size = self.image.size
        self.mode = self.image.mode

    def to_pil(self) -> Any:
        """The PIL image (a copy)."""
        return self.image.copy()

    def to_array(self) -> Any:
        """The pixels as a numpy array."""
        import numpy as np

        return np.array(self.image)

    def to_list(self) -> list[Any]:
        """The pixels as nested lists."""
        return self.to_array().tolist()  # type: ignore[no-any-return]

    def resize(self, size: tuple[int, int]) -> Image:
        """A resized copy, ``size`` being (width, height)."""
        return Image(self.image.resize(size))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the image to a file; the format follows the extension."""
        self.image.save(path)

    def __repr__(self) -> str:
        return f"<Image size={self.size} mode={self.mode}>"


def _as_uint8(pixels: Any) -> Any:
    import numpy as np

    array = np.asarray(pixels)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InvalidParameter(
            f"an image needs shape HxW, HxWx1, HxWx3 or HxWx4 (found {array.shape}); "
            "transpose channel-first arrays with array.transpose(1, 2, 0)"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (array.min() < 0 or array.max() > 1):
            raise InvalidParameter(
                "float pixels must lie in [0, 1]; scale them, or pass integers in [0, 255]"
            )
        return (array * 255).round().astype(np.uint8)
    if array.size and (array.min() < 0 or array.max() > 255):
        raise InvalidParameter("integer pixels must lie in [0, 255]; clip or rescale them")
    return array.astype(np.uint8)


def step_image_files(image: Any, key: str, step: int, timestamp: int) -> dict[str, bytes]:
    """The files MLflow writes for an image logged with a key and step (its image charts).

    ``images/<key>+step+<step>+timestamp+<ms>+<uuid>.png`` at full size and the same name
    ``+compressed.webp`` scaled to fit 256 px; a ``/`` in the key becomes ``~``.
    """
    import io

    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidParameter(
            f"image key {key!r} may only contain letters, digits, _, -, ., spaces and /"
        )
    picture = image.to_pil() if isinstance(image, Image) else Image(image).image
    import uuid  # loaded with the first image, not at import

    stem = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}"
    full, small = io.BytesIO(), io.BytesIO()
    picture.save(full, format="PNG")
    width, height = picture.size
    scale = COMPRESSED_IMAGE_SIZE / max(width, height)
    thumbnail = picture.resize((max(1, int(width * scale)), max(1, int(height * scale))))
    thumbnail.save(small, format="WEBP")
    return {f"{stem}.png": full.getvalue(), f"{stem}+compressed.webp": small.getvalue()}
