"""Training on tiny real datasets: batches, validation draw, history, resume, saved files."""

import csv
import dataclasses
import logging

import keras
import numpy as np
import pytest

from restorebench import contract
from restorebench.data.dataset import read_split, write_dataset
from restorebench.models import families
from restorebench.models.families.diffusion import DiffusionSettings
from restorebench.models.families.gan import GanSettings
from restorebench.models.families.vae import VaeSettings
from restorebench.restore.inference import restore_images, restore_with
from restorebench.scoring.metrics import score_images
from restorebench.training.batches import PairBatches, validation_mask
from restorebench.training.fit import TrainOptions, _damage_model, build_trainer, fit
from restorebench.training.state import locked

SIZE = 16
VAE = VaeSettings(
    epochs=2,
    batch_size=4,
    learning_rate=1e-3,
    filters=(8, 16, 16),
    latent_dim=4,
    kl_weight=1e-3,
    input_skip=False,
    blend=False,
    flip=False,
    damage_weight=0.0,
)
GAN = GanSettings(
    epochs=2,
    batch_size=4,
    learning_rate=2e-4,
    beta_1=0.5,
    filters=(8, 16, 16),
    discriminator="patch",
    discriminator_filters=(8, 16),
    dropout=0.5,
    l1_weight=100.0,
    input_skip=True,
    blend=True,
    flip=True,
    damage_weight=4.0,
)
DIFFUSION = DiffusionSettings(
    epochs=2,
    batch_size=4,
    filters=(8, 16, 16),
    time_width=8,
    steps=2,
    flip=True,
    damage_weight=4.0,
)
SETTINGS = {"vae": VAE, "gan": GAN, "diffusion": DIFFUSION}
OPTIONS = TrainOptions(seed=1, validation_fraction=0.25)


