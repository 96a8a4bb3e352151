"""The HDF5 dataset contract shared by every stage.

Layout: groups ``train`` and ``test``, each with ``clean`` and ``damaged`` uint8
arrays (N, H, W, 3) stored one image per gzip chunk, so a viewer or a scorer can
read any single image without touching the rest, ``mask`` uint8 (N, H, W), 1 where
the image is damaged (attribute ``mask_rule`` says how it was made), and ``names``
(UTF-8 strings). Root attributes carry the provenance (see :func:`DatasetWriter.finish`).
A dataset written before masks existed has none; readers then recover them from the pairs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from isal import isal_zlib

from restorebench import contract
from restorebench.contract import SPLITS
from restorebench.data.masks import EXACT_RULE, RECOVERY_RULE, recover_masks

IMAGE_KINDS = ("clean", "damaged")
MASK = contract.MASK_DATASET
STRING_DTYPE = h5py.string_dtype("utf-8")


def is_test(name: str, seed: int, test_fraction: float) -> bool:
    """Split decision from the name alone, so adding images never moves others."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < test_fraction


def split_of(name: str, seed: int, test_fraction: float) -> str:
    return "test" if is_test(name, seed, test_fraction) else "train"


def compress_image(image: np.ndarray, level: int) -> bytes:
    """One HDF5 gzip chunk (a zlib stream), made in worker processes so it uses all cores.

    Intel ISA-L's deflate is about ten times faster than zlib's for the same size; its
    levels 0-3 stand in for zlib's 0-9 (0 stays 0, then 1-3, 4-6, 7-9).
    """
    isal_level = 0 if level <= 0 else min(3, (level + 2) // 3)
    return isal_zlib.compress(np.ascontiguousarray(image, dtype=np.uint8).tobytes(), isal_level)


class DatasetWriter:
    """Streams images into ``dataset.h5`` in split order as they arrive.

    Chunks are written pre-compressed with ``write_direct_chunk``; the result is a
    plain gzip-filtered HDF5 dataset that any HDF5 reader understands.
    """

    def __init__(self, path: Path, size: int, capacity: dict[str, int], level: int):
        self.path = Path(path)
        self.size = size
        self.level = level
        self.file = h5py.File(self.path, "w")
        self.count = {split: 0 for split in SPLITS}
        self.names: dict[str, list[str]] = {split: [] for split in SPLITS}
        shape = (size, size, 3)
        for split in SPLITS:
            group = self.file.create_group(split)
            for kind in IMAGE_KINDS:
                group.create_dataset(
                    kind,
                    shape=(capacity[split], *shape),
                    maxshape=(None, *shape),
                    dtype=np.uint8,
                    chunks=(1, *shape),
                    compression="gzip",
                    compression_opts=level,
                )
            group.create_dataset(
                MASK,
                shape=(capacity[split], size, size),
                maxshape=(None, size, size),
                dtype=np.uint8,
                chunks=(1, size, size),
                compression="gzip",
                compression_opts=level,
            )

    def append(self, split: str, name: str, clean: bytes, damaged: bytes, mask: bytes) -> None:
        """Add one pair and its mask given as chunks from :func:`compress_image`."""
        index = self.count[split]
        group = self.file[split]
        for kind, chunk in (("clean", clean), ("damaged", damaged), (MASK, mask)):
            dataset = group[kind]
            if index >= dataset.shape[0]:
                dataset.resize(index + 1, axis=0)
            dataset.id.write_direct_chunk((index,) + (0,) * (dataset.ndim - 1), chunk)
        self.names[split].append(name)
        self.count[split] = index + 1

    def finish(self, attrs: dict) -> None:
        """Trim to what was written, store names and provenance, close."""
        for split in SPLITS:
            group = self.file[split]
            for kind in (*IMAGE_KINDS, MASK):
                group[kind].resize(self.count[split], axis=0)
            group.create_dataset("names", data=self.names[split], dtype=STRING_DTYPE)
        for key, value in attrs.items():
            self.file.attrs[key] = (
                value if isinstance(value, (str, int, float)) else json.dumps(value)
            )
        self.file.close()

    def abort(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def write_dataset(
    path: Path, splits: dict[str, dict], attrs: dict | None = None, level: int = 1
) -> None:
    """Write a whole dataset from in-memory arrays (tests, fixtures, small tools).

    ``splits`` maps 'train'/'test' to ``{"clean": array, "damaged": array, "names": list}``
    and optionally ``"mask"`` (N, H, W); without one the masks are recovered from the pairs.
    """
    sizes = {
        array.shape[1] for split in splits.values() for array in (split["clean"], split["damaged"])
    }
    if len(sizes) != 1:
        raise ValueError(f"all images must share one square size, got {sorted(sizes)}")
    size = sizes.pop()
    capacity = {split: len(splits.get(split, {"names": []})["names"]) for split in SPLITS}
    writer = DatasetWriter(Path(path), size, capacity, level)
    rules = set()
    for split, arrays in splits.items():
        masks = arrays.get("mask")
        rules.add(RECOVERY_RULE if masks is None else EXACT_RULE)
        if masks is None:
            masks = recover_masks(arrays["clean"], arrays["damaged"])
        for name, clean, damaged, mask in zip(
            arrays["names"], arrays["clean"], arrays["damaged"], masks
        ):
            chunks = (compress_image(image, level) for image in (clean, damaged, mask))
            writer.append(split, name, *chunks)
    writer.finish({"image_size": size, "mask_rule": "; ".join(sorted(rules)), **(attrs or {})})


@dataclass(frozen=True)
class Split:
    clean: np.ndarray
    damaged: np.ndarray
    names: list[str]
    mask: np.ndarray | None = None  # (N, H, W) bool: the damaged pixels


CHECK_BLOCK = 64  # images read at once by content_problem
REBUILD_HINT = "delete it and run again: Snakemake rebuilds it and what depends on it"


def hdf5_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened as HDF5 (truncated, not HDF5 at all), or None."""
    try:
        with h5py.File(path, "r"):
            return None
    except OSError as error:
        return str(error).split(" (")[0]  # h5py appends its internal call chain


def content_problem(path: Path) -> str | None:
    """Why some array of ``path`` cannot be read back (a damaged block of an image), or None.

    Opening a file checks its header only; a damaged compressed chunk shows when it is read,
    so every array is read, a few images at a time to bound the memory.
    """
    try:
        with h5py.File(path, "r") as file:
            arrays: list[h5py.Dataset] = []
            file.visititems(
                lambda _, item: arrays.append(item) if isinstance(item, h5py.Dataset) else None
            )
            for array in arrays:
                try:
                    if array.ndim == 0:
                        array[()]
                    for start in range(0, array.shape[0] if array.ndim else 0, CHECK_BLOCK):
                        array[start : start + CHECK_BLOCK]
                except (OSError, ValueError, RuntimeError) as error:
                    return f"'{array.name}' unreadable: {str(error).split(' (')[0]}"
    except (OSError, RuntimeError, KeyError) as error:  # a damaged object header
        return str(error).split(" (")[0]
    return None


@contextlib.contextmanager
def reading(path: Path) -> Iterator[h5py.File]:
    """``path`` open for reading; a damaged file or a missing part raises ValueError naming it."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as file:
            yield file
    except FileNotFoundError:
        raise
    except (OSError, KeyError) as error:
        raise ValueError(
            f"{path}: unreadable ({str(error).split(' (')[0]}); {REBUILD_HINT}"
        ) from None


def read_names(path: Path, split: str) -> list[str]:
    with reading(path) as file:
        return [
            name.decode() if isinstance(name, bytes) else name for name in file[split]["names"][()]
        ]


def read_split(path: Path, split: str, masks: bool = True) -> Split:
    """Load one split into memory (training and scoring read each array once).

    A dataset without masks (written before they existed) gets them recovered from its
    pairs; ``masks=False`` (training, which needs none) leaves them out.
    """
    with reading(path) as file:
        group = file[split]
        names = [n.decode() if isinstance(n, bytes) else n for n in group["names"][()]]
        clean, damaged = group["clean"][()], group["damaged"][()]
        mask = None
        if masks:
            mask = group[MASK][()] > 0 if MASK in group else recover_masks(clean, damaged)
        return Split(clean=clean, damaged=damaged, names=names, mask=mask)


def read_mask(path: Path, split: str, index: int) -> np.ndarray:
    """One image's (H, W) bool mask, recovered from its pair in a dataset without masks."""
    with reading(path) as file:
        group = file[split]
        if MASK in group:
            return group[MASK][index] > 0
        return recover_masks(
            group["clean"][index : index + 1], group["damaged"][index : index + 1]
        )[0]


def read_attrs(path: Path) -> dict:
    """Provenance attributes, JSON values decoded."""
    with h5py.File(path, "r") as file:
        attrs = {}
        for key, value in file.attrs.items():
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass
            attrs[key] = value
        return attrs


def validate_dataset(path: Path) -> dict[str, int]:
    """Check the contract; returns image counts per split or raises ValueError naming the problem."""
    path = Path(path)
    counts = {}
    with h5py.File(path, "r") as file:
        for split in SPLITS:
            if split not in file:
                raise ValueError(f"{path}: missing group '{split}'")
            group = file[split]
            for key in (*IMAGE_KINDS, "names"):
                if key not in group:
                    raise ValueError(f"{path}: missing dataset '{split}/{key}'")
            clean, damaged, names = group["clean"], group["damaged"], group["names"]
            for array in (clean, damaged):
                if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
                    raise ValueError(
                        f"{path}: '{array.name}' must be uint8 (N, H, W, 3), got {array.dtype} {array.shape}"
                    )
            if clean.shape != damaged.shape or clean.shape[0] != names.shape[0]:
                raise ValueError(
                    f"{path}: '{split}' sizes disagree: clean {clean.shape}, damaged {damaged.shape}, names {names.shape}"
                )
            if MASK in group and group[MASK].shape != clean.shape[:3]:
                raise ValueError(
                    f"{path}: '{split}/{MASK}' must be (N, H, W) {clean.shape[:3]}, got {group[MASK].shape}"
                )
            counts[split] = clean.shape[0]
    return counts
