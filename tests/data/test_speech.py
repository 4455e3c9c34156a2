import collections
import json
import shutil
import wave

import keras
import numpy as np
import pytest

from tfmodels.data import speech
from tfmodels.data.speech import (
    NOISE_CLASSES,
    SpeechRecord,
    Vocabulary,
    filter_noise_types,
    generate,
    load_manifest,
    select_seen_noises,
    speech_dataset,
)

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (Debian package espeak-ng); corpus generation needs it")

SMALL = dict(train_utterances=3, dev_utterances=1, test_utterances=2,
             seen_noise_types=("babble", "white"), unseen_noise_types=("pink", "clicks"),
             snrs_db=(0, 10), max_digits=3)


def _write_wav(path, samples, rate=16000, channels=1, width=2):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(np.asarray(samples, dtype=f"<i{width}").tobytes())


def _write_manifest(path, entries):
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    return generate(tmp_path_factory.mktemp("speech") / "corpus", seed=7, **SMALL)


def _read(root, split):
    return [json.loads(line) for line in (root / f"{split}.jsonl").read_text().splitlines()]


# Vocabulary


def test_vocabulary_ids_follow_the_keras_blank_convention():
    vocab = Vocabulary()
    assert vocab.blank_id == 0 and vocab.num_classes == 12 and len(vocab) == 11
    assert vocab.encode("one oh seven zero") == [3, 2, 9, 1]
    assert vocab.encode("  ONE  Nine ") == [3, 11]
    assert vocab.decode([3, 0, 2, -1, -1]) == "one oh"
    with pytest.raises(ValueError, match=r"\['ten'\]"):
        vocab.encode("one ten")


def test_character_vocabulary():
    vocab = Vocabulary("abc ", unit="char")
    assert vocab.encode("ab  c") == [1, 2, 4, 3]
    assert vocab.decode([1, 2, 4, 3]) == "ab c"
    with pytest.raises(ValueError, match="single characters"):
        Vocabulary(["ab"], unit="char")
    with pytest.raises(ValueError, match="unique"):
        Vocabulary(["one", "one"])


