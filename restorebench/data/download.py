"""Fetching humanface8000 from Kaggle with the official client."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)
KAGGLE_DATASET = "bharatadhikari/humanface8000"
CREDENTIALS_HELP = (
    "Kaggle credentials not found. Create an API token on https://www.kaggle.com/settings "
    "(section 'API', 'Create New Token'), save it as ~/.kaggle/kaggle.json (chmod 600), "
    "or set KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN). Or download the dataset "
    "yourself, unzip it and set dataset.path to the folder holding 'landscape Images'."
)


def has_credentials(environ: dict | None = None, home: Path | None = None) -> bool:
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if environ.get("KAGGLE_API_TOKEN") or (
        environ.get("KAGGLE_USERNAME") and environ.get("KAGGLE_KEY")
    ):
        return True
    config_dir = Path(environ.get("KAGGLE_CONFIG_DIR", home / ".kaggle"))
    return (config_dir / "kaggle.json").is_file() or (config_dir / "access_token").is_file()


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
    return text if len(text) <= limit else text[:limit] + "..."


def download_humanface8000(folder: Path, dataset: str = KAGGLE_DATASET) -> Path:
    """Download and unzip into ``folder``; returns the folder holding 'landscape Images'."""
    if not has_credentials():
        raise PermissionError(CREDENTIALS_HELP)
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError:
        raise PermissionError(
            "the kaggle client is not installed: pip install 'restorebench[download]'"
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s (about 475 MB)", dataset, folder)
    try:
        api = KaggleApi()
        api.authenticate()
        api.dataset_download_files(dataset, path=str(folder), unzip=False, quiet=False)
    except Exception as error:  # noqa: BLE001 (the client chains transport errors deeply)
        raise ConnectionError(
            f"cannot download {dataset} from the Kaggle API ({type(error).__name__}: "
            f"{_first_line(error)}); check the network and the Kaggle credentials, or set "
            "dataset.path to a downloaded copy"
        ) from None
    for archive in folder.glob("*.zip"):
        log.info("unzipping %s", archive)
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(folder)
        archive.unlink()
    if not (folder / "landscape Images").is_dir():
        raise FileNotFoundError(f"the download did not contain 'landscape Images' in {folder}")
    return folder
