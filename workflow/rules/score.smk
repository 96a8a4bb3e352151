# Stage 3: every model's restorations of the test split, per-image metrics, summary.


include: "score_common.smk"


rule predict:
    input:
        dataset=PATHS.dataset,
        model=model_file,
    output:
        PATHS.predictions("{model}"),
    log:
        PATHS.log("predict_{model}"),
    benchmark:
        PATHS.benchmark("predict_{model}")
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        ENV
    threads: workflow.cores
    resources:
        gpu=lambda wildcards: int(wildcards.model in TRAINED),
    params:
        code=library_code("predict.py"),
        settings=predict_settings,
        compression_level=config["dataset"]["compression_level"],
    script:
        "../../scripts/predict.py"


rule score:
    input:
        dataset=PATHS.dataset,
        predictions=PATHS.predictions("{model}"),
    output:
        PATHS.metrics("{model}"),
    log:
        PATHS.log("score_{model}"),
    benchmark:
        PATHS.benchmark("score_{model}")
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        ENV
    threads: workflow.cores
    params:
        code=library_code("score.py"),
        protocol="ours",
        provenance=lambda wildcards: PATHS.metrics_provenance(wildcards.model),
    script:
        "../../scripts/score.py"


use rule score as score_origin with:
    output:
        PATHS.metrics("{model}", "origin"),
    log:
        PATHS.log("score_origin_{model}"),
    benchmark:
        PATHS.benchmark("score_origin_{model}")
    params:
        protocol="origin",
        code=library_code("score.py"),
        provenance=lambda wildcards: PATHS.metrics_provenance(wildcards.model, "origin"),


rule score_masks:
    input:
        dataset=PATHS.dataset,
        predictions=PATHS.predictions("{model}"),
    output:
        PATHS.mask_scores("{model}"),
    log:
        PATHS.log("score_masks_{model}"),
    benchmark:
        PATHS.benchmark("score_masks_{model}")
    wildcard_constraints:
        model=name_pattern(MASK_FINDERS),
    conda:
        ENV
    params:
        code=library_code("score_masks.py"),
    script:
        "../../scripts/score_masks.py"


rule summarize:
    input:
        dataset=PATHS.dataset,
        metrics=metrics_files("ours"),
        masks=[PATHS.mask_scores(model) for model in MASK_FINDERS],
        origin=metrics_files("origin") if SCORE["origin_protocol"] else [],
    output:
        **SUMMARY_OUTPUTS,
    log:
        PATHS.log("summarize"),
    benchmark:
        PATHS.benchmark("summarize")
    conda:
        ENV
    params:
        code=library_code("summarize.py"),
        record=PATHS.summary_provenance,
        models=SCORED,
        trained=TRAINED,
        trained_records=[PATHS.model_provenance(model) for model in TRAINED],
        scored_records=[PATHS.metrics_provenance(model) for model in SCORED],
        mask_finders=MASK_FINDERS,
        buckets=SCORE["mask_share_buckets"],
        pairs=PAIRS,
        resamples=SCORE["bootstrap"],
        confidence=SCORE["confidence"],
        seed=SCORE["seed"],
    script:
        "../../scripts/summarize.py"
