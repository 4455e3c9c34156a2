"""Condition networks C and priors R for the PPGN sampler (arXiv:1612.00005, Eq. 11).

A condition maps images and targets to one objective per sample, whose gradient is the
sampler's `d log C_y(G(h)) / dh` term; a prior maps a state h to its reconstruction R(h), so
that `R(h) - h` estimates `d log p(h) / dh` up to the DAE noise variance (Alain & Bengio 2014).

Example:
    >>> import numpy as np
    >>> from tfmodels.models.ppgn import ClassCondition, mnist_classifier
    >>> c = ClassCondition(mnist_classifier(code_units=8, filters=(2, 2)))
    >>> tuple(c.probability(np.zeros((2, 28, 28, 1), "float32"), np.array([3, 4])).shape)
    (2,)
"""

import keras
from keras import ops

GRADIENTS = ("authors", "log_softmax")


class ClassCondition:
    """C = any Keras classifier: the objective is class `y`'s log probability.

    Args:
        classifier: images -> logits (or probabilities with `from_logits=False`).
        from_logits: whether the classifier returns logits.
        gradient: "authors" (the released sampler's gradient: back-propagate `1 - p_y` from
            the logit of class y alone, i.e. the objective `stop_gradient(1 - p_y) * logit_y`)
            or "log_softmax" (the exact `d log p_y`, which also pushes the other logits down).
    """

    def __init__(self, classifier, from_logits=True, gradient="authors"):
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
        self.classifier = classifier
        self.from_logits = bool(from_logits)
        self.gradient = gradient

    def _logits(self, images):
        out = self.classifier(images, training=False)
        return out if self.from_logits else ops.log(ops.maximum(out, 1e-12))

    def objective(self, images, targets):
        """Per-sample objective `(B,)` whose gradient the sampler climbs."""
        logits = self._logits(images)
        onehot = ops.one_hot(ops.cast(targets, "int32"), ops.shape(logits)[-1])
        log_p = ops.sum(ops.log_softmax(logits, axis=-1) * onehot, axis=-1)
        if self.gradient == "log_softmax":
            return log_p
        p = ops.exp(log_p)
        return ops.stop_gradient(1.0 - p) * ops.sum(logits * onehot, axis=-1)

    def probability(self, images, targets):
        """`p(y = target | image)` `(B,)`."""
        logits = self._logits(images)
        onehot = ops.one_hot(ops.cast(targets, "int32"), ops.shape(logits)[-1])
        return ops.sum(ops.softmax(logits, axis=-1) * onehot, axis=-1)


class NeuronCondition:
    """C = one hidden neuron of a network (multifaceted feature visualization, Sec. 3.4 and
    S10): the objective is the activation of unit `targets[b]` of `layer` (averaged over
    positions for a conv layer).

    Args:
        model: a functional model.
        layer: the name of the layer whose units are visualized.
    """

    def __init__(self, model, layer):
        if layer not in [l.name for l in model.layers]:
            raise ValueError(f"model {model.name!r} has no layer {layer!r}")
        self.layer = layer
        self.probe = keras.Model(model.input, model.get_layer(layer).output)

    def _activations(self, images):
        acts = self.probe(images, training=False)
        if len(acts.shape) > 2:
            acts = ops.mean(acts, axis=tuple(range(1, len(acts.shape) - 1)))
        return acts

    def objective(self, images, targets):
        acts = self._activations(images)
        onehot = ops.one_hot(ops.cast(targets, "int32"), ops.shape(acts)[-1])
        return ops.sum(acts * onehot, axis=-1)

    def probability(self, images, targets):
        """The unit's activation (not a probability; the sampler reports it as one)."""
        return self.objective(images, targets)


class UpsideDownPrior:
    """R(h) = E(G(h)): G and E form an "upside-down" DAE on h (Joint PPGN-h, Sec. 3.5; the
    released sampler's `h_autoencoder_grad`). In inpainting the generated image has its visible
    pixels replaced by the context before E sees it.

    Args:
        generator: G, h -> image.
        encoder: E, image -> h (`code_encoder(classifier)`).
    """

    def __init__(self, generator, encoder):
        self.generator = generator
        self.encoder = encoder

    def __call__(self, h, mask=None, context=None):
        x = self.generator(h, training=False)
        if mask is not None:
            x = mask * x + (1.0 - mask) * context
        return self.encoder(x, training=False)


class DAEPrior:
    """R(h) = DAE(h): a separately trained denoising autoencoder on the state (on h for
    PPGN-h, on images for PPGN-x). Its training-time noise is off here (`training=False`)."""

    def __init__(self, dae):
        self.dae = dae

    def __call__(self, h, mask=None, context=None):
        return self.dae(h, training=False)
