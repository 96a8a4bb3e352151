"""Per-image restoration metrics and the metrics CSV.

Every model is scored the same way: its uint8 restoration against the uint8 clean
image, scikit-image metrics with data range 255, RGB with the channel axis last, no
border crop. One row per test image (``name`` then the metrics of ``contract.METRICS``)
keeps the evidence per image, so the summary can show spread and paired differences,
not just a mean.

Which metrics exist, in which order, is the spec's business (``contract.METRICS``); this
module holds only their functions, registered by name with :func:`scorer` (one image at a
time) or :func:`batch_scorer` (a batch of images at once, for a network such as LPIPS'; one
function may give several metrics). A new metric is a spec entry plus one decorated
function here.

The ``origin`` protocol reproduces the notebook this project grew from: each image is
first rescaled by its own maximum (``image / max * 255``) and scored as floats. It exists
only so our numbers can be set beside the origin's published table.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

import numpy as np
from skimage.metrics import mean_squared_error, normalized_root_mse

from restorebench import contract
from restorebench.scoring import flip, lpips, similarity
from restorebench.scoring.similarity import DATA_RANGE, psnr_of
from restorebench.scoring.tables import lacks, read_score_columns

# How a user mends a damaged metrics file (Snakemake rebuilds a missing output only).
RESCORE_HINT = "delete it and run again: Snakemake scores that model again"


@dataclass(frozen=True)
class Scored:
    """One restoration to score: clean and restored as float64 (H, W, 3), and the damage mask.

    ``mask`` (H, W) bool marks the damaged pixels; None when the caller has none (training's
    validation), and then every region score is NaN. The SSIM map is computed once for the
    whole-image and both region SSIMs.
    """

    truth: np.ndarray
    test: np.ndarray
    mask: np.ndarray | None = None

    @cached_property
    def ssim(self) -> tuple[float, np.ndarray]:
        """The mean SSIM and its (H, W) map."""
        return similarity.ssim_with_map(self.truth, self.test)

    def pixels(self, region: str) -> np.ndarray | None:
        """(H, W) bool of the region's pixels, or None when there are none to score."""
        if self.mask is None:
            return None
        selected = self.mask if region == contract.HOLE else ~self.mask
        return selected if selected.any() else None


# A metric function scores one :class:`Scored` image.
MetricFunction = Callable[[Scored], float]
SCORERS: dict[str, MetricFunction] = {}
# A batch function scores images of one size at once, for each metric it is registered for
# one value per image in their order: a network's forward pass is cheap per image only over
# a batch, and one pass can give several metrics (LPIPS of the image and of each region).
BatchFunction = Callable[[Sequence[Scored]], Mapping[str, Sequence[float]]]
BATCH_SCORERS: dict[str, BatchFunction] = {}
# Images scored together (a batch function gets them at once): bounds the float64 copies
# alive together to 2 x 16 images, and is one batch of LPIPS' network.
BATCH = 16


def _claim(name: str) -> None:
    """A ValueError if ``name`` already has a function, of either kind."""
    taken = SCORERS.get(name) or BATCH_SCORERS.get(name)
    if taken is not None:
        label = getattr(taken, "__name__", repr(taken))
        raise ValueError(f"metric '{name}' already has a function: {label}")


def scorer(name: str) -> Callable[[MetricFunction], MetricFunction]:
    """Register the function of the spec's metric ``name`` (a decorator)."""

    def register(function: MetricFunction) -> MetricFunction:
        _claim(name)
        SCORERS[name] = function
        return function

    return register


def batch_scorer(*names: str) -> Callable[[BatchFunction], BatchFunction]:
    """Register the batch function of the spec's metrics ``names`` (a decorator)."""

    def register(function: BatchFunction) -> BatchFunction:
        for name in names:
            _claim(name)
        BATCH_SCORERS.update(dict.fromkeys(names, function))
        return function

    return register


@scorer("mse")
def mse(image: Scored) -> float:
    return float(mean_squared_error(image.truth, image.test))


@scorer("nrmse")
def nrmse(image: Scored) -> float:
    """scikit-image's Euclidean NRMSE; an all-black clean image gives inf, not a warning."""
    if not image.truth.any():
        return math.inf
    return float(normalized_root_mse(image.truth, image.test))


@scorer("ssim")
def ssim(image: Scored) -> float:
    return image.ssim[0]


@scorer("psnr")
def psnr(image: Scored) -> float:
    return similarity.psnr(image.truth, image.test)


