# Stage 2: dataset.h5 -> trained models (+ per-epoch history) in results/<run>/models/.
# Every trained model and the network kind it trains (restorebench.training.fit): ours, and
# the origin's recipe beside them (train.vae_origin, train.gan_origin), which train only
# when score.models lists them.
TRAINED_KINDS = {"vae": "vae", "gan": "gan", "vae_origin": "vae", "gan_origin": "gan"}


def train_outputs(model):
    """A trained model's files, keyed as scripts/train.py saves them; the restorer first."""
    folder = f"{RESULTS}/models"
    if TRAINED_KINDS[model] == "vae":
        networks = {"vae": f"{folder}/{model}.keras"}
    else:
        networks = {
            "generator": f"{folder}/{model}_generator.keras",
            "discriminator": f"{folder}/{model}_discriminator.keras",
        }
    return {**networks, "history": f"{folder}/{model}_history.csv"}


def train_params(model):
    """The config values a training depends on: changing one model's keys reruns only it."""
    train = config["train"]
    return {
        "settings": train[model],
        "seed": train["seed"],
        "validation_fraction": train["validation_fraction"],
        "precision": train["precision"],
        "jit_compile": train["jit_compile"],
        "tensorboard": (
            f"{RESULTS}/logs/tensorboard/{model}" if train["tensorboard"] else None
        ),
    }


# One rule per trained model (train_vae, train_gan, train_vae_origin, train_gan_origin).
# Each claims the one `gpu` resource, so `--resources gpu=1` runs one at a time.
for trained in TRAINED_KINDS:

    rule:
        name:
            f"train_{trained}"
        input:
            dataset=f"{RESULTS}/dataset.h5",
        output:
            **train_outputs(trained),
        log:
            f"{RESULTS}/logs/train_{trained}.log",
        benchmark:
            f"{RESULTS}/benchmarks/train_{trained}.tsv"
        conda:
            ENV
        threads: workflow.cores
        resources:
            gpu=1,
        params:
            model=trained,
            kind=TRAINED_KINDS[trained],
            train=train_params(trained),
            backup=f"{RESULTS}/models/{trained}_backup",
        script:
            "../../scripts/train.py"
