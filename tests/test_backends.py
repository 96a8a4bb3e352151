"""TensorFlow and JAX train the same way: one GAN step, the model and training tests, saved models.

Keras picks its backend once per process, from ``KERAS_BACKEND``, so each backend runs in
a subprocess of its own. The TensorFlow one writes the common start (the GAN trainer's
weights, one batch, a trained GAN and VAE restorer); each then takes one GAN step from
that start and restores images with those restorers.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import HANG_S, REPO

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed: the dev extra brings it (make install)",
)

BACKENDS = ("tensorflow", "jax")
# Under JAX these tests build many tiny networks and run each compiled step a few times:
# XLA's cheapest compilation halves their time (the same arithmetic: the GAN step below
# still agrees with TensorFlow's to 0.05% of a step).
FAST_COMPILE = {
    "jax": "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
}

# Run as `python -c SIDE <folder>` under one backend.
SIDE = """
import sys
from pathlib import Path

import keras
import numpy as np

from restorebench.models.families import load
from restorebench.models.families.gan import GanSettings
from restorebench.models.families.vae import VaeSettings
from restorebench.restore.inference import restore_images
from restorebench.training.fit import build_trainer

folder, backend = Path(sys.argv[1]), keras.backend.backend()
# The blend head of our recipe, with both optional loss terms on.
LOSS_TERMS = {"fill_prior": True, "mask_weight": 1.0, "ssim_weight": 1.0}
GAN = GanSettings(
    learning_rate=5e-4, filters=(8, 16), discriminator_filters=(8, 16), dropout=0.0, **LOSS_TERMS
)
VAE = VaeSettings(filters=(8, 16), latent_dim=4, **LOSS_TERMS)


# The paint mask set to find white pixels, far from the hard blend's threshold
# everywhere, so both backends blend the same whole pixels.
def see_white_paint(network):
    layer = network.get_layer("paint_mask")
    kernel, bias = layer.get_weights()
    kernel[:] = 0.0
    kernel[1, 1, -3:, 0] = 20.0  # the input image's channels, last in the joined features
    layer.set_weights([kernel, np.full_like(bias, -50.0)])


# As fit compiles them (train.jit_compile: auto on a CPU): TensorFlow op by op, JAX jitted.
trainer = build_trainer("gan", 16, GAN, seed=0, jit_compile=backend == "jax")
start = folder / "start.weights.h5"
first = not start.exists()
if first:
    see_white_paint(trainer.generator)
    rng = np.random.default_rng(1)
    clean = rng.random((4, 16, 16, 3), dtype=np.float32)
    damaged = np.where(rng.random((4, 16, 16, 1)) < 0.1, 1.0, clean).astype(np.float32)
    np.savez(folder / "batch.npz", damaged=damaged, clean=clean)
    trainer.save_weights(start)
trainer.load_weights(start)
batch = np.load(folder / "batch.npz")
values = {}
for when in ("before", "after"):
    if when == "after":
        logs = trainer.train_on_batch(batch["damaged"], batch["clean"], return_dict=True)
        values |= {f"log/{name}": np.float64(value) for name, value in logs.items()}
    for part in ("generator", "discriminator", "g_optimizer", "d_optimizer"):
        for variable in getattr(trainer, part).variables:
            values[f"{when}/{part}/{variable.path}"] = keras.ops.convert_to_numpy(variable)
np.savez(folder / f"step-{backend}.npz", **values)

damaged = np.rint(batch["damaged"] * 255).astype(np.uint8)
for family, settings in (("gan", GAN), ("vae", VAE)):
    path = folder / f"{family}.keras"
    if first:  # restorers trained a step by this backend, saved for every backend
        model = trainer if family == "gan" else build_trainer(family, 16, settings, seed=0)
        if family == "vae":
            see_white_paint(model.decoder)
        model.train_on_batch(batch["damaged"], batch["clean"])
        load(family).restorer(model).save(path)
    np.save(folder / f"restored-{family}-{backend}.npy", restore_images(path, damaged))
"""


def run_under(backend: str, *args: str, timeout: int = HANG_S) -> subprocess.CompletedProcess:
    """``python *args`` in the repository with ``KERAS_BACKEND=backend``; fails with its output."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend in FAST_COMPILE:
        env["XLA_FLAGS"] = FAST_COMPILE[backend]
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{backend}: {args[:2]} failed\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    )
    return result


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """The folder both backends wrote into, TensorFlow first (it writes the start)."""
    folder = tmp_path_factory.mktemp("backends")
    for backend in BACKENDS:
        run_under(backend, "-c", SIDE, str(folder))
    return folder


