"""Noisy connected-digit speech: a generated Aurora-style corpus, manifests and a tf.data pipeline.

Serdyuk et al., "Invariant Representations for Noisy Speech Recognition" (arXiv:1612.01928)
train on Aurora-4 with clean speech plus a few "seen" noise types and test on seen and unseen
noises. Aurora-4 is licensed and cannot be downloaded here, so `generate` builds a corpus of
the same shape locally: three free synthesizers (`espeak-ng`, `flite`, `festival`, those
installed; see `ENGINES`) speak Aurora-2 style digit strings ("one oh seven", 1-7 digits,
"zero" and "oh" both used, a quarter of them lone digits) in many voices, speaking rates,
pitches and levels, and `tfmodels.data.noise` corrupts them with synthesized noises at 0-20 dB
SNR. `generate(..., holdout_engines=("festival",))` keeps one synthesizer out of training and
writes its utterances to `test_holdout_engine.jsonl`, to measure WER on voices from an engine
the model never heard.

Corpus layout (all paths in a manifest are relative to the manifest's folder):

    out_dir/
      corpus.json         generation settings, speakers per split, SNR convention
      train.jsonl         clean + one copy per seen-candidate noise type (training speakers)
      dev.jsonl           same structure as train, other utterances of the training speakers
      test_clean.jsonl    held-out speakers, clean
      test_seen.jsonl     the same utterances under seen-candidate noises, at every SNR
      test_unseen.jsonl   the same utterances under held-out noise types, at every SNR
      test_holdout_engine.jsonl   clean utterances of `holdout_engines` only (if any)
      train/ dev/ test_clean/ test_seen/ test_unseen/   16 kHz mono 16-bit PCM WAV files

Manifest lines are JSON objects:

    {"audio": "train/train-00003_babble_5dB.wav", "text": "one oh seven", "noise": "babble",
     "snr_db": 5, "speaker": "en-gb+m3", "engine": "espeak-ng", "voice": "en-gb+m3",
     "utterance": "train-00003"}

Only `audio` and `text` are required by `load_manifest`; `noise` defaults to "clean", so an
Aurora-4 set converted to such a manifest trains through the same pipeline. Optional `start`
and `end` (seconds) select a segment of the file. WAV files of any rate, channel count and
sample format (8/16/24/32-bit PCM, float) are read through `tfmodels.data.wav`, downmixed and
resampled to 16 kHz, with one warning per manifest. `tfmodels.data.corpora` reads Kaldi data
directories and the Speech Commands layout into the same `SpeechRecord`s.

Example:
    root = generate("data/speech", seed=0)
    records = select_seen_noises(load_manifest(root / "train.jsonl"), ["babble", "street"])
    dataset = speech_dataset(records, Vocabulary(), batch_size=32, shuffle=True, seed=0)
"""

import concurrent.futures
import dataclasses
import io
import json
import os
import shutil
import subprocess
import tempfile
import warnings
import wave
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf
from scipy import signal

from tfmodels.data import noise as noise_lib
from tfmodels.data import wav
from tfmodels.data.noise import NOISE_TYPES
from tfmodels.utils import atomic

SAMPLE_RATE = 16000
DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight",
               "nine")
NOISE_CLASSES = ("clean",) + NOISE_TYPES
"""Default noise-domain classes: id 0 is clean, then `NOISE_TYPES` in order."""
SNRS_DB = (0, 5, 10, 15, 20)
DEFAULT_SEEN_NOISE_TYPES = ("babble", "engine", "street", "white")
SPLITS = ("train", "dev", "test_clean", "test_seen", "test_unseen")
HOLDOUT_SPLIT = "test_holdout_engine"
"""Split of clean utterances from `generate(holdout_engines=...)`: engines unseen in training."""

# espeak-ng's own English voices (the mbrola ones need extra packages) and voice variants
# that sound like plausible talkers; a speaker is one accent+variant pair.
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VOICE_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "Alex", "Andy", "Annie", "Alicia", "Andrea",
    "aunty", "belinda", "ed", "john", "linda", "max", "Michael", "paul", "quincy", "rob",
    "robert", "steph", "travis", "victor", "norbert", "shelby", "grandma", "grandpa",
)

# Synthesizers `generate` speaks with, all free Debian packages (the Makefile installs them).
ENGINES = ("espeak-ng", "flite", "festival")
# flite's built-in English voices (awb_time is a limited-domain clock voice) and the mean F0
# in Hz that pitch 50 keeps; festival's English festvox voices likewise.
FLITE_VOICES = {"kal": 100.0, "kal16": 100.0, "awb": 105.0, "rms": 100.0, "slt": 170.0}
FESTIVAL_VOICES = {"kal_diphone": 105.0, "ked_diphone": 105.0, "cmu_us_slt_arctic_hts": 165.0,
                   "cmu_us_awb_arctic_hts": 105.0, "cmu_us_bdl_arctic_hts": 110.0,
                   "cmu_us_jmk_arctic_hts": 105.0, "cmu_us_rms_arctic_hts": 105.0,
                   "cmu_us_clb_arctic_hts": 170.0}
_ENGINE_PROGRAMS = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "text2wave"}
_ENGINE_PACKAGES = {"espeak-ng": "'espeak-ng'", "flite": "'flite'",
                    "festival": "'festival' (and a voice, e.g. 'festvox-kallpc16k')"}
_FESTIVAL_VOICE_DIRS = (Path("/usr/share/festival/voices/english"),
                        Path("/usr/share/festival/voices/us"))
# Rate/pitch profiles per flite or festival voice: each is one "speaker".
_PROFILES_PER_VOICE = 8
_ESPEAK = "espeak-ng"
_ESPEAK_RATE = 22050
_SPLIT_CODES = {"train": 1, "dev": 2, "test": 3, "holdout": 4}

# The corpus size `tfmodels-data --dataset=speech` and the ASR task generate by default: what the
# default ASR recipe learns from in a few minutes on 2 cores.
DEFAULT_CORPUS = dict(train_utterances=600, dev_utterances=80, test_utterances=80)


# ---------------------------------------------------------------------------------------------
# Vocabulary


