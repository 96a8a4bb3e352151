"""Where a training step's time goes under JAX: a profiler trace, its digest, XLA's FLOP count.

    python -m bench.step_profile DIR             # on a GPU: the humanface8000 preset at 256 px
    python -m bench.step_profile DIR --quick     # anywhere: 32 px, narrow networks
    python -m bench.step_profile --flops 64,128,256      # FLOP per image per step, as JSON

For each family (the GAN, the VAE) it builds the trainer with ``build_trainer``, trains
one compiling epoch of ``fit`` on ``PairBatches`` of random uint8 pairs, then traces one
more epoch with ``jax.profiler.trace`` into ``DIR/<family>/`` and writes the digest
beside it (``DIR/<family>/digest.txt``, and every figure in ``DIR/profile.json``): the
top ops by time and the shares of convolutions, their gradients, transposed-convolution
gradients, elementwise work and the device waiting on the host. The trace's Chrome-format
``*.trace.json.gz`` is read with the standard library; each op is classified from the
optimized HLO of the same compiled step (its instruction, what it fuses, the layer in its
source metadata). Needs the JAX backend; the trace folder also opens in TensorBoard's
profile plugin or Perfetto.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("gan", "vae")
FULL = {"size": 256, "batch": 64, "steps": 10}
QUICK = {"size": 32, "batch": 4, "steps": 2}

CONV = "convolution, forward"
CONV_GRAD = "convolution, gradients"
TRANSPOSED_GRAD = "transposed convolution, gradients"
ELEMENTWISE = "elementwise, reductions"
OTHER = "copies, loops, collectives"
CATEGORIES = (CONV, CONV_GRAD, TRANSPOSED_GRAD, ELEMENTWISE, OTHER)
# Instructions that move or route data rather than compute on it.
MOVING = {
    "copy", "copy-start", "copy-done", "transpose", "bitcast", "tuple", "get-tuple-element",
    "slice", "dynamic-slice", "dynamic-update-slice", "concatenate", "pad", "while",
    "conditional", "call", "all-reduce", "all-reduce-start", "all-reduce-done", "all-gather",
    "reduce-scatter", "collective-permute", "send", "recv", "infeed", "outfeed", "parameter",
    "constant",
}  # fmt: skip
CONTAINERS = {"while", "conditional", "call"}
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*? ([a-z][\w\-]*)\((.*)$")
_CALLED = re.compile(
    r"(?:calls|body|condition|to_apply|branch_computations)=\{?(%[\w.\-]+(?:,\s*%[\w.\-]+)*)"
)


@dataclasses.dataclass
class Op:
    """One instruction of the optimized HLO, as much of it as the digest needs."""

    opcode: str
    source: str  # the metadata's op_name: the JAX scopes, Keras layer names among them
    target: str  # a custom call's target (cuDNN convolutions on a GPU)
    called: list[str]  # computations it runs (fused, loop bodies, branches)


def parse_hlo(text: str) -> tuple[dict[str, Op], dict[str, list[str]]]:
    """Every instruction by name, and each computation's instruction names."""
    ops, computations, current = {}, defaultdict(list), ""
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith("{"):
            current = line.split()[1 if line.startswith("ENTRY") else 0].lstrip("%")
            continue
        found = _INSTRUCTION.match(line)
        if not found:
            continue
        name, opcode, rest = found.groups()
        source = re.search(r'op_name="([^"]*)"', rest)
        target = re.search(r'custom_call_target="([^"]*)"', rest)
        called = [
            part.strip().lstrip("%")
            for group in _CALLED.findall(rest)
            for part in group.split(",")
            if part.strip()
        ]
        ops[name] = Op(opcode, source[1] if source else "", target[1] if target else "", called)
        computations[current].append(name)
    return ops, dict(computations)


def _convolutions(name: str, ops: dict[str, Op], computations: dict[str, list[str]]) -> list[Op]:
    """The convolutions (and matrix products) ``name`` runs, itself or inside what it calls."""
    op = ops[name]
    if op.opcode in ("convolution", "dot") or (
        op.opcode == "custom-call" and re.search(r"conv|gemm|matmul", op.target, re.IGNORECASE)
    ):
        return [op]
    return [
        inner
        for computation in op.called
        for member in computations.get(computation, [])
        for inner in _convolutions(member, ops, computations)
    ]


