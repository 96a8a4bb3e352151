"""The ``gan`` family: pix2pix, a U-Net generator and a conditional discriminator.

Trained as keras.io's GAN guide does: ``compile`` takes one optimizer per network and
``train_step`` updates both from one forward pass: with two gradient tapes under the
TensorFlow backend, as a pure function of the variables (Keras' stateless API) under JAX.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from restorebench.models.blocks import (
    decode,
    encode,
    levels,
    to_image,
    with_given_mask,
    with_paint_mask,
)
from restorebench.models.families.base import BlendSettings, Family, ema_options
from restorebench.models.families.inputs import DeviceInput
from restorebench.models.head import Head
from restorebench.models.losses import HeadLoss
from restorebench.runtime.accel import per_replica

HEADS = ("dense", "patch")


@dataclass(frozen=True)
class GanSettings(BlendSettings):
    """Defaults: our recipe at the origin's scale (its widths, 100 epochs, batch 64)."""

    learning_rate: float = 5.0e-4  # both networks (pix2pix: 2e-4)
    beta_1: float = 0.5
    # Generator widths, one per stride-2 level (used as far as the image side halves).
    filters: tuple[int, ...] = (64, 128, 128, 256, 256, 512, 512, 512)
    discriminator: str = "patch"  # patch (pix2pix) | dense (the origin's single logit)
    discriminator_filters: tuple[int, ...] = (64, 128, 256, 512)
    dropout: float = 0.5  # on the three deepest up blocks, training only
    l1_weight: float = 100.0  # adversarial loss + l1_weight x L1

    def check(self, key: str) -> None:
        super().check(key)
        if self.discriminator not in HEADS:
            raise ValueError(
                f"config key {key}.discriminator: unknown head '{self.discriminator}', "
                f"expected one of {HEADS}"
            )


def build_generator(
    image_size: int,
    filters: tuple[int, ...],
    dropout: float = 0.5,
    head: Head | None = None,
    seed: int = 0,
    key: str = "models.gan",
) -> keras.Model:
    """U-Net: one down block per level, mirrored up blocks joined to the skips.

    As in pix2pix, the first down block has no BatchNorm and the three deepest up
    blocks use dropout (off at inference, so restoration is deterministic).
    ``head`` says how the output is built (``blocks.to_image``; default: the origin's).
    """
    filters = levels(image_size, filters, f"{key}.filters")
    head = head or Head()
    head.check(key)
    damaged = keras.Input((image_size, image_size, 3), name="damaged")
    skips = encode(damaged, filters, seed=seed, prefix="down")
    x = decode(skips[-1], skips, filters, seed=seed + 100, dropout=dropout)
    output = to_image(
        x,
        seed=seed + 200,
        head=head,
        image=damaged if head.input_skip else None,
        width=filters[0],
    )
    return keras.Model(damaged, output, name="gan_generator")


def build_discriminator(
    image_size: int,
    filters: tuple[int, ...],
    head: str = "dense",
    seed: int = 0,
    key: str = "models.gan",
) -> keras.Model:
    """Conditional discriminator on (damaged, candidate): down blocks, then a head.

    ``dense`` is the origin's: one logit per image from a Dense layer over the last
    map. ``patch`` is pix2pix's PatchGAN: one logit per receptive-field patch, which
    judges local texture and needs no weights that grow with the image side.
    """
    if head not in HEADS:
        raise ValueError(
            f"config key {key}.discriminator: unknown head '{head}', expected one of {HEADS}"
        )
    filters = levels(image_size, filters, f"{key}.discriminator_filters")
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


BACKENDS = ("tensorflow", "jax")


def _backend() -> str:
    """The Keras backend, refused when no step of this family is written for it."""
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise NotImplementedError(
            f"the gan family trains under the tensorflow or jax Keras backend, not {backend}: "
            f"set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax before Keras is imported"
        )
    return backend


