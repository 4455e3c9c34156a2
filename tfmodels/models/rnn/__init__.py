"""Quantized RNN cells and layers (arXiv:1608.06902, 1611.07065, 1609.07061) and a char-LM.

Example:
    >>> from tfmodels.models.rnn import QuantLSTM
    >>> from tfmodels.quantization import Ternary
    >>> lstm = QuantLSTM(16, kernel_quantizer=Ternary(), recurrent_quantizer=Ternary())
"""

from tfmodels.models.rnn.cells import QuantGRUCell, QuantLSTMCell, QuantSimpleRNNCell
from tfmodels.models.rnn.layers import QuantGRU, QuantLSTM, QuantSimpleRNN
