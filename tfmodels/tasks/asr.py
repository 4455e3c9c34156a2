"""Noise-robust digit recognition: train the adversarial or baseline acoustic model, evaluate WER.

The experiment of Serdyuk et al. (arXiv:1612.01928) on the generated Aurora-style corpus of
`tfmodels.data.speech`: train on clean speech plus the `seen_noises` types, then report the
digit (word) error rate on clean, seen-noise and unseen-noise test sets, per SNR, and how much
noise information the encoder's tapped representation still carries (a fresh probe classifier
trained on frozen features, the same for both systems).

Example:
    result = train_asr(ASRConfig(adversarial=True, seen_noises=("babble",), epochs=2))
    print(format_result(result))
"""

import dataclasses
import json
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfmodels.data import speech
from tfmodels.metrics.speech import word_error_rate
from tfmodels.models.asr.adversarial import AdversarialAcousticModel, baseline_acoustic_model
from tfmodels.models.asr.decoding import beam_search_decode, greedy_decode
from tfmodels.tasks.training import training_callbacks
from tfmodels.utils import atomic

# The corpus `tfmodels-train --task=asr` generates when `data_dir` has none: small enough to
# synthesize in a few minutes on 2 cores.
DEFAULT_CORPUS = speech.DEFAULT_CORPUS


@dataclasses.dataclass
class ASRConfig:
    """Everything one ASR training run depends on.

    Attributes:
        data_dir: corpus folder with train/dev/test_* manifests; generated if missing.
        seen_noises: noise types trained on (with clean); a subset of the corpus's
            seen-candidate types.
        adversarial: train with the noise discriminator behind gradient reversal.
        seed: initialization, data order and seen-noise assignment.
        epochs, batch_size, learning_rate: optimization (Adam, gradients clipped to
            `clipnorm`); the rate decays along a cosine to `final_lr_fraction` of itself
            over all training steps. Small batches matter here: CTC leaves its all-blank
            phase after a number of steps, not examples (batch 8 escapes in 3 epochs of the
            default corpus, batch 16 in 6-7); a rate of 6e-3 at batch 16 never escaped in 16
            epochs.
        conv_filters, conv_strides, lstm_units, tap_layer, adversary_units: the network.
        reversal_scale, gamma: gradient reversal strength and ramp steepness; the ramp spans
            `ramp_fraction` of all training steps. At full strength 1.0 the reversed noise
            gradient held the CTC loss near 3.6 (clean WER 0.29 on the default corpus, babble
            seen, seed 0); 0.3 trains as well as the baseline.
        noise_weight: discriminator loss weight.
        features: `LogMelFeatures` arguments (default: per-utterance normalization).
            With `normalization="global"` or `"causal"`, `train_asr` adapts the per-bin
            statistics on the training records before fitting. "global" is not the
            default: on the default generated corpus (seed 0) it kept the CTC loss on the
            all-blank plateau for all 12 epochs (11.8 -> 10.9), where per-utterance
            statistics left it in epoch 4 (README, "Learning from real speakers").
        tail_samples: silence appended to every utterance inside the model
            (`AdversarialAcousticModel`), so the causal encoder hears the end of a word
            that ends the recording before its last output frame (0 = none).
        beam_width: 0 decodes greedily, otherwise CTC beam search with this width.
        max_train_utterances: cap on distinct training utterances (None = all).
        export_dir: where the `.keras` model and results go (None = nothing written).
        work_dir: resumable training state and TensorBoard logs (`tasks.training`): an
            interrupted run rerun with the same folder resumes from its last finished epoch.
        verbose: Keras progress (0 silent, 1 progress bars, 2 one line per epoch).
        corpus: `speech.generate` arguments for a missing corpus.
    """

    data_dir: str = "data/speech"
    seen_noises: tuple = ("babble", "white")
    adversarial: bool = True
    seed: int = 0
    epochs: int = 12
    batch_size: int = 8
    learning_rate: float = 3e-3
    final_lr_fraction: float = 0.05
    clipnorm: float = 5.0
    conv_filters: tuple = (64, 64, 64)
    conv_strides: tuple = (2, 2, 2)
    lstm_units: tuple = (96, 96)
    tap_layer: int = 1
    adversary_units: int = 64
    reversal_scale: float = 0.3
    gamma: float = 10.0
    ramp_fraction: float = 1.0
    noise_weight: float = 1.0
    features: dict = dataclasses.field(default_factory=dict)
    tail_samples: int = 0
    beam_width: int = 0
    max_train_utterances: int | None = None
    export_dir: str | None = None
    work_dir: str | None = None
    verbose: int = 0
    corpus: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_CORPUS))


