"""Speech corpora in the layouts ASR users keep them in, read into `SpeechRecord`s per split.

Three layouts are recognized by `load_corpus`:

Kaldi data directory (one folder, or one per split: `train/`, `dev/`, `test/`)::

    wav.scp    <utterance-or-recording-id> <path to a WAV file>   (no command pipes `... |`)
    text       <utterance-id> <transcript words ...>
    utt2spk    <utterance-id> <speaker-id>                         (optional)
    segments   <utterance-id> <recording-id> <start s> <end s>     (optional)

Speech Commands (Warden, arXiv:1804.03209)::

    yes/0a7c2a8d_nohash_0.wav  no/...  one folder of WAVs per word (the transcript)
    validation_list.txt, testing_list.txt   relative paths of the dev and test files
    _background_noise_/*.wav                noise recordings, usable as noise types

JSONL manifests (this project's own layout, `tfmodels.data.speech`)::

    train.jsonl, dev.jsonl (optional), test.jsonl or test_clean.jsonl,
    test_seen.jsonl / test_unseen.jsonl (optional noisy copies)

Every split comes back as a list of `SpeechRecord` under the names `train`, `dev` and `test`
(plus `test_seen`, `test_unseen` for a manifest corpus that has them). A missing dev split is
carved from the training speakers' utterances (10%, seeded); a lone Kaldi directory, or a word
folder tree without lists, is split by speaker. Everything is validated before a split is
returned: each error is one `ValueError`/`FileNotFoundError` naming the file (and line).
Audio of another rate, channel count or sample format is accepted and converted when read,
with one warning per corpus.

Example:
    corpus = load_corpus("data/my_commands")
    print(corpus.describe())      # layout, splits, speakers, words, audio conversions
    train = corpus.splits["train"]
"""

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from tfmodels.data import noise as noise_lib
from tfmodels.data import speech, wav
from tfmodels.data.speech import SAMPLE_RATE, SpeechRecord, Vocabulary

LAYOUTS = ("kaldi", "speech_commands", "manifest")
BACKGROUND_NOISE_DIR = "_background_noise_"
_SPLIT_NAMES = {"train": ("train",), "dev": ("dev", "valid", "validation", "val"),
                "test": ("test", "eval", "test_clean")}
_DEV_FRACTION = 0.1
_TEST_FRACTION = 0.1


