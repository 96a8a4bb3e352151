"""Pairing raw folders: every file is either a pair or a skip with a reason."""

import os

import pytest
import yaml
from conftest import REPO, save_photo

from restorebench.data.sources import SOURCES, discover, source


def make_pairs(root, stems, damaged_suffix=".png"):
    for i, stem in enumerate(stems):
        save_photo(root / "clean" / f"{stem}.jpg", seed=i)
        save_photo(root / "damaged" / f"{stem}{damaged_suffix}", seed=i)


def test_pairs_match_by_stem_across_formats(tmp_path):
    make_pairs(tmp_path, ["a", "b"])
    found = discover("pairs", tmp_path)
    assert [(p.name, p.clean.name, p.damaged.name) for p in found.pairs] == [
        ("a", "a.jpg", "a.png"),
        ("b", "b.jpg", "b.png"),
    ]
    assert found.skipped == [] and found.found == 2


def test_unpaired_duplicate_and_foreign_files_are_skipped_with_reasons(tmp_path):
    make_pairs(tmp_path, ["ok"])
    save_photo(tmp_path / "clean" / "lonely_clean.jpg")
    save_photo(tmp_path / "damaged" / "lonely_damaged.jpg")
    save_photo(tmp_path / "clean" / "twin.jpg")
    save_photo(tmp_path / "clean" / "twin.png")
    save_photo(tmp_path / "damaged" / "twin.jpg")
    (tmp_path / "clean" / "notes.txt").write_text("hello")
    (tmp_path / "clean" / ".DS_Store").write_bytes(b"\0")
    found = discover("pairs", tmp_path)
    reasons = {skip.name: skip.reason for skip in found.skipped}
    assert [p.name for p in found.pairs] == ["ok"]
    assert reasons["lonely_clean"].startswith("no damaged partner")
    assert reasons["lonely_damaged"].startswith("no clean partner")
    assert reasons["twin"] == "duplicate stem: twin.jpg, twin.png"
    assert reasons["notes"] == "unsupported file type '.txt'"
    assert found.found == 5  # the hidden file is not data


def test_clean_source_has_no_damaged_partner(tmp_path):
    save_photo(tmp_path / "p1.jpg")
    found = discover("clean", tmp_path)
    assert [(p.name, p.damaged) for p in found.pairs] == [("p1", None)]


def test_humanface8000_layout(tmp_path):
    root = tmp_path / "landscape Images"
    save_photo(root / "color" / "10002.jpg", (50, 36))
    save_photo(root / "gray" / "10002.jpg", (64, 64))
    for path in (tmp_path, root):  # the parent or the folder itself
        found = discover("humanface8000", path)
        assert [p.name for p in found.pairs] == ["10002"]
        assert found.pairs[0].damaged.parent.name == "gray"


def test_missing_and_empty_folders_stop_with_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="clean folder not found: .*nowhere"):
        SOURCES["clean"].raw_folders(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no files: .*empty"):
        SOURCES["clean"].raw_folders(tmp_path / "empty")
    (tmp_path / "clean").mkdir()
    save_photo(tmp_path / "clean" / "a.jpg")
    with pytest.raises(FileNotFoundError, match="damaged folder not found"):
        SOURCES["pairs"].raw_folders(tmp_path)
    with pytest.raises(FileNotFoundError, match="'landscape Images' not found"):
        SOURCES["humanface8000"].raw_folders(tmp_path)
    with pytest.raises(ValueError, match="source 'pairs' needs a folder"):
        SOURCES["pairs"].raw_folders(None)
    assert SOURCES["humanface8000"].raw_folders(None) == []  # the workflow downloads it first
    assert SOURCES["demo"].raw_folders(None) == []  # built in


def test_an_unknown_source_is_refused_with_the_choices():
    with pytest.raises(
        ValueError, match="dataset.source: 'scans' is not one of demo, humanface8000"
    ):
        source("scans")


def test_a_fifo_is_skipped_unopened_and_its_partner_says_why(tmp_path):
    """Opening a FIFO blocks until a writer comes, so it is named, never read."""
    make_pairs(tmp_path, ["ok", "pipe"])
    fifo = tmp_path / "damaged" / "pipe.png"
    fifo.unlink()
    os.mkfifo(fifo)
    os.mkfifo(tmp_path / "clean" / "lonely.jpg")
    (tmp_path / "clean" / "null.jpg").symlink_to(os.devnull)  # a link to a device
    found = discover("pairs", tmp_path)
    assert [p.name for p in found.pairs] == ["ok"]
    reasons = {skip.file: skip.reason for skip in found.skipped}
    special = "not a regular file (a FIFO, socket or device)"
    assert reasons == {
        str(fifo): special,
        str(tmp_path / "clean" / "pipe.jpg"): f"its partner is {special}: {fifo}",
        str(tmp_path / "clean" / "lonely.jpg"): special,
        str(tmp_path / "clean" / "null.jpg"): special,
    }


def test_the_schema_offers_exactly_the_registered_sources():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["dataset"]["properties"]["source"]["enum"] == list(SOURCES)
