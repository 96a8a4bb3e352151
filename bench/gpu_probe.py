"""GPU training throughput of our VAE and GAN under the JAX backend: BENCHMARKS.md's GPU figures.

    python -m bench.gpu_probe OUT.json              # on a GPU: 256 px, the humanface8000 preset
    python -m bench.gpu_probe OUT.json --quick      # anywhere: tiny sizes, checks the script
    python -m bench.gpu_probe OUT.json --plan gan:mixed_bfloat16+XLA:64,128 --deadline 300
    python -m bench.gpu_probe bench/gpu_results.json --merge   # BENCHMARKS.md's GPU rows
    python -m bench.gpu_probe --profile DIR [--quick]   # where the GAN and VAE steps spend time

A plan entry ``family:mode:batches[:workers]`` is one child process: it builds the
family's trainer of the humanface8000 preset with ``restorebench.training``'s own
``build_trainer`` and trains it with ``fit`` on ``PairBatches`` of random uint8 pairs, each
batch size in turn (ascending, so the process's peak GPU memory after a batch is that
batch's): one epoch that compiles, then timed epochs. Beside each rate it times the step
alone (``fit`` on one batch kept on the device) and one thread's input work (a batch made
on the host, then copied to the device), so a row says whether the GPU or the host
limits it, and (modes with XLA) its utilisation: XLA's FLOP count of the compiled step per
image, and MFU, the step alone's arithmetic rate against the card's measured matrix rate
(``matmul_peak_tflops``). Input threads default to what ``fit`` uses
(``accel.input_workers``). Rows stream to OUT.json as they finish and a ``--deadline`` skips what would not fit, so a
lease cut short still leaves figures.
Under JAX, XLA off means each operation is dispatched on its own (``train.jit_compile:
auto`` turns it on). Epoch and 100-epoch times are training steps only (no validation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "gpu_results.json"  # BENCHMARKS.md's GPU section reads it
PRESET = REPO / "configs" / "humanface8000.yaml"
# humanface8000's train split (the pairs prepare writes at 256 px), less the 5% validation
# hold-out (train.validation_fraction), as fit trains on it.
TRAIN_PAIRS = 7347
TRAINED = round(TRAIN_PAIRS * 0.95)
EPOCHS = 100
MODES = {
    "mixed_bfloat16+XLA": ("mixed_bfloat16", True),
    "float32+XLA": ("float32", True),
    "mixed_bfloat16": ("mixed_bfloat16", False),
    "float32": ("float32", False),
}
# Most wanted first: the recipe a GPU user gets (bf16 with XLA), its float32 twin, input
# threads, then the op-by-op modes at one batch size.
FULL_PLAN = (
    "gan:mixed_bfloat16+XLA:16,64,128,256",
    "vae:mixed_bfloat16+XLA:16,64,128,256",
    "gan:float32+XLA:16,64,128",
    "vae:float32+XLA:16,64,128",
    "gan:mixed_bfloat16+XLA:128:4",
    "gan:mixed_bfloat16:64",
    "gan:float32:64",
    "vae:mixed_bfloat16:64",
    "vae:float32:64",
)
QUICK_PLAN = ("gan:mixed_bfloat16+XLA:2,4", "vae:float32:4", "gan:mixed_bfloat16+XLA:4:2")
# The matrix issue 16 asks for: each family and mode at these batch sizes.
FAMILIES = ("gan", "vae")
ASKED_BATCHES = (16, 64, 128)
FULL = {"size": 256, "steps": 10, "timed_epochs": 2}
QUICK = {"size": 32, "steps": 2, "timed_epochs": 1}


def parse_plan(entry: str, quick: bool) -> dict:
    """``family:mode:b1,b2[:workers]`` as a child's spec; refuses an unknown mode."""
    parts = entry.split(":")
    if len(parts) not in (3, 4) or parts[1] not in MODES:
        raise SystemExit(
            f"--plan {entry!r}: expected family:mode:batches[:workers], mode one of {list(MODES)}"
        )
    scale = QUICK if quick else FULL
    return {
        "family": parts[0],
        "mode": parts[1],
        "batches": sorted(int(b) for b in parts[2].split(",")),
        "workers": int(parts[3]) if len(parts) == 4 else None,
        "quick": quick,
        **scale,
    }


