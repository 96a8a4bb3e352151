# Stage 2: dataset.h5 -> every trained model of config key `models`, in results/<run>/models/<model>/.


# Every model, whatever its family, saves the same files (restorebench.contract). Each job
# holds its entry's `gpus` of the `gpu` resource and claims that many device ids
# (restorebench.runtime.devices), so `--resources gpu=1` runs one at a time.
rule train:
    input:
        dataset=PATHS.dataset,
    output:
        restorer=PATHS.restorer("{model}"),
        trainer=PATHS.trainer_weights("{model}"),
        history=PATHS.history("{model}"),
    log:
        PATHS.log("train_{model}"),
    benchmark:
        PATHS.benchmark("train_{model}")
    wildcard_constraints:
        model=name_pattern(TRAINED),
    conda:
        ENV
    threads: workflow.cores
    resources:
        gpu=lambda wildcards: config["models"][wildcards.model]["gpus"],
    params:
        train=train_params,
        backup=lambda wildcards: PATHS.backup(wildcards.model),
        provenance=lambda wildcards: PATHS.model_provenance(wildcards.model),
    script:
        "../../scripts/train.py"
