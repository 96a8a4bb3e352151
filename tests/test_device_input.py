"""Batches made ready on the device (uint8 in, converted and mirrored in the step) and
several steps per execution: both train what the host path and one step per call train."""

from __future__ import annotations

import csv
import importlib.util
import logging

import keras
import numpy as np
import pytest
import yaml
from conftest import REPO
from test_backends import run_under

from restorebench.data.dataset import write_dataset
from restorebench.models.families.diffusion import DiffusionSettings
from restorebench.models.families.gan import GanSettings
from restorebench.models.families.inputs import mirror_pairs, to_unit
from restorebench.models.families.vae import VaeSettings
from restorebench.training.batches import PairBatches, _unit
from restorebench.training.fit import TrainOptions, build_trainer, fit

SIZE = 16
SMALL = {"filters": (8, 16), "epochs": 1, "batch_size": 4}
SETTINGS = {
    "vae": VaeSettings(latent_dim=4, **SMALL),
    "gan": GanSettings(discriminator_filters=(8, 16), **SMALL),
    "diffusion": DiffusionSettings(time_width=8, steps=2, **SMALL),
}


def pairs(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 (damaged, clean) pairs: no image is its own mirror."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)
    damaged = clean.copy()
    damaged[:, 2:4] = 255
    return damaged, clean


def test_the_device_conversion_gives_the_host_conversion_bit_for_bit():
    every = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    device = keras.ops.convert_to_numpy(to_unit(keras.ops.convert_to_tensor(every)))
    assert device.dtype == np.float32
    np.testing.assert_array_equal(device.view(np.uint32), _unit(every).view(np.uint32))
    floats = _unit(every)
    assert to_unit(floats) is floats  # a batch the host converted passes unchanged


def test_mirror_pairs_flips_both_halves_of_each_pair_together_about_half_the_time():
    damaged, clean = (_unit(images) for images in pairs(200))
    seed = keras.random.SeedGenerator(3)
    out_damaged, out_clean = (
        keras.ops.convert_to_numpy(x) for x in mirror_pairs(damaged, clean, seed)
    )
    mirrored = np.array([not np.array_equal(a, b) for a, b in zip(out_damaged, damaged)])
    assert 70 < mirrored.sum() < 130
    np.testing.assert_array_equal(out_damaged[mirrored], damaged[mirrored][:, :, ::-1])
    np.testing.assert_array_equal(out_clean[mirrored], clean[mirrored][:, :, ::-1])
    np.testing.assert_array_equal(out_damaged[~mirrored], damaged[~mirrored])
    np.testing.assert_array_equal(out_clean[~mirrored], clean[~mirrored])
    again = mirror_pairs(damaged, clean, keras.random.SeedGenerator(3))[0]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again), out_damaged)


@pytest.mark.parametrize("family", SETTINGS)
def test_a_trainer_mirrors_uint8_pairs_only_while_training_and_only_with_flip(family):
    damaged, clean = pairs(64)
    trainer = build_trainer(family, SIZE, SETTINGS[family], seed=0)
    ready_damaged, ready_clean = (
        keras.ops.convert_to_numpy(x) for x in trainer.ready((damaged, clean), training=True)
    )
    mirrored = np.array([not np.array_equal(a, b) for a, b in zip(ready_damaged, _unit(damaged))])
    assert 16 < mirrored.sum() < 48
    np.testing.assert_array_equal(ready_clean[mirrored], _unit(clean)[mirrored][:, :, ::-1])
    np.testing.assert_array_equal(ready_clean[~mirrored], _unit(clean)[~mirrored])
    for ready in (
        trainer.ready((damaged, clean), training=False),
        build_trainer(
            family, SIZE, SETTINGS[family].__class__(flip=False, **_small(family)), seed=0
        ).ready((damaged, clean), training=True),
    ):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ready[0]), _unit(damaged))


def _small(family: str) -> dict:
    settings = SETTINGS[family]
    extra = {"vae": ("latent_dim",), "gan": ("discriminator_filters",)}.get(
        family, ("time_width", "steps")
    )
    return {**SMALL, **{name: getattr(settings, name) for name in extra}}


def _trained(family: str, unit: bool, steps_per_execution: int = 1) -> list[np.ndarray]:
    """Every weight after one epoch of 3 steps on host (float) or device (uint8) batches."""
    damaged, clean = pairs(12, seed=1)
    settings = SETTINGS[family].__class__(flip=False, **_small(family))
    keras.utils.set_random_seed(7)
    trainer = build_trainer(family, SIZE, settings, seed=7, steps_per_execution=steps_per_execution)
    batches = PairBatches(damaged, clean, 4, shuffle=True, seed=7, unit=unit)
    trainer.fit(batches, epochs=1, verbose=0)
    return [keras.ops.convert_to_numpy(v) for v in trainer.weights]


