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

from bench import gpu_probe, report_gpu, step_profile

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
    rows = probe(out, "--plan", "gan:mixed_bfloat16+XLA:2", "vae:float32:4:2")
    assert [(r["family"], r["mode"], r["batch"], r["workers"]) for r in rows] == [
        ("gan", "mixed_bfloat16+XLA", 2, 1),  # a CPU gets one input thread (accel)
        ("vae", "float32", 4, 2),
    ]
    for row in rows:
        assert "error" not in row, row
        assert row["images_per_s"] > 0 and row["resident_images_per_s"] > 0
        assert row["platform"] == "cpu" and row["size"] == 32
        assert row["epochs_100_min"] == pytest.approx(
            row["epoch_s"] * gpu_probe.EPOCHS / 60, rel=1e-6
        )
        if "XLA" not in row["mode"]:  # op by op: no compiled step to count
            assert "mfu" not in row
            continue
        assert row["step_gflop_per_image"] > 0 and row["peak_tflops"] > 0 and row["mfu"] > 0
        assert row["achieved_tflops"] == pytest.approx(
            row["resident_images_per_s"] * row["step_gflop_per_image"] / 1e3, rel=1e-6
        )
    again = probe(out, "--merge", "--plan", "vae:float32:4:2")
    assert [(r["family"], r["batch"]) for r in again] == [("gan", 2), ("vae", 4)]
    assert again[1]["images_per_s"] != rows[1]["images_per_s"]  # measured anew
    assert again[0] == rows[0]


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
    assert "MFU" not in text  # rows measured before the utilisation columns: none shown


def test_the_report_shows_utilisation_once_rows_have_it():
    used = gpu_row("gan", "mixed_bfloat16+XLA", 128, 4, 2500.0, resident=3000.0)
    used |= {"step_gflop_per_image": 52.3, "peak_tflops": 790.0, "mfu": 0.2}
    table = report_gpu._gpu_table([used, gpu_row("vae", "float32+XLA", 64, 1, 900.0)])
    assert table[0].endswith("| step GFLOP/image | MFU, step alone |")
    assert table[1].count("|---") == 13
    assert table[2].endswith("| 52.3 | 20% of 790 TFLOP/s |")
    assert table[3].endswith("| - | - |")


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


HLO = """HloModule jit_train_step, is_scheduled=true

%fused_conv (p0: f32[2,8,8,4], p1: f32[3,3,4,4]) -> f32[2,8,8,4] {
  %p0 = f32[2,8,8,4]{3,2,1,0} parameter(0)
  %p1 = f32[3,3,4,4]{3,2,1,0} parameter(1)
  %conv.1 = f32[2,8,8,4]{3,2,1,0} convolution(%p0, %p1), window={size=3x3 pad=1_1x1_1}, dim_labels=b01f_01io->b01f, metadata={op_name="jit(train_step)/jvp(down0_conv)/conv_general_dilated"}
  ROOT %max.1 = f32[2,8,8,4]{3,2,1,0} maximum(%conv.1, %conv.1)
}

%fused_add (p0: f32[2,8,8,4]) -> f32[2,8,8,4] {
  %p0 = f32[2,8,8,4]{3,2,1,0} parameter(0)
  ROOT %add.1 = f32[2,8,8,4]{3,2,1,0} add(%p0, %p0)
}

%fused_copy (p0: f32[4]) -> f32[4] {
  %p0 = f32[4]{0} parameter(0)
  ROOT %copy.1 = f32[4]{0} copy(%p0)
}

%body (arg: (s32[], f32[4])) -> (s32[], f32[4]) {
  %arg = (s32[], f32[4]{0}) parameter(0)
  %inner.1 = f32[4]{0} add(%x, %x), metadata={op_name="jit(train_step)/jvp(smooth_fill)/while/body/add"}
  ROOT %tuple.2 = (s32[], f32[4]{0}) tuple(%i, %inner.1)
}

%cond (arg: (s32[], f32[4])) -> pred[] {
  %arg = (s32[], f32[4]{0}) parameter(0)
  ROOT %lt.1 = pred[] compare(%i, %n), direction=LT
}

ENTRY %main.1 (a: f32[2,8,8,4]) -> f32[2,8,8,4] {
  %fusion.1 = f32[2,8,8,4]{3,2,1,0} fusion(%a, %w), kind=kOutput, calls=%fused_conv, metadata={op_name="jit(train_step)/jvp(down0_conv)/conv_general_dilated"}
  %convolution.7 = f32[3,3,4,4]{3,2,1,0} convolution(%a, %a), window={size=8x8 pad=1_1x1_1}, dim_labels=f01b_i01o->01bf
  %custom-call.3 = f32[2,16,16,4]{3,2,1,0} custom-call(%a, %w), custom_call_target="__cudnn$convBackwardInput", metadata={op_name="jit(train_step)/transpose(jvp(up0_deconv))/conv_general_dilated"}
  %add_fusion.2 = f32[2,8,8,4]{3,2,1,0} fusion(%a), kind=kLoop, calls=%fused_add, metadata={op_name="jit(train_step)/jvp(down0_bn)/add"}
  %copy_fusion.3 = f32[4]{0} fusion(%b), kind=kLoop, calls=%fused_copy
  %while.5 = (s32[], f32[4]{0}) while(%tuple), condition=%cond, body=%body, metadata={op_name="jit(train_step)/jvp(smooth_fill)/while"}
  ROOT %out = f32[2,8,8,4]{3,2,1,0} copy(%fusion.1)
}
"""
LAYERS = {
    "down0_conv": "Conv2D",
    "up0_deconv": "Conv2DTranspose",
    "down0_bn": "BatchNormalization",
    "smooth_fill": "Lambda",
}


