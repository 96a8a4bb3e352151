"""Does the pair-alignment check keep genuine pairs whose damaged side is a small JPEG?

    python -m bench.alignment_probe [--photos DIR] [--count 300] [--damaged-side 64]

Each photo of ``--photos`` (default ../shared/data/faces-dev) is damaged as humanface8000
is (stretched to 256 px, painted by ``restorebench.data.damage``), then saved at
``--damaged-side`` px as a JPEG of quality 90 beside the full-size clean photo; both are
read back as prepare reads them. Printed: how many genuine pairs the check refuses at the
old fixed 128 px and at the size prepare compares at now, by damage amount; the same
photos saved undamaged; and wrong pairs (the damaged image of one photo against the
clean photo of the next), all against the default ``dataset.pair_tolerance``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
from PIL import Image

from bench.machine import describe
from bench.quality import FACES
from restorebench.data.alignment import ALIGNMENT_SIZE, comparison_size, intact_difference
from restorebench.data.damage import REFERENCE_SIZE, damage_pair
from restorebench.data.images import fit_square, is_image_file, load_rgb
from restorebench.data.prepare import PrepareSettings

FIT = "stretch"  # humanface8000's fit: its damaged side is its clean one stretched square
JPEG_QUALITY = 90
SEED = 0
TERCILES = ("fewest", "middle", "most")
PREPARE_DEFAULTS = {field.name: field.default for field in fields(PrepareSettings)}
LIMITS = {key: PREPARE_DEFAULTS[key] for key in ("max_pixels", "min_side")}  # prepare's own


def _difference(clean: np.ndarray, damaged: np.ndarray, size: int) -> float:
    return intact_difference(fit_square(clean, size, FIT), fit_square(damaged, size, FIT))


def _save_small(image: np.ndarray, side: int, path: Path) -> np.ndarray:
    """The damaged side as a user brings it: downscaled, JPEG-compressed, decoded again."""
    small = Image.fromarray(image).resize((side, side), Image.Resampling.LANCZOS)
    small.save(path, quality=JPEG_QUALITY)
    return load_rgb(path, **LIMITS)


def _refused(differences: np.ndarray, tolerance: float) -> int:
    return int((differences > tolerance).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=FACES, help="folder of clean photos")
    parser.add_argument("--count", type=int, default=300, help="photos to use (the first, by name)")
    parser.add_argument("--damaged-side", type=int, default=64, help="damaged side's size in px")
    args = parser.parse_args()
    if not args.photos.is_dir():
        sys.exit(
            f"{args.photos} is absent: the probe needs a folder of clean photos (faces-dev sits "
            "beside the team's checkout only; pass --photos)"
        )
    paths = sorted(path for path in args.photos.iterdir() if is_image_file(path))[: args.count]
    if len(paths) < 2:
        sys.exit(f"{args.photos}: {len(paths)} photo(s), the probe needs at least 2")
    tolerance = PREPARE_DEFAULTS["pair_tolerance"]
    side = args.damaged_side
    cleans, damaged, undamaged, shares = [], [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for path in paths:
            clean = load_rgb(path, **LIMITS)
            square = fit_square(clean, REFERENCE_SIZE, FIT)
            painted, mask = damage_pair(square, SEED, path.stem)
            cleans.append(clean)
            damaged.append(_save_small(painted, side, Path(scratch) / f"{path.stem}.jpg"))
            undamaged.append(_save_small(square, side, Path(scratch) / f"{path.stem}_intact.jpg"))
            shares.append(float(mask.mean()))
    sizes = [comparison_size(c.shape, d.shape) for c, d in zip(cleans, damaged)]
    old = np.array([_difference(c, d, ALIGNMENT_SIZE) for c, d in zip(cleans, damaged)])
    new = np.array([_difference(c, d, size) for c, d, size in zip(cleans, damaged, sizes)])
    intact_old = max(_difference(c, u, ALIGNMENT_SIZE) for c, u in zip(cleans, undamaged))
    intact_new = max(_difference(c, u, size) for c, u, size in zip(cleans, undamaged, sizes))
    others = cleans[1:] + cleans[:1]
    wrong = np.array(
        [_difference(c, d, comparison_size(c.shape, d.shape)) for c, d in zip(others, damaged)]
    )
    now = f"{min(sizes)} px" if min(sizes) == max(sizes) else f"{min(sizes)}-{max(sizes)} px"
    machine = describe()
    count = len(paths)
    print(
        f"{count} photos of {args.photos}, damaged side {side} px JPEG quality {JPEG_QUALITY}, "
        f"fit {FIT}, pair_tolerance {tolerance:g}"
    )
    print(f"machine: {machine['cpu']}, {machine['cores']} cores")
    print(
        f"genuine pairs refused at {ALIGNMENT_SIZE} px (old): {_refused(old, tolerance)}/{count}, "
        f"max difference {old.max():.1f}"
    )
    print(
        f"genuine pairs refused at {now} (now): {_refused(new, tolerance)}/{count}, "
        f"max difference {new.max():.1f}"
    )
    order = np.argsort(shares, kind="stable")
    for name, group in zip(TERCILES, np.array_split(order, len(TERCILES))):
        low, high = 100 * shares[group[0]], 100 * shares[group[-1]]
        print(
            f"  {name} damage ({low:.1f}-{high:.1f} % painted, {len(group)} pairs): refused "
            f"{_refused(old[group], tolerance)} old, {_refused(new[group], tolerance)} now"
        )
    print(
        f"undamaged pairs: max difference {intact_new:.1f} at {now} "
        f"({intact_old:.1f} at {ALIGNMENT_SIZE} px)"
    )
    print(
        f"wrong pairs (damaged of photo i, clean of photo i+1): min difference {wrong.min():.1f} "
        f"at {now}, {count - _refused(wrong, tolerance)}/{count} pass"
    )


if __name__ == "__main__":
    main()
