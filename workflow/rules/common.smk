# Shared helpers: config validation, the run's paths, the models, the raw inputs of each source.
import copy
import functools
import os
from pathlib import Path

import jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from restorebench import contract
from restorebench.data.sources import SOURCES

from restorebench.models import families
from restorebench.runtime.code_digest import code_digest
from restorebench.runtime.config_checks import check_values

# Keys of the first release, refused with the way to say them now.
MOVED_KEYS = {
    ("train", "vae"): "models.vae (with family: vae)",
    ("train", "gan"): "models.gan (with family: gan)",
    (
        "train",
        "vae_origin",
    ): "models.vae_origin (with family: vae; configs/beside-origin.yaml)",
    (
        "train",
        "gan_origin",
    ): "models.gan_origin (with family: gan; configs/beside-origin.yaml)",
    (
        "score",
        "models",
    ): "models (trained models) and score.baselines (damaged, inpaint)",
}


def _refuse_moved_keys():
    for (section, key), now in MOVED_KEYS.items():
        if isinstance(config.get(section), dict) and key in config[section]:
            raise WorkflowError(
                f"config key {section}.{key}: moved to {now}; see README.md, 'Experiments'"
            )


def _validate_config():
    """The schema's checks and defaults, with errors that name the config key."""
    try:
        check_values(config)
    except ValueError as error:
        raise WorkflowError(f"config key {error}") from None
    try:
        validate(config, schema="../schemas/config.schema.yaml")
    except WorkflowError as error:
        cause = error.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        key = ".".join(map(str, cause.absolute_path)) or "(top level)"
        raise WorkflowError(f"config key {key}: {cause.message}") from None
    # Defaults are filled with the schema's own objects: each entry gets its own copy.
    for section in ("train", "models", "score"):
        config[section] = copy.deepcopy(config[section])


def _check_names():
    """Rules on names the schema cannot say, refused before any job starts."""
    for name, entry in config["models"].items():
        if entry is not None and entry["family"] not in families.names():
            raise WorkflowError(
                f"config key models.{name}.family: unknown family '{entry['family']}', "
                f"expected one of {families.names()}"
            )
        if name in contract.BASELINES:
            raise WorkflowError(
                f"config key models.{name}: '{name}' is a baseline's name; name the model otherwise"
            )
    for baseline in config["score"]["baselines"]:
        if baseline not in contract.BASELINES:
            raise WorkflowError(
                f"config key score.baselines: unknown baseline '{baseline}', "
                f"expected some of {contract.BASELINES}"
            )
    edges = config["score"]["mask_share_buckets"]
    if edges != sorted(edges):
        raise WorkflowError(
            f"config key score.mask_share_buckets: {edges} must increase, "
            f"e.g. {sorted(edges)}"
        )
    try:
        contract.image_metric(config["score"]["rank_metric"])
    except ValueError as error:
        raise WorkflowError(f"config key score.rank_metric: {error}") from None


def _check_dataset_settings():
    """Cross-key rules of the dataset section, refused before any job starts."""
    from restorebench.data.prepare import PrepareSettings

    try:
        PrepareSettings.from_config(config["dataset"])
    except ValueError as error:
        raise WorkflowError(f"config key {error}") from None


_refuse_moved_keys()
_validate_config()
_check_names()
_check_dataset_settings()

PATHS = contract.RunPaths.of_run(config["run"])
# The rules' conda environment (`--sdm conda`); its post-deploy script installs
# restorebench from this folder, so every rule imports the library (README, "Conda").
ENV = "../../environment.yml"
os.environ.setdefault("RESTOREBENCH_SOURCE", workflow.basedir)
SOURCE = SOURCES[config["dataset"]["source"]]
# The one downloadable source's folder (rule download_humanface8000).
DOWNLOAD_DIR = SOURCES["humanface8000"].download
# The trained models (config entries left out with null are not), then the baselines.
TRAINED = [name for name, entry in config["models"].items() if entry is not None]
SCORED = TRAINED + config["score"]["baselines"]
if not SCORED:
    raise WorkflowError("config keys models and score.baselines: nothing to score")


