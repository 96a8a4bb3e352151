"""Rule score_masks: the damage masks a model found -> metrics/masks/<model>.csv (logic in restorebench.masks)."""

from pathlib import Path

from restorebench import contract
from restorebench.dataset import read_split
from restorebench.logs import run_logged
from restorebench.masks import score_masks
from restorebench.metrics import write_metrics
from restorebench.predictions import read_predictions


def main(smk) -> None:
    test = read_split(Path(smk.input.dataset), "test")
    predictions = read_predictions(Path(smk.input.predictions))
    if predictions.names != test.names:
        raise ValueError(
            f"{smk.input.predictions}: its image names are not the test split of {smk.input.dataset}; "
            "delete it so that it is predicted again"
        )
    if predictions.masks is None:
        raise ValueError(
            f"{smk.input.predictions}: holds no 'mask' (the damage the model found); "
            "delete it so that it is predicted again"
        )
    values = score_masks(predictions.masks, test.mask)
    names = tuple(spec.name for spec in contract.MASK_SCORES)
    write_metrics(Path(smk.output[0]), test.names, values, columns=names)


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