class _Optimizers:
    """The two optimizers as the one ``optimizer`` Keras' JAX trainer carries through a step.

    That trainer passes ``optimizer.variables`` into each pure step and stores what it
    returns; here they are the generator's optimizer's variables, then the
    discriminator's. Not a Keras object, so the weights file stays the TensorFlow one.
    """

    def __init__(self, *pairs: tuple[keras.optimizers.Optimizer, keras.Model]):
        self.pairs = pairs

    @property
    def variables(self) -> list:
        return [v for optimizer, _ in self.pairs for v in optimizer.variables]

    @property
    def built(self) -> bool:
        return all(optimizer.built for optimizer, _ in self.pairs)

    def build(self, _variables) -> None:
        for optimizer, network in self.pairs:
            optimizer.build(network.trainable_variables)


def _record(trackers: list[keras.metrics.Metric], values: list, logged) -> tuple[list, dict]:
    """The trackers' variables after one ``update_state`` each, and their results."""
    new, logs = [], {}
    for tracker, value in zip(trackers, logged):
        mine = values[len(new) : len(new) + len(tracker.variables)]
        mine = tracker.stateless_update_state(mine, value)
        logs[tracker.name] = tracker.stateless_result(mine)
        new += mine
    return new, logs


def _cotangent(optimizer, values: list, loss):
    """Where a loss's gradient starts: 1, times the optimizer's loss scale under mixed_float16."""
    with keras.StatelessScope(state_mapping=list(zip(optimizer.variables, values))):
        return ops.cast(optimizer.scale_loss(ops.ones_like(loss)), loss.dtype)


