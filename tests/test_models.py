"""The networks: shapes, output range, level rules, and what one training step changes."""

import dataclasses

import keras
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from restorebench.models import families
from restorebench.models.blocks import HardMask, SmoothFill, levels
from restorebench.models.families.diffusion import DiffusionSettings
from restorebench.models.families.gan import GanSettings, _bce, build_discriminator, build_generator
from restorebench.models.families.vae import VAE, VaeSettings, build_decoder, build_encoder
from restorebench.models.head import Head
from restorebench.models.losses import mask_loss, pixel_loss, ssim_loss
from restorebench.training.batches import PairBatches
from restorebench.training.batchnorm import recalibrate_batchnorm
from restorebench.training.fit import build_trainer

SIZE = 16


def images(count=4, seed=0):
    return np.random.default_rng(seed).random((count, SIZE, SIZE, 3), dtype=np.float32)


def test_levels_stop_where_the_side_stops_halving():
    origin = [64, 128, 128, 256, 256, 512, 512, 512]
    assert levels(256, origin, "k") == origin
    assert levels(64, origin, "k") == origin[:6]
    assert levels(48, origin, "k") == origin[:4]  # 48 -> 3 px
    with pytest.raises(ValueError, match="config key models.gan.filters: image_size 17"):
        levels(17, origin, "models.gan.filters")


@pytest.mark.parametrize("input_skip", [False, True])
def test_generator_maps_images_to_images_in_unit_range(input_skip):
    generator = build_generator(
        SIZE, [8, 16, 16, 16, 16, 32], head=Head(input_skip=input_skip)
    )  # 4 levels fit 16 px
    assert len([layer for layer in generator.layers if layer.name.endswith("_conv")]) == 4
    assert ("join_input" in [layer.name for layer in generator.layers]) == input_skip
    output = keras.ops.convert_to_numpy(generator(images()))
    assert output.shape == (4, SIZE, SIZE, 3)
    assert output.min() >= 0 and output.max() <= 1


