# restorebench: damaged/clean pairs -> HDF5 dataset -> VAE, GAN, diffusion -> scores.
# Run: snakemake --cores all   (see README.md; the config is validated before any work)
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from restorebench.runtime.config_checks import check_yaml_file
from restorebench.runtime.watchdog import PARENT_VARIABLE

min_version("9.0")
# Every script stops when this process ends (restorebench.runtime.watchdog); each Snakemake
# process, a cluster job's own included, names itself.
os.environ[PARENT_VARIABLE] = str(os.getpid())

try:  # Snakemake's own message names neither the file nor the line
    check_yaml_file("config.yaml")
except ValueError as error:
    raise WorkflowError(str(error)) from None


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        PATHS.dataset,
        score_targets(),
        PATHS.costs,
        PATHS.costs_html,


onsuccess:
    from restorebench.scoring.summary_page import closing_message

    message = closing_message(
        PATHS, TRAINED, config["score"]["rank_metric"], sys.executable
    )
    if message:
        print(message)