class Pix2Pix(DeviceInput, keras.Model):
    """Generator and discriminator trained together by one ``fit``, each by its own Adam.

    Each step is pix2pix's: one generator pass, two discriminator passes (real, fake);
    the discriminator learns from ``disc_loss``, the generator from ``gen_gan_loss +
    l1_weight x gen_l1`` + the head's terms (``losses.HeadLoss``). The logged ``loss`` is the sum of both, for progress and the
    NaN guard. TensorFlow and JAX run the same update (``tests/test_backends.py``).
    Batches may come as uint8 (``families.inputs``); ``flip`` mirrors those while training.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        l1_weight: float = 100.0,
        head_loss: HeadLoss | None = None,
        flip: bool = False,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.init_input(flip, seed)
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = l1_weight
        self.head_loss = head_loss = head_loss or HeadLoss()
        self.head_trackers = head_loss.trackers()
        # The generator with its paint mask as a second output (same variables, same order).
        self.generator_and_mask = with_paint_mask(generator) if head_loss.needs_mask else None
        self.loss_total = keras.metrics.Mean(name="loss")
        self.disc_loss = keras.metrics.Mean(name="disc_loss")
        self.gen_gan_loss = keras.metrics.Mean(name="gen_gan_loss")
        self.gen_l1 = keras.metrics.Mean(name="gen_l1")

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Under mixed_float16 each optimizer is wrapped to scale its loss, as compile would.

        No ``optimizer`` for Keras: its default would build unused slots over both networks
        in ``fit``, be saved with the weights, and be logged to TensorBoard as the rate.
        Under JAX the trainer's ``optimizer`` holds both (``_Optimizers``).
        """
        super().compile(optimizer=None, **kwargs)
        if keras.config.dtype_policy().name == "mixed_float16":
            g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
            d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        if _backend() == "jax":
            self.optimizer = _Optimizers(
                (g_optimizer, self.generator), (d_optimizer, self.discriminator)
            )

    @property
    def metrics(self):
        return [
            self.loss_total,
            self.disc_loss,
            self.gen_gan_loss,
            self.gen_l1,
            *self.head_trackers,
        ]

    def call(self, damaged, training=False):
        return self.generator(damaged, training=training)

    def _gan_losses(self, damaged, clean, fake, real_logits, fake_logits, mask=None):
        """(generator loss, discriminator loss, the values ``metrics`` record, in order)."""
        disc = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
        gan = _bce(fake_logits, 1.0)
        l1 = self.head_loss.pixel(ops.abs(clean - fake), damaged, clean)
        terms, values = self.head_loss.terms(fake, mask, damaged, clean)
        gen = gan + self.l1_weight * l1 + terms
        return gen, disc, (disc + gen, disc, gan, l1, *values)

    def _generate(self, damaged, training: bool):
        """(restored, paint mask or None): the mask only when its loss term is on."""
        if self.generator_and_mask is None:
            return self.generator(damaged, training=training), None
        fake, mask = self.generator_and_mask(damaged, training=training)
        return fake, mask

    def _pair_losses(self, damaged, clean, training: bool):
        """(generator loss, discriminator loss) of one batch; the metrics record their parts."""
        fake, mask = self._generate(damaged, training)
        real_logits = self.discriminator([damaged, clean], training=training)
        fake_logits = self.discriminator([damaged, fake], training=training)
        gen, disc, logged = self._gan_losses(damaged, clean, fake, real_logits, fake_logits, mask)
        for tracker, value in zip(self.metrics, logged):
            tracker.update_state(value)
        return gen, disc

    def _stateless_losses(self, weights, fixed, damaged, clean, training: bool):
        """``_gan_losses`` as a pure function of both networks' (trainable, other) variables.

        Also returns the others' new values: BatchNorm statistics after the generator and
        after both discriminator passes (real, then fake, as under TensorFlow), the
        dropout seed after the generator.
        """
        (g_weights, d_weights), (g_fixed, d_fixed) = weights, fixed
        mask = None
        if self.generator_and_mask is None:
            fake, g_fixed = self.generator.stateless_call(
                g_weights, g_fixed, damaged, training=training
            )
        else:
            (fake, mask), g_fixed = self.generator_and_mask.stateless_call(
                g_weights, g_fixed, damaged, training=training
            )
        real_logits, d_fixed = self.discriminator.stateless_call(
            d_weights, d_fixed, [damaged, clean], training=training
        )
        fake_logits, d_fixed = self.discriminator.stateless_call(
            d_weights, d_fixed, [damaged, fake], training=training
        )
        gen, disc, logged = self._gan_losses(damaged, clean, fake, real_logits, fake_logits, mask)
        return (gen, disc), (logged, (g_fixed, d_fixed))

    def _split(self, attribute: str, values: list) -> tuple[list, list]:
        """The trainer's ``attribute`` variables' ``values`` as the generator's and the discriminator's."""
        value = {id(v): x for v, x in zip(getattr(self, attribute), values)}
        return tuple(
            [value[id(v)] for v in getattr(network, attribute)]
            for network in (self.generator, self.discriminator)
        )

    def _join(self, attribute: str, parts: tuple[list, list], before: list) -> list:
        """``_split`` undone: one value per variable of the trainer, in its order; the
        trainer's own (the flip seed) keep their values in ``before``."""
        value = {
            id(v): x
            for network, values in zip((self.generator, self.discriminator), parts)
            for v, x in zip(getattr(network, attribute), values)
        }
        return [value.get(id(v), x) for v, x in zip(getattr(self, attribute), before)]

    def fit(self, *args, **kwargs):
        """Keras writes only ``optimizer``'s weight averages over the weights; here the
        generator's optimizer keeps them (``ema_momentum``)."""
        history = super().fit(*args, **kwargs)
        self.g_optimizer.finalize_variable_values(self.generator.trainable_variables)
        return history

    def train_step(self, *args):
        """``(data)`` under TensorFlow; ``(state, data)`` under JAX, whose steps are pure."""
        if _backend() == "jax":
            return self._jax_train_step(*args)
        return self._tf_train_step(*args)

    def test_step(self, *args):
        if _backend() == "jax":
            return self._jax_test_step(*args)
        damaged, clean, _ = keras.utils.unpack_x_y_sample_weight(self.ready(args[0], False))
        self._pair_losses(damaged, clean, training=False)
        return {tracker.name: tracker.result() for tracker in self.metrics}

    def _tf_train_step(self, data):
        import tensorflow as tf

        damaged, clean, _ = keras.utils.unpack_x_y_sample_weight(self.ready(data, True))
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_loss, disc_loss = self._pair_losses(damaged, clean, training=True)
            gen_loss = self.g_optimizer.scale_loss(per_replica(gen_loss))
            disc_loss = self.d_optimizer.scale_loss(per_replica(disc_loss))
        for tape, loss, network, optimizer in (
            (gen_tape, gen_loss, self.generator, self.g_optimizer),
            (disc_tape, disc_loss, self.discriminator, self.d_optimizer),
        ):
            variables = network.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {tracker.name: tracker.result() for tracker in self.metrics}

    def _jax_train_step(self, state, data):
        """One forward pass, then each loss pulled back to its own network only.

        ``jax.vjp`` keeps the forward pass and returns the gradient of any mix of the two
        losses; each network takes its own loss's (times its loss scale), as the two tapes
        do under TensorFlow, and XLA drops the parts of each backward pass left unused.
        """
        import jax

        weights, fixed, optimizer_values, metric_values = state
        fixed, data = self.ready_stateless(fixed, data, training=True)
        damaged, clean, _ = keras.utils.unpack_x_y_sample_weight(data)
        g_weights, d_weights = self._split("trainable_variables", weights)
        before = self._split("non_trainable_variables", fixed)
        (gen_loss, disc_loss), pullback, (logged, after) = jax.vjp(
            lambda g, d: self._stateless_losses((g, d), before, damaged, clean, True),
            g_weights,
            d_weights,
            has_aux=True,
        )
        g_values = optimizer_values[: len(self.g_optimizer.variables)]
        d_values = optimizer_values[len(self.g_optimizer.variables) :]
        g_grads, _ = pullback(
            (_cotangent(self.g_optimizer, g_values, gen_loss), ops.zeros_like(disc_loss))
        )
        _, d_grads = pullback(
            (ops.zeros_like(gen_loss), _cotangent(self.d_optimizer, d_values, disc_loss))
        )
        g_weights, g_values = self.g_optimizer.stateless_apply(g_values, g_grads, g_weights)
        d_weights, d_values = self.d_optimizer.stateless_apply(d_values, d_grads, d_weights)
        metric_values, logs = _record(self.metrics, metric_values, logged)
        return logs, (
            self._join("trainable_variables", (g_weights, d_weights), weights),
            self._join("non_trainable_variables", after, fixed),
            [*g_values, *d_values],
            metric_values,
        )

    def _jax_test_step(self, state, data):
        weights, fixed, metric_values = state
        damaged, clean, _ = keras.utils.unpack_x_y_sample_weight(self.ready(data, False))
        _, (logged, _) = self._stateless_losses(
            self._split("trainable_variables", weights),
            self._split("non_trainable_variables", fixed),
            damaged,
            clean,
            False,
        )
        metric_values, logs = _record(self.metrics, metric_values, logged)
        return logs, (weights, fixed, metric_values)


