"""BENCHMARKS.md from the suite's results: every figure beside its target, and what limits it.

The quality section is ``bench.report_quality``, the GPU section ``bench.report_gpu``.
"""

from __future__ import annotations

from bench.report_cells import error_line, met, number, score_cells, score_header
from bench.report_gpu import gpu_section, gpu_summary
from bench.report_quality import quality_section, target_rows
from bench.report_training import allocator_section, origin_section, training_section, where_section
from bench.targets import TARGETS


def _machine(m: dict) -> list[str]:
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in m["matrix_flags"].items())
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return [
        f"- CPU: {m['cpu']}, {m['cores']} cores available; memory {m['memory_gib']} GiB; GPU: {m['gpu']}",
        f"- CPU matrix features: {flags}",
        f"- Load average at start (1, 5, 15 min): {', '.join(map(str, m['load_average_at_start']))}"
        + (
            " - the machine was shared, wall times are inflated accordingly"
            if m["load_average_at_start"][0] > 0.5
            else ""
        ),
        f"- Date: {m['date']}; commit `{m['commit']}`"
        + (" (with uncommitted changes)" if m["uncommitted_changes"] else ""),
        f"- Python {m['python']} on {m['platform']}; {packages}",
    ]


def _summary(doc: dict) -> list[str]:
    it = doc["items"]
    rows = ["| item | measured | target | |", "|---|---|---|---|"]

    def row(name, value, unit, target: str, digits=2):
        goal = TARGETS[target]
        rows.append(
            f"| {name} | {number(value, digits)} {unit} | {goal.text()} "
            f"| {met(value, goal.value, goal.lower)} |"
        )

    p = it.get("prepare")
    if not error_line(p):
        rows.append(
            f"| prepare {p['pairs']:,} pairs (whole rule) | {number(p['wall_s']['median'], 1)} s "
            f"= {number(p['pairs_per_s'], 0)} pairs/s | {TARGETS['prepare_pairs_per_s'].text()} "
            f"| {met(p['pairs_per_s'], TARGETS['prepare_pairs_per_s'].value, TARGETS['prepare_pairs_per_s'].lower)} |"
        )
    for r in [] if error_line(it.get("origin")) else it["origin"]:
        for policy, c in r["policies"].items():
            row(
                f"our GAN ({policy}) vs the origin's loop, {r['size']} px, batch {r['batch']}",
                c["ratio"],
                "x",
                "origin_speedup",
            )
    a = it.get("allocator")
    if not error_line(a):
        ours = a["runs"]
        row(
            "GAN training: kernel share of its CPU time in steady steps, quiet",
            ours["ours, quiet"]["steady_sys_share"] * 100,
            "%",
            "kernel_share",
            digits=1,
        )
        row(
            f"GAN training beside {a['load_threads']} busy threads: slowdown against quiet",
            a["slowdown_under_load"]["ours"],
            "x",
            "slowdown_loaded",
        )
    s = it.get("predict_score")
    if not error_line(s):
        row(
            f"predict + score {s['test_images']} x {len(s['models'])} models ({s['image_size']} px)",
            s["wall_s"]["median"],
            "s",
            "predict_score_s",
            digits=1,
        )
    v = it.get("viewer")
    if not error_line(v):
        row(f"viewer: open {v['images']:,} images, in process", v["open_s"], "s", "viewer_open_s")
        row("viewer: open, whole command to first paint", v["command_s"], "s", "viewer_command_s")
        row("viewer: next image (median)", v["next_ms"], "ms", "viewer_next_ms", digits=1)
    d = it.get("dry_run")
    if not error_line(d):
        row("no-op `snakemake -n` on a completed run", d["wall_s"]["median"], "s", "dry_run_s")
    demo = it.get("demo")
    if not error_line(demo):
        row(
            "demo, `snakemake --cores all` from nothing",
            demo["wall_s"] / 60,
            "min",
            "demo_min",
            digits=1,
        )
        beats = demo["beats_damaged"]
        rows.append(
            "| demo models beat the damaged input (mean MSE, NRMSE, SSIM, PSNR) | "
            + ", ".join(f"{m}: {'yes' if b else 'no'}" for m, b in beats.items())
            + f" | both | {'**met**' if beats and all(beats.values()) else '**not met**'} |"
        )
    rows += gpu_summary(doc.get("gpu", []))
    for c in [] if error_line(it.get("quality")) else it["quality"]:
        rows += target_rows(
            c, f"quality, faces-dev {c['size']} px, {c['budget_s']:.0f} s per model: "
        )
    return rows


