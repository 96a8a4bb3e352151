"""Restore damaged images with a saved restorer (a model folder's ``restorer.keras``).

Saved models map float32 images in [0, 1] to [0, 1]; this module owns the uint8
conversion on both sides so every caller scores and stores the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np


def load(model_path: Path) -> keras.Model:
    """Load a saved restorer; ``safe_mode`` refuses models that would run arbitrary code."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: no such model file")
    return keras.saving.load_model(model_path, compile=False, safe_mode=True)


def restore_with(model: keras.Model, damaged: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Run ``model`` batch by batch on uint8 (N, H, W, 3) images; returns uint8 of the same shape."""
    if damaged.dtype != np.uint8 or damaged.ndim != 4 or damaged.shape[-1] != 3:
        raise ValueError(
            f"damaged images must be uint8 (N, H, W, 3), got {damaged.dtype} {damaged.shape}"
        )
    expected = tuple(model.input_shape[1:])
    if damaged.shape[1:] != expected:
        raise ValueError(
            f"model '{model.name}' takes images of shape {expected}, got {damaged.shape[1:]}"
        )
    restored = np.empty_like(damaged)
    scale = np.float32(1 / 255)
    for start in range(0, len(damaged), batch_size):
        batch = damaged[start : start + batch_size].astype(np.float32) * scale
        output = keras.ops.convert_to_numpy(model(batch, training=False))
        restored[start : start + batch_size] = np.rint(np.clip(output, 0.0, 1.0) * 255).astype(
            np.uint8
        )
    return restored


def restore_images(model_path: Path, damaged: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Load the model at ``model_path`` and restore ``damaged`` (uint8 in, uint8 out)."""
    return restore_with(load(model_path), damaged, batch_size)
