"""The viewer's file layer (no Qt): the synthetic run, lazy reading, validation, conditions."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from skimage.metrics import (
    mean_squared_error,
    normalized_root_mse,
    peak_signal_noise_ratio,
    structural_similarity,
)
from viewer_fixtures import (
    N_TEST,
    NEWER_SCORES,
    SIZE,
    as_older_run,
    as_shown,
    read_mask_score,
    read_metric,
    small_run,
)

from bench.fakerun import make_fake_run
from restorebench import contract
from restorebench.data.dataset import read_split, validate_dataset
from restorebench.runtime import provenance
from viewer.conditions import evaluate
from viewer.runfiles import Run, RunError
from viewer.scores import valid


@pytest.fixture
def fake_run(tmp_path):
    return small_run(tmp_path)


def test_fake_run_follows_the_contracts(fake_run):
    assert validate_dataset(fake_run / "dataset.h5") == {"train": 0, "test": N_TEST}
    test = read_split(fake_run / "dataset.h5", "test")
    for model in ("vae", "gan", "inpaint", "damaged"):
        with h5py.File(fake_run / "predictions" / f"{model}.h5") as file:
            images = file["images"]
            assert images.dtype == np.uint8 and images.shape == (N_TEST, SIZE, SIZE, 3)
            assert images.chunks == (1, SIZE, SIZE, 3) and images.compression == "gzip"
            assert list(file["names"].asstr()[()]) == test.names and file.attrs["model"] == model
            predicted = images[()]
        with open(fake_run / "metrics" / f"{model}.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [r["name"] for r in rows] == test.names
        # The stored scores are what skimage says about the stored pixels.
        for row, clean, image in zip(rows, test.clean, predicted):
            assert float(row["mse"]) == pytest.approx(mean_squared_error(clean, image))
            assert float(row["nrmse"]) == pytest.approx(normalized_root_mse(clean, image))
            assert float(row["psnr"]) == pytest.approx(
                peak_signal_noise_ratio(clean, image, data_range=255)
            )
            ssim = structural_similarity(clean, image, data_range=255, channel_axis=-1)
            assert float(row["ssim"]) == pytest.approx(ssim, abs=1e-9)
        if model == "damaged":
            assert np.array_equal(predicted, test.damaged)
    with open(fake_run / "summary.csv", newline="") as handle:
        summary = {(r["model"], r["metric"]): r for r in csv.DictReader(handle)}
    assert float(summary["gan", "ssim"]["mean"]) == pytest.approx(
        read_metric(fake_run, "gan", "ssim").mean()
    )
    assert int(summary["gan", "ssim"]["n"]) == N_TEST


def test_run_reads_single_images_lazily(fake_run):
    test = read_split(fake_run / "dataset.h5", "test")
    with Run(fake_run) as run:
        assert run.names == test.names and run.problems == []
        assert np.array_equal(run.image("clean", 5), test.clean[5])
        assert np.array_equal(run.image("damaged", 5), test.damaged[5])
        # (Same locking flag as the viewer: HDF5 refuses mixed flags on one file in a process.)
        with h5py.File(fake_run / "predictions" / "gan.h5", "r", locking=False) as file:
            assert np.array_equal(run.image("gan", 5), file["images"][5])
        assert run.image_models() == ["vae", "gan", "inpaint"]
        # Trained models in summary.csv's order, then the baselines in the contract's order.
        assert run.score_models() == ["vae", "gan", "damaged", "inpaint"]
        assert np.array_equal(
            run.models["vae"].scores["psnr"], read_metric(fake_run, "vae", "psnr")
        )
        # Image arrays stay on disk: the run holds h5py datasets, not loaded arrays.
        assert isinstance(run.models["vae"].images, h5py.Dataset)


def vanished(model: str) -> str:
    return (
        f"model '{model}': summary.csv lists it, but predictions/{model}.h5 and "
        f"metrics/{model}.csv are missing, so only its means from summary.csv are shown; "
        "run snakemake again to restore and score it"
    )


def test_a_model_the_summary_lists_but_whose_files_are_gone_is_named(fake_run):
    """Its means alone would stay on screen, its panel and columns gone without a word."""
    for model in ("gan", "inpaint"):  # a trained model and a baseline
        (fake_run / "predictions" / f"{model}.h5").unlink()
        (fake_run / "metrics" / f"{model}.csv").unlink()
    with Run(fake_run) as run:
        assert "gan" not in run.models and "inpaint" not in run.image_models()
        assert run.problems == [vanished("gan"), vanished("inpaint")]
        assert "gan" in {row.model for row in run.summary}  # the means it names
    (fake_run / "models" / "gan").mkdir(parents=True)  # its folder left: a panel, still named
    with Run(fake_run) as run:
        assert "gan" in run.image_models() and vanished("gan") in run.problems
    (fake_run / "summary.csv").unlink()  # nothing lists them any more: nothing to explain
    with Run(fake_run) as run:
        assert run.problems == []


def test_a_model_with_one_file_left_is_not_named_as_gone(fake_run):
    (fake_run / "predictions" / "gan.h5").unlink()
    with Run(fake_run) as run:
        assert run.problems == [] and run.models["gan"].scores is not None
        assert run.models["gan"].missing == ["predictions/gan.h5 missing"]


def test_missing_model_is_not_available_without_error(fake_run):
    (fake_run / "predictions" / "gan.h5").unlink()
    (fake_run / "metrics" / "gan.csv").unlink()
    (fake_run / "summary.csv").unlink()
    with Run(fake_run) as run:
        assert "gan" not in run.models  # no trace of it left: not a model of this run
        assert run.problems == []
    (fake_run / "models" / "gan").mkdir(parents=True)  # trained, not yet predicted
    with Run(fake_run) as run:
        assert run.problems == []
        assert run.image("gan", 0) is None and run.models["gan"].scores is None
        assert "gan" in run.image_models() and "gan" not in run.score_models()
        assert any("gan.h5 missing" in m for m in run.models["gan"].missing)


def test_models_are_discovered_from_the_run_folder(tmp_path):
    run_dir = make_fake_run(tmp_path / "run", 3, 16, models=("b_model", "a_model", "damaged"))
    (run_dir / "summary.csv").unlink()
    (run_dir / "models" / "c_model").mkdir(parents=True)
    with Run(run_dir) as run:
        # Trained models by name without summary.csv, then every baseline (inpaint: no files).
        assert list(run.models) == ["a_model", "b_model", "c_model", *contract.BASELINES]
        assert run.trained_models() == ["a_model", "b_model", "c_model"]
        assert run.image_models() == ["a_model", "b_model", "c_model"]
        assert run.unknown_models(["a_model", "damaged"]) is None
        assert run.unknown_models(["a_model", "zed", "inpaint"]) == (
            "the run has no model 'zed', 'inpaint' (available: a_model, b_model, c_model)"
        )


def test_broken_files_are_reported_by_name(fake_run):
    (fake_run / "predictions" / "vae.h5").write_bytes(b"not an hdf5 file")
    with h5py.File(fake_run / "predictions" / "inpaint.h5", "r+") as file:
        del file["names"]
        file["names"] = [f"other{i}" for i in range(N_TEST)]
    with h5py.File(fake_run / "predictions" / "gan.h5", "w") as file:
        file["images"] = np.zeros((N_TEST, 8, 8, 3), np.uint8)
        file["names"] = [f"img{i:05d}" for i in range(N_TEST)]
    rows = (fake_run / "metrics" / "damaged.csv").read_text().splitlines()
    (fake_run / "metrics" / "damaged.csv").write_text("\n".join(rows[:-1]) + "\n")
    # No name column: nothing in it can be matched to an image (an older run's file, which
    # lacks only newer scores, is shown: test_an_older_runs_scores_are_shown_and_named).
    (fake_run / "metrics" / "vae.csv").write_text("image,mse\nimg00000,1\n")
    (fake_run / "metrics" / "masks" / "inpaint.csv").write_text("name,score\nimg00000,1\n")
    (fake_run / "summary.csv").write_text("model,metric\nvae,ssim\n")
    with Run(fake_run) as run:
        text = "\n".join(run.problems)
        assert "predictions/vae.h5: cannot be read as HDF5" in text
        assert "predictions/inpaint.h5: names do not match dataset.h5 (row 0 is 'other0'" in text
        assert f"predictions/gan.h5: images are uint8 ({N_TEST}, 8, 8, 3)" in text
        assert f"metrics/damaged.csv: names do not match dataset.h5 ({N_TEST - 1} names" in text
        assert "metrics/vae.csv: header lacks name, nrmse, ssim, psnr" in text
        assert "metrics/masks/inpaint.csv: header lacks mask_iou, mask_f1" in text
        assert "summary.csv: unusable (header lacks mean" in text
        assert run.image("vae", 0) is None and run.image("gan", 0) is None
        # The fallback summary is computed from the metric files that are still good.
        means = {(r.model, r.metric): r.mean for r in run.summary}
        assert run.summary_source == "metrics/*.csv" and ("vae", "ssim") not in means
        assert means["gan", "ssim"] == pytest.approx(read_metric(fake_run, "gan", "ssim").mean())


def test_an_older_runs_scores_are_shown_and_named(fake_run):
    """Metrics files scored before the spec had LPIPS and FLIP: every score they have is
    read, and one line names what they lack."""
    as_older_run(fake_run)
    older = [m for m in contract.metric_names() if m not in NEWER_SCORES]
    with Run(fake_run) as run:
        assert run.score_models() == ["vae", "gan", "damaged", "inpaint"]
        for model in run.score_models():
            assert list(run.models[model].scores) == older
            assert run.unscored(model) == list(NEWER_SCORES)
            for metric in older:
                assert np.array_equal(
                    run.models[model].scores[metric],
                    read_metric(fake_run, model, metric),
                    equal_nan=True,
                )
        assert run.problems == [
            (
                "scores of an older run: metrics/*.csv have no lpips, flip, hole_lpips, "
                "intact_lpips; the rest is shown (run snakemake again to score them)"
            )
        ]
        assert run.summary_source == "summary.csv"
        assert not {r.metric for r in run.summary} & set(NEWER_SCORES)


def test_files_of_older_runs_each_named(fake_run):
    """Only some files older (a model scored again since, one not): those are named."""
    as_older_run(fake_run, ("flip",), models=("vae", "inpaint"))
    as_older_run(fake_run, ("mask_ap",), models=("gan",), masks=True)
    with Run(fake_run) as run:
        assert run.problems == [
            (
                "scores of an older run: metrics/vae.csv, metrics/inpaint.csv have no flip; the "
                "rest is shown (run snakemake again to score them)"
            ),
            (
                "scores of an older run: metrics/masks/gan.csv has no mask_ap; the rest is shown "
                "(run snakemake again to score them)"
            ),
        ]
        assert "flip" in run.models["gan"].scores and "flip" not in run.models["vae"].scores
        assert run.unscored("gan") == [] and run.unscored("vae") == ["flip"]
        iou = run.models["gan"].mask_scores["mask_iou"]
        assert np.array_equal(iou, read_mask_score(fake_run, "gan", "mask_iou"), equal_nan=True)
        assert "mask_ap" not in run.models["gan"].mask_scores


def test_not_a_run_directory(tmp_path):
    with pytest.raises(RunError, match="not a directory"):
        Run(tmp_path / "nowhere")
    with pytest.raises(RunError, match="is not a run directory: no dataset.h5"):
        Run(tmp_path)
    (tmp_path / "dataset.h5").write_bytes(b"\0" * 100)
    with pytest.raises(RunError, match="dataset.h5: cannot be read as HDF5"):
        Run(tmp_path)


def test_corrupt_chunk_raises_oserror_on_read(tmp_path):
    run_dir = make_fake_run(tmp_path / "run", 4, 16)
    with h5py.File(run_dir / "predictions" / "vae.h5", "r+") as file:
        file["images"].id.write_direct_chunk((2, 0, 0, 0), b"garbage, not deflate")
    with Run(run_dir) as run:
        assert run.image("vae", 1).shape == (16, 16, 3)
        with pytest.raises(OSError):
            run.image("vae", 2)


def test_conditions():
    scores = {
        "vae": {"ssim": np.array([0.5, 0.9, 0.7])},
        "gan": {"ssim": np.array([0.6, 0.8, 0.7])},
    }
    assert evaluate("gan.ssim < vae.ssim", scores, 3).tolist() == [False, True, False]
    assert evaluate("GAN.SSIM <= vae.ssim and vae.ssim > 0.6", scores, 3).tolist() == [
        False,
        True,
        True,
    ]
    assert evaluate("vae.ssim < 0.6 or gan.ssim == 0.8", scores, 3).tolist() == [True, True, False]
    assert evaluate("  ", scores, 3).all()
    for bad, message in [
        ("gn.ssim < 1", "unknown model 'gn'"),
        ("gan.ssmi < 1", "unknown metric 'ssmi'"),
        ("gan.ssim", "cannot read 'gan.ssim'"),
        ("gan < 1", "neither a number nor model.metric"),
    ]:
        with pytest.raises(ValueError, match=message):
            evaluate(bad, scores, 3)


def test_an_empty_test_split_is_named_not_a_traceback(tmp_path):
    run_dir = make_fake_run(tmp_path / "run", 4, 16)
    with h5py.File(run_dir / "dataset.h5", "r+") as file:
        for key in ("clean", "damaged", "names"):
            data = file["test"][key]
            empty = np.empty((0, *data.shape[1:]), data.dtype)
            del file["test"][key]
            file["test"].create_dataset(key, data=empty)
    with pytest.raises(RunError, match="dataset.h5: the test split is empty"):
        Run(run_dir)


def test_impossible_scores_are_flagged_where_they_show(fake_run, qtbot):
    """A negative MSE, an SSIM above 1 or a NaN is shown, but marked, and named in the problems."""
    from PyQt6.QtCore import Qt

    from viewer.table import ScoreTable

    path = fake_run / "metrics" / "vae.csv"
    rows = list(csv.reader(path.open()))
    header = rows[0]
    rows[1][header.index("mse")] = "-3"
    rows[2][header.index("ssim")] = "1.5"
    rows[3][header.index("psnr")] = "nan"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with Run(fake_run) as run:
        text = "\n".join(run.problems)
        for label in ("MSE", "SSIM", "PSNR (dB)"):
            assert f"metrics/vae.csv: 1 impossible {label} value(s)" in text
        table = ScoreTable(run)
        table.set_metric("mse")
        column = table.column_of("vae")
        flagged = table.index(table.row_of(0), column)
        fine = table.index(table.row_of(4), column)
        assert table.data(flagged, Qt.ItemDataRole.BackgroundRole) is not None
        tooltip = as_shown(table.data(flagged, Qt.ItemDataRole.ToolTipRole))
        assert tooltip == "impossible value: MSE -3.0 (possible: 0 to inf)"
        assert table.data(fine, Qt.ItemDataRole.BackgroundRole) is None
        for metric, row in (("ssim", 1), ("psnr", 2)):
            table.set_metric(metric)
            cell = table.index(table.row_of(row), column)
            assert table.data(cell, Qt.ItemDataRole.BackgroundRole) is not None


def test_one_validity_rule_from_the_metric_spec():
    """valid() is the spec's Metric.possible, for single values and for whole columns, but a
    region score may be missing (NaN: the image has no such pixels), and so may a mask score."""
    samples = [
        -1e9,
        -1.0001,
        -1.0,
        -0.5,
        0.0,
        0.5,
        1.0,
        1.0001,
        40.0,
        math.inf,
        -math.inf,
        math.nan,
    ]
    for spec in (*contract.METRICS, *contract.MASK_SCORES):
        missing_ok = spec.region in ("hole", "intact") or spec in contract.MASK_SCORES
        expected = [spec.possible(v) or (missing_ok and math.isnan(v)) for v in samples]
        assert [valid(spec.name, v) for v in samples] == expected
        assert valid(spec.name, np.array(samples)).tolist() == expected
    assert not valid("mse", -3.0) and not valid("nrmse", -0.1)
    assert not valid("ssim", 1.5) and not valid("ssim", -1.5) and valid("ssim", -1.0)
    assert not valid("psnr", math.nan) and valid("psnr", math.inf)
    assert valid("hole_psnr", math.nan) and valid("intact_psnr", math.inf)
    assert not valid("hole_ssim", 1.5) and not valid("mask_share", math.nan)
    assert valid("mask_precision", math.nan) and not valid("mask_iou", 1.5)


def test_the_interval_is_named_with_the_level_the_run_was_summarized_at(fake_run):
    """summary.csv's interval is the bootstrap's at score.confidence, which its record keeps;
    means computed from the score files carry the normal approximation's 95 %."""
    paths = contract.RunPaths(str(fake_run))
    record = provenance.record("", {"resamples": 100, "confidence": 0.9, "seed": 0})
    provenance.write(Path(paths.summary_provenance), record)
    with Run(fake_run) as run:
        assert run.summary_source == "summary.csv" and run.interval == "90% bootstrap CI"
    Path(paths.summary_provenance).write_text("{not json")
    with Run(fake_run) as run:  # a broken record is named, never a reason to refuse the run
        assert run.interval == "bootstrap CI (level not recorded)"
        assert any("summary.provenance.json: not a provenance record" in p for p in run.problems)
    Path(paths.summary_provenance).unlink()
    with Run(fake_run) as run:
        assert run.interval == "bootstrap CI (level not recorded)"  # summarized before records
    Path(paths.summary).unlink()
    with Run(fake_run) as run:
        assert run.summary_source == "metrics/*.csv"
        assert run.interval == "95% CI (normal approximation)"
