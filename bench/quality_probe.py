"""Child process: train one of our models for a wall-clock budget, then restore the test split.

    python -m bench.quality_probe DATASET MODEL ENTRY_JSON BUDGET_S OUT_NPZ PRECISION [CHECKPOINTS_S [SAMPLING_STEPS]]

MODEL is the config entry's name and ENTRY_JSON its entry (``family`` and settings);
PRECISION is ``train.precision`` (``auto``: the workflow's own choice).
Training is ``restorebench.training.fit.fit``, the rule's own code (BatchNorm
recalibration included), with every train image used (no validation hold-out) and
a callback that ends the run once the budget is spent; the test split's restorations
go to OUT_NPZ as uint8 ``restored`` (and ``found``, the paint masks of a blend model). Prints one JSON object with the training figures.

CHECKPOINTS_S (comma-separated training seconds) asks for the curve that time to
quality is read from: at each checkpoint the clock stops, the restorer as it stands
(BatchNorm recalibrated on a few batches, as ``fit`` does at the end) restores the test
split into ``curve<i>``, and the clock goes on. Nothing is chosen from the curve, so
scoring it on the test split leaks nothing into training.

A diffusion model's test split is also restored with each number of sampling steps of
SAMPLING_STEPS (comma-separated; default ``bench.quality.SAMPLING_STEPS``) into
``steps<k>`` of OUT_NPZ, each timed: sampling is its cost.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.quality import SAMPLING_STEPS
from restorebench.data.dataset import read_split
from restorebench.models import families
from restorebench.models.families.base import read_settings
from restorebench.runtime import accel

accel.configure()  # before Keras is first imported, by the imports below

import keras

from restorebench.restore.inference import restore_with
from restorebench.training.batches import PairBatches
from restorebench.training.batchnorm import recalibrate_batchnorm
from restorebench.training.fit import TrainOptions, fit

CURVE_RECALIBRATION_BATCHES = 20  # fewer than fit's final 100: a checkpoint's cost is not training


def sampling_sweep(
    restorer: keras.Model, damaged: np.ndarray, sampling_steps: list[int]
) -> tuple[dict, dict]:
    """The test split restored with each number of sampling steps: images and seconds per image."""
    from restorebench.models.families.diffusion import resample

    images, seconds = {}, {}
    for steps in sampling_steps:
        sampler = resample(restorer, steps)
        restore_with(sampler, damaged[:32])  # warm-up: graph tracing is not sampling
        start = time.perf_counter()
        images[f"steps{steps}"] = restore_with(sampler, damaged)
        seconds[steps] = (time.perf_counter() - start) / len(damaged)
    return images, seconds


class Budget(keras.callbacks.Callback):
    """Stops training after the first batch that ends past ``seconds`` of training.

    With ``checkpoints`` (training seconds, ascending) it calls ``probe(trainer)`` after
    the first batch past each one, off the clock, and keeps what it returns in ``curve``.
    """

    def __init__(self, seconds: float, checkpoints: list[float] = (), probe=None):
        super().__init__()
        self.seconds = seconds
        self.batches = 0
        self.pending = sorted(checkpoints)
        self.probe = probe
        self.curve: list[tuple[float, int, object]] = []

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.paused = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        self.elapsed = time.perf_counter() - self.start - self.paused
        if self.pending and self.elapsed >= self.pending[0] and self.elapsed < self.seconds:
            while self.pending and self.elapsed >= self.pending[0]:
                self.pending.pop(0)
            stopped = time.perf_counter()
            self.curve.append((self.elapsed, self.batches, self.probe(self.model)))
            self.paused += time.perf_counter() - stopped
        if self.elapsed >= self.seconds:
            self.model.stop_training = True


def curve_probe(family, train, damaged: np.ndarray, batch_size: int):
    """What a checkpoint records: the test split restored by the trainer as it stands."""
    batches = PairBatches(train.damaged, train.clean, batch_size, shuffle=True, seed=7)

    def probe(trainer: keras.Model) -> np.ndarray:
        restorer = family.restorer(trainer)
        recalibrate_batchnorm(restorer, batches, limit=CURVE_RECALIBRATION_BATCHES)
        return restore_with(restorer, damaged)

    return probe


def restore_test(family, settings, restorer: keras.Model, damaged: np.ndarray) -> dict:
    """The test split restored: ``restored``, and ``found`` (its paint masks) for a blend model."""
    if family.with_paint_mask and getattr(settings, "blend", False):
        restored, found = restore_with(family.with_paint_mask(restorer), damaged)
        return {"restored": restored, "found": found}
    return {"restored": restore_with(restorer, damaged)}


def fill_true_masks(family, settings, restorer: keras.Model, test) -> dict:
    """For a blend model, ``given``: its fill of the test split's true masks
    (``Family.with_given_mask``), the fill measured apart from the finding."""
    if not (family.with_given_mask and getattr(settings, "blend", False)):
        return {}
    given = family.with_given_mask(restorer)
    return {"given": restore_with(given, test.damaged, masks=test.mask)}


def fit_in_scratch(
    model: str, family, settings, dataset: Path, options: TrainOptions, callbacks=()
) -> tuple[keras.Model, int]:
    """(trainer, epochs run) of ``fit``, its history and backup in a folder removed after:
    a probe keeps only the trained model."""
    with tempfile.TemporaryDirectory() as scratch:
        trainer = fit(
            model,
            family.name,
            settings,
            dataset,
            options,
            history=Path(scratch) / "history.csv",
            backup_dir=Path(scratch) / "backup",
            callbacks=list(callbacks),
        )
        return trainer, len(Path(scratch, "history.csv").read_text().splitlines()) - 1


def main() -> None:
    dataset, model, entry, budget_s, out, precision = (
        Path(sys.argv[1]),
        sys.argv[2],
        json.loads(sys.argv[3]),
        float(sys.argv[4]),
        sys.argv[5],
        sys.argv[6],
    )
    checkpoints = [float(s) for s in sys.argv[7].split(",") if s] if len(sys.argv) > 7 else []
    sampling_steps = (
        [int(k) for k in sys.argv[8].split(",")] if len(sys.argv) > 8 else list(SAMPLING_STEPS)
    )
    family = families.load(entry["family"])
    settings = read_settings(family.settings, {**entry, "epochs": 1_000_000}, f"models.{model}")
    test = read_split(dataset, "test")
    damaged = test.damaged
    probe = curve_probe(
        family, read_split(dataset, "train", masks=False), damaged, settings.batch_size
    )
    budget = Budget(budget_s, checkpoints, probe)
    options = TrainOptions(seed=42, validation_fraction=0.0, precision=precision)
    trainer, epochs = fit_in_scratch(model, family, settings, dataset, options, [budget])
    restorer = family.restorer(trainer)
    arrays = {f"curve{i}": restored for i, (_, _, restored) in enumerate(budget.curve)}
    figures: dict = {
        "curve_s": [s for s, _, _ in budget.curve],
        "curve_steps": [n for _, n, _ in budget.curve],
    }
    if family.name == "diffusion":
        sweep, figures["sampling_s_per_image"] = sampling_sweep(restorer, damaged, sampling_steps)
        arrays.update(sweep)
    start = time.perf_counter()
    arrays.update(restore_test(family, settings, restorer, damaged))
    figures["restore_s_per_image"] = (time.perf_counter() - start) / len(damaged)
    arrays.update(fill_true_masks(family, settings, restorer, test))
    np.savez(out, **arrays)
    print(
        json.dumps(
            {
                "train_s": budget.elapsed,
                "steps": budget.batches,
                "images_seen": budget.batches * settings.batch_size,
                "epochs": epochs,
                "precision": accel.resolve_precision(precision, accel.gpu_count()),
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