# Region scores: the same measures over the region's pixels only, all channels of each.
def _region_error(image: Scored, region: str, power: int) -> float:
    pixels = image.pixels(region)
    if pixels is None:
        return math.nan
    return float((np.abs(image.truth[pixels] - image.test[pixels]) ** power).mean())


REGION_FUNCTIONS: dict[str, Callable[[Scored, str], float]] = {
    "mse": lambda image, region: _region_error(image, region, 2),
    "mae": lambda image, region: _region_error(image, region, 1),
    "psnr": lambda image, region: psnr_of(_region_error(image, region, 2)),
    # The mean of SSIM's map over the region: each value there sees a 7x7 window around it.
    "ssim": lambda image, region: (
        math.nan
        if (pixels := image.pixels(region)) is None
        else float(image.ssim[1][pixels].mean())
    ),
}


def _register_region_scores() -> None:
    """Each measure of REGION_FUNCTIONS in every region but the whole image (``hole_mse``, ...)."""
    for region in contract.REGIONS[1:]:
        for measure, function in REGION_FUNCTIONS.items():
            scorer(contract.region_metric(region, measure))(partial(function, region=region))


_register_region_scores()


@scorer(contract.MASK_SHARE.name)
def mask_share(image: Scored) -> float:
    return math.nan if image.mask is None else float(image.mask.mean())


@batch_scorer(contract.FLIP.name)
def mean_flip(images: Sequence[Scored]) -> dict[str, list[float]]:
    """FLIP one image after another in this thread, not on the pool's: its native code holds
    the GIL and spreads one image over the cores itself (OpenMP), so two at once only
    contend (BENCHMARKS.md, Predict + score)."""
    return {
        contract.FLIP.name: [
            flip.mean_flip(image.truth / DATA_RANGE, image.test / DATA_RANGE) for image in images
        ]
    }


@batch_scorer(*(contract.region_metric(region, contract.LPIPS.name) for region in contract.REGIONS))
def perceptual(images: Sequence[Scored]) -> dict[str, list[float]]:
    """LPIPS of the whole image and the mean of its distance map over each region's pixels
    (one network pass for all three); NaN for images too small for AlexNet."""
    names = {
        region: contract.region_metric(region, contract.LPIPS.name) for region in contract.REGIONS
    }
    if not lpips.has_lpips(*images[0].truth.shape[:2]):
        return {name: [math.nan] * len(images) for name in names.values()}
    maps = lpips.lpips_maps(
        np.stack([image.truth for image in images]), np.stack([image.test for image in images])
    )
    values: dict[str, list[float]] = {names[contract.IMAGE]: [lpips.distance(m) for m in maps]}
    height, width = images[0].truth.shape[:2]
    spatial = [
        None if image.mask is None else lpips.distance_map(m, height, width)
        for image, m in zip(images, maps, strict=True)
    ]
    for region in contract.REGIONS[1:]:
        values[names[region]] = [
            math.nan if (pixels := image.pixels(region)) is None else float(full[pixels].mean())
            for image, full in zip(images, spatial, strict=True)
        ]
    return values


def _functions() -> tuple[list[tuple[str, MetricFunction]], list[BatchFunction]]:
    """The spec's per-image metrics with their functions, and the batch functions of the
    others (each once), or a ValueError naming the metrics that have neither."""
    names = contract.metric_names()
    lacking = [name for name in names if name not in SCORERS and name not in BATCH_SCORERS]
    if lacking:
        raise ValueError(
            f"metric(s) {', '.join(lacking)} in contract.METRICS have no function: "
            "register one with @restorebench.scoring.metrics.scorer(name) (or batch_scorer)"
        )
    single = [(name, SCORERS[name]) for name in names if name in SCORERS]
    batched = list({id(f): f for name in names if (f := BATCH_SCORERS.get(name))}.values())
    return single, batched


def _origin_rescale(image: np.ndarray) -> np.ndarray:
    """The origin notebook's ``image / max * 255``; an all-black image stays black."""
    image = image.astype(np.float64)
    top = image.max()
    return image / top * DATA_RANGE if top > 0 else image


def _scored(
    clean: np.ndarray, restored: np.ndarray, mask: np.ndarray | None, protocol: str
) -> Scored:
    """One pair, checked and prepared for the metric functions."""
    if clean.shape != restored.shape or clean.ndim != 3 or clean.shape[-1] != 3:
        raise ValueError(
            f"expected two (H, W, 3) images of one shape, got {clean.shape} and {restored.shape}"
        )
    if mask is not None and mask.shape != clean.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {clean.shape[:2]}")
    if protocol == "origin":
        clean, restored = _origin_rescale(clean), _origin_rescale(restored)
    elif protocol not in contract.PROTOCOLS:
        raise ValueError(f"unknown protocol '{protocol}' (expected one of {contract.PROTOCOLS})")
    # Integer arithmetic would wrap around; skimage casts to float itself, but be explicit.
    return Scored(
        clean.astype(np.float64), restored.astype(np.float64), None if mask is None else mask > 0
    )


