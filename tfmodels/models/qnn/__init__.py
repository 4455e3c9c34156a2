"""Binarized and low-bit neural networks (Hubara et al., arXiv:1609.07061).

Example:
    >>> from tfmodels.models.qnn import qnn_mlp
    >>> model = qnn_mlp("mlp_256", weights="binary", activations="binary")
"""

from tfmodels.models.qnn.blocks import QUANTIZERS, quantizer, qnn_block
from tfmodels.models.qnn.mlp import MLP_PRESETS, qnn_mlp
from tfmodels.models.qnn.convnet import CONVNET_PRESETS, qnn_convnet
from tfmodels.models.qnn.int8_twin import int8_twin, scores_to_logits
from tfmodels.models.qnn.packed import (
    BLOCK_ELEMENTS,
    PackedBinaryMLP,
    binary_matmul,
    pack_signs,
    popcount,
    xnor_matmul,
)
