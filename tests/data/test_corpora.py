"""Corpus loaders on fixtures written in the real layouts, and every bad input they name."""

import json
import shutil

import numpy as np
import pytest

from tfmodels.data import corpora, noise, speech, wav
from tfmodels.data.speech import SpeechRecord, Vocabulary
from tests.data import speech_fixtures as fx


@pytest.fixture(scope="module")
def kaldi(tmp_path_factory):
    return fx.write_kaldi(tmp_path_factory.mktemp("kaldi") / "data")


@pytest.fixture(scope="module")
def commands(tmp_path_factory):
    return fx.write_speech_commands(tmp_path_factory.mktemp("sc") / "commands")


def _copy(src, tmp_path):
    return shutil.copytree(src, tmp_path / src.name)


def _load(path, **kwargs):
    with pytest.warns(UserWarning, match="resampled to 16000 Hz"):
        return corpora.load_corpus(path, **kwargs)


# Kaldi


def test_kaldi_corpus_splits_speakers_and_conversions(kaldi):
    with pytest.warns(UserWarning) as caught:
        corpus = corpora.load_corpus(kaldi)
    assert len(caught) == 1  # one warning for the corpus, not one per file
    assert "of 16 files" in str(caught[0].message)
    assert corpus.layout == "kaldi" and list(corpus.splits) == ["train", "dev", "test"]
    assert [len(corpus.splits[s]) for s in ("train", "dev", "test")] == [8, 4, 4]
    assert {r.speaker for r in corpus.splits["test"]} == {"spk4"}
    record = next(r for r in corpus.splits["train"] if r.utterance == "spk1-no-0")
    assert record.text == "NO" and record.noise == "clean" and record.audio.endswith(
        "train/wav/spk1-no-0.wav")
    # Lengths at 16 kHz whatever the file's rate: 0.25 s tones.
    assert {r.num_samples for recs in corpus.splits.values() for r in recs} == {4000}
    assert not corpus.has_noisy_copies
    text = corpus.describe()
    assert "kaldi corpus" in text and "train: 8 utterances, 2 speakers" in text
    assert "training words: down no up yes" in text and "resampled" in text


def test_kaldi_segments_and_lone_directory(tmp_path):
    folder = fx.write_kaldi_dir(tmp_path / "all", fx.SPEAKERS, segments=True)
    corpus = corpora.load_corpus(folder, seed=0)  # 16 kHz mono: no warning needed
    assert corpus.conversions is None
    records = [r for split in corpus.splits.values() for r in split]
    assert len(records) == 16 and all(r.start is not None for r in records)
    # A lone directory is split by speaker: no speaker is in two splits.
    speakers = {name: {r.speaker for r in recs} for name, recs in corpus.splits.items()}
    assert not (speakers["train"] & speakers["test"]) and not (speakers["dev"] & speakers["test"])
    assert any("held out as test" in n for n in corpus.notes)
    # Each segment reads back its own tone.
    record = next(r for r in records if r.utterance == "spk2-down-0")
    audio = wav.read(record.audio, 16000, record.start, record.end)
    assert len(audio) == record.num_samples == 4000
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(len(audio), 1 / 16000)[spectrum.argmax()] == pytest.approx(900, abs=8)


@pytest.mark.parametrize("edit, error, pattern", [
    (lambda d: (d / "wav.scp").write_text("u1 sox in.flac -t wav - |\n"), ValueError,
     r"train/wav\.scp, line 1: 'u1' is a command pipe .*does not run commands"),
    (lambda d: (d / "text").unlink(), FileNotFoundError, r"train has no text"),
    (lambda d: (d / "wav.scp").unlink(), None, None),  # train/ is then not a data dir
    (lambda d: (d / "wav.scp").write_text((d / "wav.scp").read_text().replace(
        "wav/spk1-yes-0.wav", "wav/nothere.wav")), FileNotFoundError,
     r"train/wav\.scp, line 1: audio file not found: .*nothere\.wav"),
    (lambda d: (d / "text").write_text((d / "text").read_text().split("\n", 1)[1]), ValueError,
     r"train/text: no transcript for 1 utterances of .*wav\.scp: \['spk1-yes-0'\]"),
    (lambda d: (d / "text").write_text((d / "text").read_text() + "ghost YES\n"), ValueError,
     r"train/text: 1 utterances have no audio in .*wav\.scp: \['ghost'\]"),
    (lambda d: (d / "text").write_text((d / "text").read_text() + "spk1-yes-0 NO\n"),
     ValueError, r"train/text, line 9: id 'spk1-yes-0' repeats line 1"),
    (lambda d: (d / "text").write_text("spk1-yes-0\n"), ValueError,
     r"train/text, line 1: expected '<id> <words>'"),
    (lambda d: (d / "utt2spk").write_text("spk1-yes-0 spk1\n"), ValueError,
     r"train/utt2spk: no speaker for 7 utterances"),
    (lambda d: (d / "segments").write_text("spk1-yes-0 nope 0 1\n"), ValueError,
     r"train/segments, line 1: recording 'nope' is not in .*wav\.scp"),
    (lambda d: (d / "segments").write_text("spk1-yes-0 spk1-yes-0 a b\n"), ValueError,
     r"train/segments, line 1: start and end must be seconds"),
    (lambda d: (d / "segments").write_text("".join(
        f"{line.split()[0]} {line.split()[0]} 5 6\n"
        for line in (d / "wav.scp").read_text().splitlines())), ValueError,
     r"train/wav\.scp, line 1: .*spk1-yes-0\.wav: segment 5-6 s is outside the audio"),
    (lambda d: (d / "wav" / "spk1-yes-0.wav").write_bytes(b"RIFF"), ValueError,
     r"train/wav\.scp, line 1: .*spk1-yes-0\.wav: not a WAV file"),
])
def test_kaldi_errors_name_the_file(kaldi, tmp_path, edit, error, pattern):
    root = _copy(kaldi, tmp_path)
    edit(root / "train")
    if error is None:
        with pytest.raises(ValueError, match=r"no train data directory among .*dev/, test/"):
            corpora.load_corpus(root)
        return
    with pytest.raises(error, match=pattern):
        corpora.load_corpus(root)


