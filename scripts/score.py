"""Rule score / score_origin: predictions/<model>.h5 -> metrics[/origin]/<model>.csv (logic in restorebench.scoring.metrics)."""

import logging
import time
from pathlib import Path

from restorebench import contract
from restorebench.restore.predictions import read_with_test_split
from restorebench.runtime import provenance
from restorebench.runtime.logs import run_logged
from restorebench.scoring.metrics import score_images, write_metrics

log = logging.getLogger("restorebench.score")


def main(smk) -> None:
    test, predictions = read_with_test_split(Path(smk.input.predictions), Path(smk.input.dataset))
    start = time.perf_counter()
    values = score_images(
        test.clean, predictions.images, test.mask, smk.params.protocol, workers=smk.threads
    )
    log.info(
        "%s: scored %d images in %.2f s",
        predictions.model,
        len(values),
        time.perf_counter() - start,
    )
    write_metrics(Path(smk.output[0]), test.names, values)
    settings = {"protocol": smk.params.protocol, "metrics": contract.metric_names()}
    provenance.write(Path(smk.params.provenance), provenance.record(smk.params.code, settings))


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
