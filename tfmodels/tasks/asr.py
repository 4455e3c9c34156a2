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
import warnings
from pathlib import Path

import keras
import numpy as np

from tfmodels.callbacks import BlankPlateauWarning
from tfmodels.data import corpora, noise, speech, wav
from tfmodels.data.augment import WaveformAugmenter
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
        data_dir: the corpus: JSONL manifests, a Kaldi data directory or the Speech Commands
            layout (`tfmodels.data.corpora`); the generated digit corpus if missing or empty.
        seen_noises: noise types trained on (with clean): a subset of the corpus's
            seen-candidate types, or for a clean corpus any synthesized type or recording.
        unseen_noises: held-out types mixed into a clean corpus's unseen test (None: every
            other available type). A corpus with noisy copies brings its own.
        vocabulary: "digits", "corpus" (every training word), a token file or a comma list
            (`corpora.make_vocabulary`).
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
        feature_normalization: `LogMelFeatures` normalization: "utterance" (whole-utterance
            statistics), or "causal" / "global" (statistics adapted on the training set before
            training), which also export the raw-audio streaming `.tflite` of the device.
        features: other `LogMelFeatures` arguments (a `normalization` here overrides
            `feature_normalization`). "global" is not the
            default: on the default generated corpus (seed 0) it kept the CTC loss on the
            all-blank plateau for all 12 epochs (11.8 -> 10.9), where per-utterance
            statistics left it in epoch 4 (README, "Learning from real speakers").
        tail_samples: silence appended to every utterance inside the model
            (`AdversarialAcousticModel`), so the causal encoder hears the end of a word
            that ends the recording before its last output frame (0 = none).
        output_delay: output frames of look-ahead (`AdversarialAcousticModel`): output frame
            `t` has heard the audio up to frame `t + output_delay` (80 ms each). 3 (240 ms)
            is the default: with 0 the causal model must emit each word before it has heard
            it, and real speakers' lone digits stayed at WER ~0.55 (README, "Learning from
            real speakers").
        beam_width: 0 decodes greedily, otherwise CTC beam search with this width.
        max_train_utterances: cap on distinct training utterances (None = all).
        export_dir: where the `.keras` model and results go (None = nothing written).
        work_dir: resumable training state and TensorBoard logs (`tasks.training`): an
            interrupted run rerun with the same folder resumes from its last finished epoch.
        verbose: Keras progress (0 silent, 1 progress bars, 2 one line per epoch).
        augment: waveform augmentation of the training audio, on the fly and seeded by
            `seed` (`make_augmenter`): False / "none", True / "full"
            (`tfmodels.data.augment.WaveformAugmenter`: speed, VTLP, reverb, band-limiting,
            gain) or "speed" (speed perturbation by 0.9 / 1.0 / 1.1 only).
        spec_augment: `tfmodels.layers.SpecAugment` arguments for time/frequency masking of
            the features in training (`AdversarialAcousticModel(spec_augment=...)`); None =
            none.
        corpus: `speech.generate` arguments for a missing corpus.
    """

    data_dir: str = "data/speech"
    seen_noises: tuple = ("babble", "white")
    unseen_noises: tuple | None = None
    vocabulary: str = "digits"
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
    feature_normalization: str = "utterance"
    features: dict = dataclasses.field(default_factory=dict)
    tail_samples: int = 0
    output_delay: int = 3
    beam_width: int = 0
    max_train_utterances: int | None = None
    export_dir: str | None = None
    work_dir: str | None = None
    verbose: int = 0
    augment: bool | str = False
    spec_augment: dict | None = None
    corpus: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_CORPUS))


@dataclasses.dataclass
class ASRResult:
    """What one run measured.

    Attributes:
        config: the `ASRConfig` as a dict.
        wer: `{split: {"all": rate, "<snr>": rate, "<noise type>": rate}}` for `clean`, `seen`
            and `unseen`.
        probe_accuracy: noise-type accuracy of a fresh logistic-regression probe on pooled
            frozen tap features (dev utterances, half to fit, half to score); None when the
            dev set cannot support a probe (see `notes`).
        probe_chance: the majority-class rate of the probe's test half (None likewise).
        discriminator_accuracy: the adversarial model's own frame accuracy on the dev set
            (None for the baseline).
        train_seconds: wall time of `model.fit`.
        history: per-epoch training metrics.
        model_path: the saved `.keras` file, if any.
        vocabulary: the tokens of the model's output classes (class `i + 1` is token `i`).
        notes: what the run could not measure, and how the data was prepared.
    """

    config: dict
    wer: dict
    probe_accuracy: float | None
    probe_chance: float | None
    discriminator_accuracy: float | None
    train_seconds: float
    history: dict
    model_path: str | None = None
    vocabulary: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    model: object = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass
class ASRData:
    """The records of one run and what reading them needs.

    Attributes:
        vocabulary: the `speech.Vocabulary`.
        noise_classes: the noise-domain classes ("clean" + seen noises).
        splits: `train`, `dev`, `clean`, `seen`, `unseen` record lists.
        mixers: `{split: noise.NoiseMixer}` for splits whose noise is mixed on the fly.
        corpus: the `corpora.Corpus` read.
    """

    vocabulary: object
    noise_classes: tuple
    splits: dict
    mixers: dict
    corpus: object


def ensure_corpus(data_dir, seed=0, **corpus):
    """Returns `Path(data_dir)`, generating the digit corpus there first if it is missing or
    empty; a non-empty folder must hold a corpus `corpora.detect_layout` recognizes."""
    root = Path(data_dir)
    if root.exists() and not root.is_dir():
        raise ValueError(f"data_dir {root} is a file, not a corpus folder")
    if root.exists() and any(root.iterdir()):
        corpora.detect_layout(root)
        return root
    if root.exists():
        root.rmdir()
    return speech.generate(root, seed=seed, **corpus)


def load_splits(data_dir, seen_noises, seed=0, max_train_utterances=None, vocabulary="digits",
                unseen_noises=None):
    """Reads a corpus (any `corpora.LAYOUTS`) and selects the records of one run.

    Returns:
        `(vocabulary, noise_classes, splits)`: `splits` maps `train`, `dev` (both with clean +
        `seen_noises` only), `clean`, `seen` (test under `seen_noises`) and `unseen` (test
        under other noises) to record lists. See `prepare_data` for clean corpora.
    """
    data = prepare_data(data_dir, seen_noises, seed, max_train_utterances, vocabulary,
                        unseen_noises)
    return data.vocabulary, data.noise_classes, data.splits


def prepare_data(data_dir, seen_noises, seed=0, max_train_utterances=None, vocabulary="digits",
                 unseen_noises=None):
    """Reads and validates everything a run needs before anything is trained or written.

    A corpus with noisy copies (the generated one, a converted Aurora-4) is used as it is:
    `speech.select_seen_noises` picks the training set, its test_seen/test_unseen are the
    noisy tests (any noise labels). A clean corpus gets its noise mixed on the fly
    (`corpora.with_noise`, `noise.NoiseMixer`): each training utterance clean plus one copy
    under a seen type at an SNR drawn anew every epoch; dev likewise at fixed SNRs; the test
    utterances once under a seen and once under an unseen type (types and SNRs round-robin).
    Babble is made of the split's own speech.

    Returns:
        An `ASRData`.
    """
    root = Path(data_dir)
    seen_noises = tuple(seen_noises)
    corpus = corpora.load_corpus(root, seed=seed)
    vocab = corpora.make_vocabulary(vocabulary, corpus)
    train = corpus.splits["train"]
    if max_train_utterances is not None:
        keep = set(sorted({r.utterance or r.audio for r in train})[:max_train_utterances])
        train = [r for r in train if (r.utterance or r.audio) in keep]
    mixers = {}
    if corpus.has_noisy_copies:
        meta_path = root / "corpus.json"
        candidates = sorted({r.noise for r in train} - {"clean"})
        if meta_path.is_file():
            with open(meta_path, encoding="utf-8") as f:
                candidates = json.load(f).get("seen_noise_types", candidates)
        unknown = [t for t in seen_noises if t not in candidates]
        if unknown:
            raise ValueError(
                f"seen_noises {unknown} are not among the corpus's training noise types "
                f"{candidates} ({meta_path if meta_path.is_file() else root / 'train.jsonl'})")
        test = corpus.splits["test"]
        splits = {
            "train": speech.select_seen_noises(train, seen_noises, seed=seed),
            "dev": speech.select_seen_noises(corpus.splits["dev"], seen_noises, seed=seed + 1),
            "clean": [r for r in test if r.noise == "clean"],
            "seen": speech.filter_noise_types(
                corpus.splits.get("test_seen", test), seen_noises),
            "unseen": [r for r in corpus.splits.get("test_unseen", test)
                       if r.noise != "clean" and r.noise not in seen_noises],
        }
        # Noisy training data but no noisy tests: mix them from the clean test, if the seen
        # types are ones the noise module (or the corpus's recordings) can make.
        available = noise.NOISE_TYPES + tuple(corpus.noise_recordings)
        heard = {r.noise for r in train} | set(seen_noises)
        for name, types, offset in (
                ("seen", seen_noises, 2),
                ("unseen", unseen_noises or [t for t in available if t not in heard], 3)):
            if splits[name] or not splits["clean"]:
                continue
            missing = [t for t in types if t not in available]
            if missing or not types:
                raise ValueError(
                    f"{root}: no {name}-noise test utterances (test_{name}.jsonl), and noise "
                    f"types {missing or list(types)} cannot be mixed in; available: "
                    f"{', '.join(available)}")
            splits[name] = corpora.with_noise(splits["clean"], types, seed + offset,
                                              speech.SNRS_DB, include_clean=False)
            if "test" not in mixers:
                mixers["test"] = noise.NoiseMixer(
                    speech.SNRS_DB, seed, speech.SAMPLE_RATE,
                    corpora.babble_pool(splits["clean"], 32, seed),
                    {k: wav.read(v, speech.SAMPLE_RATE)
                     for k, v in corpus.noise_recordings.items()})
            mixers[name] = mixers["test"]
        mixers.pop("test", None)
    else:
        recordings = tuple(corpus.noise_recordings)
        available = noise.NOISE_TYPES + recordings
        unseen = (tuple(t for t in available if t not in seen_noises) if unseen_noises is None
                  else tuple(unseen_noises))
        try:
            corpora.check_noise_types(seen_noises, unseen, available)
        except ValueError as error:
            raise ValueError(f"{root} (a clean corpus; noise is mixed in): {error}") from None
        snrs = speech.SNRS_DB
        test = corpus.splits["test"]
        splits = {
            "train": corpora.with_noise(train, seen_noises, seed),
            "dev": corpora.with_noise(corpus.splits["dev"], seen_noises, seed + 1, snrs),
            "clean": test,
            "seen": corpora.with_noise(test, seen_noises, seed + 2, snrs, include_clean=False),
            "unseen": corpora.with_noise(test, unseen, seed + 3, snrs, include_clean=False),
        }
        mixer = corpora.noise_mixer(corpus, snrs, seed)
        pools = {"dev": corpus.splits["dev"], "test": test}
        mixers = {"train": mixer}
        for group, records in pools.items():
            local = noise.NoiseMixer(
                snrs, seed, speech.SAMPLE_RATE, corpora.babble_pool(records, 32, seed),
                mixer.recordings)
            for name in ((group,) if group == "dev" else ("clean", "seen", "unseen")):
                mixers[name] = local
    for name, records in splits.items():
        if not records:
            raise ValueError(f"{root}: split {name!r} is empty for seen_noises {seen_noises}")
    return ASRData(vocab, ("clean",) + seen_noises, splits, mixers, corpus)


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
        features={"normalization": config.feature_normalization, **config.features},
        tail_samples=config.tail_samples,
        output_delay=config.output_delay,
        spec_augment=None if config.spec_augment is None else dict(config.spec_augment),
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


AUGMENTS = ("none", "full", "speed")
# `--spec_augment`'s masking: two bands of up to 6 of the 40 mel bins, two runs of up to 5
# frames (50 ms; SpecAugment's cap of 20% of the frames keeps a lone word audible).
DEFAULT_SPEC_AUGMENT = {"freq_masks": 2, "max_freq_width": 6, "time_masks": 2,
                        "max_time_width": 5}


def make_augmenter(kind, seed=0):
    """The training-audio augmenter of `ASRConfig.augment`, or None.

    Args:
        kind: False or "none" (None returned), True or "full" (`WaveformAugmenter`: speed,
            VTLP, reverb, band-limiting, gain) or "speed" (speed perturbation by 0.9 / 1.0 /
            1.1 only: length and pitch scaled together, as Ko et al. 2015 do).
        seed: the augmenter's seed.
    """
    if kind is True:
        kind = "full"
    elif kind is False or kind is None:
        kind = "none"
    if kind not in AUGMENTS:
        raise ValueError(f"augment must be True, False or one of {AUGMENTS}, got {kind!r}")
    if kind == "none":
        return None
    if kind == "speed":
        return WaveformAugmenter(seed=seed, vtlp_prob=0.0, reverb_prob=0.0, band_prob=0.0,
                                 gain_prob=0.0)
    return WaveformAugmenter(seed=seed)


def make_optimizer(config, steps):
    """Adam with a cosine-decayed learning rate over `steps` and clipped gradients."""
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(1, steps), alpha=config.final_lr_fraction
    )
    return keras.optimizers.Adam(schedule, clipnorm=config.clipnorm)


def _noise_classes(records):
    """Every noise label of `records` (clean first): evaluation accepts any label."""
    return ("clean",) + tuple(sorted({r.noise for r in records} - {"clean"}))


def transcribe(model, records, vocabulary, batch_size=32, beam_width=0, noise_mixer=None):
    """Decoded transcripts of `records` (greedy, or beam search with `beam_width` > 0)."""
    dataset = speech.speech_dataset(records, vocabulary, batch_size,
                                    noise_classes=_noise_classes(records),
                                    noise_mixer=noise_mixer)
    texts = []
    for batch in dataset:
        out = model.predict_on_batch(_xy(batch)[0])
        if beam_width:
            ids = beam_search_decode(out["logits"], out["frame_length"], beam_width)
        else:
            ids = greedy_decode(out["logits"], out["frame_length"])
        texts += [vocabulary.decode(seq) for seq in ids]
    return texts


def evaluate_wer(model, records, vocabulary, batch_size=32, beam_width=0, noise_mixer=None):
    """`{"all": rate, "<snr>": rate, "<noise type>": rate}` for one test split (any noise
    labels: Aurora-4's "car" or "airport" are groups like the generated types)."""
    hypotheses = transcribe(model, records, vocabulary, batch_size, beam_width, noise_mixer)
    # In the vocabulary's own spelling (Kaldi transcripts are often upper case).
    references = [vocabulary.decode(vocabulary.encode(r.text)) for r in records]
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


def pooled_tap_features(model, records, vocabulary, noise_classes, batch_size=32,
                        noise_mixer=None):
    """Per-utterance mean and std of the tap layer's valid frames, with noise-domain ids."""
    tap = model.tap_model()
    dataset = speech.speech_dataset(records, vocabulary, batch_size, noise_classes=noise_classes,
                                    noise_mixer=noise_mixer)
    features, labels = [], []
    for batch in dataset:
        out = tap.predict_on_batch(_xy(batch)[0])
        for row, length in zip(out["features"], out["frame_length"]):
            valid = row[: max(int(length), 1)]
            features.append(np.concatenate([valid.mean(0), valid.std(0)]))
        labels += batch["noise_id"].numpy().tolist()
    return np.array(features), np.array(labels)


def probe_noise_information(model, records, vocabulary, noise_classes, seed=0,
                            noise_mixer=None):
    """Accuracy of a fresh noise-type probe on frozen tap features, and its chance level.

    Utterances (not records) are split in half, so the probe is scored on utterances whose
    clean and noisy versions it never saw.

    Returns:
        `(accuracy, chance)`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    utterances = sorted({r.utterance or r.audio for r in records})
    rng = np.random.default_rng(seed)
    fit_set = set(rng.permutation(utterances)[: len(utterances) // 2].tolist())
    fit = np.array([(r.utterance or r.audio) in fit_set for r in records])
    if fit.all() or not fit.any() or len({r.noise for r, f in zip(records, fit) if f}) < 2:
        raise ValueError("probe needs at least two utterances and two noise classes in dev")
    features, labels = pooled_tap_features(model, records, vocabulary, noise_classes,
                                           noise_mixer=noise_mixer)
    scaler = StandardScaler().fit(features[fit])
    probe = LogisticRegression(max_iter=2000, C=1.0)
    probe.fit(scaler.transform(features[fit]), labels[fit])
    accuracy = float(np.mean(probe.predict(scaler.transform(features[~fit])) == labels[~fit]))
    chance = float(np.bincount(labels[~fit]).max() / (~fit).sum())
    return accuracy, chance


def discriminator_accuracy(model, records, vocabulary, noise_classes, batch_size=32,
                           noise_mixer=None):
    """The adversarial model's own frame-level noise accuracy on `records`."""
    dataset = speech.speech_dataset(records, vocabulary, batch_size, noise_classes=noise_classes,
                                    noise_mixer=noise_mixer)
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
    if config.feature_normalization not in ("utterance", "causal", "global"):
        raise ValueError(
            "feature_normalization must be 'utterance', 'causal' or 'global', got "
            f"{config.feature_normalization!r}"
        )
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {config.epochs}, {config.batch_size}")
    # Everything is validated before training: a run must not fail after it, unsaved.
    for name in ("export_dir", "work_dir"):
        folder = getattr(config, name)
        if folder and os.path.exists(folder) and not os.path.isdir(folder):
            raise ValueError(f"{name} {folder} is a file, not a folder")
    augmenter = make_augmenter(config.augment, config.seed)
    if config.spec_augment is not None and not isinstance(config.spec_augment, dict):
        raise ValueError(f"spec_augment must be None or a dict of SpecAugment arguments, got "
                         f"{config.spec_augment!r}")
    root = ensure_corpus(config.data_dir, **config.corpus)
    data = prepare_data(root, config.seen_noises, config.seed, config.max_train_utterances,
                        config.vocabulary, config.unseen_noises)
    vocabulary, noise_classes, splits, mixers = (
        data.vocabulary, data.noise_classes, data.splits, data.mixers)
    notes = list(data.corpus.notes)
    if config.verbose:
        print(data.corpus.describe())
    if mixers:
        what = "clean corpus: noise" if "train" in mixers else "no noisy tests: test noise"
        notes.append(f"{what} mixed in on the fly (seen {','.join(noise_classes[1:])}; unseen "
                     f"{','.join(sorted({r.noise for r in splits['unseen']}))})")
    keras.utils.set_random_seed(config.seed)
    train = speech.speech_dataset(
        splits["train"], vocabulary, config.batch_size, noise_classes=noise_classes,
        shuffle=True, seed=config.seed, cache=True, noise_mixer=mixers.get("train"),
        vary_noise=True,
        augment=augmenter,
    ).map(_xy)
    steps = config.epochs * -(-len(splits["train"]) // config.batch_size)
    ramp_steps = max(1, int(round(config.ramp_fraction * steps)))
    model = build_model(config, vocabulary.num_classes, len(noise_classes), ramp_steps)
    features = model.get_layer("features")
    if features.normalization in ("global", "causal"):
        # The statistics of what the model will hear: the training set as fit sees it.
        features.adapt(train)
    model.compile(optimizer=make_optimizer(config, steps))
    start = time.time()
    history = model.fit(
        train, epochs=config.epochs, verbose=config.verbose,
        callbacks=[*training_callbacks(config.work_dir, "train"), _plateau_check(data),
                   *(callbacks or [])],
    ).history
    train_seconds = time.time() - start

    wer = {
        name: evaluate_wer(model, splits[name], vocabulary, config.batch_size, config.beam_width,
                           mixers.get(name))
        for name in ("clean", "seen", "unseen")
    }
    try:
        accuracy, chance = probe_noise_information(
            model, splits["dev"], vocabulary, noise_classes, config.seed, mixers.get("dev"))
    except ValueError as error:
        accuracy = chance = None
        notes.append(f"noise probe skipped: {error}")
    own = None
    if config.adversarial:
        own = discriminator_accuracy(model, splits["dev"], vocabulary, noise_classes,
                                     noise_mixer=mixers.get("dev"))
    result = ASRResult(
        config=dataclasses.asdict(config),
        wer=wer,
        probe_accuracy=accuracy,
        probe_chance=chance,
        discriminator_accuracy=own,
        train_seconds=train_seconds,
        history={k: [float(v) for v in vs] for k, vs in history.items()},
        vocabulary=list(vocabulary.tokens),
        notes=notes,
        model=model,
    )
    if config.export_dir:
        result.model_path = _save(result, model, config)
    return result


def _plateau_check(data):
    """Warns when training sits on the all-blank plateau (checked on 8 training utterances)."""
    records = data.splits["train"][:8]
    batch = next(iter(speech.speech_dataset(
        records, data.vocabulary, len(records), noise_classes=_noise_classes(records),
        noise_mixer=data.mixers.get("train"))))
    return BlankPlateauWarning(_xy(batch)[0])


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
    if result.probe_accuracy is None:
        lines.append("noise probe accuracy on tap features: not measured")
    else:
        lines.append(
            f"noise probe accuracy on tap features: {result.probe_accuracy:.3f} "
            f"(chance {result.probe_chance:.3f})"
        )
    if result.discriminator_accuracy is not None:
        lines.append(f"discriminator frame accuracy (dev): {result.discriminator_accuracy:.3f}")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def read_waveform(record, noise_mixer=None):
    """The float32 samples of a `SpeechRecord` at 16 kHz (its segment; its noise when mixed)."""
    audio = wav.read(record.audio, speech.SAMPLE_RATE, record.start, record.end)
    if record.mix_noise and noise_mixer is not None:
        audio = noise_mixer(audio, record.noise, record.snr_db, key=(0,))
    return audio


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
        with warnings.catch_warnings():
            # Read again for calibration: train_asr already warned about conversions.
            warnings.simplefilter("ignore", UserWarning)
            data = prepare_data(config.data_dir, config.seen_noises, config.seed,
                                config.max_train_utterances, config.vocabulary,
                                config.unseen_noises)
        waveforms = [read_waveform(r, data.mixers.get("dev"))
                     for r in data.splits["dev"][:calibration_utterances]]
        stem = Path(result.model_path).stem
        report = asr_export.export_streaming_tflite(
            result.model, os.path.join(config.export_dir, f"{stem}_step.tflite"), waveforms,
            mode="int8" if quantize else "float32",
        )
        exported["tflite"] = report.path
        print_fn(str(report))
        if result.model.get_layer("features").normalization in ("global", "causal"):
            # The device file: raw audio in (front end inside), for StreamingTranscriber.
            # Int8 weights only: full int8 activations lose the quiet mel bins of the front end.
            for mode in ("float32", "dynamic_int8") if quantize else ("float32",):
                suffix = "" if mode == "float32" else f".{mode}"
                path = os.path.join(config.export_dir, f"{stem}_stream{suffix}.tflite")
                report = asr_export.export_streaming_tflite(
                    result.model, path, waveforms, mode=mode, raw_audio=True,
                    tokens=data.vocabulary.tokens,
                )
                exported[f"stream_tflite{suffix}"] = report.path
                print_fn(str(report))
        exported["saved_model"] = asr_export.export_transcriber(
            result.model, data.vocabulary, os.path.join(config.export_dir, "serving"), stem
        )
        print_fn(f"SavedModel (TF Serving): {exported['saved_model']}")
    return result, exported
