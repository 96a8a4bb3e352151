"""One config entry trained: its family's trainer fitted on the train split, then saved.

``fit`` reads as the order of events; each decision (dtype policy and devices, the
validation hold-out, TensorBoard, saving) is a helper of its own, so a family needs
nothing here but its registry entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from restorebench.data.damage import DamageSettings
from restorebench.data.dataset import Split, read_attrs, read_split
from restorebench.models import families
from restorebench.models.families.base import CommonSettings, Family
from restorebench.runtime import accel
from restorebench.training.batches import PairBatches, validation_mask
from restorebench.training.batchnorm import recalibrate_batchnorm
from restorebench.training.callbacks import LogEpochs, StopOnNaN, Validation
from restorebench.training.state import (
    EpochState,
    content_digest,
    discard_other_states,
    fingerprint,
    locked,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """How to train, whatever the family: the config's ``train`` section, with its defaults.

    ``precision`` is a Keras dtype policy and ``jit_compile`` XLA; ``auto`` turns both on
    with a GPU (``restorebench.runtime.accel``). ``steps_per_execution`` steps run per call of
    Keras' train function, so the host returns to Python (callbacks, logs) once per that
    many. ``device_input``: batches stay uint8 on the host and are converted and mirrored
    at the top of the step (``families.inputs``); ``auto``: with a GPU.
    """

    seed: int = 42
    validation_fraction: float = 0.05
    precision: str = "auto"
    jit_compile: str | bool = "auto"
    steps_per_execution: int = 1
    device_input: str | bool = "auto"


@contextlib.contextmanager
def _dtype_policy(name: str) -> Iterator[None]:
    """Build layers under a dtype policy without leaving it set for the rest of the process."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_trainer(
    family: str,
    image_size: int,
    settings: CommonSettings,
    seed: int,
    *,
    precision: str = "float32",
    jit_compile: bool = False,
    key: str | None = None,
    steps_per_execution: int = 1,
) -> keras.Model:
    """The compiled, built trainer of ``family``; ``key`` (``models.<family>``) names errors.

    ``precision`` is a Keras dtype policy (``mixed_bfloat16``, ``mixed_float16``): layers
    compute in half precision but keep float32 weights, and the output layers stay
    float32. Call it inside a distribution strategy's scope to train data-parallel.
    The trainer takes float32 batches or uint8 ones, which it converts (and mirrors, if
    ``settings.flip``) itself (``families.inputs``).
    """
    steps_per_execution = accel.check_steps_per_execution(steps_per_execution)
    with _dtype_policy(precision):
        return families.load(family).build(
            image_size,
            settings,
            seed,
            jit_compile,
            key or f"models.{family}",
            steps_per_execution=steps_per_execution,
        )


def _split(model: str, dataset: Path, options: TrainOptions) -> tuple[Split, np.ndarray]:
    """The train split and its validation mask, refused when either side would be empty."""
    train = read_split(dataset, "train", masks=False)
    if len(train.names) == 0:
        raise ValueError(f"{dataset}: the train split is empty, nothing to train on")
    held = validation_mask(train.names, options.validation_fraction, options.seed)
    if held.all():
        raise ValueError(
            f"config key train.validation_fraction: {options.validation_fraction} leaves none "
            f"of the {len(held)} train images of {dataset} for training"
        )
    log.info(
        "%s: %d train / %d validation images of %d px",
        model,
        int((~held).sum()),
        int(held.sum()),
        train.clean.shape[1],
    )
    return train, held


def _damage_model(dataset: Path) -> DamageSettings:
    """The damage model the dataset was prepared with (its provenance), for redrawn damage;
    the calibrated default where it records none (real pairs record it too)."""
    provenance = read_attrs(dataset).get("provenance")
    section = (
        provenance.get("settings", {}).get("damage", {}) if isinstance(provenance, dict) else {}
    )
    return DamageSettings.from_config(section)


