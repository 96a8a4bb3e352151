"""Synthetic stand-ins for humanface8000: the same folder layout, file types and sizes.

The benchmark must not depend on a 475 MB download, yet prepare's cost depends on
what it decodes: clean JPEGs of mixed sizes around 500x362 (a few greyscale), and
damaged 256x256 RGB JPEGs with white scribbles, paired by identical file name.
Content is smooth random colour fields with fine noise: they decode and zlib-compress
in about the time real 256 px face photos do, though they compress less (about 96%
of raw at gzip level 4 against about 70% for the team's faces-dev photos).
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from restorebench.data.damage import apply_damage
from restorebench.data.sources import HUMANFACE_FOLDER

GREY_SHARE = 0.03  # the real set holds some greyscale clean photos
DAMAGED_SIDE = 256


def _photo(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth colour field with some detail: coarse noise upsampled, plus fine noise."""
    coarse = rng.integers(20, 235, (height // 24 + 2, width // 24 + 2, 3), dtype=np.uint8)
    image = np.asarray(
        Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16
    )
    image = image + rng.integers(-12, 13, image.shape, dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def _write_pair(task: tuple[Path, int, int]) -> None:
    root, index, seed = task
    rng = np.random.default_rng([seed, index])
    width, height = int(rng.integers(440, 561)), int(rng.integers(320, 405))
    clean = _photo(rng, width, height)
    name = f"{10000 + index}"
    picture = Image.fromarray(clean)
    if rng.random() < GREY_SHARE:
        picture = picture.convert("L")
    picture.save(root / "color" / f"{name}.jpg", quality=90)
    square = np.asarray(
        Image.fromarray(clean).resize((DAMAGED_SIDE, DAMAGED_SIDE), Image.Resampling.BILINEAR)
    )
    Image.fromarray(apply_damage(square, seed, name)).save(
        root / "gray" / f"{name}.jpg", quality=90
    )


def humanface_like(folder: Path, pairs: int, seed: int = 0, workers: int | None = None) -> Path:
    """``folder/'landscape Images'/{color,gray}`` with ``pairs`` pairs; reused when already complete.

    Returns the folder to give as ``dataset.path`` (the one holding 'landscape Images').
    """
    folder = Path(folder)
    root = folder / HUMANFACE_FOLDER
    stamp = folder / "complete.json"
    wanted = {"pairs": pairs, "seed": seed, "version": 1}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for kind in ("color", "gray"):
        (root / kind).mkdir(parents=True)
    tasks = [(root, index, seed) for index in range(pairs)]
    with ProcessPoolExecutor(workers or os.cpu_count()) as pool:
        list(pool.map(_write_pair, tasks, chunksize=32))
    stamp.write_text(json.dumps(wanted))
    return folder


def subset(source: Path, folder: Path, pairs: int) -> Path:
    """The first ``pairs`` pairs of a humanface-like folder, as symbolic links (no copies)."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    names = sorted(p.name for p in (Path(source) / HUMANFACE_FOLDER / "color").iterdir())[:pairs]
    for kind in ("color", "gray"):
        target = folder / HUMANFACE_FOLDER / kind
        target.mkdir(parents=True)
        for name in names:
            (target / name).symlink_to((Path(source) / HUMANFACE_FOLDER / kind / name).resolve())
    return folder


def read_through(folder: Path) -> int:
    """Read every file once so the timed runs find them in the page cache; returns bytes read."""
    total = 0
    for path in sorted(Path(folder).rglob("*.jpg")):
        total += len(path.read_bytes())
    return total
