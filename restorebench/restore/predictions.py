"""The predictions file contract: ``results/<run>/predictions/<model>.h5``.

Dataset ``images``: uint8 (N, H, W, 3) in test order, one image per gzip chunk so the
viewer can fetch a single restoration cheaply; dataset ``names`` (UTF-8), the test
names they restore; root attribute ``model``. A restorer that finds the damage itself
(``inpaint``, a blend model) also stores ``mask``: uint8 (N, H, W), 0 to 255 the share of
paint it sees in each pixel (255 where ``inpaint`` detected paint).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from restorebench.contract import MASK_DATASET
from restorebench.data.dataset import STRING_DTYPE, Split, read_split, reading
from restorebench.runtime import provenance


@dataclass(frozen=True)
class Predictions:
    images: np.ndarray
    names: list[str]
    model: str
    masks: np.ndarray | None = None


def _images(file: h5py.File, key: str, data: np.ndarray, level: int) -> None:
    file.create_dataset(
        key,
        data=data,
        chunks=(1, *data.shape[1:]) if len(data) else None,
        compression="gzip",
        compression_opts=level,
    )


def write_predictions(
    path: Path,
    images: np.ndarray,
    names: list[str],
    model: str,
    level: int = 4,
    masks: np.ndarray | None = None,
    record: dict | None = None,
) -> None:
    """Write one model's restorations of the test split, the masks it found, if any, and
    the provenance ``record`` (restorebench.runtime.provenance) of the prediction."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"{model}: predictions must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}"
        )
    if len(images) != len(names):
        raise ValueError(f"{model}: {len(images)} images but {len(names)} names")
    if masks is not None and masks.shape != images.shape[:3]:
        raise ValueError(f"{model}: masks {masks.shape} do not match images {images.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # a reader never sees half a file
    with h5py.File(partial, "w") as file:
        _images(file, "images", images, level)
        if masks is not None:
            _images(
                file,
                MASK_DATASET,
                masks.astype(np.uint8) * (255 if masks.dtype == bool else 1),
                level,
            )
        file.create_dataset("names", data=list(names), dtype=STRING_DTYPE)
        file.attrs["model"] = model
        if record is not None:
            file.attrs[provenance.ATTRIBUTE] = provenance.encode(record)
    os.replace(partial, path)


def read_predictions(path: Path) -> Predictions:
    """Load a predictions file, or a ValueError naming the file and what is wrong."""
    path = Path(path)
    with reading(path) as file:
        for key in ("images", "names"):
            if key not in file:
                raise ValueError(f"{path}: missing dataset '{key}'")
        images = file["images"][()]
        names = [n.decode() if isinstance(n, bytes) else n for n in file["names"][()]]
        model = file.attrs.get("model", path.stem)
        masks = file[MASK_DATASET][()] if MASK_DATASET in file else None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"{path}: 'images' must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}"
        )
    if len(images) != len(names):
        raise ValueError(f"{path}: {len(images)} images but {len(names)} names")
    if masks is not None and masks.shape != images.shape[:3]:
        raise ValueError(f"{path}: 'mask' {masks.shape} does not match 'images' {images.shape}")
    return Predictions(images=images, names=names, model=str(model), masks=masks)


def read_with_test_split(path: Path, dataset: Path) -> tuple[Split, Predictions]:
    """The test split and one model's predictions of it, or a ValueError when the file
    restores other images (an older dataset): then it must be predicted again."""
    test = read_split(dataset, "test")
    predictions = read_predictions(path)
    if predictions.names != test.names:
        raise ValueError(
            f"{path}: its image names are not the test split of {dataset}; "
            "delete it so that it is predicted again"
        )
    return test, predictions