def _build(
    model: str,
    family: Family,
    settings: CommonSettings,
    image_size: int,
    options: TrainOptions,
    strategy,
) -> keras.Model:
    """The trainer under the resolved precision, XLA and strategy; logs what was chosen."""
    if not isinstance(settings, family.settings):
        raise TypeError(
            f"models.{model}: family '{family.name}' takes {family.settings.__name__}, "
            f"got {type(settings).__name__}"
        )
    gpus = accel.gpu_count()
    policy = accel.resolve_precision(options.precision, gpus)
    jit = accel.resolve_jit(options.jit_compile, gpus)
    with strategy.scope() if strategy else contextlib.nullcontext():
        trainer = build_trainer(
            family.name,
            image_size,
            settings,
            options.seed,
            precision=policy,
            jit_compile=jit,
            key=f"models.{model}",
            steps_per_execution=options.steps_per_execution,
        )
    replicas = accel.replicas(strategy)
    log.info(
        "%s: %s, XLA %s, %d replica(s), %d step(s) per execution",
        model,
        policy,
        "on" if jit else "off",
        replicas,
        options.steps_per_execution,
    )
    return trainer


def _check_batch(model: str, batch_size: int, strategy) -> int:
    """The batch multiple a strategy needs: JAX shards each batch evenly over its devices.

    ``batch_size`` is the global batch (Keras' convention for both backends), so a batch
    that does not divide by the device count is refused before anything is built.
    """
    if keras.backend.backend() != "jax":
        return 1
    replicas = accel.replicas(strategy)
    if batch_size % replicas:
        raise ValueError(
            f"config key models.{model}.batch_size: {batch_size} does not divide over the "
            f"{replicas} devices of data-parallel training under JAX; use a multiple of {replicas}"
        )
    return replicas


def _validation(
    restorer: keras.Model,
    train: Split,
    held: np.ndarray,
    batch_size: int,
    tensorboard_dir: Path | None,
    multiple: int = 1,
    unit: bool = True,
) -> tuple[PairBatches | None, Validation | None]:
    """Keras' validation batches and the scorer of the held-out images (None without any).

    ``multiple``: under JAX's data parallelism every batch must divide over the devices,
    so Keras' validation losses leave out the last few held-out images short of one;
    the scorer's PSNR and SSIM still see every one. ``unit=False``: uint8 batches, which
    the trainer converts on the device.
    """
    if not held.any():
        return None, None
    samples = None
    if tensorboard_dir is not None and keras.backend.backend() == "tensorflow":
        samples = Path(tensorboard_dir) / "samples"
    damaged, clean = train.damaged[held], train.clean[held]
    scorer = Validation(restorer, damaged, clean, samples)
    if len(damaged) < multiple:
        return None, scorer
    batches = PairBatches(damaged, clean, batch_size, shuffle=False, multiple=multiple, unit=unit)
    return batches, scorer


def _device_input(model: str, options: TrainOptions, redraw: float) -> bool:
    """Whether batches stay uint8 for the trainer to convert and mirror; logs the choice.
    Redrawn damage is drawn on the host, so it keeps the batches there."""
    on_device = accel.resolve_device_input(options.device_input, accel.gpu_count())
    if on_device and redraw:
        log.info("%s: redraw_damage draws on the host: batches stay there", model)
        on_device = False
    where = "uint8 to the device, converted there" if on_device else "converted on the host"
    log.info("%s: batches %s", model, where)
    return on_device


def _check_tensorboard(tensorboard_dir: Path | None) -> None:
    """Refuse before training, not after the first epoch, when TensorBoard is asked for but absent."""
    if tensorboard_dir is not None and importlib.util.find_spec("tensorboard") is None:
        raise ValueError(
            "config key train.tensorboard: needs the tensorboard package (pip install tensorboard)"
        )


def _tensorboard(tensorboard_dir: Path | None) -> list[keras.callbacks.Callback]:
    if tensorboard_dir is None:
        return []
    if keras.backend.backend() != "tensorflow":
        log.warning(
            "train.tensorboard: TensorBoard logs need the tensorflow backend, not %s; none written",
            keras.backend.backend(),
        )
        return []
    return [keras.callbacks.TensorBoard(str(tensorboard_dir))]


