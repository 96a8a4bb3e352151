"""Honest statistics over the per-image metric files.

A mean alone hides how uneven restorations are and whether a difference between two
models is more than chance on this test set. Per model and metric we give mean, std
(ddof 1), median and a percentile-bootstrap confidence interval of the mean; per
compared pair the paired difference of means with its bootstrap interval, the per-image
win rate and the p-value of Wilcoxon's signed-rank test on the pairs. Bootstrap resamples
come from a fixed seed and are shared by all models, so a rerun gives the same numbers and
paired resamples stay paired.
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

from restorebench import contract
from restorebench.contract import SummaryStat
from restorebench.scoring.metrics import RESCORE_HINT, read_metrics


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
    p_value: float
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
) -> SummaryStat:
    """Statistics of one model's values; NaN values (a region the image lacks) are left out,
    of the resamples too, which stay those every model shares.

    An infinite value (identical pixels) makes the mean and spread infinite, never NaN.
    """
    low, high = _interval(values, indices, confidence)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return SummaryStat(model, metric, math.nan, math.nan, math.nan, math.nan, math.nan, 0)
    infinite = not np.isfinite(values).all()
    return SummaryStat(
        model=model,
        metric=metric,
        mean=float(values.mean()),
        std=math.inf if infinite else float(values.std(ddof=1)) if len(values) > 1 else math.nan,
        median=float(np.median(values)),
        ci_low=low,
        ci_high=high,
        n=len(values),
    )


def signed_rank_p(diff: np.ndarray) -> float:
    """Two-sided p-value of Wilcoxon's signed-rank test that the paired differences centre
    on 0 (scipy, zero differences dropped); 1 when every pair ties, NaN without pairs.

    A rank test, not a t-test: per-image differences of PSNR or LPIPS are skewed by a few
    failed images. Only their order matters, so infinite differences (a PSNR of identical
    pixels) are ranked above every finite one instead of breaking the test.
    """
    diff = diff[~np.isnan(diff)]
    if len(diff) == 0:
        return math.nan
    diff = diff[diff != 0]  # dropped here, so scipy's choice of method sees no zeros
    if len(diff) == 0:
        return 1.0
    finite = diff[np.isfinite(diff)]
    beyond = 2.0 * float(np.abs(finite).max()) + 1.0 if len(finite) else 1.0
    ranked = np.where(np.isfinite(diff), diff, np.sign(diff) * beyond)
    return float(wilcoxon(ranked, zero_method="wilcox").pvalue)


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
            return Comparison(
                a, b, metric, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, 0
            )
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
            p_value=signed_rank_p(diff),
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
) -> tuple[list[SummaryStat], list[Comparison]]:
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


COMPARED_REGIONS = (contract.IMAGE, contract.HOLE)


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


# The damaged-share buckets of inpainting papers' per-ratio tables (LaMa, AOT-GAN: 0-10 %,
# 10-20 %, ...), beside the configured ones, so a run's numbers read against theirs.
RATIO_EDGES = tuple(step / 10 for step in range(1, 10))


def by_ratio(
    tables: dict[str, np.ndarray], resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> list[BucketStat]:
    """:func:`by_mask_share` over 10 % steps of damaged share (the last, 90 % and more)."""
    return by_mask_share(tables, list(RATIO_EDGES), resamples, confidence, seed)


# The two readings of "closer to the original" the study weighs against each other.
ASPECTS = {"pixels": contract.HEADLINE_METRICS, "looks": contract.PERCEPTUAL_METRICS}


@dataclass(frozen=True)
class Finding:
    """One pair's answer on one metric: ``closer`` is the model the paired test resolves as
    better (its p-value at most ``alpha``), or None when the test set cannot tell."""

    comparison: Comparison
    closer: str | None


def finding(comparison: Comparison, alpha: float) -> Finding:
    """Which of the pair is closer on ``comparison.metric``, if the signed-rank test says so.

    The direction is that of the mean difference, the figure the tables print beside it.
    """
    clear = comparison.p_value <= alpha and comparison.mean_diff != 0
    if not clear or math.isnan(comparison.mean_diff):
        return Finding(comparison, None)
    lower = contract.metric(comparison.metric).lower_is_better
    a_better = comparison.mean_diff < 0 if lower else comparison.mean_diff > 0
    return Finding(comparison, comparison.a if a_better else comparison.b)


def findings(
    comparisons: list[Comparison], alpha: float
) -> dict[tuple[str, str], dict[str, list[Finding]]]:
    """Per compared pair and aspect (pixels: PSNR and SSIM; looks: LPIPS and FLIP), the
    whole-image findings in the spec's order; a metric no image has is absent."""
    by_metric = {(c.a, c.b, c.metric): c for c in comparisons}
    pairs = dict.fromkeys((c.a, c.b) for c in comparisons)
    return {
        (a, b): {
            aspect: [finding(by_metric[a, b, m], alpha) for m in names if (a, b, m) in by_metric]
            for aspect, names in ASPECTS.items()
        }
        for a, b in pairs
    }


def describe_masks(
    tables: dict[str, np.ndarray], resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> list[SummaryStat]:
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
    path: Path,
    rows: list[SummaryStat] | list[Comparison] | list[BucketStat],
    fields: tuple[str, ...],
) -> None:
    """Long-format CSV; floats written with repr so they round-trip exactly."""
    with Path(path).open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: repr(v) if isinstance(v, float) else v for k, v in asdict(row).items()}
            )
