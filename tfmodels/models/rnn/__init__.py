"""Quantized RNN cells and layers (arXiv:1608.06902, 1611.07065, 1609.07061), a char-LM, and the
Hierarchical Multiscale LSTM (arXiv:1609.01704), and Professor Forcing training (arXiv:1610.09038).

Example:
    >>> from tfmodels.models.rnn import QuantLSTM
    >>> from tfmodels.quantization import Ternary
    >>> lstm = QuantLSTM(16, kernel_quantizer=Ternary(), recurrent_quantizer=Ternary())
"""

from tfmodels.models.rnn.base import WeightCachingCell, WeightCachingRNN
from tfmodels.models.rnn.cells import QuantGRUCell, QuantLSTMCell, QuantSimpleRNNCell
from tfmodels.models.rnn.layers import (
    QUANTIZER_PRESETS,
    RNN_LAYERS,
    QuantGRU,
    QuantLSTM,
    QuantSimpleRNN,
    quantizers,
)
from tfmodels.models.rnn.char_lm import char_lm
from tfmodels.models.rnn.hmlstm import (
    BoundaryRatePenalty,
    HMLSTM,
    HMLSTMCell,
    HMLSTMOutput,
    SlopeAnnealing,
    boundary,
    boundary_probe,
    boundary_states,
    hard_sigmoid,
    hm_lstm_cells,
    hm_lstm_lm,
)
from tfmodels.models.rnn.professor_forcing import (
    ProfessorForcing,
    behaviour_discriminator,
    run_behaviour,
)
from tfmodels.models.rnn.step import rnn_layers, state_names, step_model, zero_states

__all__ = [
    "BoundaryRatePenalty",
    "HMLSTM",
    "HMLSTMCell",
    "HMLSTMOutput",
    "ProfessorForcing",
    "QUANTIZER_PRESETS",
    "QuantGRU",
    "QuantGRUCell",
    "QuantLSTM",
    "QuantLSTMCell",
    "QuantSimpleRNN",
    "QuantSimpleRNNCell",
    "RNN_LAYERS",
    "SlopeAnnealing",
    "WeightCachingCell",
    "WeightCachingRNN",
    "behaviour_discriminator",
    "boundary",
    "boundary_probe",
    "boundary_states",
    "char_lm",
    "hard_sigmoid",
    "hm_lstm_cells",
    "hm_lstm_lm",
    "quantizers",
    "rnn_layers",
    "run_behaviour",
    "state_names",
    "step_model",
    "zero_states",
]
