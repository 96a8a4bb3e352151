"""Damage masks recovered from a pair: the truth the scores and the viewer use.

Synthesized damage knows its mask exactly (``damage.damage_pair``). A pair of photos does
not: the mask is recovered from where the damaged image is brighter than its clean
partner, the paint being white. JPEG noise makes small differences everywhere, so a
pixel is damage when its mean channel increase passes ``RECOVERY_LOW`` grey levels and it
touches, through such pixels, one that passes ``RECOVERY_HIGH`` (hysteresis: faint
anti-aliased stroke edges are kept where they join a stroke, isolated noise is not).
docs/data.md gives the rule's agreement with exact masks on JPEG-saved pairs.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

RECOVERY_LOW = 8
RECOVERY_HIGH = 24
RECOVERY_RULE = (
    "recovered: mean channel increase damaged - clean above "
    f"{RECOVERY_LOW} grey levels, connected to one above {RECOVERY_HIGH} (hysteresis)"
)
EXACT_RULE = "exact: every pixel the synthesized paint covers at all"


def recover_mask(clean: np.ndarray, damaged: np.ndarray) -> np.ndarray:
    """(H, W) bool damage mask of one uint8 (H, W, 3) pair (see the module docstring)."""
    if clean.shape != damaged.shape:
        raise ValueError(f"clean {clean.shape} and damaged {damaged.shape} differ in shape")
    increase = damaged.astype(np.int16).mean(axis=-1) - clean.astype(np.int16).mean(axis=-1)
    # scikit-image's apply_hysteresis_threshold, which the viewer (no scikit-image) cannot load.
    regions, count = ndimage.label(increase > RECOVERY_LOW)
    keep = np.zeros(count + 1, bool)
    keep[regions[increase > RECOVERY_HIGH]] = True
    keep[0] = False
    return keep[regions]


def recover_masks(clean: np.ndarray, damaged: np.ndarray) -> np.ndarray:
    """(N, H, W) bool masks of a stack of pairs (of none: an empty stack)."""
    masks = np.zeros(clean.shape[:3], bool)
    for index, (c, d) in enumerate(zip(clean, damaged)):
        masks[index] = recover_mask(c, d)
    return masks
