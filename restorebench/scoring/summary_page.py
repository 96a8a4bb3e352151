"""summary.md and its HTML page: the statistics of ``restorebench.scoring.summary`` as tables.

Kept apart from the statistics so that the numbers can be computed, tested and reused
(the benchmarks, the viewer) without the page's wording, and the page reworded without
touching how the numbers are made.
"""

from __future__ import annotations

import csv
import html
import math
from pathlib import Path

import markdown

from restorebench import contract
from restorebench.contract import SummaryStat
from restorebench.runtime import provenance
from restorebench.scoring.costs import Cost
from restorebench.scoring.summary import ASPECTS, BucketStat, Comparison, Finding, findings

# The origin's published means (humanface8000, 816 test images), under the origin's own names:
# rows of their own at the end of the origin-protocol table, whatever our models are called.
ORIGIN_REPORTED = {
    "damaged": {"mse": 2522.92, "nrmse": 0.405, "ssim": 0.754},
    "vae": {"mse": 4241.17, "nrmse": 0.536, "ssim": 0.399},
    "gan": {"mse": 493.36, "nrmse": 0.161, "ssim": 0.844},
}


def _cell(metric: str, value: float) -> str:
    """One number of ``metric`` in its spec format, so a column keeps one number of decimals."""
    return contract.metric(metric).show(value)


def _score_table(
    stats: list[SummaryStat], reported: dict[str, dict[str, float]] | None = None
) -> list[str]:
    """One row per model, one column per whole-image metric; then ``reported``'s rows,
    labelled as published."""
    specs = contract.metrics_in(contract.IMAGE)
    lines = ["| model | " + " | ".join(f"{m.label} mean [CI] (median)" for m in specs) + " |"]
    lines.append("|---" * (len(specs) + 1) + "|")
    by_model: dict[str, dict[str, SummaryStat]] = {}
    for stat in stats:
        by_model.setdefault(stat.model, {})[stat.metric] = stat
    for model, row in by_model.items():
        cells = []
        for spec in specs:
            stat = row.get(spec.name)
            if stat is None or stat.n == 0:
                cells.append("-")
                continue
            interval = (
                f"[{spec.show(stat.ci_low)}, {spec.show(stat.ci_high)}]"
                if stat.n > 1
                else "[no interval from 1 image]"
            )
            cells.append(f"{spec.show(stat.mean)} {interval} ({spec.show(stat.median)})")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    for name, means in (reported or {}).items():
        cells = [spec.show(means[spec.name]) if spec.name in means else "" for spec in specs]
        lines.append(f"| {name} (origin, published) | " + " | ".join(cells) + " |")
    return lines


def _by_model(stats: list[SummaryStat]) -> dict[str, dict[str, SummaryStat]]:
    table: dict[str, dict[str, SummaryStat]] = {}
    for stat in stats:
        table.setdefault(stat.model, {})[stat.metric] = stat
    return table


def _mean_table(stats: list[SummaryStat], specs: tuple[contract.Metric, ...]) -> list[str]:
    """One row per model with stats of ``specs``: mean [interval]; "-" where it has none."""
    lines = ["| model | " + " | ".join(f"{spec.label} [CI]" for spec in specs) + " |"]
    lines.append("|---" * (len(specs) + 1) + "|")
    for model, row in _by_model(stats).items():
        cells = []
        for spec in specs:
            stat = row.get(spec.name)
            if stat is None or stat.n == 0:
                cells.append("-")
            elif stat.n == 1:
                cells.append(spec.show(stat.mean))
            elif math.isinf(stat.mean):  # some image identical there: the median still tells
                cells.append(f"{spec.show(stat.mean)} (median {spec.show(stat.median)})")
            else:
                cells.append(
                    f"{spec.show(stat.mean)} [{spec.show(stat.ci_low)}, {spec.show(stat.ci_high)}]"
                )
        if any(cell != "-" for cell in cells):
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines


