# Helpers of the score and report stages: the configured models, their files and targets.
SCORE = config["score"]
# The trained models and the file each is restored with (the training stage writes them);
# vae_origin and gan_origin are the origin's recipe, trained only when score.models lists them.
MODEL_FILES = {
    "vae": f"{RESULTS}/models/vae.keras",
    "gan": f"{RESULTS}/models/gan_generator.keras",
    "vae_origin": f"{RESULTS}/models/vae_origin.keras",
    "gan_origin": f"{RESULTS}/models/gan_origin_generator.keras",
}
SCORED = SCORE["models"]
MODEL_PATTERN = "|".join(SCORED)
PAIRS = [
    (a, b) for a, b in SCORE["comparisons"] if a in SCORED and b in SCORED and a != b
]


def model_file(wildcards):
    """The saved model a prediction reads; the baselines read none."""
    return MODEL_FILES.get(wildcards.model, [])


def predict_settings(wildcards):
    """Only the settings of this model, so changing one reruns that model alone."""
    if wildcards.model == "inpaint":
        return SCORE["inpaint"]
    if wildcards.model in MODEL_FILES:
        return {"batch_size": SCORE["batch_size"]}
    return {}


def metrics_files(protocol):
    """The per-image metric files of every scored model under one scoring protocol."""
    folder = "metrics/origin" if protocol == "origin" else "metrics"
    return [f"{RESULTS}/{folder}/{model}.csv" for model in SCORED]


SUMMARY_OUTPUTS = {
    "summary": report(
        f"{RESULTS}/summary.csv",
        caption="../report/summary.rst",
        category="Scores",
        labels={"table": "per model"},
    ),
    "comparisons": report(
        f"{RESULTS}/comparisons.csv",
        caption="../report/comparisons.rst",
        category="Scores",
        labels={"table": "paired comparisons"},
    ),
    "markdown": f"{RESULTS}/summary.md",
}
if SCORE["origin_protocol"]:
    SUMMARY_OUTPUTS["origin"] = report(
        f"{RESULTS}/summary_origin.csv",
        caption="../report/summary_origin.rst",
        category="Scores",
        labels={"table": "origin protocol"},
    )

EXAMPLE_MODELS = [
    model for model in SCORED if model != "damaged"
]  # its "restoration" is the input
HISTORY_MODELS = [model for model in SCORED if model in MODEL_FILES]


def plot_targets():
    """Every figure the configured models allow; rule all asks for these."""
    targets = [f"{RESULTS}/plots/distributions.png"]
    targets += [f"{RESULTS}/plots/{a}_vs_{b}.png" for a, b in PAIRS]
    targets += [f"{RESULTS}/plots/examples_{model}.png" for model in EXAMPLE_MODELS]
    if HISTORY_MODELS:
        targets.append(f"{RESULTS}/plots/training.png")
    return targets


def score_targets():
    return [f"{RESULTS}/summary.csv", f"{RESULTS}/summary.md", *plot_targets()]