def test_one_gan_step_is_the_same_update_under_tensorflow_and_jax(sides):
    """Every variable of both networks and both optimizers after one step from one start.

    Each variable's change must agree within 1% of its largest move: Adam's first step
    moves nearly every weight by about the learning rate and float32 rounding stays far
    below that, so a step that skips a network, mixes the losses or shares an optimizer
    fails here.
    """
    tf, jax = (np.load(sides / f"step-{backend}.npz") for backend in BACKENDS)
    assert sorted(tf.files) == sorted(jax.files)
    for name in ("loss", "disc_loss", "gen_gan_loss", "gen_l1", "mask_bce"):
        assert jax[f"log/{name}"] == pytest.approx(tf[f"log/{name}"], rel=1e-5), name
    moved = set()
    for name in (name.removeprefix("after/") for name in tf.files if name.startswith("after/")):
        start, ours, theirs = jax[f"before/{name}"], tf[f"after/{name}"], jax[f"after/{name}"]
        np.testing.assert_array_equal(start, tf[f"before/{name}"], err_msg=name)
        if not np.issubdtype(ours.dtype, np.floating):  # step counts, seed states
            np.testing.assert_array_equal(theirs, ours, err_msg=name)
            continue
        step = np.abs(ours - start).max()
        np.testing.assert_allclose(
            theirs - start, ours - start, rtol=0, atol=0.01 * step, err_msg=name
        )
        if step > 0:
            moved.add(name.split("/")[0])
    assert moved == {"generator", "discriminator", "g_optimizer", "d_optimizer"}


def test_a_restorer_saved_under_tensorflow_restores_the_same_pixels_under_jax(sides):
    for family in ("gan", "vae"):
        tf, jax = (np.load(sides / f"restored-{family}-{backend}.npy") for backend in BACKENDS)
        assert tf.dtype == jax.dtype == np.uint8 and tf.shape == jax.shape == (4, 16, 16, 3)
        assert np.abs(tf.astype(int) - jax.astype(int)).max() <= 1, family
        assert len(np.unique(tf)) > 16, family  # not a constant picture matched by chance


# The model and training tests that step, fit, resume, save and load the VAE and the GAN,
# and train them on uint8 batches, run again under JAX (~100 s here). Left to the TensorFlow run: TensorBoard (TensorFlow's
# own; under JAX fit logs a warning and writes none), what never reaches a backend
# (batches, validation draw, settings, refusals), building alone (the 256 px origin
# networks, every family's defaults: built-in layers, ~35 s), mixed_bfloat16 (no code of
# its own, ~15 s; mixed_float16 runs the loss scaling) and the diffusion family (not one
# of the two).
MODELS, TRAINING = "tests/test_models.py::", "tests/test_training.py::"
DEVICE = "tests/test_device_input.py::"  # uint8 batches: the JAX step's own flip seed state
UNDER_JAX = (
    *(
        f"{MODELS}test_one_training_step_changes_weights_and_lowers_the_loss[{f}]"
        for f in ("vae", "gan")
    ),
    f"{MODELS}test_mixed_precision_trains_and_saves_float32_outputs[mixed_float16]",
    f"{MODELS}test_batchnorm_recalibration_averages_batch_statistics_with_dropout_off",
    *(
        f"{MODELS}test_each_network_moves_only_by_its_own_optimizer[{n}]"
        for n in ("generator", "discriminator")
    ),
    *(
        f"{TRAINING}test_fit_writes_history_and_a_restorer_that_loads_safely[{f}]"
        for f in ("vae", "gan")
    ),
    *(
        f"{TRAINING}test_trainer_weights_hold_every_network_and_optimizer[{f}]"
        for f in ("vae-0.0", "gan-0.0", "gan-ema")
    ),
    f"{TRAINING}test_same_seed_same_history",
    f"{TRAINING}test_validation_scores_are_the_test_protocol_on_the_held_out_images",
    f"{TRAINING}test_a_diverging_loss_stops_with_the_key_of_the_config_entry",
    f"{TRAINING}test_an_interrupted_run_resumes_after_its_last_epoch[vae]",
    *(
        f"{DEVICE}{test}[{f}]"
        for test in (
            "test_uint8_batches_train_the_same_weights_as_the_hosts_float_batches",
            "test_fit_trains_validates_and_recalibrates_on_uint8_batches",
        )
        for f in ("vae", "gan")
    ),
)


def test_the_model_and_training_tests_pass_under_jax():
    """Every chosen test runs and passes: none skipped, none deselected by a renamed id."""
    pytest_args = ("-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q")
    started = time.perf_counter()
    result = run_under("jax", *pytest_args, *UNDER_JAX)
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"{len(UNDER_JAX)} passed") and "skipped" not in summary, summary
    print(f"under jax: {summary} ({time.perf_counter() - started:.0f} s)")
