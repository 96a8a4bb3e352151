"""prepare(): from raw folders to dataset.h5, bad files skipped and counted."""

import csv
import logging
import re

import numpy as np
import pytest
from conftest import save_pair, save_photo
from PIL import Image

from restorebench.data.damage import damage_pair
from restorebench.data.dataset import read_attrs, read_split, validate_dataset
from restorebench.data.images import load_rgb
from restorebench.data.masks import EXACT_RULE, RECOVERY_RULE, recover_masks
from restorebench.data.prepare import PrepareSettings, prepare
from restorebench.data.sources import SOURCES, Source


def settings(source, **overrides):
    values = {"source": source, "image_size": 16, "test_fraction": 0.3, "seed": 5, "min_side": 8}
    return PrepareSettings(**{**values, **overrides})


def read_skipped(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def make_bad_pairs(root):
    """Eight good pairs plus every kind of bad or odd input the issue names."""
    clean, damaged = root / "clean", root / "damaged"
    for i in range(8):
        save_pair(clean / f"good{i}.jpg", damaged / f"good{i}.png", (40, 30), i, (32, 32))
    # odd but usable: converted, not skipped
    Image.new("L", (20, 20), 90).save(clean / "grey.png")
    Image.new("RGBA", (20, 20), (1, 2, 3, 100)).save(clean / "rgba.png")
    Image.new("RGB", (20, 20), (9, 9, 9)).convert("P").save(clean / "palette.gif")
    Image.fromarray(np.full((20, 20), 40000, np.uint16)).save(clean / "deep.png")
    Image.new("RGB", (20, 20), (9, 200, 9)).convert("CMYK").save(clean / "cmyk.jpg")
    for path in clean.iterdir():  # their partners: the same pictures, as the loader sees them
        if path.stem in ("grey", "rgba", "palette", "deep", "cmyk"):
            Image.fromarray(load_rgb(path, max_pixels=10**6, min_side=1)).save(
                damaged / f"{path.stem}.png"
            )
    # bad: skipped with a reason
    (clean / "empty.jpg").write_bytes(b"")
    (clean / "text.png").write_text("not an image")
    full = save_photo(root / "full.jpg", (120, 90)).read_bytes()
    (clean / "cut.jpg").write_bytes(full[: len(full) // 2])
    Image.new("RGB", (1, 1)).save(clean / "tiny.png")
    Image.new("1", (20000, 20000)).save(clean / "bomb.png")
    for stem in ("empty", "text", "cut", "tiny", "bomb"):
        save_photo(damaged / f"{stem}.jpg", (20, 20))
    save_photo(clean / "nopartner.jpg")
    save_photo(damaged / "noclean.jpg")
    save_photo(clean / "dup.jpg")
    save_photo(clean / "dup.png")
    save_photo(damaged / "dup.jpg")
    (damaged / "baddamaged.jpg").write_text("oops")
    save_photo(clean / "baddamaged.jpg")


def test_bad_inputs_are_skipped_counted_and_listed(tmp_path):
    make_bad_pairs(tmp_path / "raw")
    out, skipped_path = tmp_path / "dataset.h5", tmp_path / "skipped.tsv"
    report = prepare(settings("pairs"), tmp_path / "raw", out, skipped_path, workers=1)
    skipped = {row["name"]: row for row in read_skipped(skipped_path)}
    assert set(skipped) == {
        "empty",
        "text",
        "cut",
        "tiny",
        "bomb",
        "nopartner",
        "noclean",
        "dup",
        "baddamaged",
    }
    assert skipped["empty"]["reason"] == "empty file (0 bytes)"
    assert skipped["text"]["reason"].startswith("not a readable image")
    assert skipped["cut"]["reason"].startswith("truncated or corrupt")
    assert skipped["tiny"]["reason"].startswith("too small")
    assert "decompression bomb" in skipped["bomb"]["reason"]
    assert skipped["baddamaged"]["file"].endswith("damaged/baddamaged.jpg")
    assert report.found == 8 + 5 + 9
    assert report.total_written == 13 and len(report.skipped) == 9
    counts = validate_dataset(out)
    assert counts["train"] + counts["test"] == 13
    attrs = read_attrs(out)
    assert (attrs["count_found"], attrs["count_written"], attrs["count_skipped"]) == (22, 13, 9)
    assert (
        attrs["source"] == "pairs"
        and attrs["image_size"] == 16
        and "h5py" in attrs["provenance"]["versions"]
    )
    names = read_split(out, "train").names + read_split(out, "test").names
    assert {"grey", "rgba", "palette", "deep", "cmyk"} <= set(names)


def test_parallel_and_serial_runs_write_the_same_images(tmp_path):
    make_bad_pairs(tmp_path / "raw")
    prepare(
        settings("pairs"), tmp_path / "raw", tmp_path / "one.h5", tmp_path / "one.tsv", workers=1
    )
    prepare(
        settings("pairs"), tmp_path / "raw", tmp_path / "two.h5", tmp_path / "two.tsv", workers=2
    )
    for split in ("train", "test"):
        one, two = read_split(tmp_path / "one.h5", split), read_split(tmp_path / "two.h5", split)
        assert one.names == two.names and np.array_equal(one.clean, two.clean)
        assert np.array_equal(one.damaged, two.damaged)
    assert read_skipped(tmp_path / "one.tsv") == read_skipped(tmp_path / "two.tsv")


def test_clean_source_synthesizes_the_damage(tmp_path):
    for i in range(6):
        save_photo(tmp_path / "raw" / f"p{i}.jpg", (40, 40), seed=i)
    prepare(
        settings("clean", test_fraction=0.5),
        tmp_path / "raw",
        tmp_path / "d.h5",
        tmp_path / "s.tsv",
    )
    train = read_split(tmp_path / "d.h5", "train")
    changed = np.any(train.clean != train.damaged, axis=-1)
    assert changed.any(axis=(1, 2)).all()  # every image got damage
    assert np.all(train.damaged[changed] >= train.clean[changed])  # blended towards white
    # The exact mask: every painted pixel, and the pixels the paint changed lie inside it.
    for name, clean, mask in zip(train.names, train.clean, train.mask):
        np.testing.assert_array_equal(mask, damage_pair(clean, 5, name)[1])
    assert not (changed & ~train.mask).any()
    assert read_attrs(tmp_path / "d.h5")["mask_rule"] == EXACT_RULE


def test_pairs_get_their_masks_recovered(tmp_path):
    """Photos damaged elsewhere: the mask is where the damaged photo is brighter."""
    clean_dir, damaged_dir = tmp_path / "raw" / "clean", tmp_path / "raw" / "damaged"
    for i in range(6):
        photo = save_photo(clean_dir / f"p{i}.png", (32, 32), seed=i)
        damaged = np.asarray(Image.open(photo)).copy()
        damaged[10:13, 4:28] = 255  # a stroke three rows wide
        damaged_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(damaged).save(damaged_dir / f"p{i}.png")
    prepare(
        settings("pairs", image_size=32), tmp_path / "raw", tmp_path / "d.h5", tmp_path / "s.tsv"
    )
    assert read_attrs(tmp_path / "d.h5")["mask_rule"] == RECOVERY_RULE
    for split in ("train", "test"):
        loaded = read_split(tmp_path / "d.h5", split)
        np.testing.assert_array_equal(loaded.mask, recover_masks(loaded.clean, loaded.damaged))
        stroke = np.zeros((32, 32), bool)
        stroke[10:13, 4:28] = True  # lossless files, photos darker than the paint: exact
        assert (loaded.mask == stroke).all()


def test_demo_source_needs_no_files(tmp_path):
    report = prepare(settings("demo", demo_images=20), None, tmp_path / "d.h5", tmp_path / "s.tsv")
    assert report.found == 20 and report.total_written == 20 and not report.skipped
    assert read_skipped(tmp_path / "s.tsv") == []


@pytest.mark.parametrize("count, fraction", [(60, 0.1), (20, 0.3), (4, 0.01), (4, 0.99)])
def test_the_demo_keeps_each_photo_on_one_side(tmp_path, count, fraction):
    """Test crops never come from a photo the models train on, and neither side is empty."""
    path = tmp_path / "d.h5"
    prepare(
        settings("demo", demo_images=count, test_fraction=fraction), None, path, tmp_path / "s.tsv"
    )
    photo = {
        split: {name.split("_", 2)[2] for name in read_split(path, split).names}
        for split in ("train", "test")
    }
    assert photo["train"] and photo["test"] and not photo["train"] & photo["test"]
    assert ", ".join(sorted(photo["test"])) in read_attrs(path)["split_rule"]


def test_all_files_bad_stops_with_a_clear_error(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="no usable image pairs"):
        prepare(settings("clean"), tmp_path / "raw", tmp_path / "d.h5", tmp_path / "s.tsv")
    assert not (tmp_path / "d.h5").exists()


def test_humanface8000_refuses_center_crop():
    with pytest.raises(ValueError, match="dataset.fit: humanface8000 needs 'stretch'"):
        PrepareSettings.from_config(
            {
                "source": "humanface8000",
                "image_size": 64,
                "test_fraction": 0.1,
                "seed": 1,
                "fit": "center_crop",
            }
        )


def test_a_tiny_test_split_is_warned_about_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="restorebench.data.prepare")
    prepare(
        settings("demo", demo_images=20, test_fraction=0.1),
        None,
        tmp_path / "d.h5",
        tmp_path / "s.tsv",
    )
    warnings = [r.getMessage() for r in caplog.records if "test images" in r.getMessage()]
    assert len(warnings) == 1 and "scores and their intervals will say little" in warnings[0]


def painted_pairs(root, swapped=False, painted=True):
    """Six pairs with a white stroke on the damaged side, or on the clean side (swapped)."""
    for i in range(6):
        photo = save_photo(root / "clean" / f"p{i}.png", (32, 32), seed=i)
        pixels = np.asarray(Image.open(photo)).copy()
        if painted:
            pixels[10:13, 4:28] = 255
        (root / "damaged").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / "damaged" / f"p{i}.png")
    if swapped:
        (root / "clean").rename(root / "was_clean")
        (root / "damaged").rename(root / "clean")
        (root / "was_clean").rename(root / "damaged")


@pytest.mark.parametrize(
    "swapped, painted, message, reversed_and_undamaged",
    [
        (True, True, "6 of the 6 pairs are brighter on the clean side.*folders swapped", (6, 6)),
        (False, False, "6 of the 6 pairs have no damaged pixel.*copying their input", (0, 6)),
    ],
)
def test_pairs_that_are_no_restoration_task_are_warned_about(
    tmp_path, caplog, swapped, painted, message, reversed_and_undamaged
):
    caplog.set_level(logging.WARNING, logger="restorebench.data.prepare")
    painted_pairs(tmp_path / "raw", swapped, painted)
    prepare(
        settings("pairs", image_size=32), tmp_path / "raw", tmp_path / "d.h5", tmp_path / "s.tsv"
    )
    warnings = [r.getMessage() for r in caplog.records]
    assert any(re.search(message, warning) for warning in warnings), warnings
    attrs = read_attrs(tmp_path / "d.h5")
    assert (attrs["reversed_pairs"], attrs["undamaged_pairs"]) == reversed_and_undamaged


def test_genuine_pairs_raise_no_task_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="restorebench.data.prepare")
    painted_pairs(tmp_path / "raw")
    prepare(
        settings("pairs", image_size=32), tmp_path / "raw", tmp_path / "d.h5", tmp_path / "s.tsv"
    )
    assert not [r for r in caplog.records if "pairs" in r.getMessage()]
    attrs = read_attrs(tmp_path / "d.h5")
    assert (attrs["reversed_pairs"], attrs["undamaged_pairs"]) == (0, 0)