def pairs(count, seed=0):
    """Smooth clean images and copies with white scribble-like bars, as the damage model makes."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 200, (count, 4, 4, 3)).astype(np.uint8)
    clean = np.repeat(np.repeat(coarse, SIZE // 4, axis=1), SIZE // 4, axis=2)
    damaged = clean.copy()
    for image, row in zip(damaged, rng.integers(0, SIZE - 2, count)):
        image[row : row + 2] = 255
    return clean, damaged


@pytest.fixture
def dataset(tmp_path):
    splits = {}
    for split, count, seed in (("train", 12, 0), ("test", 3, 1)):
        clean, damaged = pairs(count, seed)
        splits[split] = {
            "clean": clean,
            "damaged": damaged,
            "names": [f"{split}{i}" for i in range(count)],
        }
    path = tmp_path / "dataset.h5"
    write_dataset(path, splits)
    return path


def train(family, dataset, tmp_path, settings=None, options=OPTIONS, *, model=None, **kwargs):
    """``fit`` of config entry ``model`` (the family's name unless given) into ``tmp_path``."""
    model = model or family
    return fit(
        model,
        family,
        settings or SETTINGS[family],
        dataset,
        options,
        history=tmp_path / f"{model}_history.csv",
        backup_dir=tmp_path / f"{model}_backup",
        **kwargs,
    )


def history(tmp_path, model):
    with open(tmp_path / f"{model}_history.csv") as handle:
        return list(csv.DictReader(handle))


def test_batches_scale_to_unit_floats_and_reshuffle_each_epoch():
    clean, damaged = pairs(10)
    batches = PairBatches(damaged, clean, 4, shuffle=True, seed=3)
    assert len(batches) == 2  # the incomplete third batch is dropped
    x, _ = batches[0]
    assert x.dtype == np.float32 and x.shape == (4, SIZE, SIZE, 3)
    np.testing.assert_array_equal(
        np.rint(x * 255).astype(np.uint8), damaged[np.sort(batches.order[:4])]
    )
    first = batches.order.copy()
    batches.on_epoch_end()
    assert not np.array_equal(first, batches.order)
    ordered = PairBatches(damaged, clean, 4, shuffle=False)
    assert len(ordered) == 3
    np.testing.assert_allclose(ordered[2][1], clean[8:] / 255, rtol=1e-6)


def test_flip_mirrors_both_halves_of_a_pair_together_about_half_the_time():
    clean, damaged = pairs(64)
    plain = PairBatches(damaged, clean, 64, shuffle=True, seed=3)
    flipped = PairBatches(damaged, clean, 64, shuffle=True, seed=3, flip=True)
    (x, y), (fx, fy) = plain[0], flipped[0]
    mirrored = np.array([not np.array_equal(a, b) for a, b in zip(x, fx)])
    assert 16 < mirrored.sum() < 48
    np.testing.assert_array_equal(fx[mirrored], x[mirrored][:, :, ::-1])
    np.testing.assert_array_equal(fy[mirrored], y[mirrored][:, :, ::-1])
    np.testing.assert_array_equal(fx[~mirrored], x[~mirrored])
    # the same draw for the same (seed, epoch, batch)
    np.testing.assert_array_equal(flipped[0][0], fx)


def test_redrawn_damage_is_fresh_paint_each_epoch_on_the_drawn_share_of_the_pairs():
    clean, damaged = pairs(64)
    kept = damaged.copy()
    batches = PairBatches(damaged, clean, 64, shuffle=True, seed=3, redraw=0.5)
    x, y = batches[0]
    order = np.sort(batches.order)
    as_read = np.rint(x * 255).astype(np.uint8)
    redrawn = np.array([not np.array_equal(a, b) for a, b in zip(as_read, kept[order])])
    assert 16 < redrawn.sum() < 48
    np.testing.assert_allclose(y, clean[order] / 255, rtol=1e-6)  # clean images untouched
    assert (x[redrawn] >= y[redrawn] - 1e-6).all()  # white paint: only ever brighter
    np.testing.assert_array_equal(damaged, kept)  # the split itself is never written
    np.testing.assert_array_equal(batches[0][0], x)  # the same (seed, epoch, batch), the same
    batches.on_epoch_end()
    again = np.sort(batches.order) == order
    assert again.all() and not np.array_equal(batches[0][0], x)  # next epoch: new strokes


def test_redrawn_damage_follows_the_damage_model_the_dataset_was_prepared_with(tmp_path):
    clean, damaged = pairs(8)
    path = tmp_path / "undamaging.h5"
    nothing = {"strokes": [0, 0], "blobs": [0, 0]}
    split = {"clean": clean, "damaged": damaged, "names": [f"i{n}" for n in range(8)]}
    write_dataset(
        path, {"train": split, "test": split}, {"provenance": {"settings": {"damage": nothing}}}
    )
    assert _damage_model(path).damages_nothing
    batches = PairBatches(damaged, clean, 8, shuffle=False, redraw=1.0, damage=_damage_model(path))
    x, y = batches[0]
    np.testing.assert_array_equal(x, y)  # a model that draws nothing leaves the clean image
    plain = tmp_path / "plain.h5"
    write_dataset(plain, {"train": split, "test": split})
    assert not _damage_model(plain).damages_nothing  # no record: the calibrated default


class RecordedBatches(PairBatches):
    """PairBatches that note each batch a worker made: its epoch, index and pixels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.made = []

    def __getitem__(self, index):
        batch = super().__getitem__(index)
        self.made.append((self.epoch, index, batch[0].tobytes(), batch[1].tobytes()))
        return batch


def made_by_fit(workers: int) -> set:
    clean, damaged = pairs(24)
    batches = RecordedBatches(damaged, clean, 4, shuffle=True, seed=5, flip=True, workers=workers)
    keras.utils.set_random_seed(5)  # Keras' own order of the batches within an epoch
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(batches, epochs=3, verbose=0)
    return set(batches.made)


def test_input_threads_never_change_what_fit_trains_on():
    """Batches made ahead by three threads are, epoch by epoch, those one thread makes."""
    threaded, single = made_by_fit(3), made_by_fit(1)
    assert threaded == single
    trained = {(epoch, index) for epoch, index, *_ in single}
    epochs = sorted({epoch for epoch, _ in trained})[-3:]  # Keras may peek at a few first
    assert {(e, i) for e in epochs for i in range(6)} <= trained


def test_validation_draw_is_stable_per_name_and_near_the_fraction():
    names = [f"img{i}" for i in range(2000)]
    mask = validation_mask(names, 0.1, seed=5)
    assert 0.08 < mask.mean() < 0.12
    assert np.array_equal(validation_mask(names[:50] + ["new"], 0.1, seed=5)[:50], mask[:50])
    assert not validation_mask(names, 0.0, seed=5).any()


@pytest.mark.parametrize("family", SETTINGS)
def test_fit_writes_history_and_a_restorer_that_loads_safely(family, dataset, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="restorebench.training")
    path = tmp_path / "restorer.keras"
    trainer = train(family, dataset, tmp_path, restorer_path=path)
    rows = history(tmp_path, family)
    assert [row["epoch"] for row in rows] == ["0", "1"]
    expected = {
        "vae": {"loss", "pixel_loss", "kl", "val_loss", "val_pixel_loss"},
        "gan": {"disc_loss", "gen_gan_loss", "gen_l1", "val_gen_l1"},
        "diffusion": {"loss", "pixel_loss", "val_loss", "val_pixel_loss"},
    }
    assert expected[family] | {"val_psnr", "val_ssim"} <= set(rows[0])
    assert all(5 < float(row["val_psnr"]) < 60 and 0 < float(row["val_ssim"]) <= 1 for row in rows)
    assert all(np.isfinite(float(row["loss"])) for row in rows)
    assert f"{family} epoch 2/2" in caplog.text
    assert not (tmp_path / f"{family}_backup").exists()

    _, damaged = pairs(5, seed=9)
    restored = restore_images(path, damaged, batch_size=2)  # safe_mode=True
    assert restored.dtype == np.uint8 and restored.shape == damaged.shape
    # save -> load: the loaded restorer gives exactly the in-memory one's pixels
    in_memory = families.load(family).restorer(trainer)
    np.testing.assert_array_equal(restored, restore_with(in_memory, damaged, batch_size=2))


@pytest.mark.parametrize(
    "family, ema_momentum",
    [*((family, 0.0) for family in SETTINGS), pytest.param("gan", 0.9, id="gan-ema")],
)
def test_trainer_weights_hold_every_network_and_optimizer(family, ema_momentum, dataset, tmp_path):
    """With ``ema_momentum`` the optimizer's averages are among its variables: a resumed
    run goes on averaging where it stopped."""
    path = tmp_path / "trainer.weights.h5"
    settings = dataclasses.replace(SETTINGS[family], epochs=1, ema_momentum=ema_momentum)
    trainer = train(family, dataset, tmp_path, settings, trainer_path=path)
    fresh = build_trainer(family, SIZE, settings, seed=99)
    fresh.load_weights(path)
    optimizers = {"gan": ["g_optimizer", "d_optimizer"]}.get(family, ["optimizer"])
    for name in optimizers:
        assert int(getattr(trainer, name).iterations) > 0
    if ema_momentum:  # one average per generator weight, beside Adam's slots
        plain = build_trainer(family, SIZE, SETTINGS[family], seed=99).g_optimizer
        assert len(trainer.g_optimizer.variables) == len(plain.variables) + len(
            trainer.generator.trainable_variables
        )
    for ours, loaded in (
        (trainer.weights, fresh.weights),
        *((getattr(trainer, n).variables, getattr(fresh, n).variables) for n in optimizers),
    ):
        assert len(ours) == len(loaded)
        for a, b in zip(ours, loaded):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_same_seed_same_history(dataset, tmp_path):
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        train("vae", dataset, tmp_path / run, options=dataclasses.replace(OPTIONS, seed=7))
    assert history(tmp_path / "a", "vae") == history(tmp_path / "b", "vae")


def test_validation_scores_are_the_test_protocol_on_the_held_out_images(dataset, tmp_path, caplog):
    """The scores logged for the final model are what the metrics module gives it."""
    caplog.set_level(logging.INFO, logger="restorebench.training")
    trainer = train("gan", dataset, tmp_path, dataclasses.replace(GAN, epochs=1))
    split = read_split(dataset, "train")
    held = validation_mask(split.names, OPTIONS.validation_fraction, OPTIONS.seed)
    restored = restore_with(trainer.generator, split.damaged[held])
    means = score_images(split.clean[held], restored).mean(axis=0)
    psnr, ssim = (means[contract.metric_names().index(name)] for name in ("psnr", "ssim"))
    logged = caplog.text.split("gan after BatchNorm recalibration: ", 1)[1].split()[:2]
    assert logged == [f"val_psnr={psnr:.4g}", f"val_ssim={ssim:.4g}"]
    assert {"val_psnr", "val_ssim"} <= set(history(tmp_path, "gan")[0])


def test_tensorboard_gets_curves_and_sample_restorations(dataset, tmp_path):
    import tensorflow as tf

    logs = tmp_path / "tensorboard"
    train("vae", dataset, tmp_path, tensorboard_dir=logs)
    tags = {}
    for events in logs.rglob("*tfevents*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                tags.setdefault((events.parent.name, value.tag), []).append(event.step)
    assert {
        ("train", "epoch_loss"),
        ("validation", "epoch_psnr"),
        ("validation", "epoch_ssim"),
    } <= set(tags)
    assert tags[("samples", "damaged | restored | clean")] == [0, 1]


def test_a_diverging_loss_stops_with_the_key_of_the_config_entry(dataset, tmp_path):
    with pytest.raises(FloatingPointError, match="lower config key models.vae_fast.learning_rate"):
        train(
            "vae",
            dataset,
            tmp_path,
            dataclasses.replace(VAE, learning_rate=1e6),
            model="vae_fast",
        )
    # no diverged epoch was recorded as finished
    assert not (tmp_path / "vae_fast_history.csv").exists()


def test_the_family_defaults_build_every_family():
    """Every setting a family reads has a default, so a config entry may give only its family."""
    for family in families.names():
        settings = families.load(family).settings()
        assert build_trainer(family, SIZE, settings, seed=0).count_params() > 0


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_a_backup_from_other_settings_is_not_resumed(dataset, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="restorebench.training")
    three = dataclasses.replace(VAE, epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train("vae", dataset, tmp_path, three, callbacks=[Interrupt()])
    caplog.clear()
    train("vae", dataset, tmp_path, dataclasses.replace(three, learning_rate=5e-4))
    assert "from scratch" in caplog.text
    assert [row["epoch"] for row in history(tmp_path, "vae")] == ["0", "1", "2"]


@pytest.mark.parametrize("family", ["vae", "diffusion"])
def test_an_interrupted_run_resumes_after_its_last_epoch(family, dataset, tmp_path, caplog):
    """Even past the partial files a kill while saving leaves: state.json names the state used."""
    caplog.set_level(logging.INFO, logger="restorebench.training")
    settings = dataclasses.replace(SETTINGS[family], epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train(family, dataset, tmp_path, settings, callbacks=[Interrupt()])
    assert [row["epoch"] for row in history(tmp_path, family)] == ["0", "1"]
    caplog.clear()
    (state,) = [path for path in (tmp_path / f"{family}_backup").iterdir() if path.is_dir()]
    (state / "partial-epoch0003.weights.h5").write_bytes(b"half a file")
    (state / "state.json.partial").write_text('{"weights": ')
    (tmp_path / f"{family}_history.csv").unlink()  # Snakemake deletes an incomplete job's outputs
    train(family, dataset, tmp_path, settings)
    assert "resuming after epoch 2" in caplog.text and f"{family} epoch 3/3" in caplog.text
    assert f"{family} epoch 2/3" not in caplog.text
    assert [row["epoch"] for row in history(tmp_path, family)] == ["0", "1", "2"]


def states(tmp_path, model="vae"):
    return [path for path in (tmp_path / f"{model}_backup").iterdir() if path.is_dir()]


@pytest.mark.parametrize("change", ["pixels", "image_size", "epochs"])
def test_a_state_from_other_data_or_settings_is_discarded_not_resumed(
    dataset, tmp_path, caplog, change
):
    """Same names, other pixels or size (a rebuilt dataset), or other epochs: never resumed."""
    caplog.set_level(logging.INFO, logger="restorebench.training")
    three = dataclasses.replace(VAE, epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train("vae", dataset, tmp_path, three, callbacks=[Interrupt()])
    (old,) = states(tmp_path)
    if change == "epochs":
        three = dataclasses.replace(three, epochs=4)
    else:
        splits = {
            split: dataclasses.asdict(read_split(dataset, split)) for split in ("train", "test")
        }
        for arrays in splits.values():
            if change == "pixels":
                arrays["clean"] = 255 - arrays["clean"]
            else:  # the same images at twice the size
                for kind in ("clean", "damaged"):
                    arrays[kind] = arrays[kind].repeat(2, axis=1).repeat(2, axis=2)
        write_dataset(dataset, splits)
    caplog.clear()
    with pytest.raises(KeyboardInterrupt):
        train("vae", dataset, tmp_path, three, callbacks=[Interrupt()])
    assert f"discarded the saved state {old}" in caplog.text and "from scratch" in caplog.text
    assert old not in states(tmp_path) and len(states(tmp_path)) == 1


def test_a_damaged_state_is_discarded_and_training_starts_over(dataset, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="restorebench.training")
    three = dataclasses.replace(VAE, epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train("vae", dataset, tmp_path, three, callbacks=[Interrupt()])
    (state,) = states(tmp_path)
    (weights,) = state.glob("*.weights.h5")
    weights.write_bytes(b"\x89HDF\r\n garbage")
    caplog.clear()
    train("vae", dataset, tmp_path, three)
    assert f"cannot resume from {state}" in caplog.text and "from scratch" in caplog.text
    assert [row["epoch"] for row in history(tmp_path, "vae")] == ["0", "1", "2"]


def test_a_second_trainer_of_one_model_is_refused(dataset, tmp_path):
    held = locked(tmp_path / "vae_backup", "models.vae")
    with held, pytest.raises(BlockingIOError, match="models.vae: another training holds"):
        train("vae", dataset, tmp_path)
    assert not (tmp_path / "vae_history.csv").exists()


def test_bad_inputs_are_refused_with_the_reason(dataset, tmp_path):
    with pytest.raises(ValueError, match="train.validation_fraction"):
        train("vae", dataset, tmp_path, options=TrainOptions(validation_fraction=0.999999))
    with pytest.raises(ValueError, match="unknown model family 'unet'"):
        train("unet", dataset, tmp_path, VAE)
    with pytest.raises(TypeError, match="models.vae: family 'vae' takes VaeSettings"):
        train("vae", dataset, tmp_path, GAN)
    empty = tmp_path / "empty.h5"
    clean, damaged = pairs(2)
    write_dataset(
        empty,
        {
            "train": {"clean": clean[:0], "damaged": damaged[:0], "names": []},
            "test": {"clean": clean, "damaged": damaged, "names": ["a", "b"]},
        },
    )
    with pytest.raises(ValueError, match="empty.h5: the train split is empty"):
        train("vae", empty, tmp_path)
    assert not list(tmp_path.glob("*_backup"))


def test_redrawn_damage_keeps_the_batches_on_the_host(dataset, tmp_path, caplog):
    """The strokes are drawn by the host, so device_input gives way, and says so."""
    options = dataclasses.replace(OPTIONS, device_input=True)
    settings = dataclasses.replace(VAE, epochs=1, redraw_damage=1.0)
    with caplog.at_level(logging.INFO, logger="restorebench"):
        train("vae", dataset, tmp_path, settings, options)
    assert "redraw_damage draws on the host: batches stay there" in caplog.text
    assert "batches converted on the host" in caplog.text