def test_kaldi_without_dev_holds_out_training_utterances(tmp_path):
    root = fx.write_kaldi(tmp_path / "data", dev=False)
    corpus = _load(root)
    assert len(corpus.splits["dev"]) >= 1
    assert len(corpus.splits["train"]) + len(corpus.splits["dev"]) == 8
    assert any("no dev split" in n for n in corpus.notes)


# Speech Commands


def test_speech_commands_lists_speakers_and_noise(commands):
    corpus = _load(commands)
    assert corpus.layout == "speech_commands"
    assert {r.speaker for r in corpus.splits["dev"]} == {"spk3"}
    assert {r.speaker for r in corpus.splits["test"]} == {"spk4"}
    assert {r.speaker for r in corpus.splits["train"]} == {"spk1", "spk2"}
    assert {r.text for r in corpus.splits["train"]} == set(fx.WORDS)
    assert set(corpus.noise_recordings) == {"hum", "running_tap"}
    assert "noise recordings: hum,running_tap" in corpus.describe()


def test_speech_commands_without_lists_splits_by_speaker(tmp_path):
    root = fx.write_speech_commands(tmp_path / "sc", lists=False, noise=False)
    corpus = _load(root)
    test_speakers = {r.speaker for r in corpus.splits["test"]}
    assert test_speakers and not test_speakers & {r.speaker for r in corpus.splits["train"]}
    assert any("no testing_list.txt" in n for n in corpus.notes)
    assert corpus.noise_recordings == {}


