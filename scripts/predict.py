"""Rule predict: one model's restorations of the test split -> predictions/<model>.h5.

The baselines come from restorebench.restore.baselines, the trained models from
restorebench.restore.inference; the file contract lives in restorebench.restore.predictions. A restorer
that finds the damage itself stores the mask it found beside its restorations.
"""

import logging
import time
from pathlib import Path

from restorebench import contract
from restorebench.data.dataset import Split, read_split
from restorebench.restore.baselines import restore_baseline
from restorebench.restore.predictions import write_predictions
from restorebench.runtime import provenance
from restorebench.runtime.devices import claim_gpus
from restorebench.runtime.logs import run_logged

log = logging.getLogger("restorebench.predict")
# How a user mends a damaged model file: it looks current to Snakemake, which retrains a
# missing one only.
RETRAIN_HINT = "delete it and run again: Snakemake trains it again"


def restore(model: str, test: Split, settings: dict, model_file: str | None, threads: int):
    """(restorations, masks found or None)."""
    if model in contract.BASELINE_RESTORERS:
        return restore_baseline(model, test.damaged, test.mask, settings, threads)
    from restorebench.runtime import accel

    accel.configure(threads)  # before TensorFlow starts, which the imports below do
    from restorebench.models import families
    from restorebench.restore.inference import load, restore_with

    try:
        restorer = load(Path(model_file))  # its errors name the file
    except (ValueError, OSError) as error:
        raise ValueError(f"{error}; {RETRAIN_HINT}") from None
    with_mask = families.load(settings["family"]).with_paint_mask
    if not settings["paint_mask"] or with_mask is None:
        return restore_with(restorer, test.damaged, settings["batch_size"]), None
    return restore_with(with_mask(restorer), test.damaged, settings["batch_size"])


def main(smk) -> None:
    model = smk.wildcards.model
    baseline = contract.BASELINE_RESTORERS.get(model)
    masks = baseline is not None and baseline.needs_true_mask
    test = read_split(Path(smk.input.dataset), "test", masks=masks)
    start = time.perf_counter()
    model_file = None if baseline else smk.input.model
    with claim_gpus(smk.resources.gpu):
        images, masks = restore(model, test, dict(smk.params.settings), model_file, smk.threads)
    log.info(
        "%s: restored %d test images in %.2f s%s",
        model,
        len(images),
        time.perf_counter() - start,
        ", with the damage masks it found" if masks is not None else "",
    )
    write_predictions(
        Path(smk.output[0]),
        images,
        test.names,
        model,
        level=smk.params.compression_level,
        masks=masks,
        record=provenance.record(smk.params.code, smk.params.settings),
    )


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