def _prepare_pair(it: dict) -> list[str]:
    b = it.get("breakdown")
    if error_line(b):
        return []
    p = b["prepare_pair"]
    stages = ", ".join(f"{stage} {ms:.2f}" for stage, ms in p["ms_per_pair"].items())
    slowest = max(
        (stage for stage in p["ms_per_pair"] if stage != "compress level 1"),
        key=p["ms_per_pair"].get,
    )
    stored = p["bytes_per_pair"]["4"] / (2 * 3 * p["image_size"] ** 2)
    return [
        (
            f"- where a pair's time goes (one process, first {p['pairs']} pairs, ms per pair): {stages}. "
            f"A worker needs {p['worker_ms']:.1f} ms per pair at the configured level 4 (ISA-L deflate), so "
            f"{p['ceiling_pairs_per_s']:.0f} pairs/s is the ceiling on these cores before start-up, pairing, "
            f"moving chunks to the parent and writing HDF5. The slowest stage is {slowest}; the generated "
            f"images are stored at {stored:.0%} of raw at level 4 (real faces compress to about 70%)."
        )
    ]


def _prepare(it: dict, cores: int) -> list[str]:
    p = it.get("prepare")
    if error_line(p):
        return [error_line(p), *_prepare_pair(it)]
    w = p["wall_s"]
    return [
        (
            f"{p['pairs']:,} generated pairs in the humanface8000 layout (clean JPEGs of mixed sizes 440-560 x "
            f"320-404, a few greyscale; damaged 256x256 JPEGs with white scribbles), `dataset.source: humanface8000`, "
            f"{p['image_size']} px, the whole `prepare` rule through `snakemake --cores {cores}` "
            "(start-up, DAG over every raw file, decode, resize, compress, HDF5 write). Page cache warm; one "
            "warm-up run on a 256-pair subset first."
        ),
        "",
        (
            f"- wall time: median **{number(w['median'], 1)} s** of {len(w['runs'])} runs ({', '.join(number(x, 1) for x in w['runs'])}) "
            f"= **{number(p['pairs_per_s'], 0)} pairs/s**; the rule's own job time (its `benchmark:` file, last run): {number(p['rule_s'], 1)} s"
        ),
        *_prepare_pair(it),
    ]


def _score(it: dict, cores: int) -> list[str]:
    s = it.get("predict_score")
    if error_line(s):
        return [error_line(s)]
    rules = ", ".join(f"{k} {v:.1f}" for k, v in s["rule_s"].items())
    return [
        (
            f"{s['test_images']} test images at {s['image_size']} px (the generated pairs), models `damaged`, "
            f"`inpaint`, `vae`, `gan`: the real `predict` and `score` rules via `snakemake --cores {cores}` on a run "
            f"whose VAE and GAN are the default config's networks **trained for 1 epoch** on {s.get('train_images', 64)} train pairs "
            "(speed does not depend on how well they restore). Predictions and metrics are deleted before each "
            f"run; {s['wall_s']['warmup']} warm-up run(s) first."
        ),
        "",
        f"- wall time: median **{number(s['wall_s']['median'], 1)} s** of runs {', '.join(number(x, 1) for x in s['wall_s']['runs'])} s",
        f"- per rule (s, last run, from the rules' `benchmark:` files): {rules}",
    ]


def _viewer(it: dict) -> list[str]:
    v = it.get("viewer")
    if error_line(v):
        return [error_line(v)]
    return [
        (
            f"A synthetic run of {v['images']:,} test images at {v['size']} px (`bench/fakerun.py`, "
            "via `bench/viewer_probe.py`'s `ensure_run`), offscreen Qt; medians after one warm-up."
        ),
        "",
        f"- `python -m viewer RUN --screenshot` (process start, imports, open, first paint, PNG): **{number(v['command_s'])} s**",
        f"- open the run + first paint in a running process: **{number(v['open_s'])} s**",
        f"- next image: median **{number(v['next_ms'], 1)} ms**, p95 {number(v['next_p95_ms'], 1)} ms over {v['steps']} steps",
    ]


