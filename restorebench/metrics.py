"""Per-image restoration metrics and the metrics CSV contract.

Every model is scored the same way: its uint8 restoration against the uint8 clean
image, scikit-image metrics with data range 255, RGB with the channel axis last, no
border crop. One row per test image (``name,mse,nrmse,ssim,psnr``) keeps the evidence
per image, so the summary can show spread and paired differences, not just a mean.

The ``origin`` protocol reproduces the notebook this project grew from: each image is
first rescaled by its own maximum (``image / max * 255``) and scored as floats. It exists
only so our numbers can be set beside the origin's published table.
"""

from __future__ import annotations

import csv
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from skimage.metrics import (
    mean_squared_error,
    normalized_root_mse,
    peak_signal_noise_ratio,
    structural_similarity,
)

METRICS = ("mse", "nrmse", "ssim", "psnr")
# Which way is better, for win rates and best/worst picks.
LOWER_IS_BETTER = {"mse": True, "nrmse": True, "ssim": False, "psnr": False}
PROTOCOLS = ("ours", "origin")
DATA_RANGE = 255.0


def _origin_rescale(image: np.ndarray) -> np.ndarray:
    """The origin notebook's ``image / max * 255``; an all-black image stays black."""
    image = image.astype(np.float64)
    top = image.max()
    return image / top * DATA_RANGE if top > 0 else image


def image_metrics(
    clean: np.ndarray, restored: np.ndarray, protocol: str = "ours"
) -> tuple[float, ...]:
    """MSE, NRMSE, SSIM and PSNR of one (H, W, 3) uint8 restoration, in METRICS order.

    Identical images give PSNR ``inf`` (scikit-image's answer); it is kept, not capped,
    so a perfect restoration is never disguised as a finite score.
    """
    if clean.shape != restored.shape or clean.ndim != 3 or clean.shape[-1] != 3:
        raise ValueError(
            f"expected two (H, W, 3) images of one shape, got {clean.shape} and {restored.shape}"
        )
    if protocol == "origin":
        clean, restored = _origin_rescale(clean), _origin_rescale(restored)
    elif protocol != "ours":
        raise ValueError(f"unknown protocol '{protocol}' (expected one of {PROTOCOLS})")
    # Integer arithmetic would wrap around; skimage casts to float itself, but be explicit.
    truth, test = clean.astype(np.float64), restored.astype(np.float64)
    mse = float(mean_squared_error(truth, test))
    with np.errstate(divide="ignore"):
        nrmse = float(normalized_root_mse(truth, test)) if truth.any() else math.inf
        psnr = float(peak_signal_noise_ratio(truth, test, data_range=DATA_RANGE))
    ssim = float(structural_similarity(truth, test, data_range=DATA_RANGE, channel_axis=-1))
    return mse, nrmse, ssim, psnr


def score_images(
    clean: np.ndarray, restored: np.ndarray, protocol: str = "ours", workers: int | None = None
) -> np.ndarray:
    """Metrics of every image pair as an (N, 4) float array in METRICS order.

    SSIM's filters run in scipy code that releases the GIL, so threads use every core
    without copying the arrays into worker processes.
    """
    if clean.shape != restored.shape:
        raise ValueError(f"clean {clean.shape} and restored {restored.shape} differ in shape")
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(
            pool.map(lambda pair: image_metrics(*pair, protocol=protocol), zip(clean, restored))
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(METRICS))


def write_metrics(path: Path, names: list[str], values: np.ndarray) -> None:
    """The metrics CSV: header ``name,mse,nrmse,ssim,psnr``, one row per image in order."""
    if len(names) != len(values):
        raise ValueError(f"{len(names)} names but {len(values)} metric rows")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("name", *METRICS))
        # repr keeps every float bit-exact, so a recomputation from the CSV matches.
        writer.writerows((name, *(repr(float(v)) for v in row)) for name, row in zip(names, values))


def read_metrics(path: Path) -> tuple[list[str], np.ndarray]:
    """Names and the (N, 4) metric array of a metrics CSV, or a ValueError naming the file."""
    path = Path(path)
    with path.open(newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or tuple(header[: len(METRICS) + 1]) != ("name", *METRICS):
            raise ValueError(f"{path}: expected header 'name,{','.join(METRICS)}', got {header}")
        names, rows = [], []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append([float(v) for v in row[1 : len(METRICS) + 1]])
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            if len(rows[-1]) != len(METRICS):
                raise ValueError(f"{path}, line {line}: expected {len(METRICS) + 1} columns")
            names.append(row[0])
    return names, np.asarray(rows, dtype=np.float64).reshape(len(rows), len(METRICS))
