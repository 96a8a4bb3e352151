"""Reading any image file users throw at us as an RGB uint8 array, or a clear reason why not.

Every failure is an :class:`ImageError` whose message names the problem in words a user
can act on; callers record it next to the file instead of crashing.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm"}
)
HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class ImageError(Exception):
    """An image file that cannot be used; the message is the reason."""


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Normalise every Pillow mode to RGB uint8 without clipping high-bit data."""
    if image.mode in HIGH_BIT_MODES:
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" and values.max(initial=0) > 255 else 255.0
        if image.mode == "F":
            top = max(float(values.max(initial=0)), 1.0)
        grey = np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as a viewer would show them on a page.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


@contextlib.contextmanager
def _own_size_limit() -> Iterator[None]:
    """Pillow's decompression-bomb limit off while we open a file: our ``max_pixels``, checked
    from the header before decoding, is the only one (Pillow's would refuse above 89 MP)."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def load_rgb(path: Path, *, max_pixels: int, min_side: int) -> np.ndarray:
    """Decode ``path`` to (H, W, 3) uint8, EXIF orientation applied.

    Size limits are checked from the header before decoding, so a decompression bomb
    costs nothing.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)")
        with warnings.catch_warnings(), _own_size_limit():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(
                        f"too large: {width}x{height} pixels exceeds max_pixels={max_pixels} "
                        "(possible decompression bomb)"
                    )
                if min(width, height) < min_side:
                    raise ImageError(f"too small: {width}x{height} pixels, min_side is {min_side}")
                image.load()
                image = ImageOps.exif_transpose(image)
                return _to_rgb(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not a readable image (unknown or corrupt format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"too large (possible decompression bomb): {error}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"truncated or corrupt image data: {error}") from None


def fit_square(image: np.ndarray, size: int, fit: str) -> np.ndarray:
    """Resize to (size, size, 3); 'center_crop' keeps the aspect ratio, 'stretch' does not."""
    if fit == "center_crop":
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        image = image[top : top + side, left : left + side]
    elif fit != "stretch":
        raise ValueError(f"unknown fit '{fit}' (expected 'stretch' or 'center_crop')")
    if image.shape[:2] == (size, size):
        return np.ascontiguousarray(image)
    resized = Image.fromarray(image).resize(
        (size, size), Image.Resampling.LANCZOS, reducing_gap=3.0
    )
    return np.asarray(resized)