def test_speech_commands_errors(commands, tmp_path):
    root = _copy(commands, tmp_path)
    with open(root / "testing_list.txt", "a") as f:
        f.write("yes/gone_nohash_0.wav\n")
    with pytest.raises(FileNotFoundError,
                       match=r"testing_list\.txt, line 5: audio file not found: .*gone_nohash_0"):
        corpora.load_corpus(root)
    root = _copy(commands, tmp_path / "b")
    (root / "up" / "spk1_nohash_0.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match=r"up/spk1_nohash_0\.wav: not a WAV file"):
        corpora.load_corpus(root)


# Manifests and detection


def test_manifest_corpus_with_other_rates(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    fx.write_pcm(root / "a.wav", fx.tone(300, rate=8000), 8000, 2)
    fx.write_float(root / "b.wav", fx.tone(500, rate=48000, channels=2), 48000)
    lines = {"train": [{"audio": "a.wav", "text": "one", "speaker": "x"},
                       {"audio": "b.wav", "text": "two", "speaker": "y"}],
             "test": [{"audio": "a.wav", "text": "one", "start": 0.05, "end": 0.15}]}
    for split, entries in lines.items():
        (root / f"{split}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    with pytest.warns(UserWarning) as caught:
        corpus = corpora.load_corpus(root)
    assert len(caught) == 1 and "of 3 files" in str(caught[0].message)
    assert corpus.layout == "manifest"
    assert corpus.splits["test"][0].num_samples == 1600  # 0.1 s at 16 kHz
    assert len(corpus.splits["train"]) + len(corpus.splits["dev"]) == 2


def test_unknown_layout_says_what_each_needs(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"no speech corpus found.*train\.jsonl.*"
                                                r"wav\.scp \+ text.*one folder of WAV files"):
        corpora.load_corpus(tmp_path)
    with pytest.raises(FileNotFoundError, match="speech corpus folder not found"):
        corpora.load_corpus(tmp_path / "missing")


# Vocabulary


def test_words_outside_the_vocabulary_are_listed(commands):
    corpus = _load(commands)
    with pytest.raises(ValueError) as info:
        corpora.make_vocabulary("digits", corpus)
    message = str(info.value)
    assert "4 words of the transcripts are outside the vocabulary" in message
    for word in fx.WORDS:
        assert f"'{word}' (4 utterances, e.g. " in message
    assert "--vocabulary=corpus" in message
    vocabulary = corpora.make_vocabulary("corpus", corpus)
    assert vocabulary.tokens == ("down", "no", "up", "yes")
    assert vocabulary.encode("up") == [3]
    corpus.splits["test"].append(SpeechRecord("x.wav", "left"))
    with pytest.raises(ValueError, match=r"1 words of the dev/test transcripts never occur in "
                                         r"the training transcripts.*'left' \(1 utterances"):
        corpora.make_vocabulary("corpus", corpus)


def test_vocabulary_from_a_file_or_a_list(commands, tmp_path):
    corpus = _load(commands)
    (tmp_path / "words.txt").write_text("yes\nno\nup\ndown\nleft\n")
    assert corpora.make_vocabulary(str(tmp_path / "words.txt"), corpus).tokens[-1] == "left"
    assert corpora.make_vocabulary("up,down,yes,no", corpus).tokens == ("up", "down", "yes", "no")
    with pytest.raises(ValueError, match=r"outside the vocabulary.*'down'"):
        corpora.make_vocabulary("up,yes,no", corpus)
    (tmp_path / "dup.txt").write_text("yes\nyes\n")
    with pytest.raises(ValueError, match=r"vocabulary file .*dup\.txt: tokens must be unique"):
        corpora.make_vocabulary(str(tmp_path / "dup.txt"), corpus)


def test_vocabulary_from_texts_is_order_independent():
    a = Vocabulary.from_texts(["Turn left", "go"])
    assert a.tokens == ("go", "left", "turn")
    assert Vocabulary.from_texts(["go", "turn left"]).tokens == a.tokens
    with pytest.raises(ValueError, match="no tokens"):
        Vocabulary.from_texts([" "])


# Noise for clean corpora


def test_with_noise_assigns_types_round_robin():
    records = [SpeechRecord(f"{i}.wav", "one", utterance=f"u{i}") for i in range(8)]
    mixed = corpora.with_noise(records, ["babble", "white"], seed=0, snrs_db=(0, 10))
    assert len(mixed) == 16 and [r.noise for r in mixed[::2]] == ["clean"] * 8
    noisy = mixed[1::2]
    assert all(r.mix_noise and r.audio == c.audio for r, c in zip(noisy, records))
    assert sorted(r.noise for r in noisy).count("babble") == 4
    assert {(r.noise, r.snr_db) for r in noisy} == {
        ("babble", 0.0), ("babble", 10.0), ("white", 0.0), ("white", 10.0)}
    assert corpora.with_noise(records, ["white"], seed=0)[1].snr_db is None


def test_write_noisy_corpus(commands, tmp_path):
    out = tmp_path / "noisy"
    with pytest.warns(UserWarning):
        corpora.write_noisy_corpus(commands, out, ["white", "running_tap"], ["hum", "pink"],
                                   snrs_db=(5,), seed=0)
    meta = json.loads((out / "corpus.json").read_text())
    assert meta["seen_noise_types"] == ["white", "running_tap"]
    train = speech.load_manifest(out / "train.jsonl")
    assert len(train) == 8 * 3  # clean + one copy per seen type
    assert {r.noise for r in speech.load_manifest(out / "test_unseen.jsonl")} == {"hum", "pink"}
    # Each noisy file is its clean file plus noise at 5 dB.
    clean = {r.utterance: r for r in train if r.noise == "clean"}
    for record in (r for r in train if r.noise == "white"):
        speech_part = wav.read(clean[record.utterance].audio)
        residual = wav.read(record.audio) - speech_part
        snr = 10 * np.log10(noise.active_power(speech_part) / np.mean(residual**2))
        assert snr == pytest.approx(5.0, abs=0.3)
    # The copy is a corpus the loaders take (no conversion: 16 kHz mono).
    assert corpora.load_corpus(out).has_noisy_copies
    with pytest.raises(FileExistsError, match="overwrite=True"):
        corpora.write_noisy_corpus(commands, out)
    with pytest.warns(UserWarning), pytest.raises(
            ValueError, match=r"seen_noise_types has unknown noise types \['car'\]"):
        corpora.write_noisy_corpus(commands, tmp_path / "x", ["car"])
    assert not (tmp_path / "x").exists()
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"overlap: \['white'\]"):
        corpora.write_noisy_corpus(commands, tmp_path / "x", ["white"], ["white"])
