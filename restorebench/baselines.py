"""Restorers that need no training, the bar a learned model has to clear.

``damaged`` returns the input itself: the score of doing nothing. ``inpaint`` is the
classical answer to this damage: the scribbles are opaque near-white paint, so find
the near-white pixels and fill them with scikit-image's biharmonic inpainting. Growing
the mask (``dilation``) catches JPEG-smeared stroke edges, but on crisp synthetic
damage it only hides true pixels: at 64 px one pixel of dilation raised the mean MSE
from 14 to 550 on faces-dev, hence the default 0. Its blind spot is honest white in the
photo (highlights, white shirts), which it repaints as well.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from scipy import ndimage
from skimage.restoration import inpaint_biharmonic

BASELINES = ("damaged", "inpaint")


def damage_mask(damaged: np.ndarray, threshold: int = 250, dilation: int = 0) -> np.ndarray:
    """(H, W) bool: pixels whose three channels are all >= ``threshold``, grown by ``dilation`` px."""
    if not 0 <= threshold <= 255:
        raise ValueError(f"threshold must lie in 0..255, got {threshold}")
    if dilation < 0:
        raise ValueError(f"dilation must be >= 0, got {dilation}")
    mask = (damaged >= threshold).all(axis=-1)
    if dilation and mask.any():
        mask = ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool), iterations=dilation)
    return mask


def inpaint_image(damaged: np.ndarray, threshold: int = 250, dilation: int = 0) -> np.ndarray:
    """One (H, W, 3) uint8 image with its near-white damage filled in."""
    mask = damage_mask(damaged, threshold, dilation)
    if not mask.any() or mask.all():  # nothing to fill, or nothing to fill it from
        return damaged.copy()
    filled = inpaint_biharmonic(damaged, mask, channel_axis=-1)
    return np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)


def inpaint_images(
    damaged: np.ndarray, threshold: int = 250, dilation: int = 0, workers: int | None = None
) -> np.ndarray:
    """Inpaint a (N, H, W, 3) uint8 stack on ``workers`` threads (default: all cores).

    The sparse solve releases the GIL: two threads took 0.93 s where one took 1.79 s
    for 48 images at 256 px, as fast as processes and without copying the stack.
    """
    if len(damaged) == 0:
        return damaged.copy()
    task = partial(inpaint_image, threshold=threshold, dilation=dilation)
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return np.stack(list(pool.map(task, damaged)))
