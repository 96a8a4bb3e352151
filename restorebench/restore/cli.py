"""Restore a folder of your own images, of any size, with a trained model; writes PNGs.

A model restores images of exactly the square size it was trained on, so every picture
is brought to that size and back:

* ``resize`` (default) stretches the whole picture to the model's size, as the
  training data was made, restores it and stretches the result back. The model sees the
  scene, and the damage, at the scale it learned; fine detail of large pictures is lost.
* ``tile`` keeps the native resolution: overlapping model-size tiles are restored one by
  one and blended. Detail survives, but on pictures much larger than the training size
  each tile sees a small part of the scene, at a scale the model never saw.

``--keep-undamaged`` then keeps the original pixels everywhere except the near-white
damage (and a pixel around it), which undoes the model's blur on the rest of the image.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from restorebench.data.images import ImageError, is_image_file, load_rgb
from restorebench.restore.baselines import damage_mask
from restorebench.runtime import accel

MODES = ("resize", "tile")


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Offsets of tiles of side ``tile`` that cover ``length`` pixels, each overlapping the last."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    return [*range(0, length - tile, stride), length - tile]


def _tent(tile: int) -> np.ndarray:
    """Blending weight that falls towards a tile's edges, where the model sees least context."""
    ramp = np.minimum(np.arange(1, tile + 1), np.arange(tile, 0, -1)).astype(np.float64)
    return np.outer(ramp, ramp)[..., None]


def restore_picture(
    restore: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    size: int,
    mode: str,
    overlap: int,
    batch_size: int = 32,
) -> np.ndarray:
    """One (H, W, 3) uint8 picture restored at its own size.

    ``restore`` maps a uint8 (N, size, size, 3) stack to its restoration (the model). Tile
    mode hands it at most ``batch_size`` tiles at a time and blends them into the output
    as they come, so its memory follows the tile and the batch, not the picture.
    """
    height, width = image.shape[:2]
    if mode == "resize":
        return _resize(restore(_resize(image, size, size)[None])[0], width, height)
    if mode != "tile":
        raise ValueError(f"unknown mode '{mode}' (expected one of {MODES})")
    output = np.empty_like(image)
    if width > height:  # bands of tile rows run across the shorter side: the band stays small
        _blend_tiles(
            lambda tiles: _turned(restore(_turned(tiles))),  # the model sees upright tiles
            image.transpose(1, 0, 2),
            output.transpose(1, 0, 2),
            size,
            overlap,
            batch_size,
        )
    else:
        _blend_tiles(restore, image, output, size, overlap, batch_size)
    return output


