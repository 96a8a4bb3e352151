# Stage 3: every model's restorations of the test split, per-image metrics, summary.


include: "score_common.smk"


rule predict:
    input:
        dataset=f"{RESULTS}/dataset.h5",
        model=model_file,
    output:
        f"{RESULTS}/predictions/{{model}}.h5",
    log:
        f"{RESULTS}/logs/predict_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict_{{model}}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        ENV
    threads: workflow.cores
    resources:
        gpu=lambda wildcards: int(wildcards.model in MODEL_FILES),
    params:
        settings=predict_settings,
        compression_level=config["dataset"]["compression_level"],
    script:
        "../../scripts/predict.py"


rule score:
    input:
        dataset=f"{RESULTS}/dataset.h5",
        predictions=f"{RESULTS}/predictions/{{model}}.h5",
    output:
        f"{RESULTS}/metrics/{{model}}.csv",
    log:
        f"{RESULTS}/logs/score_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/score_{{model}}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        ENV
    threads: workflow.cores
    params:
        protocol="ours",
    script:
        "../../scripts/score.py"


use rule score as score_origin with:
    output:
        f"{RESULTS}/metrics/origin/{{model}}.csv",
    log:
        f"{RESULTS}/logs/score_origin_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/score_origin_{{model}}.tsv"
    params:
        protocol="origin",


rule summarize:
    input:
        metrics=metrics_files("ours"),
        origin=metrics_files("origin") if SCORE["origin_protocol"] else [],
    output:
        **SUMMARY_OUTPUTS,
    log:
        f"{RESULTS}/logs/summarize.log",
    benchmark:
        f"{RESULTS}/benchmarks/summarize.tsv"
    conda:
        ENV
    params:
        models=SCORED,
        pairs=PAIRS,
        resamples=SCORE["bootstrap"],
        confidence=SCORE["confidence"],
        seed=SCORE["seed"],
    script:
        "../../scripts/summarize.py"
