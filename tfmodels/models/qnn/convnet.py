"""The binarized / low-bit ConvNet of Hubara et al. (arXiv:1609.07061 Sec. 5.2)."""

import keras

from tfmodels.models.qnn.blocks import qnn_block

# (conv filters, pooled after each conv?, fully connected widths). "paper" is
# 2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-2x1024FC; "cpu" and "tiny" scale the widths down.
CONVNET_PRESETS = {
    "paper": ((128, 128, 256, 256, 512, 512), (1024, 1024)),
    "cpu": ((32, 32, 64, 64, 128, 128), (256, 256)),
    "tiny": ((4, 4, 8, 8, 8, 8), (16,)),
}


def qnn_convnet(
    preset="paper",
    num_classes=10,
    input_shape=(28, 28, 1),
    weights="binary",
    activations="binary",
    stochastic=False,
    shift_batch_norm=False,
    seed=None,
    name="qnn_convnet",
):
    """Builds the QNN ConvNet: images in `[0, 1]` -> logits.

    Three stages of two 3x3 `QuantConv2D` blocks, the second of each followed by a 2x2
    max-pool (before its BatchNorm, as in the paper), then `QuantDense` blocks and a final
    `QuantDense -> BatchNorm` (logits). Block internals as for `qnn_mlp`.

    Args:
        preset: a key of `CONVNET_PRESETS`.
        num_classes: output units.
        input_shape: `(h, w, channels)`; a 2-D shape gets a channel axis added.
        weights, activations, stochastic, shift_batch_norm, seed, name: as for `qnn_mlp`.

    Returns:
        A `keras.Model`.

    Example:
    >>> model = qnn_convnet("tiny")
    >>> tuple(model.output.shape)
    (None, 10)
    """
    if preset not in CONVNET_PRESETS:
        raise ValueError(f"preset must be one of {sorted(CONVNET_PRESETS)}; got {preset!r}")
    filters, dense_units = CONVNET_PRESETS[preset]
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    if len(input_shape) == 2:
        x = keras.layers.Reshape((*input_shape, 1), name="add_channel")(x)
    kwargs = dict(weights=weights, activations=activations, stochastic=stochastic,
                  shift_batch_norm=shift_batch_norm, seed=seed)
    index = 0
    for index, f in enumerate(filters):
        x = qnn_block(x, f, index, conv=True, pool=index % 2 == 1, **kwargs)
    x = keras.layers.Flatten(name="flatten")(x)
    for units in dense_units:
        index += 1
        x = qnn_block(x, units, index, **kwargs)
    logits = qnn_block(x, num_classes, index + 1, last=True, **kwargs)
    return keras.Model(inputs, logits, name=name)
