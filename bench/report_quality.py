"""BENCHMARKS.md's quality section: the contests under one budget, their targets, the lever trials."""

from __future__ import annotations

import math

from bench.quality import CONTENDERS, CURVE_FRACTIONS, QUALITY_BAR, time_to_quality
from bench.report_cells import error_line, number, score_cells, score_header
from restorebench import contract

CURVE_PLOT = "bench/time_to_quality.png"  # beside BENCHMARKS.md, relative to it


def target_rows(contest: dict, prefix: str = "") -> list[str]:
    """One markdown row per quality target of a contest: name, measured, target, verdict."""
    return [
        f"| {prefix}{name} | {number(value, 4)} | {number(target, 4)} | {'**met**' if met else '**not met**'} |"
        for name, (value, target, met) in quality_targets(contest["scores"]).items()
    ]


def quality_targets(scores: dict) -> dict[str, tuple[float, float, bool]]:
    """Issue 18's targets on one contest's mean scores: name -> (measured, target, met).

    Our GAN and VAE: PSNR 1.5 dB above the better of ``inpaint`` and the origin's GAN,
    SSIM 0.01 above ``inpaint``'s; the diffusion model at least the GAN's.
    """
    inpaint = scores["inpaint"]
    best_psnr = max(inpaint["psnr"], scores.get("origin", inpaint)["psnr"])
    targets = {}
    for name in ("gan", "vae"):
        ours = scores.get(name)
        if not ours:
            continue
        label = name.upper()
        targets[f"{label} PSNR >= best of origin GAN and inpaint + 1.5 dB"] = (
            ours["psnr"],
            best_psnr + 1.5,
            ours["psnr"] >= best_psnr + 1.5,
        )
        targets[f"{label} SSIM >= inpaint + 0.01"] = (
            ours["ssim"],
            inpaint["ssim"] + 0.01,
            ours["ssim"] >= inpaint["ssim"] + 0.01,
        )
    diffusion, gan = scores.get("diffusion"), scores.get("gan")
    if diffusion and gan:
        for metric in ("psnr", "ssim"):
            targets[f"diffusion {metric.upper()} >= GAN's"] = (
                diffusion[metric],
                gan[metric],
                diffusion[metric] >= gan[metric],
            )
    return targets


# The rows of the quality tables, in this order.
QUALITY_NAMES = {
    "damaged": "damaged input",
    "inpaint": "inpaint (classical)",
    "inpaint_oracle": "inpaint given the true mask (oracle)",
    "origin": "origin's GAN (its notebook loop)",
    "vae": "our VAE",
    "gan": "our GAN",
    "diffusion": "our diffusion (4 steps)",
}
QUALITY_ROWS = tuple(QUALITY_NAMES)


def _contest_table(c: dict) -> list[str]:
    lines = [
        f"| model | {score_header()[0]} | trained: steps, images seen (per s), epochs | restore ms per image |",
        f"|---{score_header()[1]}|---|---|",
    ]
    for name in QUALITY_ROWS:
        r = c["scores"].get(name)
        if r is None:
            continue
        t = r.get("training")
        trained = "-"
        if t:
            rate = f" ({t['images_seen'] / t['train_s']:.0f})" if t.get("train_s") else ""
            trained = f"{t['steps']:,}, {t['images_seen']:,}{rate}, {t['epochs']}"
        restore = (
            f"{1000 * t['restore_s_per_image']:.1f}" if t and "restore_s_per_image" in t else "-"
        )
        lines.append(f"| {QUALITY_NAMES[name]} | {score_cells(r)} | {trained} | {restore} |")
    return lines


def _kept_note(c: dict) -> list[str]:
    """Which contenders an earlier run measured (``--merge`` kept them beside a rerun)."""
    kept = [
        f"{QUALITY_NAMES[name]} on {c['scores'][name]['measured']}"
        for name in QUALITY_ROWS
        if "measured" in c["scores"].get(name, {})
    ]
    return (
        ["", f"Measured by an earlier run of the same command, kept: {', '.join(kept)}."]
        if kept
        else []
    )


