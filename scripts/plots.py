"""Rules plot_*: the report's figures (logic in restorebench.scoring.plots); the rule name picks the figure."""

from pathlib import Path

import numpy as np

from restorebench import contract
from restorebench.data.dataset import read_names, read_split
from restorebench.restore.predictions import read_predictions
from restorebench.runtime.logs import run_logged
from restorebench.scoring.plots import (
    plot_best_worst,
    plot_by_mask_share,
    plot_distributions,
    plot_examples,
    plot_history,
    plot_perception_distortion,
    plot_scatter,
    read_history,
)
from restorebench.scoring.summary import load_tables
from restorebench.scoring.tables import read_summary_stats


def tables(smk, paths: dict[str, str]) -> dict[str, np.ndarray]:
    """Each model's metrics table, refused unless its rows are the dataset's test images: a
    file that lost rows would otherwise be drawn from fewer images without a word."""
    named = {model: Path(path) for model, path in paths.items()}
    return load_tables(named, test_names=read_names(Path(smk.input.dataset), "test"))[1]


def distributions(smk) -> None:
    plot_distributions(
        tables(smk, dict(zip(smk.params.models, smk.input.metrics))), Path(smk.output[0])
    )


def by_mask_share(smk) -> None:
    plot_by_mask_share(
        tables(smk, dict(zip(smk.params.models, smk.input.metrics))),
        list(smk.params.buckets),
        Path(smk.output[0]),
    )


def pair(smk) -> None:
    a, b = smk.wildcards.a, smk.wildcards.b
    scores = tables(smk, {a: smk.input.a, b: smk.input.b})
    plot_scatter(a, b, scores[a], scores[b], Path(smk.output[0]))


def examples(smk) -> None:
    test = read_split(Path(smk.input.dataset), "test", masks=False)
    restored = read_predictions(Path(smk.input.predictions)).images
    model = smk.wildcards.model
    values = tables(smk, {model: smk.input.metrics})[model]
    column = values[:, contract.metric_names().index(smk.params.rank_metric)]
    plot_examples(
        model,
        test.clean,
        test.damaged,
        restored,
        test.names,
        column,
        smk.params.rank_metric,
        Path(smk.output[0]),
    )


def perception_distortion(smk) -> None:
    plot_perception_distortion(read_summary_stats(Path(smk.input.summary)), Path(smk.output[0]))


def best_worst(smk) -> None:
    test = read_split(Path(smk.input.dataset), "test", masks=False)
    models = list(smk.params.models)
    scores = tables(smk, dict(zip(models, smk.input.metrics)))
    column = contract.metric_names().index(smk.params.rank_metric)
    plot_best_worst(
        test.clean,
        test.damaged,
        {m: read_predictions(Path(p)).images for m, p in zip(models, smk.input.predictions)},
        {model: scores[model][:, column] for model in models},
        test.names,
        smk.params.rank_metric,
        Path(smk.output[0]),
    )


def training(smk) -> None:
    histories = {
        model: read_history(Path(path))
        for model, path in zip(smk.params.models, smk.input.histories)
    }
    plot_history(histories, Path(smk.output[0]))


FIGURES = {
    "plot_distributions": distributions,
    "plot_by_mask_share": by_mask_share,
    "plot_pair": pair,
    "plot_examples": examples,
    "plot_training": training,
    "plot_perception_distortion": perception_distortion,
    "plot_best_worst": best_worst,
}

if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: FIGURES[snakemake.rule](snakemake))  # noqa: F821 (injected by Snakemake)
