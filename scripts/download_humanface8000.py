"""Rule download_humanface8000: fetch the Kaggle dataset (logic in restorebench.data.download)."""

from pathlib import Path

from restorebench.data.download import download_humanface8000
from restorebench.runtime.logs import run_logged

if __name__ == "__main__":
    run_logged(
        snakemake.log[0],  # noqa: F821 (injected by Snakemake)
        lambda: download_humanface8000(Path(snakemake.params.folder), snakemake.params.dataset),  # noqa: F821
    )
