"""Restore damaged images with a saved restorer (a model folder's ``restorer.keras``).

Saved models map float32 images in [0, 1] to [0, 1]; this module owns the uint8
conversion on both sides so every caller scores and stores the same pixels.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np

from restorebench.models.blocks import CUSTOM_LAYERS


def _archive_problem(path: Path) -> str | None:
    """Why ``path`` is no ``.keras`` archive at all, found before Keras reports it obscurely."""
    if path.suffix != ".keras":
        return f"expected a .keras file, got '{path.suffix or 'no suffix'}'"
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    if not zipfile.is_zipfile(path):
        return "not a Keras archive (a .keras file is a zip archive)"
    with zipfile.ZipFile(path) as archive:
        if "config.json" not in archive.namelist():
            return "the archive holds no config.json (not saved by keras.Model.save)"
    return None


def check_restorer(model: keras.Model, where: Path | str) -> keras.Model:
    """Refuse a model that does not map an image to an image of the same shape.

    A discriminator (one score per image), a one-channel or half-size output would
    otherwise give flat PNGs or a traceback deep in the restore loop.
    """
    shapes = model.input_shape, model.output_shape
    if not all(isinstance(shape, tuple) for shape in shapes):
        raise ValueError(f"{where}: a restorer has one input and one output, got {shapes}")
    _, height, width, channels = (*model.input_shape, None, None, None)[:4]
    if len(model.input_shape) != 4 or channels != 3 or height is None or height != width:
        raise ValueError(
            f"{where}: a restorer takes square RGB images (None, S, S, 3), got {model.input_shape}"
        )
    probe = keras.ops.convert_to_numpy(
        model(np.zeros((1, height, width, 3), np.float32), training=False)
    )
    if probe.shape != (1, height, width, 3) or not np.issubdtype(probe.dtype, np.floating):
        raise ValueError(
            f"{where}: a restorer maps (1, {height}, {width}, 3) images to the same shape, "
            f"this model gives {probe.dtype} {probe.shape}"
        )
    return model


def load(model_path: Path) -> keras.Model:
    """Load and check a saved restorer; ``safe_mode`` refuses models that would run arbitrary code.

    Our own layers (``blocks.CUSTOM_LAYERS``, pure computations without code in the file)
    are named here, so a process that never built a model can load one.

    Every way a file can fail to be a restorer is a ValueError naming the file and why.
    """
    model_path = Path(model_path)
    if model_path.is_dir():
        raise ValueError(f"{model_path}: a folder, not a model file")
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: no such model file")
    problem = _archive_problem(model_path)
    if problem:
        raise ValueError(f"{model_path}: {problem}")
    try:
        model = keras.saving.load_model(
            model_path, compile=False, safe_mode=True, custom_objects=CUSTOM_LAYERS
        )
    except (ValueError, KeyError, TypeError, AttributeError, OSError, zipfile.BadZipFile) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
        raise ValueError(
            f"{model_path}: cannot load the model ({type(error).__name__}: {detail})"
        ) from None
    return check_restorer(model, model_path)


def restore_with(
    model: keras.Model,
    damaged: np.ndarray,
    batch_size: int = 32,
    masks: np.ndarray | None = None,
) -> np.ndarray:
    """Run ``model`` batch by batch on uint8 (N, H, W, 3) images; returns uint8 of the same shape.

    A model with more outputs (a restorer and its paint mask) gives a uint8 array for each,
    a one-channel output as (N, H, W). ``masks``, (N, H, W) 0/1, go in as the second input
    of a model that fills a given mask (``Family.with_given_mask``).
    """
    if damaged.dtype != np.uint8 or damaged.ndim != 4 or damaged.shape[-1] != 3:
        raise ValueError(
            f"damaged images must be uint8 (N, H, W, 3), got {damaged.dtype} {damaged.shape}"
        )
    expected = tuple((model.input_shape[0] if masks is not None else model.input_shape)[1:])
    if damaged.shape[1:] != expected:
        raise ValueError(
            f"model '{model.name}' takes images of shape {expected}, got {damaged.shape[1:]}"
        )
    if masks is not None and masks.shape != damaged.shape[:3]:
        raise ValueError(f"masks {masks.shape} do not match the images {damaged.shape[:3]}")
    scale = np.float32(1 / 255)
    batches = []
    for start in range(0, len(damaged), batch_size):
        batch = damaged[start : start + batch_size].astype(np.float32) * scale
        if masks is not None:
            batch = [batch, masks[start : start + batch_size, ..., None].astype(np.float32)]
        outputs = model(batch, training=False)
        batches.append([_to_uint8(output) for output in keras.tree.flatten(outputs)])
    if not batches:
        return damaged.copy()
    stacked = [np.concatenate(parts) for parts in zip(*batches)]
    return stacked[0] if len(stacked) == 1 else tuple(stacked)


def _to_uint8(output) -> np.ndarray:
    array = np.rint(np.clip(keras.ops.convert_to_numpy(output), 0.0, 1.0) * 255).astype(np.uint8)
    return array[..., 0] if array.shape[-1] == 1 else array


def restore_images(model_path: Path, damaged: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Load the model at ``model_path`` and restore ``damaged`` (uint8 in, uint8 out)."""
    return restore_with(load(model_path), damaged, batch_size)
