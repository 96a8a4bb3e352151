"""Real snakemake runs of the data stage for each source kind, and config validation."""

import csv

import pytest
from conftest import REPO, SNAKEMAKE, run_snakemake, save_pair, save_photo, write_config

from restorebench.data.dataset import read_attrs, validate_dataset

pytestmark = pytest.mark.workflow
TINY = {"image_size": 16, "min_side": 8, "test_fraction": 0.25, "demo_images": 16}


def prepare_run(workdir, dataset, run="t", check=True):
    write_config(workdir, {"run": run, "dataset": {**TINY, **dataset}})
    return run_snakemake(workdir, "--cores", "2", f"results/{run}/dataset.h5", check=check)


def reconciles(workdir, run="t"):
    attrs = read_attrs(workdir / f"results/{run}/dataset.h5")
    with open(workdir / f"results/{run}/skipped.tsv") as handle:
        skipped = list(csv.DictReader(handle, delimiter="\t"))
    assert attrs["count_found"] == attrs["count_written"] + len(skipped)
    assert attrs["count_written"] == sum(
        validate_dataset(workdir / f"results/{run}/dataset.h5").values()
    )
    return attrs, skipped


def test_demo_source(tmp_path):
    prepare_run(tmp_path, {"source": "demo"})
    attrs, skipped = reconciles(tmp_path)
    assert attrs["count_written"] == 16 and skipped == []
    log = (tmp_path / "results/t/logs/prepare.log").read_text()
    assert "16 found = 16 written + 0 skipped" in log
    assert (tmp_path / "results/t/benchmarks/prepare.tsv").exists()


def test_pairs_source_with_bad_files(tmp_path):
    raw = tmp_path / "raw"
    for i in range(6):
        save_pair(raw / "clean" / f"p{i}.jpg", raw / "damaged" / f"p{i}.png", seed=i)
    (raw / "clean" / "broken.jpg").write_text("nope")
    save_photo(raw / "damaged" / "broken.jpg")
    save_photo(raw / "clean" / "orphan.jpg")
    prepare_run(tmp_path, {"source": "pairs", "path": str(raw)})
    attrs, skipped = reconciles(tmp_path)
    assert attrs["count_written"] == 6
    assert {row["name"] for row in skipped} == {"broken", "orphan"}


def test_clean_source(tmp_path):
    for i in range(8):
        save_photo(tmp_path / "photos" / f"c{i}.jpg", (50, 40), seed=i)
    prepare_run(tmp_path, {"source": "clean", "path": str(tmp_path / "photos")})
    attrs, _ = reconciles(tmp_path)
    assert attrs["source"] == "clean" and attrs["count_written"] == 8


def test_humanface8000_source_from_a_folder(tmp_path):
    root = tmp_path / "kaggle" / "landscape Images"
    for i in range(5):
        save_pair(
            root / "color" / f"{10000 + i}.jpg",
            root / "gray" / f"{10000 + i}.jpg",
            (50, 36),
            i,
            (64, 64),
        )
    prepare_run(tmp_path, {"source": "humanface8000", "path": str(tmp_path / "kaggle")})
    attrs, _ = reconciles(tmp_path)
    assert attrs["count_written"] == 5


def test_humanface8000_download_without_credentials_says_how(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for key in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(key, raising=False)
    result = prepare_run(tmp_path, {"source": "humanface8000", "path": None}, check=False)
    assert result.returncode != 0
    log = (tmp_path / "logs/download_humanface8000.log").read_text()
    assert "Kaggle credentials not found" in log and "kaggle.json" in log


def test_adding_a_raw_image_replans_prepare(tmp_path):
    for i in range(4):
        save_photo(tmp_path / "photos" / f"c{i}.jpg", seed=i)
    prepare_run(tmp_path, {"source": "clean", "path": str(tmp_path / "photos")})
    dry = run_snakemake(tmp_path, "-n", "results/t/dataset.h5")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    save_photo(tmp_path / "photos" / "c9.jpg", seed=9)
    dry = run_snakemake(tmp_path, "-n", "results/t/dataset.h5")
    assert "prepare" in dry.stdout


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"dataset": {"source": "scans"}}, "scans"),
        ({"dataset": {"image_size": "big"}}, "image_size"),
        ({"dataset": {"test_fraction": 1.5}}, "test_fraction"),
        ({"dataset": {"colour": True}}, "colour"),
        ({"runs": "x"}, "runs"),
        (
            {"dataset": {"source": "clean", "path": "/no/such/folder"}},
            "dataset.path: clean folder not found: /no/such/folder",
        ),
        (
            {"dataset": {"source": "pairs", "path": None}},
            "dataset.path: source 'pairs' needs a folder",
        ),
        (
            {"dataset": {"source": "humanface8000", "fit": "center_crop"}},
            "dataset.fit: humanface8000 needs 'stretch'",
        ),
    ],
)
def test_bad_config_stops_before_any_work(tmp_path, overrides, message):
    write_config(tmp_path, overrides)
    result = run_snakemake(tmp_path, "--cores", "1", "-n", check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_lint_is_clean():
    import subprocess

    result = subprocess.run(
        [*SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_faces_dev_photos_at_256_px_reconcile(tmp_path, needs_faces_dev):
    write_config(
        tmp_path,
        {
            "run": "faces",
            "dataset": {
                "source": "clean",
                "path": str(needs_faces_dev),
                "image_size": 256,
                "fit": "center_crop",
            },
        },
    )
    run_snakemake(tmp_path, "--cores", "2", "results/faces/dataset.h5")
    attrs, skipped = reconciles(tmp_path, run="faces")
    assert attrs["count_found"] == len(list(needs_faces_dev.iterdir())) == 1000
    assert attrs["count_written"] + len(skipped) == 1000
    assert validate_dataset(tmp_path / "results/faces/dataset.h5")["test"] > 50
