"""Rules train_<model>: dataset.h5 -> saved models + history (logic in restorebench.training).

The model name picks the network kind: vae and vae_origin train a 'vae', gan and
gan_origin a 'gan'; they differ only in their settings (train.<model> in the config).
"""

from pathlib import Path

from restorebench import accel
from restorebench.logs import run_logged

# The networks each kind saves, keyed like the rule's outputs.
NETWORKS = {"vae": ["vae"], "gan": ["generator", "discriminator"]}


def main(smk) -> None:
    accel.limit_threads(smk.threads)  # before TensorFlow starts, which the import below does
    from restorebench.training import fit

    model, kind, train = smk.params.model, smk.params.kind, smk.params.train
    try:
        fit(
            kind,
            Path(smk.input.dataset),
            dict(train["settings"]),
            seed=train["seed"],
            validation_fraction=train["validation_fraction"],
            history=Path(smk.output.history),
            backup_dir=Path(smk.params.backup),
            precision=train["precision"],
            jit_compile=train["jit_compile"],
            tensorboard_dir=Path(train["tensorboard"]) if train["tensorboard"] else None,
            save={key: Path(smk.output[key]) for key in NETWORKS[kind]},
        )
    except (
        FloatingPointError
    ) as error:  # a diverged loss is a settings problem: its message, no traceback
        # fit names the key by kind (train.gan.learning_rate); gan_origin's key is its own.
        raise ValueError(str(error).replace(f"train.{kind}.", f"train.{model}.")) from None


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
