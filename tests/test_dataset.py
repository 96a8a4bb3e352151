"""The dataset.h5 contract and the stable split."""

import h5py
import numpy as np
import pytest

from restorebench.data.dataset import (
    is_test,
    read_attrs,
    read_mask,
    read_split,
    validate_dataset,
    write_dataset,
)
from restorebench.data.masks import recover_masks


def arrays(n, size=16, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return {"clean": clean, "damaged": 255 - clean, "names": [f"img{i}" for i in range(n)]}


def test_written_dataset_follows_the_contract(tmp_path):
    path = tmp_path / "d.h5"
    train, test = arrays(5), arrays(2, seed=1)
    write_dataset(path, {"train": train, "test": test}, {"source": "unit", "counts": {"a": 1}})
    assert validate_dataset(path) == {"train": 5, "test": 2}
    with h5py.File(path) as file:
        clean = file["train/clean"]
        assert clean.dtype == np.uint8 and clean.shape == (5, 16, 16, 3)
        assert clean.chunks == (1, 16, 16, 3)
        assert clean.compression == "gzip"
    loaded = read_split(path, "test")
    assert np.array_equal(loaded.clean, test["clean"]) and np.array_equal(
        loaded.damaged, test["damaged"]
    )
    assert loaded.names == ["img0", "img1"]
    attrs = read_attrs(path)
    assert attrs["source"] == "unit" and attrs["counts"] == {"a": 1} and attrs["image_size"] == 16


def test_validate_names_the_missing_part(tmp_path):
    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as file:
        file.create_group("train")
    with pytest.raises(ValueError, match="missing dataset 'train/clean'"):
        validate_dataset(path)


def test_validate_refuses_wrong_dtype(tmp_path):
    path = tmp_path / "float.h5"
    with h5py.File(path, "w") as file:
        for split in ("train", "test"):
            file[f"{split}/clean"] = np.zeros((1, 4, 4, 3), np.float32)
            file[f"{split}/damaged"] = np.zeros((1, 4, 4, 3), np.float32)
            file[f"{split}/names"] = ["a"]
    with pytest.raises(ValueError, match="must be uint8"):
        validate_dataset(path)


def test_split_is_stable_when_images_are_added():
    names = [f"{i:05d}.jpg" for i in range(2000)]
    before = {name: is_test(name, 123, 0.1) for name in names}
    more = names + [f"new{i}" for i in range(500)]
    after = {name: is_test(name, 123, 0.1) for name in more}
    assert all(before[name] == after[name] for name in names)
    assert 0.08 < np.mean(list(before.values())) < 0.12


def test_split_depends_on_the_seed():
    names = [str(i) for i in range(500)]
    assert [is_test(n, 1, 0.5) for n in names] != [is_test(n, 2, 0.5) for n in names]


def test_masks_are_stored_per_image_and_read_back(tmp_path):
    path = tmp_path / "d.h5"
    test = arrays(3, seed=2)
    test["mask"] = np.random.default_rng(3).random((3, 16, 16)) < 0.1
    write_dataset(path, {"train": arrays(2), "test": test})
    with h5py.File(path) as file:
        mask = file["test/mask"]
        assert mask.dtype == np.uint8 and mask.shape == (3, 16, 16) and mask.chunks == (1, 16, 16)
    loaded = read_split(path, "test")
    np.testing.assert_array_equal(loaded.mask, test["mask"])
    np.testing.assert_array_equal(read_mask(path, "test", 1), test["mask"][1])
    assert read_split(path, "train", masks=False).mask is None
    assert read_attrs(path)["mask_rule"].startswith("exact")


def test_a_dataset_from_before_masks_gets_them_recovered_from_its_pairs(tmp_path):
    path = tmp_path / "old.h5"
    test = arrays(2, seed=4)
    test["damaged"] = test["clean"].copy()
    test["damaged"][:, 3, 2:9] = 255  # a white stroke on each image
    write_dataset(path, {"train": arrays(2), "test": test})
    with h5py.File(path, "a") as file:  # as written before masks existed
        for split in ("train", "test"):
            del file[f"{split}/mask"]
    assert validate_dataset(path) == {"train": 2, "test": 2}
    loaded = read_split(path, "test")
    expected = recover_masks(test["clean"], test["damaged"])
    np.testing.assert_array_equal(loaded.mask, expected)
    np.testing.assert_array_equal(read_mask(path, "test", 0), expected[0])
    assert expected[:, 3, 2:9].all()


def test_validate_refuses_a_mask_of_another_shape(tmp_path):
    path = tmp_path / "d.h5"
    write_dataset(path, {"train": arrays(2), "test": arrays(2)})
    with h5py.File(path, "a") as file:
        del file["test/mask"]
        file["test/mask"] = np.zeros((2, 8, 8), np.uint8)
    with pytest.raises(ValueError, match=r"'test/mask' must be \(N, H, W\)"):
        validate_dataset(path)