@dataclasses.dataclass
class ASRResult:
    """What one run measured.

    Attributes:
        config: the `ASRConfig` as a dict.
        wer: `{split: {"all": rate, "<snr>": rate, "<noise type>": rate}}` for `clean`, `seen`
            and `unseen`.
        probe_accuracy: noise-type accuracy of a fresh logistic-regression probe on pooled
            frozen tap features (dev utterances, half to fit, half to score).
        probe_chance: the majority-class rate of the probe's test half.
        discriminator_accuracy: the adversarial model's own frame accuracy on the dev set
            (None for the baseline).
        train_seconds: wall time of `model.fit`.
        history: per-epoch training metrics.
        model_path: the saved `.keras` file, if any.
    """

    config: dict
    wer: dict
    probe_accuracy: float
    probe_chance: float
    discriminator_accuracy: float | None
    train_seconds: float
    history: dict
    model_path: str | None = None
    model: object = dataclasses.field(default=None, repr=False)


def ensure_corpus(data_dir, seed=0, **corpus):
    """Returns `Path(data_dir)`, generating the corpus there first if it has no train manifest."""
    root = Path(data_dir)
    if (root / "train.jsonl").is_file():
        return root
    if root.exists() and any(root.iterdir()):
        raise FileNotFoundError(
            f"{root} exists but has no train.jsonl: point data_dir at a speech corpus or an "
            "empty/missing folder to generate one"
        )
    if root.exists():
        root.rmdir()
    return speech.generate(root, seed=seed, **corpus)


def load_splits(data_dir, seen_noises, seed=0, max_train_utterances=None):
    """Reads the corpus manifests and selects the records of one run.

    Returns:
        `(vocabulary, noise_classes, splits)`: `splits` maps `train`, `dev` (both with clean +
        `seen_noises` only), `clean`, `seen` (test_seen restricted to `seen_noises`) and
        `unseen` (test_unseen) to record lists.
    """
    root = Path(data_dir)
    seen_noises = tuple(seen_noises)
    vocabulary = speech.Vocabulary()
    meta_path = root / "corpus.json"
    candidates = None
    if meta_path.is_file():
        with open(meta_path, encoding="utf-8") as f:
            candidates = json.load(f).get("seen_noise_types")
    if candidates is not None:
        unknown = [t for t in seen_noises if t not in candidates]
        if unknown:
            raise ValueError(
                f"seen_noises {unknown} are not among the corpus's training noise types "
                f"{candidates} ({meta_path})"
            )
    read = lambda name: speech.load_manifest(root / f"{name}.jsonl", vocabulary)  # noqa: E731
    train = read("train")
    if max_train_utterances is not None:
        keep = sorted({r.utterance for r in train})[:max_train_utterances]
        keep = set(keep)
        train = [r for r in train if r.utterance in keep]
    splits = {
        "train": speech.select_seen_noises(train, seen_noises, seed=seed),
        "dev": speech.select_seen_noises(read("dev"), seen_noises, seed=seed + 1),
        "clean": read("test_clean"),
        "seen": speech.filter_noise_types(read("test_seen"), seen_noises),
        "unseen": read("test_unseen"),
    }
    for name, records in splits.items():
        if not records:
            raise ValueError(f"{root}: split {name!r} is empty for seen_noises {seen_noises}")
    return vocabulary, ("clean",) + seen_noises, splits


def _xy(batch):
    x = {"waveform": batch["waveform"], "waveform_length": batch["waveform_length"]}
    y = {k: batch[k] for k in ("labels", "label_length", "noise_id")}
    return x, y


def build_model(config, num_classes, num_domains, ramp_steps):
    """The acoustic model of `config` (adversarial or baseline)."""
    shared = dict(
        conv_filters=tuple(config.conv_filters),
        conv_strides=tuple(config.conv_strides),
        lstm_units=tuple(config.lstm_units),
        tap_layer=config.tap_layer,
        adversary_units=config.adversary_units,
        noise_weight=config.noise_weight,
        features=dict(config.features),
        tail_samples=config.tail_samples,
    )
    if config.adversarial:
        return AdversarialAcousticModel(
            num_classes,
            num_domains=num_domains,
            reversal_scale=config.reversal_scale,
            ramp_steps=ramp_steps,
            gamma=config.gamma,
            name="adversarial_asr",
            **shared,
        )
    return baseline_acoustic_model(num_classes, name="baseline_asr", **shared)


def make_optimizer(config, steps):
    """Adam with a cosine-decayed learning rate over `steps` and clipped gradients."""
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(1, steps), alpha=config.final_lr_fraction
    )
    return keras.optimizers.Adam(schedule, clipnorm=config.clipnorm)


