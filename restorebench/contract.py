"""The contract of a run folder: every path under ``results/<run>/`` and the metric spec.

The workflow, the scripts, the library, the viewer, the benchmarks and the tests all
name files and metrics through this module, so a path or a metric is spelled once.
It imports the standard library only: the viewer and the Snakefile load it without
paying for numpy, Keras or Snakemake.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import PurePosixPath

RESULTS = "results"


@dataclass(frozen=True)
class Metric:
    """One per-image score: its CSV column, how tables label and format it, which way is better."""

    name: str
    label: str
    lower_is_better: bool
    format: str
    # The values the score can take; a file with others was not written by its scorer.
    low: float = -math.inf
    high: float = math.inf
    # Which pixels it scores (REGIONS), or "mask" for a property of the damage itself.
    region: str = "image"
    # Whether an image may have no value (NaN): no such pixels, nothing to find.
    may_be_missing: bool = False

    def show(self, value: float) -> str:
        """``value`` in the metric's format; a missing score (NaN) as '-', never 'nan'."""
        return "-" if math.isnan(value) else self.format.format(value)

    def possible(self, value: float) -> bool:
        """A value out of the metric's range (negative MSE, SSIM above 1) is not, nor is NaN
        unless the score may be missing."""
        if math.isnan(value):
            return self.may_be_missing
        return self.low <= value <= self.high


# Column order of metrics/<model>.csv. A new metric is an entry here and its function in
# restorebench.scoring.metrics (registered with ``@metrics.scorer(name)``). Read it as
# ``contract.METRICS`` at call time, never copied at import, so every consumer (a test's
# temporary spec too) sees one list.
# Region scores average over the damaged pixels of the image's mask (HOLE) or the others
# (INTACT); an image without such pixels has none (NaN in the file, left out of means). The
# names are the files' column prefixes (``hole_psnr``, the inpainting literature's word, kept
# so every completed run stays readable); REGION_LABELS is what a person reads.
IMAGE, HOLE, INTACT = "image", "hole", "intact"
REGIONS = (IMAGE, HOLE, INTACT)
REGION_LABELS = {HOLE: "damaged", INTACT: "intact"}  # the regions scored apart from the image
# Perceptual distances (docs/scoring.md): LPIPS (AlexNet, linear layers v0.1) has none for an
# image under 31 px, too small for AlexNet's feature maps; FLIP is NVIDIA's LDR mean FLIP.
LPIPS = Metric(
    "lpips", "LPIPS", lower_is_better=True, format="{:.4f}", low=0.0, may_be_missing=True
)
FLIP = Metric("flip", "FLIP", lower_is_better=True, format="{:.4f}", low=0.0, high=1.0)
# The scores computed in every region but the whole image, by the same name prefixed.
REGION_MEASURES = (
    Metric("mse", "MSE", lower_is_better=True, format="{:.1f}", low=0.0),
    Metric("psnr", "PSNR (dB)", lower_is_better=False, format="{:.2f}", low=0.0),
    Metric("mae", "MAE", lower_is_better=True, format="{:.2f}", low=0.0),
    Metric("ssim", "SSIM", lower_is_better=False, format="{:.4f}", low=-1.0, high=1.0),
    LPIPS,
)


def region_metric(region: str, measure: str) -> str:
    """The name of ``measure`` scored over ``region`` (``hole_psnr``)."""
    return measure if region == REGIONS[0] else f"{region}_{measure}"


def _in_region(measure: Metric, region: str) -> Metric:
    return dataclasses.replace(
        measure,
        name=region_metric(region, measure.name),
        label=f"{REGION_LABELS[region]} {measure.label}",
        region=region,
        may_be_missing=True,
    )


MASK_SHARE = Metric(
    "mask_share", "damaged share", lower_is_better=True, format="{:.3f}", low=0.0, high=1.0,
    region="mask",
)  # fmt: skip
METRICS: tuple[Metric, ...] = (
    Metric("mse", "MSE", lower_is_better=True, format="{:.1f}", low=0.0),
    Metric("nrmse", "NRMSE", lower_is_better=True, format="{:.4f}", low=0.0),
    Metric("ssim", "SSIM", lower_is_better=False, format="{:.4f}", low=-1.0, high=1.0),
    Metric("psnr", "PSNR (dB)", lower_is_better=False, format="{:.2f}", low=0.0),
    LPIPS,
    FLIP,
    *(_in_region(measure, region) for region in REGIONS[1:] for measure in REGION_MEASURES),
    MASK_SHARE,
)


def metrics_in(region: str) -> tuple[Metric, ...]:
    """The spec's metrics of one region (read at call time, like METRICS)."""
    return tuple(spec for spec in METRICS if spec.region == region)


