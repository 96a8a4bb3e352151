"""Rule predict: one model's restorations of the test split -> predictions/<model>.h5.

The baselines come from restorebench.baselines, the trained models from
restorebench.inference; the file contract lives in restorebench.predictions.
"""

import logging
import time
from pathlib import Path

from restorebench.baselines import BASELINES, inpaint_images
from restorebench.dataset import read_split
from restorebench.logs import run_logged
from restorebench.predictions import write_predictions

log = logging.getLogger("restorebench.predict")


def restore(model: str, damaged, settings: dict, model_file: str | None, threads: int):
    if model == "damaged":
        return damaged
    if model == "inpaint":
        return inpaint_images(damaged, **settings, workers=threads)
    from restorebench import accel

    accel.configure(threads)  # before TensorFlow starts, which the import below does
    from restorebench.inference import restore_images

    return restore_images(Path(model_file), damaged, batch_size=settings["batch_size"])


def main(smk) -> None:
    model = smk.wildcards.model
    test = read_split(Path(smk.input.dataset), "test")
    start = time.perf_counter()
    model_file = None if model in BASELINES else smk.input.model
    images = restore(model, test.damaged, dict(smk.params.settings), model_file, smk.threads)
    log.info(
        "%s: restored %d test images in %.2f s", model, len(images), time.perf_counter() - start
    )
    write_predictions(
        Path(smk.output[0]), images, test.names, model, level=smk.params.compression_level
    )


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
