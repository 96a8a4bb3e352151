"""Is a damaged image the same picture as its clean partner? A check on the intact pixels.

Damage only paints pixels white, so wherever the damaged image is not near-white, a pair
that is aligned agrees up to compression noise. A pair cropped differently, rotated by
EXIF on one side only or simply mismatched disagrees almost everywhere. Brightness is
compared, not colour: a few clean photos of humanface8000 are greyscale.
"""

from __future__ import annotations

import numpy as np

# Pairs are compared at this size at most: small enough to be cheap, large enough that a
# resized stroke keeps near-white pixels (at 16 px most pixels hold a little paint).
ALIGNMENT_SIZE = 128
NEAR_WHITE = 220  # every channel at least this: possibly paint, or paint blended by resizing
# Under center_crop, sides whose width/height ratios differ by more than this (relative)
# are not one picture: each crop would keep another part of the photo.
ASPECT_TOLERANCE = 0.02


def comparison_size(*shapes: tuple[int, ...]) -> int:
    """The side both images are squared to: never above the smaller image.

    Upscaling a small damaged image blurs its thin strokes below ``NEAR_WHITE``, so they
    would count as intact and a genuine pair of a heavily damaged photo would look shifted.
    """
    return min(ALIGNMENT_SIZE, *(min(shape[:2]) for shape in shapes))


def aspect_ratios_differ(clean_shape: tuple[int, ...], damaged_shape: tuple[int, ...]) -> bool:
    """Whether one side cannot be a resized copy of the other.

    A resize rounds each side to whole pixels, so a small image may be off by a pixel
    more than ``ASPECT_TOLERANCE`` allows.
    """
    clean_height, clean_width = clean_shape[:2]
    damaged_height, damaged_width = damaged_shape[:2]
    relative = abs((damaged_width / damaged_height) / (clean_width / clean_height) - 1)
    rounding = 1 / min(clean_height, clean_width, damaged_height, damaged_width)
    return relative > max(ASPECT_TOLERANCE, rounding)


def _grow(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel (3x3), to drop the blended rim of every stroke too."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    return np.logical_or.reduce(
        [padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)]
    )


def _luma(image: np.ndarray) -> np.ndarray:
    """Brightness (ITU-R 601): a greyscale photo and a colour copy of it are the same picture."""
    return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def intact_difference(clean: np.ndarray, damaged: np.ndarray) -> float:
    """Median absolute brightness difference, in grey levels (0-255), over the intact pixels.

    The median, not the mean: JPEG rings for a few pixels around every white stroke, and
    heavy damage would otherwise make an aligned pair look shifted. Both are uint8
    (H, W, 3) of one size. Returns 0 when nothing is left to compare (an
    all-white picture), which never flags a pair.
    """
    if clean.shape != damaged.shape:
        raise ValueError(f"pair shapes differ: {clean.shape} and {damaged.shape}")
    intact = ~_grow((damaged >= NEAR_WHITE).all(axis=-1))
    if not intact.any():
        return 0.0
    difference = np.abs(_luma(clean) - _luma(damaged))
    return float(np.median(difference[intact]))
