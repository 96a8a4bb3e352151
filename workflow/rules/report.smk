# Stage 4: figures for the HTML report (snakemake --cores 1 --report results/<run>/report.html).


report: "../report/workflow.rst"


rule plot_distributions:
    input:
        metrics=metrics_files("ours"),
    output:
        report(
            f"{RESULTS}/plots/distributions.png",
            caption="../report/distributions.rst",
            category="Plots",
            labels={"figure": "metric distributions"},
        ),
    log:
        f"{RESULTS}/logs/plot_distributions.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_distributions.tsv"
    conda:
        ENV
    params:
        models=SCORED,
    script:
        "../../scripts/plots.py"


rule plot_pair:
    input:
        a=f"{RESULTS}/metrics/{{a}}.csv",
        b=f"{RESULTS}/metrics/{{b}}.csv",
    output:
        report(
            f"{RESULTS}/plots/{{a}}_vs_{{b}}.png",
            caption="../report/pair.rst",
            category="Plots",
            labels={"figure": "{a} vs {b}"},
        ),
    log:
        f"{RESULTS}/logs/plot_{{a}}_vs_{{b}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_{{a}}_vs_{{b}}.tsv"
    wildcard_constraints:
        a=MODEL_PATTERN,
        b=MODEL_PATTERN,
    conda:
        ENV
    script:
        "../../scripts/plots.py"


rule plot_examples:
    input:
        dataset=f"{RESULTS}/dataset.h5",
        predictions=f"{RESULTS}/predictions/{{model}}.h5",
        metrics=f"{RESULTS}/metrics/{{model}}.csv",
    output:
        report(
            f"{RESULTS}/plots/examples_{{model}}.png",
            caption="../report/examples.rst",
            category="Plots",
            labels={"figure": "examples {model}"},
        ),
    log:
        f"{RESULTS}/logs/plot_examples_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_examples_{{model}}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        ENV
    params:
        rank_metric=SCORE["rank_metric"],
    script:
        "../../scripts/plots.py"


rule plot_training:
    input:
        histories=[f"{RESULTS}/models/{model}_history.csv" for model in HISTORY_MODELS],
    output:
        report(
            f"{RESULTS}/plots/training.png",
            caption="../report/training.rst",
            category="Plots",
            labels={"figure": "training curves"},
        ),
    log:
        f"{RESULTS}/logs/plot_training.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_training.tsv"
    conda:
        ENV
    params:
        models=HISTORY_MODELS,
    script:
        "../../scripts/plots.py"