def scores() -> tuple[Metric, ...]:
    """The metrics that score a restoration, not the damage (what models are compared on)."""
    return tuple(spec for spec in METRICS if spec.region != MASK_SHARE.region)


# How well a restorer found the damage: its own mask (the inpaint baseline's detection, a
# blend model's paint mask) against the dataset's, per image; ``mask_ap`` ranks a soft
# mask's values, the others threshold it at one half.
MASK_SCORES: tuple[Metric, ...] = tuple(
    Metric(
        f"mask_{name}",
        label,
        lower_is_better=False,
        format="{:.3f}",
        low=0.0,
        high=1.0,
        may_be_missing=True,
    )
    for name, label in (
        ("iou", "mask IoU"),
        ("f1", "mask F1"),
        ("precision", "mask precision"),
        ("recall", "mask recall"),
        ("ap", "mask AP"),
    )
)


# The distortion (pixel) scores every table leads with, of the spec above.
HEADLINE_METRICS = ("psnr", "ssim")
# The perceptual scores, read beside the headline ones wherever a table shows those: a
# restorer can be closer on pixels and still look further from the original.
PERCEPTUAL_METRICS = ("lpips", "flip")


def reported_metrics(region: str) -> tuple[Metric, ...]:
    """The headline and perceptual scores that ``region`` has (no ``hole_flip``), in that
    order: what the tables by damaged share and the study's answer show."""
    names = {spec.name for spec in metrics_in(region)}
    wanted = (region_metric(region, m) for m in (*HEADLINE_METRICS, *PERCEPTUAL_METRICS))
    return tuple(metric(name) for name in wanted if name in names)


def metric_names() -> tuple[str, ...]:
    return tuple(m.name for m in METRICS)


def mask_score_names() -> tuple[str, ...]:
    """The columns of a ``metrics/masks/<model>.csv`` after ``name``."""
    return tuple(m.name for m in MASK_SCORES)


def metric(name: str) -> Metric:
    """The spec of ``name`` (a metric or a mask score), or a ValueError listing the metrics."""
    for spec in (*METRICS, *MASK_SCORES):
        if spec.name == name:
            return spec
    raise ValueError(f"unknown metric '{name}', expected one of {metric_names()}")


def image_metric(name: str) -> Metric:
    """The spec of the per-image metric ``name``: what ranks restorations (``rank_metric``);
    a mask score is refused, since only the restorers that find masks have one."""
    if name not in metric_names():
        raise ValueError(f"'{name}' is not a per-image metric, expected one of {metric_names()}")
    return metric(name)


# The restorers that need no training. ``damaged`` returns its input: the score of doing
# nothing, and the viewer's input panel.
INPUT_MODEL = "damaged"
INPAINT = "inpaint"
# Classical inpainting given the dataset's mask instead of its own detection: what a perfect
# detector plus classical filling would score.
ORACLE = "inpaint_oracle"


@dataclass(frozen=True)
class Baseline:
    """A restorer that needs no training, as the workflow, ``predict`` and the bench see it.

    ``function`` names its function in ``restorebench.restore.baselines`` (imported only
    when it restores, so the workflow parses without scikit-image): (damaged, the
    dataset's masks or None, its settings, workers) -> (restorations, masks found or
    None). ``finds_mask``: it stores the mask it found, which is then scored.
    ``needs_true_mask``: it reads the dataset's masks. ``settings``: the key of
    ``score`` holding its settings.
    """

    name: str
    function: str
    finds_mask: bool = False
    needs_true_mask: bool = False
    settings: str | None = None


BASELINE_RESTORERS = {
    baseline.name: baseline
    for baseline in (
        Baseline(INPUT_MODEL, "as_damaged"),
        Baseline(INPAINT, "inpaint_baseline", finds_mask=True, settings="inpaint"),
        Baseline(ORACLE, "oracle_baseline", needs_true_mask=True),
    )
}
BASELINES = tuple(BASELINE_RESTORERS)
# Scoring protocols: ours, and the origin notebook's (each image rescaled by its maximum).
PROTOCOLS = ("ours", "origin")


@dataclass(frozen=True)
class SummaryStat:
    """One row of summary.csv: a model's metric over the test images, with its interval."""

    model: str
    metric: str
    mean: float
    std: float
    median: float
    ci_low: float
    ci_high: float
    n: int


# The columns of the summary tables.
SUMMARY_FIELDS = tuple(field.name for field in dataclasses.fields(SummaryStat))
COMPARISON_FIELDS = (
    "a",
    "b",
    "metric",
    "mean_diff",
    "ci_low",
    "ci_high",
    "win_rate",
    "tie_rate",
    "p_value",
    "n",
)

