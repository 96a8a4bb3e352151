"""Training: dataset.h5 in, fitted VAE or GAN out, with a per-epoch history.

One ``fit`` per model. Callbacks score the validation images as the test split
will be scored (PSNR, SSIM on uint8), keep a resumable state after every epoch,
stop on a NaN loss, log progress, and optionally write TensorBoard logs.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.util
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from restorebench import accel  # before keras: GPU memory settings

# isort: split
import keras
import numpy as np

from restorebench.dataset import read_split
from restorebench.gan import Pix2Pix, build_discriminator, build_generator
from restorebench.inference import restore_with
from restorebench.metrics import image_metrics
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
        log.info(
            "%s epoch %d/%d (%.1f s): %s",
            self.name,
            epoch + 1,
            self.params["epochs"],
            seconds,
            scores,
        )


class PairBatches(keras.utils.PyDataset):
    """(damaged, clean) float32 batches in [0, 1], converted per batch from uint8.

    Keeping the arrays uint8 holds the full 256 px humanface8000 split in ~3 GB
    instead of 12. With ``shuffle`` the order is redrawn every epoch from the seed
    (a resumed run starts at its own ``epoch``'s order) and the last incomplete batch
    is dropped (a one-image BatchNorm batch is noise). With ``flip`` each pair is
    mirrored left-right with probability 1/2, drawn from (seed, epoch, batch): faces
    and scribbles have no handedness, so this doubles the poses seen. Under TensorFlow
    Keras wraps this in a tf.data pipeline that prefetches the next batches.
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
    ):
        super().__init__()
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
        return (
            max(1, count // self.batch_size) if self.shuffle else math.ceil(count / self.batch_size)
        )

    def __getitem__(self, index: int):
        picked = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        scale = np.float32(1 / 255)
        damaged, clean = (
            self.damaged[picked].astype(np.float32) * scale,
            self.clean[picked].astype(np.float32) * scale,
        )
        if self.flip:
            mirrored = (
                np.random.default_rng([self.seed, self.epoch, index]).random(len(picked)) < 0.5
            )
            damaged[mirrored], clean[mirrored] = (
                damaged[mirrored, :, ::-1],
                clean[mirrored, :, ::-1],
            )
        return damaged, clean

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


def validation_mask(names: list[str], fraction: float, seed: int) -> np.ndarray:
    """Hold out a share of the train split by name hash, so the choice is stable.

    The salt differs from the train/test split's, so the draw is independent of it.
    """
    draws = [
        int.from_bytes(hashlib.sha256(f"validation:{seed}:{n}".encode()).digest()[:8], "big")
        for n in names
    ]
    return np.array(draws, dtype=np.float64) / 2**64 < fraction


class StopOnNaN(keras.callbacks.Callback):
    """Stops at the first non-finite batch loss with an error naming the key to change.

    Keras' TerminateOnNaN would end the epoch quietly and let the state of a diverged
    network be saved as a finished epoch.
    """

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            raise FloatingPointError(
                f"{self.name}: the loss became {float(loss)} at batch {batch}; "
                f"lower config key train.{self.name}.learning_rate"
            )


class Validation(keras.callbacks.Callback):
    """Adds ``val_psnr`` and ``val_ssim`` to each epoch's logs, scored like the test split.

    The restorer's uint8 output is scored with the project's own metrics, so these
    curves predict the final table. With ``samples_dir`` (TensorFlow only) the first
    few images go to TensorBoard each epoch as damaged | restored | clean strips.
    """

    SAMPLES = 4

    def __init__(
        self,
        restorer: keras.Model,
        damaged: np.ndarray,
        clean: np.ndarray,
        samples_dir: Path | None = None,
    ):
        super().__init__()
        self.restorer, self.damaged, self.clean = restorer, damaged, clean
        self.writer = None
        if samples_dir is not None:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(samples_dir))

    def scores(self) -> tuple[np.ndarray, dict[str, float]]:
        """The restorations and their mean PSNR and SSIM."""
        restored = restore_with(self.restorer, self.damaged)
        scores = np.array([image_metrics(c, r) for c, r in zip(self.clean, restored)])
        return restored, {
            "val_psnr": float(np.mean(scores[:, 3])),
            "val_ssim": float(np.mean(scores[:, 2])),
        }

    def on_epoch_end(self, epoch, logs=None):
        restored, scores = self.scores()
        logs.update(scores)
        if self.writer is not None:
            import tensorflow as tf

            count = self.SAMPLES
            strips = np.concatenate(
                [self.damaged[:count], restored[:count], self.clean[:count]], axis=2
            )
            with self.writer.as_default():
                tf.summary.image(
                    "damaged | restored | clean", strips, step=epoch, max_outputs=count
                )
            self.writer.flush()


