"""The classical baseline restores white scribbles and leaves the rest alone; predictions files."""

import h5py
import numpy as np
import pytest

from restorebench.data.damage import DamageSettings, apply_damage, damage_pair
from restorebench.restore.baselines import damage_mask, fill_images, inpaint_image, inpaint_images
from restorebench.restore.predictions import read_predictions, write_predictions


def smooth_image(size: int = 32, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with a little texture, never near-white."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([60 + 120 * x, 40 + 100 * y, 90 + 60 * x * y], axis=-1)
    return np.clip(base + rng.normal(0, 2, base.shape), 0, 230).astype(np.uint8)


def test_mask_finds_opaque_white_paint_only():
    clean = smooth_image()
    damaged = apply_damage(clean, seed=1, name="a", settings=DamageSettings(antialias=False))
    painted = (damaged != clean).any(axis=-1)
    assert painted.any()
    np.testing.assert_array_equal(
        damage_mask(damaged, threshold=250, contrast=0, dilation=0), painted
    )


def test_top_hat_finds_faint_thin_lines():
    image = np.full((64, 64, 3), 80, np.uint8)
    image[20, 5:60] = 140  # a faint one-pixel line, far below any white threshold
    mask = damage_mask(image, threshold=250, contrast=32)
    assert mask[20, 5:60].all() and mask.sum() == 55
    assert not damage_mask(image, threshold=250, contrast=0).any()


def test_mask_threshold_and_dilation():
    image = np.zeros((9, 9, 3), np.uint8)
    image[4, 4] = 252
    image[0, 0] = (255, 255, 200)  # bright, but not white in every channel
    assert damage_mask(image, threshold=250, contrast=0).sum() == 1
    assert damage_mask(image, threshold=253, contrast=0).sum() == 0
    assert (
        damage_mask(image, threshold=250, contrast=0, dilation=1).sum() == 9
    )  # a 3x3 block around the dot
    with pytest.raises(ValueError, match="threshold"):
        damage_mask(image, threshold=300)
    with pytest.raises(ValueError, match="dilation"):
        damage_mask(image, dilation=-1)
    with pytest.raises(ValueError, match="contrast"):
        damage_mask(image, contrast=-1)


def test_inpaint_removes_most_of_the_damage_and_keeps_the_rest():
    clean = smooth_image(48)
    damaged = apply_damage(clean, seed=3, name="b")
    restored = inpaint_image(damaged)
    mask = damage_mask(damaged)
    np.testing.assert_array_equal(restored[~mask], damaged[~mask])  # undamaged pixels untouched
    before = np.mean((damaged.astype(float) - clean) ** 2)
    after = np.mean((restored.astype(float) - clean) ** 2)
    assert after < before / 20, (before, after)
    assert restored.dtype == np.uint8


def test_undamaged_and_all_white_images_come_back_unchanged():
    clean = smooth_image()
    np.testing.assert_array_equal(inpaint_image(clean), clean)
    white = np.full((16, 16, 3), 255, np.uint8)
    np.testing.assert_array_equal(inpaint_image(white), white)


def test_inpaint_images_on_threads_matches_one_by_one_and_returns_what_it_detected():
    stack = np.stack([apply_damage(smooth_image(24, s), seed=s, name=str(s)) for s in range(4)])
    together, masks = inpaint_images(stack, workers=2)
    np.testing.assert_array_equal(together, np.stack([inpaint_image(image) for image in stack]))
    np.testing.assert_array_equal(masks, np.stack([damage_mask(image) for image in stack]))
    restored, masks = inpaint_images(stack[:0])
    assert restored.shape == (0, 24, 24, 3) and masks.shape == (0, 24, 24)


def test_the_oracle_fills_exactly_the_mask_it_is_given():
    clean = smooth_image(32, 5)
    damaged, mask = damage_pair(clean, seed=5, name="five")
    filled = fill_images(damaged[None], mask[None], workers=1)[0]
    np.testing.assert_array_equal(filled[~mask], damaged[~mask])  # intact pixels untouched
    error = np.abs(filled.astype(int) - clean.astype(int))[mask].mean()
    assert error < np.abs(damaged.astype(int) - clean.astype(int))[mask].mean() / 3


def test_predictions_round_trip_one_image_per_chunk(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    path = tmp_path / "predictions" / "inpaint.h5"
    write_predictions(path, images, ["x", "y", "zé"], "inpaint")
    loaded = read_predictions(path)
    np.testing.assert_array_equal(loaded.images, images)
    assert loaded.names == ["x", "y", "zé"]
    assert loaded.model == "inpaint"
    with h5py.File(path) as file:
        assert file["images"].chunks == (1, 16, 16, 3)
        assert file["images"].compression == "gzip"


def test_predictions_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_predictions(tmp_path / "p.h5", np.zeros((2, 8, 8, 3), np.float32), ["a", "b"], "vae")
    with pytest.raises(ValueError, match="2 images but 1 names"):
        write_predictions(tmp_path / "p.h5", np.zeros((2, 8, 8, 3), np.uint8), ["a"], "vae")
    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as file:
        file["images"] = np.zeros((1, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"broken\.h5: missing dataset 'names'"):
        read_predictions(path)