def transcribe(model, records, vocabulary, batch_size=32, beam_width=0):
    """Decoded transcripts of `records` (greedy, or beam search with `beam_width` > 0)."""
    dataset = speech.speech_dataset(records, vocabulary, batch_size)
    texts = []
    for batch in dataset:
        out = model.predict_on_batch(_xy(batch)[0])
        if beam_width:
            ids = beam_search_decode(out["logits"], out["frame_length"], beam_width)
        else:
            ids = greedy_decode(out["logits"], out["frame_length"])
        texts += [vocabulary.decode(seq) for seq in ids]
    return texts


def evaluate_wer(model, records, vocabulary, batch_size=32, beam_width=0):
    """`{"all": rate, "<snr>": rate, "<noise type>": rate}` for one test split."""
    hypotheses = transcribe(model, records, vocabulary, batch_size, beam_width)
    references = [r.text for r in records]
    result = {"all": word_error_rate(references, hypotheses).rate}
    groups = {}
    for i, record in enumerate(records):
        if record.snr_db is not None:
            groups.setdefault(f"{record.snr_db:g}dB", []).append(i)
        if record.noise != "clean":
            groups.setdefault(record.noise, []).append(i)
    for key, index in sorted(groups.items()):
        result[key] = word_error_rate(
            [references[i] for i in index], [hypotheses[i] for i in index]
        ).rate
    return result


def pooled_tap_features(model, records, vocabulary, noise_classes, batch_size=32):
    """Per-utterance mean and std of the tap layer's valid frames, with noise-domain ids."""
    tap = model.tap_model()
    dataset = speech.speech_dataset(records, vocabulary, batch_size, noise_classes=noise_classes)
    features, labels = [], []
    for batch in dataset:
        out = tap.predict_on_batch(_xy(batch)[0])
        for row, length in zip(out["features"], out["frame_length"]):
            valid = row[: max(int(length), 1)]
            features.append(np.concatenate([valid.mean(0), valid.std(0)]))
        labels += batch["noise_id"].numpy().tolist()
    return np.array(features), np.array(labels)


def probe_noise_information(model, records, vocabulary, noise_classes, seed=0):
    """Accuracy of a fresh noise-type probe on frozen tap features, and its chance level.

    Utterances (not records) are split in half, so the probe is scored on utterances whose
    clean and noisy versions it never saw.

    Returns:
        `(accuracy, chance)`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    features, labels = pooled_tap_features(model, records, vocabulary, noise_classes)
    utterances = sorted({r.utterance or r.audio for r in records})
    rng = np.random.default_rng(seed)
    fit_set = set(rng.permutation(utterances)[: len(utterances) // 2].tolist())
    fit = np.array([(r.utterance or r.audio) in fit_set for r in records])
    if fit.all() or not fit.any() or len(set(labels[fit])) < 2:
        raise ValueError("probe needs at least two utterances and two noise classes in dev")
    scaler = StandardScaler().fit(features[fit])
    probe = LogisticRegression(max_iter=2000, C=1.0)
    probe.fit(scaler.transform(features[fit]), labels[fit])
    accuracy = float(np.mean(probe.predict(scaler.transform(features[~fit])) == labels[~fit]))
    chance = float(np.bincount(labels[~fit]).max() / (~fit).sum())
    return accuracy, chance


def discriminator_accuracy(model, records, vocabulary, noise_classes, batch_size=32):
    """The adversarial model's own frame-level noise accuracy on `records`."""
    dataset = speech.speech_dataset(records, vocabulary, batch_size, noise_classes=noise_classes)
    correct = total = 0
    for batch in dataset:
        out = model.predict_on_batch(_xy(batch)[0])
        predicted = out["noise_logits"].argmax(-1)
        ids = batch["noise_id"].numpy()
        for row, noise_id, length in zip(predicted, ids, out["frame_length"]):
            correct += int(np.sum(row[:length] == noise_id))
            total += int(length)
    return correct / max(total, 1)


