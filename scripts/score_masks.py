"""Rule score_masks: the damage masks a model found -> metrics/masks/<model>.csv (logic in restorebench.data.masks)."""

from pathlib import Path

from restorebench import contract
from restorebench.restore.predictions import read_with_test_split
from restorebench.runtime.logs import run_logged
from restorebench.scoring.mask_scores import score_masks
from restorebench.scoring.metrics import write_metrics


def main(smk) -> None:
    test, predictions = read_with_test_split(Path(smk.input.predictions), Path(smk.input.dataset))
    if predictions.masks is None:
        raise ValueError(
            f"{smk.input.predictions}: holds no 'mask' (the damage the model found); "
            "delete it so that it is predicted again"
        )
    values = score_masks(predictions.masks, test.mask)
    write_metrics(Path(smk.output[0]), test.names, values, columns=contract.mask_score_names())


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