# XLA's count of one 256 px image's forward pass through each network of the preset's GAN,
# for the report's arithmetic; tests/test_gpu_probe.py recounts it (``--gan-flops``).
GAN_FORWARD_FLOPS = {"generator": 10.79e9, "discriminator": 3.32e9}
# bench/gpu_results.json was measured before the classical-fill head (issue 18) joined the
# preset: the count is of the generator as measured. Drop this once the rows are remeasured.
MEASURED_HEAD = {"fill_prior": False, "mask_weight": 0.0}


def gan_forward_flops() -> dict[str, float]:
    """XLA's cost analysis of one image's forward pass through each of the preset's GAN networks.

    Needs the JAX backend (``KERAS_BACKEND=jax``): its compiled functions report it.
    """
    import jax
    import numpy as np

    from restorebench.training.fit import build_trainer

    size = FULL["size"]
    measured = dataclasses.replace(settings("gan", quick=False), **MEASURED_HEAD)
    trainer = build_trainer("gan", size, measured, seed=0)
    image = np.zeros((1, size, size, 3), np.float32)
    inputs = {"generator": image, "discriminator": [image, image]}
    counts = {}
    for name, x in inputs.items():
        network = getattr(trainer, name)
        forward = jax.jit(
            lambda weights, others, x, network=network: network.stateless_call(
                weights, others, x, training=True
            )[0]
        )
        compiled = forward.lower(
            [v.value for v in network.trainable_variables],
            [v.value for v in network.non_trainable_variables],
            x,
        ).compile()
        analysis = compiled.cost_analysis()
        counts[name] = float((analysis[0] if isinstance(analysis, list) else analysis)["flops"])
    return counts


def settings(family: str, quick: bool):
    """The humanface8000 preset's entry of ``family``; with ``quick``, narrow networks."""
    from restorebench.models import families
    from restorebench.models.families.base import read_settings

    entry = yaml.safe_load(PRESET.read_text())["models"][family]
    if quick:
        narrow = {"vae": {"latent_dim": 8}, "gan": {"discriminator_filters": [8, 16]}}
        entry = {**entry, "filters": [8, 16, 16], **narrow[family]}
    return read_settings(families.load(family).settings, entry, f"models.{family}")


def _input_seconds(batches, jax) -> tuple[float, float]:
    """Median seconds per batch on the host (index, flip, convert), then copied to the device."""
    import numpy as np

    host, copy = [], []
    for index in range(len(batches)):
        started = time.perf_counter()
        pair = batches[index]
        host.append(time.perf_counter() - started)
        started = time.perf_counter()
        jax.block_until_ready(jax.device_put(pair))
        copy.append(time.perf_counter() - started)
    return float(np.median(host)), float(np.median(copy))


def _resident_rate(trainer, pair, steps: int, keras) -> float:
    """Images/s of ``fit`` on one batch kept on the device: the step alone, no input."""

    class Resident(keras.utils.PyDataset):
        def __len__(self):
            return steps

        def __getitem__(self, index):
            return pair

    started = time.perf_counter()
    trainer.fit(Resident(), epochs=1, verbose=0)
    return len(pair[0]) * steps / (time.perf_counter() - started)


# Square matrices of the peak probe: large enough to keep a GPU's matrix units full.
PEAK_SIZE = {"full": 8192, "quick": 256}


def matmul_peak_tflops(dtype: str, size: int, repeats: int = 20) -> float:
    """The device's measured matrix-multiply rate in ``dtype``: the ceiling MFU is taken against.

    Measured, not the datasheet's: the figure this card reaches here, with this jax,
    at the step's own precision (bfloat16 for the mixed modes, float32 otherwise).
    """
    import jax
    import jax.numpy as jnp

    matrix = jnp.ones((size, size), dtype)
    product = jax.jit(lambda a: a @ a)
    product(matrix).block_until_ready()
    started = time.perf_counter()
    for _ in range(repeats):
        result = product(matrix)
    result.block_until_ready()
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e12


