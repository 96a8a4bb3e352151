"""The report's figures, drawn with matplotlib's Agg backend (no display needed).

Each function takes arrays already loaded and writes one PNG, so the rules stay thin
and the figures can be drawn from a test without a workflow. The per-metric figures have
one panel per whole-image metric of ``contract.METRICS`` and per headline metric over the
damaged pixels, labelled and read in its direction; they
return the figure they saved (closed), so a caller can check what was drawn.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt
import numpy as np

from restorebench import contract
from restorebench.contract import SummaryStat

# Per-metric figures: this many panels side by side, as many rows as the spec needs.
METRIC_COLUMNS = 2


def _save(figure: plt.Figure, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def _arrow(metric: contract.Metric) -> str:
    return "lower is better" if metric.lower_is_better else "higher is better"


def _metric_grid(
    panel_width: float, panel_height: float
) -> tuple[plt.Figure, list[tuple[int, contract.Metric, plt.Axes]]]:
    """A figure with one panel per plotted metric, as (column in the metrics table, spec,
    axes); unused cells removed."""
    plotted = {
        *(spec.name for spec in contract.metrics_in(contract.IMAGE)),
        *(contract.region_metric(contract.HOLE, name) for name in contract.HEADLINE_METRICS),
    }
    indexed = [(i, spec) for i, spec in enumerate(contract.METRICS) if spec.name in plotted]
    specs = [spec for _, spec in indexed]
    columns = min(METRIC_COLUMNS, len(specs))
    rows = math.ceil(len(specs) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(panel_width * columns, panel_height * rows), squeeze=False
    )
    for axis in axes.flat[len(specs) :]:
        axis.remove()
    return figure, [(column, spec, axes.flat[k]) for k, (column, spec) in enumerate(indexed)]


def plot_distributions(tables: dict[str, np.ndarray], path: Path) -> plt.Figure:
    """Per metric, each model's per-image values as a box plot over the points themselves.

    Infinite PSNRs (identical images) cannot be drawn; the panel says how many were left out.
    """
    figure, panels = _metric_grid(2 + 0.6 * len(tables), 3.5)
    models = list(tables)
    rng = np.random.default_rng(0)  # fixed jitter: a rerun draws the same figure
    for column, metric, axis in panels:
        data = [tables[m][:, column] for m in models]
        finite = [d[np.isfinite(d)] for d in data]
        axis.boxplot(finite, tick_labels=models, showfliers=False)
        for position, values in enumerate(finite, start=1):
            jitter = rng.uniform(-0.15, 0.15, len(values))
            axis.scatter(position + jitter, values, s=10, alpha=0.5, color="tab:blue", linewidths=0)
        dropped = sum(len(d) - len(f) for d, f in zip(data, finite))
        note = f" ({dropped} infinite left out)" if dropped else ""
        axis.set_title(f"{metric.label}: {_arrow(metric)}{note}", fontsize=9)
        axis.tick_params(axis="x", rotation=30)
    figure.suptitle(f"Per-image metrics, {len(next(iter(tables.values())))} test images")
    figure.tight_layout()
    _save(figure, path)
    return figure


def plot_scatter(
    a: str, b: str, a_values: np.ndarray, b_values: np.ndarray, path: Path
) -> plt.Figure:
    """Model ``a`` against model ``b`` image by image: points off the diagonal are disagreements."""
    figure, panels = _metric_grid(4, 4)
    for column, metric, axis in panels:
        x, y = b_values[:, column], a_values[:, column]
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        axis.scatter(x, y, s=8, alpha=0.5, linewidths=0)
        if len(x):
            low, high = min(x.min(), y.min()), max(x.max(), y.max())
            axis.plot([low, high], [low, high], color="grey", linewidth=0.8, linestyle="--")
        better = (y < x) if metric.lower_is_better else (y > x)
        axis.set_xlabel(f"{b}")
        axis.set_ylabel(f"{a}")
        axis.set_title(f"{metric.label}: {a} better on {int(better.sum())}/{len(x)}", fontsize=9)
    figure.suptitle(f"{a} vs {b}, one point per test image")
    figure.tight_layout()
    _save(figure, path)
    return figure


def plot_by_mask_share(
    tables: dict[str, np.ndarray], edges: list[float], path: Path, metric: str = "hole_psnr"
) -> plt.Figure:
    """Each image's ``metric`` against its damaged share, one colour per model, with the
    bucket means joined: how each restorer holds up as the damage grows."""
    names = contract.metric_names()
    spec = contract.metric(metric)
    share_column, column = names.index(contract.MASK_SHARE.name), names.index(metric)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    bounds = [0.0, *edges, math.inf]
    for model, values in tables.items():
        share, score = values[:, share_column], values[:, column]
        keep = np.isfinite(share) & np.isfinite(score)
        points = axis.scatter(100 * share[keep], score[keep], s=9, alpha=0.35, linewidths=0)
        centres, means = [], []
        for low, high in itertools.pairwise(bounds):
            inside = keep & (share >= low) & (share < high)
            if inside.any():
                centres.append(100 * float(np.median(share[inside])))
                means.append(float(score[inside].mean()))
        axis.plot(centres, means, marker="o", color=points.get_facecolor()[0][:3], label=model)
    for edge in edges:
        axis.axvline(100 * edge, color="grey", linewidth=0.6, linestyle=":")
    axis.set_xlabel("damaged share of the image (%)")
    axis.set_ylabel(f"{spec.label} ({_arrow(spec)})")
    axis.set_title(f"{spec.label} by damaged share; lines join the bucket means")
    axis.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)
    return figure


def example_indices(values: np.ndarray, metric: str) -> dict[str, int]:
    """Indices of the best, median and worst image by ``metric`` (ties: first in test order)."""
    lower = contract.metric(metric).lower_is_better
    order = np.argsort(values if lower else -values, kind="stable")
    return {"best": int(order[0]), "median": int(order[len(order) // 2]), "worst": int(order[-1])}


def plot_examples(
    model: str,
    clean: np.ndarray,
    damaged: np.ndarray,
    restored: np.ndarray,
    names: list[str],
    values: np.ndarray,
    metric: str,
    path: Path,
) -> plt.Figure:
    """Best, median and worst restoration of one model by one metric: damaged, restored, clean."""
    picks = example_indices(values, metric)
    spec = contract.metric(metric)
    figure, axes = plt.subplots(3, 3, figsize=(7.5, 8), squeeze=False)
    for row, (label, index) in enumerate(picks.items()):
        for axis, image, title in zip(
            axes[row], (damaged, restored, clean), ("damaged", model, "clean")
        ):
            axis.imshow(image[index], interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title)
        axes[row][0].set_ylabel(
            f"{label}\n{names[index]}\n{spec.label} {spec.show(values[index])}",
            fontsize=8,
            parse_math=False,  # a file name such as "$x^2$" is a name, not mathematics
        )
    figure.suptitle(f"{model}: best, median and worst test image by {spec.label}")
    figure.tight_layout()
    _save(figure, path)
    return figure


def _half_widths(stat: SummaryStat) -> tuple[float, float]:
    """The interval's reach below and above the mean; none (0) where it has no interval."""
    if not (math.isfinite(stat.ci_low) and math.isfinite(stat.ci_high)):
        return 0.0, 0.0
    return max(stat.mean - stat.ci_low, 0.0), max(stat.ci_high - stat.mean, 0.0)


