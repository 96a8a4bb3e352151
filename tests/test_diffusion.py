"""The diffusion family: the sampler's arithmetic, reproducibility, steps, saving, restoring."""

import keras
import numpy as np
import pytest
from PIL import Image

from restorebench.models import families
from restorebench.models.families.diffusion import (
    DENOISER,
    DiffusionSettings,
    build_sampler,
    resample,
    start_noise,
    steps_of,
)
from restorebench.restore.cli import main
from restorebench.restore.inference import load, restore_with
from restorebench.training.fit import build_trainer

SIZE = 16
SETTINGS = DiffusionSettings(filters=(8, 16, 16), time_width=8, steps=3)


def images(count=4, seed=0):
    return np.random.default_rng(seed).random((count, SIZE, SIZE, 3), dtype=np.float32)


def numpy_of(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.fixture(scope="module")
def trained():
    """A tiny diffusion trainer after a few steps, so its denoiser depends on its inputs."""
    trainer = build_trainer("diffusion", SIZE, SETTINGS, seed=3)
    clean = images(8, seed=1)
    damaged = np.where(np.arange(SIZE)[None, :, None, None] % 4 == 0, 1.0, clean)
    for _ in range(3):
        trainer.train_on_batch(damaged.astype(np.float32), clean)
    return trainer


def test_the_sampler_takes_ddim_steps_from_its_noise(trained):
    """x_s = (s/t) x_t + (1 - s/t)(2 x_pred - 1) from x_1 = the noise; the last x_pred is the output."""
    denoiser, noise = trained.denoiser, start_noise(SIZE, 3)
    damaged = images(2, seed=7)
    x = np.broadcast_to(noise.reshape(1, SIZE, SIZE, 3), damaged.shape)
    steps = 3
    for step in range(steps):
        t, s = 1 - step / steps, 1 - (step + 1) / steps
        time = np.full((len(damaged), 1), t, np.float32)
        predicted = numpy_of(denoiser([x, damaged, time]))
        x = (s / t) * x + (1 - s / t) * (2 * predicted - 1)
    np.testing.assert_allclose(numpy_of(trained.sampler(damaged)), predicted, atol=1e-5)
    assert steps_of(trained.sampler) == SETTINGS.steps


def test_restoring_is_reproducible_and_the_seed_draws_the_noise(trained):
    damaged = np.rint(images(3, seed=2) * 255).astype(np.uint8)
    restorer = families.load("diffusion").restorer(trained)
    np.testing.assert_array_equal(restore_with(restorer, damaged), restore_with(restorer, damaged))
    assert not np.array_equal(start_noise(SIZE, 3), start_noise(SIZE, 4))
    other = build_sampler(trained.denoiser, SETTINGS.steps, start_noise(SIZE, 4))
    assert not np.array_equal(restore_with(other, damaged), restore_with(restorer, damaged))


def test_more_steps_reuse_the_denoiser_and_its_noise(trained, tmp_path):
    path = tmp_path / "restorer.keras"
    trained.sampler.save(path)
    loaded = load(path)  # safe_mode=True: built-in layers and ours (blocks.CUSTOM_LAYERS)
    assert steps_of(loaded) == SETTINGS.steps
    x = images(2, seed=5)
    np.testing.assert_allclose(
        numpy_of(resample(loaded, SETTINGS.steps)(x)), numpy_of(trained.sampler(x)), atol=1e-6
    )
    one = resample(loaded, 1)
    assert steps_of(one) == 1
    time = np.ones((2, 1), np.float32)
    noise = np.broadcast_to(start_noise(SIZE, 3).reshape(1, SIZE, SIZE, 3), x.shape)
    np.testing.assert_allclose(
        numpy_of(one(x)), numpy_of(loaded.get_layer(DENOISER)([noise, x, time])), atol=1e-6
    )


def test_the_paint_mask_comes_from_the_last_step(trained):
    with_mask = families.load("diffusion").with_paint_mask(trained.sampler)
    damaged = np.rint(images(2, seed=8) * 255).astype(np.uint8)
    restored, mask = restore_with(with_mask, damaged)
    np.testing.assert_array_equal(restored, restore_with(trained.sampler, damaged))
    assert mask.shape == damaged.shape[:3] and mask.dtype == np.uint8


def test_the_loss_is_the_clean_images_error_from_a_noisy_input():
    """With the denoiser's output fixed to the damaged image the loss is its MSE, whatever t."""
    trainer = build_trainer(
        "diffusion", SIZE, DiffusionSettings(filters=(8, 16), blend=True), seed=0
    )
    mask = trainer.denoiser.get_layer("paint_mask")
    kernel, bias = mask.get_weights()
    mask.set_weights([np.zeros_like(kernel), np.full_like(bias, -40.0)])  # keep every input pixel
    clean, damaged = images(seed=1), images(seed=2)
    loss = float(trainer.compute_loss(damaged, clean, None))
    assert loss == pytest.approx(float(np.mean((clean - damaged) ** 2)), rel=1e-4)


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="config key models.d.steps: must be at least 1"):
        DiffusionSettings(steps=0).check("models.d")
    with pytest.raises(ValueError, match="models.d.blend: needs models.d.input_skip: true"):
        DiffusionSettings(input_skip=False).check("models.d")


def test_the_restore_command_restores_with_a_diffusion_model(trained, tmp_path):
    trained.sampler.save(tmp_path / "restorer.keras")
    source = tmp_path / "in"
    source.mkdir()
    picture = np.rint(np.random.default_rng(0).random((40, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(picture).save(source / "photo.png")
    assert main([str(tmp_path / "restorer.keras"), str(source), str(tmp_path / "out")]) == 0
    assert np.asarray(Image.open(tmp_path / "out" / "photo.png")).shape == picture.shape
