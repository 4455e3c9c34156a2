"""The QNN building block and the quantizer presets the MLP and ConvNet share.

Hubara et al. (arXiv:1609.07061 Sec. 2, Alg. 1) order every hidden block as
`quantized linear map -> BatchNorm -> quantized activation`; the latent real weights are
clipped to `[-1, 1]` after every update, and the first layer sees the real-valued input.
"""

import keras

from tfmodels.layers import ShiftBatchNormalization
from tfmodels.quantization import (
    ActivationQuantizer,
    Binary,
    Clip,
    LinearQuant,
    LogQuant,
    QuantConv2D,
    QuantDense,
)

# name -> factory(stochastic) of a quantizer (None = float). "linearK" is the paper's k-bit
# LinearQuant (levels on [-1, 1], linear1 == binary), "logK" its LogQuant (weights).
QUANTIZERS = {
    "float": lambda stochastic: None,
    "binary": lambda stochastic: Binary(stochastic=stochastic),
    "linear2": lambda stochastic: LinearQuant(bits=2, stochastic=stochastic),
    "linear3": lambda stochastic: LinearQuant(bits=3, stochastic=stochastic),
    "linear4": lambda stochastic: LinearQuant(bits=4, stochastic=stochastic),
    "log3": lambda stochastic: LogQuant(bits=3),
    "log4": lambda stochastic: LogQuant(bits=4),
}


def quantizer(name, stochastic=False, argument="quantizer"):
    """The quantizer preset `name` (one of `QUANTIZERS`), a fresh object; None for "float"."""
    if name not in QUANTIZERS:
        raise ValueError(f"{argument} must be one of {sorted(QUANTIZERS)}; got {name!r}")
    return QUANTIZERS[name](bool(stochastic))


def batch_norm(shift, name, momentum=0.9, epsilon=1e-4):
    """BatchNorm for a QNN block: shift-based (AP2) or Keras's. The paper's BinaryNet code
    uses `alpha = 0.1` (momentum 0.9) and `epsilon = 1e-4`."""
    cls = ShiftBatchNormalization if shift else keras.layers.BatchNormalization
    return cls(momentum=momentum, epsilon=epsilon, name=name)


def qnn_block(x, units_or_filters, index, weights, activations, stochastic, shift_batch_norm,
              seed, conv=False, pool=False, last=False):
    """`Quant{Dense,Conv2D} -> [MaxPool] -> BatchNorm -> [activation quantizer]` on `x`.

    The max-pool sits between the convolution and the BatchNorm, as in the paper's ConvNet
    (pooling commutes with the monotone BN + sign only when gamma > 0). `last` leaves the
    output real (logits).
    """
    kernel_quantizer = quantizer(weights, stochastic, "weights")
    common = dict(
        kernel_quantizer=kernel_quantizer,
        kernel_constraint=Clip() if kernel_quantizer is not None else None,
        kernel_initializer=keras.initializers.GlorotUniform(
            None if seed is None else seed + index),
        use_bias=False,
        seed=None if seed is None else seed + index,
    )
    if conv:
        x = QuantConv2D(units_or_filters, 3, padding="same", name=f"conv{index}", **common)(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
    else:
        x = QuantDense(units_or_filters, name=f"dense{index}", **common)(x)
    x = batch_norm(shift_batch_norm, f"bn{index}")(x)
    if last:
        return x
    act = quantizer(activations, stochastic, "activations")
    if act is None:
        # The float baseline uses the hard tanh, the function the binary STE differentiates.
        return keras.layers.Activation("hard_tanh", name=f"act{index}")(x)
    return ActivationQuantizer(act, seed=None if seed is None else seed + 1000 + index,
                               name=f"act{index}")(x)