def _turned(tiles: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(tiles.transpose(0, 2, 1, 3))


def _tile(image: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """The tile at (top, left); a picture smaller than a tile is mirrored out to one."""
    tile = image[top : top + size, left : left + size]
    short = (size - tile.shape[0], size - tile.shape[1])
    if not any(short):
        return tile
    return np.pad(tile, ((0, short[0]), (0, short[1]), (0, 0)), mode="symmetric")


def _blend_tiles(
    restore: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    output: np.ndarray,
    size: int,
    overlap: int,
    batch_size: int,
) -> None:
    """Restore ``image``'s tiles batch by batch and write their tent-weighted blend to ``output``.

    Only the band of ``size`` rows under the current row of tiles is summed; the rows above
    it are final and written out as the band moves down. Every sum is of integers (uint8
    pixels times integer tent weights), exact in float64 in any order, so the result is
    that of summing the whole picture at once.
    """
    height, width = image.shape[:2]
    band_width = max(width, size)
    total = np.zeros((size, band_width, 3))
    weight = np.zeros((size, band_width, 1))
    tent = _tent(size)
    corners = [
        (top, left)
        for top in tile_starts(max(height, size), size, overlap)
        for left in tile_starts(band_width, size, overlap)
    ]
    band_top = 0
    for start in range(0, len(corners), batch_size):
        batch = corners[start : start + batch_size]
        restored = restore(np.stack([_tile(image, top, left, size) for top, left in batch]))
        for (top, left), tile in zip(batch, restored):
            if top != band_top:
                _write_rows(total, weight, output, band_top, top - band_top)
                band_top = top
            total[:, left : left + size] += tile * tent
            weight[:, left : left + size] += tent
    _write_rows(total, weight, output, band_top, size)


def _write_rows(
    total: np.ndarray, weight: np.ndarray, output: np.ndarray, band_top: int, count: int
) -> None:
    """Write the band's first ``count`` rows, which no later tile reaches, and move the band on."""
    height, width = output.shape[:2]
    rows = min(count, height - band_top)
    if rows > 0:
        blended = total[:rows, :width] / weight[:rows, :width]
        np.clip(np.rint(blended, out=blended), 0, 255, out=blended)
        output[band_top : band_top + rows] = blended
    total[:-count] = total[count:]
    weight[:-count] = weight[count:]
    total[-count:] = 0
    weight[-count:] = 0


def keep_undamaged(original: np.ndarray, restored: np.ndarray, threshold: int) -> np.ndarray:
    """The original picture with only its near-white damage (grown by a pixel) replaced."""
    mask = damage_mask(original, threshold=threshold, contrast=0, dilation=1)
    return np.where(mask[..., None], restored, original)


def output_names(paths: list[Path]) -> dict[Path, str]:
    """One distinct PNG name per input, also where letter case is not told apart.

    ``<stem>.png`` where the stem is unique; stems shared (``a.jpg``, ``a.png``) get
    ``<stem>_<suffix>.png``, and a clash with another file's name a counter.
    """
    stems = Counter(path.stem.casefold() for path in paths)
    taken = {f"{p.stem}.png".casefold() for p in paths if stems[p.stem.casefold()] == 1}
    names = {}
    for path in paths:
        if stems[path.stem.casefold()] == 1:
            names[path] = f"{path.stem}.png"
            continue
        base = f"{path.stem}_{path.suffix.lstrip('.').lower()}"
        name, count = f"{base}.png", 1
        while name.casefold() in taken:
            count += 1
            name = f"{base}_{count}.png"
        taken.add(name.casefold())
        names[path] = name
    return names


def _is_grey(image: np.ndarray) -> bool:
    return bool((image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())


def _as_written(restored: np.ndarray, grey: bool) -> Image.Image:
    """A greyscale picture comes back greyscale: the model's colour tints are no restoration."""
    if not grey:
        return Image.fromarray(restored)
    # The channels' mean rounded in integers, not a float copy of the picture: a sum of
    # three is never a half away from a multiple of three, so (sum + 1) // 3 is its rint.
    mean = restored.sum(axis=-1, dtype=np.uint16)
    mean += 1
    mean //= 3
    return Image.fromarray(mean.astype(np.uint8), mode="L")


def _bounded(low: int, high: int | None = None):
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _output_problem(
    output: Path, source: Path, paths: list[Path], names: dict[Path, str], overwrite: bool
) -> str | None:
    """Why writing ``names`` into ``output`` would harm a file the user owns, or None."""
    if output.exists() and not output.is_dir():
        return f"{output}: exists and is not a folder"
    if output.is_dir() and not os.access(output, os.W_OK | os.X_OK):
        return f"{output}: the folder is not writable"
    folder = output.resolve()
    if source.is_dir() and (folder == source.resolve() or source.resolve() in folder.parents):
        return (
            f"{output}: is the input folder or inside it; restored files would mix with "
            "(or replace) the originals. Choose another output folder"
        )
    inputs = {path.resolve() for path in paths}
    identities = {_identity(path) for path in paths} - {None}  # a hard link is the same file
    if any(
        (folder / name).resolve() in inputs or _identity(folder / name) in identities
        for name in names.values()
    ):
        return (
            f"{output}: a restored file would replace its own input; choose another output folder"
        )
    # lexists: a dangling symlink is in the way too (writing through it would create its target)
    existing = sorted(name for name in names.values() if os.path.lexists(folder / name))
    if existing and not overwrite:
        shown = ", ".join(existing[:3]) + (
            f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        )
        return f"{output}: {len(existing)} file(s) would be replaced ({shown}); pass --overwrite to replace them"
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _write_png(image: Image.Image, target: Path) -> None:
    """Write ``target`` whole or not at all: a new file renamed into place.

    An entry already there (a symlink or a hard link too) is replaced, never written
    through, so --overwrite cannot change a file outside the output folder.
    """
    temporary = target.with_name(f".restorebench-{secrets.token_hex(6)}.partial")
    try:
        with os.fdopen(
            os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb"
        ) as file:
            image.save(file, format="PNG")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restorebench-restore",
        description=(
            "Restore a folder of damaged images of any size with a trained model "
            "(results/<run>/models/<model>/restorer.keras) and write one PNG per image, "
            "at the input's size. --mode resize (default) stretches each picture to the model's "
            "square size and the result back, as the training data was made; --mode tile restores "
            "overlapping model-size tiles at native resolution and blends them."
        ),
    )
    parser.add_argument("model", type=Path, help="a saved model (.keras)")
    parser.add_argument("input", type=Path, help="a folder of images (or one image file)")
    parser.add_argument(
        "output", type=Path, help="folder for the restored PNGs (created if missing)"
    )
    parser.add_argument(
        "--mode", choices=MODES, default="resize", help="how pictures meet the model's size"
    )
    parser.add_argument(
        "--overlap",
        type=_bounded(0),
        default=None,
        help="tile mode: overlap in pixels (default: size/4)",
    )
    parser.add_argument(
        "--keep-undamaged",
        action="store_true",
        help="keep the original pixels outside the near-white damage (and one pixel around it)",
    )
    parser.add_argument(
        "--threshold",
        type=_bounded(0, 255),
        default=250,
        help="near-white threshold for --keep-undamaged (0-255)",
    )
    parser.add_argument("--batch-size", type=_bounded(1), default=32, help="tiles per model batch")
    parser.add_argument(
        "--max-pixels", type=_bounded(1), default=40_000_000, help="refuse larger pictures"
    )
    parser.add_argument(
        "--min-side",
        type=_bounded(1),
        default=32,
        help="warn about pictures with a smaller side: the model sees too little of them",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace files already in the output folder"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.input.is_dir():
        paths = sorted(p for p in args.input.iterdir() if p.is_file() and is_image_file(p))
    elif args.input.is_file():
        paths = [args.input]
    else:
        print(f"error: {args.input}: no such folder or file", file=sys.stderr)
        return 2
    if not paths:
        print(f"error: {args.input}: no image files (by suffix) to restore", file=sys.stderr)
        return 2

    names = output_names(paths)
    problem = _output_problem(args.output, args.input, paths, names, args.overwrite)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    accel.configure()  # before Keras, which the import below starts, after the checks
    from restorebench.restore.inference import load, restore_with

    try:
        model = load(args.model)  # checked: square RGB images in, the same shape out
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = model.input_shape[1]
    overlap = size // 4 if args.overlap is None else args.overlap
    if not 0 <= overlap < size:
        print(f"error: --overlap must lie in 0..{size - 1}, got {overlap}", file=sys.stderr)
        return 2
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"error: {args.output}: cannot create the output folder: {error}", file=sys.stderr)
        return 2

    failed = 0
    for path in paths:
        try:
            image = load_rgb(path, max_pixels=args.max_pixels, min_side=1)
        except ImageError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            failed += 1
            continue
        if min(image.shape[:2]) < args.min_side:
            height, width = image.shape[:2]
            print(
                f"warning: {path}: {width}x{height} pixels, a side below --min-side "
                f"{args.min_side}: the model sees little of it",
                file=sys.stderr,
            )
        restored = restore_picture(
            lambda x: restore_with(model, x, args.batch_size),
            image,
            size,
            args.mode,
            overlap,
            args.batch_size,
        )
        if args.keep_undamaged:
            restored = keep_undamaged(image, restored, args.threshold)
        try:
            _write_png(_as_written(restored, _is_grey(image)), args.output / names[path])
        except OSError as error:
            print(f"error: {args.output / names[path]}: cannot write: {error}", file=sys.stderr)
            return 2
    print(
        f"restored {len(paths) - failed} of {len(paths)} images into {args.output} ({args.mode}, {size} px model)"
    )
    return 1 if failed else 0
