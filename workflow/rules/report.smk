# Stage 4: figures for the HTML report (snakemake --cores 1 --report results/<run>/report.html).


report: "../report/workflow.rst"


rule plot_distributions:
    input:
        dataset=PATHS.dataset,
        metrics=metrics_files("ours"),
    output:
        report(
            PATHS.plot("distributions"),
            caption="../report/distributions.rst",
            category="Plots",
            labels={"figure": "metric distributions"},
        ),
    log:
        PATHS.log("plot_distributions"),
    benchmark:
        PATHS.benchmark("plot_distributions")
    conda:
        ENV
    params:
        code=library_code("plots.py"),
        models=SCORED,
    script:
        "../../scripts/plots.py"


rule plot_by_mask_share:
    input:
        dataset=PATHS.dataset,
        metrics=metrics_files("ours"),
    output:
        report(
            PATHS.plot("hole_psnr_by_mask_share"),
            caption="../report/by_mask_share.rst",
            category="Plots",
            labels={"figure": "damaged-pixel PSNR by damaged share"},
        ),
    log:
        PATHS.log("plot_by_mask_share"),
    benchmark:
        PATHS.benchmark("plot_by_mask_share")
    conda:
        ENV
    params:
        code=library_code("plots.py"),
        models=[model for model in SCORED if model != contract.INPUT_MODEL],
        buckets=SCORE["mask_share_buckets"],
    script:
        "../../scripts/plots.py"


rule plot_pair:
    input:
        dataset=PATHS.dataset,
        a=PATHS.metrics("{a}"),
        b=PATHS.metrics("{b}"),
    output:
        report(
            PATHS.plot("{a}_vs_{b}"),
            caption="../report/pair.rst",
            category="Plots",
            labels={"figure": "{a} vs {b}"},
        ),
    log:
        PATHS.log("plot_{a}_vs_{b}"),
    benchmark:
        PATHS.benchmark("plot_{a}_vs_{b}")
    wildcard_constraints:
        a=MODEL_PATTERN,
        b=MODEL_PATTERN,
    conda:
        ENV
    params:
        code=library_code("plots.py"),
    script:
        "../../scripts/plots.py"


rule plot_examples:
    input:
        dataset=PATHS.dataset,
        predictions=PATHS.predictions("{model}"),
        metrics=PATHS.metrics("{model}"),
    output:
        report(
            PATHS.plot("examples_{model}"),
            caption="../report/examples.rst",
            category="Plots",
            labels={"figure": "examples {model}"},
        ),
    log:
        PATHS.log("plot_examples_{model}"),
    benchmark:
        PATHS.benchmark("plot_examples_{model}")
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        ENV
    params:
        code=library_code("plots.py"),
        rank_metric=SCORE["rank_metric"],
    script:
        "../../scripts/plots.py"


rule plot_training:
    input:
        histories=[PATHS.history(model) for model in TRAINED],
    output:
        report(
            PATHS.plot("training"),
            caption="../report/training.rst",
            category="Plots",
            labels={"figure": "training curves"},
        ),
    log:
        PATHS.log("plot_training"),
    benchmark:
        PATHS.benchmark("plot_training")
    conda:
        ENV
    params:
        code=library_code("plots.py"),
        models=TRAINED,
    script:
        "../../scripts/plots.py"


rule plot_perception_distortion:
    input:
        summary=PATHS.summary,
    output:
        report(
            PATHS.plot("perception_distortion"),
            caption="../report/perception_distortion.rst",
            category="Plots",
            labels={"figure": "PSNR against LPIPS"},
        ),
    log:
        PATHS.log("plot_perception_distortion"),
    benchmark:
        PATHS.benchmark("plot_perception_distortion")
    conda:
        ENV
    params:
        code=library_code("plots.py"),
    script:
        "../../scripts/plots.py"


rule plot_best_worst:
    input:
        dataset=PATHS.dataset,
        predictions=[PATHS.predictions(model) for model in EXAMPLE_MODELS],
        metrics=[PATHS.metrics(model) for model in EXAMPLE_MODELS],
    output:
        report(
            PATHS.plot("best_worst"),
            caption="../report/best_worst.rst",
            category="Plots",
            labels={"figure": "best and worst per model"},
        ),
    log:
        PATHS.log("plot_best_worst"),
    benchmark:
        PATHS.benchmark("plot_best_worst")
    conda:
        ENV
    params:
        code=library_code("plots.py"),
        models=EXAMPLE_MODELS,
        rank_metric=SCORE["rank_metric"],
    script:
        "../../scripts/plots.py"


# Runs after every other target of rule all, so that their benchmark files exist: no rule
# declares a benchmark as an output, so the script reads the folder.
rule costs:
    input:
        score_targets(),
    output:
        csv=PATHS.costs,
        html=report(
            PATHS.costs_html,
            caption="../report/costs.rst",
            category="Costs",
            labels={"table": "per job"},
        ),
    log:
        PATHS.log("costs"),
    benchmark:
        PATHS.benchmark("costs")
    conda:
        ENV
    params:
        code=library_code("costs.py"),
        benchmarks=PATHS.benchmarks,
    script:
        "../../scripts/costs.py"