def train_asr(config, callbacks=None):
    """Trains one system of `config`, evaluates it, and saves it under `config.export_dir`.

    Args:
        config: an `ASRConfig`.
        callbacks: extra Keras callbacks for `model.fit`.

    Returns:
        An `ASRResult` (its `model` attribute holds the trained Keras model).
    """
    if not config.seen_noises:
        raise ValueError("seen_noises must name at least one noise type")
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {config.epochs}, {config.batch_size}")
    root = ensure_corpus(config.data_dir, **config.corpus)
    vocabulary, noise_classes, splits = load_splits(
        root, config.seen_noises, config.seed, config.max_train_utterances
    )
    keras.utils.set_random_seed(config.seed)
    train = speech.speech_dataset(
        splits["train"], vocabulary, config.batch_size, noise_classes=noise_classes,
        shuffle=True, seed=config.seed, cache=True,
    ).map(_xy)
    steps = config.epochs * -(-len(splits["train"]) // config.batch_size)
    ramp_steps = max(1, int(round(config.ramp_fraction * steps)))
    model = build_model(config, vocabulary.num_classes, len(noise_classes), ramp_steps)
    features = model.get_layer("features")
    if features.normalization in ("global", "causal"):
        features.adapt(
            speech.speech_dataset(splits["train"], vocabulary, 32, noise_classes=noise_classes)
        )
    model.compile(optimizer=make_optimizer(config, steps))
    start = time.time()
    history = model.fit(
        train, epochs=config.epochs, verbose=config.verbose,
        callbacks=[*training_callbacks(config.work_dir, "train"), *(callbacks or [])],
    ).history
    train_seconds = time.time() - start

    wer = {
        name: evaluate_wer(model, splits[name], vocabulary, config.batch_size, config.beam_width)
        for name in ("clean", "seen", "unseen")
    }
    accuracy, chance = probe_noise_information(
        model, splits["dev"], vocabulary, noise_classes, config.seed
    )
    own = None
    if config.adversarial:
        own = discriminator_accuracy(model, splits["dev"], vocabulary, noise_classes)
    result = ASRResult(
        config=dataclasses.asdict(config),
        wer=wer,
        probe_accuracy=accuracy,
        probe_chance=chance,
        discriminator_accuracy=own,
        train_seconds=train_seconds,
        history={k: [float(v) for v in vs] for k, vs in history.items()},
        model=model,
    )
    if config.export_dir:
        result.model_path = _save(result, model, config)
    return result


def _save(result, model, config):
    kind = "adversarial" if config.adversarial else "baseline"
    folder = Path(config.export_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"asr_{kind}_{'-'.join(config.seen_noises)}_seed{config.seed}"
    model_path = atomic.save_model(model, folder / f"{stem}.keras")
    payload = {k: v for k, v in dataclasses.asdict(result).items() if k != "model"}
    payload["model_path"] = str(model_path)
    atomic.write_json(folder / f"{stem}.json", payload)
    return str(model_path)


def format_result(result):
    """A short human-readable report of an `ASRResult`."""
    config = result.config
    lines = [
        f"system: {'adversarial' if config['adversarial'] else 'baseline'}  seen noises: "
        f"{','.join(config['seen_noises'])}  seed: {config['seed']}  "
        f"train: {result.train_seconds:.0f} s",
    ]
    for split in ("clean", "seen", "unseen"):
        rates = result.wer[split]
        detail = "  ".join(f"{k}={v:.3f}" for k, v in rates.items() if k != "all")
        lines.append(f"WER {split:7s} {rates['all']:.3f}  {detail}")
    lines.append(
        f"noise probe accuracy on tap features: {result.probe_accuracy:.3f} "
        f"(chance {result.probe_chance:.3f})"
    )
    if result.discriminator_accuracy is not None:
        lines.append(f"discriminator frame accuracy (dev): {result.discriminator_accuracy:.3f}")
    return "\n".join(lines)


def read_waveform(record):
    """The float32 samples of a `SpeechRecord`'s WAV file."""
    audio, _ = tf.audio.decode_wav(tf.io.read_file(record.audio), desired_channels=1)
    return audio.numpy()[:, 0]


def run(config, export=True, quantize=True, calibration_utterances=8, print_fn=print):
    """`tfmodels-train --task=asr`: train, report, and export the streaming and serving models.

    Returns:
        `(result, exported)`: the `ASRResult` and `{"tflite": path, "saved_model": path}`
        (empty without `export` or `config.export_dir`).
    """
    from tfmodels.export import asr as asr_export

    result = train_asr(config)
    print_fn(format_result(result))
    exported = {}
    if export and config.export_dir:
        _, _, splits = load_splits(config.data_dir, config.seen_noises, config.seed,
                                   config.max_train_utterances)
        waveforms = [read_waveform(r) for r in splits["dev"][:calibration_utterances]]
        stem = Path(result.model_path).stem
        report = asr_export.export_streaming_tflite(
            result.model, os.path.join(config.export_dir, f"{stem}_step.tflite"), waveforms,
            mode="int8" if quantize else "float32",
        )
        exported["tflite"] = report.path
        print_fn(str(report))
        exported["saved_model"] = asr_export.export_transcriber(
            result.model, speech.Vocabulary(), os.path.join(config.export_dir, "serving"), stem
        )
        print_fn(f"SavedModel (TF Serving): {exported['saved_model']}")
    return result, exported