def _layers(network: keras.Model):
    """Every layer of ``network``, nested models included."""
    for layer in network.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def recalibrate_batchnorm(network: keras.Model, batches: PairBatches, limit: int = 100) -> None:
    """Give BatchNorm the statistics of the final weights, measured with dropout off.

    While training, the moving statistics follow the last few batches (momentum 0.9),
    of weights that kept changing, and behind dropout they saw activations with
    dropout's variance; inference has dropout off. The mismatch once took a faces-dev
    GAN from 25.9 to 13.7 dB validation PSNR in one epoch. Here each BatchNorm's
    statistics become the plain average over up to ``limit`` training batches run with
    the final weights, BatchNorm in training mode and dropout disabled.
    """
    norms = [
        layer for layer in _layers(network) if isinstance(layer, keras.layers.BatchNormalization)
    ]
    dropouts = [layer for layer in _layers(network) if isinstance(layer, keras.layers.Dropout)]
    momenta, rates = [n.momentum for n in norms], [d.rate for d in dropouts]
    try:
        for dropout in dropouts:
            dropout.rate = 0.0
        for step in range(min(limit, len(batches))):
            for norm in norms:
                norm.momentum = step / (step + 1)  # running average: batch k gets weight 1/k
            network(batches[step][0], training=True)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        for dropout, rate in zip(dropouts, rates):
            dropout.rate = rate


