"""bench.gpu_probe, the GPU figures' script, on a CPU at toy sizes; its BENCHMARKS.md section.

The figures mean nothing here; the tests check that each plan entry trains through our own
trainer and input pipeline, that rows stream into the JSON file and merge, that a
deadline leaves rows saying so, and that the report reads the rows right.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from conftest import HANG_S, REPO

from bench import gpu_probe, report_gpu

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed: the dev extra brings it (make install)",
)


def probe(out, *args, timeout=HANG_S):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    command = [sys.executable, "-m", "bench.gpu_probe", str(out), "--quick", *args]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())["rows"]


@needs_jax
def test_each_entry_trains_and_a_rerun_replaces_only_its_own_rows(tmp_path):
    out = tmp_path / "gpu.json"
    rows = probe(out, "--plan", "gan:mixed_bfloat16+XLA:2,4", "vae:float32:4:2")
    assert [(r["family"], r["mode"], r["batch"], r["workers"]) for r in rows] == [
        ("gan", "mixed_bfloat16+XLA", 2, 1),  # a CPU gets one input thread (accel)
        ("gan", "mixed_bfloat16+XLA", 4, 1),
        ("vae", "float32", 4, 2),
    ]
    for row in rows:
        assert "error" not in row, row
        assert row["images_per_s"] > 0 and row["resident_images_per_s"] > 0
        assert row["platform"] == "cpu" and row["size"] == 32
        assert row["epochs_100_min"] == pytest.approx(
            row["epoch_s"] * gpu_probe.EPOCHS / 60, rel=1e-6
        )
    again = probe(out, "--merge", "--plan", "vae:float32:4:2")
    assert [(r["family"], r["batch"]) for r in again] == [("gan", 2), ("gan", 4), ("vae", 4)]
    assert again[2]["images_per_s"] != rows[2]["images_per_s"]  # measured anew
    assert again[:2] == rows[:2]


@needs_jax
def test_a_deadline_leaves_rows_that_say_so(tmp_path):
    rows = probe(tmp_path / "gpu.json", "--deadline", "0.5", "--plan", "gan:float32:2,4")
    assert [(r["batch"], r["error"]) for r in rows] == [(2, "out of time"), (4, "out of time")]


def test_a_plan_entry_with_an_unknown_mode_is_refused():
    with pytest.raises(SystemExit, match="mode one of"):
        gpu_probe.parse_plan("gan:bf16:64", quick=False)


def gpu_row(family, mode, batch, workers, rate, resident=None):
    epoch = gpu_probe.TRAINED / rate
    return {
        "family": family,
        "mode": mode,
        "batch": batch,
        "workers": workers,
        "size": 256,
        "device": "Some GPU",
        "host_cores": 8,
        "jax": "0",
        "keras": "3",
        "date": "2026-01-01",
        "images_per_s": rate,
        "resident_images_per_s": resident,
        "input_host_ms": 1.0,
        "input_copy_ms": 1.0,
        "warmup_s": 1.0,
        "epoch_s": epoch,
        "epochs_100_min": epoch * gpu_probe.EPOCHS / 60,
        "peak_gib": 1.0,
    }


def test_the_report_says_what_the_rows_say():
    assert "No GPU was lent" in "\n".join(report_gpu.gpu_section([]))
    assert "not measured" in report_gpu.gpu_summary([])[0]
    bf16 = "mixed_bfloat16+XLA"
    rows = [
        gpu_row("gan", bf16, 128, 1, 1000.0),
        gpu_row("gan", bf16, 128, 4, 2500.0, resident=3000.0),
        gpu_row("gan", "float32+XLA", 128, 4, 1250.0),
    ]
    target, epochs = report_gpu.gpu_summary(rows)
    assert "2,500 images/s" in target and target.endswith("**met** |")
    assert f"{rows[1]['epochs_100_min']:.1f} min" in epochs and epochs.endswith("**met** |")
    text = "\n".join(report_gpu.gpu_section(rows))
    assert "gan batch 128 2.50x" in text  # threads against one
    assert "3,000 images/s (batch 128), 83%" in text  # the step alone
    assert "bf16 against float32** (both with XLA, same input threads): gan batch 128 2.00x" in text
    assert "gan mixed_bfloat16+XLA batch 16, 64;" in text  # what is left to measure
    assert "vae float32 batch 16, 64, 128." in text
    slow = report_gpu.gpu_summary([gpu_row("gan", bf16, 64, 1, 500.0)])
    assert all(line.endswith("**not met** |") for line in slow)


@needs_jax
def test_the_reports_flop_counts_are_the_presets():
    """The GFLOP figure of BENCHMARKS.md's GPU section is recounted from the preset's networks."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu_probe", "--gan-flops"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_S,
        check=True,
    )
    counted = json.loads(done.stdout.strip().splitlines()[-1])
    assert counted == pytest.approx(gpu_probe.GAN_FORWARD_FLOPS, rel=0.005)
