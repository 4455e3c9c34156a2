"""A small WAV reader and writer: PCM 8/16/24/32-bit and float, any channel count, any rate.

Speech corpora arrive as 8 kHz telephone audio, 16 kHz ASR audio, 44.1/48 kHz stereo studio
recordings, 24-bit or float exports of audio editors. Python's `wave` module reads only integer
PCM with the plain format tag and TensorFlow's `decode_wav` only 16-bit PCM, so this module
parses the RIFF chunks itself (including WAVE_FORMAT_EXTENSIBLE headers) and decodes with
numpy. `read` downmixes to mono (channel mean) and resamples with
`scipy.signal.resample_poly` to the rate a model wants; `conversion_summary` words what was
converted for a whole corpus, so a loader warns once instead of once per file.

Example:
    info = read_info("clip.wav")           # WavInfo(sample_rate=48000, channels=2, ...)
    audio = read("clip.wav", sample_rate=16000)   # float32 mono in [-1, 1]
    write("out.wav", audio, 16000)          # 16-bit PCM mono, written atomically
"""

import dataclasses
import struct
from pathlib import Path
from typing import Iterable

import numpy as np
from scipy import signal

from tfmodels.utils import atomic

# WAVE format tags (RFC 2361); an EXTENSIBLE header carries the real tag in its sub-format GUID.
_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_OTHER_FORMATS = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM",
                  0x0055: "MP3"}
# What a non-WAV audio file's first bytes say it is, and how to convert it.
_FOREIGN = {
    b"NIST": "a NIST SPHERE file; convert it with `sph2pipe -f wav in.sph out.wav`",
    b"fLaC": "a FLAC file; convert it with `flac -d in.flac` or `sox in.flac out.wav`",
    b"OggS": "an Ogg file; convert it with `sox` or `ffmpeg`",
    b"RF64": "an RF64 file; convert it with `sox` or `ffmpeg`",
    b"RIFX": "a big-endian RIFX file; convert it with `sox` or `ffmpeg`",
}
# Writer encodings: name -> (format tag, bits per sample).
ENCODINGS = {"pcm8": (_PCM, 8), "pcm16": (_PCM, 16), "pcm24": (_PCM, 24), "pcm32": (_PCM, 32),
             "float32": (_FLOAT, 32)}