def _region_table(c: dict) -> list[str]:
    """Each contender's scores over the damaged pixels and over the others."""
    specs = contract.metrics_in(contract.HOLE) + contract.metrics_in(contract.INTACT)
    lines = [
        "| model | " + " | ".join(spec.label for spec in specs) + " |",
        "|---" * (len(specs) + 1) + "|",
    ]
    for name in QUALITY_ROWS:
        r = c["scores"].get(name)
        if r is not None and specs[0].name in r:
            cells = [spec.show(r[spec.name]) if spec.name in r else "-" for spec in specs]
            lines.append(f"| {QUALITY_NAMES[name]} | " + " | ".join(cells) + " |")
    return lines


def _bucket_table(c: dict, metric: str) -> list[str]:
    """``metric``'s mean per damaged-share bucket, one row per contender."""
    spec = contract.metric(metric)
    rows = [(n, c["scores"][n]) for n in QUALITY_ROWS if "buckets" in c["scores"].get(n, {})]
    if not rows:
        return []
    buckets = rows[0][1]["buckets"]
    lines = [
        f"| {spec.label} | " + " | ".join(f"{b} (n={v['n']})" for b, v in buckets.items()) + " |",
        "|---" * (len(buckets) + 1) + "|",
    ]
    for name, r in rows:
        cells = [
            spec.show(v[metric]) if v.get(metric) is not None and v["n"] else "-"
            for v in r["buckets"].values()
        ]
        lines.append(f"| {QUALITY_NAMES[name]} | " + " | ".join(cells) + " |")
    return lines


def _mask_table(c: dict) -> list[str]:
    """How well each contender that finds the damage itself found it."""
    specs = contract.MASK_SCORES
    rows = [(n, c["scores"][n]["mask"]) for n in QUALITY_ROWS if "mask" in c["scores"].get(n, {})]
    if not rows:
        return []
    lines = [
        "| model | " + " | ".join(spec.label for spec in specs) + " |",
        "|---" * (len(specs) + 1) + "|",
    ]
    for name, means in rows:
        lines.append(
            f"| {QUALITY_NAMES[name]} | "
            + " | ".join(spec.show(means[spec.name]) for spec in specs)
            + " |"
        )
    return lines


def _split_table(c: dict) -> list[str]:
    """The error of each restorer that finds the damage, taken apart: the finding against the fill."""
    oracle = c["scores"].get(contract.ORACLE)
    rows = [(n, c["scores"][n]) for n in QUALITY_ROWS if c["scores"].get(n, {}).get("split")]
    if not rows or oracle is None:
        return []

    def cell(means: dict | None) -> str:
        if not means:
            return "-"
        return f"{number(means['hole_psnr'])} / {number(means['hole_ssim'], 3)} ({number(means['psnr'])} / {number(means['ssim'], 3)})"

    lines = [
        (
            "| model | as restored: its mask, its fill | its fill in the true mask | "
            "inpaint's fill in its mask | inpaint's fill in the true mask (oracle) |"
        ),
        "|---|---|---|---|---|",
    ]
    for name, r in rows:
        split = r["split"]
        lines.append(
            f"| {QUALITY_NAMES[name]} | {cell(r)} | {cell(split.get('own_fill_true_mask'))} | "
            f"{cell(split.get('classical_fill_found_mask'))} | {cell(oracle)} |"
        )
    return lines


def _sampling_table(c: dict) -> list[str]:
    """The diffusion model's scores and restore time against its number of sampling steps."""
    sweep = c["scores"].get("diffusion", {}).get("sampling")
    if not sweep:
        return []
    specs = [*contract.metrics_in(contract.IMAGE), *contract.metrics_in(contract.HOLE)[:1]]
    lines = [
        "",
        (
            "The diffusion model above, restoring the test split with other numbers of sampling "
            "steps (the same trained network; one step is one pass, as for the GAN):"
        ),
        "",
        "| steps | " + " | ".join(spec.label for spec in specs) + " | s per image |",
        "|---" * (len(specs) + 2) + "|",
    ]
    for steps, r in sweep.items():
        cells = " | ".join(spec.show(r.get(spec.name, math.nan)) for spec in specs)
        lines.append(f"| {steps} | {cells} | {r['s_per_image']:.4f} |")
    return lines


