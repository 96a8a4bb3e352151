"""Child process: steady-state training throughput of our VAE and GAN.

    python -m bench.train_probe DATASETS_JSON SPECS_JSON

Runs in its own process so TensorFlow's thread settings (environment variables,
read once at start-up) and mixed-precision policy are the ones asked for.
Each spec trains ``warmup + steps`` batches with ``restorebench.training``'s own
trainer and input pipeline (``build_trainer`` + ``PairBatches``, as ``fit`` uses them);
a step is timed from the end of the previous one, so data loading is included.
Prints one JSON list, one object per spec.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from restorebench.data.dataset import read_split
from restorebench.models import families
from restorebench.models.families.base import CommonSettings, read_settings
from restorebench.runtime import accel

accel.configure()  # before Keras is first imported, by the imports below

import keras

from restorebench.training.batches import PairBatches
from restorebench.training.fit import build_trainer

ORIGIN = Path(__file__).resolve().parents[1] / "configs" / "origin.yaml"


def origin_settings(family: str, batch: int) -> CommonSettings:
    """configs/origin.yaml's entry of ``family``: the origin's full-scale networks (no input skip)."""
    entry = yaml.safe_load(ORIGIN.read_text())["models"][family]
    settings = read_settings(families.load(family).settings, entry, f"models.{family}")
    return dataclasses.replace(settings, batch_size=batch)


class StepClock(keras.callbacks.Callback):
    """Seconds per batch, end to end: the first from its start, the rest end to end; and
    the process's user and kernel CPU seconds at each of those moments."""

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.ends, self.cpu = [time.perf_counter()], [_cpu()]

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())
        self.cpu.append(_cpu())

    def steps(self) -> list[float]:
        return list(np.diff(self.ends))

    def kernel_share(self, first: int) -> float:
        """System CPU over all CPU from the end of batch ``first`` on (the steady steps)."""
        (user0, system0), (user1, system1) = self.cpu[first], self.cpu[-1]
        return (system1 - system0) / max(1e-9, (user1 - user0) + (system1 - system0))


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def data_seconds(batches: PairBatches, count: int) -> float:
    """Median time the input pipeline alone needs for one batch."""
    times = []
    for index in range(count):
        start = time.perf_counter()
        batches[index]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(dataset: Path, spec: dict) -> dict:
    keras.backend.clear_session()
    model, size, batch = spec["model"], spec["size"], spec["batch"]
    warmup, steps = spec.get("warmup", 1), spec.get("steps", 3)
    train = read_split(dataset, "train")
    if len(train.names) < (warmup + steps) * batch:
        raise ValueError(
            f"{dataset}: {len(train.names)} train images, need {(warmup + steps) * batch}"
        )
    start = time.perf_counter()
    settings = origin_settings(model, batch)
    trainer = build_trainer(
        model,
        size,
        settings,
        seed=0,
        precision=spec.get("policy", "float32"),
        jit_compile=bool(spec.get("jit")),
    )
    build = time.perf_counter() - start
    batches = PairBatches(train.damaged, train.clean, batch, shuffle=True)
    clock = StepClock()
    trainer.fit(batches, epochs=1, steps_per_epoch=warmup + steps, callbacks=[clock], verbose=0)
    times = clock.steps()
    steady = times[warmup:]
    return {
        **spec,
        "settings": dataclasses.asdict(settings),
        "build_s": build,
        "first_step_s": times[0],
        "step_s": statistics.median(steady),
        "steps_s": steady,
        "images_per_s": batch / statistics.median(steady),
        "steady_kernel_share": clock.kernel_share(warmup),
        "data_s": data_seconds(batches, min(len(batches), steps)),
    }


def main() -> None:
    datasets, specs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    results = [measure(Path(datasets[str(spec["size"])]), spec) for spec in specs]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
