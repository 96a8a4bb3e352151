"""restore_images: the uint8 contract on both sides, batching, and refusals."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from restorebench.models.blocks import with_given_mask
from restorebench.models.families.gan import build_generator
from restorebench.models.head import Head
from restorebench.restore.inference import restore_images, restore_with

SIZE = 16


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "restorer.keras"
    build_generator(SIZE, [8, 16], seed=5).save(path)
    return path


def damaged(count, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)


def test_restores_uint8_images_the_same_whatever_the_batch(generator_file):
    images = damaged(7)
    whole = restore_images(generator_file, images)
    assert whole.dtype == np.uint8 and whole.shape == images.shape
    np.testing.assert_array_equal(restore_images(generator_file, images, batch_size=3), whole)
    np.testing.assert_array_equal(restore_images(generator_file, images[4:5]), whole[4:5])


def test_output_is_the_model_output_rounded_to_uint8(generator_file):
    images = damaged(2, seed=1)
    model = keras.saving.load_model(generator_file)
    expected = keras.ops.convert_to_numpy(model(images.astype(np.float32) / 255, training=False))
    np.testing.assert_array_equal(
        restore_images(generator_file, images), np.rint(expected * 255).astype(np.uint8)
    )


def test_refuses_wrong_images_with_the_reason(generator_file):
    with pytest.raises(ValueError, match="uint8"):
        restore_images(generator_file, damaged(2).astype(np.float32))
    with pytest.raises(ValueError, match=r"takes images of shape \(16, 16, 3\), got \(32, 32, 3\)"):
        restore_images(generator_file, np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        restore_images(generator_file.parent / "missing.keras", damaged(1))


def test_a_model_that_would_run_arbitrary_code_is_refused(tmp_path):
    inputs = keras.Input((SIZE, SIZE, 3))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, keras.layers.Lambda(lambda x: 1 - x)(inputs)).save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        restore_images(path, damaged(1))


def test_a_restorer_with_our_layers_loads_in_a_process_that_built_none(tmp_path):
    """``inference.load`` names our weightless layers itself: a fresh process that imports
    only it (as the predict rule and restorebench-restore do) restores the same pixels."""
    generator = build_generator(
        16, [8, 16], 0.0, Head(input_skip=True, blend=True, fill_prior=True), seed=3
    )
    path = tmp_path / "restorer.keras"
    generator.save(path)
    damaged = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "damaged.npy", damaged)
    code = (
        "import sys, numpy as np; from restorebench.restore.inference import restore_images; "
        "np.save(sys.argv[2], restore_images(sys.argv[1], np.load(sys.argv[3])))"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(path),
            str(tmp_path / "out.npy"),
            str(tmp_path / "damaged.npy"),
        ],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), restore_images(path, damaged))


def test_a_given_mask_goes_in_batch_by_batch_beside_its_images():
    """``masks`` feed a given-mask model's second input, batch for batch with the images."""
    generator = build_generator(SIZE, [8, 16], 0.0, Head(input_skip=True, blend=True), seed=3)
    given = with_given_mask(generator)
    images = damaged(5, seed=4)
    masks = np.zeros((5, SIZE, SIZE), np.uint8)
    masks[:, 3:9, 2:6] = 1
    filled = restore_with(given, images, batch_size=2, masks=masks)
    inputs = [images.astype(np.float32) / 255, masks[..., None].astype(np.float32)]
    want = np.rint(keras.ops.convert_to_numpy(given(inputs)) * 255).astype(np.uint8)
    np.testing.assert_allclose(filled, want, atol=1)  # x/255 vs x*(1/255): one level at most
    np.testing.assert_array_equal(filled[masks == 0], images[masks == 0])
    with pytest.raises(ValueError, match=r"masks \(5, 8, 8\) do not match the images"):
        restore_with(given, images, masks=masks[:, :8, :8])