def _seconds(value: float | None, budget_s: float) -> str:
    return f"{value:.0f}" if value is not None else f"not in {budget_s:.0f}"


def _time_to_quality_table(c: dict) -> list[str]:
    """When each learned contender first passed the bar's test PSNR and SSIM, and our speed
    against the origin's loop."""
    bar = c["scores"][QUALITY_BAR]
    rows = [(n, c["scores"][n]) for n in QUALITY_ROWS if "curve" in c["scores"].get(n, {})]
    if not rows:
        return []
    origin = c["scores"].get("origin")
    origin_both = time_to_quality(origin["curve"], bar)["both"] if origin else None
    budget = c["budget_s"]
    lines = [
        "",
        (
            f"Time to quality: training seconds until a model first passed `{QUALITY_BAR}`'s test "
            f"scores (PSNR {bar['psnr']:.2f} dB, SSIM {bar['ssim']:.4f}), read from the test split "
            f"restored at {len(CURVE_FRACTIONS)} checkpoints during training (off the clock; "
            "BatchNorm recalibrated on a few batches, nothing chosen from them) and at the end. "
            "A time is the first checkpoint past the bar, so it is an upper bound. Plot: "
            f"[`{CURVE_PLOT}`]({CURVE_PLOT})."
        ),
        "",
        "| model | PSNR passed at s | SSIM passed at s | both at s | best PSNR / SSIM on the way | speed vs the origin's loop |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        reached = time_to_quality(r["curve"], bar)
        if name == "origin" or reached["both"] is None:
            speed = "-"
        elif origin is None:
            speed = "- (the origin's loop not run at this size)"
        elif origin_both is None:
            speed = f"> {budget / reached['both']:.1f}x (the origin never passed)"
        else:
            speed = f"{origin_both / reached['both']:.1f}x"
        best = (
            f"{max(p['psnr'] for p in r['curve']):.2f} / {max(p['ssim'] for p in r['curve']):.4f}"
        )
        cells = [_seconds(reached[k], budget) for k in ("psnr", "ssim", "both")]
        lines.append(f"| {QUALITY_NAMES[name]} | {' | '.join(cells)} | {best} | {speed} |")
    return lines


def plot_time_to_quality(doc: dict, path) -> None:
    """Test PSNR and SSIM against training seconds, one row of panels per size; the bar dashed."""
    contests = doc["items"].get("quality")
    if error_line(contests):
        return
    # Only the sizes run since the curves exist: an older contest has none to draw.
    contests = [c for c in contests if any("curve" in r for r in c["scores"].values())]
    if not contests:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    figure, axes = plt.subplots(len(contests), 2, figsize=(10, 3.2 * len(contests)), squeeze=False)
    for row, c in zip(axes, contests):
        bar = c["scores"][QUALITY_BAR]
        for axis, metric in zip(row, ("psnr", "ssim")):
            for name in QUALITY_ROWS:
                curve = c["scores"].get(name, {}).get("curve")
                if curve:
                    axis.plot(
                        [p["s"] for p in curve],
                        [p[metric] for p in curve],
                        marker="o",
                        markersize=3,
                        label=QUALITY_NAMES[name],
                    )
            axis.axhline(
                bar[metric], color="black", linestyle="--", label=QUALITY_NAMES[QUALITY_BAR]
            )
            axis.set_xscale("log")
            axis.xaxis.set_minor_formatter(NullFormatter())
            axis.set_xlabel("training seconds (2-core CPU)")
            axis.set_ylabel(f"test {metric.upper()}" + (" (dB)" if metric == "psnr" else ""))
            axis.set_title(f"{c['size']} px, {c['budget_s']:.0f} s budget")
    axes[0][0].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _damage_tables(c: dict) -> list[str]:
    if not any("buckets" in r for r in c["scores"].values()):
        return []  # results from before damage-aware scoring
    lines = ["", "Over the damaged pixels of each image (its mask) and over the others:", ""]
    lines += _region_table(c)
    for metric in ("hole_psnr", "hole_ssim"):
        lines += ["", f"By damaged share of the image ({metric}):", "", *_bucket_table(c, metric)]
    masks = _mask_table(c)
    if masks:
        lines += ["", "The damage each restorer found itself, against the true mask:", "", *masks]
    split = _split_table(c)
    if split:
        lines += [
            "",
            (
                "Its error taken apart, damaged PSNR / SSIM (whole image in brackets): where its fill in the "
                "true mask gains more over its restoration than `inpaint`'s fill in its own mask, the "
                "finding costs more than the fill, and the other way round (`bench.quality.error_split`):"
            ),
            "",
            *split,
        ]
    return lines


def quality_section(it: dict, trials: list[dict]) -> list[str]:
    q = it.get("quality")
    lines = [
        (
            "`python -m bench --only quality` (`bench/quality.py`): on `../shared/data/faces-dev` (1,000 real "
            "portraits, `source: clean`: our damage model, calibrated to humanface8000's damaged inputs "
            "(docs/data.md), the stable name-hash split, center crop) each "
            "contender trains from scratch for the **same wall-clock budget**, one after another on the same "
            "cores: our GAN and VAE with `config.yaml`'s recipe and our diffusion model with "
            "`configs/diffusion.yaml`'s (4 sampling steps), through the rule's own `fit` (every "
            "train image, no validation hold-out; BatchNorm recalibration after the budget, about a second), "
            "and the origin's GAN through its notebook loop (`bench/origin_reference.py`: batch 64, shuffled, "
            "its full-width networks; restored both in inference mode and with `training=True` as the "
            "TensorFlow pix2pix tutorial does, the better kept). All are scored as the workflow scores "
            "(uint8, scikit-image, data range 255) on the same test images, beside `damaged` and `inpaint` "
            "(the `score.inpaint` settings of config.yaml)."
        ),
        "",
    ]
    if error_line(q):
        lines.append(error_line(q))
    else:
        for c in q:
            lines += [
                f"### {c['size']} px, {c['budget_s']:.0f} s per model ({c['train_images']} train, {c['test_images']} test images)"
                + (f", measured {c['date']}" if "date" in c else ""),
                "",
            ]
            lines += _contest_table(c)
            lines += _kept_note(c)
            lines += _time_to_quality_table(c)
            lines += _sampling_table(c)
            lines += _damage_tables(c)
            origin = c["scores"].get("origin")
            if origin:
                lines += [
                    "",
                    f"The origin's GAN is scored from its `{origin['prediction']}` restorations (the better of the two).",
                ]
            lines += [
                "",
                "| target | measured | target value | |",
                "|---|---|---|---|",
                *target_rows(c),
            ]
            lines.append("")
    if trials:
        lines += [
            "### Lever trials",
            "",
            (
                "Each trial (`python -m bench.quality --label ... --set model.key=value`, rows appended to "
                "`bench/quality_trials.json`) trains the named models with one change to the recipe of its day; "
                "the references beside it are from the same run. The damaged input's column tells the damage "
                "apart: rows where it scores 20.4 dB (64 px) ran on the lighter damage of earlier releases "
                "(`configs/light-damage.yaml`); rows at 16.6 dB (64 px) or 15.7 dB (128 px) on the "
                "calibrated default, as the tables above."
            ),
            "",
            "| trial | px | budget s | model | change | PSNR dB | SSIM | MSE | inpaint PSNR / SSIM | damaged PSNR / SSIM |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for t in trials:
            ref = t["scores"]
            for name in CONTENDERS:
                r = ref.get(name)
                if r is None:
                    continue
                changes = [f"{k}={v}" for k, v in t["overrides"].get(name, {}).items()]
                if t.get("precision", "auto") != "auto" and name != "origin":
                    changes.append(f"precision={t['precision']}")
                change = ", ".join(changes) or "-"
                lines.append(
                    f"| {t['label']} | {t['size']} | {t['budget_s']:.0f} | {name} | {change} | {number(r['psnr'], 2)} | "
                    f"{number(r['ssim'], 4)} | {number(r['mse'], 1)} | {number(ref['inpaint']['psnr'], 2)} / {number(ref['inpaint']['ssim'], 4)} | "
                    f"{number(ref['damaged']['psnr'], 2)} / {number(ref['damaged']['ssim'], 4)} |"
                )
        lines.append("")
    return lines
