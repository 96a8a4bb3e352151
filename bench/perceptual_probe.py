"""What LPIPS and FLIP add to the cost of scoring: ``score_images`` timed with and without them.

    python -m bench.perceptual_probe [--images 200] [--sizes 64 256] [--repeats 2]

Each size scores the same synthetic pairs (smooth pictures, noise, white strokes and their
masks) under the whole spec, under the spec without the perceptual metrics, and under each
of them alone beside the classical ones, alternating the variants in every repeat so a
machine that slows down in the meantime slows all of them; it prints the median seconds
of each. LPIPS' network is built (and its first batch run) before any timing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from unittest import mock

import numpy as np

from bench.machine import describe as describe_machine
from restorebench import contract
from restorebench.scoring.metrics import score_images


def pairs(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(30, 220, (count, size // 8 + 1, size // 8 + 1, 3))
    clean = np.kron(coarse, np.ones((1, 8, 8, 1)))[:, :size, :size].astype(np.uint8)
    restored = np.clip(clean + rng.normal(0, 8, clean.shape), 0, 255).astype(np.uint8)
    masks = np.zeros(clean.shape[:3], bool)
    rows = rng.integers(0, size - 3, count)
    masks[np.arange(count), rows] = masks[np.arange(count), rows + 1] = True
    restored[masks] = 255
    return clean, restored, masks


def spec_without(*measures: str) -> tuple[contract.Metric, ...]:
    """The spec less the metrics of ``measures`` in every region."""
    names = {contract.region_metric(r, m) for r in contract.REGIONS for m in measures}
    return tuple(spec for spec in contract.METRICS if spec.name not in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    variants = {
        "without LPIPS and FLIP": spec_without("lpips", "flip"),
        "with both": contract.METRICS,
        "with LPIPS only": spec_without("flip"),
        "with FLIP only": spec_without("lpips"),
    }
    machine = describe_machine()
    print(
        f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average_at_start']}, "
        f"{machine['date']}"
    )
    for size in args.sizes:
        clean, restored, masks = pairs(args.images, size)
        score_images(clean[:4], restored[:4], masks[:4])  # builds LPIPS' network
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, spec in variants.items():
                with mock.patch.object(contract, "METRICS", spec):
                    start = time.perf_counter()
                    score_images(clean, restored, masks)
                    times[name].append(time.perf_counter() - start)
        for name, seconds in times.items():
            median = statistics.median(seconds)
            print(
                f"{size:>4} px, {args.images} images, {name:<22}: {median:6.2f} s "
                f"({1e3 * median / args.images:6.1f} ms per image; runs {seconds})"
            )


if __name__ == "__main__":
    main()
