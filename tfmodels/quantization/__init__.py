"""Quantizers and quantized layers for quantization-aware training (keras.ops only).

Example:
    >>> from tfmodels.quantization import QuantDense, Ternary, Uniform, ActivationQuantizer
    >>> layer = QuantDense(4, kernel_quantizer=Ternary(), input_quantizer=Uniform(symmetric=False))
"""

from tfmodels.quantization.quantizers import (
    Binary,
    Exponential,
    LinearQuant,
    LogQuant,
    Pow2Ternary,
    Ternary,
    Uniform,
    ap2,
    copy_quantizer,
    get_quantizer,
    glorot_bound,
    serialize_quantizer,
)
from tfmodels.quantization.layers import (
    ActivationQuantizer,
    QuantConv2D,
    QuantConv2DTranspose,
    QuantDense,
)
from tfmodels.quantization.constraints import Clip
from tfmodels.quantization.qat import quantize_graph, quantize_model

__all__ = [
    "ActivationQuantizer",
    "Binary",
    "Clip",
    "Exponential",
    "LinearQuant",
    "LogQuant",
    "Pow2Ternary",
    "QuantConv2D",
    "QuantConv2DTranspose",
    "QuantDense",
    "Ternary",
    "Uniform",
    "ap2",
    "copy_quantizer",
    "get_quantizer",
    "glorot_bound",
    "quantize_graph",
    "quantize_model",
    "serialize_quantizer",
]