def _layer(source: str, layers: dict[str, str]) -> str:
    """The innermost Keras layer named in an op's scopes (``jvp(up0_deconv)`` and the like)."""
    scopes = re.findall(r"[\w.\-]+", source)
    return next((scope for scope in reversed(scopes) if scope in layers), "")


def classify(
    name: str, ops: dict[str, Op], computations: dict[str, list[str]], layers: dict[str, str]
) -> tuple[str, str]:
    """(category, layer) of a top-level op; ``layers`` maps layer names to class names.

    A convolution is a gradient when its scopes say so (JAX's ``transpose(...)`` of the
    backward pass, cuDNN's backward targets) or when it carries no source at all: XLA
    drops the metadata of the gradient convolutions it rewrites, never of the forward
    ones. It is a transposed convolution's gradient when its layer is a Conv2DTranspose.
    """
    op = ops.get(name)
    if op is None:
        return OTHER, ""
    convs = _convolutions(name, ops, computations)
    if convs:
        conv = convs[0]
        source = conv.source or op.source
        layer = _layer(source, layers)
        backward = "transpose(" in source or "Backward" in conv.target or not source
        if not backward:
            return CONV, layer
        transposed = "Transpose" in layers.get(layer, "")
        return (TRANSPOSED_GRAD if transposed else CONV_GRAD), layer
    return (OTHER if _moves(name, ops, computations) else ELEMENTWISE), _layer(op.source, layers)


def _moves(name: str, ops: dict[str, Op], computations: dict[str, list[str]]) -> bool:
    """Whether ``name`` only moves data: a copy, a loop, a collective, or a fusion of such."""
    op = ops[name]
    if op.opcode == "fusion":
        fused = [m for c in op.called for m in computations.get(c, [])]
        return all(_moves(member, ops, computations) for member in fused)
    return op.opcode in MOVING or op.opcode == "custom-call"


def layer_classes(model) -> dict[str, str]:
    """Every nested layer's name and class name: the scopes Keras gives ops under JAX."""
    found, stack = {}, [model]
    while stack:
        layer = stack.pop()
        found[layer.name] = type(layer).__name__
        stack.extend(getattr(layer, "layers", []))
    return found


def read_trace(folder: Path) -> list[dict]:
    """The Chrome-format events of the newest trace under ``folder`` (``*.trace.json.gz``)."""
    files = sorted(Path(folder).rglob("*.trace.json.gz"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"{folder}: no *.trace.json.gz written by jax.profiler")
    with gzip.open(files[-1], "rt") as handle:
        return json.load(handle)["traceEvents"]


def op_events(
    events: list[dict], module: str, ops: dict[str, Op], members: dict[str, set[str]]
) -> list[dict]:
    """The step's op events, each op counted once.

    On a GPU, ops show on the device's lines (kept, the host's dropped) and on an
    ``XLA Ops`` line beside the kernels (kept alone when present). A loop or call whose
    body ops are traced too is left out, or its time would count twice (``members``:
    each computation's instructions, nested ones included).
    """
    names = _line_names(events)
    mine = [
        e
        for e in events
        if e.get("ph") == "X"
        and str(e.get("args", {}).get("hlo_module", "")).split("(")[0] == module
        and e["args"].get("hlo_op")
    ]
    devices = [e for e in mine if names.get((e["pid"], None), "").startswith("/device:")]
    mine = devices or mine
    lined = [e for e in mine if names.get((e["pid"], e["tid"])) == "XLA Ops"]
    mine = lined or mine
    traced = {e["args"]["hlo_op"] for e in mine}
    containers = {
        name
        for name in traced
        if name in ops
        and ops[name].opcode in CONTAINERS
        and any(
            member in traced
            for computation in ops[name].called
            for member in members.get(computation, ())
        )
    }
    return [e for e in mine if e["args"]["hlo_op"] not in containers]


def _line_names(events: list[dict]) -> dict[tuple, str]:
    """Trace lines' names: (pid, None) for a process (``/device:GPU:0``), (pid, tid) a thread."""
    names = {}
    for event in events:
        if event.get("ph") == "M" and event.get("name") in ("process_name", "thread_name"):
            tid = event.get("tid") if event["name"] == "thread_name" else None
            names[(event["pid"], tid)] = event.get("args", {}).get("name", "")
    return names


def _busy_seconds(events: list[dict]) -> tuple[float, float]:
    """(seconds some op ran, span from the first op to the last): overlaps counted once."""
    spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in events)
    if not spans:
        return 0.0, 0.0
    busy, start, end = 0.0, *spans[0]
    for low, high in spans[1:]:
        if low > end:
            busy, start = busy + end - start, low
        end = max(end, high)
    busy += end - start
    return busy / 1e6, (max(high for _, high in spans) - spans[0][0]) / 1e6


