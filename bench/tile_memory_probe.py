"""Peak memory of ``restore --mode tile`` on large photos: does it follow the tile or the photo?

    python -m bench.tile_memory_probe [--sizes 6000x4000,3000x2000] [--batch-size 32]

A tiny 32 px model (one 3x3 convolution) restores synthetic JPEG photos through the
command line, each photo in a child process of its own, as a user runs it. Printed per
photo: its size as uint8, the child's peak resident memory (``ru_maxrss`` from
``wait4``), the peak of a child that only starts as the command does and decodes the
photo, and the difference: what restoring and writing add. The 64x64 row is the
interpreter, TensorFlow and the model alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.machine import describe

SIZE = 32
BASELINE = (64, 64)
# The command's start without the restoring: its process settings, the model, the decoded photo.
DECODE_ONLY = (
    "import sys; from restorebench.runtime import accel; accel.configure(); "
    "from restorebench.restore.inference import load; from restorebench.data.images import load_rgb; "
    "load(sys.argv[1]); load_rgb(sys.argv[2], max_pixels=40_000_000, min_side=1)"
)


def _model(path: Path) -> None:
    """A convolution rather than an identity, so TensorFlow allocates as a real restorer does."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs)).save(path)


def _photo(width: int, height: int, path: Path) -> None:
    """A smooth scene with grain and white strokes, written as a user's JPEG."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(30, 220, (max(2, height // 200), max(2, width // 200), 3), np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR))
    image = image + rng.integers(0, 8, image.shape, np.uint8)
    image[height // 3 : height // 3 + 4] = 255
    image[:, width // 2 : width // 2 + 3] = 255
    Image.fromarray(image).save(path, quality=90)


def _peak_mib(command: list[str]) -> tuple[float, float]:
    """The child's own peak RSS in MiB (``wait4``, not the sum over children) and its seconds."""
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        child = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if child.returncode:
            log.seek(0)
            sys.exit(f"restore failed (exit status {child.returncode}):\n{log.read()}")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="6000x4000,3000x2000", help="photos as WIDTHxHEIGHT, comma-separated"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="restore's --batch-size")
    args = parser.parse_args()
    sizes = [tuple(int(side) for side in text.split("x")) for text in args.sizes.split(",")]

    print(f"cpu: {describe()['cpu']}")
    with tempfile.TemporaryDirectory(prefix="tile-memory-") as scratch:
        folder = Path(scratch)
        model = folder / "model.keras"
        _model(model)
        print(f"model: {SIZE} px, batch size {args.batch_size}, default overlap; MiB")
        print("photo      | uint8 photo | restore peak | decoding alone | difference | seconds")
        for width, height in [BASELINE, *sizes]:
            photo = folder / f"{width}x{height}.jpg"
            _photo(width, height, photo)
            restore = [
                *("-m", "restorebench.restore", str(model), str(photo)),
                *(str(folder / f"out-{width}x{height}"), "--mode", "tile"),
                *("--batch-size", str(args.batch_size)),
            ]
            peak, seconds = _peak_mib([sys.executable, *restore])
            decoding, _ = _peak_mib([sys.executable, "-c", DECODE_ONLY, str(model), str(photo)])
            photo.unlink()
            print(
                f"{f'{width}x{height}':<10} | {width * height * 3 / 2**20:11.0f} | {peak:12.0f} | "
                f"{decoding:14.0f} | {peak - decoding:10.0f} | {seconds:7.1f}"
            )


if __name__ == "__main__":
    main()
