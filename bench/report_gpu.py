"""BENCHMARKS.md's GPU section: training speed on a lent card against its targets."""

from __future__ import annotations

from bench import gpu_probe
from bench.report_cells import met, number

GPU_TARGET = 2000  # GAN training images/s at 256 px on an H100/H200-class GPU (issue 16)
GPU_EPOCHS_TARGET_MIN = 10  # 100 epochs of humanface8000
GAN_FLOPS = gpu_probe.GAN_FORWARD_FLOPS
# A GAN step: the generator forward and backward (3x), two discriminator passes (3x each).
GAN_STEP_FLOPS = 3 * GAN_FLOPS["generator"] + 6 * GAN_FLOPS["discriminator"]


def _gpu_best(rows: list[dict], family: str) -> dict | None:
    """The fastest measured row of ``family``: the most images/s, so the shortest 100 epochs."""
    measured = [r for r in rows if r["family"] == family and "error" not in r]
    return max(measured, key=lambda r: r["images_per_s"], default=None)


def gpu_summary(rows: list[dict]) -> list[str]:
    best = _gpu_best(rows, "gan")
    if best is None:
        return [
            (
                f"| GAN training at 256 px on an H100/H200 | not measured (no GPU lent) "
                f"| >= {GPU_TARGET:,} images/s | not measured |"
            )
        ]
    where = f"{best['device']}, {best['mode']}, batch {best['batch']}"
    fastest = best["epochs_100_min"]
    return [
        (
            f"| GAN training at 256 px ({where}, JAX) | {best['images_per_s']:,.0f} images/s "
            f"| >= {GPU_TARGET:,} images/s | {met(best['images_per_s'], GPU_TARGET, False)} |"
        ),
        (
            f"| GAN, 100 epochs of humanface8000 on that GPU | {fastest:.1f} min "
            f"| < {GPU_EPOCHS_TARGET_MIN} min | {met(fastest, GPU_EPOCHS_TARGET_MIN)} |"
        ),
    ]


def gpu_section(rows: list[dict]) -> list[str]:
    """The GPU rows of ``bench/gpu_results.json`` (``bench.gpu_probe``), and what limits them."""
    command = (
        "`python -m bench.gpu_probe bench/gpu_results.json --merge` (`bench/gpu_probe.py`): "
        "under `KERAS_BACKEND=jax`, the VAE and the GAN of the humanface8000 preset at 256 px on "
        "random uint8 pairs, through our own `build_trainer`, `PairBatches` and `fit`, each mode "
        "in a process of its own; `--quick` checks it on a CPU at 32 px."
    )
    measured = [r for r in rows if "error" not in r]
    if not measured:
        return [
            "No GPU was lent to this issue, so nothing here is measured. The script is ready: "
            + command
        ]
    first = measured[0]
    lines = [
        (
            f"Device: **{first['device']}**, its host's {first['host_cores']} cores; "
            f"jax {first['jax']}, keras {first['keras']}; {first['date']}. Written by {command} "
            "Training steps only (no validation); one compiling epoch, then "
            f"{gpu_probe.FULL['timed_epochs']} timed epochs of {gpu_probe.FULL['steps']} steps. "
            "*Step alone*: `fit` on one batch kept on the device, no input work. *Input ms*: "
            "one thread making a batch on the host (index, mirror, convert to float32), then "
            "copying it to the device."
        ),
        "",
        *_gpu_table(measured),
    ]
    lines += ["", *_gpu_findings(measured)]
    missing = []
    for family in gpu_probe.FAMILIES:
        for mode in gpu_probe.MODES:
            done = {r["batch"] for r in measured if (r["family"], r["mode"]) == (family, mode)}
            left = [str(b) for b in gpu_probe.ASKED_BATCHES if b not in done]
            if left:
                missing.append(f"{family} {mode} batch {', '.join(left)}")
    if missing:
        lines.append(
            "- **Not measured yet** (the lease's device time ran out; `--plan` runs any of "
            "them): " + "; ".join(missing) + "."
        )
    return lines


