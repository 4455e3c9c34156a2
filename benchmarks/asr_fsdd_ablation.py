"""A short ASR ablation run on a corpus from `benchmarks/prepare_fsdd.py`: held-out-speaker WER.

Trains the baseline acoustic model (no discriminator) on the clean training records of a
leave-one-speaker-out FSDD corpus for `--epochs` epochs (batch 8, Adam with the
`tasks.asr` cosine schedule) and prints, after every epoch, the CTC loss and the WER of a
fixed subset of the held-out speaker's isolated digits and digit strings, then the WER on all
of `test_clean` split the same way, as one JSON line. `--model` holds
`AdversarialAcousticModel` keyword arguments as JSON, e.g.
`{"features": {"normalization": "global"}, "tail_samples": 3200}`; "global" and "causal"
feature statistics are adapted on the training records first.

Usage:
    python benchmarks/asr_fsdd_ablation.py --data_dir data/fsdd_theo --epochs 3 \
        --learning_rate 1e-3 --model '{"features": {"normalization": "global"}}'
"""

import argparse
import json
import time
from collections import Counter


def _rates(records, hypotheses, word_error_rate):
    out = {}
    for tag, keep in (("isolated", lambda r: len(r.text.split()) == 1),
                      ("strings", lambda r: len(r.text.split()) > 1)):
        pairs = [(r.text, h) for r, h in zip(records, hypotheses) if keep(r)]
        if pairs:
            out[tag] = round(word_error_rate(*zip(*pairs)).rate, 3)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning_rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="{}", help="model keyword arguments (JSON)")
    args = parser.parse_args()
    kwargs = json.loads(args.model)

    import keras

    from tfmodels.data import speech
    from tfmodels.metrics.speech import word_error_rate
    from tfmodels.tasks import asr

    vocabulary = speech.Vocabulary()
    train = [r for r in speech.load_manifest(f"{args.data_dir}/train.jsonl", vocabulary)
             if r.noise == "clean"]
    test = speech.load_manifest(f"{args.data_dir}/test_clean.jsonl", vocabulary)
    keras.utils.set_random_seed(args.seed)
    dataset = speech.speech_dataset(train, vocabulary, 8, shuffle=True, seed=args.seed,
                                    cache=True).map(asr._xy)
    model = asr.baseline_acoustic_model(vocabulary.num_classes, **kwargs)
    features = model.get_layer("features")
    if features.normalization in ("global", "causal"):
        features.adapt(speech.speech_dataset(train, vocabulary, 32))
    steps = args.epochs * -(-len(train) // 8)
    config = asr.ASRConfig(learning_rate=args.learning_rate)
    model.compile(optimizer=asr.make_optimizer(config, steps))
    subset = ([r for r in test if len(r.text.split()) == 1][::4]
              + [r for r in test if len(r.text.split()) > 1][::5])

    class HeldOut(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            hypotheses = asr.transcribe(model, subset, vocabulary)
            print(f"epoch {epoch + 1} ctc_loss {logs['ctc_loss']:.3f} held-out subset WER "
                  f"{_rates(subset, hypotheses, word_error_rate)} most frequent "
                  f"{Counter(hypotheses).most_common(2)}", flush=True)

    start = time.time()
    history = model.fit(dataset, epochs=args.epochs, verbose=0, callbacks=[HeldOut()]).history
    hypotheses = asr.transcribe(model, test, vocabulary)
    print(json.dumps({"model": kwargs, "learning_rate": args.learning_rate,
                      "epochs": args.epochs, "steps": steps,
                      "train_seconds": round(time.time() - start),
                      "ctc_loss": [round(v, 3) for v in history["ctc_loss"]],
                      "test_clean_wer": _rates(test, hypotheses, word_error_rate)}))


if __name__ == "__main__":
    main()
