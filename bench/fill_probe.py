"""How well does the fill prior fill the true damage, against scikit-image's biharmonic fill?

    python -m bench.fill_probe [--photos DIR] [--sizes 64,128,256]

The test split of the quality benchmark's dataset (``bench.quality.faces_dataset``: our
damage on ../shared/data/faces-dev by default) is filled inside its true masks three
ways: ``SmoothFill`` ending in the harmonic fill (models before ``biharmonic_fill``),
ending in the biharmonic fill (the default now), and ``inpaint_biharmonic`` (the
``inpaint`` baselines' fill, exact). Printed per size: PSNR / SSIM inside the damage and
over the whole image, and seconds per image of each on this machine. The fill prior is
where a trained model's candidate starts: what no network has learned yet.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.machine import describe
from bench.quality import FACES, faces_dataset, mean_scores


def fills(test) -> dict[str, tuple[np.ndarray, float]]:
    """Each fill of the true masks: uint8 images and seconds per image."""
    import keras

    from restorebench.models.blocks import SmoothFill
    from restorebench.restore.baselines import fill_images

    images = test.damaged.astype(np.float32) / 255
    masks = test.mask[..., None].astype(np.float32)
    result = {}
    for name, biharmonic in (("SmoothFill, harmonic", False), ("SmoothFill, biharmonic", True)):
        layer = SmoothFill(biharmonic)
        layer([images[:2], masks[:2]])  # built and traced before the clock
        start = time.perf_counter()
        filled = keras.ops.convert_to_numpy(layer([images, masks]))
        seconds = (time.perf_counter() - start) / len(images)
        result[name] = (np.rint(np.clip(filled, 0, 1) * 255).astype(np.uint8), seconds)
    start = time.perf_counter()
    exact = fill_images(test.damaged, test.mask)
    result["inpaint_biharmonic (scikit-image)"] = (
        exact,
        (time.perf_counter() - start) / len(images),
    )
    return result


def main() -> None:
    from restorebench.data.dataset import read_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=FACES)
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument(
        "--scratch", type=Path, default=Path(tempfile.gettempdir()) / "restorebench-bench" / "fill"
    )
    args = parser.parse_args()
    print(describe())
    print(
        "| side | fill of the true mask | damaged pixels PSNR / SSIM | whole image PSNR / SSIM | ms per image |"
    )
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        test = read_split(faces_dataset(size, args.scratch, args.photos), "test")
        for name, (images, seconds) in fills(test).items():
            s = mean_scores(test, images)
            print(
                f"| {size} px | {name} | {s['hole_psnr']:.2f} / {s['hole_ssim']:.3f} | "
                f"{s['psnr']:.2f} / {s['ssim']:.3f} | {1000 * seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
