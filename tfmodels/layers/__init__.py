"""Reusable non-quantizer layers (keras.ops only)."""

from tfmodels.layers.gradient_reversal import GradientReversal