class Vocabulary:
    """Maps transcripts to CTC label ids; id 0 is the CTC blank.

    The blank is id 0 because `keras.ops.ctc_loss` and `keras.ops.ctc_decode` default to
    `mask_index=0`; token `i` of `tokens` gets id `i + 1`, so the acoustic model's output layer
    has `num_classes == len(tokens) + 1` units. Padded label positions hold 0 too; CTC ignores
    them through the label lengths.

    Args:
        tokens: the words (or characters) of the vocabulary, in id order. Defaults to the
            eleven Aurora digit words; add command words as extra tokens.
        unit: "word" splits transcripts on whitespace; "char" takes each character (include
            " " in `tokens` to model word boundaries).
        lowercase: lower-case transcripts before looking tokens up.

    Example:
        vocab = Vocabulary()
        vocab.encode("one oh seven")  # [3, 2, 9]
        vocab.decode([3, 2, 9])  # "one oh seven"
    """

    blank_id = 0

    def __init__(self, tokens: Sequence[str] = DIGIT_WORDS, unit="word", lowercase=True):
        if unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        tokens = tuple(tokens)
        if not tokens:
            raise ValueError("tokens must not be empty")
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"tokens must be unique, got {tokens}")
        for token in tokens:
            if not isinstance(token, str) or not token:
                raise ValueError(f"tokens must be non-empty strings, got {token!r}")
            if unit == "word" and token.split() != [token]:
                raise ValueError(f"word tokens must not contain whitespace, got {token!r}")
            if unit == "char" and len(token) != 1:
                raise ValueError(f"char tokens must be single characters, got {token!r}")
        self.tokens = tokens
        self.unit = unit
        self.lowercase = lowercase
        self._ids = {token: i + 1 for i, token in enumerate(tokens)}

    @property
    def num_classes(self):
        """Output units a CTC model needs: the tokens plus the blank."""
        return len(self.tokens) + 1

    def __len__(self):
        return len(self.tokens)

    def tokenize(self, text):
        """Splits `text` into tokens (not checked against the vocabulary)."""
        if self.lowercase:
            text = text.lower()
        if self.unit == "word":
            return text.split()
        return list(" ".join(text.split()))

    def unknown_tokens(self, text):
        """The tokens of `text` that the vocabulary lacks, in order of appearance."""
        return list(dict.fromkeys(t for t in self.tokenize(text) if t not in self._ids))

    def encode(self, text):
        """Label ids of `text`; raises ValueError naming tokens outside the vocabulary."""
        unknown = self.unknown_tokens(text)
        if unknown:
            raise ValueError(f"transcript {text!r} has tokens outside the vocabulary: {unknown}")
        return [self._ids[t] for t in self.tokenize(text)]

    def decode(self, ids):
        """Text of label ids; blanks (0) and padding (negative ids) are skipped."""
        tokens = [self.tokens[i - 1] for i in (int(i) for i in ids) if i > 0]
        return (" " if self.unit == "word" else "").join(tokens)

    def get_config(self):
        return {"tokens": list(self.tokens), "unit": self.unit, "lowercase": self.lowercase}

    @classmethod
    def from_texts(cls, texts: Iterable[str], unit="word", lowercase=True):
        """The vocabulary of every token in `texts` (e.g. a corpus's training transcripts).

        Tokens are sorted, so the same transcripts give the same ids whatever their order.

        Example:
            Vocabulary.from_texts(["yes", "no", "go left"]).tokens
            # ('go', 'left', 'no', 'yes')
        """
        probe = cls(("x",), unit=unit, lowercase=lowercase)
        tokens = sorted({t for text in texts for t in probe.tokenize(text)})
        if not tokens:
            raise ValueError("from_texts: the transcripts hold no tokens")
        return cls(tokens, unit=unit, lowercase=lowercase)


# ---------------------------------------------------------------------------------------------
# Manifests


@dataclasses.dataclass(frozen=True)
class SpeechRecord:
    """One utterance, validated: `audio` is an absolute path to a WAV file.

    Attributes:
        audio: the WAV file (any rate, channels and sample format `tfmodels.data.wav` reads).
        text: the transcript.
        noise: the noise type of the audio ("clean" for none).
        snr_db: its SNR, if known.
        speaker, utterance: ids; `utterance` groups the noisy copies of one recording.
        num_samples: length at 16 kHz (0 when not checked).
        start, end: the segment of `audio` in seconds (None: from its start / to its end).
        mix_noise: `audio` is clean and the input pipeline mixes `noise` into it at `snr_db`
            (drawn per epoch when None) with a `noise.NoiseMixer`: a noisy copy that exists
            only in memory.
    """

    audio: str
    text: str
    noise: str = "clean"
    snr_db: float | None = None
    speaker: str | None = None
    utterance: str | None = None
    num_samples: int = 0
    start: float | None = None
    end: float | None = None
    mix_noise: bool = False


def check_wav(path, sample_rate=SAMPLE_RATE, start=None, end=None):
    """Returns the number of samples a WAV file (or segment) has at `sample_rate`, mono.

    Any rate, channel count and 8/16/24/32-bit PCM or float encoding is accepted: reading
    downmixes and resamples (`tfmodels.data.wav`). Only the header is read.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unreadable, an unsupported encoding, truncated (less data than the header
            says), empty, or a segment outside the audio; the message names the file.
    """
    return _check_audio(path, sample_rate, start, end)[0]


def _check_audio(path, sample_rate, start=None, end=None):
    """`(num_samples at sample_rate, WavInfo)` of a file or segment; errors name the file."""
    info = wav.read_info(path)
    if start is None and end is None:
        return info.num_samples(sample_rate), info
    first = 0.0 if start is None else float(start)
    last = info.duration if end is None else float(end)
    if not 0.0 <= first < last or first >= info.duration:
        raise ValueError(f"{path}: segment {first:g}-{last:g} s is outside the audio "
                         f"(0-{info.duration:.3f} s)")
    last = min(last, info.duration)
    return max(1, int(round((last - first) * sample_rate))), info


def warn_conversions(infos, sample_rate, where):
    """Warns once that the audio of `where` is converted (see `wav.conversion_summary`)."""
    summary = wav.conversion_summary(infos, sample_rate)
    if summary:
        warnings.warn(f"{where}: {summary}", stacklevel=3)
    return summary