def _demo(it: dict) -> list[str]:
    d = it.get("demo")
    if error_line(d):
        return [error_line(d)]
    lines = [
        "The README's demo command, `snakemake --cores all` on the default `config.yaml`"
        + (f" with overrides {d['overrides']}" if d["overrides"] else "")
        + ", in a scratch clone of the workflow, from nothing (one run: it is minutes long).",
        "",
        f"- wall time: **{number(d['wall_s'] / 60, 1)} min** ({number(d['wall_s'], 0)} s)",
        "- per rule (s): " + ", ".join(f"{k} {v:.1f}" for k, v in d["rule_s"].items()),
        "",
        f"| model | {score_header()[0]} |",
        f"|---{score_header()[1]}|",
    ]
    for model, means in d["means"].items():
        lines.append(f"| {model} | {score_cells(means)} |")
    return lines


def _dry(it: dict) -> list[str]:
    d = it.get("dry_run")
    if error_line(d):
        return [error_line(d)]
    w = d["wall_s"]
    return [
        (
            f"`snakemake -n` in the completed demo run: median **{number(w['median'])} s** of {len(w['runs'])} runs "
            f"({', '.join(number(x) for x in w['runs'])}); reports nothing to do: {'yes' if d['nothing_to_do'] else 'NO'}."
        )
    ]


def markdown(doc: dict) -> str:
    it, m = doc["items"], doc["machine"]
    quick = doc["mode"] == "quick"
    out = [
        "# Benchmarks",
        "",
        (
            "Written by `make bench` (`python -m bench`; `make bench BENCH_ARGS=--quick` for a one-minute smoke "
            "run whose figures mean nothing). Machine-readable figures: [`bench/results.json`](bench/results.json). "
            "Timings are medians of several runs after a warm-up; every ratio compares figures taken in the same run."
        ),
        "",
    ]
    if quick:
        out += [
            "> **Quick mode**: toy sizes, single runs. These figures are a smoke test, not measurements.",
            "",
        ]
    out += ["## Machine", "", *_machine(m), f"- Suite wall time: {doc['suite_s'] / 60:.1f} min"]
    for rerun in doc.get("reruns", []):
        r = rerun["machine"]
        out.append(
            f"- Rerun later into these results (`--merge`): {', '.join(rerun['items'])} on {r['date']}, commit "
            f"`{r['commit']}`, load average at start {', '.join(map(str, r['load_average_at_start']))}, "
            f"{rerun['suite_s'] / 60:.1f} min"
            + (
                f"; on another machine: {r['cpu']}, {r['cores']} cores, "
                + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in r["matrix_flags"].items())
                if (r["cpu"], r["matrix_flags"]) != (m["cpu"], m["matrix_flags"])
                else ""
            )
        )
    out.append("")
    out += ["## Summary", "", *_summary(doc), ""]
    out += ["## Prepare", "", *_prepare(it, doc["profile"]["cores"]), ""]
    out += ["## Training throughput", "", *training_section(it), ""]
    out += ["## Side by side with the origin's training loop", "", *origin_section(it), ""]
    out += ["## Memory allocator and a busy machine", "", *allocator_section(it), ""]
    out += ["## Where the time goes", "", *where_section(it, m), ""]
    out += ["## Predict + score", "", *_score(it, doc["profile"]["cores"]), ""]
    out += ["## Viewer", "", *_viewer(it), ""]
    out += ["## Workflow overhead", "", *_dry(it), ""]
    out += ["## Demo", "", *_demo(it), ""]
    out += [
        "## Restoration quality under one budget",
        "",
        *quality_section(it, doc.get("quality_trials", [])),
        "",
    ]
    out += ["## GPU", "", *gpu_section(doc.get("gpu", [])), ""]
    return "\n".join(out)
