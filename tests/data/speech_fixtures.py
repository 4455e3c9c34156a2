"""Tiny speech corpora written in the real on-disk layouts (Kaldi, Speech Commands), for tests.

The "speech" is tones and noise bursts, one pitch per word, so a test can tell files apart;
the formats vary on purpose (8/16/24-bit PCM, float, 8-48 kHz, mono and stereo) the way
users' corpora do. Files are written with scipy's and Python's own WAV writers, not with
`tfmodels.data.wav`, so the reader is tested against independent writers.
"""

import struct
import wave
from pathlib import Path

import numpy as np
from scipy.io import wavfile

# word -> tone frequency (Hz)
WORDS = {"yes": 300.0, "no": 500.0, "up": 700.0, "down": 900.0}
SPEAKERS = ("spk1", "spk2", "spk3", "spk4")


def tone(freq, seconds=0.25, rate=16000, channels=1, seed=0):
    """A windowed tone with a little noise, float64 in [-0.5, 0.5], shape (n,) or (n, c)."""
    t = np.arange(int(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * freq * t) * np.hanning(len(t))
    x = x + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return x if channels == 1 else np.stack([x] * channels, axis=1)


def write_pcm(path, audio, rate, width):
    """Integer PCM through Python's `wave` (8-bit unsigned, 16/24/32-bit signed)."""
    audio = np.asarray(audio, np.float64)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    if width == 1:
        data = np.clip(np.round(audio * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    else:
        scale = float(1 << (8 * width - 1))
        ints = np.clip(np.round(audio * scale), -scale, scale - 1).astype(np.int64).reshape(-1)
        data = b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints) \
            if width == 3 else ints.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(data)
    return path


def write_float(path, audio, rate):
    """32-bit float WAV through scipy."""
    wavfile.write(str(path), rate, np.asarray(audio, np.float32))
    return path


def write_extensible_24(path, audio, rate):
    """A WAVE_FORMAT_EXTENSIBLE 24-bit header (what audio editors write), built by hand."""
    audio = np.asarray(audio, np.float64)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    ints = np.clip(np.round(audio.reshape(-1) * 2**23), -2**23, 2**23 - 1).astype(np.int64)
    data = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    guid = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * 3 * channels, 3 * channels,
                      24, 22, 24, (1 << channels) - 1) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 4) + b"INFO"  # an unrelated chunk to skip
    body += b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


# One writer per format the loaders must take; cycled over the fixture's files.
FORMATS = (
    ("16k pcm16 mono", lambda p, a: write_pcm(p, a, 16000, 2), 16000, 1),
    ("8k pcm16 mono", lambda p, a: write_pcm(p, a, 8000, 2), 8000, 1),
    ("44.1k pcm24 stereo", lambda p, a: write_pcm(p, a, 44100, 3), 44100, 2),
    ("48k float stereo", lambda p, a: write_float(p, a, 48000), 48000, 2),
    ("22.05k pcm8 mono", lambda p, a: write_pcm(p, a, 22050, 1), 22050, 1),
    ("32k extensible pcm24 mono", lambda p, a: write_extensible_24(p, a, 32000), 32000, 1),
)


def _files(per_word=1, speakers=SPEAKERS):
    """`(word, speaker, index, format)` for every file of a fixture, formats cycled."""
    out = []
    for w, word in enumerate(WORDS):
        for s, speaker in enumerate(speakers):
            for i in range(per_word):
                out.append((word, speaker, i, FORMATS[(w + s + i) % len(FORMATS)]))
    return out


def write_file(path, word, seed, fmt):
    _, writer, rate, channels = fmt
    writer(path, tone(WORDS[word], rate=rate, channels=channels, seed=seed))
    return path


def write_speech_commands(root, per_word=1, noise=True, lists=True):
    """Speech Commands: word folders, validation/testing lists (spk3 dev, spk4 test)."""
    root = Path(root)
    dev, test = [], []
    for n, (word, speaker, i, fmt) in enumerate(_files(per_word)):
        (root / word).mkdir(parents=True, exist_ok=True)
        name = f"{speaker}_nohash_{i}.wav"
        write_file(root / word / name, word, n, fmt)
        if speaker == "spk3":
            dev.append(f"{word}/{name}")
        elif speaker == "spk4":
            test.append(f"{word}/{name}")
    if lists:
        (root / "validation_list.txt").write_text("\n".join(dev) + "\n")
        (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    if noise:
        (root / "_background_noise_").mkdir()
        rng = np.random.default_rng(1)
        write_pcm(root / "_background_noise_" / "running_tap.wav",
                  0.2 * rng.standard_normal(16000), 16000, 2)
        hum = 0.3 * np.sin(2 * np.pi * 60 * np.arange(8000) / 8000)
        write_pcm(root / "_background_noise_" / "hum.wav", hum, 8000, 2)
    return root


def write_kaldi_dir(folder, speakers, per_word=1, audio_dir=None, segments=False):
    """One Kaldi data directory (wav.scp with relative paths, text, utt2spk[, segments])."""
    folder = Path(folder)
    audio_dir = Path(audio_dir or folder / "wav")
    folder.mkdir(parents=True, exist_ok=True)
    audio_dir.mkdir(parents=True, exist_ok=True)
    scp, text, utt2spk, segs = [], [], [], []
    files = _files(per_word, speakers)
    if segments:
        # One recording per speaker holding all its words, 0.3 s apart.
        for speaker in speakers:
            mine = [f for f in files if f[1] == speaker]
            parts = [np.concatenate([tone(WORDS[w], seed=k), np.zeros(800)])
                     for k, (w, _, _, _) in enumerate(mine)]
            write_pcm(audio_dir / f"{speaker}.wav", np.concatenate(parts), 16000, 2)
            scp.append(f"{speaker} {(audio_dir / f'{speaker}.wav').relative_to(folder)}")
            for k, (word, _, i, _) in enumerate(mine):
                utt = f"{speaker}-{word}-{i}"
                segs.append(f"{utt} {speaker} {k * 0.3:.2f} {k * 0.3 + 0.25:.2f}")
                text.append(f"{utt} {word.upper()}")
                utt2spk.append(f"{utt} {speaker}")
    else:
        for n, (word, speaker, i, fmt) in enumerate(files):
            utt = f"{speaker}-{word}-{i}"
            path = write_file(audio_dir / f"{utt}.wav", word, n, fmt)
            scp.append(f"{utt} {Path(path).relative_to(folder)}")
            text.append(f"{utt} {word.upper()}")
            utt2spk.append(f"{utt} {speaker}")
    (folder / "wav.scp").write_text("\n".join(scp) + "\n")
    (folder / "text").write_text("\n".join(text) + "\n")
    (folder / "utt2spk").write_text("\n".join(utt2spk) + "\n")
    if segments:
        (folder / "segments").write_text("\n".join(segs) + "\n")
    return folder


def write_kaldi(root, per_word=1, dev=True):
    """A Kaldi corpus: train/ (spk1, spk2), dev/ (spk3), test/ (spk4)."""
    root = Path(root)
    write_kaldi_dir(root / "train", SPEAKERS[:2], per_word)
    if dev:
        write_kaldi_dir(root / "dev", SPEAKERS[2:3], per_word)
    write_kaldi_dir(root / "test", SPEAKERS[3:], per_word)
    return root