def load_manifest(path, vocabulary=None, sample_rate=SAMPLE_RATE, check_audio=True, warn=True):
    """Reads and validates a JSONL speech manifest.

    Args:
        path: the manifest; `audio` paths in it are relative to its folder (or absolute).
        vocabulary: a `Vocabulary`; when given, every transcript must tokenize into it.
        sample_rate: the rate the audio is read at; other rates (and several channels) are
            converted when read, with one warning for the manifest.
        check_audio: open every WAV header (format, length). Turn off only for manifests
            already checked.
        warn: warn (once) when audio will be downmixed or resampled.

    Returns:
        A list of `SpeechRecord`, in manifest order.

    Raises:
        FileNotFoundError: the manifest or a WAV file it names is missing.
        ValueError: a malformed line, a transcript outside the vocabulary, or a bad WAV file;
            the message names the manifest, the line number and the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"speech manifest not found: {path}")
    root = path.parent
    records = []
    infos = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: malformed JSON ({error.msg})") from None
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(entry).__name__}")
            for key in ("audio", "text"):
                if not isinstance(entry.get(key), str):
                    raise ValueError(f"{where}: missing or non-string field {key!r}")
            noise = entry.get("noise", "clean")
            if not isinstance(noise, str) or not noise:
                raise ValueError(f"{where}: field 'noise' must be a non-empty string")
            for key in ("snr_db", "start", "end"):
                value = entry.get(key)
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, (int, float))):
                    raise ValueError(f"{where}: field {key!r} must be a number or null")
            snr, start, end = entry.get("snr_db"), entry.get("start"), entry.get("end")
            text = entry["text"]
            if not text.split():
                raise ValueError(f"{where}: empty transcript")
            if vocabulary is not None:
                unknown = vocabulary.unknown_tokens(text)
                if unknown:
                    raise ValueError(
                        f"{where} ({entry['audio']}): transcript {text!r} has tokens outside "
                        f"the vocabulary: {unknown}")
            audio = root / entry["audio"]
            num_samples = 0
            if check_audio:
                try:
                    num_samples, info = _check_audio(audio, sample_rate, start, end)
                except FileNotFoundError as error:
                    raise FileNotFoundError(f"{where}: {error}") from None
                except ValueError as error:
                    raise ValueError(f"{where}: {error}") from None
                infos.append(info)
            records.append(SpeechRecord(
                audio=str(audio.resolve()), text=text, noise=noise,
                snr_db=None if snr is None else float(snr),
                speaker=entry.get("speaker"), utterance=entry.get("utterance"),
                num_samples=num_samples, start=None if start is None else float(start),
                end=None if end is None else float(end)))
    if not records:
        raise ValueError(f"speech manifest {path} has no entries")
    if warn:
        warn_conversions(infos, sample_rate, path)
    return records


def filter_noise_types(records: Iterable[SpeechRecord], noise_types):
    """Keeps the records whose noise type is in `noise_types` (use "clean" for clean)."""
    noise_types = set(noise_types)
    return [r for r in records if r.noise in noise_types]


def select_seen_noises(records: Sequence[SpeechRecord], seen_noise_types, include_clean=True,
                       seed=0):
    """Picks a training set with `seen_noise_types`, the same size whatever their number.

    Utterances are grouped by `utterance` (records without one are their own group). Each
    group contributes its clean record (if `include_clean`) and exactly one noisy record of a
    seen type, the types assigned round-robin over a seeded shuffle of the groups. On the
    generated train split, where every utterance exists under every seen-candidate type, 1, 2
    or 4 seen types therefore all give `num_utterances` clean plus `num_utterances` noisy
    examples, the noisy ones split evenly between the seen types. Groups with no record of a
    seen type (as in Aurora-4's multi-condition set, one condition per utterance) contribute
    only their clean record, if any.

    Args:
        records: `SpeechRecord`s, e.g. from `load_manifest`.
        seen_noise_types: noise types to train on (not "clean").
        include_clean: keep the clean records.
        seed: shuffles which utterance gets which noise type.

    Returns:
        The selected records, in their original order.
    """
    seen = list(dict.fromkeys(seen_noise_types))
    if not seen:
        raise ValueError("seen_noise_types must name at least one noise type")
    if "clean" in seen:
        raise ValueError("seen_noise_types lists noise types; use include_clean for clean")
    groups = {}
    for index, record in enumerate(records):
        groups.setdefault(record.utterance or record.audio, []).append(index)
    order = np.random.default_rng(seed).permutation(len(groups))
    keep = set()
    for rank, members in zip(order, groups.values()):
        if include_clean:
            keep.update(i for i in members if records[i].noise == "clean")
        candidates = {records[i].noise: i for i in members if records[i].noise in seen}
        if not candidates:
            continue
        wanted = seen[rank % len(seen)]
        if wanted in candidates:
            keep.add(candidates[wanted])
        else:
            keep.add(sorted(candidates.values())[rank % len(candidates)])
    return [records[i] for i in sorted(keep)]


# ---------------------------------------------------------------------------------------------
# tf.data pipeline


def speech_dataset(source, vocabulary, batch_size, noise_classes=NOISE_CLASSES, shuffle=False,
                   seed=0, repeat=False, drop_remainder=False, cache=False,
                   sample_rate=SAMPLE_RATE, noise_mixer=None, vary_noise=False, augment=None):
    """A batched `tf.data.Dataset` of padded waveforms, CTC labels and noise-domain ids.

    Args:
        source: a manifest path, or a list of `SpeechRecord` (e.g. after
            `select_seen_noises`).
        vocabulary: the `Vocabulary` that encodes transcripts.
        batch_size: examples per batch.
        noise_classes: noise types in id order for `noise_id` (the adversarial domain
            classifier's targets); every record's type must be listed. Defaults to
            `NOISE_CLASSES` (clean = 0).
        shuffle: shuffle examples, with a new order every epoch. The order is a function of
            `seed` and TensorFlow's global seed (which `keras.utils.set_random_seed` sets).
        seed: shuffling seed.
        repeat: repeat forever (use with `steps_per_epoch`).
        drop_remainder: drop a last, smaller batch.
        cache: keep decoded audio in memory after the first epoch (before noise mixing).
        sample_rate: the rate audio is read at (files of other rates are resampled).
        noise_mixer: a `noise.NoiseMixer` for records with `mix_noise` (required if any).
        vary_noise: mix new noise (and SNR, when a record has none) into `mix_noise` records
            every epoch, as training wants; otherwise each record's noise is fixed by
            `noise_mixer.seed` and its position, as evaluation wants.
        augment: None, or a callable from a float32 numpy waveform to another (e.g.
            `tfmodels.data.augment.WaveformAugmenter(seed=0)`), applied to every example
            after decoding and noise mixing (and after the cache, so each epoch gets fresh
            draws). It runs in a `tf.numpy_function`, one example at a time in dataset order,
            so a seeded
            augmenter gives the same epochs for the same shuffle order; prefetching overlaps
            it with training on another core, which beats writing augmented copies to disk
            per epoch on a 2-core machine.

    Returns:
        A dataset of dicts, per batch of size `B`, padded to the longest example in it:
        `waveform` float32 `(B, T)` in [-1, 1), `waveform_length` int32 `(B,)`,
        `labels` int32 `(B, L)` padded with the blank id 0, `label_length` int32 `(B,)`,
        `noise_id` int32 `(B,)`.

    Example:
        ds = speech_dataset("data/speech/test_clean.jsonl", Vocabulary(), batch_size=16)
        batch = next(iter(ds))
        loss = keras.ops.ctc_loss(batch["labels"], logits, batch["label_length"], frames)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if augment is not None and not callable(augment):
        raise ValueError(f"augment must be None or a callable on waveforms, got {augment!r}")
    if isinstance(source, (str, os.PathLike)):
        records = load_manifest(source, vocabulary, sample_rate)
        where = str(source)
    else:
        records = list(source)
        where = "records"
        if not records:
            raise ValueError("speech_dataset got no records")
    class_ids = {name: i for i, name in enumerate(noise_classes)}
    labels = []
    noise_ids = []
    mixed = [r for r in records if r.mix_noise]
    if mixed and noise_mixer is None:
        raise ValueError(f"{where}: {len(mixed)} records ask for noise mixed in on the fly "
                         f"(e.g. {mixed[0].audio} + {mixed[0].noise!r}): pass noise_mixer")
    mix_types = sorted({r.noise for r in mixed})
    for record in records:
        if record.noise not in class_ids:
            raise ValueError(
                f"{where}: noise type {record.noise!r} of {record.audio} is not in "
                f"noise_classes {tuple(noise_classes)}")
        try:
            labels.append(vocabulary.encode(record.text))
        except ValueError as error:
            raise ValueError(f"{where} ({record.audio}): {error}") from None
        noise_ids.append(class_ids[record.noise])
    label_length = np.array([len(x) for x in labels], dtype=np.int32)
    padded = np.zeros((len(labels), int(label_length.max())), dtype=np.int32)
    for i, label in enumerate(labels):
        padded[i, : len(label)] = label

    nan = float("nan")
    dataset = tf.data.Dataset.from_tensor_slices((
        [r.audio for r in records], padded, label_length, np.array(noise_ids, np.int32),
        np.array([[nan if r.start is None else r.start, nan if r.end is None else r.end]
                  for r in records], np.float64),
        np.array([mix_types.index(r.noise) if r.mix_noise else -1 for r in records], np.int32),
        np.array([nan if r.snr_db is None else r.snr_db for r in records], np.float64),
        np.arange(len(records), dtype=np.int64)))

    def read(path, segment):
        start, end = (None if np.isnan(v) else float(v) for v in segment)
        return wav.read(path.decode(), sample_rate, start, end)

    def load(path, label, length, noise_id, segment, mix, snr, index):
        # tf.audio.decode_wav reads only 16-bit PCM at the file's own rate; wav.read
        # converts every format and rate.
        waveform = tf.numpy_function(read, [path, segment], tf.float32, stateful=False)
        waveform.set_shape([None])
        return {
            "waveform": waveform,
            "waveform_length": tf.shape(waveform, out_type=tf.int32)[0],
            "labels": label[:length],
            "label_length": length,
            "noise_id": noise_id,
        }, (mix, snr, index)

    def add_noise(waveform, mix, snr, index, draw):
        if mix < 0:
            return waveform
        key = (index, draw) if vary_noise else (index,)
        return noise_mixer(waveform, mix_types[mix], None if np.isnan(snr) else snr, key)

    def mix(example, extra, draw):
        waveform = tf.numpy_function(add_noise, [example["waveform"], *extra, draw],
                                     tf.float32, stateful=False)
        waveform.set_shape([None])
        return {**example, "waveform": waveform}

    buffer = len(records)
    if cache:
        dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if shuffle:
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    else:
        # Shuffling paths before decoding keeps the shuffle buffer small.
        if shuffle:
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if mixed:
        # One random draw per example and epoch (a function of `seed` and the global seed,
        # like the shuffle): training hears new noise every epoch.
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, draws).map(
            lambda pair, draw: mix(*pair, draw), num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True)
    else:
        dataset = dataset.map(lambda example, extra: example)
    if augment is not None:

        def apply(waveform):
            return np.asarray(augment(waveform), dtype=np.float32)

        def augment_example(example):
            waveform = tf.numpy_function(apply, [example["waveform"]], tf.float32,
                                         stateful=True)
            waveform.set_shape([None])
            return {**example, "waveform": waveform,
                    "waveform_length": tf.shape(waveform, out_type=tf.int32)[0]}

        # Sequential on purpose: a seeded augmenter draws in dataset order.
        dataset = dataset.map(augment_example)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.padded_batch(
        batch_size,
        padded_shapes={"waveform": [None], "waveform_length": [], "labels": [None],
                       "label_length": [], "noise_id": []},
        padding_values={"waveform": 0.0, "waveform_length": 0, "labels": Vocabulary.blank_id,
                        "label_length": 0, "noise_id": 0},
        drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------------------------
# Corpus generation


def digit_string(rng, min_digits=1, max_digits=7):
    """An Aurora-2 style digit string: 1-7 digit words, 0 read as "zero" or "oh" at random."""
    words = []
    for digit in rng.integers(0, 10, size=int(rng.integers(min_digits, max_digits + 1))):
        if digit == 0:
            words.append("zero" if rng.random() < 0.5 else "oh")
        else:
            words.append(DIGIT_WORDS[digit + 1])
    return " ".join(words)


def espeak_version():
    """The installed espeak-ng's version line; FileNotFoundError if it is missing."""
    if shutil.which(_ESPEAK) is None:
        raise FileNotFoundError(
            f"{_ESPEAK} not found on PATH: install the Debian package 'espeak-ng'")
    return subprocess.run([_ESPEAK, "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def available_engines():
    """The synthesizers of `ENGINES` installed on this machine, in `ENGINES` order."""
    return tuple(e for e in ENGINES if shutil.which(_ENGINE_PROGRAMS[e]) is not None
                 and (e != "festival" or engine_voices("festival")))


def engine_voices(engine):
    """The English voices of `engine` that are installed (espeak-ng: its accents).

    espeak-ng speakers are accent+variant pairs (`ACCENTS` x `VOICE_VARIANTS`); flite's are
    its built-in voices; festival's are the voice folders of the installed festvox packages.
    """
    if engine == "espeak-ng":
        return ACCENTS
    if engine == "flite":
        if shutil.which("flite") is None:
            return ()
        listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout
        return tuple(v for v in FLITE_VOICES if v in listed.split())
    if engine == "festival":
        found = {p.name for folder in _FESTIVAL_VOICE_DIRS if folder.is_dir()
                 for p in folder.iterdir() if p.is_dir()}
        return tuple(v for v in FESTIVAL_VOICES if v in found)
    raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


def engine_version(engine):
    """A version line of `engine`; FileNotFoundError naming the Debian package if missing."""
    program = _ENGINE_PROGRAMS.get(engine)
    if program is None:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if shutil.which(program) is None:
        raise FileNotFoundError(
            f"{program} not found on PATH: install the Debian package {_ENGINE_PACKAGES[engine]}")
    if engine == "espeak-ng":
        return espeak_version()
    result = subprocess.run([engine, "--version"], capture_output=True, text=True)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return next((line.strip() for line in lines if "version" in line.lower()),
                lines[0].strip() if lines else engine)


def _decode_wav_bytes(data, sample_rate, stream=False):
    if stream:
        # Streamed to stdout, espeak-ng's WAV header carries a placeholder length, so the
        # samples are taken from the data chunk to the end of the output.
        start = data.find(b"data") + 8
        with wave.open(io.BytesIO(data[:44])) as header:
            rate = header.getframerate()
        samples = np.frombuffer(data[start : start + (len(data) - start) // 2 * 2], "<i2")
    else:
        with wave.open(io.BytesIO(data)) as f:
            rate, width = f.getframerate(), f.getsampwidth()
            if width != 2 or f.getnchannels() != 1:
                raise ValueError(f"synthesizer wrote {f.getnchannels()}-channel "
                                 f"{8 * width}-bit audio; expected mono 16-bit")
            samples = np.frombuffer(f.readframes(f.getnframes()), "<i2")
    audio = samples.astype(np.float64) / 32768.0
    if rate != sample_rate:
        divisor = np.gcd(rate, sample_rate)
        audio = signal.resample_poly(audio, sample_rate // divisor, rate // divisor)
    return audio.astype(np.float32)


def _run_synthesizer(engine, voice, command, stdin=None):
    try:
        return subprocess.run(command, capture_output=True, check=True, input=stdin)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{command[0]} not found on PATH: install the Debian package "
            f"{_ENGINE_PACKAGES[engine]}") from None
    except subprocess.CalledProcessError as error:
        raise ValueError(f"{engine} failed for voice {voice!r}: "
                         f"{error.stderr.decode(errors='replace').strip()}") from None


def synthesize_speech(text, voice, speed=160, pitch=50, word_gap=0, sample_rate=SAMPLE_RATE,
                      engine="espeak-ng"):
    """Speaks `text` with a synthesizer and returns float32 samples at `sample_rate`.

    Args:
        text: what to say.
        voice: a voice of `engine`: an espeak-ng voice, optionally with a variant
            ("en-gb+f3"), a flite voice ("slt") or a festival voice ("kal_diphone").
        speed: words per minute (flite and festival: their duration stretch is
            `160 / speed`, 160 wpm being about their natural rate).
        pitch: 0-99, 50 the voice's own pitch. espeak-ng takes it as is; flite and festival
            scale the voice's mean F0 by `2 ** ((pitch - 50) / 100)` (festival's HTS voices
            keep their own F0).
        word_gap: extra pause between words, in units of 10 ms (espeak-ng only).
        sample_rate: output rate; the engines' own rates are resampled.
        engine: one of `ENGINES`.

    Returns:
        float32 array in [-1, 1], leading and trailing silence included.

    Raises:
        FileNotFoundError: the engine is not installed (the message names its package).
        ValueError: unknown engine, or the engine failed (the message names the voice).
    """
    if engine == "espeak-ng":
        command = [_ESPEAK, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)),
                   "-g", str(int(word_gap)), "--stdout", text]
        return _decode_wav_bytes(_run_synthesizer(engine, voice, command).stdout, sample_rate,
                                 stream=True)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if shutil.which(_ENGINE_PROGRAMS[engine]) is None:
        raise FileNotFoundError(f"{_ENGINE_PROGRAMS[engine]} not found on PATH: install the "
                                f"Debian package {_ENGINE_PACKAGES[engine]}")
    stretch = 160.0 / float(speed)
    f0_scale = 2.0 ** ((float(pitch) - 50.0) / 100.0)
    with tempfile.TemporaryDirectory(prefix="tfmodels-tts-") as folder:
        out = os.path.join(folder, "speech.wav")
        if engine == "flite":
            if voice not in FLITE_VOICES:
                raise ValueError(f"unknown flite voice {voice!r}; known: {tuple(FLITE_VOICES)}")
            command = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
                       "--setf", f"int_f0_target_mean={FLITE_VOICES[voice] * f0_scale:.1f}",
                       "-t", text, "-o", out]
            _run_synthesizer(engine, voice, command)
        else:
            if voice not in FESTIVAL_VOICES:
                raise ValueError(
                    f"unknown festival voice {voice!r}; known: {tuple(FESTIVAL_VOICES)}")
            f0 = FESTIVAL_VOICES[voice] * f0_scale
            command = ["text2wave", "-eval", f"(voice_{voice})",
                       "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.3f})",
                       "-eval", (f"(set! int_lr_params '((target_f0_mean {f0:.1f}) "
                                 "(target_f0_std 14) (model_f0_mean 170) (model_f0_std 34)))"),
                       "-o", out]
            _run_synthesizer(engine, voice, command, stdin=text.encode())
        with open(out, "rb") as f:
            return _decode_wav_bytes(f.read(), sample_rate)


def _trim(audio, sample_rate, threshold_db=40.0):
    """Cuts leading and trailing frames more than `threshold_db` below the loudest one."""
    frame = sample_rate // 100
    count = len(audio) // frame
    power = np.mean(audio[: count * frame].reshape(count, frame).astype(np.float64) ** 2, 1)
    active = np.flatnonzero(power >= power.max() * 10.0 ** (-threshold_db / 10.0))
    return audio[active[0] * frame : (active[-1] + 1) * frame]


def _write_wav(path, audio, sample_rate):
    pcm = np.clip(np.round(np.asarray(audio) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def _speakers(seed, test_speaker_fraction, engines=("espeak-ng",), holdout_engines=()):
    """Speakers per group: `train`, `test` (held-out voices) and `holdout` (held-out engines).

    espeak-ng: a speaker is an accent+variant pair, and test voice variants never occur in
    training. flite and festival have a handful of voices each, too few to hold some out, so
    a speaker is a voice with its own speaking rate and pitch ("flite:slt#2"), and the
    test speakers are other rate/pitch profiles of the same voices.
    """
    rng = np.random.default_rng([seed, 0])
    speakers = {"train": [], "test": [], "holdout": []}

    def profile(engine, voice, name, low=120, high=200):
        return {"engine": engine, "voice": voice, "speaker": name,
                "speed": float(rng.uniform(low, high)), "pitch": float(rng.uniform(30, 70))}

    for engine in engines:
        held = engine in holdout_engines
        if engine == "espeak-ng":
            variants = list(VOICE_VARIANTS)
            rng.shuffle(variants)
            num_test = max(1, int(round(test_speaker_fraction * len(variants))))
            split = {"test": variants[:num_test], "train": variants[num_test:]}
            for name, names in split.items():
                group = "holdout" if held else name
                speakers[group] += [
                    profile(engine, f"{accent}+{variant}", f"{accent}+{variant}", 130, 190)
                    for variant in sorted(names) for accent in ACCENTS]
            continue
        for voice in engine_voices(engine):
            count = _PROFILES_PER_VOICE
            num_test = max(1, int(round(test_speaker_fraction * count)))
            for k in range(count):
                group = "holdout" if held else ("test" if k < num_test else "train")
                speakers[group].append(profile(engine, voice, f"{engine}:{voice}#{k}"))
    return speakers


def _utterance_plan(split, count, speakers, seed, max_digits, single_digit_fraction=0.0):
    """Per-utterance text, speaker and prosody; engines take equal shares of the utterances."""
    by_engine = {}
    for speaker in speakers:
        by_engine.setdefault(speaker["engine"], []).append(speaker)
    engines = sorted(by_engine)
    plans = []
    for index in range(count):
        rng = np.random.default_rng([seed, _SPLIT_CODES[split], index])
        pool = by_engine[engines[int(rng.integers(len(engines)))]]
        speaker = pool[int(rng.integers(len(pool)))]
        # Real users often say one word: lone digits are drawn on purpose, beside the
        # 1-`max_digits` strings (where they are only 1 in `max_digits`).
        lone = rng.random() < single_digit_fraction
        plans.append({
            "utterance": f"{split}-{index:05d}",
            "text": digit_string(rng, 1, 1 if lone else max_digits),
            "engine": speaker["engine"],
            "voice": speaker["voice"],
            "speaker": speaker["speaker"],
            "speed": float(np.clip(speaker["speed"] + rng.uniform(-15, 15), 90, 260)),
            "pitch": float(np.clip(speaker["pitch"] + rng.uniform(-8, 8), 0, 99)),
            "word_gap": int(rng.integers(0, 6)),
            # Aurora normalizes speech to about -26 dBov; users' levels spread much wider.
            "level_db": -26.0 + rng.uniform(-10, 8),
            "margins": rng.uniform(0.1, 0.35, size=2),
        })
    return plans


def _festival_batch(plans, sample_rate):
    """Speaks festival `plans` in one festival process: it takes ~1 s to start per call."""
    if shutil.which("festival") is None:
        raise FileNotFoundError(
            f"festival not found on PATH: install the Debian package {_ENGINE_PACKAGES['festival']}")
    with tempfile.TemporaryDirectory(prefix="tfmodels-tts-") as folder:
        lines = []
        for k, plan in enumerate(sorted(plans, key=lambda p: p["voice"])):
            if plan["voice"] not in FESTIVAL_VOICES or not all(
                    c.isalnum() or c == " " for c in plan["text"]):
                raise ValueError(f"festival: bad voice or text in {plan['utterance']}")
            f0 = FESTIVAL_VOICES[plan["voice"]] * 2.0 ** ((plan["pitch"] - 50.0) / 100.0)
            lines += [
                f"(voice_{plan['voice']})",
                f"(Parameter.set 'Duration_Stretch {160.0 / plan['speed']:.3f})",
                f"(set! int_lr_params '((target_f0_mean {f0:.1f}) (target_f0_std 14) "
                "(model_f0_mean 170) (model_f0_std 34)))",
                f"(utt.save.wave (utt.synth (Utterance Text \"{plan['text']}\")) "
                f"\"{folder}/{plan['utterance']}.wav\" 'riff)"]
        script = os.path.join(folder, "batch.scm")
        with open(script, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        _run_synthesizer("festival", "batch", ["festival", "-b", script])
        audio = {}
        for plan in plans:
            with open(os.path.join(folder, f"{plan['utterance']}.wav"), "rb") as f:
                audio[plan["utterance"]] = _decode_wav_bytes(f.read(), sample_rate)
    return [audio[plan["utterance"]] for plan in plans]


def _speak_all(plans, sample_rate, pool, num_workers):
    """Clean, trimmed, level-set audio of every plan; festival's plans go in batches."""
    festival = [p for p in plans if p["engine"] == "festival"]
    chunks = [festival[k::num_workers] for k in range(num_workers) if festival[k::num_workers]]
    raw = {}
    for chunk, audio in zip(chunks, pool.map(lambda c: _festival_batch(c, sample_rate), chunks)):
        raw.update({p["utterance"]: a for p, a in zip(chunk, audio)})
    return list(pool.map(lambda p: _speak(p, sample_rate, raw.get(p["utterance"])), plans))


def _speak(plan, sample_rate, audio=None):
    if audio is None:
        audio = synthesize_speech(plan["text"], plan["voice"], plan["speed"], plan["pitch"],
                                  plan["word_gap"], sample_rate, engine=plan["engine"])
    audio = _trim(audio, sample_rate)
    lead, trail = (int(m * sample_rate) for m in plan["margins"])
    audio = np.concatenate([np.zeros(lead), audio, np.zeros(trail)])
    level = noise_lib.active_power(audio, sample_rate)
    return audio * np.sqrt(10.0 ** (plan["level_db"] / 10.0) / level)


def _render(task, clean, plans, split_root, seed, sample_rate):
    """Writes one WAV (clean or corrupted) and returns its manifest entry."""
    index, noise_type, snr, folder, type_code = task
    plan = plans[index]
    if noise_type == "clean":
        audio, name = clean[index], f"{plan['utterance']}_clean.wav"
    else:
        group = _SPLIT_CODES[folder.split("_")[0]]
        rng = np.random.default_rng([seed, group, index, 100 + type_code, snr % 2**16])
        # Babble from other utterances of the same split, so test babble never carries
        # training speakers.
        pool = [c for j, c in enumerate(clean) if j != index] or clean
        audio = noise_lib.corrupt(clean[index], noise_type, snr, rng, sample_rate, pool).noisy
        name = f"{plan['utterance']}_{noise_type}_{snr}dB.wav"
    peak = np.max(np.abs(audio))
    if peak > 0.99:
        # Scaling speech and noise together keeps the SNR while avoiding clipping.
        audio = audio * (0.99 / peak)
    _write_wav(split_root / folder / name, audio, sample_rate)
    return {"audio": f"{folder}/{name}", "text": plan["text"], "noise": noise_type,
            "snr_db": None if noise_type == "clean" else snr, "speaker": plan["speaker"],
            "engine": plan["engine"], "voice": plan["voice"], "utterance": plan["utterance"]}


def _check_generate_args(train_utterances, dev_utterances, test_utterances, seen, unseen, snrs,
                         test_speaker_fraction, max_digits, num_workers):
    for name, value, low in (("train_utterances", train_utterances, 1),
                             ("dev_utterances", dev_utterances, 0),
                             ("test_utterances", test_utterances, 1),
                             ("max_digits", max_digits, 1), ("num_workers", num_workers, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    for name, types in (("seen_noise_types", seen), ("unseen_noise_types", unseen)):
        if not types:
            raise ValueError(f"{name} must name at least one noise type")
        bad = [t for t in types if t not in NOISE_TYPES]
        if bad:
            raise ValueError(f"{name} has unknown noise types {bad}; known: {NOISE_TYPES}")
        if len(set(types)) != len(types):
            raise ValueError(f"{name} lists a noise type twice: {types}")
    if set(seen) & set(unseen):
        raise ValueError(
            f"seen_noise_types and unseen_noise_types overlap: {sorted(set(seen) & set(unseen))}")
    if not snrs or any(isinstance(s, bool) or not isinstance(s, int) for s in snrs):
        raise ValueError(f"snrs_db must be a non-empty list of integers, got {snrs!r}")
    if not 0.0 < test_speaker_fraction < 1.0:
        raise ValueError(
            f"test_speaker_fraction must be in (0, 1), got {test_speaker_fraction!r}")


def _resolve_engines(engines, holdout_engines):
    """Checks the engine arguments and returns `(engines, holdout)`; warns about missing ones."""
    holdout = tuple(holdout_engines or ())
    for name, names in (("engines", engines), ("holdout_engines", holdout)):
        if names is None:
            continue
        if isinstance(names, str):
            raise ValueError(f"{name} must be a list of engine names, got the string {names!r}")
        bad = [e for e in names if e not in ENGINES]
        if bad:
            raise ValueError(f"{name} has unknown engines {bad}; known: {ENGINES}")
        if len(set(names)) != len(names):
            raise ValueError(f"{name} lists an engine twice: {tuple(names)}")
    installed = available_engines()
    if engines is None:
        missing = [e for e in ENGINES if e not in installed]
        if not installed:
            raise FileNotFoundError(
                "no speech synthesizer found on PATH: install the Debian package 'espeak-ng' "
                "(and, for more voices, " + ", ".join(_ENGINE_PACKAGES[e] for e in ENGINES[1:])
                + ")")
        if missing:
            warnings.warn(
                f"speech synthesizers {missing} are not installed, the corpus will have less "
                "voice diversity; install the Debian packages "
                + ", ".join(_ENGINE_PACKAGES[e] for e in missing), stacklevel=3)
        engines = installed
    else:
        engines = tuple(engines)
        if not engines:
            raise ValueError("engines must name at least one engine")
        for engine in engines:
            if engine not in installed:
                program = _ENGINE_PROGRAMS[engine]
                what = "its voices are" if shutil.which(program) else f"{program} is"
                raise FileNotFoundError(
                    f"engine {engine!r} is not usable ({what} missing): install the Debian "
                    f"package {_ENGINE_PACKAGES[engine]}")
    for engine in holdout:
        if engine not in engines:
            raise ValueError(f"holdout_engines {list(holdout)} must be among the engines used, "
                             f"{list(engines)}")
    if not set(engines) - set(holdout):
        raise ValueError(f"holdout_engines {list(holdout)} leave no engine to train on")
    return engines, holdout


def generate(out_dir, seed=0, train_utterances=1000, dev_utterances=100, test_utterances=200,
             seen_noise_types=DEFAULT_SEEN_NOISE_TYPES, unseen_noise_types=None,
             snrs_db=SNRS_DB, test_speaker_fraction=0.25, max_digits=7, num_workers=2,
             sample_rate=SAMPLE_RATE, overwrite=False, engines=None, holdout_engines=(),
             single_digit_fraction=0.25):
    """Generates the noisy connected-digit corpus described in the module docstring.

    Training and dev utterances exist clean and once under every seen-candidate noise type
    (each at an SNR drawn from `snrs_db`), so `select_seen_noises` can build 1-, 2- or
    4-seen-type training sets of equal size. The test utterances (held-out voices) exist
    clean and, in `test_seen` and `test_unseen`, once per SNR, the noise types assigned
    round-robin so each (type, SNR) cell holds about `test_utterances / num_types`
    utterances. With `holdout_engines`, `test_holdout_engine.jsonl` holds `test_utterances`
    clean utterances spoken only by those engines, which nothing else in the corpus uses.

    Every utterance is spoken by one of `engines` (equal shares), in one of its voices with a
    per-speaker and per-utterance speaking rate and pitch, at a level spread over 18 dB; the
    manifests record `engine`, `voice` and `speaker`. Everything is a function of `seed` (and
    the engines' versions, recorded in corpus.json). The corpus is built in a temporary
    folder beside `out_dir` and renamed into place when complete.

    Args:
        out_dir: corpus folder to create.
        seed: generation seed.
        train_utterances: distinct training utterances (each written 1 + len(seen) times).
        dev_utterances: distinct dev utterances, from the training speakers.
        test_utterances: distinct test utterances (each written 1 + 2 * len(snrs_db) times).
        seen_noise_types: noise types in train, dev and test_seen.
        unseen_noise_types: held-out types for test_unseen; defaults to all the others.
        snrs_db: SNRs in dB.
        test_speaker_fraction: fraction of voices (espeak-ng variants; flite/festival
            rate/pitch profiles) held out for test.
        max_digits: longest digit string.
        num_workers: threads for synthesis and mixing.
        sample_rate: output sample rate.
        overwrite: replace an existing `out_dir`.
        engines: synthesizers to use, from `ENGINES`; None uses every installed one and warns
            about the missing ones. A listed engine that is not installed is an error.
        holdout_engines: engines kept out of train/dev/test_* and spoken only in the
            `test_holdout_engine` split, to measure WER on an unseen synthesizer.
        single_digit_fraction: share of utterances that are one lone digit word.

    Returns:
        `Path(out_dir)`.

    Example:
        root = generate("/tmp/speech", train_utterances=4, dev_utterances=0,
                        test_utterances=2, holdout_engines=("festival",))
    """
    out_dir = Path(out_dir)
    seen = tuple(seen_noise_types)
    unseen = tuple(t for t in NOISE_TYPES if t not in seen) if unseen_noise_types is None \
        else tuple(unseen_noise_types)
    snrs = tuple(snrs_db)
    _check_generate_args(train_utterances, dev_utterances, test_utterances, seen, unseen, snrs,
                         test_speaker_fraction, max_digits, num_workers)
    if isinstance(single_digit_fraction, bool) or not 0.0 <= single_digit_fraction <= 1.0:
        raise ValueError(
            f"single_digit_fraction must be in [0, 1], got {single_digit_fraction!r}")
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; pass overwrite=True to replace it")
    engines, holdout = _resolve_engines(engines, holdout_engines)
    versions = {engine: engine_version(engine) for engine in engines}
    speakers = _speakers(seed, test_speaker_fraction, engines, holdout)
    type_codes = {t: i for i, t in enumerate(NOISE_TYPES)}
    groups = [("train", train_utterances, "train"), ("dev", dev_utterances, "train"),
              ("test", test_utterances, "test")]
    if holdout:
        groups.append(("holdout", test_utterances, "holdout"))

    with atomic.atomic_directory(out_dir, overwrite=overwrite) as temp:
        temp = Path(temp)
        manifests = {}
        with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
            for group, count, speaker_set in groups:
                if count == 0:
                    if group == "dev":
                        manifests["dev"] = []
                    continue
                plans = _utterance_plan(group, count, speakers[speaker_set], seed, max_digits,
                                        single_digit_fraction)
                clean = _speak_all(plans, sample_rate, pool, num_workers)
                jobs = {}
                if group in ("train", "dev"):
                    jobs[group] = [(i, "clean", None, group, 0) for i in range(count)]
                    for i in range(count):
                        rng = np.random.default_rng([seed, _SPLIT_CODES[group], i, 1])
                        for t in seen:
                            jobs[group].append(
                                (i, t, int(snrs[rng.integers(len(snrs))]), group, type_codes[t]))
                elif group == "holdout":
                    jobs[HOLDOUT_SPLIT] = [(i, "clean", None, HOLDOUT_SPLIT, 0)
                                           for i in range(count)]
                else:
                    jobs["test_clean"] = [(i, "clean", None, "test_clean", 0)
                                          for i in range(count)]
                    for split, types in (("test_seen", seen), ("test_unseen", unseen)):
                        jobs[split] = [
                            (i, types[(i + k) % len(types)], snr, split,
                             type_codes[types[(i + k) % len(types)]])
                            for k, snr in enumerate(snrs) for i in range(count)]
                for split, tasks in jobs.items():
                    (temp / split).mkdir()
                    manifests[split] = list(pool.map(
                        lambda task: _render(task, clean, plans, temp, seed, sample_rate),
                        tasks))
        for split in SPLITS + ((HOLDOUT_SPLIT,) if holdout else ()):
            with open(temp / f"{split}.jsonl", "w", encoding="utf-8") as f:
                for entry in manifests[split]:
                    f.write(json.dumps(entry) + "\n")
        metadata = {
            "seed": seed, "sample_rate": sample_rate, "espeak_ng": versions.get("espeak-ng"),
            "engines": list(engines), "engine_versions": versions,
            "holdout_engines": list(holdout),
            "utterances": {"train": train_utterances, "dev": dev_utterances,
                           "test": test_utterances},
            "seen_noise_types": list(seen), "unseen_noise_types": list(unseen),
            "snrs_db": list(snrs), "max_digits": max_digits,
            "single_digit_fraction": single_digit_fraction,
            "speakers": {k: [s["speaker"] for s in v] for k, v in speakers.items() if v},
            "snr_definition": (
                "10 log10(P_speech / P_noise): P_speech is the mean power over the speech's "
                "20 ms frames within 30 dB of its loudest frame, P_noise the mean noise power "
                "over the whole utterance; telephone speech is band-limited before measuring"),
        }
        with open(temp / "corpus.json", "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2)
    return out_dir