def _gpu_table(rows: list[dict]) -> list[str]:
    """The measured rows; the utilisation columns once some row has them (older rows: "-")."""
    used = any("step_gflop_per_image" in r for r in rows)
    header = (
        "| model | mode | input threads | batch | images/s | step alone, images/s "
        "| one thread's input ms (host + copy) | compile + first epoch s "
        f"| epoch of {number(gpu_probe.TRAINED, 0)} s | 100 epochs min | peak GPU GiB |"
    )
    if used:
        header += " step GFLOP/image | MFU, step alone |"
    lines = [header, "|---" * (13 if used else 11) + "|"]
    for r in sorted(rows, key=lambda r: (r["family"], r["mode"], r["workers"], r["batch"])):
        line = (
            f"| {r['family']} | {r['mode']} | {r['workers']} | {r['batch']} "
            f"| {number(r['images_per_s'], 0)} | {number(r.get('resident_images_per_s'), 0)} "
            f"| {number(r['input_host_ms'], 1)} + {number(r['input_copy_ms'], 1)} "
            f"| {number(r['warmup_s'], 1)} | {number(r['epoch_s'], 1)} | {number(r['epochs_100_min'], 1)} "
            f"| {number(r['peak_gib'], 2)} |"
        )
        if used:
            mfu = r.get("mfu")
            against = "-" if mfu is None else f"{mfu:.0%} of {r['peak_tflops']:,.0f} TFLOP/s"
            line += f" {number(r.get('step_gflop_per_image'), 1)} | {against} |"
        lines.append(line)
    return lines


def _gpu_findings(rows: list[dict]) -> list[str]:
    out = []
    best = _gpu_best(rows, "gan")
    if best is not None:
        out.append(
            f"- **The target**: the GAN trains at {best['images_per_s']:,.0f} images/s at best "
            f"({best['mode']}, batch {best['batch']}, {best['workers']} input threads) against "
            f">= {GPU_TARGET:,}; 100 epochs of humanface8000 take {best['epochs_100_min']:.1f} min."
        )
    by_key = {(r["family"], r["mode"], r["batch"], r["workers"]): r for r in rows}
    gains = [
        f"{family} batch {batch} {r['images_per_s'] / one['images_per_s']:.2f}x"
        for (family, mode, batch, workers), r in sorted(by_key.items())
        if workers > 1 and (one := by_key.get((family, mode, batch, 1)))
    ]
    if gains:
        out.append(
            "- **Input threads**: with one thread, making a batch on the host took most of a "
            "step (the input column against the step's own time), so the GPU waited on it; "
            "`fit` now makes batches in `accel.input_workers` threads beside a GPU. Threads "
            "against one, same mode and batch: " + ", ".join(gains) + "."
        )
    alone = [r for r in rows if r.get("resident_images_per_s") and r["family"] == "gan"]
    if alone:
        top = max(alone, key=lambda r: r["resident_images_per_s"])
        rate = top["resident_images_per_s"]
        out.append(
            f"- **The step itself is the limit now**: with its batch already on the device the "
            f"GAN step runs at {rate:,.0f} images/s (batch {top['batch']}), "
            f"{top['images_per_s'] / rate:.0%} of which `fit` reaches with its input. That step "
            f"is {GAN_STEP_FLOPS / 1e9:.0f} GFLOP per image (XLA's cost analysis: generator "
            f"{GAN_FLOPS['generator'] / 1e9:.1f}, discriminator "
            f"{GAN_FLOPS['discriminator'] / 1e9:.1f} GFLOP forward; forward and backward of the "
            f"generator and of two discriminator passes), so {rate * GAN_STEP_FLOPS / 1e12:.0f} "
            "TFLOP/s, about a tenth of the chip's bf16 matrix rate (about 790 TFLOP/s measured "
            "on such a card): the step is not bound by its arithmetic. The batch size barely "
            "moves it (the step-alone column from 64 to 256), so neither is it launch overhead; "
            "the likely limit is memory traffic of the elementwise work around the convolutions "
            "(BatchNorm statistics kept in float32 under mixed precision, activations, skip "
            "concatenations, dropout) at 256 px. Not profiled yet: the lease ran out; "
            "`python -m bench.gpu_probe --profile DIR` traces both steps and digests where "
            "their time goes (`bench/step_profile.py`)."
        )
    pairs = [
        f"{family} batch {batch} {r['images_per_s'] / f32['images_per_s']:.2f}x"
        for (family, mode, batch, workers), r in sorted(by_key.items())
        if mode == "mixed_bfloat16+XLA"
        and (f32 := by_key.get((family, "float32+XLA", batch, workers)))
    ]
    if pairs:
        out.append(
            "- **bf16 against float32** (both with XLA, same input threads): "
            + ", ".join(pairs)
            + "."
        )
    return out