@dataclasses.dataclass(frozen=True)
class WavInfo:
    """What a WAV header says, checked against the file's size.

    Attributes:
        path: the file.
        sample_rate: frames per second.
        channels: samples per frame.
        bits: bits per sample (8, 16, 24, 32 or 64).
        encoding: "pcm" (integer; 8-bit is unsigned) or "float".
        num_frames: frames in the data chunk.
        data_offset: byte offset of the first sample.
    """

    path: str
    sample_rate: int
    channels: int
    bits: int
    encoding: str
    num_frames: int
    data_offset: int

    @property
    def duration(self):
        """Length in seconds."""
        return self.num_frames / self.sample_rate

    @property
    def kind(self):
        """A short description, e.g. "8000 Hz 24-bit pcm stereo"."""
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}-channel")
        return f"{self.sample_rate} Hz {self.bits}-bit {self.encoding} {layout}"

    def num_samples(self, sample_rate=None):
        """Samples after downmixing and resampling to `sample_rate` (None: the file's rate)."""
        if sample_rate is None or sample_rate == self.sample_rate:
            return self.num_frames
        up, down = _ratio(self.sample_rate, sample_rate)
        return -(-self.num_frames * up // down)


def _ratio(rate, target):
    divisor = np.gcd(int(rate), int(target))
    return int(target) // divisor, int(rate) // divisor


def read_info(path):
    """Parses and checks the header of a WAV file without reading its samples.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a RIFF/WAVE file, an unsupported encoding (A-law, ADPCM, ...), a
            malformed format chunk, no data chunk, no samples, or a data chunk longer than the
            file (truncated); the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    size = path.stat().st_size
    fmt = None
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            kind = _FOREIGN.get(head[:4], "no RIFF/WAVE header")
            raise ValueError(f"{path}: not a WAV file ({kind})")
        position = 12
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise ValueError(f"{path}: unreadable WAV file (no data chunk)")
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            position += 8
            if chunk_id == b"fmt ":
                fmt = _parse_fmt(path, f.read(chunk_size))
            elif chunk_id == b"data":
                break
            else:
                f.seek(chunk_size, 1)
            # Chunks are padded to an even size.
            position += chunk_size + (chunk_size % 2)
            f.seek(position)
    if fmt is None:
        raise ValueError(f"{path}: unreadable WAV file (no fmt chunk before the data chunk)")
    encoding, channels, rate, bits = fmt
    frame_bytes = channels * bits // 8
    available = size - position
    # Streaming writers leave 0xFFFFFFFF (unknown length): the data runs to the end of the file.
    if chunk_size == 0xFFFFFFFF:
        chunk_size = available - available % frame_bytes
    if chunk_size > available:
        raise ValueError(
            f"{path}: the header promises {chunk_size // frame_bytes} samples, the file holds "
            f"{available // frame_bytes} (truncated WAV data)")
    frames = chunk_size // frame_bytes
    if frames == 0:
        raise ValueError(f"{path}: WAV file has no samples")
    return WavInfo(str(path), rate, channels, bits, encoding, frames, position)


def _parse_fmt(path, body):
    if len(body) < 16:
        raise ValueError(f"{path}: unreadable WAV file (format chunk of {len(body)} bytes)")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 26:
            raise ValueError(f"{path}: unreadable WAV file (short WAVE_FORMAT_EXTENSIBLE chunk)")
        tag = struct.unpack("<H", body[24:26])[0]
    if tag not in (_PCM, _FLOAT):
        name = _OTHER_FORMATS.get(tag, f"format tag 0x{tag:04x}")
        raise ValueError(f"{path}: {name} WAV files are not supported; convert to PCM or float "
                         "(e.g. `sox in.wav -e signed-integer out.wav`)")
    encoding = "pcm" if tag == _PCM else "float"
    valid = (8, 16, 24, 32) if encoding == "pcm" else (32, 64)
    if bits not in valid:
        raise ValueError(f"{path}: {bits}-bit {encoding} WAV files are not supported "
                         f"(supported: {', '.join(map(str, valid))}-bit)")
    if channels < 1 or rate < 1:
        raise ValueError(f"{path}: unreadable WAV file ({channels} channels, {rate} Hz)")
    return encoding, channels, rate, bits


def read(path, sample_rate=None, start=None, end=None, info=None):
    """Reads a WAV file as float32 mono samples in [-1, 1].

    Args:
        path: the WAV file.
        sample_rate: resample to this rate (None keeps the file's rate).
        start, end: a segment in seconds (None: from the start / to the end).
        info: the file's `WavInfo`, if already read.

    Returns:
        A 1-D float32 array. Several channels are averaged.

    Raises:
        ValueError: as `read_info`, or a segment outside the file; the message names the file.
    """
    info = info or read_info(path)
    first = 0 if start is None else int(round(start * info.sample_rate))
    last = info.num_frames if end is None else min(info.num_frames,
                                                   int(round(end * info.sample_rate)))
    if not 0 <= first < last:
        raise ValueError(f"{path}: segment {start}-{end} s is outside the audio "
                         f"(0-{info.duration:.3f} s)")
    width = info.bits // 8
    frame_bytes = width * info.channels
    with open(info.path, "rb") as f:
        f.seek(info.data_offset + first * frame_bytes)
        raw = f.read((last - first) * frame_bytes)
    audio = _decode(raw, info.bits, info.encoding).reshape(-1, info.channels)
    audio = audio.mean(axis=1) if info.channels > 1 else audio[:, 0]
    if sample_rate is not None and sample_rate != info.sample_rate:
        audio = resample(audio, info.sample_rate, sample_rate)
    return audio.astype(np.float32)


def _decode(raw, bits, encoding):
    if encoding == "float":
        return np.frombuffer(raw, "<f4" if bits == 32 else "<f8").astype(np.float64)
    if bits == 8:
        return (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    if bits == 24:
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values / float(1 << 23)
    dtype = {16: "<i2", 32: "<i4"}[bits]
    return np.frombuffer(raw, dtype).astype(np.float64) / float(1 << (bits - 1))


def resample(audio, rate, target):
    """Polyphase resampling of a 1-D signal from `rate` to `target` Hz."""
    up, down = _ratio(rate, target)
    return signal.resample_poly(np.asarray(audio, np.float64), up, down)


def write(path, audio, sample_rate, encoding="pcm16"):
    """Writes float samples in [-1, 1] as a WAV file, atomically.

    Args:
        path: target file.
        audio: `(n,)` mono or `(n, channels)` samples; values beyond [-1, 1] are clipped.
        sample_rate: frames per second.
        encoding: one of `ENCODINGS` ("pcm16" by default; "pcm8" is unsigned).

    Returns:
        `path`, as a string.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {sorted(ENCODINGS)}, got {encoding!r}")
    audio = np.asarray(audio, np.float64)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[0] == 0:
        raise ValueError(f"audio must be (n,) or (n, channels) with n > 0, got {audio.shape}")
    tag, bits = ENCODINGS[encoding]
    channels = audio.shape[1]
    audio = np.clip(audio, -1.0, 1.0)
    if tag == _FLOAT:
        data = audio.astype("<f4").tobytes()
    elif bits == 8:
        data = np.clip(np.round(audio * 128.0 + 128.0), 0, 255).astype(np.uint8).tobytes()
    else:
        scale = float(1 << (bits - 1))
        values = np.clip(np.round(audio * scale), -scale, scale - 1).astype(np.int64)
        if bits == 24:
            data = (values.reshape(-1, 1) >> np.array([0, 8, 16]) & 0xFF).astype(
                np.uint8).tobytes()
        else:
            data = values.astype({16: "<i2", 32: "<i4"}[bits]).tobytes()
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, int(sample_rate), int(sample_rate) * block,
                      block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
    return atomic.write_bytes(path, b"RIFF" + struct.pack("<I", len(body)) + body)


def conversion_summary(infos: Iterable[WavInfo], sample_rate):
    """One sentence on what reading `infos` at `sample_rate` mono converts, or None.

    Example: "of 40 files, 12 are 8000 Hz 16-bit pcm mono, 3 are 48000 Hz 24-bit pcm stereo:
    they are downmixed to mono and resampled to 16000 Hz when read".
    """
    infos = list(infos)
    kinds = {}
    for info in infos:
        if info.sample_rate != sample_rate or info.channels != 1:
            kinds[info.kind] = kinds.get(info.kind, 0) + 1
    if not kinds:
        return None
    parts = ", ".join(f"{count} {'is' if count == 1 else 'are'} {kind}"
                      for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]))
    actions = []
    if any(info.channels != 1 for info in infos):
        actions.append("downmixed to mono")
    if any(info.sample_rate != sample_rate for info in infos):
        actions.append(f"resampled to {sample_rate} Hz")
    return f"of {len(infos)} files, {parts}: they are {' and '.join(actions)} when read"