def utilisation(trainer, pair, resident_rate: float, peak_tflops: float) -> dict:
    """FLOP per image of the compiled train step (XLA's cost analysis), and MFU at ``resident_rate``.

    MFU is the step's arithmetic rate with its batch kept on the device against the
    card's measured matrix rate: how far the step is from being bound by arithmetic.
    """
    from bench import step_profile

    per_image = step_profile.flops(step_profile.compiled_step(trainer, pair)) / len(pair[0])
    achieved = resident_rate * per_image / 1e12
    return {
        "step_gflop_per_image": per_image / 1e9,
        "achieved_tflops": achieved,
        "peak_tflops": peak_tflops,
        "mfu": achieved / peak_tflops if peak_tflops else None,
    }


def measure(spec: dict):
    """Each batch size of ``spec`` in this process, one row (a dict) yielded per batch."""
    from restorebench.runtime import accel

    accel.configure()  # before Keras is first imported
    import jax
    import keras
    import numpy as np

    from restorebench.training.batches import PairBatches
    from restorebench.training.fit import build_trainer

    if keras.backend.backend() != "jax":
        raise SystemExit(f"bench.gpu_probe measures the jax backend, not {keras.backend.backend()}")
    precision, jit = MODES[spec["mode"]]
    size, steps = spec["size"], spec["steps"]
    device = jax.devices()[0]
    workers = spec["workers"] or accel.input_workers(accel.gpu_count())
    rng = np.random.default_rng(0)
    peak_dtype = "bfloat16" if precision == "mixed_bfloat16" else "float32"
    peak = matmul_peak_tflops(peak_dtype, PEAK_SIZE["quick" if spec["quick"] else "full"])
    for batch in spec["batches"]:
        row = {key: spec[key] for key in ("family", "mode", "size")}
        row |= {"batch": batch, "workers": workers}
        try:
            family_settings = dataclasses.replace(
                settings(spec["family"], spec["quick"]), batch_size=batch
            )
            trainer = build_trainer(
                spec["family"], size, family_settings, seed=0, precision=precision, jit_compile=jit
            )
            pairs = rng.integers(0, 256, (2, batch * steps, size, size, 3), dtype=np.uint8)
            batches = PairBatches(
                pairs[0], pairs[1], batch, shuffle=True, seed=0, flip=True, workers=workers
            )
            started = time.perf_counter()
            trainer.fit(batches, epochs=1, verbose=0)  # compiles
            warmup = time.perf_counter() - started
            started = time.perf_counter()
            trainer.fit(batches, epochs=spec["timed_epochs"], verbose=0)
            seconds = time.perf_counter() - started
            resident = _resident_rate(trainer, jax.device_put(batches[0]), steps, keras)
            # XLA modes only: there the count reuses fit's executable; op by op it would compile
            used = utilisation(trainer, batches[0], resident, peak) if jit else {}
        except (RuntimeError, MemoryError) as error:  # out of memory: a row; the next batch runs
            yield row | {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"}
            continue
        rate = batch * steps * spec["timed_epochs"] / seconds
        host, copy = _input_seconds(batches, jax)
        stats = device.memory_stats() or {}
        epoch = (TRAINED // batch) * batch / rate
        yield row | {
            "device": device.device_kind,
            "platform": device.platform,
            "host_cores": os.cpu_count(),
            "jax": jax.__version__,
            "keras": keras.__version__,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "images_per_s": rate,
            "resident_images_per_s": resident,
            "step_ms": 1000 * batch / rate,
            "input_host_ms": 1000 * host,
            "input_copy_ms": 1000 * copy,
            "warmup_s": warmup,
            "epoch_s": epoch,
            "epochs_100_min": epoch * EPOCHS / 60,
            "peak_gib": stats["peak_bytes_in_use"] / 2**30
            if "peak_bytes_in_use" in stats
            else None,
            **used,
        }
        del trainer, batches, pairs


def run_child(spec: dict, seconds: float):
    """``measure(spec)`` in a child under ``KERAS_BACKEND=jax``; yields its rows as they come.

    Past ``seconds`` the child is killed and the batches it had not reached are rows
    saying so; a child that dies says why (its last line of stderr) in its rows.
    """
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bench.gpu_probe", "--child", json.dumps(spec)]
    done, fired = set(), []
    # stderr to a file: a full pipe would stall a chatty child while stdout is read
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        ) as child,
    ):
        timer = threading.Timer(max(0.0, seconds), lambda: (fired.append(1), child.kill()))
        timer.start()
        for line in child.stdout:
            if line.startswith("{"):
                row = json.loads(line)
                done.add(row["batch"])
                yield row
        child.wait()
        timer.cancel()
        errors.seek(0)
        reason = "out of time" if fired else (errors.read().strip() or "no output")
    for batch in spec["batches"]:
        if batch not in done:
            row = {key: spec[key] for key in ("family", "mode", "workers", "size")}
            yield row | {"batch": batch, "error": reason.splitlines()[-1][:200]}


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def table(rows: list[dict]) -> str:
    def cell(row: dict, key: str, digits: int) -> str:
        value = row.get(key)
        return "-" if value is None else f"{value:,.{digits}f}"

    header = (
        "| model | mode | input threads | batch | images/s | batch kept on device: images/s "
        "| step ms | one thread's input ms (host + copy) "
        f"| compile + first epoch s | epoch of {TRAINED:,} s | {EPOCHS} epochs min "
        "| peak GPU GiB | step GFLOP/image | MFU (step alone) |"
    )
    lines = [header, "|---" * 14 + "|"]
    for row in rows:
        head = f"| {row['family']} | {row['mode']} | {row['workers'] or 'auto'} | {row['batch']} "
        if "error" in row:
            lines.append(head + f"| not measured: {row['error']} |" + " |" * 9)
            continue
        lines.append(
            head + f"| {cell(row, 'images_per_s', 0)} | {cell(row, 'resident_images_per_s', 0)} "
            f"| {cell(row, 'step_ms', 1)} "
            f"| {cell(row, 'input_host_ms', 1)} + {cell(row, 'input_copy_ms', 1)} "
            f"| {cell(row, 'warmup_s', 1)} | {cell(row, 'epoch_s', 1)} "
            f"| {cell(row, 'epochs_100_min', 1)} | {cell(row, 'peak_gib', 2)} "
            f"| {cell(row, 'step_gflop_per_image', 3)} | {percent(row.get('mfu'))} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", help="JSON file for the rows")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the script")
    parser.add_argument("--plan", nargs="+", help="family:mode:batches[:workers] entries")
    parser.add_argument("--deadline", type=float, default=3600, help="seconds for all entries")
    parser.add_argument(
        "--merge", action="store_true", help="keep OUT's other rows; replace those measured again"
    )
    parser.add_argument(
        "--gan-flops", action="store_true", help="print gan_forward_flops() as JSON (JAX)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="trace the GAN and VAE steps into DIR and digest them (bench.step_profile)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.gan_flops:
        print(json.dumps(gan_forward_flops()))
        return
    if args.profile:
        from bench import step_profile

        done = step_profile.run_child([str(args.profile), *(["--quick"] if args.quick else [])])
        print(done.stdout, end="")
        return
    if args.child:
        for row in measure(json.loads(args.child)):
            print(json.dumps(row), flush=True)
        return
    if args.out is None:
        parser.error("the JSON output path is required")
    plan = args.plan or (QUICK_PLAN if args.quick else FULL_PLAN)
    specs = [parse_plan(entry, args.quick) for entry in plan]
    deadline = time.monotonic() + args.deadline
    kept = json.loads(args.out.read_text())["rows"] if args.merge and args.out.exists() else []
    rows = []
    for spec in specs:
        for row in run_child(spec, deadline - time.monotonic()):
            rows.append(row)
            measured = {row_key(r) for r in rows if "error" not in r}
            others = [r for r in kept if row_key(r) not in measured]
            args.out.write_text(json.dumps({"rows": others + rows}, indent=1) + "\n")
            print(table([row]).splitlines()[-1], flush=True)
    print(f"\n{table(rows)}\n\nwritten to {args.out}")


def row_key(row: dict) -> tuple:
    """What a row measured: a later row with the same key replaces it under ``--merge``."""
    return tuple(row[key] for key in ("family", "mode", "size", "batch", "workers"))


if __name__ == "__main__":
    main()