@pytest.mark.parametrize("family", SETTINGS)
def test_uint8_batches_train_the_same_weights_as_the_hosts_float_batches(family):
    host, device = _trained(family, unit=True), _trained(family, unit=False)
    assert len(host) == len(device)
    for a, b in zip(host, device):  # the same floats in, the same step: the same bits out
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("family", SETTINGS)
def test_fit_trains_validates_and_recalibrates_on_uint8_batches(family, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="restorebench.training")
    damaged, clean = pairs(12, seed=2)
    test_damaged, test_clean = pairs(2, seed=3)
    dataset = tmp_path / "dataset.h5"
    write_dataset(
        dataset,
        {
            "train": {
                "clean": clean,
                "damaged": damaged,
                "names": [f"train{i}" for i in range(12)],
            },
            "test": {"clean": test_clean, "damaged": test_damaged, "names": ["a", "b"]},
        },
    )
    options = TrainOptions(
        seed=1, validation_fraction=0.25, device_input=True, steps_per_execution=2
    )
    settings = SETTINGS[family].__class__(flip=True, **{**_small(family), "epochs": 2})
    fit(
        family,
        family,
        settings,
        dataset,
        options,
        history=tmp_path / "history.csv",
        backup_dir=tmp_path / "backup",
    )
    with open(tmp_path / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert all(np.isfinite(float(row["loss"])) and 5 < float(row["val_psnr"]) for row in rows)
    assert "batches uint8 to the device" in caplog.text
    assert "2 step(s) per execution" in caplog.text


# Run as `python -c STEPS <folder>` under one backend: the GAN (dropout on, uint8 batches
# mirrored on the device) after 6 steps at 1 and at 2 steps per execution.
STEPS = """
import sys
from pathlib import Path

import keras
import numpy as np

from restorebench.models.families.gan import GanSettings
from restorebench.training.batches import PairBatches
from restorebench.training.fit import build_trainer

folder, backend = Path(sys.argv[1]), keras.backend.backend()
settings = GanSettings(filters=(8, 16), discriminator_filters=(8, 16), batch_size=2, flip=True)
rng = np.random.default_rng(0)
clean = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
damaged = np.where(rng.random((12, 16, 16, 1)) < 0.1, np.uint8(255), clean)
for steps in (1, 2):
    keras.utils.set_random_seed(0)
    trainer = build_trainer(
        "gan", 16, settings, seed=0, jit_compile=backend == "jax", steps_per_execution=steps
    )
    start = {v.path: keras.ops.convert_to_numpy(v) for v in trainer.weights}
    batches = PairBatches(damaged, clean, 2, shuffle=True, seed=0, unit=False)
    calls = keras.callbacks.LambdaCallback(on_train_batch_end=lambda *_, **__: ends.append(1))
    ends = []
    trainer.fit(batches, epochs=1, verbose=0, callbacks=[calls])
    weights = {v.path: keras.ops.convert_to_numpy(v) for v in trainer.weights}
    weights["calls"] = np.array(len(ends))
    np.savez(folder / f"{backend}-{steps}.npz", **weights)
np.savez(folder / f"{backend}-start.npz", **start)
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_steps_per_execution_train_what_one_step_per_call_trains(backend, tmp_path):
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed: the dev extra brings it (make install)")
    run_under(backend, "-c", STEPS, str(tmp_path))
    start, one, two = (dict(np.load(tmp_path / f"{backend}-{run}.npz")) for run in ("start", 1, 2))
    assert one.pop("calls") == 6 and two.pop("calls") == 3  # Python saw every second step
    assert set(one) == set(two) == set(start) and len(one) > 10
    for name in one:
        np.testing.assert_allclose(one[name], two[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert any(not np.array_equal(one[name], start[name]) for name in one)  # it trained


def test_the_schema_gives_the_train_options_their_defaults():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    options = schema["properties"]["train"]["properties"]
    defaults = TrainOptions()
    for name in ("steps_per_execution", "device_input"):
        assert options[name]["default"] == getattr(defaults, name)


def test_a_bad_steps_per_execution_is_refused_naming_the_key():
    with pytest.raises(ValueError, match="train.steps_per_execution"):
        build_trainer("vae", SIZE, SETTINGS["vae"], seed=0, steps_per_execution=0)