def perception_distortion_points(
    stats: list[SummaryStat], x: str = "psnr", y: str = "lpips"
) -> dict[str, tuple[SummaryStat, SummaryStat]]:
    """Per model, its ``x`` and ``y`` statistics where both means are finite: a model with an
    infinite PSNR or no LPIPS (images under 31 px) has no place in the plane."""
    by_model: dict[str, dict[str, SummaryStat]] = {}
    for stat in stats:
        by_model.setdefault(stat.model, {})[stat.metric] = stat
    return {
        model: (row[x], row[y])
        for model, row in by_model.items()
        if x in row and y in row and math.isfinite(row[x].mean) and math.isfinite(row[y].mean)
    }


def plot_perception_distortion(
    stats: list[SummaryStat], path: Path, x: str = "psnr", y: str = "lpips"
) -> plt.Figure:
    """Each model's mean distortion (PSNR) against its mean perceptual distance (LPIPS), its
    bootstrap intervals as error bars both ways: whether the model closer on pixels is also
    the one that looks closer (Blau and Michaeli's perception-distortion trade-off)."""
    x_spec, y_spec = contract.metric(x), contract.metric(y)
    points = perception_distortion_points(stats, x, y)
    figure, axis = plt.subplots(figsize=(6, 4.5))
    for model, (x_stat, y_stat) in points.items():
        x_err, y_err = _half_widths(x_stat), _half_widths(y_stat)
        axis.errorbar(
            x_stat.mean,
            y_stat.mean,
            xerr=[[x_err[0]], [x_err[1]]],
            yerr=[[y_err[0]], [y_err[1]]],
            marker="o",
            capsize=3,
            label=model,
        )
        axis.annotate(model, (x_stat.mean, y_stat.mean), textcoords="offset points", xytext=(5, 5))
    if not points:
        axis.text(
            0.5, 0.5, f"no model has a finite mean {x_spec.label} and {y_spec.label}\n"
            f"({y_spec.label} has no value for images under 31 px)",
            ha="center", va="center", transform=axis.transAxes,
        )  # fmt: skip
    axis.set_xlabel(f"{x_spec.label} ({_arrow(x_spec)})")
    axis.set_ylabel(f"{y_spec.label} ({_arrow(y_spec)})")
    axis.set_title(f"Distortion against perception: mean {x_spec.label} and {y_spec.label}")
    figure.tight_layout()
    _save(figure, path)
    return figure


