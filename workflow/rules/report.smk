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
