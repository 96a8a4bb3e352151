"""Rule train: dataset.h5 -> one model's restorer, trainer weights and history.

The config entry ``models.<model>`` names the family and its settings; the logic is
restorebench.training.fit.
"""

from pathlib import Path

from restorebench.runtime import accel
from restorebench.runtime.devices import claim_gpus
from restorebench.runtime.logs import run_logged


def main(smk) -> None:
    # Its GPUs claimed, then the process settings, before Keras starts (the imports below).
    with claim_gpus(smk.resources.gpu):
        accel.configure(smk.threads)
        train(smk)


def train(smk) -> None:
    import dataclasses

    from restorebench.models import families
    from restorebench.models.families.base import read_settings
    from restorebench.runtime import provenance
    from restorebench.training.fit import TrainOptions, fit

    model, train = smk.wildcards.model, smk.params.train
    family = families.load(train["family"])
    settings = read_settings(family.settings, train["settings"], f"models.{model}")
    options = TrainOptions(**train["options"])
    fit(
        model,
        family.name,
        settings,
        Path(smk.input.dataset),
        options,
        history=Path(smk.output.history),
        backup_dir=Path(smk.params.backup),
        restorer_path=Path(smk.output.restorer),
        trainer_path=Path(smk.output.trainer),
        tensorboard_dir=Path(train["tensorboard"]) if train["tensorboard"] else None,
    )
    resolved = {
        "family": family.name,
        "model": dataclasses.asdict(settings),
        "options": dataclasses.asdict(options),
    }
    provenance.write(Path(smk.params.provenance), provenance.record(train["code"], resolved))


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
