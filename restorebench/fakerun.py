"""A synthetic run directory that follows the file contracts, for viewer tests and benchmarks.

The viewer must be tested and timed on runs of any size without training models,
so this writes what the workflow would have written — ``dataset.h5`` (test split),
``predictions/<model>.h5``, ``metrics/<model>.csv`` and ``summary.csv`` — from
cheap synthetic images. A pool of distinct images is drawn and reused cyclically:
each pool image is compressed and scored once, which makes 8,164 images at 256 px
a matter of seconds while the metrics still match the stored pixels exactly.
"""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np

from restorebench.dataset import STRING_DTYPE, DatasetWriter, compress_image

MODELS = ("vae", "gan", "damaged", "inpaint")
METRICS = ("mse", "nrmse", "ssim", "psnr")
SUMMARY_COLUMNS = ("model", "metric", "mean", "std", "median", "ci_low", "ci_high", "n")


def _box_mean(image: np.ndarray, win: int) -> np.ndarray:
    """Mean over every full win x win window (the 'valid' part of a uniform filter)."""
    c = np.zeros((image.shape[0] + 1, image.shape[1] + 1), dtype=np.float64)
    c[1:, 1:] = image.cumsum(0).cumsum(1)
    return (c[win:, win:] - c[:-win, win:] - c[win:, :-win] + c[:-win, :-win]) / win**2


def ssim(clean: np.ndarray, test: np.ndarray, data_range: float = 255.0, win: int = 7) -> float:
    """skimage's default SSIM (uniform 7x7 window, sample covariance, border cropped), RGB mean.

    Cropping the border leaves exactly the windows that lie inside the image, so a
    cumulative-sum box filter gives the same numbers without scipy.
    """
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    cov_norm = win**2 / (win**2 - 1)
    values = []
    for channel in range(clean.shape[-1]):
        x = clean[..., channel].astype(np.float64)
        y = test[..., channel].astype(np.float64)
        ux, uy = _box_mean(x, win), _box_mean(y, win)
        vx = cov_norm * (_box_mean(x * x, win) - ux * ux)
        vy = cov_norm * (_box_mean(y * y, win) - uy * uy)
        vxy = cov_norm * (_box_mean(x * y, win) - ux * uy)
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
        values.append(s.mean())
    return float(np.mean(values))


def score(clean: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """MSE, NRMSE (euclidean), SSIM and PSNR on uint8 images, as skimage defines them."""
    x, y = clean.astype(np.float64), test.astype(np.float64)
    mse = float(np.mean((x - y) ** 2))
    nrmse = float(np.sqrt(mse) / np.sqrt(np.mean(x * x)))
    psnr = float(10 * np.log10(255.0**2 / mse)) if mse > 0 else float("inf")
    return {"mse": mse, "nrmse": nrmse, "ssim": ssim(clean, test), "psnr": psnr}


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


def fake_images(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    """One clean image, its damaged version and plausible restorations of it."""
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
    known = (~mask).astype(np.float64)
    radius = max(1, size // 32)
    filled = _blur(damaged * known, radius * 2) / np.maximum(_blur(known, radius * 2), 1e-6)
    images = {
        "clean": clean,
        "damaged": damaged,
        "vae": _blur(clean, radius) + 0.3 * (255 - clean) * mask,
        "gan": clean + 0.1 * (255 - clean) * mask + rng.normal(0, 5, clean.shape),
        "inpaint": np.where(mask, filled, damaged),
    }
    return {key: np.clip(np.rint(value), 0, 255).astype(np.uint8) for key, value in images.items()}


def _write_predictions(
    path: Path, model: str, chunks: list[bytes], order: np.ndarray, names: list[str], size: int
) -> None:
    with h5py.File(path, "w") as file:
        images = file.create_dataset(
            "images",
            shape=(len(order), size, size, 3),
            dtype=np.uint8,
            chunks=(1, size, size, 3),
            compression="gzip",
        )
        for row, k in enumerate(order):
            images.id.write_direct_chunk((row, 0, 0, 0), chunks[k])
        file.create_dataset("names", data=names, dtype=STRING_DTYPE)
        file.attrs["model"] = model


def _write_metrics(path: Path, names: list[str], values: dict[str, np.ndarray]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", *METRICS])
        for row, name in enumerate(names):
            writer.writerow([name, *(repr(float(values[m][row])) for m in METRICS)])


def _write_summary(path: Path, scores: dict[str, dict[str, np.ndarray]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for model, values in scores.items():
            for metric in METRICS:
                v = values[metric]
                mean, std = float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
                half = 1.96 * std / np.sqrt(len(v))
                writer.writerow(
                    [
                        model,
                        metric,
                        mean,
                        std,
                        float(np.median(v)),
                        mean - half,
                        mean + half,
                        len(v),
                    ]
                )


def make_fake_run(
    run_dir: Path,
    n_test: int,
    size: int = 32,
    *,
    models: tuple[str, ...] = MODELS,
    pool: int = 97,
    seed: int = 0,
    summary: bool = True,
) -> Path:
    """Write a complete synthetic run to ``run_dir`` and return it.

    ``pool`` distinct images are drawn and repeated cyclically over the ``n_test``
    test images (names stay unique). The train split is left empty: the viewer only
    reads the test split.
    """
    run_dir = Path(run_dir)
    (run_dir / "predictions").mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    drawn = [fake_images(rng, size) for _ in range(min(pool, n_test))]
    level = 1
    chunks = {
        key: [compress_image(d[key], level) for d in drawn] for key in ("clean", "damaged", *models)
    }
    pool_scores = {m: [score(d["clean"], d[m]) for d in drawn] for m in models}
    order = np.arange(n_test) % len(drawn)
    names = [f"img{i:05d}" for i in range(n_test)]

    writer = DatasetWriter(run_dir / "dataset.h5", size, {"train": 0, "test": n_test}, level)
    for name, k in zip(names, order):
        writer.append("test", name, chunks["clean"][k], chunks["damaged"][k])
    writer.finish({"image_size": size, "source": "fakerun", "seed": seed})

    scores = {}
    for model in models:
        _write_predictions(
            run_dir / "predictions" / f"{model}.h5", model, chunks[model], order, names, size
        )
        scores[model] = {m: np.array([pool_scores[model][k][m] for k in order]) for m in METRICS}
        _write_metrics(run_dir / "metrics" / f"{model}.csv", names, scores[model])
    if summary:
        _write_summary(run_dir / "summary.csv", scores)
    return run_dir
