"""The WAV reader against independent writers (scipy, Python's wave, hand-built headers)."""

import struct

import numpy as np
import pytest
from scipy.io import wavfile

from tfmodels.data import wav
from tests.data import speech_fixtures as fx


def _peak_hz(audio, rate):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.fft.rfftfreq(len(audio), 1 / rate)[spectrum.argmax()]


@pytest.mark.parametrize("name, writer, rate, channels", fx.FORMATS,
                         ids=[f[0] for f in fx.FORMATS])
def test_reads_every_format_downmixed_and_resampled(tmp_path, name, writer, rate, channels):
    audio = fx.tone(440.0, seconds=0.5, rate=rate, channels=channels)
    path = writer(tmp_path / "x.wav", audio)
    info = wav.read_info(path)
    assert (info.sample_rate, info.channels, info.num_frames) == (rate, channels, len(audio))
    native = wav.read(path)
    mono = audio if channels == 1 else audio.mean(axis=1)
    # Quantization error of the format (8-bit: 1/128).
    tolerance = 1 / 100 if info.bits == 8 else 1e-4
    np.testing.assert_allclose(native, mono, atol=tolerance)
    resampled = wav.read(path, sample_rate=16000)
    assert resampled.dtype == np.float32
    assert len(resampled) == info.num_samples(16000) == int(np.ceil(len(audio) * 16000 / rate))
    assert _peak_hz(resampled, 16000) == pytest.approx(440.0, abs=4.0)


def test_pcm_values_match_scipys_reader(tmp_path):
    rng = np.random.default_rng(0)
    for dtype, scale in (("<i2", 2**15), ("<i4", 2**31)):
        ints = rng.integers(-scale, scale, size=(50, 3)).astype(dtype)
        wavfile.write(tmp_path / "x.wav", 11025, ints)
        np.testing.assert_allclose(wav.read(tmp_path / "x.wav"), (ints / scale).mean(1),
                                   rtol=1e-6)
    unsigned = rng.integers(0, 256, size=40).astype(np.uint8)
    wavfile.write(tmp_path / "u.wav", 8000, unsigned)
    np.testing.assert_allclose(wav.read(tmp_path / "u.wav"), (unsigned - 128.0) / 128.0,
                               rtol=1e-6)


def test_24_bit_sign_extension(tmp_path):
    values = np.array([0, 1, -1, 2**23 - 1, -2**23]) / 2**23
    fx.write_pcm(tmp_path / "x.wav", values, 8000, 3)
    np.testing.assert_array_equal(wav.read(tmp_path / "x.wav") * 2**23,
                                  [0, 1, -1, 2**23 - 1, -2**23])


def test_segments(tmp_path):
    audio = np.arange(8000) / 8000.0 - 0.5
    fx.write_float(tmp_path / "x.wav", audio, 8000)
    part = wav.read(tmp_path / "x.wav", start=0.25, end=0.5)
    np.testing.assert_allclose(part, audio[2000:4000], atol=1e-7)
    assert len(wav.read(tmp_path / "x.wav", sample_rate=16000, start=0.25, end=0.5)) == 4000
    with pytest.raises(ValueError, match=r"x\.wav: segment 2-3 s is outside the audio"):
        wav.read(tmp_path / "x.wav", start=2, end=3)


@pytest.mark.parametrize("encoding", sorted(wav.ENCODINGS))
def test_write_round_trip(tmp_path, encoding):
    audio = fx.tone(300.0, rate=8000, channels=2)
    wav.write(tmp_path / "x.wav", audio, 8000, encoding)
    rate, back = wavfile.read(tmp_path / "x.wav")  # scipy reads what we wrote
    assert rate == 8000 and back.shape == audio.shape
    bits = wav.ENCODINGS[encoding][1]
    np.testing.assert_allclose(wav.read(tmp_path / "x.wav"), audio.mean(1),
                               atol=1.0 / 2 ** (bits - 2) if bits < 32 else 1e-6)


def _header(tag=1, channels=1, rate=16000, bits=16, data=b"\0\0" * 4, declared=None):
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + \
        struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("content, error, pattern", [
    (None, FileNotFoundError, r"audio file not found: .*bad\.wav"),
    (b"hello, not audio at all", ValueError, r"bad\.wav: not a WAV file \(no RIFF/WAVE header\)"),
    (b"RIFF\0\0\0\0WAVEjunk", ValueError, r"bad\.wav: unreadable WAV file \(no data chunk\)"),
    (b"NIST_1A\n   1024\n", ValueError, r"bad\.wav: not a WAV file \(a NIST SPHERE file; .*sph2pipe"),
    (b"fLaC\0\0\0\x22" + bytes(40), ValueError, r"bad\.wav: not a WAV file \(a FLAC file"),
    (_header(tag=7), ValueError, r"bad\.wav: mu-law WAV files are not supported"),
    (_header(tag=2), ValueError, r"bad\.wav: MS ADPCM WAV files are not supported"),
    (_header(bits=12), ValueError, r"bad\.wav: 12-bit pcm WAV files are not supported"),
    (_header(tag=3, bits=16), ValueError, r"bad\.wav: 16-bit float WAV files are not supported"),
    (_header(data=b""), ValueError, r"bad\.wav: WAV file has no samples"),
    (_header(declared=400), ValueError,
     r"bad\.wav: the header promises 200 samples, the file holds 4 \(truncated WAV data\)"),
])
def test_bad_files_are_named(tmp_path, content, error, pattern):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=pattern):
        wav.read_info(path)


def test_streaming_header_length_runs_to_the_end(tmp_path):
    # espeak-ng --stdout and other streaming writers leave the data length at 0xFFFFFFFF.
    (tmp_path / "s.wav").write_bytes(_header(data=struct.pack("<4h", 1, 2, 3, 4),
                                             declared=0xFFFFFFFF))
    np.testing.assert_allclose(wav.read(tmp_path / "s.wav") * 32768, [1, 2, 3, 4])


def test_conversion_summary_counts_kinds():
    def info(rate, channels):
        return wav.WavInfo("f.wav", rate, channels, 16, "pcm", 100, 44)

    infos = [info(16000, 1)] * 3 + [info(8000, 1)] * 2 + [info(48000, 2)]
    summary = wav.conversion_summary(infos, 16000)
    assert summary == ("of 6 files, 2 are 8000 Hz 16-bit pcm mono, 1 is 48000 Hz 16-bit pcm "
                       "stereo: they are downmixed to mono and resampled to 16000 Hz when read")
    assert wav.conversion_summary([info(16000, 1)], 16000) is None
    assert wav.conversion_summary([info(8000, 1)], 16000).endswith(
        "they are resampled to 16000 Hz when read")
