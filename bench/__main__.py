"""Run the benchmark suite and write BENCHMARKS.md and bench/results.json.

    python -m bench [--quick] [--only prepare,training,...] [--scratch DIR]

The full suite takes about an hour on a 2-core CPU (the quality item, which needs
../shared/data/faces-dev, half of it); ``--quick`` runs every
item at toy sizes in a few minutes (a smoke test: its figures mean nothing).
Generated data lives in the scratch folder (default: $TMPDIR/restorebench-bench),
never in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import traceback
from pathlib import Path

from bench import children, gpu_probe, items, machine, quality, report, report_quality
from bench.targets import HUMANFACE8000_PAIRS

REPO = Path(__file__).resolve().parents[1]
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
ORIGIN_FILTERS_NOTE = "the origin's widths (schema defaults), no input skip"


def _matrix(sizes: dict[int, list[int]], steps: int) -> list[dict]:
    return [
        {"model": model, "size": size, "batch": batch, "warmup": 1, "steps": steps}
        for model in ("gan", "vae")
        for size, batches in sizes.items()
        for batch in batches
    ]


FULL = {
    "cores": CORES,
    "runs": 3,
    "warmup": 1,
    "pairs": HUMANFACE8000_PAIRS,
    "prepare_size": 256,
    "train_pairs": 512,
    "training": _matrix({64: [16, 64], 128: [16, 64], 256: [16, 64]}, steps=3),
    "origin_sizes": [64, 128],
    "origin_batch": 64,
    "origin_steps": 5,
    "origin_warmup": 2,
    "origin_rounds": 3,
    "variants": [
        {"model": "gan", "size": size, "batch": 64, "warmup": 1, "steps": 3, **change}
        for size in (64, 128)
        for change in ({"policy": "mixed_bfloat16"}, {"jit": True})
    ],
    "single_thread": [{"model": "gan", "size": 64, "batch": 64, "warmup": 1, "steps": 3}],
    "allocator": {"model": "gan", "size": 64, "batch": 64, "warmup": 1, "steps": 3},
    "allocator_rounds": 2,
    "score": {"size": 64, "test": 816, "train": 64},
    "viewer": {"images": HUMANFACE8000_PAIRS, "size": 256, "steps": 100},
    "demo_overrides": {},
    # Issue 18's budgets: the study's own 256 px gets the most time.
    "quality": {"budgets_s": {64: 300, 128: 600, 256: 1800}},
}
TINY_NETS = {
    "vae": {"filters": [8, 16], "latent_dim": 4, "batch_size": 4},
    "gan": {"filters": [8, 16], "discriminator_filters": [8], "batch_size": 4},
}
TINY_DIFFUSION = {"filters": [8, 16], "time_width": 8, "batch_size": 4}
QUICK = {
    "cores": CORES,
    "runs": 1,
    "warmup": 0,
    "pairs": 40,
    "prepare_size": 32,
    "train_pairs": 40,
    "training": _matrix({16: [4]}, steps=1),
    "origin_sizes": [16],
    "origin_batch": 4,
    "origin_steps": 1,
    "origin_warmup": 1,
    "origin_rounds": 1,
    "variants": [
        {
            "model": "gan",
            "size": 16,
            "batch": 4,
            "warmup": 1,
            "steps": 1,
            "policy": "mixed_bfloat16",
        }
    ],
    "single_thread": [],
    "allocator": {"model": "gan", "size": 16, "batch": 4, "warmup": 1, "steps": 1},
    "allocator_rounds": 1,
    "score": {"size": 16, "test": 8, "train": 8, **TINY_NETS},
    "viewer": {"images": 20, "size": 32, "steps": 5},
    "demo_overrides": {
        "dataset": {"image_size": 16, "demo_images": 24, "min_side": 8, "test_fraction": 0.25},
        "train": {"validation_fraction": 0},
        "models": {
            "vae": {"epochs": 1, **TINY_NETS["vae"]},
            "gan": {"epochs": 1, **TINY_NETS["gan"]},
        },
        "score": {"bootstrap": 100},
    },
    # A smoke run of the item's every path: each contender, a tiny network, a few photos.
    "quality": {
        "budgets_s": {32: 2},
        "limit": 80,  # the origin's loop trains on batches of 64
        "overrides": {**TINY_NETS, "diffusion": TINY_DIFFUSION},
        "sampling_steps": [1, 4, 16],
    },
}
ITEMS = (
    "prepare",
    "training",
    "origin",
    "allocator",
    "breakdown",
    "predict_score",
    "viewer",
    "demo",
    "dry_run",
    "quality",
)


def run(profile: dict, only: set[str], scratch: Path) -> dict:
    """Every item asked for; a failing item is recorded with its error and the rest still run."""
    results: dict = {}

    def attempt(name: str, work):
        if name not in only:
            return None
        children.log(f"{name} ...")
        start = time.perf_counter()
        try:
            results[name] = work()
        except Exception as error:  # noqa: BLE001 (one broken item must not hide the others' figures)
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            traceback.print_exc()
        children.log(f"{name} done in {time.perf_counter() - start:.0f} s")
        return results[name]

    needs_data = only & {"prepare", "training", "origin", "allocator", "breakdown", "predict_score"}
    data = items.humanface_data(profile, scratch) if needs_data else None
    attempt("prepare", lambda: items.prepare(profile, scratch, data))
    if only & {"training", "origin", "allocator"}:
        subset, datasets = items.training_datasets(profile, scratch, data)

        def training():
            rows = items.training(
                {**profile, "training": profile["training"] + profile["variants"]}, datasets
            )
            single = profile["single_thread"]
            return {
                "matrix": rows[: len(profile["training"])],
                "variants": rows[len(profile["training"]) :],
                "single_thread": items.training(
                    {**profile, "training": single, "cores": 1}, datasets
                )
                if single
                else [],
                "networks": ORIGIN_FILTERS_NOTE,
            }

        attempt("training", training)
        attempt("origin", lambda: items.origin(profile, subset, datasets))
        attempt("allocator", lambda: items.allocator(profile, datasets))
    attempt("breakdown", lambda: items.breakdown(profile, data))
    attempt("predict_score", lambda: items.predict_score(profile, scratch, data))
    attempt("viewer", lambda: items.viewer(profile, scratch))
    demo = attempt("demo", lambda: items.demo(profile, scratch))
    if isinstance(demo, tuple):
        results["demo"], completed = demo
    else:
        completed = None

    def dry_run():
        folder = completed
        if folder is None:  # a completed demo run is what the dry run needs
            folder = items.workflow_copy(scratch / "demo", profile["demo_overrides"])
            items.snakemake(folder, "--cores", "all")
        return items.dry_run(profile, folder)

    attempt("dry_run", dry_run)
    attempt("quality", lambda: quality.item(profile, scratch))
    return results


def with_trials(document: dict) -> dict:
    """The results plus the recorded quality lever trials and GPU rows, for the markdown only."""
    trials = json.loads(quality.TRIALS.read_text()) if quality.TRIALS.exists() else []
    gpu = json.loads(gpu_probe.RESULTS.read_text())["rows"] if gpu_probe.RESULTS.exists() else []
    return {**document, "quality_trials": trials, "gpu": gpu}


def write_outputs(document: dict, markdown: Path) -> None:
    """BENCHMARKS.md and, beside it, the time-to-quality plot it shows."""
    plot = markdown.parent / report_quality.CURVE_PLOT
    plot.parent.mkdir(parents=True, exist_ok=True)
    report_quality.plot_time_to_quality(document, plot)
    markdown.write_text(report.markdown(with_trials(document)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every item at toy sizes (smoke test)")
    parser.add_argument(
        "--only", default=",".join(ITEMS), help=f"comma-separated subset of {', '.join(ITEMS)}"
    )
    parser.add_argument(
        "--scratch", type=Path, default=Path(tempfile.gettempdir()) / "restorebench-bench"
    )
    parser.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument(
        "--merge", action="store_true", help="update the items run in the existing --results file"
    )
    parser.add_argument(
        "--from-results", action="store_true", help="only rewrite the markdown from --results"
    )
    parser.add_argument(
        "--photos",
        type=Path,
        default=quality.FACES,
        help="the quality item's folder of clean photos (default: the team's faces-dev)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        help="the quality item at these of the profile's sizes only (with --merge the others stay)",
    )
    parser.add_argument(
        "--contenders",
        type=lambda text: text.split(","),
        help=f"the quality item's contenders, a subset of {', '.join(quality.CONTENDERS)} "
        "(with --merge the others measured at the same size and budget stay)",
    )
    args = parser.parse_args()
    if args.from_results:
        write_outputs(json.loads(args.results.read_text()), args.markdown)
        return
    only = set(args.only.split(","))
    unknown = only - set(ITEMS)
    if unknown:
        parser.error(
            f"--only: unknown item(s) {', '.join(sorted(unknown))}; choose from {', '.join(ITEMS)}"
        )
    profile = {**(QUICK if args.quick else FULL), "photos": str(args.photos)}
    if args.sizes:
        budgets = profile["quality"]["budgets_s"]
        if set(args.sizes) - set(budgets):
            parser.error(f"--sizes: the profile's quality sizes are {', '.join(map(str, budgets))}")
        profile["quality"] = {
            **profile["quality"],
            "budgets_s": {size: budgets[size] for size in args.sizes},
        }
    if args.contenders:
        if set(args.contenders) - set(quality.CONTENDERS):
            parser.error(f"--contenders: choose from {', '.join(quality.CONTENDERS)}")
        profile["quality"] = {**profile["quality"], "contenders": args.contenders}
    described = machine.describe()
    scratch = args.scratch / ("quick" if args.quick else "full")
    scratch.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run(profile, only, scratch)
    document = {
        "mode": "quick" if args.quick else "full",
        "machine": described,
        "profile": profile,
        "suite_s": time.perf_counter() - start,
        "items": results,
    }
    if args.merge:  # the earlier run's other items stay; its machine description and mode too
        earlier = json.loads(args.results.read_text())
        if "quality" in results:
            results["quality"] = quality.merge(earlier["items"].get("quality"), results["quality"])
        earlier["items"].update(results)
        # An earlier rerun no longer describes the items run again now in full (a quality
        # item rerun for some sizes or contenders keeps the earlier contests' runs).
        partial = {"quality"} if args.sizes or args.contenders else set()
        kept = [
            {**rerun, "items": [item for item in rerun["items"] if item not in only - partial]}
            for rerun in earlier.get("reruns", [])
        ]
        earlier["reruns"] = [rerun for rerun in kept if rerun["items"]]
        earlier["reruns"].append(
            {"items": sorted(only), "machine": described, "suite_s": document["suite_s"]}
        )
        document = earlier
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(document, indent=1, default=str) + "\n")
    write_outputs(document, args.markdown)
    children.log(f"wrote {args.markdown} and {args.results} ({document['suite_s'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