def _recalibrate(
    model: str, restorer: keras.Model, batches: PairBatches, scorer: Validation | None
) -> None:
    recalibrate_batchnorm(restorer, batches)
    if scorer is not None:
        scores = " ".join(f"{k}={v:.4g}" for k, v in scorer.scores()[1].items())
        log.info("%s after BatchNorm recalibration: %s", model, scores)


def _save(
    trainer: keras.Model,
    restorer: keras.Model,
    restorer_path: Path | None,
    trainer_path: Path | None,
) -> None:
    if restorer_path is not None:
        restorer.save(restorer_path)
    if trainer_path is not None:
        trainer.save_weights(trainer_path)


def _remove_backup(backup: Path) -> None:
    """The model's backup folder (its state, its lock) once the outputs are written."""
    shutil.rmtree(backup, ignore_errors=True)


def fit(
    model: str,
    family: str,
    settings: CommonSettings,
    dataset: Path,
    options: TrainOptions = TrainOptions(),
    *,
    history: Path,
    backup_dir: Path,
    restorer_path: Path | None = None,
    trainer_path: Path | None = None,
    tensorboard_dir: Path | None = None,
    strategy=None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
) -> keras.Model:
    """Train config entry ``model`` of ``family`` on the train split of ``dataset``.

    Run it again after an interruption, even a kill -9, and it picks up after the last
    finished epoch (``backup_dir`` keeps the state). ``restorer_path`` (``.keras``) gets
    the family's restorer, ``trainer_path`` (``.weights.h5``) every network and optimizer
    state; both are written before the state is removed, so no moment exists where both
    are lost. ``strategy`` defaults to data-parallel training over several GPUs
    (``accel.distribution``: a MirroredStrategy under TensorFlow, Keras' ``DataParallel``
    under JAX); ``callbacks`` come on top of the standard ones. Returns the fitted trainer.
    """
    kind = families.load(family)
    _check_tensorboard(tensorboard_dir)
    on_device = _device_input(model, options, settings.redraw_damage)
    strategy = strategy or accel.distribution(accel.gpu_count())
    multiple = _check_batch(model, settings.batch_size, strategy)
    keras.utils.set_random_seed(options.seed)
    train, held = _split(model, dataset, options)
    with accel.keras_distribution(strategy):
        trainer = _build(model, kind, settings, train.clean.shape[1], options, strategy)
        data = content_digest(train.names, train.damaged, train.clean)
        key = fingerprint(family, dataclasses.asdict(settings), dataclasses.asdict(options), data)
        with locked(backup_dir, f"models.{model}"):
            discard_other_states(backup_dir, keep=key)
            state = EpochState(Path(backup_dir) / key, history)
            done = state.restore(trainer)
            log.info("%s: %s", model, f"resuming after epoch {done}" if done else "from scratch")
            batches = PairBatches(
                train.damaged[~held],
                train.clean[~held],
                settings.batch_size,
                shuffle=True,
                seed=options.seed,
                epoch=done,
                flip=settings.flip and not on_device,
                workers=accel.input_workers(accel.gpu_count()),
                multiple=multiple,
                unit=not on_device,
                redraw=settings.redraw_damage,
                damage=_damage_model(dataset) if settings.redraw_damage else None,
            )
            restorer = kind.restorer(trainer)
            validation, scorer = _validation(
                restorer,
                train,
                held,
                settings.batch_size,
                tensorboard_dir,
                multiple,
                unit=not on_device,
            )
            every = [*([scorer] if scorer else []), state, LogEpochs(model), StopOnNaN(model)]
            trainer.fit(
                batches,
                validation_data=validation,
                epochs=settings.epochs,
                initial_epoch=done,
                callbacks=[*every, *_tensorboard(tensorboard_dir), *callbacks],
                verbose=verbose,
            )
            _recalibrate(model, restorer, batches, scorer)
            _save(trainer, restorer, restorer_path, trainer_path)
    _remove_backup(Path(backup_dir))
    return trainer