def _bucket_table(buckets: list[BucketStat], metric: str) -> list[str]:
    """Rows: models; columns: the damaged-share buckets, each with its image count."""
    spec = contract.metric(metric)
    rows = [row for row in buckets if row.metric == metric]
    labels = list(dict.fromkeys(row.bucket for row in rows))
    counts = {row.bucket: row.n for row in rows}
    lines = [f"| {spec.label} | " + " | ".join(f"{b} (n={counts[b]})" for b in labels) + " |"]
    lines.append("|---" * (len(labels) + 1) + "|")
    cells: dict[str, dict[str, str]] = {}
    for row in rows:
        cells.setdefault(row.model, {})[row.bucket] = spec.show(row.mean) if row.n else "-"
    for model, by_bucket in cells.items():
        lines.append(f"| {model} | " + " | ".join(by_bucket[b] for b in labels) + " |")
    return lines


def _bucket_tables(buckets: list[BucketStat]) -> list[str]:
    """A bucket table per headline and perceptual score of the damaged pixels and of the
    whole image, blank lines between."""
    lines: list[str] = []
    for region in (contract.HOLE, contract.IMAGE):
        for spec in contract.reported_metrics(region):
            if any(row.metric == spec.name for row in buckets):
                lines += [*_bucket_table(buckets, spec.name), ""]
    return lines[:-1]


def _p(value: float) -> str:
    """A p-value as tables and sentences print it: three decimals, or a bound below that."""
    if math.isnan(value):
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


ASPECT_LABELS = {"pixels": "On pixels", "looks": "By perception"}


def _aspect_sentence(aspect: str, found: list[Finding], means: dict[tuple[str, str], float]) -> str:
    """One aspect of one pair, in words: who is closer, by which figures, at which p."""
    names = ", ".join(contract.metric(m).label for m in ASPECTS[aspect])
    head = f"{ASPECT_LABELS[aspect]} ({names})"
    if not found:
        return f"{head}: no score to compare (LPIPS has none for images under 31 px)."
    details = []
    for item in found:
        c, spec = item.comparison, contract.metric(item.comparison.metric)
        a_mean, b_mean = means.get((c.a, c.metric), math.nan), means.get((c.b, c.metric), math.nan)
        p_value = _p(c.p_value)
        clause = f"p {p_value}" if p_value.startswith("<") else f"p = {p_value}"
        details.append(f"{spec.label} {spec.show(a_mean)} against {spec.show(b_mean)}, {clause}")
    closers = {item.closer for item in found}
    a, b = found[0].comparison.a, found[0].comparison.b
    if closers == {None}:
        verdict = f"no clear difference between {a} and {b}"
    elif len(closers) == 1:
        verdict = f"{found[0].closer} is closer"
    else:
        verdict = "the scores disagree: " + ", ".join(
            f"{item.closer} closer by {contract.metric(item.comparison.metric).label}"
            if item.closer
            else f"no clear difference by {contract.metric(item.comparison.metric).label}"
            for item in found
        )
    return f"{head}, {verdict} ({'; '.join(details)})."


def answer_lines(
    stats: list[SummaryStat], comparisons: list[Comparison], alpha: float
) -> list[str]:
    """The study's answer, one paragraph per compared pair, made from the run's figures:
    which model is closer on pixels and which looks closer, or no clear difference when the
    signed-rank test's p-value is above ``alpha``."""
    means = {(stat.model, stat.metric): stat.mean for stat in stats}
    lines = []
    for (a, b), aspects in findings(comparisons, alpha).items():
        sentences = [_aspect_sentence(aspect, found, means) for aspect, found in aspects.items()]
        lines += [f"**{a} against {b}.** " + " ".join(sentences), ""]
    return lines[:-1]


def _directions() -> str:
    lower = [m.label for m in contract.metrics_in(contract.IMAGE) if m.lower_is_better]
    higher = [m.label for m in contract.metrics_in(contract.IMAGE) if not m.lower_is_better]
    parts = [f"{', '.join(lower)}: lower is better"] if lower else []
    parts += [f"{', '.join(higher)}: higher is better"] if higher else []
    return "; ".join(parts) + "."