@pytest.mark.parametrize(
    ("head", "shape"), [("dense", (4, 1)), ("patch", (4, SIZE // 4, SIZE // 4, 1))]
)
def test_discriminator_heads_judge_a_pair(head, shape):
    discriminator = build_discriminator(SIZE, [8, 16], head)
    logits = discriminator([images(), images(seed=1)])
    assert tuple(logits.shape) == shape
    with pytest.raises(ValueError, match="models.gan.discriminator: unknown head 'conv'"):
        build_discriminator(SIZE, [8, 16], "conv", key="models.gan")


ORIGIN = [64, 128, 128, 256, 256, 512, 512, 512]


def test_origin_architecture_at_256_px():
    """The origin's facts: 8 stride-2 blocks to a 1x1x512 code, latent 64, 4-block dense discriminator."""
    generator = build_generator(256, ORIGIN)
    downs = [
        layer
        for layer in generator.layers
        if layer.name.startswith("down") and layer.name.endswith("_conv")
    ]
    assert len(downs) == 8 and tuple(downs[-1].output.shape) == (None, 1, 1, 512)
    assert (
        len([layer for layer in generator.layers if layer.name.endswith("_deconv")]) == 7
    )  # + to_image: 8 ups
    assert tuple(generator.output.shape) == (None, 256, 256, 3)

    encoder = build_encoder(256, ORIGIN, 64)
    convs = [layer for layer in encoder.layers if layer.name.endswith("_conv")]
    assert len(convs) == 8 and tuple(convs[-1].output.shape) == (None, 1, 1, 512)
    assert [tuple(o.shape) for o in encoder.outputs[:2]] == [(None, 64), (None, 64)]

    discriminator = build_discriminator(256, [64, 128, 256, 512], "dense")
    assert len([layer for layer in discriminator.layers if layer.name.endswith("_conv")]) == 4
    assert tuple(discriminator.output.shape) == (None, 1)

    vae_model = VAE(encoder, build_decoder(256, ORIGIN, 64), kl_weight=1e-3)
    x = np.random.default_rng(0).random((1, 256, 256, 3), dtype=np.float32)
    for restorer in (generator, vae_model.restorer()):
        output = keras.ops.convert_to_numpy(restorer(x))
        assert output.shape == (1, 256, 256, 3) and output.dtype == np.float32
        assert output.min() >= 0 and output.max() <= 1


def test_same_seed_same_weights_other_seed_other_weights():
    first, again, other = (build_generator(SIZE, [8, 16], seed=s).get_weights() for s in (3, 3, 4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_bce_matches_keras_from_logits():
    logits = np.linspace(-30, 30, 13, dtype=np.float32)
    for target in (0.0, 1.0):
        expected = keras.losses.binary_crossentropy(
            np.full_like(logits, target), logits, from_logits=True
        )
        assert float(_bce(logits, target)) == pytest.approx(float(expected), rel=1e-5)


def vae(kl_weight=1.0, input_skip=False):
    layout = (SIZE, [8, 16, 16], 4)
    encoder = build_encoder(*layout, input_skip, seed=1)
    decoder = build_decoder(*layout, Head(input_skip=input_skip), seed=1)
    return VAE(encoder, decoder, kl_weight, seed=1)


@pytest.mark.parametrize("input_skip", [False, True])
def test_vae_samples_in_training_and_restores_from_the_mean(input_skip):
    model = vae(input_skip=input_skip)
    x = images()
    sampled_a, sampled_b = (
        keras.ops.convert_to_numpy(model(x, training=True)[0]) for _ in range(2)
    )
    assert not np.array_equal(sampled_a, sampled_b)
    restorer = model.restorer()
    restored = keras.ops.convert_to_numpy(restorer(x))
    np.testing.assert_allclose(restored, keras.ops.convert_to_numpy(model(x)[0]), atol=1e-6)
    assert restored.min() >= 0 and restored.max() <= 1


def test_vae_loss_is_mse_plus_weighted_kl():
    model = vae(kl_weight=0.5)
    clean = images(seed=1)
    restored = images(seed=2)
    mean = np.full((4, 4), 1.0, np.float32)  # KL of N(1, 1) against N(0, 1): 0.5 per dim
    log_var = np.zeros((4, 4), np.float32)
    loss = float(model.compute_loss(None, clean, (restored, mean, log_var)))
    mse = float(np.mean((clean - restored) ** 2))
    assert loss == pytest.approx(mse + 0.5 * 4 * 0.5, rel=1e-5)
    assert float(model.kl.result()) == pytest.approx(2.0)


SETTINGS = {
    "vae": VaeSettings(filters=(8, 16, 16), latent_dim=4),
    "gan": GanSettings(
        learning_rate=2e-4,
        filters=(8, 16, 16),
        discriminator="dense",
        discriminator_filters=(8, 16),
        dropout=0.0,
    ),
    "diffusion": DiffusionSettings(filters=(8, 16, 16), time_width=8, steps=2),
}


@pytest.mark.parametrize("model", SETTINGS)
def test_one_training_step_changes_weights_and_lowers_the_loss(model):
    trainer = build_trainer(model, SIZE, SETTINGS[model], seed=0)
    clean = images(8, seed=5)
    damaged = np.where(np.arange(SIZE)[None, :, None, None] % 5 == 0, 1.0, clean).astype(np.float32)
    before = [w.copy() for w in trainer.get_weights()]
    # Each call reports the loss of the weights it starts from, then takes one step.
    first = trainer.train_on_batch(damaged, clean, return_dict=True)
    second = trainer.train_on_batch(damaged, clean, return_dict=True)
    changed = [not np.array_equal(a, b) for a, b in zip(before, trainer.get_weights())]
    assert sum(changed) > len(changed) // 2
    assert second["loss"] < first["loss"]
    key = "gen_l1" if model == "gan" else "pixel_loss"  # the restoration term itself
    assert second[key] < first[key]


@pytest.mark.parametrize("model", SETTINGS)
def test_ema_momentum_leaves_the_restorer_the_average_of_its_weights_after_each_step(model):
    """The average starts at the first step's weights; the GAN's discriminator keeps its own.

    TensorFlow only: JAX's ``fit`` holds the weights outside the variables between steps.
    """
    momentum = 0.5
    settings = dataclasses.replace(SETTINGS[model], ema_momentum=momentum)
    trainer = build_trainer(model, SIZE, settings, seed=0)
    steps = []

    class RecordWeights(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append([v.numpy().copy() for v in trainer.trainable_variables])

    clean = images(12, seed=5)
    damaged = np.where(np.arange(SIZE)[None, :, None, None] % 5 == 0, 1.0, clean).astype(np.float32)
    trainer.fit(damaged, clean, batch_size=4, shuffle=False, callbacks=[RecordWeights()])
    assert len(steps) == 3
    average = steps[0]
    for weights in steps[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    assert not all(np.array_equal(m, w) for m, w in zip(average, steps[-1]))
    averaged = {id(v) for v in families.load(model).restorer(trainer).trainable_variables}
    for variable, mean, last in zip(trainer.trainable_variables, average, steps[-1]):
        want = mean if id(variable) in averaged else last
        np.testing.assert_allclose(variable.numpy(), want, rtol=0, atol=1e-6, err_msg=variable.path)
    with pytest.raises(ValueError, match="models.vae.ema_momentum: must be in \\[0, 1\\), got 1"):
        VaeSettings(ema_momentum=1.0).check("models.vae")


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_saves_float32_outputs(precision, tmp_path):
    trainer = build_trainer("gan", SIZE, SETTINGS["gan"], seed=0, precision=precision)
    assert trainer.generator.get_layer("down1_conv").compute_dtype == precision.removeprefix(
        "mixed_"
    )
    assert trainer.generator.get_layer("down1_conv").variable_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # not left set for the rest of the process
    x = images(4)
    assert np.isfinite(trainer.train_on_batch(x, x, return_dict=True)["loss"])
    trainer.generator.save(tmp_path / "generator.keras")
    loaded = keras.saving.load_model(tmp_path / "generator.keras", safe_mode=True)
    output = keras.ops.convert_to_numpy(loaded(x))
    assert output.dtype == np.float32 and 0 <= output.min() and output.max() <= 1
    np.testing.assert_array_equal(output, keras.ops.convert_to_numpy(trainer.generator(x)))


def test_batchnorm_recalibration_averages_batch_statistics_with_dropout_off():
    generator = build_generator(SIZE, [8, 16, 16], dropout=0.5, seed=2)
    norm = generator.get_layer("down1_bn")
    norm.moving_mean.assign(np.full(norm.moving_mean.shape, 7.0, np.float32))  # stale statistics
    uint8 = np.rint(images(12, seed=6) * 255).astype(np.uint8)
    batches = PairBatches(uint8, uint8, 4, shuffle=True, seed=1)
    recalibrate_batchnorm(generator, batches)

    conv = keras.Model(generator.input, generator.get_layer("down1_conv").output)
    means = [
        keras.ops.convert_to_numpy(conv(batches[i][0])).mean(axis=(0, 1, 2))
        for i in range(len(batches))
    ]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(norm.moving_mean), np.mean(means, axis=0), rtol=1e-4, atol=1e-6
    )
    assert norm.momentum == 0.9
    assert {
        layer.rate for layer in generator.layers if isinstance(layer, keras.layers.Dropout)
    } == {0.5}


@pytest.mark.parametrize("still", ["generator", "discriminator"])
def test_each_network_moves_only_by_its_own_optimizer(still):
    """With one optimizer's rate at 0 its network keeps its weights while the other's move."""
    trainer = build_trainer("gan", SIZE, SETTINGS["gan"], seed=0)
    optimizers = {"generator": trainer.g_optimizer, "discriminator": trainer.d_optimizer}
    optimizers[still].learning_rate = 0.0
    networks = {"generator": trainer.generator, "discriminator": trainer.discriminator}
    before = {name: [v.numpy() for v in net.trainable_variables] for name, net in networks.items()}
    steps = {name: int(opt.iterations) for name, opt in optimizers.items()}
    trainer.train_on_batch(images(seed=3), images(seed=4))
    for name, network in networks.items():
        after = [v.numpy() for v in network.trainable_variables]
        moved = [not np.array_equal(a, b) for a, b in zip(before[name], after)]
        if name == still:
            assert not any(moved), name
        else:
            assert sum(moved) > len(moved) // 2, name
        assert int(optimizers[name].iterations) == steps[name] + 1


@pytest.mark.parametrize("mask_bias, expected", [(-40.0, "input"), (40.0, "candidate")])
def test_blend_returns_the_input_where_the_mask_is_off_and_the_candidate_where_on(
    mask_bias, expected
):
    generator = build_generator(SIZE, [8, 16], 0.0, Head(input_skip=True, blend=True), seed=1)
    kernel, bias = generator.get_layer("paint_mask").get_weights()
    generator.get_layer("paint_mask").set_weights(
        [np.zeros_like(kernel), np.full_like(bias, mask_bias)]
    )
    x = images()
    candidate = keras.Model(generator.input, generator.get_layer("candidate").output)
    want = x if expected == "input" else keras.ops.convert_to_numpy(candidate(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(generator(x)), want, atol=1e-6)


@pytest.mark.parametrize("soft_blend", [False, True])
def test_the_fill_prior_blends_through_the_hard_or_the_soft_mask(soft_blend):
    """A mask of 0.3 everywhere: the hard blend keeps the input (0.3 is below the threshold);
    the soft one returns input + 0.3 x (candidate - input)."""
    head = Head(input_skip=True, blend=True, fill_prior=True, soft_blend=soft_blend)
    generator = build_generator(SIZE, [8, 16], 0.0, head, seed=1)
    kernel, bias = generator.get_layer("paint_mask").get_weights()
    logit = np.log(0.3 / 0.7)
    generator.get_layer("paint_mask").set_weights(
        [np.zeros_like(kernel), np.full_like(bias, logit)]
    )
    generator.get_layer("correction").set_weights(
        [w + 0.1 for w in generator.get_layer("correction").get_weights()]
    )
    x = images()
    candidate = keras.Model(generator.input, generator.get_layer("candidate").output)
    want = x + 0.3 * (keras.ops.convert_to_numpy(candidate(x)) - x) if soft_blend else x
    assert not np.allclose(want, keras.ops.convert_to_numpy(candidate(x)), atol=1e-3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(generator(x)), want, atol=1e-5)


def test_blend_without_the_input_skip_names_the_keys():
    with pytest.raises(ValueError, match="models.gan.blend: needs models.gan.input_skip: true"):
        build_generator(SIZE, [8, 16], head=Head(blend=True), key="models.gan")
    with pytest.raises(ValueError, match="models.vae.blend: needs models.vae.input_skip: true"):
        build_decoder(SIZE, [8, 16], 4, Head(blend=True), key="models.vae")
    with pytest.raises(ValueError, match="models.gan.soft_blend: needs models.gan.fill_prior"):
        build_generator(SIZE, [8, 16], head=Head(True, True, soft_blend=True), key="models.gan")
    with pytest.raises(ValueError, match="models.gan.fill_prior: needs models.gan.blend: true"):
        build_generator(
            SIZE, [8, 16], head=Head(input_skip=True, fill_prior=True), key="models.gan"
        )


def test_pixel_loss_weights_painted_pixels_and_is_the_plain_mean_without_weight():
    clean = np.zeros((1, 4, 4, 3), np.float32)
    damaged = clean.copy()
    damaged[0, 0, 0] = 1.0  # one painted pixel of 16
    errors = np.zeros_like(clean)
    errors[0, 0, 0] = 1.0  # the model got only that pixel wrong
    assert float(pixel_loss(errors, damaged, clean, 0.0)) == pytest.approx(3 / 48)
    weighted = float(pixel_loss(errors, damaged, clean, 9.0))
    assert weighted == pytest.approx((3 * 10 / 48) / ((15 + 10) / 16))
    errors[0, 0, 0], errors[0, 3, 3] = 0.0, 1.0  # wrong only on an untouched pixel: weighs less
    assert float(pixel_loss(errors, damaged, clean, 9.0)) < 3 / 48


def _smooth_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(SmoothFill()([image, mask]))


def test_smooth_fill_keeps_unpainted_pixels_and_fills_smooth_images_under_the_paint():
    """A constant image comes back exactly; a linear ramp (harmonic) nearly so, under a
    stroke and a wide blob alike; pixels outside the mask never change."""
    side = 64
    ramp = np.linspace(0.1, 0.9, side, dtype=np.float32)
    image = np.stack([np.broadcast_to(ramp, (side, side))] * 3, -1)[None].copy()
    flat = np.full_like(image, 0.3)
    mask = np.zeros((1, side, side, 1), np.float32)
    mask[0, 10:13, :] = 1.0  # a stroke across the image
    mask[0, 30:42, 20:32] = 1.0  # a blob wider than the finest scales
    painted = mask[..., 0] > 0
    for clean in (flat, image):
        damaged = np.where(mask > 0, 1.0, clean).astype(np.float32)
        filled = _smooth_fill(damaged, mask)
        np.testing.assert_array_equal(filled[~painted], damaged[~painted])
        error = np.abs(filled - clean)[painted].max()
        assert error < (1e-5 if clean is flat else 0.03), error


def test_biharmonic_fill_continues_curved_slopes_as_scikit_images_does():
    """A quadratic surface is biharmonic, not harmonic: under a stroke and a blob the
    biharmonic ending recovers it where the harmonic fill flattens it, and on a real-looking
    image it agrees with ``inpaint_biharmonic`` (the baselines' fill). Saved and loaded,
    the layer keeps its choice; a layer saved before the option existed stays harmonic."""
    from scipy import ndimage
    from skimage.restoration import inpaint_biharmonic

    side = 64
    axis = np.linspace(-1.0, 1.0, side, dtype=np.float32)
    bowl = 0.2 + 0.5 * (axis[:, None] ** 2 + 0.5 * axis[None, :] ** 2) / 1.5
    clean = np.stack([bowl] * 3, -1)[None].astype(np.float32)
    mask = np.zeros((1, side, side, 1), np.float32)
    mask[0, 20:24, :] = 1.0
    mask[0, 40:46, 10:30] = 1.0
    painted = mask[..., 0] > 0
    damaged = np.where(mask > 0, 1.0, clean).astype(np.float32)
    errors = {}
    for biharmonic in (False, True):
        filled = keras.ops.convert_to_numpy(SmoothFill(biharmonic)([damaged, mask]))
        np.testing.assert_array_equal(filled[~painted], damaged[~painted])
        errors[biharmonic] = np.abs(filled - clean)[painted].max()
    theirs = inpaint_biharmonic(damaged[0], painted[0], channel_axis=-1)
    errors["scikit-image"] = np.abs(theirs - clean[0])[painted[0]].max()
    assert errors[True] < 0.5 * errors[False], errors
    assert errors[True] < 2 * errors["scikit-image"] + 1e-3, errors

    noise = np.random.default_rng(5).random((side, side, 3))
    texture = ndimage.gaussian_filter(noise, (3, 3, 0))[None].astype(np.float32)
    reference = inpaint_biharmonic(texture[0], painted[0], channel_axis=-1)
    ours = keras.ops.convert_to_numpy(SmoothFill(True)([texture, mask]))[0]
    assert np.abs(ours - reference)[painted[0]].mean() < 0.01

    restored = SmoothFill.from_config(SmoothFill(True).get_config())
    assert restored.biharmonic
    old = SmoothFill(True).get_config()
    del old["biharmonic"]
    assert not SmoothFill.from_config(old).biharmonic


def test_hard_mask_blends_whole_pixels_and_the_mask_still_learns_through_it():
    """The blend takes a pixel wholly or not at all, yet with no mask loss at all one
    step still moves the mask's weights: the straight-through gradient reaches them."""
    mask = keras.ops.convert_to_numpy(HardMask()(np.array([[0.2, 0.49, 0.51, 0.9]], np.float32)))
    np.testing.assert_array_equal(mask, [[0.0, 0.0, 1.0, 1.0]])
    settings = VaeSettings(filters=(8, 16), latent_dim=4, fill_prior=True, mask_weight=0.0)
    trainer = build_trainer("vae", SIZE, settings, seed=0)
    layer = trainer.decoder.get_layer("paint_mask")
    before = [w.copy() for w in layer.get_weights()]
    clean = images(seed=3)
    damaged = np.where(images(seed=4)[..., :1] < 0.2, 1.0, clean).astype(np.float32)
    trainer.train_on_batch(damaged, clean)
    assert any(not np.array_equal(b, a) for b, a in zip(before, layer.get_weights()))


def test_mask_loss_is_the_cross_entropy_against_the_painted_pixels():
    clean = np.zeros((1, 2, 2, 3), np.float32)
    damaged = clean.copy()
    damaged[0, 0, 0] = 1.0  # one painted pixel of 4
    mask = np.full((1, 2, 2, 1), 0.25, np.float32)
    want = -(np.log(0.25) + 3 * np.log(0.75)) / 4
    assert float(mask_loss(mask, damaged, clean)) == pytest.approx(want, rel=1e-5)
    mask[0, 0, 0], mask[0, 1:, :], mask[0, 0, 1] = 1.0, 0.0, 0.0
    assert float(mask_loss(mask, damaged, clean)) < 1e-5


def test_the_recall_weight_weighs_only_the_painted_pixels_terms():
    clean = np.zeros((1, 2, 2, 3), np.float32)
    damaged = clean.copy()
    damaged[0, 0, 0] = 1.0  # one painted pixel of 4
    mask = np.full((1, 2, 2, 1), 0.25, np.float32)
    want = -(4 * np.log(0.25) + 3 * np.log(0.75)) / 4  # the missed pixel's term x (1 + 3)
    assert float(mask_loss(mask, damaged, clean, recall_weight=3.0)) == pytest.approx(
        want, rel=1e-5
    )


@pytest.mark.parametrize(
    "term, logged", [("mask_weight", "mask_bce"), ("ssim_weight", "ssim_loss")]
)
@pytest.mark.parametrize("family", ["vae", "gan", "diffusion"])
def test_each_loss_term_is_part_of_each_familys_training_loss(family, term, logged):
    """With a term's weight on, the logs carry the term and the loss grows by weight x it."""
    extra = {"discriminator_filters": (8, 16)} if family == "gan" else {}
    settings = {"vae": VaeSettings, "gan": GanSettings, "diffusion": DiffusionSettings}[family]
    logs = {}
    for weight in (0.0, 2.0):
        keras.utils.set_random_seed(0)
        chosen = settings(filters=(8, 16), fill_prior=True, **{term: weight}, **extra)
        trainer = build_trainer(family, SIZE, chosen, seed=0)
        clean = images(seed=3)
        damaged = np.where(images(seed=4)[..., :1] < 0.2, 1.0, clean).astype(np.float32)
        logs[weight] = trainer.test_on_batch(damaged, clean, return_dict=True)
    assert logged not in logs[0.0]
    assert 0.01 < logs[2.0][logged] < 2.0
    if family != "diffusion":  # its test loss samples noise afresh
        grown = logs[2.0]["loss"] - logs[0.0]["loss"]
        assert grown == pytest.approx(2.0 * logs[2.0][logged], rel=1e-3)


def test_the_ssim_loss_is_one_minus_the_scores_ssim():
    """The loss's SSIM is scikit-image's, as ``metrics`` scores it, batch-averaged."""
    clean = images(seed=5)
    restored = np.clip(clean + images(seed=6) * 0.3 - 0.15, 0, 1).astype(np.float32)
    want = np.mean(
        [
            structural_similarity(c, r, data_range=1.0, channel_axis=-1)
            for c, r in zip(clean, restored, strict=True)
        ]
    )
    assert 1.0 - float(ssim_loss(restored, clean)) == pytest.approx(want, abs=1e-4)
    assert float(ssim_loss(clean, clean)) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"blend": False, "fill_prior": True}, "models.vae.fill_prior: needs models.vae.blend"),
        ({"blend": False, "mask_weight": 1.0}, "models.vae.mask_weight: needs models.vae.blend"),
        ({"mask_weight": -1.0}, "models.vae.mask_weight: must be at least 0"),
        ({"ssim_weight": -1.0}, "models.vae.ssim_weight: must be at least 0"),
    ],
)
def test_blend_head_settings_name_the_key_they_need(entry, message):
    with pytest.raises(ValueError, match=message):
        VaeSettings(**entry).check("models.vae")


@pytest.mark.parametrize("family_name", ["vae", "gan"])
@pytest.mark.parametrize("fill_prior", [True, False])
def test_a_restorer_given_its_own_mask_restores_as_it_does_alone(family_name, fill_prior):
    """``with_given_mask`` fed the mask the network finds gives its own output exactly; fed
    another mask, it keeps every pixel outside that mask."""
    family = families.load(family_name)
    extra = {"latent_dim": 4} if family_name == "vae" else {}
    settings = family.settings(filters=(8, 16), fill_prior=fill_prior, **extra)
    restorer = family.restorer(build_trainer(family_name, SIZE, settings, seed=0))
    damaged = images(count=2, seed=6)
    restored, found = (
        keras.ops.convert_to_numpy(a) for a in family.with_paint_mask(restorer)(damaged)
    )
    own = (found > 0.5).astype(np.float32) if fill_prior else found
    given = family.with_given_mask(restorer)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(given([damaged, own])), restored)
    other = np.zeros_like(own)
    other[:, 2:5] = 1.0
    filled = keras.ops.convert_to_numpy(given([damaged, other]))
    outside = other[..., 0] == 0
    np.testing.assert_allclose(filled[outside], damaged[outside], atol=1e-6)
