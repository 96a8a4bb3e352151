# Stage 1: raw image pairs -> results/<run>/dataset.h5 (+ skipped.tsv).


rule download_humanface8000:
    output:
        touch(f"{DOWNLOAD_DIR}/download.done"),
    log:
        "logs/download_humanface8000.log",
    benchmark:
        "benchmarks/download_humanface8000.tsv"
    conda:
        ENV
    params:
        code=library_code("download_humanface8000.py"),
        dataset="bharatadhikari/humanface8000",
        folder=lambda wildcards, output: os.path.dirname(output[0]),
    script:
        "../../scripts/download_humanface8000.py"


rule prepare:
    input:
        raw_inputs,
    output:
        dataset=PATHS.dataset,
        skipped=PATHS.skipped,
    log:
        PATHS.log("prepare"),
    benchmark:
        PATHS.benchmark("prepare")
    conda:
        ENV
    threads: workflow.cores
    params:
        code=library_code("prepare.py"),
        dataset=config["dataset"],
        folder=source_path(),
    script:
        "../../scripts/prepare.py"
