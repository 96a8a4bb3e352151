"""Per-image restoration metrics and the metrics CSV.

Every model is scored the same way: its uint8 restoration against the uint8 clean
image, scikit-image metrics with data range 255, RGB with the channel axis last, no
border crop. One row per test image (``name`` then the metrics of ``contract.METRICS``)
keeps the evidence per image, so the summary can show spread and paired differences,
not just a mean.

Which metrics exist, in which order, is the spec's business (``contract.METRICS``); this
module holds only their functions, registered by name with :func:`scorer`. A new metric is
a spec entry plus one decorated function here.

The ``origin`` protocol reproduces the notebook this project grew from: each image is
first rescaled by its own maximum (``image / max * 255``) and scored as floats. It exists
only so our numbers can be set beside the origin's published table.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from skimage.metrics import (
    mean_squared_error,
    normalized_root_mse,
    peak_signal_noise_ratio,
    structural_similarity,
)

from restorebench import contract

DATA_RANGE = 255.0

# A metric function takes the clean and the restored image as float64 (H, W, 3) arrays.
MetricFunction = Callable[[np.ndarray, np.ndarray], float]
SCORERS: dict[str, MetricFunction] = {}


def scorer(name: str) -> Callable[[MetricFunction], MetricFunction]:
    """Register the function of the spec's metric ``name`` (a decorator)."""

    def register(function: MetricFunction) -> MetricFunction:
        if name in SCORERS:
            raise ValueError(f"metric '{name}' already has a function: {SCORERS[name].__name__}")
        SCORERS[name] = function
        return function

    return register


@scorer("mse")
def mse(truth: np.ndarray, test: np.ndarray) -> float:
    return float(mean_squared_error(truth, test))


@scorer("nrmse")
def nrmse(truth: np.ndarray, test: np.ndarray) -> float:
    """scikit-image's Euclidean NRMSE; an all-black clean image gives inf, not a warning."""
    if not truth.any():
        return math.inf
    return float(normalized_root_mse(truth, test))


@scorer("ssim")
def ssim(truth: np.ndarray, test: np.ndarray) -> float:
    return float(structural_similarity(truth, test, data_range=DATA_RANGE, channel_axis=-1))


@scorer("psnr")
def psnr(truth: np.ndarray, test: np.ndarray) -> float:
    """Identical images give ``inf`` (scikit-image's answer): kept, never capped."""
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(truth, test, data_range=DATA_RANGE))


def _functions() -> list[tuple[str, MetricFunction]]:
    """The spec's metrics with their functions, in spec order, or a ValueError naming the gaps."""
    names = contract.metric_names()
    lacking = [name for name in names if name not in SCORERS]
    if lacking:
        raise ValueError(
            f"metric(s) {', '.join(lacking)} in contract.METRICS have no function: "
            "register one with @restorebench.metrics.scorer(name)"
        )
    return [(name, SCORERS[name]) for name in names]


def _origin_rescale(image: np.ndarray) -> np.ndarray:
    """The origin notebook's ``image / max * 255``; an all-black image stays black."""
    image = image.astype(np.float64)
    top = image.max()
    return image / top * DATA_RANGE if top > 0 else image


def image_metrics(
    clean: np.ndarray, restored: np.ndarray, protocol: str = "ours"
) -> tuple[float, ...]:
    """The metrics of one (H, W, 3) uint8 restoration, in ``contract.METRICS`` order."""
    if clean.shape != restored.shape or clean.ndim != 3 or clean.shape[-1] != 3:
        raise ValueError(
            f"expected two (H, W, 3) images of one shape, got {clean.shape} and {restored.shape}"
        )
    if protocol == "origin":
        clean, restored = _origin_rescale(clean), _origin_rescale(restored)
    elif protocol not in contract.PROTOCOLS:
        raise ValueError(f"unknown protocol '{protocol}' (expected one of {contract.PROTOCOLS})")
    # Integer arithmetic would wrap around; skimage casts to float itself, but be explicit.
    truth, test = clean.astype(np.float64), restored.astype(np.float64)
    return tuple(function(truth, test) for _, function in _functions())


def score_images(
    clean: np.ndarray, restored: np.ndarray, protocol: str = "ours", workers: int | None = None
) -> np.ndarray:
    """Metrics of every image pair as an (N, len(contract.METRICS)) float array.

    SSIM's filters run in scipy code that releases the GIL, so threads use every core
    without copying the arrays into worker processes.
    """
    if clean.shape != restored.shape:
        raise ValueError(f"clean {clean.shape} and restored {restored.shape} differ in shape")
    _functions()  # a spec entry without a function fails here, not in a worker thread
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(
            pool.map(lambda pair: image_metrics(*pair, protocol=protocol), zip(clean, restored))
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(contract.METRICS))


def write_metrics(path: Path, names: list[str], values: np.ndarray) -> None:
    """The metrics CSV: header ``name`` and the spec's metric names, one row per image."""
    if len(names) != len(values):
        raise ValueError(f"{len(names)} names but {len(values)} metric rows")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("name", *contract.metric_names()))
        # repr keeps every float bit-exact, so a recomputation from the CSV matches.
        writer.writerows((name, *(repr(float(v)) for v in row)) for name, row in zip(names, values))


def read_metrics(path: Path) -> tuple[list[str], np.ndarray]:
    """Names and the (N, len(METRICS)) array of a metrics CSV, or a ValueError naming the file."""
    path = Path(path)
    metrics = contract.metric_names()
    width = len(metrics)
    with path.open(newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or tuple(header[: width + 1]) != ("name", *metrics):
            raise ValueError(f"{path}: expected header 'name,{','.join(metrics)}', got {header}")
        names, rows = [], []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append([float(v) for v in row[1 : width + 1]])
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            if len(rows[-1]) != width:
                raise ValueError(f"{path}, line {line}: expected {width + 1} columns")
            names.append(row[0])
    return names, np.asarray(rows, dtype=np.float64).reshape(len(rows), width)
