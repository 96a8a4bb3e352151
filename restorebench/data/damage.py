"""Synthetic damage that imitates humanface8000: opaque pure-white scribbles.

The Kaggle set's damaged half carries random-walk strokes a few pixels wide, straight-ish
scratches and white dots/blobs, from a few strokes to dozens per image; no noise, no blur.
Damage is drawn at the working resolution (widths are given at 256 px and scaled) and is
a pure function of (seed, name), so a dataset can be rebuilt bit for bit.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

REFERENCE_SIZE = 256
SUPERSAMPLING = 4  # anti-aliasing: draw at 4x, average 4x4 blocks into coverage


@dataclass(frozen=True)
class DamageSettings:
    # Calibrated to the real set's damaged inputs (docs/data.md, "Damage model").
    strokes: tuple[int, int] = (4, 36)
    stroke_width: tuple[float, float] = (3.0, 5.5)
    blobs: tuple[int, int] = (1, 10)
    antialias: bool = True

    def __post_init__(self):
        for key in ("strokes", "stroke_width", "blobs"):
            low, high = getattr(self, key)
            if low > high:
                raise ValueError(
                    f"dataset.damage.{key}: [{low}, {high}] is reversed, write [{high}, {low}]"
                )

    @property
    def damages_nothing(self) -> bool:
        return self.strokes[1] == 0 and self.blobs[1] == 0

    @classmethod
    def from_config(cls, section: dict) -> DamageSettings:
        defaults = cls()
        return cls(
            strokes=tuple(section.get("strokes", defaults.strokes)),
            stroke_width=tuple(section.get("stroke_width", defaults.stroke_width)),
            blobs=tuple(section.get("blobs", defaults.blobs)),
            antialias=bool(section.get("antialias", defaults.antialias)),
        )


def _rng(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{name}:damage".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _stroke(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, width: int) -> None:
    """A random walk of straight segments: zig-zag scribbles and, with few turns, scratches."""
    point = rng.uniform(0, size, 2)
    heading = rng.uniform(0, 2 * math.pi)
    turniness = rng.choice([0.15, 0.9, 1.6])  # scratch, scribble, tangle
    points = [tuple(point)]
    for _ in range(int(rng.integers(2, 11))):
        heading += rng.normal(0, turniness)
        length = rng.uniform(0.04, 0.22) * size
        point = point + length * np.array([math.cos(heading), math.sin(heading)])
        points.append(tuple(point))
    draw.line(points, fill=255, width=width, joint="curve")


def _blob(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, scale: float) -> None:
    """A cluster of a few white dots, like the splotches in the Kaggle set."""
    centre = rng.uniform(0, size, 2)
    for _ in range(int(rng.integers(1, 5))):
        radius = max(0.6, rng.uniform(1.5, 5.0) * scale)
        x, y = centre + rng.normal(0, 3.0 * scale, 2)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)


def damage_coverage(
    size: int, seed: int, name: str, settings: DamageSettings = DamageSettings()
) -> np.ndarray:
    """(size, size) float32 in [0, 1]: how much of each pixel the white paint covers."""
    rng = _rng(seed, name)
    factor = SUPERSAMPLING if settings.antialias else 1
    canvas_size = size * factor
    scale = canvas_size / REFERENCE_SIZE
    low, high = settings.strokes
    count = round(math.exp(rng.uniform(math.log(max(low, 1)), math.log(max(high, 1) + 1))))
    count = min(max(count, low), high)
    canvas = Image.new("L", (canvas_size, canvas_size), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        width = max(1, round(rng.uniform(*settings.stroke_width) * scale))
        _stroke(draw, rng, canvas_size, width)
    for _ in range(int(rng.integers(settings.blobs[0], settings.blobs[1] + 1))):
        _blob(draw, rng, canvas_size, scale)
    return np.asarray(canvas.reduce(factor), dtype=np.float32) / 255.0  # box average in C


def damage_mask(
    size: int, seed: int, name: str, settings: DamageSettings = DamageSettings()
) -> np.ndarray:
    """Boolean (size, size) mask of the pixels the damage touches at all."""
    return damage_coverage(size, seed, name, settings) > 0


def damage_pair(
    clean: np.ndarray, seed: int, name: str, settings: DamageSettings = DamageSettings()
) -> tuple[np.ndarray, np.ndarray]:
    """The damaged counterpart of a square uint8 RGB image (clean blended towards white)
    and its exact (H, W) bool mask: every pixel the paint covers at all."""
    height, width = clean.shape[:2]
    if height != width:
        raise ValueError(f"apply_damage expects a square image, got {width}x{height}")
    coverage = damage_coverage(height, seed, name, settings)
    alpha = coverage[..., None]
    return np.rint(clean * (1.0 - alpha) + 255.0 * alpha).astype(np.uint8), coverage > 0


def apply_damage(
    clean: np.ndarray, seed: int, name: str, settings: DamageSettings = DamageSettings()
) -> np.ndarray:
    """The damaged counterpart of a square uint8 RGB image (see :func:`damage_pair`)."""
    return damage_pair(clean, seed, name, settings)[0]
