"""Rules plot_*: the report's figures (logic in restorebench.plots); the rule name picks the figure."""

from pathlib import Path

from restorebench import contract
from restorebench.dataset import read_split
from restorebench.logs import run_logged
from restorebench.metrics import read_metrics
from restorebench.plots import (
    plot_by_mask_share,
    plot_distributions,
    plot_examples,
    plot_history,
    plot_scatter,
    read_history,
)
from restorebench.predictions import read_predictions


def distributions(smk) -> None:
    tables = {
        model: read_metrics(Path(path))[1]
        for model, path in zip(smk.params.models, smk.input.metrics)
    }
    plot_distributions(tables, Path(smk.output[0]))


def by_mask_share(smk) -> None:
    tables = {
        model: read_metrics(Path(path))[1]
        for model, path in zip(smk.params.models, smk.input.metrics)
    }
    plot_by_mask_share(tables, list(smk.params.buckets), Path(smk.output[0]))


def pair(smk) -> None:
    a, b = smk.wildcards.a, smk.wildcards.b
    plot_scatter(
        a,
        b,
        read_metrics(Path(smk.input.a))[1],
        read_metrics(Path(smk.input.b))[1],
        Path(smk.output[0]),
    )


def examples(smk) -> None:
    test = read_split(Path(smk.input.dataset), "test", masks=False)
    restored = read_predictions(Path(smk.input.predictions)).images
    names, values = read_metrics(Path(smk.input.metrics))
    column = values[:, contract.metric_names().index(smk.params.rank_metric)]
    model = smk.wildcards.model
    plot_examples(
        model,
        test.clean,
        test.damaged,
        restored,
        names,
        column,
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
}

if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: FIGURES[snakemake.rule](snakemake))  # noqa: F821 (injected by Snakemake)
