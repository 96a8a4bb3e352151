"""A synthetic run folder written by the project's own writers, for viewer tests and benchmarks.

The viewer must be tested and timed on runs of any size without training models, so
this writes what the workflow would have written (``dataset.h5`` with its test split,
``predictions/<model>.h5``, ``metrics/<model>.csv``, ``summary.csv``) from cheap
synthetic images, through the same writers the rules use: a file here can only follow
the contract the workflow follows. A pool of distinct images is drawn and repeated
cyclically; only the pool is compressed and scored, so a large run stays quick while its
scores are still the project's metrics of the stored pixels.
"""

from __future__ import annotations

import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from restorebench import contract
from restorebench.data.dataset import DatasetWriter, compress_image
from restorebench.restore.predictions import write_predictions
from restorebench.scoring.mask_scores import score_masks
from restorebench.scoring.metrics import score_images, write_metrics
from restorebench.scoring.summary import summarize, write_csv

# The fixture's default models; any other name gets a restoration of its own.
MODELS = ("vae", "gan", "damaged", "inpaint")
LEVEL = 1


def _blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Separable box blur with edge padding, float64."""
    out = image.astype(np.float64)
    k = 2 * radius + 1
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius + 1, radius)
        c = np.pad(out, pad, mode="edge").cumsum(axis)
        hi = np.take(c, np.arange(k, c.shape[axis]), axis=axis)
        lo = np.take(c, np.arange(0, c.shape[axis] - k), axis=axis)
        out = (hi - lo) / k
    return out


def _scribbles(rng: np.random.Generator, size: int) -> np.ndarray:
    """Boolean mask of a few thick straight strokes (the white damage)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    mask = np.zeros((size, size), dtype=bool)
    for _ in range(rng.integers(2, 7)):
        (y0, x0), (y1, x1) = rng.uniform(0, size, (2, 2))
        width = max(1.0, size * rng.uniform(0.008, 0.02))
        dy, dx = y1 - y0, x1 - x0
        t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0, 1)
        mask |= (yy - y0 - t * dy) ** 2 + (xx - x0 - t * dx) ** 2 <= width**2
    return mask


def fake_images(
    rng: np.random.Generator, size: int, models: tuple[str, ...] = MODELS
) -> dict[str, np.ndarray]:
    """One clean image, its damaged version and a plausible restoration per model.

    ``vae`` blurs, ``gan`` is sharp but noisy, ``inpaint`` diffuses into the strokes and
    ``damaged`` is the input; any other name leaves a share of the damage and adds noise,
    both fixed by its name, so models of any names score apart.
    """
    yy, xx = np.mgrid[0:size, 0:size] / size
    freq = rng.uniform(0.5, 3.0, (3, 2))
    phase = rng.uniform(0, 2 * np.pi, 3)
    clean = np.stack(
        [0.5 + 0.4 * np.sin(2 * np.pi * (f[0] * yy + f[1] * xx) + p) for f, p in zip(freq, phase)],
        -1,
    )
    clean = np.clip(clean * 255 + rng.normal(0, 4, clean.shape), 0, 255)
    mask = _scribbles(rng, size)[..., None]
    damaged = np.where(mask, 255.0, clean)
    radius = max(1, size // 32)
    # The true mask (0/1) and the soft mask a blend model might find: the strokes, blurred.
    images = {"clean": clean, "damaged": damaged, "mask": mask[..., 0]}
    images["found"] = 255 * _blur(mask.astype(np.float64), radius)[..., 0]
    for model in models:
        if model == "vae":
            image = _blur(clean, radius) + 0.3 * (255 - clean) * mask
        elif model == "gan":
            image = clean + 0.1 * (255 - clean) * mask + rng.normal(0, 5, clean.shape)
        elif model == "inpaint":
            known = (~mask).astype(np.float64)
            filled = _blur(damaged * known, radius * 2) / np.maximum(_blur(known, radius * 2), 1e-6)
            image = np.where(mask, filled, damaged)
        elif model == contract.INPUT_MODEL:
            image = damaged
        else:
            left, noise = np.random.default_rng(zlib.crc32(model.encode())).uniform(
                (0.05, 2), (0.5, 12)
            )
            image = clean + left * (255 - clean) * mask + rng.normal(0, noise, clean.shape)
        images[model] = image
    return {key: np.clip(np.rint(value), 0, 255).astype(np.uint8) for key, value in images.items()}


# The fixture's models that store the damage they found: inpaint's hard mask, gan's soft one.
FINDERS = ("inpaint", "gan")


def _write_model(
    path: str,
    images: np.ndarray,
    order: np.ndarray,
    names: list[str],
    model: str,
    masks: np.ndarray | None,
) -> None:
    """One model's predictions file: the pool repeated in test order (a worker's job)."""
    found = None if masks is None else masks[order]
    write_predictions(Path(path), images[order], names, model, LEVEL, masks=found)


def make_fake_run(
    run_dir: Path,
    n_test: int,
    size: int = 32,
    *,
    models: tuple[str, ...] = MODELS,
    pool: int = 97,
    seed: int = 0,
    summary: bool = True,
    workers: int = 1,
) -> Path:
    """Write a complete synthetic run to ``run_dir`` and return it.

    ``pool`` distinct images are drawn and repeated cyclically over the ``n_test`` test
    images (names stay unique). The train split is left empty: the viewer reads only the
    test split. ``workers`` > 1 writes the models' predictions in that many processes
    (compressing every image of a large run is what takes the time). The metrics are
    those of ``contract.METRICS`` when this is called.
    """
    run_dir = Path(run_dir)
    paths = contract.RunPaths(run_dir.as_posix())
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    drawn = [fake_images(rng, size, models) for _ in range(min(pool, n_test))]
    kinds = ("clean", "damaged", "mask", "found", *models)
    stacked = {key: np.stack([d[key] for d in drawn]) for key in kinds}
    found = {
        model: stacked["mask"] * np.uint8(255) if model == "inpaint" else stacked["found"]
        for model in FINDERS
        if model in models
    }
    order = np.arange(n_test) % len(drawn)
    names = [f"img{i:05d}" for i in range(n_test)]

    chunks = {
        key: [compress_image(image, LEVEL) for image in stacked[key]]
        for key in ("clean", "damaged", "mask")
    }
    writer = DatasetWriter(Path(paths.dataset), size, {"train": 0, "test": n_test}, LEVEL)
    for name, k in zip(names, order):
        writer.append("test", name, chunks["clean"][k], chunks["damaged"][k], chunks["mask"][k])
    writer.finish({"image_size": size, "source": "fakerun", "seed": seed})

    jobs = [(paths.predictions(m), stacked[m], order, names, m, found.get(m)) for m in models]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as executor:
            list(executor.map(_write_model, *zip(*jobs)))
    else:
        for job in jobs:
            _write_model(*job)

    tables = {}
    for model in models:
        tables[model] = score_images(stacked["clean"], stacked[model], stacked["mask"])[order]
        write_metrics(Path(paths.metrics(model)), names, tables[model])
        if model in found:
            mask_table = score_masks(found[model], stacked["mask"] > 0)[order]
            columns = contract.mask_score_names()
            write_metrics(Path(paths.mask_scores(model)), names, mask_table, columns)
    if summary:
        stats, _ = summarize(tables, [])
        write_csv(Path(paths.summary), stats, contract.SUMMARY_FIELDS)
    return run_dir
