"""The benchmark items. Each takes the run's settings and scratch folder and returns its figures.

Snakemake items run the real rules in a scratch clone of the workflow; TensorFlow
and Qt items run in child processes so each starts with its own thread settings.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import resource
import shutil
import statistics
import time
from pathlib import Path

from bench import fixtures
from bench.children import log, run_child
from bench.timing import repeat
from bench.workflow import rule_seconds, snakemake, workflow_copy
from restorebench import contract

# The workflow benchmarks run config.yaml's models beside the baselines.
TRAINED = ("vae", "gan")
MODELS = (*TRAINED, *contract.BASELINES)
PATHS = contract.RunPaths.of_run("score")
ORIGIN_POLICIES = ("float32", "mixed_bfloat16")


def _snakemake_wall(folder: Path, *args: str) -> float:
    start = time.perf_counter()
    snakemake(folder, *args)
    return time.perf_counter() - start


def humanface_data(profile: dict, scratch: Path) -> Path:
    """The generated humanface8000-like folder (cached between benchmark runs)."""
    start = time.perf_counter()
    folder = fixtures.humanface_like(
        scratch / f"humanface-like-{profile['pairs']}", profile["pairs"]
    )
    log(
        f"humanface-like folder: {profile['pairs']} pairs ready in {time.perf_counter() - start:.1f} s"
    )
    return folder


def prepare(profile: dict, scratch: Path, data: Path) -> dict:
    """Whole ``prepare`` rule wall time on the humanface-like folder, as the preset runs it."""
    overrides = {
        "run": "bench",
        "dataset": {
            "source": "humanface8000",
            "path": str(data),
            "image_size": profile["prepare_size"],
        },
    }
    folder = workflow_copy(scratch / "prepare-run", overrides)
    target = "results/bench/dataset.h5"
    fixtures.read_through(data)  # page cache warm, as for every later run
    warm = workflow_copy(
        scratch / "prepare-warmup",
        {
            **overrides,
            "dataset": {
                **overrides["dataset"],
                "path": str(
                    fixtures.subset(
                        data, scratch / "prepare-warmup-data", min(256, profile["pairs"])
                    )
                ),
            },
        },
    )
    snakemake(
        warm, target, "--cores", str(profile["cores"]), "--forcerun", "prepare"
    )  # warm-up: imports, caches
    timed = repeat(
        lambda: snakemake(
            folder, target, "--cores", str(profile["cores"]), "--forcerun", "prepare"
        ),
        runs=profile["runs"],
        warmup=0,
    )
    pairs = profile["pairs"]
    return {
        "pairs": pairs,
        "image_size": profile["prepare_size"],
        "wall_s": timed,
        "pairs_per_s": pairs / timed["median"],
        "rule_s": rule_seconds(folder / "results/bench/benchmarks/prepare.tsv"),
        "target_pairs_per_s": 8164 / 60,
    }


def training_datasets(profile: dict, scratch: Path, data: Path) -> tuple[Path, dict[str, str]]:
    """The first pairs of the folder: JPEG folders for the origin, and our HDF5 dataset per size made from them."""
    from restorebench.data.prepare import PrepareSettings
    from restorebench.data.prepare import prepare as build

    subset = fixtures.subset(data, scratch / "train-data", profile["train_pairs"])
    datasets = {}
    for size in sorted(
        {spec["size"] for spec in profile["training"]} | set(profile["origin_sizes"])
    ):
        path = scratch / f"train-{size}.h5"
        # test_fraction 0: every pair trains, as the origin's loop sees every file
        settings = PrepareSettings(
            source="humanface8000", image_size=size, test_fraction=0.0, seed=123
        )
        build(
            settings, subset, path, scratch / f"train-{size}-skipped.tsv", workers=profile["cores"]
        )
        datasets[str(size)] = str(path)
    return subset, datasets


def training(profile: dict, datasets: dict[str, str]) -> list[dict]:
    """Steady images/s of our VAE and GAN (the origin's networks) per size and batch size."""
    return run_child(
        "bench.train_probe",
        json.dumps(datasets),
        json.dumps(profile["training"]),
        threads=profile["cores"],
    )


def origin(profile: dict, subset: Path, datasets: dict[str, str]) -> list[dict]:
    """The origin's notebook loop beside our GAN, same size, batch, networks' widths, data and threads.

    Ours runs twice per round, in float32 (the origin's precision) and in mixed_bfloat16
    (``train.precision``). The runs alternate, round after round, so a busy neighbour
    slows all alike; each ratio is the median of the rounds' ratios.
    """
    rows = []
    for size in profile["origin_sizes"]:
        batch, steps, warmup = (
            profile["origin_batch"],
            profile["origin_steps"],
            profile["origin_warmup"],
        )
        specs = [
            {
                "model": "gan",
                "size": size,
                "batch": batch,
                "steps": steps,
                "warmup": warmup,
                "policy": policy,
            }
            for policy in ORIGIN_POLICIES
        ]
        rounds = []
        for _ in range(profile["origin_rounds"]):
            theirs = run_child(
                "bench.origin_reference",
                str(subset),
                "--size",
                str(size),
                "--batch",
                str(batch),
                "--steps",
                str(steps),
                "--warmup",
                str(warmup),
                threads=profile["cores"],
            )
            ours = {
                spec["policy"]: run_child(
                    "bench.train_probe",
                    json.dumps(datasets),
                    json.dumps([spec]),
                    threads=profile["cores"],
                )[0]
                for spec in specs
            }
            ratios = {
                policy: run["images_per_s"] / theirs["images_per_s"] for policy, run in ours.items()
            }
            rounds.append({"origin": theirs, "ours": ours, "ratio": ratios})
        row = {"size": size, "batch": batch, "policies": {}}
        for policy in ORIGIN_POLICIES:
            middle = sorted(rounds, key=lambda r: r["ratio"][policy])[len(rounds) // 2]
            row["policies"][policy] = {
                "origin": middle["origin"],
                "ours": middle["ours"][policy],
                "ratio": middle["ratio"][policy],
                "ratios": [r["ratio"][policy] for r in rounds],
            }
        rows.append(row)
    return rows


def _busy_loop() -> None:
    while True:
        pass


def _timed_child(spec: dict, datasets: dict[str, str], threads: int, environ: dict) -> dict:
    """One train_probe child; its result with the CPU seconds it spent in user and kernel mode."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    (row,) = run_child(
        "bench.train_probe",
        json.dumps(datasets),
        json.dumps([spec]),
        threads=threads,
        environ=environ,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, kernel = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {**row, "user_s": user, "sys_s": kernel, "sys_share": kernel / (user + kernel)}


def allocator(profile: dict, datasets: dict[str, str]) -> dict:
    """Our GAN step with the allocator setting (``accel.keep_freed_memory``) and without
    (RESTOREBENCH_MALLOC=default), quiet and beside a competing CPU load of as many busy
    threads as there are cores. Contenders alternate, round after round; each ratio is the
    median of the rounds' ratios."""
    spec, threads = profile["allocator"], profile["cores"]
    settings = {"ours": {}, "glibc default": {"RESTOREBENCH_MALLOC": "default"}}
    runs: dict[str, list[dict]] = {}
    for _ in range(profile["allocator_rounds"]):
        for load in ("quiet", "loaded"):
            hogs = []
            if load == "loaded":
                context = multiprocessing.get_context("spawn")
                hogs = [context.Process(target=_busy_loop, daemon=True) for _ in range(threads)]
                for hog in hogs:
                    hog.start()
            try:
                for name, environ in settings.items():
                    row = _timed_child(spec, datasets, threads, environ)
                    runs.setdefault(f"{name}, {load}", []).append(row)
            finally:
                for hog in hogs:
                    hog.kill()
                    hog.join()

    def median(key: str, field: str) -> float:
        return statistics.median(row[field] for row in runs[key])

    def ratio(a: str, b: str) -> float:
        return statistics.median(
            x["images_per_s"] / y["images_per_s"] for x, y in zip(runs[a], runs[b])
        )

    return {
        "spec": spec,
        "load_threads": threads,
        "runs": {
            key: {
                "images_per_s": median(key, "images_per_s"),
                "sys_share": median(key, "sys_share"),
                "steady_sys_share": median(key, "steady_kernel_share"),
                "rounds": len(rows),
            }
            for key, rows in runs.items()
        },
        "speedup_quiet": ratio("ours, quiet", "glibc default, quiet"),
        "speedup_loaded": ratio("ours, loaded", "glibc default, loaded"),
        "slowdown_under_load": {
            name: 1 / ratio(f"{name}, loaded", f"{name}, quiet") for name in settings
        },
    }


def breakdown(profile: dict, data: Path) -> dict:
    """Where the time goes: one GAN step taken apart per size, and one prepared pair."""
    gan = [
        run_child(
            "bench.breakdown_probe",
            str(size),
            str(profile["origin_batch"]),
            str(max(3, profile["runs"])),
            threads=profile["cores"],
        )
        for size in profile["origin_sizes"]
    ]
    return {"gan_step": gan, "prepare_pair": prepare_pair(profile, data)}


def prepare_pair(profile: dict, data: Path, count: int = 200) -> dict:
    """Milliseconds per pair of each stage of ``prepare``'s worker, in one process (no pool)."""
    from restorebench.data.dataset import compress_image
    from restorebench.data.images import fit_square, load_rgb
    from restorebench.data.sources import discover

    size, limits = profile["prepare_size"], {"max_pixels": 40_000_000, "min_side": 32}
    stages = (
        "decode clean",
        "resize clean",
        "decode damaged",
        "resize damaged",
        "compress level 4",
        "compress level 1",
    )
    spent = dict.fromkeys(stages, 0.0)
    stored = {4: 0, 1: 0}
    pairs = discover("humanface8000", data).pairs[:count]
    for pair in pairs:
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            spent[stage] += now - clock
            clock = now

        clean = load_rgb(pair.clean, **limits)
        lap("decode clean")
        clean = fit_square(clean, size, "stretch")
        lap("resize clean")
        damaged = load_rgb(pair.damaged, **limits)
        lap("decode damaged")
        damaged = fit_square(damaged, size, "stretch")
        lap("resize damaged")
        for level in (4, 1):
            stored[level] += sum(len(compress_image(image, level)) for image in (clean, damaged))
            lap(f"compress level {level}")
    per_pair = {stage: 1000 * seconds / len(pairs) for stage, seconds in spent.items()}
    worker = sum(v for k, v in per_pair.items() if k != "compress level 1")
    return {
        "pairs": len(pairs),
        "image_size": size,
        "ms_per_pair": per_pair,
        "worker_ms": worker,
        "ceiling_pairs_per_s": 1000 * profile["cores"] / worker,
        "bytes_per_pair": {str(k): v / len(pairs) for k, v in stored.items()},
    }


def _score_run_data(
    data: Path, folder: Path, test: int, train: int, seed: int, fraction: float
) -> Path:
    """Pairs linked under names the split puts in test (``test`` of them) or train (``train``)."""
    from restorebench.data.dataset import split_of
    from restorebench.data.sources import HUMANFACE_FOLDER

    shutil.rmtree(folder, ignore_errors=True)
    source = Path(data) / HUMANFACE_FOLDER
    files = sorted(p.name for p in (source / "color").iterdir())
    wanted, names, candidate = {"test": test, "train": train}, [], 0
    while sum(wanted.values()):
        name = f"p{candidate:06d}"
        candidate += 1
        split = split_of(name, seed, fraction)
        if wanted[split]:
            wanted[split] -= 1
            names.append(name)
    for kind in ("color", "gray"):
        (folder / HUMANFACE_FOLDER / kind).mkdir(parents=True)
        for name, file in zip(names, files):
            (folder / HUMANFACE_FOLDER / kind / f"{name}.jpg").symlink_to(
                (source / kind / file).resolve()
            )
    return folder


def predict_score(profile: dict, scratch: Path, data: Path) -> dict:
    """predict + score rules for every model on ``score_test`` test images; models trained 1 epoch."""
    settings = profile["score"]
    pairs = _score_run_data(
        data, scratch / "score-data", settings["test"], settings["train"], 123, 0.1
    )
    overrides = {
        "run": "score",
        "dataset": {
            "source": "humanface8000",
            "path": str(pairs),
            "image_size": settings["size"],
            "test_fraction": 0.1,
            "seed": 123,
        },
        "train": {"validation_fraction": 0},
        "models": {
            "vae": {"epochs": 1, **settings.get("vae", {})},
            "gan": {"epochs": 1, **settings.get("gan", {})},
        },
    }
    folder = workflow_copy(scratch / "score-run", overrides)
    shutil.rmtree(folder / "results", ignore_errors=True)
    cores = str(profile["cores"])
    snakemake(
        folder,
        *(PATHS.restorer(model) for model in TRAINED),
        "--cores",
        cores,
        "--resources",
        "gpu=2",
    )
    results = folder / "results/score"
    targets = [PATHS.metrics(model) for model in MODELS]

    def clear():
        for sub in ("predictions", "metrics"):
            shutil.rmtree(results / sub, ignore_errors=True)

    timed = repeat(
        lambda: snakemake(folder, *targets, "--cores", cores),
        runs=profile["runs"],
        warmup=profile["warmup"],
        before=clear,
    )
    rules = {
        f"{rule}_{model}": rule_seconds(results / f"benchmarks/{rule}_{model}.tsv")
        for rule in ("predict", "score")
        for model in MODELS
    }
    with open(results / "metrics/gan.csv") as handle:
        scored = sum(1 for _ in csv.DictReader(handle))
    return {
        "test_images": scored,
        "train_images": settings["train"],
        "image_size": settings["size"],
        "models": list(MODELS),
        "wall_s": timed,
        "rule_s": rules,
    }


def viewer(profile: dict, scratch: Path) -> dict:
    settings = profile["viewer"]
    return run_child(
        "bench.viewer_probe",
        str(scratch / "viewer"),
        str(settings["images"]),
        str(settings["size"]),
        str(profile["runs"]),
        str(settings["steps"]),
        threads=profile["cores"],
    )


def demo(profile: dict, scratch: Path) -> tuple[dict, Path]:
    """The README's demo (``snakemake --cores all`` on the default config) from nothing, once."""
    folder = workflow_copy(scratch / "demo", profile["demo_overrides"])
    for leftover in ("results", ".snakemake", "logs", "benchmarks"):
        shutil.rmtree(folder / leftover, ignore_errors=True)
    wall = _snakemake_wall(folder, "--cores", "all")
    run = yaml_run(folder)
    means = {}
    with open(folder / "results" / run / "summary.csv") as handle:
        for row in csv.DictReader(handle):
            means.setdefault(row["model"], {})[row["metric"]] = float(row["mean"])
    # The target's scores: the whole image's pixel scores (the perceptual ones are reported).
    pixel_scores = [
        m
        for m in contract.metrics_in(contract.REGIONS[0])
        if m.name not in contract.PERCEPTUAL_METRICS
    ]
    beats = {
        model: all(
            (means[model][m.name] < means[contract.INPUT_MODEL][m.name])
            if m.lower_is_better
            else (means[model][m.name] > means[contract.INPUT_MODEL][m.name])
            for m in pixel_scores
        )
        for model in TRAINED
        if model in means
    }
    rules = {
        p.stem: rule_seconds(p)
        for p in sorted((folder / "results" / run / "benchmarks").glob("*.tsv"))
    }
    return {
        "wall_s": wall,
        "means": means,
        "beats_damaged": beats,
        "rule_s": rules,
        "overrides": profile["demo_overrides"],
    }, folder


def yaml_run(folder: Path) -> str:
    import yaml

    return yaml.safe_load((folder / "config.yaml").read_text())["run"]


def dry_run(profile: dict, completed: Path) -> dict:
    """``snakemake -n`` on a completed run: parse, validate, build the DAG, find nothing to do."""
    output = []
    timed = repeat(
        lambda: output.append(_both(snakemake(completed, "-n"))),
        runs=max(3, profile["runs"]),
        warmup=profile["warmup"],
    )
    return {"wall_s": timed, "nothing_to_do": "Nothing to be done" in output[-1]}


def _both(result) -> str:
    return result.stdout + result.stderr
