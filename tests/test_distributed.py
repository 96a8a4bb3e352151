"""Data-parallel training, proven on two CPU devices: MirroredStrategy under TensorFlow,
Keras' DataParallel under JAX.

Logical devices (TensorFlow) and host devices (JAX's ``XLA_FLAGS``) can only be set
before the framework starts, and would then stay for every other test, so each check
runs in its own Python process.
"""

import csv
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import HANG_S
from test_training import GAN, dataset  # noqa: F401  (the fixture)

from restorebench.training.batches import PairBatches
from restorebench.training.fit import fit

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from pathlib import Path
from restorebench.models.families.base import read_settings
from restorebench.models.families.gan import GanSettings
from restorebench.training.fit import TrainOptions, build_trainer, fit

dataset, folder = Path(sys.argv[1]), Path(sys.argv[2])
settings = read_settings(GanSettings, json.loads(sys.argv[3]), "models.gan")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
report = {"replicas": strategy.num_replicas_in_sync}

# Same weights, same batch, inference mode: one device and two replicas must agree on
# the loss, which they only do if the replicas' metric states are combined right.
x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
y = np.random.default_rng(1).random((4, 16, 16, 3), dtype=np.float32)
single = build_trainer("gan", 16, settings, seed=0)
with strategy.scope():
    mirrored = build_trainer("gan", 16, settings, seed=0)
mirrored.set_weights(single.get_weights())
report["single_loss"] = single.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)["loss"]
report["mirrored_loss"] = mirrored.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)["loss"]

trainer = fit(
    "gan", "gan", settings, dataset, TrainOptions(seed=1, validation_fraction=0.25),
    history=folder / "history.csv", backup_dir=folder / "backup", strategy=strategy,
    restorer_path=folder / "restorer.keras", trainer_path=folder / "trainer.weights.h5",
)
variable = trainer.generator.trainable_variables[0].value
report["mirrored_variable"] = isinstance(variable, tf.distribute.DistributedValues)
report["variable_devices"] = sorted({v.device for v in strategy.experimental_local_results(variable)})
print("REPORT " + json.dumps(report))
"""


def _report(script: str, data, tmp_path, settings, env=None) -> dict:
    """Run ``script`` on the dataset ``data`` in a fresh process; the dict it prints after REPORT."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(data), str(tmp_path)]
        + [json.dumps(dataclasses.asdict(settings))],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.split("REPORT ", 1)[1])


def test_mirrored_strategy_trains_on_two_logical_cpus(dataset, tmp_path):  # noqa: F811
    settings = dataclasses.replace(GAN, epochs=1, discriminator="dense", dropout=0.0)
    report = _report(SCRIPT, dataset, tmp_path, settings)
    assert report["replicas"] == 2 and report["mirrored_variable"]
    assert [device.rsplit(":", 2)[-2:] for device in report["variable_devices"]] == [
        ["CPU", "0"],
        ["CPU", "1"],
    ]
    assert abs(report["mirrored_loss"] - report["single_loss"]) < 1e-4 * report["single_loss"]
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 1 + settings.epochs
    assert (tmp_path / "restorer.keras").exists() and (tmp_path / "trainer.weights.h5").exists()


