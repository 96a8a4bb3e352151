"""Child process: train one of our models for a wall-clock budget, then restore the test split.

    python -m bench.quality_probe DATASET MODEL ENTRY_JSON BUDGET_S OUT_NPZ

MODEL is the config entry's name and ENTRY_JSON its entry (``family`` and settings).
Training is ``restorebench.training.fit.fit``, the rule's own code (BatchNorm
recalibration included), with every train image used (no validation hold-out) and
a callback that ends the run once the budget is spent; the test split's restorations
go to OUT_NPZ as uint8 ``restored`` (and ``found``, the paint masks of a blend model). Prints one JSON object with the training figures.

A diffusion model's test split is also restored with each number of sampling steps of
``SAMPLING_STEPS`` (``steps<k>`` in OUT_NPZ), each timed: sampling is its cost.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.quality import SAMPLING_STEPS
from restorebench import accel, families
from restorebench.dataset import read_split
from restorebench.families.base import read_settings

accel.configure()  # before Keras is first imported, by the imports below

import keras

from restorebench.inference import restore_with
from restorebench.training.fit import TrainOptions, fit


def sampling_sweep(restorer: keras.Model, damaged: np.ndarray) -> tuple[dict, dict]:
    """The test split restored with each of ``SAMPLING_STEPS`` steps: images and seconds per image."""
    from restorebench.families.diffusion import resample

    images, seconds = {}, {}
    for steps in SAMPLING_STEPS:
        sampler = resample(restorer, steps)
        restore_with(sampler, damaged[:32])  # warm-up: graph tracing is not sampling
        start = time.perf_counter()
        images[f"steps{steps}"] = restore_with(sampler, damaged)
        seconds[steps] = (time.perf_counter() - start) / len(damaged)
    return images, seconds


class Budget(keras.callbacks.Callback):
    """Stops training after the first batch that ends past ``seconds``."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.batches = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        self.elapsed = time.perf_counter() - self.start
        if self.elapsed >= self.seconds:
            self.model.stop_training = True


def main() -> None:
    dataset, model, entry, budget_s, out = (
        Path(sys.argv[1]),
        sys.argv[2],
        json.loads(sys.argv[3]),
        float(sys.argv[4]),
        sys.argv[5],
    )
    family = families.load(entry["family"])
    settings = read_settings(family.settings, {**entry, "epochs": 1_000_000}, f"models.{model}")
    budget = Budget(budget_s)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = fit(
            model,
            family.name,
            settings,
            dataset,
            TrainOptions(seed=42, validation_fraction=0.0),
            history=Path(scratch) / "history.csv",
            backup_dir=Path(scratch) / "backup",
            callbacks=[budget],
        )
        epochs = len(Path(scratch, "history.csv").read_text().splitlines()) - 1
    restorer, damaged = family.restorer(trainer), read_split(dataset, "test", masks=False).damaged
    arrays, figures = {}, {}
    if family.name == "diffusion":
        sweep, figures["sampling_s_per_image"] = sampling_sweep(restorer, damaged)
        arrays.update(sweep)
    start = time.perf_counter()
    if family.with_paint_mask and getattr(settings, "blend", False):
        arrays["restored"], arrays["found"] = restore_with(
            family.with_paint_mask(restorer), damaged
        )
    else:
        arrays["restored"] = restore_with(restorer, damaged)
    figures["restore_s_per_image"] = (time.perf_counter() - start) / len(damaged)
    np.savez(out, **arrays)
    print(
        json.dumps(
            {
                "train_s": budget.elapsed,
                "steps": budget.batches,
                "images_seen": budget.batches * settings.batch_size,
                "epochs": epochs,
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
