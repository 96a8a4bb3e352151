"""Rule prepare: raw images -> dataset.h5 + skipped.tsv (logic in restorebench.prepare)."""

from pathlib import Path

from restorebench.logs import run_logged
from restorebench.prepare import PrepareSettings, prepare


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
