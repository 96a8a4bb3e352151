"""What the networks train on: batches from the uint8 train split, and the validation hold-out.

The dataset stays uint8 in memory and becomes float32 one batch at a time, so a full
256 px split fits in a quarter of the memory float32 would take: on the host, or, with
``unit=False``, at the top of the trainer's step (``families.inputs``), so the host only
slices uint8 arrays and a quarter of the bytes crosses to the device.
"""

from __future__ import annotations

import hashlib
import math

import keras
import numpy as np

from restorebench.data.damage import DamageSettings, damage_pair


def _unit(images: np.ndarray) -> np.ndarray:
    """uint8 to float32 in [0, 1] in one pass, no float64 or uint8-sized temporaries.

    ``families.inputs.to_unit`` does the same arithmetic on the device: keep them alike.
    """
    return np.multiply(images, np.float32(1 / 255), dtype=np.float32)


def unit_floats(images: np.ndarray) -> np.ndarray:
    """A batch's images as float32 in [0, 1], whichever kind ``PairBatches`` made."""
    return _unit(images) if images.dtype == np.uint8 else images


class PairBatches(keras.utils.PyDataset):
    """(damaged, clean) float32 batches in [0, 1], converted per batch from uint8.

    With ``unit=False`` the batches stay uint8 as gathered and ``flip`` should be off:
    the trainer converts and mirrors them on the device (``families.inputs``), so the
    arrays may be any that take a NumPy index, a device-resident copy of the split too.

    With ``shuffle`` the order is redrawn every epoch from the seed (a resumed run
    starts at its own ``epoch``'s order) and the last incomplete batch is dropped (a
    one-image BatchNorm batch is noise). With ``flip`` each pair is mirrored left-right
    with probability 1/2, drawn from (seed, epoch, batch): faces and scribbles have no
    handedness, so this doubles the poses seen. ``workers`` threads make batches ahead
    of the step (``accel.input_workers``); a batch depends only on (seed, epoch, index),
    so their number never changes what is trained on. ``multiple``: each batch's length
    is cut down to a multiple of it (the device count of JAX's data parallelism, which
    shards every batch evenly); only a short last batch ever loses images.

    ``redraw`` > 0: that share of the pairs, drawn from (seed, epoch, batch), gets fresh
    damage on its clean image every epoch, drawn with ``damage`` (the dataset's damage
    model; None: the calibrated default): the detector then meets new strokes on each
    photo instead of learning the one set it was given (docs/training.md). The arrays
    must be on the host for it.
    """

    def __init__(
        self,
        damaged: np.ndarray,
        clean: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        epoch: int = 0,
        flip: bool = False,
        workers: int = 1,
        multiple: int = 1,
        unit: bool = True,
        redraw: float = 0.0,
        damage: DamageSettings | None = None,
    ):
        super().__init__(workers=workers)
        self.redraw, self.damage = redraw, damage or DamageSettings()
        self.multiple = multiple
        self.unit = unit
        self.damaged, self.clean = damaged, clean
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.flip = flip
        self.seed = seed
        self.epoch = epoch
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.damaged))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.damaged))

    def __len__(self) -> int:
        count = len(self.damaged)
        if self.shuffle:
            return max(1, count // self.batch_size)
        whole = count - count % self.multiple  # a tail short of one multiple is no batch
        return math.ceil(whole / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        picked = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        picked = picked[: len(picked) - len(picked) % self.multiple]
        damaged, clean = self.damaged[picked], self.clean[picked]
        if self.redraw:
            self._redraw(damaged, clean, picked, index)
        if self.flip:  # on the uint8 copies: a quarter of the bytes of float32
            rng = np.random.default_rng([self.seed, self.epoch, index])
            mirrored = rng.random(len(picked)) < 0.5
            damaged[mirrored] = damaged[mirrored, :, ::-1]
            clean[mirrored] = clean[mirrored, :, ::-1]
        if not self.unit:
            return damaged, clean
        return _unit(damaged), _unit(clean)

    def _redraw(self, damaged, clean, picked, index: int) -> None:
        """Fresh damage, in place, on the drawn share of the batch's pairs."""
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        for row in np.flatnonzero(rng.random(len(picked)) < self.redraw):
            name = f"redraw:{self.epoch}:{picked[row]}"
            damaged[row] = damage_pair(clean[row], self.seed, name, self.damage)[0]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


def validation_mask(names: list[str], fraction: float, seed: int) -> np.ndarray:
    """Hold out a share of the train split by name hash, so the choice is stable.

    A name keeps its side when images are added or removed, and the salt differs from
    the train/test split's, so the draw is independent of it.
    """
    draws = [
        int.from_bytes(hashlib.sha256(f"validation:{seed}:{n}".encode()).digest()[:8], "big")
        for n in names
    ]
    return np.array(draws, dtype=np.float64) / 2**64 < fraction
