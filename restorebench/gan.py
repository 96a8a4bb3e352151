"""The pix2pix GAN: a U-Net generator, a conditional discriminator and their joint loss.

The same model trains under every Keras backend (TensorFlow here, JAX on a lent
GPU); under TensorFlow it takes the origin's cheaper two-tape step.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from restorebench.accel import per_replica
from restorebench.blocks import encode, levels, needs_input, pixel_loss, to_image, up


def build_generator(
    image_size: int,
    filters: list[int],
    dropout: float = 0.5,
    input_skip: bool = False,
    seed: int = 0,
    blend: bool = False,
) -> keras.Model:
    """U-Net: one down block per level, mirrored up blocks joined to the skips.

    As in pix2pix, the first down block has no BatchNorm and the three deepest up
    blocks use dropout (off at inference, so restoration is deterministic).
    ``input_skip`` joins the input itself before the output and ``blend`` mixes output
    and input through a predicted paint mask (see ``blocks.to_image``).
    """
    filters = levels(image_size, filters, "train.gan.filters")
    needs_input(blend, input_skip, "train.gan")
    damaged = keras.Input((image_size, image_size, 3), name="damaged")
    skips = encode(damaged, filters, seed=seed, prefix="down")
    x = skips[-1]
    for step, level in enumerate(reversed(range(len(filters) - 1))):
        x = up(
            x,
            filters[level],
            dropout=dropout if step < 3 else 0.0,
            seed=seed + 100 + level,
            name=f"up{level}",
        )
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
    output = to_image(
        x, seed=seed + 200, image=damaged if input_skip else None, width=filters[0], blend=blend
    )
    return keras.Model(damaged, output, name="gan_generator")


HEADS = ("dense", "patch")


def build_discriminator(
    image_size: int, filters: list[int], head: str = "dense", seed: int = 0
) -> keras.Model:
    """Conditional discriminator on (damaged, candidate): down blocks, then a head.

    ``dense`` is the origin's: one logit per image from a Dense layer over the last
    map. ``patch`` is pix2pix's PatchGAN: one logit per receptive-field patch, which
    judges local texture and needs no weights that grow with the image side.
    """
    if head not in HEADS:
        raise ValueError(
            f"config key train.gan.discriminator: unknown head '{head}', expected one of {HEADS}"
        )
    filters = levels(image_size, filters, "train.gan.discriminator_filters")
    damaged = keras.Input((image_size, image_size, 3), name="damaged")
    candidate = keras.Input((image_size, image_size, 3), name="candidate")
    x = layers.Concatenate(name="pair")([damaged, candidate])
    x = encode(x, filters, seed=seed + 300, prefix="disc")[-1]
    init = keras.initializers.RandomNormal(0.0, 0.02, seed=seed + 400)
    # Logits in float32 under mixed precision: the BCE's exp/log1p want the range.
    if head == "dense":
        x = layers.Flatten(name="flatten")(x)
        logits = layers.Dense(1, kernel_initializer=init, dtype="float32", name="dense_logit")(x)
    else:
        logits = layers.Conv2D(
            1, 4, padding="same", kernel_initializer=init, dtype="float32", name="patch_logits"
        )(x)
    return keras.Model([damaged, candidate], logits, name="gan_discriminator")


def _bce(logits, target: float):
    """Mean sigmoid cross-entropy against a constant label, stable for any logit."""
    return ops.mean(
        ops.maximum(logits, 0.0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
    )


class Pix2Pix(keras.Model):
    """Trains generator and discriminator together with one ``fit``.

    pix2pix updates both nets at once from the same forward pass, each with its own
    loss and an Adam(2e-4, 0.5) of its own. Adam works per weight, so one optimizer
    over both nets is the same thing, provided each weight only sees its own
    gradient.

    Under TensorFlow, ``train_step`` does this the origin's way: two tapes over one
    forward pass, two discriminator passes (real, fake). Other backends go through
    ``compute_loss``, one loss whose gradient splits correctly at the price of a third
    discriminator pass:

    - ``fake_d`` = D(x, stop_gradient(G(x))): D's loss on it reaches D only;
    - ``fake_g`` = D(x, G(x)) has the same value, so ``bce(fake_g, 1) - bce(fake_d, 1)``
      is zero, its gradient on D cancels exactly, and on G it is the adversarial term.

    Either way the logged ``loss`` is disc_loss + gen_gan_loss + l1_weight x gen_l1.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        l1_weight: float = 100.0,
        damage_weight: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = l1_weight
        self.damage_weight = damage_weight
        self.disc_loss = keras.metrics.Mean(name="disc_loss")
        self.gen_gan_loss = keras.metrics.Mean(name="gen_gan_loss")
        self.gen_l1 = keras.metrics.Mean(name="gen_l1")

    def call(self, damaged, training=False):
        return self.generator(damaged, training=training)

    def pair_losses(self, damaged, clean, fake, real_logits, fake_logits):
        """(discriminator loss, adversarial loss, L1), recorded in the metrics."""
        disc = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
        gan = _bce(fake_logits, 1.0)
        l1 = pixel_loss(ops.abs(clean - fake), damaged, clean, self.damage_weight)
        self.disc_loss.update_state(disc)
        self.gen_gan_loss.update_state(gan)
        self.gen_l1.update_state(l1)
        return disc, gan, l1

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        real = self.discriminator([x, y], training=training)
        fake_d = self.discriminator([x, ops.stop_gradient(y_pred)], training=training)
        fake_g = self.discriminator([x, y_pred], training=training)
        disc, gan, l1 = self.pair_losses(x, y, y_pred, real, fake_d)
        adversarial = ops.stop_gradient(gan) + _bce(fake_g, 1.0) - _bce(fake_d, 1.0)
        return per_replica(disc + adversarial + self.l1_weight * l1)

    def train_step(self, *args):
        if keras.backend.backend() != "tensorflow":
            return super().train_step(*args)
        import tensorflow as tf
        from keras.src.losses.loss import unscale_loss_for_distribution

        damaged, clean, _ = keras.utils.unpack_x_y_sample_weight(args[0])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = self.generator(damaged, training=True)
            real_logits = self.discriminator([damaged, clean], training=True)
            fake_logits = self.discriminator([damaged, fake], training=True)
            disc, gan, l1 = self.pair_losses(damaged, clean, fake, real_logits, fake_logits)
            gen_loss = per_replica(gan + self.l1_weight * l1)
            disc_loss = per_replica(disc)
            self._loss_tracker.update_state(
                unscale_loss_for_distribution(gen_loss + disc_loss),
                sample_weight=tf.shape(damaged)[0],
            )
            gen_loss, disc_loss = (
                self.optimizer.scale_loss(gen_loss),
                self.optimizer.scale_loss(disc_loss),
            )
        gen_vars, disc_vars = self.generator.trainable_weights, self.discriminator.trainable_weights
        gradients = gen_tape.gradient(gen_loss, gen_vars) + disc_tape.gradient(disc_loss, disc_vars)
        self.optimizer.apply_gradients(zip(gradients, gen_vars + disc_vars))
        return self.compute_metrics(damaged, clean, fake)
