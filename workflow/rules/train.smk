# Stage 2: dataset.h5 -> trained VAE and GAN (+ per-epoch history) in results/<run>/models/.
# The config values each training depends on: changing one model's keys reruns only it.
TRAIN_PARAMS = {
    model: {
        "settings": config["train"][model],
        "seed": config["train"]["seed"],
        "validation_fraction": config["train"]["validation_fraction"],
        "precision": config["train"]["precision"],
        "jit_compile": config["train"]["jit_compile"],
        "tensorboard": (
            f"{RESULTS}/logs/tensorboard/{model}"
            if config["train"]["tensorboard"]
            else None
        ),
    }
    for model in ("vae", "gan")
}


# Both training rules claim the one `gpu` resource, so `--resources gpu=1` runs one at a time.
rule train_vae:
    input:
        dataset=f"{RESULTS}/dataset.h5",
    output:
        vae=f"{RESULTS}/models/vae.keras",
        history=f"{RESULTS}/models/vae_history.csv",
    log:
        f"{RESULTS}/logs/train_vae.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_vae.tsv"
    conda:
        ENV
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        model="vae",
        train=TRAIN_PARAMS["vae"],
        backup=f"{RESULTS}/models/vae_backup",
    script:
        "../../scripts/train.py"


rule train_gan:
    input:
        dataset=f"{RESULTS}/dataset.h5",
    output:
        generator=f"{RESULTS}/models/gan_generator.keras",
        discriminator=f"{RESULTS}/models/gan_discriminator.keras",
        history=f"{RESULTS}/models/gan_history.csv",
    log:
        f"{RESULTS}/logs/train_gan.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_gan.tsv"
    conda:
        ENV
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        model="gan",
        train=TRAIN_PARAMS["gan"],
        backup=f"{RESULTS}/models/gan_backup",
    script:
        "../../scripts/train.py"