@dataclasses.dataclass
class Corpus:
    """A speech corpus read from disk.

    Attributes:
        layout: one of `LAYOUTS`.
        root: the folder it was read from.
        splits: `{"train": [...], "dev": [...], "test": [...]}` of `SpeechRecord`, and
            `test_seen` / `test_unseen` for manifest corpora that have noisy test copies.
        noise_recordings: `{name: WAV path}` of recorded noises (Speech Commands'
            `_background_noise_`), usable as noise types.
        conversions: what reading the audio converts (rate, channels), or None.
        notes: how splits were formed where the layout did not say.
    """

    layout: str
    root: str
    splits: dict
    noise_recordings: dict = dataclasses.field(default_factory=dict)
    conversions: str | None = None
    notes: list = dataclasses.field(default_factory=list)

    @property
    def has_noisy_copies(self):
        """Whether the training split holds noisy recordings (else noise is mixed on the fly)."""
        return any(r.noise != "clean" for r in self.splits["train"])

    def transcripts(self, split="train"):
        return [r.text for r in self.splits[split]]

    def describe(self):
        """A few lines on what was found: layout, split sizes, speakers, words, conversions."""
        lines = [f"{self.root}: {self.layout.replace('_', ' ')} corpus"]
        for name, records in self.splits.items():
            speakers = {r.speaker for r in records if r.speaker}
            hours = sum(r.num_samples for r in records) / SAMPLE_RATE / 3600
            noises = sorted({r.noise for r in records})
            lines.append(f"  {name}: {len(records)} utterances, {len(speakers)} speakers, "
                         f"{hours:.2f} h, noise: {','.join(noises)}")
        words = sorted({w for r in self.splits["train"] for w in r.text.lower().split()})
        shown = " ".join(words[:20]) + (f" ... ({len(words)} words)" if len(words) > 20 else "")
        lines.append(f"  training words: {shown}")
        if self.noise_recordings:
            lines.append(f"  noise recordings: {','.join(sorted(self.noise_recordings))}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.conversions:
            lines.append(f"  audio: {self.conversions}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Detection


def detect_layout(path):
    """The layout of the corpus at `path` (one of `LAYOUTS`).

    Raises:
        FileNotFoundError: no such folder, or no layout's files in it (the message lists what
            each layout needs).
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"speech corpus folder not found: {root}")
    if (root / "train.jsonl").is_file():
        return "manifest"
    if (root / "wav.scp").is_file() or any((d / "wav.scp").is_file() for d in _subdirs(root)):
        return "kaldi"
    if ((root / "testing_list.txt").is_file() or (root / "validation_list.txt").is_file()
            or any(any(d.glob("*.wav")) for d in _subdirs(root)
                   if d.name != BACKGROUND_NOISE_DIR)):
        return "speech_commands"
    raise FileNotFoundError(
        f"{root}: no speech corpus found. Expected one of: train.jsonl (+ dev.jsonl, "
        "test.jsonl) JSONL manifests; a Kaldi data directory (wav.scp + text), or train/ and "
        "test/ folders holding one each; the Speech Commands layout (one folder of WAV files "
        "per word, validation_list.txt, testing_list.txt)")


def load_corpus(path, sample_rate=SAMPLE_RATE, seed=0):
    """Reads a corpus in any of `LAYOUTS`, found by `detect_layout`.

    Args:
        path: the corpus folder.
        sample_rate: the rate audio is read at (others are resampled, with one warning).
        seed: splits that the layout does not fix (dev carved from train, speaker splits).

    Returns:
        A `Corpus`.
    """
    layout = detect_layout(path)
    loader = {"kaldi": load_kaldi, "speech_commands": load_speech_commands,
              "manifest": load_manifests}[layout]
    return loader(path, sample_rate=sample_rate, seed=seed)


def _subdirs(root):
    return sorted(d for d in Path(root).iterdir() if d.is_dir() and not d.name.startswith("."))


def _finish(layout, root, splits, sample_rate, seed, infos, notes, noise_recordings=None):
    """Carves a missing dev split, checks none is empty, warns once about conversions."""
    if not splits.get("dev"):
        splits["train"], splits["dev"] = split_by_speaker(splits["train"], _DEV_FRACTION, seed)
        notes.append(f"no dev split: {len(splits['dev'])} utterances of the training data "
                     f"({_DEV_FRACTION:.0%} of its speakers, or of its utterances when it has "
                     "fewer than 3 speakers) held out as dev")
    for name in ("train", "dev", "test"):
        if not splits.get(name):
            raise ValueError(f"{root}: the {name} split is empty")
    order = ["train", "dev", "test", "test_seen", "test_unseen"]
    splits = {k: splits[k] for k in order if k in splits}
    conversions = speech.warn_conversions(infos, sample_rate, root)
    return Corpus(layout, str(root), splits, dict(noise_recordings or {}), conversions, notes)


def split_by_speaker(records, fraction, seed=0):
    """Splits `records` into `(rest, held_out)`, holding out about `fraction` of the speakers.

    With fewer than 3 speakers (or none known), utterances are held out instead. All records
    of one utterance id (its noisy copies) stay on one side. Seeded and order-independent.
    """
    records = list(records)
    speakers = sorted({r.speaker for r in records if r.speaker})
    rng = np.random.default_rng(seed)
    if len(speakers) >= 3 and all(r.speaker for r in records):
        count = max(1, int(round(fraction * len(speakers))))
        held = set(rng.permutation(speakers)[:count].tolist())
        key = lambda r: r.speaker  # noqa: E731
    else:
        groups = sorted({r.utterance or r.audio for r in records})
        if len(groups) < 2:
            raise ValueError(f"cannot hold out part of {len(groups)} utterance(s): a corpus "
                             "needs at least two training utterances")
        count = max(1, int(round(fraction * len(groups))))
        held = set(rng.permutation(groups)[:count].tolist())
        key = lambda r: r.utterance or r.audio  # noqa: E731
    return [r for r in records if key(r) not in held], [r for r in records if key(r) in held]


def _checked(audio, where, sample_rate, infos, start=None, end=None):
    """Samples at `sample_rate` of a file or segment; errors name `where` and the file."""
    try:
        num_samples, info = speech._check_audio(audio, sample_rate, start, end)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{where}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    infos.append(info)
    return num_samples


# ---------------------------------------------------------------------------------------------
# Kaldi


def _read_table(path, min_fields, what):
    """`[(line_number, key, rest)]` of a Kaldi table file; errors name the file and line."""
    rows, seen = [], {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.split(maxsplit=1)
            rest = fields[1].strip() if len(fields) > 1 else ""
            if len(fields) < 2 or len(rest.split()) < min_fields - 1:
                raise ValueError(f"{path}, line {number}: expected '<id> {what}', got "
                                 f"{line.strip()!r}")
            key = fields[0]
            if key in seen:
                raise ValueError(f"{path}, line {number}: id {key!r} repeats line {seen[key]}")
            seen[key] = number
            rows.append((number, key, rest))
    if not rows:
        raise ValueError(f"{path} has no entries")
    return rows


def _resolve(audio, bases):
    audio = Path(audio)
    if audio.is_absolute():
        return audio
    for base in bases:
        if (base / audio).exists():
            return base / audio
    return bases[0] / audio


def read_kaldi_dir(path, sample_rate=SAMPLE_RATE, infos=None, bases=()):
    """The utterances of one Kaldi data directory, validated.

    Relative paths in `wav.scp` are looked up against the data directory, then `bases` (a
    Kaldi recipe's paths are relative to the recipe folder, usually the data dir's
    grandparent), then the current folder.

    Raises:
        FileNotFoundError: `wav.scp`/`text`, or a WAV file they name, is missing.
        ValueError: a malformed or duplicated line, a command pipe in `wav.scp`, an utterance
            without transcript or audio, a bad segment or WAV file; the message names the file
            and line.
    """
    path = Path(path)
    infos = [] if infos is None else infos
    for name in ("wav.scp", "text"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"Kaldi data directory {path} has no {name}")
    bases = [path, *[Path(b) for b in bases], Path.cwd()]
    scp = path / "wav.scp"
    audio = {}
    for number, key, rest in _read_table(scp, 2, "<path to a WAV file>"):
        if rest.endswith("|"):
            raise ValueError(
                f"{scp}, line {number}: {key!r} is a command pipe ({rest!r}); tfmodels does not "
                "run commands from wav.scp: write the audio to WAV files (e.g. with "
                "`wav-copy scp:wav.scp ark,scp:out.ark,out.scp` or the command itself) and "
                "list their paths")
        if len(rest.split()) != 1 and not (Path(rest).exists() or (path / rest).exists()):
            raise ValueError(f"{scp}, line {number}: expected '<id> <path>', got "
                             f"{key} {rest!r} (extended filenames and ark offsets are not "
                             "supported)")
        audio[key] = (number, _resolve(rest, bases))
    texts = {key: (number, rest) for number, key, rest in _read_table(path / "text", 1, "<words>")}
    speakers = {}
    if (path / "utt2spk").is_file():
        speakers = {k: r.split()[0] for _, k, r in _read_table(path / "utt2spk", 2, "<speaker>")}

    segments = {}
    if (path / "segments").is_file():
        seg_file = path / "segments"
        for number, key, rest in _read_table(seg_file, 4, "<recording-id> <start> <end>"):
            fields = rest.split()
            where = f"{seg_file}, line {number}"
            if len(fields) != 3:
                raise ValueError(f"{where}: expected '<id> <recording-id> <start> <end>'")
            if fields[0] not in audio:
                raise ValueError(f"{where}: recording {fields[0]!r} is not in {scp}")
            try:
                start, end = float(fields[1]), float(fields[2])
            except ValueError:
                raise ValueError(f"{where}: start and end must be seconds, got "
                                 f"{fields[1]!r} {fields[2]!r}") from None
            # Kaldi writes end = -1 for "to the end of the recording".
            segments[key] = (fields[0], start, None if end < 0 else end)
    utterances = segments if segments else audio
    missing_text = [k for k in utterances if k not in texts]
    missing_audio = [k for k in texts if k not in utterances]
    source = f"{path / 'segments'}" if segments else str(scp)
    if missing_text:
        raise ValueError(f"{path / 'text'}: no transcript for {len(missing_text)} utterances "
                         f"of {source}: {missing_text[:5]}")
    if missing_audio:
        raise ValueError(f"{path / 'text'}: {len(missing_audio)} utterances have no audio in "
                         f"{source}: {missing_audio[:5]}")
    if speakers:
        unassigned = [k for k in texts if k not in speakers]
        if unassigned:
            raise ValueError(f"{path / 'utt2spk'}: no speaker for {len(unassigned)} utterances: "
                             f"{unassigned[:5]}")
    records = []
    for key, (number, text) in texts.items():
        if not text.split():
            raise ValueError(f"{path / 'text'}, line {number}: empty transcript for {key!r}")
        if segments:
            recording, start, end = segments[key]
            scp_line, file = audio[recording]
        else:
            (scp_line, file), start, end = audio[key], None, None
        num_samples = _checked(file, f"{scp}, line {scp_line}", sample_rate, infos, start, end)
        records.append(SpeechRecord(
            audio=str(Path(file).resolve()), text=text, speaker=speakers.get(key),
            utterance=key, num_samples=num_samples, start=start, end=end))
    return records


def _split_name(name):
    lower = name.lower()
    for split, names in _SPLIT_NAMES.items():
        if lower in names or any(lower.startswith(n + "_") or lower.startswith(n + "-")
                                 for n in names):
            return split
    return None


def load_kaldi(path, sample_rate=SAMPLE_RATE, seed=0):
    """A Kaldi corpus: one data directory, or a folder of them named train/dev/test.

    Sub-folders are assigned by name: `train*`; `dev*`, `valid*`, `val*`; `test*`, `eval*`.
    One lone data directory is split by speaker (10% test, 10% dev). See `read_kaldi_dir`.
    """
    root = Path(path)
    infos, notes = [], []
    bases = [root, root.parent, root.parent.parent]
    if (root / "wav.scp").is_file():
        records = read_kaldi_dir(root, sample_rate, infos, bases)
        rest, test = split_by_speaker(records, _TEST_FRACTION, seed)
        notes.append(f"one data directory: {len(test)} utterances ({_TEST_FRACTION:.0%} of "
                     "its speakers, or utterances) held out as test")
        splits = {"train": rest, "test": test}
    else:
        splits = {}
        folders = [d for d in _subdirs(root) if (d / "wav.scp").is_file()]
        for folder in folders:
            name = _split_name(folder.name)
            if name is None:
                notes.append(f"ignored data directory {folder.name}/ (not train/dev/test)")
                continue
            if name in splits:
                raise ValueError(f"{root}: two data directories for the {name} split: "
                                 f"{splits[name][0]} and {folder.name}/")
            splits[name] = (folder.name, read_kaldi_dir(folder, sample_rate, infos, bases))
        for name in ("train", "test"):
            if name not in splits:
                found = ", ".join(d.name + "/" for d in folders)
                raise ValueError(f"{root}: no {name} data directory among the Kaldi data "
                                 f"directories {found} (name one {name}/ or {name}_*)")
        splits = {k: v[1] for k, v in splits.items()}
    return _finish("kaldi", root, splits, sample_rate, seed, infos, notes)


# ---------------------------------------------------------------------------------------------
# Speech Commands


def _read_list(path, root):
    entries = set()
    if not path.is_file():
        return entries
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            name = line.strip()
            if not name:
                continue
            if not (root / name).is_file():
                raise FileNotFoundError(f"{path}, line {number}: audio file not found: "
                                        f"{root / name}")
            entries.add(Path(name).as_posix())
    return entries


def load_speech_commands(path, sample_rate=SAMPLE_RATE, seed=0):
    """The Speech Commands layout: one folder of WAVs per word, dev/test lists, noise folder.

    The transcript of a file is its folder's name (`_` and `-` read as spaces, so a folder
    `turn_left` says "turn left"). The speaker is the file name's part before `_nohash_`
    (Speech Commands' own convention), or before the first `_`. Files named in
    `validation_list.txt` / `testing_list.txt` form dev and test, the rest train; without
    lists, test (and dev) are held out by speaker. WAVs in `_background_noise_/` become noise
    recordings named after their files (`running_tap`, `white_noise`, ...).
    """
    root = Path(path)
    infos, notes = [], []
    dev_list = _read_list(root / "validation_list.txt", root)
    test_list = _read_list(root / "testing_list.txt", root)
    splits = {"train": [], "dev": [], "test": []}
    folders = [d for d in _subdirs(root) if d.name != BACKGROUND_NOISE_DIR]
    for folder in folders:
        text = " ".join(folder.name.replace("-", " ").replace("_", " ").split())
        files = sorted(folder.glob("*.wav")) + sorted(folder.glob("*.WAV"))
        if not text:
            continue
        for file in files:
            relative = f"{folder.name}/{file.name}"
            stem = file.stem
            speaker = stem.split("_nohash_")[0] if "_nohash_" in stem else stem.split("_")[0]
            record = SpeechRecord(
                audio=str(file.resolve()), text=text, speaker=speaker,
                utterance=relative,
                num_samples=_checked(file, f"{root} ({relative})", sample_rate, infos))
            split = "test" if relative in test_list else "dev" if relative in dev_list else "train"
            splits[split].append(record)
    if not any(splits.values()):
        raise ValueError(f"{root}: no WAV files in its word folders")
    if not test_list:
        splits["train"], splits["test"] = split_by_speaker(splits["train"], _TEST_FRACTION, seed)
        notes.append(f"no testing_list.txt: {len(splits['test'])} utterances "
                     f"({_TEST_FRACTION:.0%} of the speakers) held out as test")
    recordings = {}
    noise_dir = root / BACKGROUND_NOISE_DIR
    if noise_dir.is_dir():
        for file in sorted(noise_dir.glob("*.wav")):
            _checked(file, f"{noise_dir}", sample_rate, [])
            recordings[file.stem] = str(file.resolve())
    return _finish("speech_commands", root, splits, sample_rate, seed, infos, notes, recordings)


# ---------------------------------------------------------------------------------------------
# JSONL manifests


def load_manifests(path, sample_rate=SAMPLE_RATE, seed=0):
    """This project's JSONL layout (see `tfmodels.data.speech`): train.jsonl, dev.jsonl
    (optional), test.jsonl or test_clean.jsonl, and optional test_seen/test_unseen.jsonl."""
    root = Path(path)
    notes = []
    test_names = [n for n in ("test_clean", "test") if (root / f"{n}.jsonl").is_file()]
    if not test_names:
        raise FileNotFoundError(f"{root}: has train.jsonl but no test.jsonl or test_clean.jsonl")
    names = {"train": "train", "dev": "dev", "test": test_names[0],
             "test_seen": "test_seen", "test_unseen": "test_unseen"}
    splits, infos = {}, []
    for split, name in names.items():
        if (root / f"{name}.jsonl").is_file():
            # One warning for the corpus, not one per manifest.
            splits[split] = speech.load_manifest(root / f"{name}.jsonl",
                                                 sample_rate=sample_rate, warn=False)
            infos += [wav.read_info(r.audio) for r in splits[split]]
    return _finish("manifest", root, splits, sample_rate, seed, infos, notes)


# ---------------------------------------------------------------------------------------------
# Vocabulary


def make_vocabulary(spec, corpus):
    """The vocabulary a run asks for.

    Args:
        spec: "digits" (the eleven digit words, the default); "corpus" (every word of the
            training transcripts); a path to a file of tokens, one per line; or a
            comma-separated list of words.
        corpus: the `Corpus` (or a list of transcripts) the vocabulary must cover.

    Returns:
        A `speech.Vocabulary`.

    Raises:
        ValueError: transcripts hold words outside the vocabulary; the message lists them
            (with counts and a file each) and names `--vocabulary=corpus`.
    """
    texts_by_split = (corpus.splits if isinstance(corpus, Corpus)
                      else {"train": [SpeechRecord("", t) for t in corpus]})
    if spec in (None, "", "digits"):
        vocabulary = Vocabulary()
    elif spec == "corpus":
        vocabulary = Vocabulary.from_texts(r.text for r in texts_by_split["train"])
    elif os.path.isfile(spec):
        with open(spec, encoding="utf-8") as f:
            tokens = [line.strip() for line in f if line.strip()]
        try:
            vocabulary = Vocabulary(tokens)
        except ValueError as error:
            raise ValueError(f"vocabulary file {spec}: {error}") from None
    else:
        tokens = [t.strip() for t in spec.split(",") if t.strip()]
        if len(tokens) < 2 and os.sep in spec:
            raise FileNotFoundError(f"vocabulary file not found: {spec}")
        vocabulary = Vocabulary(tokens)
    unknown = {}
    for split, records in texts_by_split.items():
        for record in records:
            for token in vocabulary.unknown_tokens(record.text):
                count, example = unknown.get(token, (0, record.audio))
                unknown[token] = (count + 1, example)
    if unknown:
        listed = "; ".join(f"{t!r} ({n} utterances, e.g. {e})" for t, (n, e) in sorted(
            unknown.items(), key=lambda kv: -kv[1][0])[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        if spec == "corpus":
            raise ValueError(
                f"{len(unknown)} words of the dev/test transcripts never occur in the training "
                f"transcripts, so a vocabulary built from them cannot spell them: {listed}"
                f"{more}. Give the vocabulary as a file or comma list of words, or move "
                "utterances with these words into training")
        raise ValueError(
            f"{len(unknown)} words of the transcripts are outside the vocabulary "
            f"({spec or 'digits'}: {' '.join(vocabulary.tokens[:12])}"
            f"{' ...' if len(vocabulary) > 12 else ''}): {listed}{more}. Pass "
            "--vocabulary=corpus (vocabulary='corpus') to build the vocabulary from the "
            "training transcripts, or a file or comma list of words")
    return vocabulary


# ---------------------------------------------------------------------------------------------
# Noise for clean corpora


def noise_mixer(corpus, snrs_db=speech.SNRS_DB, seed=0, sample_rate=SAMPLE_RATE,
                babble_utterances=32):
    """A `noise.NoiseMixer` for `corpus`: its noise recordings, babble from its training
    speech (`babble_pool(split)` gives other pools)."""
    recordings = {name: wav.read(path, sample_rate)
                  for name, path in corpus.noise_recordings.items()}
    return noise_lib.NoiseMixer(
        snrs_db, seed, sample_rate,
        babble_pool(corpus.splits["train"], babble_utterances, seed, sample_rate), recordings)


def babble_pool(records, count=32, seed=0, sample_rate=SAMPLE_RATE):
    """Up to `count` clean utterances of `records`, read at `sample_rate` (seeded choice)."""
    clean = [r for r in records if r.noise == "clean" and not r.mix_noise]
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(clean))[:count]
    return [wav.read(clean[i].audio, sample_rate, clean[i].start, clean[i].end) for i in chosen]


def with_noise(records, noise_types, seed=0, snrs_db=None, include_clean=True):
    """Clean `records` plus one on-the-fly noisy copy each (`mix_noise=True` records).

    Noise types are assigned round-robin over a seeded shuffle (as `select_seen_noises`
    assigns the generated corpus's copies); with `snrs_db`, SNRs too (cycled per type
    round), otherwise the SNR is drawn by the mixer (per epoch for training data).

    Returns:
        The records: each clean record (if `include_clean`) followed by its noisy copy.
    """
    noise_types = list(noise_types)
    if not noise_types:
        raise ValueError("noise_types must name at least one noise type")
    order = np.random.default_rng(seed).permutation(len(records))
    rank = np.empty(len(records), int)
    rank[order] = np.arange(len(records))
    out = []
    for i, record in enumerate(records):
        r = int(rank[i])
        snr = None if snrs_db is None else float(
            snrs_db[(r // len(noise_types)) % len(snrs_db)])
        if include_clean:
            out.append(record)
        out.append(dataclasses.replace(
            record, noise=noise_types[r % len(noise_types)], snr_db=snr, mix_noise=True,
            utterance=record.utterance or record.audio))
    return out


def write_noisy_corpus(source, out_dir, seen_noise_types=speech.DEFAULT_SEEN_NOISE_TYPES,
                       unseen_noise_types=None, snrs_db=speech.SNRS_DB, seed=0,
                       sample_rate=SAMPLE_RATE, overwrite=False):
    """Writes a noisy copy of a corpus in this project's JSONL layout (16 kHz 16-bit mono).

    The same corruption the ASR task mixes on the fly, on disk: train and dev hold each
    utterance clean and once under every seen type (each at an SNR drawn from `snrs_db`), so
    `speech.select_seen_noises` picks 1-, 2- or 4-type training sets from it; test_clean,
    test_seen and test_unseen hold each test utterance clean, under a seen type and under an
    unseen type (types and SNRs round-robin). Babble is made of the same split's speech.

    Args:
        source: a corpus folder (any of `LAYOUTS`) or a `Corpus`.
        out_dir: the folder to create (atomically).
        seen_noise_types: training noise types: synthesized (`noise.NOISE_TYPES`) or names of
            the corpus's noise recordings.
        unseen_noise_types: held-out types; default: every other available type.
        snrs_db: SNRs in dB.
        seed: the noise's seed.
        sample_rate: output rate.
        overwrite: replace an existing `out_dir`.

    Returns:
        `Path(out_dir)`.
    """
    from tfmodels.utils import atomic

    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; pass overwrite=True to replace it")
    corpus = source if isinstance(source, Corpus) else load_corpus(source, sample_rate, seed)
    available = noise_lib.NOISE_TYPES + tuple(corpus.noise_recordings)
    seen = tuple(seen_noise_types)
    unseen = (tuple(t for t in available if t not in seen) if unseen_noise_types is None
              else tuple(unseen_noise_types))
    check_noise_types(seen, unseen, available)
    if corpus.has_noisy_copies:
        raise ValueError(f"{corpus.root}: the corpus already holds noisy recordings; "
                         "write noisy copies of a clean corpus")
    mixer = noise_mixer(corpus, snrs_db, seed, sample_rate)
    plans = {
        "train": [r for t in seen for r in with_noise(corpus.splits["train"], [t], seed, snrs_db,
                                                      include_clean=False)],
        "dev": [r for t in seen for r in with_noise(corpus.splits["dev"], [t], seed + 1, snrs_db,
                                                    include_clean=False)],
        "test_seen": with_noise(corpus.splits["test"], seen, seed + 2, snrs_db, False),
        "test_unseen": with_noise(corpus.splits["test"], unseen, seed + 3, snrs_db, False),
    }
    # SNR per training copy drawn per utterance, like speech.generate.
    for split in ("train", "dev"):
        rng = np.random.default_rng([seed, len(split)])
        plans[split] = [dataclasses.replace(r, snr_db=float(rng.choice(snrs_db)))
                        for r in plans[split]]
    clean = {"train": corpus.splits["train"], "dev": corpus.splits["dev"],
             "test_clean": corpus.splits["test"]}
    with atomic.atomic_directory(out_dir, overwrite=overwrite) as temp:
        temp = Path(temp)
        manifests = {}
        index = {}
        for split, records in clean.items():
            folder = "test" if split.startswith("test") else split
            (temp / folder).mkdir(exist_ok=True)
            entries = []
            for i, record in enumerate(records):
                name = f"{folder}/{i:06d}_clean.wav"
                audio = wav.read(record.audio, sample_rate, record.start, record.end)
                index[(split.split("_")[0], record.utterance or record.audio)] = (i, audio)
                wav.write(temp / name, audio, sample_rate)
                entries.append(_entry(name, record, "clean", None))
            manifests[split] = entries
        for split, records in plans.items():
            group = split.split("_")[0]
            pool = babble_pool(clean["test_clean" if group == "test" else group], 32, seed,
                               sample_rate)
            local = noise_lib.NoiseMixer(snrs_db, seed, sample_rate, pool, mixer.recordings)
            entries = []
            for k, record in enumerate(records):
                i, audio = index[(group, record.utterance)]
                noisy = local(audio, record.noise, record.snr_db,
                              key=(len(split), k))
                name = f"{'test' if group == 'test' else split}/{i:06d}_{record.noise}_" \
                       f"{record.snr_db:g}dB.wav"
                wav.write(temp / name, noisy, sample_rate)
                entries.append(_entry(name, record, record.noise, record.snr_db))
            manifests[split] = manifests.get(split, []) + entries
        for split, entries in manifests.items():
            with open(temp / f"{split}.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(e) + "\n" for e in entries)
        with open(temp / "corpus.json", "w", encoding="utf-8") as f:
            json.dump({"source": corpus.root, "layout": corpus.layout, "seed": seed,
                       "sample_rate": sample_rate, "seen_noise_types": list(seen),
                       "unseen_noise_types": list(unseen), "snrs_db": list(snrs_db),
                       "noise_recordings": sorted(corpus.noise_recordings)}, f, indent=2)
    return out_dir


def _entry(name, record, noise, snr):
    return {"audio": name, "text": record.text, "noise": noise, "snr_db": snr,
            "speaker": record.speaker, "utterance": record.utterance or record.audio}


def check_noise_types(seen, unseen, available):
    """ValueError naming unknown, repeated or overlapping seen/unseen noise types."""
    for name, types in (("seen_noise_types", seen), ("unseen_noise_types", unseen)):
        if not types:
            raise ValueError(f"{name} must name at least one noise type")
        bad = [t for t in types if t not in available]
        if bad:
            raise ValueError(f"{name} has unknown noise types {bad}; available: "
                             f"{', '.join(available)}")
        if len(set(types)) != len(types):
            raise ValueError(f"{name} lists a noise type twice: {list(types)}")
    overlap = sorted(set(seen) & set(unseen))
    if overlap:
        raise ValueError(f"seen and unseen noise types overlap: {overlap}")
