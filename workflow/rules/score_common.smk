# Helpers of the score and report stages: the scored models, their files and targets.
SCORE = config["score"]
MODEL_PATTERN = name_pattern(SCORED)
PAIRS = [
    (a, b) for a, b in SCORE["comparisons"] if a in SCORED and b in SCORED and a != b
]


def model_file(wildcards):
    """The saved model a prediction reads; the baselines read none."""
    return PATHS.restorer(wildcards.model) if wildcards.model in TRAINED else []


BASELINE = contract.BASELINE_RESTORERS


def _finds_mask(model):
    """Whether a restorer finds the damage itself and stores the mask it found: a baseline
    that says so, a model whose family says so for its entry (`families.finds_mask`)."""
    if model in BASELINE:
        return BASELINE[model].finds_mask
    return families.finds_mask(config["models"][model])


MASK_FINDERS = [model for model in SCORED if _finds_mask(model)]


def predict_settings(wildcards):
    """Only the settings of this model, so changing one reruns that model alone."""
    if wildcards.model in BASELINE:
        key = BASELINE[wildcards.model].settings
        return SCORE[key] if key else {}
    if wildcards.model in TRAINED:
        return {
            "batch_size": SCORE["batch_size"],
            "family": config["models"][wildcards.model]["family"],
            "paint_mask": wildcards.model in MASK_FINDERS,
        }
    return {}


def metrics_files(protocol):
    """The per-image metric files of every scored model under one scoring protocol."""
    return [PATHS.metrics(model, protocol) for model in SCORED]


SUMMARY_OUTPUTS = {
    "summary": report(
        PATHS.summary,
        caption="../report/summary.rst",
        category="Scores",
        labels={"table": "per model"},
    ),
    "comparisons": report(
        PATHS.comparisons,
        caption="../report/comparisons.rst",
        category="Scores",
        labels={"table": "paired comparisons"},
    ),
    "markdown": report(
        PATHS.summary_markdown,
        caption="../report/summary_markdown.rst",
        category="Scores",
        labels={"table": "summary (Markdown)"},
    ),
    "buckets": report(
        PATHS.summary_buckets,
        caption="../report/summary_buckets.rst",
        category="Scores",
        labels={"table": "by damaged share"},
    ),
    "ratios": report(
        PATHS.summary_ratios,
        caption="../report/summary_ratios.rst",
        category="Scores",
        labels={"table": "by damaged share, 10 % steps"},
    ),
    "html": report(
        PATHS.summary_html,
        caption="../report/summary_html.rst",
        category="Scores",
        labels={"table": "summary"},
    ),
}
if SCORE["origin_protocol"]:
    SUMMARY_OUTPUTS["origin"] = report(
        PATHS.summary_origin,
        caption="../report/summary_origin.rst",
        category="Scores",
        labels={"table": "origin protocol"},
    )

# The input's "restoration" is the input itself: no example figure.
EXAMPLE_MODELS = [model for model in SCORED if model != contract.INPUT_MODEL]


def plot_targets():
    """Every figure the configured models allow; rule all asks for these."""
    targets = [PATHS.plot("distributions"), PATHS.plot("hole_psnr_by_mask_share")]
    targets.append(PATHS.plot("perception_distortion"))
    targets += [PATHS.plot(f"{a}_vs_{b}") for a, b in PAIRS]
    targets += [PATHS.plot(f"examples_{model}") for model in EXAMPLE_MODELS]
    if EXAMPLE_MODELS:
        targets.append(PATHS.plot("best_worst"))
    if TRAINED:
        targets.append(PATHS.plot("training"))
    return targets


def score_targets():
    """Every per-model file, the summary and the figures: a deleted intermediate is rebuilt
    (and the cost table, rule costs, runs after all of them)."""
    targets = [PATHS.summary, PATHS.summary_markdown, *plot_targets()]
    targets += [PATHS.predictions(model) for model in SCORED]
    targets += metrics_files("ours")
    targets += [PATHS.mask_scores(model) for model in MASK_FINDERS]
    return targets
