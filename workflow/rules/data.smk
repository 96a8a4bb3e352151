# Stage 1: raw image pairs -> results/<run>/dataset.h5 (+ skipped.tsv).


rule download_humanface8000:
    output:
        touch(f"{DOWNLOAD_DIR}/download.done"),
    params:
        dataset="bharatadhikari/humanface8000",
        folder=lambda wildcards, output: os.path.dirname(output[0]),
    log:
        "logs/download_humanface8000.log",
    benchmark:
        "benchmarks/download_humanface8000.tsv"
    conda:
        ENV
    script:
        "../../scripts/download_humanface8000.py"


rule prepare:
    input:
        raw_inputs,
    output:
        dataset=f"{RESULTS}/dataset.h5",
        skipped=f"{RESULTS}/skipped.tsv",
    params:
        dataset=config["dataset"],
        folder=source_path(),
    threads: workflow.cores
    log:
        f"{RESULTS}/logs/prepare.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare.tsv"
    conda:
        ENV
    script:
        "../../scripts/prepare.py"