def render_markdown(
    stats: list[SummaryStat],
    comparisons: list[Comparison],
    confidence: float,
    resamples: int,
    origin_stats: list[SummaryStat] | None = None,
    buckets: list[BucketStat] | None = None,
    mask_stats: list[SummaryStat] | None = None,
    ratios: list[BucketStat] | None = None,
) -> str:
    """summary.md: the score tables (whole image, the study's answer, damaged and intact
    pixels, by damaged share and in 10 % steps), the masks found, the paired comparisons
    and, if asked, the origin protocol."""
    n = stats[0].n
    level = f"{confidence:.0%}"
    alpha = 1.0 - confidence
    lines = [
        "# Summary",
        "",
        f"{n} test images. Mean with its {level} percentile-bootstrap interval ({resamples} resamples)",
        f"and the median. {_directions()}",
        "uint8 prediction against uint8 clean image, data range 255, RGB, no border crop.",
        "",
        *_score_table(stats),
    ]
    if comparisons:
        lines += [
            "",
            "## The study's answer",
            "",
            "Which model is closer to the clean images on pixels (PSNR, SSIM) and which looks",
            "closer (LPIPS, FLIP), whole image, means A against B; a difference is clear when",
            f"Wilcoxon's signed-rank test on the per-image pairs gives p <= {alpha:.2g}",
            "(1 - score.confidence), otherwise: no clear difference.",
            "",
            *answer_lines(stats, comparisons, alpha),
        ]
    lines += [
        "",
        "## Damaged and intact pixels",
        "",
        "The same scores over the damaged pixels of each image (its mask in dataset.h5) and over",
        "the others; SSIM is its map's mean there. An image without damage has no damaged-pixel",
        "score. An infinite intact PSNR: the restorer returned those pixels untouched.",
        "",
        *_mean_table(
            stats, contract.metrics_in(contract.HOLE) + contract.metrics_in(contract.INTACT)
        ),
    ]
    if buckets:
        lines += ["", "## By damaged share", ""]
        lines += ["Mean per bucket of the images' damaged share (score.mask_share_buckets).", ""]
        lines += _bucket_tables(buckets)
    if ratios:
        lines += [
            "",
            "## By damaged share in 10 % steps",
            "",
            "The same means per 10 % step of damaged share, the mask ratios of inpainting papers'",
            "tables (LaMa, AOT-GAN), to set these numbers beside theirs; n per step in the header.",
            "",
            *_bucket_tables(ratios),
        ]
    if mask_stats:
        lines += [
            "",
            "## Damage found",
            "",
            "The masks the restorers found themselves (inpaint's detection, a blend model's paint",
            "mask above one half) against the dataset's, per image; AP ranks the soft mask's values.",
            "",
            *_mean_table(mask_stats, contract.MASK_SCORES),
        ]
    if n < contract.MIN_TEST_IMAGES:
        lines[2:2] = [
            f"**Only {n} test image{'s' if n != 1 else ''}: these scores say little about a model**",
            "(more images, or a larger dataset.test_fraction, narrow the intervals).",
            "",
        ]
    if comparisons:
        lines += [
            "",
            "## Paired comparisons",
            "",
            f"Difference of means A - B over the same images with its {level} bootstrap interval;",
            "win rate: share of images where A is strictly better (ties are listed apart); p: Wilcoxon's",
            "signed-rank test on the per-image differences, two-sided.",
            "",
            "| A | B | metric | mean A - B | CI | A wins | ties | p |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.a} | {c.b} | {contract.metric(c.metric).label} | {_cell(c.metric, c.mean_diff)} "
            f"| [{_cell(c.metric, c.ci_low)}, {_cell(c.metric, c.ci_high)}] "
            f"| {c.win_rate:.1%} | {c.tie_rate:.1%} | {_p(c.p_value)} |"
            for c in comparisons
        ]
    if origin_stats:
        lines += [
            "",
            "## Origin protocol",
            "",
            "Each image (restoration and clean alike) rescaled by its own maximum, image / max * 255,",
            "before scoring, as the origin notebook did. The last rows are the origin's published",
            "means (humanface8000, 816 test images): comparable only on that dataset.",
            "",
            *_score_table(origin_stats, ORIGIN_REPORTED),
        ]
    return "\n".join(lines) + "\n"


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
</style></head><body>
{body}
</body></html>
"""


def render_html(markdown_text: str, title: str = "Summary") -> str:
    """summary.md as a page of its own: Snakemake's report shows HTML inline, Markdown only as a download."""
    body = markdown.markdown(markdown_text, extensions=["tables"], output_format="html")
    return HTML_PAGE.format(title=html.escape(title), body=body)