JAX_SCRIPT = r"""
import json, sys
from pathlib import Path

import keras
import numpy as np

from restorebench.runtime import accel

from restorebench.models import families
from restorebench.models.families.base import read_settings
from restorebench.models.families.gan import GanSettings
from restorebench.training.fit import TrainOptions, build_trainer, fit

dataset, folder = Path(sys.argv[1]), Path(sys.argv[2])
settings = read_settings(GanSettings, json.loads(sys.argv[3]), "models.gan")
options = TrainOptions(seed=1, validation_fraction=0.25)
two = accel.data_parallel(keras.distribution.list_devices("cpu"))
x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)


def train(name, strategy):
    # strategy None: no GPU here, so fit's own choice is one device (cpu:0)
    out = folder / name
    out.mkdir()
    trainer = fit(
        "gan", "gan", settings, dataset, options, history=out / "history.csv",
        backup_dir=out / "backup", strategy=strategy,
        restorer_path=out / "restorer.keras", trainer_path=out / "trainer.weights.h5",
    )
    return trainer


def restored(model):
    # the restorer's first output (the restoration) on a fixed batch
    outputs = model(x, training=False)
    return np.asarray(keras.tree.flatten(outputs)[0])


def loaded(weights):
    # a fresh trainer, built and loaded under whatever distribution is active
    trainer = build_trainer("gan", 16, settings, seed=7)
    trainer.load_weights(weights)
    return restored(families.load("gan").restorer(trainer))


one_trainer = train("one", None)
one_out = restored(families.load("gan").restorer(one_trainer))
with two.scope():
    two_trainer = train("two", two)
    two_out = restored(families.load("gan").restorer(two_trainer))
    one_on_two = loaded(folder / "one" / "trainer.weights.h5")
    sharding = two_trainer.generator.trainable_variables[0].value.sharding
two_on_one = loaded(folder / "two" / "trainer.weights.h5")
restorer = keras.saving.load_model(folder / "two" / "restorer.keras")
report = {
    "replicas": accel.replicas(two),
    "mesh_devices": int(sharding.mesh.size),
    "replicated": sharding.is_fully_replicated,
    "two_weights_on_one": float(np.abs(two_on_one - two_out).max()),
    "one_weights_on_two": float(np.abs(one_on_two - one_out).max()),
    "two_restorer_on_one": float(np.abs(restored(restorer) - two_out).max()),
    "one_against_two": float(np.abs(one_out - two_out).max()),
}
print("REPORT " + json.dumps(report))
"""


def losses(history) -> list[float]:
    with history.open() as rows:
        return [float(row["loss"]) for row in csv.DictReader(rows)]


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_data_parallel_under_jax_matches_one_device_and_shares_checkpoints(
    dataset,  # noqa: F811
    tmp_path,
):
    """Two host devices (``XLA_FLAGS``): the same loss curve as one device on the same seed,
    and weights saved under either device count load under the other, same outputs."""
    settings = dataclasses.replace(GAN, epochs=2)
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    report = _report(JAX_SCRIPT, dataset, tmp_path, settings, env)
    assert report["replicas"] == 2 and report["mesh_devices"] == 2 and report["replicated"]
    one, two = losses(tmp_path / "one" / "history.csv"), losses(tmp_path / "two" / "history.csv")
    assert len(one) == len(two) == settings.epochs
    assert two == pytest.approx(one, rel=1e-4)
    assert report["two_weights_on_one"] < 1e-5 and report["one_weights_on_two"] < 1e-5
    assert report["two_restorer_on_one"] < 1e-5
    assert report["one_against_two"] < 1e-3  # trained apart, to the same weights


def test_batches_divide_over_the_devices_and_a_batch_that_cannot_is_refused(
    dataset,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """JAX shards every batch evenly: validation batches drop a tail short of a device
    count, and a batch_size that does not divide is refused before anything is built."""
    images = np.zeros((7, 4, 4, 3), np.uint8)
    batches = PairBatches(images, images, 4, shuffle=False, multiple=2)
    assert len(batches) == 2 and [len(batches[i][0]) for i in range(2)] == [4, 2]
    assert len(PairBatches(images, images, 4, shuffle=False)) == 2  # one device keeps all 7

    class TwoDevices:  # what fit reads of keras.distribution.DataParallel
        num_model_replicas = 2

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match=r"models\.gan\.batch_size: 3 does not divide over the 2"):
        fit(
            "gan",
            "gan",
            dataclasses.replace(GAN, batch_size=3),
            dataset,
            history=tmp_path / "history.csv",
            backup_dir=tmp_path / "backup",
            strategy=TwoDevices(),
        )
