# Shared helpers: config validation, paths, and the raw inputs of each data source.
import copy
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")
# Snakemake fills schema defaults only in the schema file it is given, not through a $ref to
# another file, so each stage's section is validated (and filled with its defaults) on its own
# too. Within a file $refs are followed: train.vae and train.vae_origin share one $defs block,
# whose default lists would be one object in both; the copy gives each section its own.
for section in ("train", "score"):
    validate(config.setdefault(section, {}), schema=f"../schemas/{section}.schema.yaml")
    config[section] = copy.deepcopy(config[section])


def _check_dataset_settings():
    """Cross-key rules the schema cannot express, refused before any job starts."""
    from restorebench.prepare import PrepareSettings

    try:
        PrepareSettings.from_config(config["dataset"])
    except ValueError as error:
        raise WorkflowError(f"config key {error}") from None


_check_dataset_settings()

RESULTS = f"results/{config['run']}"
ENV = "../../environment.yml"
DOWNLOAD_DIR = "resources/humanface8000"


def _source_folders():
    """The raw folders of the configured source, checked before any job starts."""
    dataset = config["dataset"]
    source, path = dataset["source"], dataset["path"]
    if source == "demo":
        return []
    if source == "humanface8000" and path is None:
        return []
    if path is None:
        raise WorkflowError(
            f"config key dataset.path: source '{source}' needs a folder"
        )
    from restorebench.sources import source_folders

    try:
        return source_folders(source, Path(path))
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        raise WorkflowError(f"config key dataset.path: {error}") from None


def raw_inputs(wildcards):
    """Every raw file of the source, so a new, removed or edited image re-prepares."""
    dataset = config["dataset"]
    if dataset["source"] == "humanface8000" and dataset["path"] is None:
        return [f"{DOWNLOAD_DIR}/download.done"]
    return [
        str(p)
        for folder in _source_folders()
        for p in sorted(folder.iterdir())
        if p.is_file()
    ]


def source_path():
    """The folder prepare reads from ('' for the demo)."""
    dataset = config["dataset"]
    if dataset["source"] == "humanface8000" and dataset["path"] is None:
        return DOWNLOAD_DIR
    return dataset["path"] or ""