# The dataset of a damage mask, in dataset.h5's splits and in a predictions file.
MASK_DATASET = "mask"

BUCKET_FIELDS = ("model", "metric", "bucket", "low", "high", "mean", "ci_low", "ci_high", "n")

# The groups of dataset.h5 (its writer and readers: restorebench.data.dataset).
SPLITS = ("train", "test")
# Fewer test images than this and prepare and the summary warn that the scores say little.
MIN_TEST_IMAGES = 10


class RunPaths:
    """The files of one run, relative to the working directory, as POSIX strings.

    Snakemake wants strings and patterns: ``paths.restorer("{model}")`` is the pattern
    a rule declares and ``paths.restorer("gan")`` the file of one model.
    """

    def __init__(self, root: str):
        self.root = PurePosixPath(root)

    @classmethod
    def of_run(cls, run: str) -> RunPaths:
        return cls(f"{RESULTS}/{run}")

    def _path(self, *parts: str) -> str:
        return str(self.root.joinpath(*parts))

    # Stage 1: the dataset.
    @property
    def dataset(self) -> str:
        return self._path("dataset.h5")

    @property
    def skipped(self) -> str:
        return self._path("skipped.tsv")

    # Stage 2: a trained model's folder.
    def model_dir(self, model: str) -> str:
        return self._path("models", model)

    def restorer(self, model: str) -> str:
        """The damaged -> restored network (safe-mode Keras), what predict and restore load."""
        return self._path("models", model, "restorer.keras")

    def trainer_weights(self, model: str) -> str:
        """Every network and optimizer of the trainer, to continue or fine-tune from."""
        return self._path("models", model, "trainer.weights.h5")

    def history(self, model: str) -> str:
        return self._path("models", model, "history.csv")

    def model_provenance(self, model: str) -> str:
        """What trained it (restorebench.runtime.provenance); beside the model, not a rule output, so
        a model trained before records existed stays current."""
        return self._path("models", model, "provenance.json")

    def backup(self, model: str) -> str:
        """The resumable state of an unfinished training (not a rule output: it survives a kill)."""
        return self._path("models", model, "backup")

    def tensorboard(self, model: str) -> str:
        return self._path("logs", "tensorboard", model)

    # Stage 3: restorations, scores, summary.
    def predictions(self, model: str) -> str:
        return self._path("predictions", f"{model}.h5")

    def metrics(self, model: str, protocol: str = "ours") -> str:
        if protocol == "ours":
            return self._path("metrics", f"{model}.csv")
        return self._path("metrics", protocol, f"{model}.csv")

    def metrics_provenance(self, model: str, protocol: str = "ours") -> str:
        """What scored it, beside the metrics file (not a rule output, as model_provenance)."""
        return self.metrics(model, protocol).removesuffix(".csv") + ".provenance.json"

    def mask_scores(self, model: str) -> str:
        """How well ``model`` found the damage, per image (a folder: no model name can clash)."""
        return self._path("metrics", "masks", f"{model}.csv")

    @property
    def summary(self) -> str:
        return self._path("summary.csv")

    @property
    def summary_provenance(self) -> str:
        """What summarized it (its interval's confidence level among the settings); beside
        summary.csv, not a rule output, as model_provenance."""
        return self._path("summary.provenance.json")

    @property
    def comparisons(self) -> str:
        return self._path("comparisons.csv")

    @property
    def summary_markdown(self) -> str:
        return self._path("summary.md")

    @property
    def summary_html(self) -> str:
        """summary.md rendered, for the report page (which shows HTML, not Markdown)."""
        return self._path("summary.html")

    @property
    def summary_buckets(self) -> str:
        """The scores again, per bucket of the images' damaged share."""
        return self._path("summary_buckets.csv")

    @property
    def summary_ratios(self) -> str:
        """The scores again per 10 % step of damaged share, as inpainting papers tabulate them."""
        return self._path("summary_ratios.csv")

    @property
    def summary_origin(self) -> str:
        return self._path("summary_origin.csv")

    @property
    def costs(self) -> str:
        """Each job's wall time and peak memory, from the benchmark files."""
        return self._path("costs.csv")

    @property
    def costs_html(self) -> str:
        """costs.csv as a table for the report page."""
        return self._path("costs.html")

    # Stage 4: figures.
    def plot(self, name: str) -> str:
        return self._path("plots", f"{name}.png")

    # Every rule's log and benchmark.
    def log(self, job: str) -> str:
        return self._path("logs", f"{job}.log")

    @property
    def benchmarks(self) -> str:
        """The folder of every job's benchmark file, which the cost table reads."""
        return self._path("benchmarks")

    def benchmark(self, job: str) -> str:
        return self._path("benchmarks", f"{job}.tsv")
