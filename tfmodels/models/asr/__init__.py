"""Noise-robust acoustic models (arXiv:1612.01928): log-mel features, CTC model, decoding.

Example:
    >>> from tfmodels.models.asr import AdversarialAcousticModel, LogMelFeatures
    >>> model = AdversarialAcousticModel(num_classes=12, num_domains=3, lstm_units=(16,))
"""

from tfmodels.models.asr.features import (
    LogMelFeatures,
    StreamingLogMelFeatures,
    causal_normalize,
    mel_filterbank,
)
from tfmodels.models.asr.adversarial import (
    AdversarialAcousticModel,
    AppendSilence,
    baseline_acoustic_model,
    frame_noise_loss,
)
from tfmodels.models.asr.decoding import beam_search_decode, collapse, greedy_decode

__all__ = [
    "AdversarialAcousticModel",
    "AppendSilence",
    "LogMelFeatures",
    "StreamingLogMelFeatures",
    "baseline_acoustic_model",
    "beam_search_decode",
    "causal_normalize",
    "collapse",
    "frame_noise_loss",
    "greedy_decode",
    "mel_filterbank",
]
