#!/usr/bin/env bash
# Run by `snakemake --sdm conda` inside the environment it made from environment.yml:
# install restorebench itself, from the workflow's folder (common.smk exports it), so every
# rule can import the library.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation --editable "${RESTOREBENCH_SOURCE:?set by workflow/rules/common.smk}"
