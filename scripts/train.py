"""Rules train_vae and train_gan: dataset.h5 -> saved models + history (logic in restorebench.training)."""

from pathlib import Path

from restorebench import accel
from restorebench.logs import run_logged


def main(smk) -> None:
    accel.limit_threads(smk.threads)  # before TensorFlow starts, which the import below does
    from restorebench.training import fit

    model, train = smk.params.model, smk.params.train
    networks = {"vae": ["vae"], "gan": ["generator", "discriminator"]}[model]
    try:
        fit(
            model,
            Path(smk.input.dataset),
            dict(train["settings"]),
            seed=train["seed"],
            validation_fraction=train["validation_fraction"],
            history=Path(smk.output.history),
            backup_dir=Path(smk.params.backup),
            precision=train["precision"],
            jit_compile=train["jit_compile"],
            tensorboard_dir=Path(train["tensorboard"]) if train["tensorboard"] else None,
            save={key: Path(smk.output[key]) for key in networks},
        )
    except FloatingPointError as error:  # a diverged loss is a settings problem: its message, no traceback
        raise ValueError(str(error)) from None


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
