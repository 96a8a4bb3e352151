"""Data-parallel training with MirroredStrategy, proven on two logical CPU devices.

Logical devices can only be configured before TensorFlow starts, and would then stay
for every other test, so the check runs in its own Python process.
"""

import dataclasses
import json
import subprocess
import sys

from conftest import HANG_S
from test_training import GAN, dataset  # noqa: F401  (the fixture)

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from pathlib import Path
from restorebench.families.base import read_settings
from restorebench.families.gan import GanSettings
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


def test_mirrored_strategy_trains_on_two_logical_cpus(dataset, tmp_path):  # noqa: F811
    settings = dataclasses.replace(GAN, epochs=1, discriminator="dense", dropout=0.0)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(dataset),
            str(tmp_path),
            json.dumps(dataclasses.asdict(settings)),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.split("REPORT ", 1)[1])
    assert report["replicas"] == 2 and report["mirrored_variable"]
    assert [device.rsplit(":", 2)[-2:] for device in report["variable_devices"]] == [
        ["CPU", "0"],
        ["CPU", "1"],
    ]
    assert abs(report["mirrored_loss"] - report["single_loss"]) < 1e-4 * report["single_loss"]
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 1 + settings.epochs
    assert (tmp_path / "restorer.keras").exists() and (tmp_path / "trainer.weights.h5").exists()
