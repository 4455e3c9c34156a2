"""Where the FSDD held-out-speaker error comes from: fast diagnostics on precomputed log-mels.

Reads a local FSDD `recordings/` folder, builds the leave-one-speaker-out split of
`benchmarks/prepare_fsdd.py` (5 speakers' takes 5-29 + 250 joined digit strings for training,
the held-out speaker's takes 0-19 + 100 strings for test; clean), computes raw log-mel
features once with the model's own `LogMelFeatures`, normalized per utterance as the
default model does (audio at -26 dBov as in `prepare_fsdd`'s corpus; with `--speeds`, also
for speed-perturbed copies of the training audio), then runs one of:

- `probe`: logistic regression on pooled features (mean of each third of the utterance + the
  standard deviation) of the lone digits: what a trivial classifier of these features gets on
  the held-out speaker.
- `classifier`: the acoustic model's network (3 causal strided Conv1D + 2 LSTM(96)) trained as
  a lone-digit classifier (cross-entropy on the last valid output frame) instead of with CTC.
- `ctc`: the same network trained with CTC on lone digits and strings as `tasks.asr` trains it
  (Adam, cosine schedule, clipnorm 5, batch 8), greedy decoding, WER of lone digits and
  strings apart; `--config` JSON overrides `lstm`, `conv`, `strides`, `kernel`, `lr`,
  `epochs`, `dropout`, `specaug` (SpecAugment arguments), `tail` (silent frames appended),
  `delay` (output frames of look-ahead, as `AdversarialAcousticModel(output_delay=...)`:
  `delay * stride` silent frames appended, the first `delay` outputs dropped).

It skips the waveform pipeline (features are computed once), so a run takes minutes.

Usage:
    python benchmarks/asr_fsdd_diagnostics.py --fsdd_dir fsdd/recordings --test_speaker theo \
        --mode probe|classifier|ctc [--speeds 0.9,1.0,1.1] [--config '{"epochs": 30}']
"""

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def features(fsdd_dir, test_speaker, speeds=(1.0,), seed=0):
    """`{"train"|"test": (list of (frames, 40) per-utterance normalized log-mels, texts)}`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import prepare_fsdd
    from tfmodels.data import augment
    from tfmodels.models.asr.features import LogMelFeatures

    audio = prepare_fsdd.read_fsdd(fsdd_dir)
    rng = np.random.default_rng(seed)
    groups = {
        "train": prepare_fsdd._utterances(
            audio, [k for k in audio if k[1] != test_speaker and 5 <= k[2] < 30], 250, rng,
            "train"),
        "test": prepare_fsdd._utterances(
            audio, [k for k in audio if k[1] == test_speaker and k[2] < 20], 100, rng, "test"),
    }
    layer = LogMelFeatures(normalization="utterance")
    out = {}
    for name, utterances in groups.items():
        feats, texts = [], []
        for speed in speeds if name == "train" else (1.0,):
            for _, text, _, x in utterances:
                # At -26 dBov like prepare_fsdd's corpus: the level sets how far the empty
                # 4-8 kHz band (8 kHz recordings) sits above the log floor.
                x = prepare_fsdd._level(x, -26.0)
                x = x if speed == 1.0 else augment.speed_perturb(x, speed)
                feats.append(np.asarray(layer(x[None].astype("float32")))[0])
                texts.append(text)
        out[name] = (feats, texts)
    return out


def probe(data):
    from sklearn.linear_model import LogisticRegression

    def pooled(split):
        rows = [(np.concatenate([p.mean(0) for p in np.array_split(f, 3)] + [f.std(0)]),
                 WORDS.index(t)) for f, t in zip(*data[split]) if " " not in t]
        return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])

    (x, y), (xt, yt) = pooled("train"), pooled("test")
    mean, std = x.mean(0), x.std(0) + 1e-6
    clf = LogisticRegression(max_iter=3000, C=0.1).fit((x - mean) / std, y)
    return {"train_accuracy": round(clf.score((x - mean) / std, y), 3),
            "held_out_accuracy": round(clf.score((xt - mean) / std, yt), 3)}


def _network(cfg, outputs):
    import keras

    from tfmodels.layers import SpecAugment

    inp = keras.Input((None, 40))
    x = inp
    if cfg.get("specaug"):
        x = SpecAugment(**cfg["specaug"])(x)
    for filters, stride in zip(cfg["conv"], cfg["strides"]):
        x = keras.layers.Conv1D(filters, cfg["kernel"], strides=stride, padding="causal",
                                activation="relu")(x)
    for units in cfg["lstm"]:
        x = keras.layers.LSTM(units, return_sequences=True)(x)
        if cfg.get("dropout"):
            x = keras.layers.Dropout(cfg["dropout"])(x)
    logits = keras.layers.Dense(outputs)(x)
    if cfg.get("delay"):
        logits = logits[:, cfg["delay"]:]
    return keras.Model(inp, logits)


def _pad(feats, stride, tail=0, delay=0):
    """Batch of features (`tail` + `delay * stride` silent frames appended) and the output
    frames of each row (without the `delay` dropped ones)."""
    tail += delay * stride
    frames = -(-max(len(f) + tail for f in feats) // stride) * stride
    x = np.zeros((len(feats), frames, feats[0].shape[1]), "float32")
    for i, f in enumerate(feats):
        x[i, :len(f)] = f
        if tail:
            x[i, len(f):len(f) + tail] = f.min(0)
    lengths = np.array([len(f) + tail for f in feats], "int32")
    return x, (lengths + stride - 1) // stride - delay


def _wer(refs, hyps):
    errors = words = 0
    for ref, hyp in zip(refs, hyps):
        ref, hyp = ref.split(), hyp.split()
        words += len(ref)
        row = list(range(len(hyp) + 1))
        for i in range(1, len(ref) + 1):
            prev, row[0] = row[:], i
            for j in range(1, len(hyp) + 1):
                row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref[i - 1] != hyp[j - 1]))
        errors += row[len(hyp)]
    return round(errors / max(words, 1), 3)


def train(data, cfg, mode):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(cfg["seed"])
    stride = int(np.prod(cfg["strides"]))
    feats, texts = data["train"]
    if mode == "classifier":
        keep = [i for i, t in enumerate(texts) if " " not in t]
        feats, texts = [feats[i] for i in keep], [texts[i] for i in keep]
    labels = [[WORDS.index(w) + (mode == "ctc") for w in t.split()] for t in texts]
    model = _network(cfg, len(WORDS) + (mode == "ctc"))
    steps = cfg["epochs"] * -(-len(feats) // 8)
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(cfg["lr"], steps, alpha=0.05), clipnorm=5.0)

    @tf.function(reduce_retracing=True)
    def step(x, frames, y, label_length):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            if mode == "ctc":
                loss = keras.ops.mean(keras.ops.ctc_loss(y, logits, label_length, frames,
                                                         mask_index=0))
            else:
                last = tf.gather(logits, frames - 1, batch_dims=1)
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                    y[:, 0], last, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def decode(batch_feats):
        hyps = []
        for i in range(0, len(batch_feats), 64):
            x, frames = _pad(batch_feats[i:i + 64], stride, cfg["tail"], cfg["delay"])
            logits = np.asarray(model(x, training=False))
            for row, n in enumerate(frames):
                if mode == "classifier":
                    hyps.append(WORDS[int(logits[row, n - 1].argmax())])
                    continue
                best, words, prev = logits[row, :n].argmax(-1), [], 0
                for c in best:
                    if c not in (0, prev):
                        words.append(WORDS[c - 1])
                    prev = c
                hyps.append(" ".join(words))
        return hyps

    def rates(split_feats, split_texts):
        hyps = decode(split_feats)
        out = {}
        for tag, keep in (("isolated", lambda t: " " not in t), ("strings", lambda t: " " in t)):
            pairs = [(t, h) for t, h in zip(split_texts, hyps) if keep(t)]
            if pairs:
                out[tag] = _wer(*zip(*pairs))
        return out, hyps

    rng, start, losses = np.random.default_rng(cfg["seed"]), time.time(), []
    for epoch in range(cfg["epochs"]):
        order, epoch_losses = rng.permutation(len(feats)), []
        for i in range(0, len(order), 8):
            j = order[i:i + 8]
            x, frames = _pad([feats[k] for k in j], stride, cfg["tail"], cfg["delay"])
            y = np.zeros((len(j), max(len(labels[k]) for k in j)), "int32")
            for row, k in enumerate(j):
                y[row, :len(labels[k])] = labels[k]
            label_length = np.array([len(labels[k]) for k in j], "int32")
            epoch_losses.append(float(step(x, frames, y, label_length)))
        losses.append(round(float(np.mean(epoch_losses)), 3))
        print(f"epoch {epoch + 1} loss {losses[-1]} {time.time() - start:.0f} s", flush=True)
    test_feats, test_texts = data["test"]
    if mode == "classifier":
        keep = [i for i, t in enumerate(test_texts) if " " not in t]
        test_feats, test_texts = [test_feats[i] for i in keep], [test_texts[i] for i in keep]
    held_out, hyps = rates(test_feats, test_texts)
    own, _ = rates(feats[::5], texts[::5])
    lone = [h for h, t in zip(hyps, test_texts) if " " not in t]
    return {"loss": losses, "held_out_wer": held_out, "train_subset_wer": own,
            "lone_digit_answers": Counter(len(h.split()) for h in lone),
            "train_seconds": round(time.time() - start)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd_dir", required=True, help="FSDD recordings/ folder")
    parser.add_argument("--test_speaker", required=True)
    parser.add_argument("--mode", choices=("probe", "classifier", "ctc"), required=True)
    parser.add_argument("--speeds", default="1.0",
                        help="speed factors of the training copies, e.g. 0.9,1.0,1.1")
    parser.add_argument("--config", default="{}", help="network/training overrides (JSON)")
    args = parser.parse_args()
    cfg = dict(conv=[64, 64, 64], strides=[2, 2, 2], kernel=3, lstm=[96, 96], lr=3e-3,
               epochs=12, seed=0, dropout=0.0, specaug=None, tail=0, delay=0)
    overrides = json.loads(args.config)
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise ValueError(f"--config: unknown keys {unknown}; known: {sorted(cfg)}")
    cfg.update(overrides)
    speeds = tuple(float(s) for s in args.speeds.split(","))
    data = features(args.fsdd_dir, args.test_speaker, speeds)
    result = probe(data) if args.mode == "probe" else train(data, cfg, args.mode)
    print(json.dumps({"mode": args.mode, "test_speaker": args.test_speaker, "speeds": speeds,
                      **({} if args.mode == "probe" else {"config": cfg}), **result}))


if __name__ == "__main__":
    main()