def test_padded_labels_give_the_same_ctc_loss_as_unpadded():
    # Labels are padded with the blank id 0; keras.ops.ctc_loss (mask_index=0) must ignore
    # the padding through label_length.
    logits = np.random.default_rng(0).standard_normal((2, 9, 12)).astype("float32")
    labels = np.array([[3, 4, 5], [7, 0, 0]], dtype="int32")
    padded = keras.ops.ctc_loss(labels, logits, np.array([3, 1]), np.array([9, 9]))
    alone = keras.ops.ctc_loss(labels[1:, :1], logits[1:], np.array([1]), np.array([9]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(padded)[1],
                               keras.ops.convert_to_numpy(alone)[0], rtol=1e-5)


# Manifest validation


@pytest.fixture
def wav_dir(tmp_path):
    _write_wav(tmp_path / "a.wav", [0, 100, -200, 300])
    _write_wav(tmp_path / "b.wav", [5, 6])
    return tmp_path


def test_load_manifest_reads_records(wav_dir):
    manifest = _write_manifest(wav_dir / "m.jsonl", [
        {"audio": "a.wav", "text": "one two", "noise": "babble", "snr_db": 5, "speaker": "s1",
         "utterance": "u1"},
        {"audio": "b.wav", "text": "oh"},
    ])
    with open(manifest, "a") as f:
        f.write("\n")  # a trailing blank line is allowed
    first, second = load_manifest(manifest, Vocabulary())
    assert first == SpeechRecord(str(wav_dir / "a.wav"), "one two", "babble", 5.0, "s1", "u1", 4)
    assert (second.noise, second.snr_db, second.num_samples) == ("clean", None, 2)


def test_load_manifest_converts_other_formats_with_one_warning(wav_dir):
    _write_wav(wav_dir / "rate.wav", [1000] * 80, rate=8000)
    _write_wav(wav_dir / "stereo.wav", [1, 2, 3, 4], channels=2)
    _write_wav(wav_dir / "8bit.wav", [1, 2, 3], width=1)
    manifest = _write_manifest(wav_dir / "m.jsonl", [
        {"audio": name, "text": "one"} for name in ("a.wav", "rate.wav", "stereo.wav", "8bit.wav")])
    with pytest.warns(UserWarning) as caught:
        records = load_manifest(manifest)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "m.jsonl: of 4 files" in message and "1 is 8000 Hz 16-bit pcm mono" in message
    assert "1 is 16000 Hz 16-bit pcm stereo" in message and "resampled to 16000 Hz" in message
    # 80 samples at 8 kHz are 160 at 16 kHz; two stereo frames are two mono samples.
    assert [r.num_samples for r in records] == [4, 160, 2, 3]


@pytest.mark.parametrize("kind, error, pattern", [
    ("empty", ValueError, r"bad\.wav: WAV file has no samples"),
    ("garbage", ValueError, r"bad\.wav: not a WAV file"),
    ("alaw", ValueError, r"bad\.wav: A-law WAV files are not supported"),
    ("truncated", ValueError, r"bad\.wav: the header promises 400 samples, the file holds 150"),
    ("missing", FileNotFoundError, r"m\.jsonl, line 2: audio file not found: .*bad\.wav"),
])
def test_load_manifest_rejects_bad_audio(wav_dir, kind, error, pattern):
    bad = wav_dir / "bad.wav"
    if kind == "rate":
        _write_wav(bad, [1, 2, 3], rate=8000)
    elif kind == "stereo":
        _write_wav(bad, [1, 2, 3, 4], channels=2)
    elif kind == "empty":
        _write_wav(bad, [])
    elif kind == "8bit":
        _write_wav(bad, [1, 2, 3], width=1)
    elif kind == "garbage":
        bad.write_bytes(b"not a wav file at all")
    elif kind == "alaw":
        _write_wav(bad, [1, 2, 3])
        data = bytearray(bad.read_bytes())
        data[20:22] = (6).to_bytes(2, "little")  # the format tag of A-law
        bad.write_bytes(bytes(data))
    elif kind == "truncated":
        _write_wav(bad, list(range(400)))
        bad.write_bytes(bad.read_bytes()[:44 + 300])  # the header still says 400 samples
    manifest = _write_manifest(wav_dir / "m.jsonl", [{"audio": "a.wav", "text": "one"},
                                                     {"audio": "bad.wav", "text": "two"}])
    with pytest.raises(error, match=pattern) as info:
        load_manifest(manifest)
    assert "line 2" in str(info.value)


@pytest.mark.parametrize("line, pattern", [
    ('{"audio": "a.wav", "text": "one"', r"m\.jsonl, line 2: malformed JSON"),
    ('["a.wav", "one"]', r"m\.jsonl, line 2: expected a JSON object"),
    ('{"audio": "a.wav"}', r"m\.jsonl, line 2: missing or non-string field 'text'"),
    ('{"audio": "a.wav", "text": "  "}', r"m\.jsonl, line 2: empty transcript"),
    ('{"audio": "a.wav", "text": "one", "snr_db": "5"}', r"line 2: field 'snr_db'"),
    ('{"audio": "a.wav", "text": "one twelve"}',
     r"m\.jsonl, line 2 \(a\.wav\): transcript 'one twelve' has tokens outside the "
     r"vocabulary: \['twelve'\]"),
])
def test_load_manifest_rejects_bad_lines(wav_dir, line, pattern):
    manifest = wav_dir / "m.jsonl"
    manifest.write_text('{"audio": "b.wav", "text": "nine"}\n' + line + "\n")
    with pytest.raises(ValueError, match=pattern):
        load_manifest(manifest, Vocabulary())


def test_load_manifest_missing_or_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        load_manifest(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="empty.jsonl has no entries"):
        load_manifest(tmp_path / "empty.jsonl")


# Seen-noise selection


def _corpus_records(num_utterances, types=("babble", "engine", "street", "white")):
    return [SpeechRecord(f"/x/{u}_{t}.wav", "one", t, None if t == "clean" else 5.0, "s", f"u{u}")
            for u in range(num_utterances) for t in ("clean",) + types]


@pytest.mark.parametrize("seen", [["babble"], ["babble", "street"],
                                  ["babble", "engine", "street", "white"]])
def test_select_seen_noises_gives_equal_sized_balanced_sets(seen):
    records = _corpus_records(8)
    selected = select_seen_noises(records, seen, seed=1)
    assert len(selected) == 16
    per_utterance = collections.Counter(r.utterance for r in selected if r.noise != "clean")
    assert set(per_utterance.values()) == {1} and len(per_utterance) == 8
    assert sum(r.noise == "clean" for r in selected) == 8
    counts = collections.Counter(r.noise for r in selected if r.noise != "clean")
    assert set(counts) == set(seen)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert selected == [r for r in records if r in selected]  # manifest order kept
    assert select_seen_noises(records, seen, seed=1) == selected
    assert len(select_seen_noises(records, seen, include_clean=False)) == 8


def test_select_seen_noises_with_one_condition_per_utterance():
    # Aurora-4 multi-condition style: each utterance exists under a single condition.
    records = [SpeechRecord(f"/x/{i}.wav", "one", t, None, None, f"u{i}")
               for i, t in enumerate(["clean", "car", "babble", "street", "car"])]
    selected = select_seen_noises(records, ["car"])
    assert [r.noise for r in selected] == ["clean", "car", "car"]
    with pytest.raises(ValueError, match="include_clean"):
        select_seen_noises(records, ["clean"])


def test_filter_noise_types():
    records = _corpus_records(2)
    kept = filter_noise_types(records, ["clean", "white"])
    assert [(r.utterance, r.noise) for r in kept] == [
        ("u0", "clean"), ("u0", "white"), ("u1", "clean"), ("u1", "white")]


# tf.data pipeline


@pytest.fixture
def small_manifest(tmp_path):
    entries = []
    for i, (length, text, kind) in enumerate(
            [(5, "one", "clean"), (3, "two three four", "babble"), (7, "oh oh", "music")]):
        _write_wav(tmp_path / f"{i}.wav", np.arange(length) * 1000 - 2000)
        entries.append({"audio": f"{i}.wav", "text": text, "noise": kind})
    return _write_manifest(tmp_path / "m.jsonl", entries)


def test_speech_dataset_batches(small_manifest):
    batches = list(speech_dataset(small_manifest, Vocabulary(), batch_size=2))
    assert [b["waveform"].shape[0] for b in batches] == [2, 1]
    first = {k: v.numpy() for k, v in batches[0].items()}
    assert first["waveform"].dtype == np.float32 and first["waveform"].shape == (2, 5)
    np.testing.assert_allclose(first["waveform"][0], (np.arange(5) * 1000 - 2000) / 32768.0)
    np.testing.assert_allclose(first["waveform"][1], [-2000 / 32768, -1000 / 32768, 0, 0, 0])
    np.testing.assert_array_equal(first["waveform_length"], [5, 3])
    np.testing.assert_array_equal(first["labels"], [[3, 0, 0], [4, 5, 6]])
    np.testing.assert_array_equal(first["label_length"], [1, 3])
    np.testing.assert_array_equal(first["noise_id"], [0, NOISE_CLASSES.index("babble")])
    assert batches[1]["noise_id"].numpy().tolist() == [NOISE_CLASSES.index("music")]


def test_speech_dataset_shuffle_cache_and_classes(small_manifest):
    def order(**kwargs):
        ds = speech_dataset(small_manifest, Vocabulary(), batch_size=1, **kwargs)
        return [int(b["waveform_length"][0]) for b in ds]

    assert order() == [5, 3, 7]
    shuffled = order(shuffle=True, seed=3)
    assert sorted(shuffled) == [3, 5, 7] and order(shuffle=True, seed=3) == shuffled
    assert order(cache=True) == [5, 3, 7]
    repeated = speech_dataset(small_manifest, Vocabulary(), batch_size=2, repeat=True)
    assert [b["waveform"].shape[0] for b in repeated.take(4)] == [2, 2, 2, 2]
    records = load_manifest(small_manifest)
    ds = speech_dataset(records[:2], Vocabulary(), batch_size=2,
                        noise_classes=("babble", "clean"))
    assert next(iter(ds))["noise_id"].numpy().tolist() == [1, 0]
    with pytest.raises(ValueError, match="'music' .* not in noise_classes"):
        speech_dataset(records, Vocabulary(), 2, noise_classes=("clean", "babble"))
    with pytest.raises(ValueError, match="batch_size"):
        speech_dataset(records, Vocabulary(), 0)


# Corpus generation


@needs_espeak
def test_generated_corpus_layout(corpus):
    splits = {s: _read(corpus, s) for s in speech.SPLITS}
    assert {s: len(v) for s, v in splits.items()} == {
        "train": 3 * 3, "dev": 1 * 3, "test_clean": 2, "test_seen": 2 * 2, "test_unseen": 2 * 2}
    metadata = json.loads((corpus / "corpus.json").read_text())
    assert metadata["seen_noise_types"] == ["babble", "white"] and metadata["seed"] == 7
    for split, entries in splits.items():
        records = load_manifest(corpus / f"{split}.jsonl", Vocabulary())  # validates the WAVs
        assert all(1 <= len(r.text.split()) <= 3 for r in records)
        assert all(e["audio"].startswith(f"{split}/") for e in entries)
        for entry in entries:
            assert (entry["noise"] == "clean") == (entry["snr_db"] is None)
            assert entry["snr_db"] in (None, 0, 10)
    # Each training utterance: clean plus one copy per seen noise type, same transcript.
    by_utterance = collections.defaultdict(list)
    for entry in splits["train"]:
        by_utterance[entry["utterance"]].append(entry)
    for copies in by_utterance.values():
        assert sorted(e["noise"] for e in copies) == ["babble", "clean", "white"]
        assert len({e["text"] for e in copies}) == 1 and len({e["speaker"] for e in copies}) == 1
    # Test utterances appear once per SNR in each noisy test set, with the right types.
    test_ids = sorted(e["utterance"] for e in splits["test_clean"])
    for split, types in (("test_seen", {"babble", "white"}), ("test_unseen", {"pink", "clicks"})):
        assert {e["noise"] for e in splits[split]} <= types
        cells = collections.Counter((e["utterance"], e["snr_db"]) for e in splits[split])
        assert sorted(cells) == sorted((u, s) for u in test_ids for s in (0, 10))
        assert set(cells.values()) == {1}
    train_speakers = {e["speaker"] for e in splits["train"] + splits["dev"]}
    test_speakers = {e["speaker"] for e in splits["test_clean"]}
    assert not train_speakers & test_speakers
    # espeak-ng test voice variants never speak in training.
    variants = {s.split("+")[1] for s in metadata["speakers"]["train"] if "+" in s}
    assert not variants & {s.split("+")[1] for s in metadata["speakers"]["test"] if "+" in s}
    for entries in splits.values():
        for entry in entries:
            assert entry["engine"] in metadata["engines"]
            assert entry["voice"] in entry["speaker"]
    assert not list(corpus.parent.glob(".corpus.*"))  # no temporary folder left behind


@needs_espeak
def test_generated_audio_is_16k_mono_and_noisy_copies_differ(corpus):
    clean = load_manifest(corpus / "train.jsonl")
    for record in clean[:3]:
        with wave.open(record.audio) as f:
            assert (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (16000, 1, 2)
    by_key = {(r.utterance, r.noise): r for r in clean}
    ds = speech_dataset([by_key["train-00000", "clean"], by_key["train-00000", "white"]],
                        Vocabulary(), batch_size=2)
    batch = next(iter(ds))
    waveform = batch["waveform"].numpy()
    assert batch["waveform_length"].numpy().tolist() == [by_key["train-00000", "clean"]
                                                         .num_samples] * 2
    assert np.abs(waveform[0]).max() > 0.01  # there is speech
    assert np.abs(waveform[1] - waveform[0]).mean() > 0.001
    # The leading margin is silence in the clean copy and noise in the noisy one.
    assert np.abs(waveform[0, :800]).max() == 0.0 and np.abs(waveform[1, :800]).max() > 0.0


@needs_espeak
def test_generation_is_deterministic(corpus, tmp_path):
    again = generate(tmp_path / "a", seed=7, **SMALL)
    for split in speech.SPLITS:
        assert (again / f"{split}.jsonl").read_text() == (corpus / f"{split}.jsonl").read_text()
        for entry in _read(again, split):
            assert (again / entry["audio"]).read_bytes() == (corpus / entry["audio"]).read_bytes()
    other = generate(tmp_path / "b", seed=8, **dict(SMALL, dev_utterances=0))
    assert _read(other, "train") != _read(corpus, "train")
    first = _read(corpus, "train")[0]["audio"]
    assert (other / first).read_bytes() != (corpus / first).read_bytes()


@needs_espeak
def test_generate_is_atomic_and_refuses_to_overwrite(tmp_path, monkeypatch):
    small = dict(SMALL, train_utterances=1, dev_utterances=0, test_utterances=1,
                 engines=("espeak-ng",))
    out = generate(tmp_path / "c", seed=0, **small)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate(out, **small)
    before = (out / "train.jsonl").read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("synthesis failed")

    monkeypatch.setattr(speech, "synthesize_speech", broken)
    with pytest.raises(RuntimeError, match="synthesis failed"):
        generate(out, overwrite=True, **small)
    with pytest.raises(RuntimeError):
        generate(tmp_path / "d", **small)
    assert (out / "train.jsonl").read_text() == before
    assert not (tmp_path / "d").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(seen_noise_types=("rain",)), r"seen_noise_types has unknown noise types \['rain'\]"),
    (dict(seen_noise_types=("white",), unseen_noise_types=("white", "pink")), "overlap"),
    (dict(train_utterances=0), "train_utterances must be an integer >= 1"),
    (dict(snrs_db=()), "snrs_db"),
    (dict(test_speaker_fraction=1.0), "test_speaker_fraction"),
])
def test_generate_rejects_bad_arguments(tmp_path, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        generate(tmp_path / "x", **kwargs)
    assert not list(tmp_path.iterdir())


def test_generate_names_missing_espeak(tmp_path, monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="Debian package 'espeak-ng'"):
        generate(tmp_path / "x", train_utterances=1, test_utterances=1)


def test_speech_dataset_reads_any_format_segments_and_mixes_noise(tmp_path):
    from tfmodels.data import noise, wav

    t = np.arange(8000) / 8000
    tone = 0.3 * np.sin(2 * np.pi * 400 * t)
    wav.write(tmp_path / "a.wav", np.stack([tone, tone], 1), 8000, "pcm24")
    clean = SpeechRecord(str(tmp_path / "a.wav"), "one", utterance="u")
    part = SpeechRecord(str(tmp_path / "a.wav"), "two", start=0.25, end=0.5)
    noisy = SpeechRecord(str(tmp_path / "a.wav"), "one", noise="white", snr_db=10.0,
                         utterance="u", mix_noise=True)
    drawn = SpeechRecord(str(tmp_path / "a.wav"), "one", noise="white", mix_noise=True)
    with pytest.raises(ValueError, match="pass noise_mixer"):
        speech_dataset([noisy], Vocabulary(), 1)
    mixer = noise.NoiseMixer(snrs_db=(0, 30), seed=1)

    def waves(records, **kwargs):
        ds = speech_dataset(records, Vocabulary(), 1, noise_classes=("clean", "white"),
                            noise_mixer=mixer, **kwargs)
        return [b["waveform"].numpy()[0] for b in ds]

    reference = wav.read(tmp_path / "a.wav", 16000)
    a, b, c = waves([clean, part, noisy])
    np.testing.assert_allclose(a, reference, atol=1e-6)  # 8 kHz stereo -> 16 kHz mono
    np.testing.assert_allclose(b, reference[4000:8000], atol=0.02)
    snr = 10 * np.log10(noise.active_power(a) / np.mean((c - a).astype(np.float64) ** 2))
    assert snr == pytest.approx(10.0, abs=0.1)
    # Evaluation noise is fixed; training noise (vary_noise) changes every epoch.
    assert np.array_equal(waves([noisy])[0], waves([noisy])[0])
    ds = speech_dataset([drawn], Vocabulary(), 1, noise_classes=("clean", "white"),
                        noise_mixer=mixer, vary_noise=True)
    epochs = [next(iter(ds))["waveform"].numpy()[0] for _ in range(2)]
    assert not np.array_equal(epochs[0], epochs[1])
# Voice diversity


def _installed(*engines):
    missing = [e for e in engines if e not in speech.available_engines()]
    return pytest.mark.skipif(bool(missing), reason=f"speech synthesizers {missing} not installed "
                              "(Debian packages espeak-ng, flite, festival + festvox-kallpc16k)")


@pytest.mark.parametrize("engine", speech.ENGINES)
def test_every_engine_speaks_and_follows_rate_and_pitch(engine):
    if engine not in speech.available_engines():
        pytest.skip(f"{engine} is not installed")
    voice = {"espeak-ng": "en-us", "flite": "slt", "festival": "kal_diphone"}[engine]
    say = lambda speed, pitch: speech.synthesize_speech(  # noqa: E731
        "one two three", voice, speed=speed, pitch=pitch, engine=engine)
    base, fast, high = say(160, 50), say(240, 50), say(160, 90)
    assert base.dtype == np.float32 and 0.01 < np.abs(base).max() <= 1.0
    assert len(base) > 0.5 * 16000
    assert len(fast) < 0.85 * len(base)

    def mean_f0(audio):
        # Autocorrelation pitch over the loudest frames, 60-400 Hz.
        frames = audio[: len(audio) // 640 * 640].reshape(-1, 640)
        loud = frames[np.argsort((frames ** 2).sum(1))[-10:]]
        lags = []
        for frame in loud:
            corr = np.correlate(frame, frame, "full")[639:]
            lags.append(40 + np.argmax(corr[40:267]))
        return 16000 / np.median(lags)

    assert mean_f0(high) > 1.1 * mean_f0(base)


def test_single_digit_fraction_sets_the_share_of_lone_words():
    speakers = speech._speakers(0, 0.25)["train"]
    lone = lambda fraction: np.mean([  # noqa: E731
        len(p["text"].split()) == 1
        for p in speech._utterance_plan("train", 400, speakers, 0, 7, fraction)])
    assert lone(1.0) == 1.0
    assert 0.05 < lone(0.0) < 0.25  # 1 in 7 by chance
    assert 0.45 < lone(0.4) < 0.6  # 0.4 + 0.6 / 7


@_installed("espeak-ng", "flite")
def test_holdout_engine_speaks_only_its_own_split(tmp_path):
    root = generate(tmp_path / "h", seed=3, engines=("espeak-ng", "flite"),
                    holdout_engines=("flite",), **dict(SMALL, train_utterances=4))
    metadata = json.loads((root / "corpus.json").read_text())
    assert metadata["engines"] == ["espeak-ng", "flite"]
    assert metadata["holdout_engines"] == ["flite"]
    held = _read(root, speech.HOLDOUT_SPLIT)
    assert len(held) == SMALL["test_utterances"]
    assert {e["engine"] for e in held} == {"flite"} and {e["noise"] for e in held} == {"clean"}
    load_manifest(root / f"{speech.HOLDOUT_SPLIT}.jsonl", Vocabulary())
    for split in speech.SPLITS:
        assert {e["engine"] for e in _read(root, split)} == {"espeak-ng"}


@_installed("espeak-ng", "flite")
def test_engines_take_turns_and_the_manifest_records_them(tmp_path):
    root = generate(tmp_path / "m", seed=0, engines=("espeak-ng", "flite"),
                    **dict(SMALL, train_utterances=12, dev_utterances=0))
    clean = [e for e in _read(root, "train") if e["noise"] == "clean"]
    engines = collections.Counter(e["engine"] for e in clean)
    assert set(engines) == {"espeak-ng", "flite"} and min(engines.values()) >= 3
    flite = [e for e in clean if e["engine"] == "flite"]
    assert all(e["voice"] in speech.FLITE_VOICES for e in flite)
    assert all(e["speaker"].startswith(f"flite:{e['voice']}#") for e in flite)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(engines=("espeak-ng",), holdout_engines=("flite",)), "must be among the engines"),
    (dict(engines=("espeak-ng",), holdout_engines=("espeak-ng",)), "no engine to train on"),
    (dict(engines=("sapi",)), r"unknown engines \['sapi'\]"),
    (dict(engines="espeak-ng"), "list of engine names"),
    (dict(single_digit_fraction=1.5), "single_digit_fraction"),
])
def test_generate_rejects_bad_engine_arguments(tmp_path, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        generate(tmp_path / "x", train_utterances=1, test_utterances=1, **kwargs)
    assert not list(tmp_path.iterdir())


def test_missing_engines_are_named(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(speech.shutil, "which",
                        lambda name: None if name == "flite" else real_which(name))
    with pytest.raises(FileNotFoundError, match="Debian package 'flite'"):
        generate(tmp_path / "x", engines=("flite",), train_utterances=1, test_utterances=1)
    with pytest.raises(FileNotFoundError, match="Debian package 'flite'"):
        speech.synthesize_speech("one", "slt", engine="flite")
    assert "flite" not in speech.available_engines()
    if shutil.which("espeak-ng") is not None:
        with pytest.warns(UserWarning, match=r"\['flite'\].*'flite'"):
            speech._resolve_engines(None, ())
    assert not list(tmp_path.iterdir())


def test_speech_dataset_applies_the_augment_hook(tmp_path):
    path = tmp_path / "a.wav"
    _write_wav(path, (np.arange(1000) % 100) * 100)
    manifest = _write_manifest(tmp_path / "m.jsonl", [{"audio": "a.wav", "text": "one"}])
    seen = []

    def halve(waveform):
        seen.append(len(waveform))
        return waveform[::2] * 0.5

    batch = next(iter(speech_dataset(manifest, Vocabulary(), 1, augment=halve)))
    assert seen == [1000]
    assert batch["waveform_length"].numpy().tolist() == [500]
    plain = next(iter(speech_dataset(manifest, Vocabulary(), 1)))["waveform"].numpy()[0]
    np.testing.assert_allclose(batch["waveform"].numpy()[0], plain[::2] * 0.5)
    with pytest.raises(ValueError, match="augment"):
        speech_dataset(manifest, Vocabulary(), 1, augment="speed")
