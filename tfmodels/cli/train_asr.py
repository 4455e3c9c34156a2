"""Flags and entry for `tfmodels-train --task=asr`: noise-robust digit recognition.

Usage:
  tfmodels-train --task=asr --adversarial=true --seen_noises=babble,white --epochs=20
  tfmodels-train --task=asr --adversarial=false --seen_noises=babble --data_dir=data/speech
  tfmodels-train --task=asr --data_dir=my_kaldi_data --vocabulary=corpus
  tfmodels-train --task=asr --data_dir=speech_commands --vocabulary=corpus \
      --seen_noises=white,running_tap

--data_dir takes the generated corpus, JSONL manifests, a Kaldi data directory or the Speech
Commands layout (README, "Bringing your own speech corpus"); a clean corpus gets its seen and
unseen noise mixed in on the fly.

Trains the adversarial (arXiv:1612.01928) or the multi-condition baseline acoustic model on
the generated Aurora-style corpus (generated under --data_dir first if it is missing), prints
the WER on clean / seen-noise / unseen-noise tests per SNR and the noise-probe accuracy, and
writes the `.keras` model, a results JSON, the streaming int8 step `.tflite` and the
waveform -> transcript SavedModel under --export_dir.
"""

import os

from absl import flags

from tfmodels.cli import common_flags

_ADVERSARIAL = flags.DEFINE_bool(
    "adversarial", True, "ASR: train with the noise discriminator behind gradient reversal."
)
_SEEN_NOISES = flags.DEFINE_list(
    "seen_noises", ["babble", "white"], "ASR: noise types in training (besides clean)."
)
_LSTM_UNITS = flags.DEFINE_list("lstm_units", ["96", "96"], "ASR: units per LSTM layer.")
_REVERSAL_SCALE = flags.DEFINE_float("reversal_scale", 0.3, "ASR: maximum reversal strength.")
_GAMMA = flags.DEFINE_float("gamma", 10.0, "ASR: steepness of the reversal ramp.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 3e-3, "ASR: Adam learning rate.")
_BEAM_WIDTH = flags.DEFINE_integer("beam_width", 0, "ASR: CTC beam width; 0 decodes greedily.",
                                   lower_bound=0)
_UNSEEN_NOISES = flags.DEFINE_list(
    "unseen_noises", None,
    "ASR: noise types mixed into a clean corpus's unseen test. Default: every other type.")
_VOCABULARY = flags.DEFINE_string(
    "vocabulary", "digits",
    "ASR: 'digits', 'corpus' (every word of the training transcripts), a file of words (one "
    "per line) or a comma-separated list of words.")
_VERBOSE = flags.DEFINE_integer(
    "asr_verbose", 1, "ASR: Keras progress (0 silent, 1 progress bars, 2 one line per epoch).")
_FEATURE_NORMALIZATION = flags.DEFINE_enum(
    "feature_normalization", "utterance", ["utterance", "causal", "global"],
    "ASR: log-mel normalization; causal/global also export the raw-audio streaming .tflite.",
)
_AUGMENT = flags.DEFINE_bool(
    "asr_augment", False,
    "ASR: augment training audio on the fly (speed, VTLP, reverb, band-limiting, gain).")
_SPEED_PERTURB = flags.DEFINE_bool(
    "asr_speed_perturb", False,
    "ASR: speed perturbation (0.9/1.0/1.1) of the training audio only; --asr_augment adds "
    "the other augmentations too.")
_SPEC_AUGMENT = flags.DEFINE_bool(
    "spec_augment", False,
    "ASR: SpecAugment time/frequency masking of the features in training "
    "(tasks.asr.DEFAULT_SPEC_AUGMENT).")
_OUTPUT_DELAY = flags.DEFINE_integer(
    "output_delay", 3,
    "ASR: output frames of look-ahead (80 ms each at the default stride): output frame t "
    "has heard the audio up to frame t + output_delay.", lower_bound=0)
_EXPORT = flags.DEFINE_bool(
    "asr_export", True, "ASR: write the streaming .tflite and the transcriber SavedModel."
)


def main():
    from tfmodels.tasks import asr

    units = _LSTM_UNITS.value
    if not units or any(not u.strip().isdigit() or int(u) < 1 for u in units):
        raise ValueError(f"--lstm_units must be positive integers, got {','.join(units)!r}")
    config = asr.ASRConfig(
        data_dir=common_flags.DATA_DIR.value or "data/speech",
        seen_noises=tuple(_SEEN_NOISES.value),
        unseen_noises=tuple(_UNSEEN_NOISES.value) if _UNSEEN_NOISES.value else None,
        vocabulary=_VOCABULARY.value,
        adversarial=_ADVERSARIAL.value,
        seed=common_flags.SEED.value,
        lstm_units=tuple(int(u) for u in _LSTM_UNITS.value),
        reversal_scale=_REVERSAL_SCALE.value,
        gamma=_GAMMA.value,
        learning_rate=_LEARNING_RATE.value,
        beam_width=_BEAM_WIDTH.value,
        feature_normalization=_FEATURE_NORMALIZATION.value,
        export_dir=os.path.join(common_flags.EXPORT_DIR.value, "asr"),
        work_dir=common_flags.WORK_DIR.value
        or os.path.join(common_flags.EXPORT_DIR.value, "runs", "asr"),
        verbose=_VERBOSE.value,
        augment=True if _AUGMENT.value else ("speed" if _SPEED_PERTURB.value else False),
        spec_augment=dict(asr.DEFAULT_SPEC_AUGMENT) if _SPEC_AUGMENT.value else None,
        output_delay=_OUTPUT_DELAY.value,
    )
    if common_flags.EPOCHS.value is not None:
        config.epochs = common_flags.EPOCHS.value
    if common_flags.BATCH_SIZE.value is not None:
        config.batch_size = common_flags.BATCH_SIZE.value
    asr.run(config, export=_EXPORT.value, quantize=common_flags.QUANTIZE.value)