def _retrains_from_dataset():
    """Whether the dataset is newer than a trained model, so training would start from it."""
    if not os.path.isfile(PATHS.dataset):
        return False
    made = os.path.getmtime(PATHS.dataset)
    restorers = [PATHS.restorer(model) for model in TRAINED]
    return any(os.path.isfile(r) and os.path.getmtime(r) < made for r in restorers)


def _refuse_unreadable_outputs():
    """A damaged HDF5 output is refused before any job starts: the jobs that read it would
    fail one by one, and each would delete the outputs it was about to replace (a trained
    model among them, so a dataset about to retrain one is read in full first)."""
    from restorebench.data.dataset import REBUILD_HINT, content_problem, hdf5_problem

    for path in [PATHS.dataset, *map(PATHS.predictions, SCORED)]:
        problem = hdf5_problem(path) if os.path.isfile(path) else None
        if problem:
            raise WorkflowError(
                f"{path}: not a readable HDF5 file ({problem}); {REBUILD_HINT}"
            )
    problem = content_problem(PATHS.dataset) if _retrains_from_dataset() else None
    if problem:
        raise WorkflowError(
            f"{PATHS.dataset}: damaged ({problem}); no model was touched; {REBUILD_HINT}"
        )


_refuse_unreadable_outputs()


def name_pattern(names):
    """A wildcard constraint matching exactly these names (none: matches nothing)."""
    return "|".join(names) if names else "(?!)"


@functools.cache
def library_code(script, *modules):
    """The digest of the library code scripts/<script> runs, and ``modules`` (a family's,
    loaded by name): a behaviour edit reruns the jobs that run it, a comment edit none.
    """
    return code_digest(Path(workflow.basedir) / "scripts" / script, modules)


def train_params(wildcards):
    """The values one model's training depends on: editing its entry reruns only it."""
    entry = config["models"][wildcards.model]
    options = config["train"]
    return {
        "family": entry["family"],
        "code": library_code("train.py", families.FAMILIES[entry["family"]].module),
        "settings": {
            key: value
            for key, value in entry.items()
            if key not in families.PLACEMENT_KEYS
        },
        "options": {
            key: value for key, value in options.items() if key != "tensorboard"
        },
        "tensorboard": (
            PATHS.tensorboard(wildcards.model) if options["tensorboard"] else None
        ),
    }


def _source_folders():
    """The raw folders of the configured source, checked before any job starts."""
    try:
        return SOURCE.raw_folders(config["dataset"]["path"])
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        raise WorkflowError(f"config key dataset.path: {error}") from None


def raw_inputs(wildcards):
    """Every raw file of the source, so a new, removed or edited image re-prepares."""
    if SOURCE.awaits_download(config["dataset"]["path"]):
        return [f"{SOURCE.download}/download.done"]
    return [
        str(p)
        for folder in _source_folders()
        for p in sorted(folder.iterdir())
        if p.is_file()
    ]


def source_path():
    """The folder prepare reads from ('' for a built-in source)."""
    path = config["dataset"]["path"]
    return SOURCE.download if SOURCE.awaits_download(path) else path or ""


def _check_planned_split():
    """An empty test or train split is refused before any job starts (names decide it)."""
    from restorebench.data.prepare import PrepareSettings, check_planned_split

    dataset = config["dataset"]
    if SOURCE.awaits_download(dataset["path"]):
        return  # not downloaded yet: prepare checks after the download
    _source_folders()  # a missing folder is named first
    try:
        check_planned_split(
            PrepareSettings.from_config(dataset), Path(source_path() or ".")
        )
    except ValueError as error:
        raise WorkflowError(str(error)) from None


_check_planned_split()
