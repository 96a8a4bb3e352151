"""Honest statistics over the per-image metric files.

A mean alone hides how uneven restorations are and whether a difference between two
models is more than chance on this test set. Per model and metric we give mean, std
(ddof 1), median and a percentile-bootstrap confidence interval of the mean; per
compared pair the paired difference of means with its bootstrap interval and the
per-image win rate. Bootstrap resamples come from a fixed seed and are shared by all
models, so a rerun gives the same numbers and paired resamples stay paired.
"""

from __future__ import annotations

import csv
import html
import itertools
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import markdown
import numpy as np

from restorebench import contract, provenance
from restorebench.metrics import RESCORE_HINT, read_metrics

# The origin's published means (humanface8000, 816 test images), under the origin's own names:
# rows of their own at the end of the origin-protocol table, whatever our models are called.
ORIGIN_REPORTED = {
    "damaged": {"mse": 2522.92, "nrmse": 0.405, "ssim": 0.754},
    "vae": {"mse": 4241.17, "nrmse": 0.536, "ssim": 0.399},
    "gan": {"mse": 493.36, "nrmse": 0.161, "ssim": 0.844},
}


@dataclass(frozen=True)
class Stat:
    model: str
    metric: str
    mean: float
    std: float
    median: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """``a`` minus ``b``; ``win_rate`` is the share of images where ``a`` is strictly better."""

    a: str
    b: str
    metric: str
    mean_diff: float
    ci_low: float
    ci_high: float
    win_rate: float
    tie_rate: float
    n: int


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) image indices drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _interval(values: np.ndarray, indices: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean; none (NaN) from a single value.

    Resampled means that are infinite (a PSNR of identical pixels) are ranked, not
    interpolated, so the interval stays infinite instead of becoming NaN.
    """
    if np.count_nonzero(~np.isnan(values)) < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():  # a resample of only undefined values has no mean
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(values[indices], axis=1)
    means = means[~np.isnan(means)]
    tail = (1.0 - confidence) / 2.0
    method = "linear" if np.isfinite(means).all() else "nearest"
    low, high = np.quantile(means, [tail, 1.0 - tail], method=method)
    return float(low), float(high)


def describe(
    model: str, metric: str, values: np.ndarray, indices: np.ndarray, confidence: float
) -> Stat:
    """Statistics of one model's values; NaN values (a region the image lacks) are left out,
    of the resamples too, which stay those every model shares.

    An infinite value (identical pixels) makes the mean and spread infinite, never NaN.
    """
    low, high = _interval(values, indices, confidence)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return Stat(model, metric, math.nan, math.nan, math.nan, math.nan, math.nan, 0)
    infinite = not np.isfinite(values).all()
    return Stat(
        model=model,
        metric=metric,
        mean=float(values.mean()),
        std=math.inf if infinite else float(values.std(ddof=1)) if len(values) > 1 else math.nan,
        median=float(np.median(values)),
        ci_low=low,
        ci_high=high,
        n=len(values),
    )


def compare(
    a: str,
    b: str,
    metric: str,
    a_values: np.ndarray,
    b_values: np.ndarray,
    indices: np.ndarray,
    confidence: float,
) -> Comparison:
    with np.errstate(invalid="ignore"):
        # Two infinite PSNRs tie: their difference is 0, not NaN; NaN (a region the image
        # lacks) stays NaN and is left out.
        diff = np.where(a_values == b_values, 0.0, a_values - b_values)
        low, high = _interval(diff, indices, confidence)
        diff = diff[~np.isnan(diff)]
        if len(diff) == 0:
            return Comparison(a, b, metric, math.nan, math.nan, math.nan, math.nan, math.nan, 0)
        better = diff < 0 if contract.metric(metric).lower_is_better else diff > 0
        return Comparison(
            a=a,
            b=b,
            metric=metric,
            mean_diff=float(diff.mean()),
            ci_low=low,
            ci_high=high,
            win_rate=float(better.mean()),
            tie_rate=float((diff == 0).mean()),
            n=len(diff),
        )


EXAMPLES = 3  # names shown of the rows a metrics file lacks or has too many


def _examples(names: list[str]) -> str:
    return ", ".join(names[:EXAMPLES]) + (", ..." if len(names) > EXAMPLES else "")


def _row_mismatch(names: list[str], test_names: list[str]) -> str:
    """How a metrics file's rows differ from the test split, with a few names of each kind."""
    present, wanted = set(names), set(test_names)
    missing = [name for name in test_names if name not in present]
    extra = [name for name in names if name not in wanted]
    parts = []
    if missing:
        parts.append(
            f"{len(missing)} of the {len(test_names)} test images missing ({_examples(missing)})"
        )
    if extra:
        parts.append(f"{len(extra)} rows of images not in the test split ({_examples(extra)})")
    return ", ".join(parts) or "the test images' rows repeated or out of order"


def load_tables(
    paths: dict[str, Path],
    columns: tuple[str, ...] | None = None,
    test_names: list[str] | None = None,
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The shared test names and each model's (N, metrics) table (or of ``columns``);
    refuses files that disagree, with each other or with ``test_names`` (the dataset's
    test split), so a file that lost rows never passes for a smaller test set."""
    names: list[str] | None = None
    first = None
    tables = {}
    for model, path in paths.items():
        model_names, values = read_metrics(path, columns)
        if test_names is not None and model_names != test_names:
            problem = _row_mismatch(model_names, test_names)
            raise ValueError(
                f"{path}: its rows are not the dataset's test images: {problem}; {RESCORE_HINT}"
            )
        if not model_names:
            raise ValueError(f"{path}: no rows; nothing to summarize")
        if names is None:
            names, first = model_names, path
        elif model_names != names:
            raise ValueError(
                f"{path}: image names differ from {first}; both must score the same test split"
            )
        tables[model] = values
    if names is None:
        raise ValueError("no metrics files to summarize")
    return names, tables


def summarize(
    tables: dict[str, np.ndarray],
    pairs: list[tuple[str, str]],
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[list[Stat], list[Comparison]]:
    """Per-model statistics and paired comparisons of tables from :func:`load_tables`.

    Models are compared on the whole image and on the damaged pixels; intact-pixel scores,
    often infinite for a restorer that leaves them untouched, are described per model only.
    """
    n = len(next(iter(tables.values())))
    indices = bootstrap_indices(n, resamples, seed)
    columns = {name: column for column, name in enumerate(contract.metric_names())}
    scores = contract.scores()
    described = (
        describe(model, spec.name, values[:, columns[spec.name]], indices, confidence)
        for model, values in tables.items()
        for spec in scores
    )
    stats = [stat for stat in described if stat.n]  # a score no image has is left out
    for a, b in pairs:
        for model in (a, b):
            if model not in tables:
                raise ValueError(f"comparison {a} vs {b}: model '{model}' was not scored")
    compared = [spec.name for spec in scores if spec.region in COMPARED_REGIONS]
    compared_all = (
        compare(
            a,
            b,
            name,
            tables[a][:, columns[name]],
            tables[b][:, columns[name]],
            indices,
            confidence,
        )
        for a, b in pairs
        for name in compared
    )
    comparisons = [comparison for comparison in compared_all if comparison.n]
    return stats, comparisons


COMPARED_REGIONS = ("image", "hole")


@dataclass(frozen=True)
class BucketStat:
    """One model's mean of ``metric`` over the images whose damaged share lies in [low, high)."""

    model: str
    metric: str
    bucket: str
    low: float
    high: float
    mean: float
    ci_low: float
    ci_high: float
    n: int


def bucket_label(low: float, high: float) -> str:
    return f"{low:.0%}-{high:.0%}" if math.isfinite(high) else f"{low:.0%}+"


def by_mask_share(
    tables: dict[str, np.ndarray],
    edges: list[float],
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[BucketStat]:
    """Every score of every model again per bucket of ``mask_share`` (inner ``edges``)."""
    if list(edges) != sorted(set(edges)):
        raise ValueError(f"config key score.mask_share_buckets: {edges} must increase")
    columns = {name: column for column, name in enumerate(contract.metric_names())}
    share = next(iter(tables.values()))[:, columns[contract.MASK_SHARE.name]]
    bounds = [0.0, *edges, math.inf]
    rows = []
    for low, high in itertools.pairwise(bounds):
        members = np.flatnonzero((share >= low) & (share < high))
        indices = bootstrap_indices(len(members), resamples, seed)
        for model, values in tables.items():
            for spec in contract.scores():
                stat = describe(
                    model, spec.name, values[members, columns[spec.name]], indices, confidence
                )
                rows.append(
                    BucketStat(
                        model, spec.name, bucket_label(low, high), low, high,
                        stat.mean, stat.ci_low, stat.ci_high, stat.n,
                    )
                )  # fmt: skip
    return rows


def describe_masks(
    tables: dict[str, np.ndarray], resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> list[Stat]:
    """Per model, the statistics of its found masks' scores (tables of ``contract.MASK_SCORES``)."""
    if not tables:
        return []
    indices = bootstrap_indices(len(next(iter(tables.values()))), resamples, seed)
    return [
        describe(model, spec.name, values[:, column], indices, confidence)
        for model, values in tables.items()
        for column, spec in enumerate(contract.MASK_SCORES)
    ]


def write_csv(
    path: Path, rows: list[Stat] | list[Comparison] | list[BucketStat], fields: tuple[str, ...]
) -> None:
    """Long-format CSV; floats written with repr so they round-trip exactly."""
    with Path(path).open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: repr(v) if isinstance(v, float) else v for k, v in asdict(row).items()}
            )


def _cell(metric: str, value: float) -> str:
    """One number of ``metric`` in its spec format, so a column keeps one number of decimals."""
    return contract.metric(metric).show(value)


def _score_table(
    stats: list[Stat], reported: dict[str, dict[str, float]] | None = None
) -> list[str]:
    """One row per model, one column per whole-image metric; then ``reported``'s rows,
    labelled as published."""
    specs = contract.metrics_in("image")
    lines = ["| model | " + " | ".join(f"{m.label} mean [CI] (median)" for m in specs) + " |"]
    lines.append("|---" * (len(specs) + 1) + "|")
    by_model: dict[str, dict[str, Stat]] = {}
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


def _by_model(stats: list[Stat]) -> dict[str, dict[str, Stat]]:
    table: dict[str, dict[str, Stat]] = {}
    for stat in stats:
        table.setdefault(stat.model, {})[stat.metric] = stat
    return table


def _mean_table(stats: list[Stat], specs: tuple[contract.Metric, ...]) -> list[str]:
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


def _directions() -> str:
    lower = [m.label for m in contract.metrics_in("image") if m.lower_is_better]
    higher = [m.label for m in contract.metrics_in("image") if not m.lower_is_better]
    parts = [f"{', '.join(lower)}: lower is better"] if lower else []
    parts += [f"{', '.join(higher)}: higher is better"] if higher else []
    return "; ".join(parts) + "."


def render_markdown(
    stats: list[Stat],
    comparisons: list[Comparison],
    confidence: float,
    resamples: int,
    origin_stats: list[Stat] | None = None,
    buckets: list[BucketStat] | None = None,
    mask_stats: list[Stat] | None = None,
) -> str:
    """summary.md: the score tables (whole image, damaged and intact pixels, by damaged
    share), the masks found, the paired comparisons and, if asked, the origin protocol."""
    n = stats[0].n
    level = f"{confidence:.0%}"
    lines = [
        "# Summary",
        "",
        f"{n} test images. Mean with its {level} percentile-bootstrap interval ({resamples} resamples)",
        f"and the median. {_directions()}",
        "uint8 prediction against uint8 clean image, data range 255, RGB, no border crop.",
        "",
        *_score_table(stats),
        "",
        "## Damaged and intact pixels",
        "",
        "The same scores over the damaged pixels of each image (its mask in dataset.h5) and over",
        "the others; SSIM is its map's mean there. An image without damage has no damaged-pixel",
        "score. An infinite intact PSNR: the restorer returned those pixels untouched.",
        "",
        *_mean_table(stats, contract.metrics_in("hole") + contract.metrics_in("intact")),
    ]
    if buckets:
        lines += ["", "## By damaged share", ""]
        lines += ["Mean per bucket of the images' damaged share (score.mask_share_buckets).", ""]
        for region in ("hole", "image"):
            for measure in contract.HEADLINE_METRICS:
                metric = contract.region_metric(region, measure)
                lines += [*_bucket_table(buckets, metric), ""]
        lines.pop()
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
            "win rate: share of images where A is strictly better (ties are listed apart).",
            "",
            "| A | B | metric | mean A - B | CI | A wins | ties |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.a} | {c.b} | {contract.metric(c.metric).label} | {_cell(c.metric, c.mean_diff)} "
            f"| [{_cell(c.metric, c.ci_low)}, {_cell(c.metric, c.ci_high)}] "
            f"| {c.win_rate:.1%} | {c.tie_rate:.1%} |"
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
    specs = [spec for spec in contract.METRICS if spec.name in contract.HEADLINE_METRICS]
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

    The records are the outputs' own (restorebench.provenance), so a copy of results/
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