class EpochState(keras.callbacks.Callback):
    """The run's state after each finished epoch, safe against a kill at any moment.

    Each epoch's weights (optimizer state included) go to a new file; ``state.json``,
    replaced atomically afterwards, names that file and carries the history rows. So
    the epoch count, the weights and the history always agree, and the history
    output, which Snakemake deletes before it reruns an incomplete job, is rebuilt
    from the state with each epoch exactly once.
    """

    def __init__(self, folder: Path, history: Path):
        super().__init__()
        self.folder, self.history = Path(folder), Path(history)
        self.rows: list[dict] = []

    def restore(self, trainer: keras.Model) -> int:
        """Load the last finished epoch's state into ``trainer``; returns how many epochs are done."""
        state_file = self.folder / "state.json"
        if not state_file.exists():
            return 0
        state = json.loads(state_file.read_text())
        trainer.load_weights(self.folder / state["weights"])
        self.rows = state["history"]
        self._write_history()
        return len(self.rows)

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append(
            {"epoch": epoch, **{key: float(value) for key, value in (logs or {}).items()}}
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = f"epoch{epoch + 1:04d}.weights.h5"
        self.model.save_weights(self.folder / f"partial-{weights}")
        os.replace(self.folder / f"partial-{weights}", self.folder / weights)
        _replace_text(
            self.folder / "state.json", json.dumps({"weights": weights, "history": self.rows})
        )
        for old in self.folder.glob("*.weights.h5"):
            if old.name != weights:
                old.unlink()
        self._write_history()

    def _write_history(self) -> None:
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        partial = self.history.with_name(self.history.name + ".partial")
        with open(partial, "w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(partial, self.history)


def _replace_text(path: Path, text: str) -> None:
    """Write ``path`` so a reader (or a killed writer) never leaves half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


@contextlib.contextmanager
def _dtype_policy(name: str):
    """Build layers under a dtype policy without leaving it set for the rest of the process."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_trainer(
    model: str,
    image_size: int,
    settings: dict,
    seed: int,
    *,
    precision: str = "float32",
    jit_compile: bool = False,
) -> keras.Model:
    """The compiled, built training model for ``model`` ('vae' or 'gan').

    ``precision`` is a Keras dtype policy (``mixed_bfloat16``, ``mixed_float16``):
    layers compute in half precision but keep float32 weights, and the output layers
    stay float32. Call it inside a distribution strategy's scope to train data-parallel.
    """
    with _dtype_policy(precision):
        if model == "vae":
            layout = (
                image_size,
                settings["filters"],
                settings["latent_dim"],
                settings["input_skip"],
            )
            trainer = VAE(
                build_encoder(*layout, seed=seed),
                build_decoder(*layout, seed=seed, blend=settings["blend"]),
                kl_weight=settings["kl_weight"],
                seed=seed,
                damage_weight=settings["damage_weight"],
            )
            optimizer = keras.optimizers.Adam(settings["learning_rate"])
        elif model == "gan":
            trainer = Pix2Pix(
                build_generator(
                    image_size,
                    settings["filters"],
                    settings["dropout"],
                    settings["input_skip"],
                    seed=seed,
                    blend=settings["blend"],
                ),
                build_discriminator(
                    image_size,
                    settings["discriminator_filters"],
                    settings["discriminator"],
                    seed=seed,
                ),
                l1_weight=settings["l1_weight"],
                damage_weight=settings["damage_weight"],
            )
            optimizer = keras.optimizers.Adam(settings["learning_rate"], beta_1=settings["beta_1"])
        else:
            raise ValueError(f"unknown model '{model}', expected one of {MODELS}")
        # mixed_float16 gets a LossScaleOptimizer from compile itself.
        trainer.compile(optimizer=optimizer, jit_compile=jit_compile)
        # Weights and optimizer slots must exist (in the strategy's scope) before a saved
        # state can be loaded into them.
        trainer(np.zeros((1, image_size, image_size, 3), np.float32))
        trainer.optimizer.build(trainer.trainable_variables)
    return trainer


def saved_models(model: str, trainer: keras.Model) -> dict[str, keras.Model]:
    """The networks a run keeps, keyed like the rule's outputs; the first restores images."""
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
    precision: str = "auto",
    jit_compile: str | bool = "auto",
    strategy=None,
    tensorboard_dir: Path | None = None,
    save: Mapping[str, Path] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
) -> keras.Model:
    """Train ``model`` on the train split of ``dataset``; returns the fitted trainer.

    Run it again after an interruption, even a kill -9, and it picks up after the
    last finished epoch (``backup_dir`` keeps the state). ``save`` maps keys of
    ``saved_models`` to files, written before the state is removed so no moment
    exists where both are lost. ``precision`` and ``jit_compile`` take the config's
    values ('auto': on with a GPU); ``strategy`` defaults to MirroredStrategy over
    several GPUs. ``callbacks`` come on top of the standard ones.
    """
    if tensorboard_dir is not None and importlib.util.find_spec("tensorboard") is None:
        raise ValueError(
            "config key train.tensorboard: needs the tensorboard package (pip install tensorboard)"
        )
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

    gpus = accel.gpu_count()
    policy, jit = accel.resolve_precision(precision, gpus), accel.resolve_jit(jit_compile, gpus)
    strategy = strategy or accel.distribution(gpus)
    with strategy.scope() if strategy else contextlib.nullcontext():
        trainer = build_trainer(
            model, image_size, settings, seed, precision=policy, jit_compile=jit
        )
    backup = Path(backup_dir) / fingerprint(model, settings, seed, validation_fraction, train.names)
    state = EpochState(backup, history)
    done = state.restore(trainer)
    replicas = strategy.num_replicas_in_sync if strategy else 1
    log.info(
        "%s: %d train / %d validation images of %d px; %s, XLA %s, %d replica(s); %s",
        model,
        int((~held).sum()),
        int(held.sum()),
        image_size,
        policy,
        "on" if jit else "off",
        replicas,
        f"resuming after epoch {done}" if done else "from scratch",
    )

    batches = PairBatches(
        train.damaged[~held],
        train.clean[~held],
        settings["batch_size"],
        shuffle=True,
        seed=seed,
        epoch=done,
        flip=settings["flip"],
    )
    validation, every, scorer = None, [], None
    restorer = next(iter(saved_models(model, trainer).values()))
    if held.any():
        validation = PairBatches(
            train.damaged[held], train.clean[held], settings["batch_size"], shuffle=False
        )
        samples = None
        if tensorboard_dir is not None and keras.backend.backend() == "tensorflow":
            samples = Path(tensorboard_dir) / "samples"
        scorer = Validation(restorer, train.damaged[held], train.clean[held], samples)
        every.append(scorer)
    every += [state, LogEpochs(model), StopOnNaN(model), *callbacks]
    if tensorboard_dir is not None:
        if keras.backend.backend() == "tensorflow":
            every.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
        else:
            log.warning(
                "train.tensorboard: TensorBoard logs need the tensorflow backend, not %s; none written",
                keras.backend.backend(),
            )
    trainer.fit(
        batches,
        validation_data=validation,
        epochs=settings["epochs"],
        initial_epoch=done,
        callbacks=every,
        verbose=verbose,
    )
    recalibrate_batchnorm(restorer, batches)
    if scorer is not None:
        _, scores = scorer.scores()
        log.info(
            "%s after BatchNorm recalibration: %s",
            model,
            " ".join(f"{k}={v:.4g}" for k, v in scores.items()),
        )
    for key, path in (save or {}).items():
        saved_models(model, trainer)[key].save(path)
    shutil.rmtree(backup, ignore_errors=True)
    with contextlib.suppress(OSError):  # the parent folder, once no run keeps a state there
        Path(backup_dir).rmdir()
    return trainer