def test_a_new_source_kind_is_one_registry_entry(tmp_path, monkeypatch):
    """Registered in ``SOURCES`` alone, a kind reaches prepare: its folders, its damage drawn
    and its masks exact, its fit rule, the source named in the provenance."""
    folder = tmp_path / "scans"
    for i in range(12):
        save_photo(folder / f"scan{i}.png", (40, 40), seed=i)
    scans = Source(
        "scans",
        synthesizes=True,
        folders=lambda path: [path],
        fit="center_crop",
        fit_reason="scans are square",
    )
    monkeypatch.setitem(SOURCES, "scans", scans)
    with pytest.raises(ValueError, match=r"dataset.fit: scans needs 'center_crop' \(scans are"):
        PrepareSettings.from_config({**settings("scans").__dict__, "damage": {}, "fit": "stretch"})
    chosen = PrepareSettings.from_config(
        {**settings("scans").__dict__, "damage": {}, "fit": "center_crop"}
    )
    report = prepare(chosen, folder, tmp_path / "d.h5", tmp_path / "skipped.tsv")
    assert report.total_written == 12 and report.skipped == []
    attrs = read_attrs(tmp_path / "d.h5")
    assert attrs["source"] == "scans" and attrs["mask_rule"] == EXACT_RULE
    train = read_split(tmp_path / "d.h5", "train")
    assert train.mask.any() and (train.damaged[train.mask] >= train.clean[train.mask]).all()
