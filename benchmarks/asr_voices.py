"""WER of saved ASR models on speech from voices they were not trained on.

Loads each `.keras` model written by `tfmodels-train --task=asr` and prints its word error rate
on each JSONL manifest (the project's format, 16 kHz WAV): e.g. the `test_holdout_engine`
split of a corpus generated with `holdout_engines=("festival",)` (a synthesizer no training
utterance used), or real recordings converted to a manifest. Greedy CTC decoding; also the
WER on lone-word utterances, where real users' commands live.

Usage:
  python benchmarks/asr_voices.py --models=runs/a/asr/asr_adversarial_babble-white_seed0.keras \\
      --manifests=data/speech/test_holdout_engine.jsonl,/tmp/fsdd/fsdd.jsonl
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_MODELS = flags.DEFINE_list("models", None, ".keras files to evaluate.", required=True)
_MANIFESTS = flags.DEFINE_list("manifests", None, "JSONL manifests to score.", required=True)


def main(argv):
    del argv
    import keras

    import tfmodels.models.asr  # noqa: F401  (registers the custom layers)
    from tfmodels.data import speech
    from tfmodels.metrics.speech import word_error_rate
    from tfmodels.tasks.asr import transcribe

    vocabulary = speech.Vocabulary()
    records = {path: speech.load_manifest(path, vocabulary) for path in _MANIFESTS.value}
    for model_path in _MODELS.value:
        model = keras.saving.load_model(model_path)
        for path, manifest in records.items():
            hypotheses = transcribe(model, manifest, vocabulary)
            references = [r.text for r in manifest]
            lone = [i for i, r in enumerate(references) if len(r.split()) == 1]
            rate = word_error_rate(references, hypotheses).rate
            lone_rate = word_error_rate([references[i] for i in lone],
                                        [hypotheses[i] for i in lone]).rate if lone else None
            lone_text = f"{lone_rate:.3f} ({len(lone)} utt)" if lone else "-"
            print(f"{model_path}  {path}  WER {rate:.3f} ({len(manifest)} utt)  "
                  f"lone words {lone_text}", flush=True)


if __name__ == "__main__":
    app.run(main)