def _score(images: Sequence[Scored], pool: ThreadPoolExecutor | None) -> np.ndarray:
    """The (len(images), len(METRICS)) scores of images of one size: the per-image functions
    on the pool's threads (or this one), the batch functions here meanwhile, over them all."""
    single, batched = _functions()
    names = contract.metric_names()
    values = np.full((len(images), len(names)), np.nan)
    # pool.map submits every image at once: the threads score while the batch functions run.
    rows = (pool.map if pool else map)(
        lambda image: [function(image) for _, function in single], images
    )
    for function in batched:
        for name, scores in function(images).items():
            if name in names:
                values[:, names.index(name)] = scores
    columns = [names.index(name) for name, _ in single]
    for index, row in enumerate(rows):
        values[index, columns] = row
    return values


def image_metrics(
    clean: np.ndarray,
    restored: np.ndarray,
    mask: np.ndarray | None = None,
    protocol: str = "ours",
) -> tuple[float, ...]:
    """The metrics of one (H, W, 3) uint8 restoration, in ``contract.METRICS`` order."""
    return tuple(float(v) for v in _score([_scored(clean, restored, mask, protocol)], None)[0])


def score_images(
    clean: np.ndarray,
    restored: np.ndarray,
    masks: np.ndarray | None = None,
    protocol: str = "ours",
    workers: int | None = None,
) -> np.ndarray:
    """Metrics of every image pair as an (N, len(contract.METRICS)) float array.

    ``masks`` (N, H, W) marks each image's damage; without it every region score is NaN.
    SSIM's filters run in native code that releases the GIL, so threads use every core
    without copying the arrays into worker processes; the batch functions (LPIPS' network,
    FLIP) run in this thread, :data:`BATCH` images at a time, each using the cores itself.
    """
    if clean.shape != restored.shape:
        raise ValueError(f"clean {clean.shape} and restored {restored.shape} differ in shape")
    if masks is not None and masks.shape != clean.shape[:3]:
        raise ValueError(f"masks {masks.shape} do not match images {clean.shape}")
    _functions()  # a spec entry without a function fails here, not in a worker thread
    workers = workers or os.cpu_count() or 1
    per_image = masks if masks is not None else [None] * len(clean)
    parts = [np.empty((0, len(contract.METRICS)))]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(clean), BATCH):
            stop = start + BATCH
            images = [
                _scored(*item, protocol)
                for item in zip(clean[start:stop], restored[start:stop], per_image[start:stop])
            ]
            parts.append(_score(images, pool))
    return np.concatenate(parts).astype(np.float64)


def write_metrics(
    path: Path, names: list[str], values: np.ndarray, columns: tuple[str, ...] | None = None
) -> None:
    """The metrics CSV: header ``name`` and the spec's metric names (or ``columns``), one row per image."""
    if len(names) != len(values):
        raise ValueError(f"{len(names)} names but {len(values)} metric rows")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("name", *(columns or contract.metric_names())))
        # repr keeps every float bit-exact, so a recomputation from the CSV matches.
        writer.writerows((name, *(repr(float(v)) for v in row)) for name, row in zip(names, values))


def read_metrics(
    path: Path, columns: tuple[str, ...] | None = None
) -> tuple[list[str], np.ndarray]:
    """Names and the (N, len(METRICS)) array of a metrics CSV (or of ``columns``), or a
    ValueError naming the file and the fix: a damaged file is newer than its inputs, so
    Snakemake would never score it again by itself."""
    path, wanted = Path(path), columns or contract.metric_names()
    try:
        names, values, lacking = read_score_columns(path, wanted)
    except (csv.Error, UnicodeDecodeError) as error:  # cut within a letter, or not text
        raise ValueError(f"{path}: not a readable CSV file ({error}); {RESCORE_HINT}") from None
    except ValueError as error:
        raise ValueError(f"{error}; {RESCORE_HINT}") from None
    if lacking:
        raise ValueError(f"{lacks(path, wanted, ['name', *values])}; {RESCORE_HINT}")
    table = np.stack([values[name] for name in wanted], axis=1)
    return names, table.reshape(len(names), len(wanted))
