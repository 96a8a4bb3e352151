"""The embedded demo: clean images cut from the photographs bundled with scikit-image.

No download and no file outside the installed packages, so the default run works on
any fresh machine. Varied crops, scales and flips of fifteen photos give a few hundred
distinct images, enough for the models to learn something on a CPU in minutes. Whole
photos go to the test split: a test crop never shows a scene the models trained on.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
from skimage import data

# Colour (or greyscale, broadcast to RGB) photographs that ship inside scikit-image.
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "moon",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "camera",
    "coins",
    "grass",
    "gravel",
    "brick",
    "cell",
    "clock",
)


@cache
def _photo(name: str) -> np.ndarray:
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3], dtype=np.uint8)


def photo_of(index: int) -> str:
    return PHOTOS[index % len(PHOTOS)]


def demo_name(index: int) -> str:
    return f"demo_{index:05d}_{photo_of(index)}"


def test_photos(count: int, seed: int, test_fraction: float) -> frozenset[str]:
    """The photos whose crops make the test split: ``test_fraction`` of the photos used,
    rounded, at least one and never all, chosen by a hash of (seed, photo)."""
    used = list(PHOTOS[: min(count, len(PHOTOS))])
    share = min(max(round(test_fraction * len(used)), 1), len(used) - 1)
    ranked = sorted(used, key=lambda photo: hashlib.sha256(f"{seed}:{photo}".encode()).digest())
    return frozenset(ranked[:share])


def demo_image(index: int, seed: int) -> np.ndarray:
    """A deterministic square crop (any size; callers resize) of one bundled photo."""
    photo = _photo(photo_of(index))
    digest = hashlib.sha256(f"{seed}:demo:{index}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    height, width = photo.shape[:2]
    side = int(min(height, width) * rng.uniform(0.3, 1.0))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    crop = photo[top : top + side, left : left + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(
        np.rot90(crop, k=int(rng.integers(0, 4))) if rng.random() < 0.2 else crop
    )