def best_worst_indices(values: np.ndarray, metric: str) -> dict[str, int]:
    """Indices of the best and worst image by ``metric``, among the images that have a value
    (a NaN is no score, never the worst); none when no image has one."""
    scored = np.flatnonzero(~np.isnan(values))
    if not len(scored):
        return {}
    picks = example_indices(values[scored], metric)
    return {label: int(scored[picks[label]]) for label in ("best", "worst")}


def plot_best_worst(
    clean: np.ndarray,
    damaged: np.ndarray,
    restored: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    names: list[str],
    metric: str,
    path: Path,
) -> plt.Figure:
    """Thumbnails, one row per model: its best and its worst test image by ``metric``, each
    as damaged, restored and clean, with the image's name and score; the examples figures
    show one model larger, this one sets every model's extremes side by side."""
    spec = contract.metric(metric)
    columns = [
        (label, kind) for label in ("best", "worst") for kind in ("damaged", "restored", "clean")
    ]
    figure, axes = plt.subplots(
        len(restored), len(columns), figsize=(1.3 * len(columns), 1.5 * len(restored)),
        squeeze=False,
    )  # fmt: skip
    for row, model in enumerate(restored):
        picks = best_worst_indices(values[model], metric)
        for axis, (label, kind) in zip(axes[row], columns):
            axis.set_xticks([])
            axis.set_yticks([])
            if label not in picks:
                axis.axis("off")
                continue
            index = picks[label]
            image = {"damaged": damaged, "restored": restored[model], "clean": clean}[kind]
            axis.imshow(image[index], interpolation="nearest")
            if row == 0:
                axis.set_title(f"{label}: {kind}", fontsize=8)
            if kind == "restored":
                axis.set_xlabel(
                    f"{names[index]}\n{spec.label} {spec.show(values[model][index])}",
                    fontsize=7,
                    parse_math=False,  # a file name is a name, not mathematics
                )
        axes[row][0].set_ylabel(model, fontsize=9)
    figure.suptitle(f"Best and worst test image per model by {spec.label}", fontsize=10)
    figure.tight_layout()
    _save(figure, path)
    return figure


def read_history(path: Path) -> dict[str, np.ndarray]:
    """A training history CSV as columns; the epoch column is the x axis."""
    with Path(path).open(newline="") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        raise ValueError(f"{path}: no epochs recorded")
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(row[key]) for row in rows])
        except (TypeError, ValueError):
            continue  # a non-numeric column (none expected) is not a curve
    if "epoch" not in columns:
        columns["epoch"] = np.arange(len(rows), dtype=float)
    return columns


HISTORY_COLUMNS = 4  # panels per row: the figure reads at screen width


def _history_order(names: set[str]) -> list[str]:
    """Validation scores first (every family has them, so models line up), then the losses."""
    shared = [spec.name for spec in contract.METRICS if spec.name in names]
    return shared + sorted(names - set(shared))


def plot_history(histories: dict[str, dict[str, np.ndarray]], path: Path) -> plt.Figure:
    """Each model's curves, wrapped at four panels a row; validation dashed beside training."""
    quantities = {
        model: _history_order({k.removeprefix("val_") for k in columns if k != "epoch"})
        for model, columns in histories.items()
    }
    rows_of = {
        model: max(1, -(-len(names) // HISTORY_COLUMNS)) for model, names in quantities.items()
    }
    figure, axes = plt.subplots(
        sum(rows_of.values()),
        HISTORY_COLUMNS,
        figsize=(3.2 * HISTORY_COLUMNS, 2.6 * sum(rows_of.values())),
        squeeze=False,
    )
    first = 0
    for model, columns in histories.items():
        panels = axes[first : first + rows_of[model]].flat
        epoch = columns["epoch"] + 1
        for index, axis in enumerate(panels):
            if index >= len(quantities[model]):
                axis.axis("off")
                continue
            quantity = quantities[model][index]
            for key, style in ((quantity, "-"), (f"val_{quantity}", "--")):
                if key in columns:
                    axis.plot(epoch, columns[key], style, marker=".", label=key)
            axis.set_title(f"{model}: {quantity}", fontsize=11)
            axis.set_xlabel("epoch", fontsize=9)
            axis.legend(fontsize=8)
        first += rows_of[model]
    figure.tight_layout()
    _save(figure, path)
    return figure
