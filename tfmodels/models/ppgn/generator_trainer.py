"""Training G the paper's way: pixel + feature-matching + a small GAN loss, E fixed.

The generator of a PPGN is trained to invert the fixed encoder E (arXiv:1612.00005, Sec. 3 and
Appendix S9, after Dosovitskiy & Brox 2016): from the code `h = E(x)` of a real image it must
reproduce `x` (pixel loss), an image whose code `E(G(h))` matches `h` (feature matching in h,
the "upside-down" DAE of Joint PPGN-h) and whose intermediate features `h1` match too, and
that a discriminator cannot tell from real (GAN loss). Joint PPGN-h also corrupts h with
Gaussian noise (`code_noise_std`; 0 is the paper's "Noiseless Joint PPGN-h").

All of it runs in one backend-agnostic `compute_loss` (one optimizer, one `model.fit`, TF
and JAX): the discriminator's loss is computed on `stop_gradient(G(h))`, and the generator's
adversarial term `bce(D(G(h)), 1)` is paired with `- bce(D(stop_gradient(G(h))), 1)`, which
has the same value and the same gradient with respect to D's weights, so D receives exactly
the gradient of its own loss and G exactly the gradient of its adversarial loss.
"""

import keras
from keras import ops

from tfmodels.models.ppgn.networks import CODE_LAYER, FEATURE_LAYER, code_encoder


def _bce_logits(logits, target):
    logits = ops.cast(logits, "float32")  # losses in float32 under a mixed policy (#9)
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits,
                                            from_logits=True))


def _relative_mse(fake, real):
    # Scale-free: h and h1 have arbitrary magnitudes, so the weights stay meaningful.
    fake, real = ops.cast(fake, "float32"), ops.stop_gradient(ops.cast(real, "float32"))
    return ops.mean(ops.square(fake - real)) / (ops.mean(ops.square(real)) + 1e-8)


@keras.saving.register_keras_serializable("tfmodels")
class GeneratorTrainer(keras.Model):
    """Trains a generator G (and a discriminator) to invert a fixed classifier's code.

    Args:
        generator: G, code `(B, code_units)` -> image `(B, 28, 28, 1)`.
        classifier: the classifier whose `code_layer` output is h (E) and whose
            `feature_layer` output is h1; its weights are frozen (`trainable = False`).
        discriminator: image -> one logit; None trains without the GAN loss.
        pixel_weight, code_weight, feature_weight, gan_weight: the loss weights (the code and
            feature losses are relative: squared error divided by the real features' mean
            square).
        code_noise_std: standard deviation of the Gaussian noise added to h in training
            (Joint PPGN-h); 0 for the noiseless variant.
        code_layer, feature_layer: layer names in `classifier`.
        seed: the noise's seed.

    Call: images -> `G(E(images))` (no noise outside training). Fit with `trainer.fit(x)`.

    Example:
        >>> import numpy as np
        >>> from tfmodels.models.ppgn import (GeneratorTrainer, discriminator, generator,
        ...                                   mnist_classifier)
        >>> trainer = GeneratorTrainer(generator(8, filters=(4, 4)),
        ...     mnist_classifier(code_units=8, filters=(2, 2)), discriminator(filters=(2, 2)))
        >>> trainer.compile(optimizer="adam")
        >>> _ = trainer.fit(np.zeros((4, 28, 28, 1), "float32"), epochs=1, verbose=0)
    """

    def __init__(self, generator, classifier, discriminator=None, pixel_weight=1.0,
                 code_weight=0.1, feature_weight=0.1, gan_weight=0.01, code_noise_std=0.0,
                 code_layer=CODE_LAYER, feature_layer=FEATURE_LAYER, seed=0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("pixel_weight", pixel_weight), ("code_weight", code_weight),
                           ("feature_weight", feature_weight), ("gan_weight", gan_weight),
                           ("code_noise_std", code_noise_std)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{arg} must be a non-negative number, got {value!r}")
        if gan_weight > 0 and discriminator is None:
            raise ValueError("gan_weight > 0 needs a discriminator (or set gan_weight=0)")
        self.generator = generator
        self.classifier = classifier
        self.discriminator = discriminator
        self.encoder = code_encoder(classifier, code_layer, feature_layer)
        # The paper keeps E fixed: G learns to invert it, E does not learn to suit G.
        self.classifier.trainable = False
        self.pixel_weight = float(pixel_weight)
        self.code_weight = float(code_weight)
        self.feature_weight = float(feature_weight)
        self.gan_weight = float(gan_weight)
        self.code_noise_std = float(code_noise_std)
        self.code_layer = code_layer
        self.feature_layer = feature_layer
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in (
            "pixel_loss", "code_loss", "feature_loss", "d_loss", "g_gan_loss", "d_accuracy")}

    def call(self, images, training=False):
        h = ops.stop_gradient(self.encoder(images, training=False)[1])
        if training and self.code_noise_std > 0:
            h = h + self.code_noise_std * keras.random.normal(
                ops.shape(h), seed=self.seed_generator)
        return self.generator(h, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        fake = y_pred
        h1_real, h_real = self.encoder(x, training=False)
        h1_fake, h_fake = self.encoder(fake, training=False)
        # Losses in float32: under a mixed policy G's images are float16 (this raised, #9).
        pixel = ops.mean(ops.square(ops.cast(fake, "float32") - ops.cast(x, "float32")))
        code = _relative_mse(h_fake, h_real)
        feature = _relative_mse(h1_fake, h1_real)
        total = (self.pixel_weight * pixel + self.code_weight * code
                 + self.feature_weight * feature)
        size = ops.cast(ops.shape(x)[0], "float32")
        values = {"pixel_loss": pixel, "code_loss": code, "feature_loss": feature}
        if self.discriminator is not None:
            d_real = self.discriminator(x, training=training)
            d_fake_detached = self.discriminator(ops.stop_gradient(fake), training=training)
            d_fake = self.discriminator(fake, training=training)
            d_loss = _bce_logits(d_real, 1.0) + _bce_logits(d_fake_detached, 0.0)
            g_gan = _bce_logits(d_fake, 1.0)
            # Same value and same D-gradient as g_gan: D gets nothing from G's objective.
            g_gan_for_g_only = g_gan - _bce_logits(d_fake_detached, 1.0)
            total = total + d_loss + self.gan_weight * g_gan_for_g_only
            accuracy = 0.5 * (ops.mean(ops.cast(d_real > 0, "float32"))
                              + ops.mean(ops.cast(d_fake_detached < 0, "float32")))
            values.update(d_loss=d_loss, g_gan_loss=g_gan, d_accuracy=accuracy)
        for name, value in values.items():
            self.trackers[name].update_state(value, sample_weight=size)
        return total

    def get_config(self):
        config = super().get_config()
        serialize = keras.saving.serialize_keras_object
        config.update(
            generator=serialize(self.generator), classifier=serialize(self.classifier),
            discriminator=None if self.discriminator is None else serialize(self.discriminator),
            pixel_weight=self.pixel_weight, code_weight=self.code_weight,
            feature_weight=self.feature_weight, gan_weight=self.gan_weight,
            code_noise_std=self.code_noise_std, code_layer=self.code_layer,
            feature_layer=self.feature_layer, seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "classifier", "discriminator"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
