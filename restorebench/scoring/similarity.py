"""PSNR and SSIM of uint8 images: the two measures training watches and scoring reports.

A module of their own so that training's validation curves use the project's own
definitions while reaching none of the scoring code (:mod:`restorebench.scoring.metrics`):
editing a metric reruns the scores, not the models; editing these reruns both.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

DATA_RANGE = 255.0


def ssim_with_map(truth: np.ndarray, test: np.ndarray) -> tuple[float, np.ndarray]:
    """scikit-image's mean SSIM of two (H, W, 3) images and its (H, W) map (channels averaged)."""
    mean, full = structural_similarity(
        truth, test, data_range=DATA_RANGE, channel_axis=-1, full=True
    )
    return float(mean), full.mean(axis=-1)


def psnr(truth: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB; identical images give ``inf`` (scikit-image's answer), never capped."""
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(truth, test, data_range=DATA_RANGE))


def psnr_of(mse_value: float) -> float:
    """PSNR from an MSE on the 0-255 scale; zero error gives ``inf``, no pixels NaN."""
    if mse_value == 0:
        return math.inf
    return 10 * math.log10(DATA_RANGE**2 / mse_value)


def mean_psnr_ssim(clean: np.ndarray, restored: np.ndarray) -> dict[str, float]:
    """Mean PSNR and SSIM of two uint8 (N, H, W, 3) stacks, scored as the test split is."""
    pairs = [(c.astype(np.float64), r.astype(np.float64)) for c, r in zip(clean, restored)]
    return {
        "psnr": float(np.mean([psnr(c, r) for c, r in pairs])),
        "ssim": float(np.mean([ssim_with_map(c, r)[0] for c, r in pairs])),
    }
