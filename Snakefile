# restorebench: damaged/clean image pairs -> HDF5 dataset -> VAE and GAN -> scores.
# Run: snakemake --cores all   (see README.md; the config is validated before any work)
from snakemake.utils import min_version

min_version("9.0")


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