def _megabytes(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def costs_markdown(costs: list[Cost]) -> str:
    """The report's cost table: one row per job, the slowest first, and the total time."""
    lines = [
        "# Costs",
        "",
        "Per job, from its Snakemake benchmark file (benchmarks/<job>.tsv): wall time and peak",
        "resident memory (max_rss; - where the job ended before the first memory sample). The",
        "job that writes this table is not in it: its benchmark is written after it ends.",
        "",
        "| job | wall time (s) | peak memory, max_rss (MB) |",
        "|---|---|---|",
    ]
    ordered = sorted(costs, key=lambda cost: -cost.seconds if not math.isnan(cost.seconds) else 0)
    lines += [
        f"| {c.job} | {'-' if math.isnan(c.seconds) else f'{c.seconds:.1f}'} "
        f"| {_megabytes(c.max_rss_mb)} |"
        for c in ordered
    ]
    total = sum(c.seconds for c in costs if not math.isnan(c.seconds))
    lines.append(f"| all {len(costs)} jobs | {total:.1f} | |")
    return "\n".join(lines) + "\n"


def _command_prefix(executable: str) -> str:
    """Where this run's commands live, as the user would type it (``.venv/bin/``)."""
    folder = Path(executable).parent
    try:
        relative = folder.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return f"{folder}/"
    return f"{relative}/"


def closing_message(
    paths: contract.RunPaths, trained: list[str], rank_metric: str, executable: str
) -> str | None:
    """What a finished run says last: its headline scores and the three commands to try next.

    None when the run has no summary yet (a target short of it was asked for).
    """
    path = Path(paths.summary)
    if not path.is_file():
        return None
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    means = {(row["model"], row["metric"]): float(row["mean"]) for row in rows}
    models = list(dict.fromkeys(row["model"] for row in rows))
    specs = contract.reported_metrics(contract.IMAGE)  # pixels and looks, as summary.md
    width = max(len(model) for model in [*models, "model"])
    table = [f"  {'model':<{width}}  " + "  ".join(f"{spec.label:>10}" for spec in specs)]
    for model in models:
        cells = [
            f"{spec.show(means[model, spec.name]):>10}" if (model, spec.name) in means else " " * 10
            for spec in specs
        ]
        table.append(f"  {model:<{width}}  " + "  ".join(cells))
    rank = contract.metric(rank_metric)
    scored = [model for model in trained if (model, rank.name) in means]
    best = (min if rank.lower_is_better else max)(
        scored, key=lambda model: means[model, rank.name], default=None
    )
    bin_prefix = _command_prefix(executable)
    n = rows[0]["n"] if rows else "0"
    done = (
        f"Done: {paths.root}/ ({n} test images; means, with intervals in {paths.summary_markdown})"
    )
    lines = [
        done,
        *table,
        "Next:",
        f"  {bin_prefix}python -m viewer {paths.root}                  # browse every image and its scores",
        f"  {bin_prefix}snakemake --cores 1 --report {paths.root}/report.html   # figures and tables in one page",
    ]
    if best:
        lines.append(
            f"  {bin_prefix}restorebench-restore {paths.restorer(best)} my_photos/ restored/"
            f"   # your own photos, with the best model by {rank.label}"
        )
    return "\n".join(lines)


def provenance_markdown(
    dataset: dict | None,
    trained: dict[str, dict | None],
    scored: dict[str, dict | None],
    task_warnings: list[str],
) -> list[str]:
    """Lines of summary.md on where its figures come from, and on data that is no task.

    The records are the outputs' own (restorebench.runtime.provenance), so a copy of results/
    still says which code and settings made each score.
    """
    lines = []
    if task_warnings:
        lines += ["", "## Warnings about the data", "", *(f"- {w}" for w in task_warnings)]
    lines += [
        "",
        "## Provenance",
        "",
        f"Dataset: {provenance.describe(dataset)}. Each model's resolved settings (every",
        "default filled in) are in models/<model>/provenance.json.",
        "",
        "| model | trained by | scored by |",
        "|---|---|---|",
    ]
    for model, record in scored.items():
        training = provenance.describe(trained[model]) if model in trained else "no training"
        lines.append(f"| {model} | {training} | {provenance.describe(record)} |")
    return lines
