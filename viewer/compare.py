"""The compare view's state: which two panels, swipe or flicker, where the divider is.

Qt-free, so its rules — the split column of a swipe, what a flicker
shows next, the defaults when panels come and go — are tested without pixels. The
window holds one :class:`CompareState`; :class:`viewer.panels.CompareView` draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viewer.runfiles import CLEAN, DAMAGED, FIXED_PANELS

OFF, SWIPE, FLICKER = "off", "swipe", "flicker"
MODES = (OFF, SWIPE, FLICKER)  # the order C cycles through
FLICKER_MS = 500  # the flicker's interval
DIVIDER_STEP = 0.1  # '[' and ']' move the swipe's divider by this fraction of the width


def split_column(divider: float, width: int) -> int:
    """The first image column right of the divider: columns before it show A, the rest B."""
    return int(min(max(round(divider * width), 0), width))


def swipe(a: np.ndarray, b: np.ndarray, divider: float) -> np.ndarray:
    """What a swipe shows as one array: A's columns left of the divider, B's right of it."""
    if a.shape != b.shape:
        raise ValueError(f"cannot swipe images of shapes {a.shape} and {b.shape}")
    out = b.copy()
    split = split_column(divider, a.shape[1])
    out[:, :split] = a[:, :split]
    return out


def default_pair(panels: list[str]) -> tuple[str, str]:
    """The first restoration against the clean reference (else damaged against clean)."""
    models = [p for p in panels if p not in FIXED_PANELS]
    a = models[0] if models else DAMAGED
    return a, CLEAN


def parse_pair(text: str, panels: list[str]) -> tuple[str, str]:
    """``'gan,clean'`` -> ('gan', 'clean'); ValueError naming what is wrong and the choices."""
    names = [n.strip() for n in text.split(",")]
    if len(names) != 2 or not all(names):
        raise ValueError(f"give two panels as A,B (e.g. gan,clean), got '{text}'")
    unknown = [n for n in names if n not in panels]
    if unknown:
        raise ValueError(
            f"the run has no panel {', '.join(repr(n) for n in unknown)} "
            f"(available: {', '.join(panels)})"
        )
    if names[0] == names[1]:
        raise ValueError(f"A and B are the same panel ('{names[0]}'): give two different ones")
    return names[0], names[1]


@dataclass
class CompareState:
    """``a`` and ``b``: panel keys ('damaged', 'clean' or a model). ``divider``: the fraction
    of the width left of the swipe's divider (A's part). ``showing``: 'a' or 'b', the one a
    flicker has on screen; ``auto``: whether the flicker alternates by itself."""

    a: str = ""
    b: str = ""
    mode: str = OFF
    divider: float = 0.5
    showing: str = "a"
    auto: bool = True

    @property
    def active(self) -> bool:
        return self.mode != OFF

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown compare mode '{mode}' (choose from {', '.join(MODES)})")
        if mode != self.mode:
            self.showing = "a"  # a flicker starts on A
        self.mode = mode

    def cycle(self) -> str:
        """The next mode (off -> swipe -> flicker -> off): the C key."""
        self.set_mode(MODES[(MODES.index(self.mode) + 1) % len(MODES)])
        return self.mode

    def set_divider(self, fraction: float) -> None:
        self.divider = float(min(max(fraction, 0.0), 1.0))

    def nudge(self, direction: int) -> None:
        """'[' (-1) and ']' (+1): the divider to the next multiple of DIVIDER_STEP that way."""
        steps = self.divider / DIVIDER_STEP
        target = math.ceil(steps - 1e-6) - 1 if direction < 0 else math.floor(steps + 1e-6) + 1
        self.set_divider(round(target * DIVIDER_STEP, 6))

    def flick(self) -> str:
        """Show the other one (a flicker's tick, or a manual step); the key now shown."""
        self.showing = "b" if self.showing == "a" else "a"
        return self.shown

    @property
    def shown(self) -> str:
        """The panel a flicker has on screen."""
        return self.a if self.showing == "a" else self.b

    def swap(self) -> None:
        self.a, self.b = self.b, self.a

    def fit_to(self, panels: list[str]) -> None:
        """Keep A and B while they are panels; one that went away gets a default."""
        if self.a in panels and self.b in panels and self.a != self.b:
            return
        a, b = default_pair(panels)
        if self.a in panels:
            b = b if self.a != b else a
            a = self.a
        elif self.b in panels:
            a = a if self.b != a else b
            b = self.b
        self.a, self.b = a, b
