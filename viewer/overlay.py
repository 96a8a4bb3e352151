"""The mask overlay's rules: which damage mask each panel shows, in which colour.

Qt-free, so what a panel shows in each mode is tested without pixels. The modes, in the
order M cycles through: ``off``; ``true``, the dataset's damage on every panel; ``found``,
on each model's panel the damage that model found itself (where its predictions store a
mask; the others say they have none), the true damage staying on the damaged and clean
panels as the reference to compare with. True and found damage differ in colour, so a
panel never leaves in doubt which one it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.runfiles import FIXED_PANELS

OFF, TRUE, FOUND = "off", "true", "found"
MODES = (OFF, TRUE, FOUND)
MODE_NAMES = {OFF: "off", TRUE: "true damage", FOUND: "found by the model"}
# RGB of a fully damaged pixel: colours that faces, and the white paint, rarely have.
COLOURS = {TRUE: (255, 0, 255), FOUND: (0, 255, 255)}
OPACITY = 0.5  # of a fully damaged pixel: the image stays visible under it
# Shown in the title of a panel in the found mode: which mask it shows, or that it has none.
TITLE_NOTES = {TRUE: "(true mask)", FOUND: "(found mask)", None: "(no found mask)"}


@dataclass(frozen=True)
class Overlay:
    """One panel's overlay: ``mask`` (H, W) uint8, 0 clear to 255 fully coloured (a soft found
    mask is partly coloured), and ``kind``, TRUE or FOUND, which sets the colour."""

    mask: np.ndarray
    kind: str

    @classmethod
    def of_true(cls, mask: np.ndarray) -> Overlay:
        """The overlay of a bool damage mask."""
        return cls(mask.astype(np.uint8) * np.uint8(255), TRUE)


def next_mode(mode: str) -> str:
    """The mode after ``mode`` (the M key): off -> true -> found -> off."""
    return MODES[(MODES.index(mode) + 1) % len(MODES)]


def mask_kind(mode: str, panel: str, has_found: bool) -> str | None:
    """Which mask ``panel`` shows in ``mode``: TRUE, FOUND or None (no overlay)."""
    if mode not in MODES:
        raise ValueError(f"unknown mask overlay '{mode}' (choose from {', '.join(MODES)})")
    if mode == OFF:
        return None
    if mode == TRUE or panel in FIXED_PANELS:
        return TRUE
    return FOUND if has_found else None


def lookup_table(kind: str) -> np.ndarray:
    """(256, 4) uint8 RGBA table from a mask value to its overlay colour: the kind's colour,
    its opacity growing with the value up to OPACITY, so 0 leaves the image untouched."""
    table = np.zeros((256, 4), dtype=np.uint8)
    table[:, :3] = COLOURS[kind]
    table[:, 3] = np.rint(np.arange(256) * OPACITY).astype(np.uint8)
    return table