def digest(
    events: list[dict], hlo_text: str, layers: dict[str, str], steps: int, top: int = 12
) -> dict:
    """The trace of ``steps`` steps in figures: op times, category shares, the device's idle share."""
    ops, computations = parse_hlo(hlo_text)
    module = hlo_text.split(None, 2)[1].rstrip(",")
    chosen = op_events(events, module, ops, _closure(computations, ops))
    if not chosen:  # a trace layout this reader does not know: say so, not a digest of zeros
        raise ValueError(
            f"the trace holds no op events of module {module} (args hlo_module/hlo_op)"
        )
    per_op: dict[str, float] = defaultdict(float)
    for event in chosen:
        per_op[event["args"]["hlo_op"]] += event["dur"] / 1e6
    total = sum(per_op.values()) or 1.0
    shares = dict.fromkeys(CATEGORIES, 0.0)
    rows = []
    for name, seconds in sorted(per_op.items(), key=lambda item: -item[1]):
        category, layer = classify(name, ops, computations, layers)
        shares[category] += seconds / total
        rows.append({"op": name, "category": category, "layer": layer, "seconds": seconds})
    busy, span = _busy_seconds(chosen)
    return {
        "module": module,
        "steps": steps,
        "op_seconds": sum(per_op.values()),
        "span_s": span,
        "device_busy_s": busy,
        "host_waiting": 1 - busy / span if span else 0.0,
        "shares": shares,
        "top": [
            {**row, "ms_per_step": 1000 * row["seconds"] / steps, "share": row["seconds"] / total}
            for row in rows[:top]
        ],
    }


def _closure(computations: dict[str, list[str]], ops: dict[str, Op]) -> dict[str, set[str]]:
    """Each computation's instructions with those of every computation they call, recursively."""

    def members(name: str, seen: set[str]) -> set[str]:
        if name in seen:
            return set()
        seen.add(name)
        found = set(computations.get(name, []))
        for member in computations.get(name, []):
            for called in ops[member].called:
                found |= members(called, seen)
        return found

    return {name: members(name, set()) for name in computations}


def digest_text(family: str, figures: dict) -> str:
    """The digest as a few lines a person reads first; the figures stay in profile.json."""
    lines = [
        (
            f"{family}: {figures['steps']} traced steps, batch {figures['batch']}, "
            f"{figures['size']} px, {figures['mode']} on {figures['device']}"
        ),
        f"XLA cost analysis: {figures['flops_per_image'] / 1e9:.3f} GFLOP per image per step",
        (
            f"device waiting on the host: {figures['host_waiting']:.0%} of the traced span "
            f"({figures['span_s']:.3f} s, device busy {figures['device_busy_s']:.3f} s)"
        ),
        "op time by kind: "
        + ", ".join(f"{kind} {share:.0%}" for kind, share in figures["shares"].items()),
        "",
        "top ops: ms per step | share | kind | layer | HLO op",
    ]
    for row in figures["top"]:
        lines.append(
            f"{row['ms_per_step']:9.3f} | {row['share']:5.1%} | {row['category']} "
            f"| {row['layer'] or '-'} | {row['op']}"
        )
    return "\n".join(lines) + "\n"


def train_state(trainer) -> tuple:
    """What Keras' JAX trainer passes its pure ``train_step``: every variable's value."""
    return (
        [v.value for v in trainer.trainable_variables],
        [v.value for v in trainer.non_trainable_variables],
        [v.value for v in trainer.optimizer.variables],
        [v.value for v in trainer.metrics_variables],
    )


def lowered_step(trainer, batch: tuple):
    """The train step lowered for ``batch``, the jit ``fit`` uses (``donate_argnums=0``)."""
    import jax

    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)
    return jax.jit(trainer.train_step, donate_argnums=0).lower(train_state(trainer), batch)


def compiled_step(trainer, batch: tuple):
    """The train step as XLA compiles it for ``batch``; after ``fit``, its own executable."""
    return lowered_step(trainer, batch).compile()


