"""Training: dataset.h5 in, fitted VAE or GAN out, with a per-epoch history.

One ``fit`` per model with Keras' own callbacks: CSVLogger writes the history,
BackupAndRestore resumes an interrupted run from its last finished epoch,
TerminateOnNaN stops a diverged one, TensorBoard is optional.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

from restorebench import accel  # noqa: F401  (before keras: GPU memory settings)

# isort: split
import keras
import numpy as np

from restorebench.dataset import read_split
from restorebench.gan import Pix2Pix, build_discriminator, build_generator
from restorebench.vae import VAE, build_decoder, build_encoder

MODELS = ("vae", "gan")

log = logging.getLogger("restorebench.training")


class LogEpochs(keras.callbacks.Callback):
    """One log line per epoch, so the rule's log file shows progress and pace."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        scores = " ".join(f"{key}={value:.4g}" for key, value in (logs or {}).items())
        seconds = time.perf_counter() - self.start
        log.info("%s epoch %d/%d (%.1f s): %s", self.name, epoch + 1, self.params["epochs"], seconds, scores)


class PairBatches(keras.utils.PyDataset):
    """(damaged, clean) float32 batches in [0, 1], converted per batch from uint8.

    Keeping the arrays uint8 holds the full 256 px humanface8000 split in ~3 GB
    instead of 12. With ``shuffle`` the order is redrawn every epoch from the seed
    and the last incomplete batch is dropped (a one-image BatchNorm batch is noise).
    """

    def __init__(self, damaged: np.ndarray, clean: np.ndarray, batch_size: int, *, shuffle: bool, seed: int = 0):
        super().__init__()
        self.damaged, self.clean = damaged, clean
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.damaged))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.damaged))

    def __len__(self) -> int:
        count = len(self.damaged)
        return max(1, count // self.batch_size) if self.shuffle else math.ceil(count / self.batch_size)

    def __getitem__(self, index: int):
        picked = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        scale = np.float32(1 / 255)
        return self.damaged[picked].astype(np.float32) * scale, self.clean[picked].astype(np.float32) * scale

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


def validation_mask(names: list[str], fraction: float, seed: int) -> np.ndarray:
    """Hold out a share of the train split by name hash, so the choice is stable.

    The salt differs from the train/test split's, so the draw is independent of it.
    """
    draws = [int.from_bytes(hashlib.sha256(f"validation:{seed}:{n}".encode()).digest()[:8], "big") for n in names]
    return np.array(draws, dtype=np.float64) / 2**64 < fraction


def build_trainer(model: str, image_size: int, settings: dict, seed: int) -> keras.Model:
    """The compiled, built training model for ``model`` ('vae' or 'gan')."""
    if model == "vae":
        layout = (image_size, settings["filters"], settings["latent_dim"], settings["input_skip"])
        trainer = VAE(
            build_encoder(*layout, seed=seed),
            build_decoder(*layout, seed=seed),
            kl_weight=settings["kl_weight"],
            seed=seed,
        )
        optimizer = keras.optimizers.Adam(settings["learning_rate"])
    elif model == "gan":
        trainer = Pix2Pix(
            build_generator(image_size, settings["filters"], settings["dropout"], settings["input_skip"], seed=seed),
            build_discriminator(image_size, settings["discriminator_filters"], seed=seed),
            l1_weight=settings["l1_weight"],
        )
        optimizer = keras.optimizers.Adam(settings["learning_rate"], beta_1=settings["beta_1"])
    else:
        raise ValueError(f"unknown model '{model}', expected one of {MODELS}")
    trainer.compile(optimizer=optimizer)
    # BackupAndRestore can only load weights into a built model.
    trainer(np.zeros((1, image_size, image_size, 3), np.float32))
    return trainer


def saved_models(model: str, trainer: keras.Model) -> dict[str, keras.Model]:
    """The networks a run keeps, keyed like the rule's outputs."""
    if model == "vae":
        return {"vae": trainer.restorer()}
    return {"generator": trainer.generator, "discriminator": trainer.discriminator}


def fingerprint(*parts) -> str:
    """Short digest of everything a run depends on: a backup from other settings is never resumed."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def fit(
    model: str,
    dataset: Path,
    settings: dict,
    *,
    seed: int,
    validation_fraction: float,
    history: Path,
    backup_dir: Path,
    tensorboard_dir: Path | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
) -> keras.Model:
    """Train ``model`` on the train split of ``dataset``; returns the fitted trainer.

    Run it again after an interruption and it picks up after the last finished epoch
    (``backup_dir`` keeps the state; a finished run removes it). ``callbacks`` come on
    top of the standard ones, e.g. EarlyStopping or a progress bar.
    """
    if tensorboard_dir is not None and importlib.util.find_spec("tensorboard") is None:
        raise ValueError("config key train.tensorboard: needs the tensorboard package (pip install tensorboard)")
    keras.utils.set_random_seed(seed)
    train = read_split(dataset, "train")
    if len(train.names) == 0:
        raise ValueError(f"{dataset}: the train split is empty, nothing to train on")
    image_size = train.clean.shape[1]
    held = validation_mask(train.names, validation_fraction, seed)
    if held.all():
        raise ValueError(
            f"config key train.validation_fraction: {validation_fraction} leaves none of the "
            f"{len(held)} train images of {dataset} for training"
        )
    batches = PairBatches(train.damaged[~held], train.clean[~held], settings["batch_size"], shuffle=True, seed=seed)
    validation = None
    if held.any():
        validation = PairBatches(train.damaged[held], train.clean[held], settings["batch_size"], shuffle=False)

    trainer = build_trainer(model, image_size, settings, seed)
    backup = Path(backup_dir) / fingerprint(model, settings, seed, validation_fraction, train.names)
    resuming = (backup / "training_metadata.json").exists()
    log.info(
        "%s: %d train / %d validation images of %d px, %s",
        model, int((~held).sum()), int(held.sum()), image_size, "resuming" if resuming else "from scratch",
    )
    every = [
        keras.callbacks.BackupAndRestore(str(backup)),
        keras.callbacks.CSVLogger(str(history), append=resuming),
        keras.callbacks.TerminateOnNaN(),
        LogEpochs(model),
        *callbacks,
    ]
    if tensorboard_dir is not None:
        every.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
    result = trainer.fit(
        batches, validation_data=validation, epochs=settings["epochs"], callbacks=every, verbose=verbose
    )
    if not np.isfinite(result.history["loss"][-1]):
        raise FloatingPointError(f"{model}: the loss diverged; lower config key train.{model}.learning_rate")
    with contextlib.suppress(OSError):  # BackupAndRestore removed its folder; drop the empty parent
        Path(backup_dir).rmdir()
    return trainer
