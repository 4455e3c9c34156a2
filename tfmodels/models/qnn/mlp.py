"""The binarized / low-bit MLP of Hubara et al. for MNIST (arXiv:1609.07061 Sec. 5.1)."""

import keras

from tfmodels.models.qnn.blocks import qnn_block

# Hidden widths. "paper" is the 3 x 4096 MLP of the paper; the narrower ones fit a CPU.
MLP_PRESETS = {
    "paper": (4096, 4096, 4096),
    "mlp_1024": (1024, 1024, 1024),
    "mlp_512": (512, 512, 512),
    "mlp_256": (256, 256, 256),
    "tiny": (32, 32),
}


def qnn_mlp(
    preset="paper",
    hidden_units=None,
    num_classes=10,
    input_shape=(28, 28),
    weights="binary",
    activations="binary",
    stochastic=False,
    shift_batch_norm=False,
    dropout=0.0,
    seed=None,
    name="qnn_mlp",
):
    """Builds a QNN MLP: images in `[0, 1]` -> logits.

    The first layer takes the real-valued pixels in `[0, 1]` (the paper rescales them to
    `[-1, 1]`; under the following BatchNorm that is the same model, and `[0, 1]` keeps the int8
    input quantization exact).
    Each hidden block is `QuantDense -> BatchNorm -> quantized activation`; the last layer is
    `QuantDense -> BatchNorm` without an activation quantizer (its output is the logits, what
    the squared hinge loss or softmax cross-entropy reads). Quantized kernels are clipped to
    `[-1, 1]` after every update (`tfmodels.quantization.Clip`).

    Args:
        preset: a key of `MLP_PRESETS` (ignored when `hidden_units` is given).
        hidden_units: hidden widths, overriding `preset`.
        num_classes: output units.
        input_shape: image shape without batch.
        weights: weight quantizer preset (`tfmodels.models.qnn.QUANTIZERS`: "binary",
            "linear2", "log4", ..., or "float").
        activations: activation quantizer preset ("binary", "linear2", "linear4", or "float":
            hard tanh).
        stochastic: stochastic binarization / rounding of weights and activations in training.
        shift_batch_norm: use `ShiftBatchNormalization` instead of `BatchNormalization`.
        dropout: dropout rate before every quantized layer (the paper: 0.2 input, 0.5 hidden).
        seed: initializers and stochastic quantizers.
        name: model name.

    Returns:
        A `keras.Model`: `(batch, *input_shape)` -> `(batch, num_classes)`.

    Example:
    >>> model = qnn_mlp("tiny")
    >>> tuple(model.output.shape)
    (None, 10)
    """
    if hidden_units is None:
        if preset not in MLP_PRESETS:
            raise ValueError(f"preset must be one of {sorted(MLP_PRESETS)}; got {preset!r}")
        hidden_units = MLP_PRESETS[preset]
    hidden_units = tuple(hidden_units)
    if not hidden_units or any(not isinstance(u, int) or u < 1 for u in hidden_units):
        raise ValueError(f"hidden_units must be positive integers; got {hidden_units!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    kwargs = dict(weights=weights, activations=activations, stochastic=stochastic,
                  shift_batch_norm=shift_batch_norm, seed=seed)
    for index, units in enumerate(hidden_units):
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed, name=f"dropout{index}")(x)
        x = qnn_block(x, units, index, **kwargs)
    logits = qnn_block(x, num_classes, len(hidden_units), last=True, **kwargs)
    return keras.Model(inputs, logits, name=name)