def trace_events() -> list[dict]:
    """A GPU-like trace: ops on the device's ``XLA Ops`` line, again on a stream and the host."""
    names = [
        {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "/device:GPU:0"}},
        {"ph": "M", "pid": 1, "tid": 1, "name": "thread_name", "args": {"name": "XLA Ops"}},
        {"ph": "M", "pid": 1, "tid": 2, "name": "thread_name", "args": {"name": "Stream #7"}},
        {"ph": "M", "pid": 2, "name": "process_name", "args": {"name": "/host:CPU"}},
    ]
    timeline = [
        ("fusion.1", 0, 10),
        ("convolution.7", 10, 5),
        ("custom-call.3", 15, 20),
        ("add_fusion.2", 35, 5),
        ("copy_fusion.3", 40, 5),
        ("while.5", 60, 30),  # its body's op is traced too: counted through it, not twice
        ("inner.1", 61, 28),
    ]
    ops = []
    for pid, tid in ((1, 1), (1, 2), (2, 9)):
        for name, ts, dur in timeline:
            args = {"hlo_module": "jit_train_step", "hlo_op": name}
            ops.append({"ph": "X", "pid": pid, "tid": tid, "ts": ts, "dur": dur, "args": args})
    other = {"hlo_module": "jit_equal", "hlo_op": "equal.1"}  # an eager op outside the step
    ops.append({"ph": "X", "pid": 1, "tid": 1, "ts": 95, "dur": 50, "args": other})
    return names + ops


def test_the_digest_classifies_each_op_from_its_hlo_and_counts_it_once():
    ops, computations = step_profile.parse_hlo(HLO)
    kinds = {
        name: step_profile.classify(name, ops, computations, LAYERS)
        for name in ("fusion.1", "convolution.7", "custom-call.3", "add_fusion.2", "copy_fusion.3")
    }
    assert kinds == {
        "fusion.1": (step_profile.CONV, "down0_conv"),  # a convolution fused with its activation
        "convolution.7": (step_profile.CONV_GRAD, ""),  # no source: a rewritten gradient
        "custom-call.3": (step_profile.TRANSPOSED_GRAD, "up0_deconv"),
        "add_fusion.2": (step_profile.ELEMENTWISE, "down0_bn"),
        "copy_fusion.3": (step_profile.OTHER, ""),
    }
    figures = step_profile.digest(trace_events(), HLO, LAYERS, steps=1)
    assert figures["module"] == "jit_train_step"
    assert [row["op"] for row in figures["top"]] == [
        "inner.1",
        "custom-call.3",
        "fusion.1",
        "convolution.7",
        "add_fusion.2",
        "copy_fusion.3",
    ]
    assert figures["op_seconds"] == pytest.approx(73e-6)
    assert figures["shares"][step_profile.TRANSPOSED_GRAD] == pytest.approx(20 / 73)
    assert figures["shares"][step_profile.ELEMENTWISE] == pytest.approx(33 / 73)
    assert sum(figures["shares"].values()) == pytest.approx(1)
    assert figures["span_s"] == pytest.approx(89e-6)
    assert figures["host_waiting"] == pytest.approx(16 / 89)


@needs_jax
def test_a_profile_traces_both_steps_and_counts_their_flop(tmp_path):
    """On a CPU at 32 px: a trace and a digest per family, shares that add up, XLA's FLOP
    count per image, which grows with the pixels (about 4x from 32 to 64 px)."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    command = [sys.executable, "-m", "bench.step_profile", str(tmp_path), "--quick"]
    command += ["--mode", "float32+XLA", "--flops", "32,64"]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_S, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    profiles = json.loads((tmp_path / "profile.json").read_text())["profiles"]
    counts = json.loads(done.stdout.split("FLOPS ", 1)[1])
    assert [p["family"] for p in profiles] == ["gan", "vae"]
    for figures in profiles:
        family = figures["family"]
        assert list((tmp_path / family).rglob("*.trace.json.gz")), family
        digest = (tmp_path / family / "digest.txt").read_text()
        assert "GFLOP per image" in digest and "top ops" in digest
        assert sum(figures["shares"].values()) == pytest.approx(1)
        assert figures["shares"][step_profile.CONV] > 0
        assert figures["shares"][step_profile.TRANSPOSED_GRAD] > 0  # both decode with them
        assert 0 <= figures["host_waiting"] < 1 and figures["top"]
        assert figures["flops_per_image"] > 0 and figures["size"] == 32
        lowered = counts[family]
        assert 3.5 < lowered["64"] / lowered["32"] < 4.5
        assert lowered["32"] == pytest.approx(figures["flops_per_image"], rel=0.1)


def test_the_probe_hands_profiling_to_step_profile(tmp_path, monkeypatch, capsys):
    calls = []

    def child(args):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="gan: digest\n")

    monkeypatch.setattr(step_profile, "run_child", child)
    gpu_probe.main(["--profile", str(tmp_path), "--quick"])
    assert calls == [[str(tmp_path), "--quick"]]
    assert capsys.readouterr().out == "gan: digest\n"
