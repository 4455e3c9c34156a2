"""Reusable non-quantizer layers (keras.ops only)."""

from tfmodels.layers.gradient_reversal import GradientReversal
from tfmodels.layers.shift_batch_norm import ShiftBatchNormalization
from tfmodels.layers.spec_augment import SpecAugment
