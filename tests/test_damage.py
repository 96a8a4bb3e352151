"""The synthetic damage: deterministic, opaque white, and within a stated density range."""

import numpy as np
import pytest

from restorebench.data.damage import DamageSettings, apply_damage, damage_coverage, damage_mask

# Stated range of the painted share of an image (mean coverage) with the default settings.
MIN_FRACTION, MAX_FRACTION = 0.01, 0.30


def test_same_seed_and_name_give_the_same_damage():
    assert np.array_equal(damage_mask(64, 7, "face1"), damage_mask(64, 7, "face1"))


def test_other_name_or_seed_gives_other_damage():
    assert not np.array_equal(damage_mask(64, 7, "face1"), damage_mask(64, 7, "face2"))
    assert not np.array_equal(damage_mask(64, 7, "face1"), damage_mask(64, 8, "face1"))


@pytest.mark.parametrize("size", [32, 64, 256])
def test_damaged_fraction_stays_in_the_stated_range(size):
    fractions = np.array([damage_coverage(size, 123, f"img{i}").mean() for i in range(300)])
    assert fractions.min() >= MIN_FRACTION
    assert fractions.max() <= MAX_FRACTION
    assert 0.05 < np.median(fractions) < 0.12  # a few strokes to dozens, like humanface8000
    assert fractions.std() > 0.01  # density varies between images


def test_damage_blends_towards_white_by_coverage_and_leaves_the_rest():
    clean = np.full((128, 128, 3), 40, np.uint8)
    damaged = apply_damage(clean, 1, "x")
    coverage = damage_coverage(128, 1, "x")
    assert np.array_equal(damaged[coverage == 0], clean[coverage == 0])
    assert np.all(damaged[coverage == 1] == 255)  # stroke cores are opaque white
    partial = (coverage > 0) & (coverage < 1)
    assert partial.any()  # anti-aliased edges
    expected = np.rint(40 + (255 - 40) * coverage[partial])
    assert np.array_equal(damaged[partial][:, 0], expected.astype(np.uint8))


def test_without_antialiasing_the_paint_is_binary_white():
    clean = np.full((64, 64, 3), 40, np.uint8)
    binary = DamageSettings(antialias=False)
    damaged = apply_damage(clean, 1, "x", binary)
    changed = np.any(damaged != clean, axis=-1)
    assert changed.any() and np.all(damaged[changed] == 255)
    assert np.array_equal(changed, damage_mask(64, 1, "x", binary))


def test_more_strokes_mean_more_damage():
    light = DamageSettings(strokes=(1, 1), blobs=(0, 0))
    heavy = DamageSettings(strokes=(40, 40), blobs=(0, 0))
    names = [f"n{i}" for i in range(20)]
    assert np.mean([damage_mask(64, 0, n, light).mean() for n in names]) * 5 < np.mean(
        [damage_mask(64, 0, n, heavy).mean() for n in names]
    )


def test_non_square_input_is_refused():
    with pytest.raises(ValueError, match="square"):
        apply_damage(np.zeros((8, 9, 3), np.uint8), 0, "x")
