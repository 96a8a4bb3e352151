"""The networks: shapes, output range, level rules, and the joint GAN loss's gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from restorebench.blocks import levels
from restorebench.gan import Pix2Pix, _bce, build_discriminator, build_generator
from restorebench.vae import VAE, build_decoder, build_encoder

SIZE = 16


def images(count=4, seed=0):
    return np.random.default_rng(seed).random((count, SIZE, SIZE, 3), dtype=np.float32)


def test_levels_stop_where_the_side_stops_halving():
    origin = [64, 128, 128, 256, 256, 512, 512, 512]
    assert levels(256, origin, "k") == origin
    assert levels(64, origin, "k") == origin[:6]
    assert levels(48, origin, "k") == origin[:4]  # 48 -> 3 px
    with pytest.raises(ValueError, match="config key train.gan.filters: image_size 17"):
        levels(17, origin, "train.gan.filters")


@pytest.mark.parametrize("input_skip", [False, True])
def test_generator_maps_images_to_images_in_unit_range(input_skip):
    generator = build_generator(SIZE, [8, 16, 16, 16, 16, 32], input_skip=input_skip)  # 4 levels fit 16 px
    assert len([layer for layer in generator.layers if layer.name.endswith("_conv")]) == 4
    assert ("join_input" in [layer.name for layer in generator.layers]) == input_skip
    output = keras.ops.convert_to_numpy(generator(images()))
    assert output.shape == (4, SIZE, SIZE, 3)
    assert output.min() >= 0 and output.max() <= 1


def test_discriminator_gives_patch_logits_for_a_pair():
    discriminator = build_discriminator(SIZE, [8, 16])
    logits = discriminator([images(), images(seed=1)])
    assert tuple(logits.shape) == (4, SIZE // 4, SIZE // 4, 1)


def test_same_seed_same_weights_other_seed_other_weights():
    first, again, other = (build_generator(SIZE, [8, 16], seed=s).get_weights() for s in (3, 3, 4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_joint_loss_gives_each_network_exactly_its_own_gradient():
    """One optimizer over both nets is pix2pix only if D sees ∇D(D loss) and G sees ∇G(G loss)."""
    generator = build_generator(SIZE, [8, 16], dropout=0.0, seed=1)
    discriminator = build_discriminator(SIZE, [8, 16], seed=2)
    gan = Pix2Pix(generator, discriminator, l1_weight=100.0)
    damaged, clean = tf.constant(images(seed=3)), tf.constant(images(seed=4))
    g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables

    with tf.GradientTape(persistent=True) as tape:
        fake = gan(damaged, training=True)
        joint = gan.compute_loss(damaged, clean, fake, training=True)
        real_logits = discriminator([damaged, clean], training=True)
        fake_logits = discriminator([damaged, fake], training=True)
        d_loss = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
        g_loss = _bce(fake_logits, 1.0) + 100.0 * tf.reduce_mean(tf.abs(clean - fake))

    for joint_grad, own_grad in zip(tape.gradient(joint, d_vars), tape.gradient(d_loss, d_vars)):
        np.testing.assert_allclose(joint_grad, own_grad, rtol=1e-4, atol=1e-6)
    for joint_grad, own_grad in zip(tape.gradient(joint, g_vars), tape.gradient(g_loss, g_vars)):
        np.testing.assert_allclose(joint_grad, own_grad, rtol=1e-4, atol=1e-6)
    assert float(gan.disc_loss.result()) == pytest.approx(float(d_loss), rel=1e-5)


def test_bce_matches_keras_from_logits():
    logits = np.linspace(-30, 30, 13, dtype=np.float32)
    for target in (0.0, 1.0):
        expected = keras.losses.binary_crossentropy(np.full_like(logits, target), logits, from_logits=True)
        assert float(_bce(logits, target)) == pytest.approx(float(expected), rel=1e-5)


def vae(kl_weight=1.0, input_skip=False):
    layout = (SIZE, [8, 16, 16], 4, input_skip)
    return VAE(build_encoder(*layout, seed=1), build_decoder(*layout, seed=1), kl_weight, seed=1)


@pytest.mark.parametrize("input_skip", [False, True])
def test_vae_samples_in_training_and_restores_from_the_mean(input_skip):
    model = vae(input_skip=input_skip)
    x = images()
    sampled_a, sampled_b = (keras.ops.convert_to_numpy(model(x, training=True)[0]) for _ in range(2))
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