def build_trainer(
    image_size: int,
    settings: GanSettings,
    seed: int,
    jit_compile: bool,
    key: str = "models.gan",
    steps_per_execution: int = 1,
) -> Pix2Pix:
    trainer = Pix2Pix(
        build_generator(
            image_size,
            settings.filters,
            settings.dropout,
            Head.of(settings),
            seed=seed,
            key=key,
        ),
        build_discriminator(
            image_size, settings.discriminator_filters, settings.discriminator, seed=seed, key=key
        ),
        l1_weight=settings.l1_weight,
        head_loss=HeadLoss.of(settings),
        flip=settings.flip,
        seed=seed,
    )
    trainer.compile(
        g_optimizer=keras.optimizers.Adam(
            settings.learning_rate, beta_1=settings.beta_1, **ema_options(settings)
        ),
        d_optimizer=keras.optimizers.Adam(settings.learning_rate, beta_1=settings.beta_1),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # Weights and optimizer slots exist before a saved state is loaded into them.
    trainer(ops.zeros((1, image_size, image_size, 3)))
    trainer.g_optimizer.build(trainer.generator.trainable_variables)
    trainer.d_optimizer.build(trainer.discriminator.trainable_variables)
    return trainer


FAMILY = Family(
    "gan",
    GanSettings,
    build=build_trainer,
    restorer=lambda trainer: trainer.generator,
    with_paint_mask=with_paint_mask,
    with_given_mask=with_given_mask,
)