def flops(stage) -> float:
    """XLA's count of floating-point operations of one step: of a compiled or a lowered one.

    The compiled count is of the optimized program that runs; the lowered one skips the
    compile, which takes far longer than the count, and is what scaling checks use.
    """
    analysis = stage.cost_analysis()
    return float((analysis[0] if isinstance(analysis, list) else analysis)["flops"])


def _trainer(family: str, size: int, batch: int, mode: str, quick: bool):
    from bench import gpu_probe
    from restorebench.training.fit import build_trainer

    precision, jit = gpu_probe.MODES[mode]
    settings = dataclasses.replace(gpu_probe.settings(family, quick), batch_size=batch)
    return build_trainer(family, size, settings, seed=0, precision=precision, jit_compile=jit)


def flops_per_image(family: str, size: int, batch: int, mode: str, quick: bool) -> float:
    """XLA's FLOP count of one lowered training step of ``family`` at ``size`` px, per image."""
    import numpy as np

    trainer = _trainer(family, size, batch, mode, quick)
    pair = np.zeros((2, batch, size, size, 3), np.float32)
    return flops(lowered_step(trainer, (pair[0], pair[1]))) / batch


def profile(family: str, out: Path, scale: dict, mode: str, quick: bool) -> dict:
    """Trace one epoch of ``fit`` after a compiling one; the digest's figures, files written."""
    import jax
    import numpy as np

    from restorebench.training.batches import PairBatches

    size, batch, steps = scale["size"], scale["batch"], scale["steps"]
    trainer = _trainer(family, size, batch, mode, quick)
    pairs = np.random.default_rng(0).integers(0, 256, (2, batch * steps, size, size, 3), np.uint8)
    batches = PairBatches(pairs[0], pairs[1], batch, shuffle=True, seed=0, flip=True)
    trainer.fit(batches, epochs=1, verbose=0)  # compiles
    compiled = compiled_step(trainer, batches[0])  # fit's own executable, from jax's cache
    folder = out / family
    started = time.perf_counter()
    with jax.profiler.trace(str(folder)):
        trainer.fit(batches, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    hlo = compiled.as_text()
    (folder / "train_step.hlo.txt").write_text(hlo)
    figures = digest(read_trace(folder), hlo, layer_classes(trainer), steps)
    figures |= {
        "family": family,
        "size": size,
        "batch": batch,
        "mode": mode,
        "device": jax.devices()[0].device_kind,
        "platform": jax.devices()[0].platform,
        "traced_wall_s": seconds,
        "flops_per_image": flops(compiled) / batch,
    }
    (folder / "digest.txt").write_text(digest_text(family, figures))
    return figures


def run_child(args: list[str]) -> subprocess.CompletedProcess:
    """This module in a child under ``KERAS_BACKEND=jax`` (the backend is read once, at import)."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    command = [sys.executable, "-m", "bench.step_profile", *args]
    return subprocess.run(command, cwd=REPO, env=env, text=True, capture_output=True, check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", help="folder for traces and digests")
    parser.add_argument("--quick", action="store_true", help="32 px, narrow networks")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--mode", default="mixed_bfloat16+XLA", help="a bench.gpu_probe mode")
    parser.add_argument("--flops", help="sizes (px, comma-separated): print FLOP per image")
    args = parser.parse_args(argv)
    from restorebench.runtime import accel

    accel.configure()  # before Keras is first imported
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(
            f"bench.step_profile needs KERAS_BACKEND=jax, not {keras.backend.backend()}"
        )
    scale = QUICK if args.quick else FULL
    if args.out is None and not args.flops:
        parser.error("give an output folder, --flops, or both")
    if args.out is not None:
        results = [profile(f, args.out, scale, args.mode, args.quick) for f in args.families]
        (args.out / "profile.json").write_text(json.dumps({"profiles": results}, indent=1) + "\n")
        for figures in results:
            print(digest_text(figures["family"], figures))
    if args.flops:
        sizes = [int(size) for size in args.flops.split(",")]
        counts = {
            family: {size: flops_per_image(family, size, scale["batch"], args.mode, args.quick)
                     for size in sizes}
            for family in args.families
        }  # fmt: skip
        print("FLOPS " + json.dumps(counts))


if __name__ == "__main__":
    main()
