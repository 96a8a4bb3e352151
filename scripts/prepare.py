"""Rule prepare: raw images -> dataset.h5 + skipped.tsv (logic in restorebench.data.prepare)."""

from pathlib import Path

from restorebench.data.prepare import PrepareSettings, prepare
from restorebench.runtime.logs import run_logged


def main(smk) -> None:
    settings = PrepareSettings.from_config(smk.params.dataset)
    folder = Path(smk.params.folder) if smk.params.folder else None
    prepare(
        settings,
        folder,
        Path(smk.output.dataset),
        Path(smk.output.skipped),
        workers=smk.threads,
        code=smk.params.code,
    )


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
