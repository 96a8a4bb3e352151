"""Restorers that need no training, the bar a learned model has to clear.

``damaged`` returns the input itself: the score of doing nothing. ``inpaint`` is the
classical answer to this damage: find the paint and fill it with scikit-image's
biharmonic inpainting. Paint is found two ways: opaque near-white pixels (stroke
cores), and thin lines brighter than their surroundings in every channel (a white
top-hat of the darkest channel), which catches the anti-aliased edges and sub-pixel
strokes that a threshold misses once images are resized (docs/scoring.md gives its
measured effect). Its blind spot is thin true white in a photo (catchlights, white
hair), which it repaints too. ``inpaint_oracle`` fills the dataset's own mask instead:
what perfect detection plus the same filling would score.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from scipy import ndimage
from skimage.restoration import inpaint_biharmonic

from restorebench import contract


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


def fill(damaged: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One (H, W, 3) uint8 image with the pixels of ``mask`` filled from the others."""
    if not mask.any() or mask.all():  # nothing to fill, or nothing to fill it from
        return damaged.copy()
    filled = inpaint_biharmonic(damaged, mask, channel_axis=-1)
    return np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)


def inpaint_image(
    damaged: np.ndarray, threshold: int = 250, contrast: int = 32, dilation: int | None = None
) -> np.ndarray:
    """One (H, W, 3) uint8 image with its detected damage filled in."""
    return fill(damaged, damage_mask(damaged, threshold, contrast, dilation))


def _on_threads(task: Callable, *stacks: np.ndarray, workers: int | None) -> list:
    """``task`` over the images of the stacks on threads: the filters and the sparse solve
    release the GIL, so threads use every core without copying the stacks."""
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return list(pool.map(task, *stacks))


def detect_damage(
    damaged: np.ndarray,
    threshold: int = 250,
    contrast: int = 32,
    dilation: int | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """(N, H, W) bool: :func:`damage_mask` of each image of a (N, H, W, 3) uint8 stack."""
    task = partial(damage_mask, threshold=threshold, contrast=contrast, dilation=dilation)
    return np.asarray(_on_threads(task, damaged, workers=workers), bool).reshape(damaged.shape[:3])


def fill_images(damaged: np.ndarray, masks: np.ndarray, workers: int | None = None) -> np.ndarray:
    """:func:`fill` of each image of a (N, H, W, 3) uint8 stack with its mask."""
    if len(damaged) == 0:
        return damaged.copy()
    return np.stack(_on_threads(fill, damaged, masks, workers=workers))


def inpaint_images(
    damaged: np.ndarray,
    threshold: int = 250,
    contrast: int = 32,
    dilation: int | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``inpaint`` baseline on a (N, H, W, 3) uint8 stack: restorations and detected masks."""
    masks = detect_damage(damaged, threshold, contrast, dilation, workers)
    return fill_images(damaged, masks, workers), masks


# The baselines' functions, as contract.BASELINE_RESTORERS names them.
Restored = tuple[np.ndarray, np.ndarray | None]


def as_damaged(damaged: np.ndarray, masks, settings: dict, workers: int | None) -> Restored:
    return damaged, None


def inpaint_baseline(damaged: np.ndarray, masks, settings: dict, workers: int | None) -> Restored:
    return inpaint_images(damaged, **settings, workers=workers)


def oracle_baseline(damaged: np.ndarray, masks, settings: dict, workers: int | None) -> Restored:
    return fill_images(damaged, masks, workers), None


def restore_baseline(
    name: str, damaged: np.ndarray, masks, settings: dict, workers: int | None = None
) -> Restored:
    """Baseline ``name`` (``contract.BASELINE_RESTORERS``) on a (N, H, W, 3) uint8 stack."""
    function = globals()[contract.BASELINE_RESTORERS[name].function]
    return function(damaged, masks, settings, workers)
