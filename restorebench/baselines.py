"""Restorers that need no training, the bar a learned model has to clear.

``damaged`` returns the input itself: the score of doing nothing. ``inpaint`` is the
classical answer to this damage: find the paint and fill it with scikit-image's
biharmonic inpainting. Paint is found two ways: opaque near-white pixels (stroke
cores), and thin lines brighter than their surroundings in every channel (a white
top-hat of the darkest channel), which catches the anti-aliased edges and sub-pixel
strokes that a threshold misses once images are resized. On 40 faces-dev images the
top-hat raised PSNR from 23.1 dB (best threshold alone) to 28.1 dB at 64 px. Its blind
spot is thin true white in a photo (catchlights, white hair), which it repaints too.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from scipy import ndimage
from skimage.restoration import inpaint_biharmonic

BASELINES = ("damaged", "inpaint")


def damage_mask(
    damaged: np.ndarray, threshold: int = 250, contrast: int = 32, dilation: int | None = None
) -> np.ndarray:
    """(H, W) bool: opaque paint (all channels >= ``threshold``, grown by ``dilation`` px;
    None scales it with the image, ``size // 128``) plus thin lines whose darkest channel
    exceeds its grey opening by more than ``contrast`` (0 turns that off)."""
    if not 0 <= threshold <= 255:
        raise ValueError(f"threshold must lie in 0..255, got {threshold}")
    if dilation is not None and dilation < 0:
        raise ValueError(f"dilation must be >= 0, got {dilation}")
    if contrast < 0:
        raise ValueError(f"contrast must be >= 0, got {contrast}")
    darkest = damaged.min(axis=-1).astype(np.int16)
    size = min(darkest.shape)
    mask = darkest >= threshold
    grow = size // 128 if dilation is None else dilation
    if grow and mask.any():
        mask = ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool), iterations=grow)
    if contrast:
        width = 2 * max(1, size // 64) + 1  # wider than the strokes: 3 px at 64, 5 at 128, 9 at 256
        mask |= darkest - ndimage.grey_opening(darkest, size=(width, width)) > contrast
    return mask


def inpaint_image(
    damaged: np.ndarray, threshold: int = 250, contrast: int = 32, dilation: int | None = None
) -> np.ndarray:
    """One (H, W, 3) uint8 image with its detected damage filled in."""
    mask = damage_mask(damaged, threshold, contrast, dilation)
    if not mask.any() or mask.all():  # nothing to fill, or nothing to fill it from
        return damaged.copy()
    filled = inpaint_biharmonic(damaged, mask, channel_axis=-1)
    return np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)


def inpaint_images(
    damaged: np.ndarray,
    threshold: int = 250,
    contrast: int = 32,
    dilation: int | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Inpaint a (N, H, W, 3) uint8 stack on ``workers`` threads (default: all cores).

    The sparse solve releases the GIL: two threads took 0.93 s where one took 1.79 s
    for 48 images at 256 px, as fast as processes and without copying the stack.
    """
    if len(damaged) == 0:
        return damaged.copy()
    task = partial(inpaint_image, threshold=threshold, contrast=contrast, dilation=dilation)
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return np.stack(list(pool.map(task, damaged)))
