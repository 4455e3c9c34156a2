"""Character-level text corpora: readers, a character vocabulary, an embedded corpus, tf.data.

Feeds the character language model of Ott et al., "Recurrent Neural Networks With Limited
Numerical Precision" (arXiv:1608.06902), which reports bits per character on Penn Treebank.

Two on-disk layouts are read by `load_char_corpus(data_dir)`:

- Penn Treebank characters: `ptb.char.train.txt`, `ptb.char.valid.txt`, `ptb.char.test.txt`.
  Characters are separated by spaces, `_` separates words, one sentence per line. Reading
  decodes `_` to " " and ends every sentence with "\\n", so each line of N symbols gives N + 1
  characters: the end of a sentence is predicted like any other character, as in the usual PTB
  character-level setup.
- Plain UTF-8 text: `train.txt`, `valid.txt`, `test.txt`, what `generate` writes. "\\r\\n" and
  "\\r" are read as "\\n"; "\\n" is an ordinary character of the vocabulary.

The embedded corpus (`generate`) needs no download: it is the docstrings of the Python standard
library on this machine, collected by parsing its `.py` sources with `ast` (nothing is imported,
so no module's import-time side effects run). It is written as plain text, not in PTB format,
because docstrings are full of `_` (identifiers), which PTB's format reserves for spaces.

Pipelines, for a char-LM trainer:

- `window_dataset(ids, seq_len, batch_size, shuffle=True, seed=...)`: independent windows
  `x = ids[t:t+T]`, `y = ids[t+1:t+T+1]`, shuffled. Use it to train a stateless model (the
  RNN state starts at zero in every window) and, with `shuffle=False`, to evaluate one.
- `contiguous_dataset(ids, seq_len, batch_size)`: the split is cut into `batch_size` streams
  and consecutive batches continue each stream, so row `b` of batch `k + 1` follows row `b` of
  batch `k`. Use it for truncated BPTT with a `stateful=True` RNN (fixed batch size, states
  reset at the start of each epoch) and for stateful evaluation, which scores every character
  with its full left context.

Example:
    info = generate("data/text", seed=0)
    corpus = load_char_corpus("data/text")
    train = window_dataset(corpus.train, seq_len=100, batch_size=32, shuffle=True, seed=0)
    x, y = next(iter(train))  # int32 [32, 100] each; y is x shifted left by one character
"""

import ast
import dataclasses
import hashlib
import json
import os
import re
import sys
import sysconfig
import time

import numpy as np
import tensorflow as tf

from tfmodels.utils import atomic

SPLITS = ("train", "valid", "test")
PTB_SPLIT_FILES = {split: f"ptb.char.{split}.txt" for split in SPLITS}
TEXT_SPLIT_FILES = {split: f"{split}.txt" for split in SPLITS}
VOCAB_FILE = "vocab.json"
METADATA_FILE = "metadata.json"

# Above this share of control characters a decodable file is not text (e.g. a packed array).
_MAX_CONTROL_FRACTION = 0.1
# Unicode category Cc less the whitespace controls \t \n \v \f \r.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_VOCAB_FORMAT = "tfmodels.CharVocabulary"


# Reading -------------------------------------------------------------------------------------


def read_text(path, format="auto"):
    """Reads a UTF-8 text file or a PTB character file into one string.

    Args:
        path: the file.
        format: "text" (UTF-8 as is, universal newlines), "ptb_char" (`_` -> " ", each line a
            sentence ending in "\\n"), or "auto": "ptb_char" when the file name starts with
            `ptb.char.`, else "text".

    Returns:
        The characters as a `str`.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, binary (NUL bytes or mostly control characters), not
            UTF-8, or not in PTB character format; the message names the file.

    Example:
        text = read_text("data/ptb/ptb.char.valid.txt")  # "consumers may want to move ...\\n"
    """
    path = os.fspath(path)
    if format not in ("auto", "text", "ptb_char"):
        raise ValueError(f"format must be 'auto', 'text' or 'ptb_char', got {format!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Text file not found: {path}")
    with open(path, "rb") as f:
        raw = f.read()
    if not raw:
        raise ValueError(f"Text file is empty: {path}")
    if b"\x00" in raw:
        raise ValueError(
            f"{path} contains NUL bytes: it is binary (or UTF-16), not UTF-8 text"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path} is not UTF-8 text: invalid byte {raw[e.start]:#04x} at offset {e.start}"
        ) from None
    controls = len(_CONTROL_CHARS.findall(text))
    if controls > _MAX_CONTROL_FRACTION * len(text):
        raise ValueError(
            f"{path} does not look like text: {controls} of {len(text)} characters are "
            "control characters"
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if format == "auto":
        format = "ptb_char" if os.path.basename(path).startswith("ptb.char.") else "text"
    if format == "ptb_char":
        text = _decode_ptb_char(text, path)
    if not text.strip():
        raise ValueError(f"Text file has no characters besides whitespace: {path}")
    return text


def _decode_ptb_char(text, path):
    sentences = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        symbols = line.split()
        if not symbols:
            continue
        for symbol in symbols:
            if len(symbol) != 1:
                raise ValueError(
                    f"{path}:{line_number} is not PTB character format: symbol {symbol!r} "
                    "is longer than one character (expected characters separated by spaces)"
                )
        sentences.append("".join(symbols).replace("_", " ") + "\n")
    return "".join(sentences)


# Vocabulary ----------------------------------------------------------------------------------


class CharVocabulary:
    """Maps characters to integer ids and back; id 0 is UNK.

    Built from the training split (`CharVocabulary.build`), so a character first seen in
    validation or test text, or in a user's prompt, encodes to `unk_id`. With the default
    `min_count=1` UNK never occurs in training and the model learns to give it little
    probability: an unseen character then costs many bits, which is the honest price. "\\n" is
    an ordinary character (the end of a line or PTB sentence is predicted like any other).

    Saved as JSON (`save`, `load`) next to an exported model so its user can map text to ids:
    `{"format": "tfmodels.CharVocabulary", "version": 1, "unk_id": 0, "chars": [...]}`, where
    `chars[i]` has id `i + 1`.

    Args:
        chars: the known characters, each a one-character string, in id order (ids 1, 2, ...).

    Example:
        vocab = CharVocabulary.build("hello world\\n")
        ids = vocab.encode("hello!")       # "!" is unknown -> 0
        vocab.decode(ids)                  # "hello\\ufffd"
        len(vocab)                         # 9: UNK + 8 characters
    """

    unk_id = 0

    def __init__(self, chars):
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"chars must be one-character strings, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("chars contains duplicates")
        self._chars = chars
        self._id_to_char = np.array(["\ufffd"] + chars, dtype=object)
        codepoints = np.array([ord(c) for c in chars], dtype=np.uint32)
        order = np.argsort(codepoints, kind="stable")
        self._sorted_codepoints = codepoints[order]
        self._sorted_ids = (order + 1).astype(np.int32)

    @classmethod
    def build(cls, text, min_count=1):
        """Collects the characters of `text` seen at least `min_count` times, sorted by code point.

        Args:
            text: the training text.
            min_count: rarer characters are left out and so encode to UNK.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        codepoints, counts = np.unique(_codepoints(text), return_counts=True)
        return cls(chr(int(cp)) for cp, n in zip(codepoints, counts) if n >= min_count)

    @property
    def chars(self):
        """The known characters in id order (id `i + 1` for `chars[i]`)."""
        return list(self._chars)

    def __len__(self):
        return len(self._chars) + 1

    def __eq__(self, other):
        return isinstance(other, CharVocabulary) and self._chars == other._chars

    def __repr__(self):
        return f"CharVocabulary(size={len(self)})"

    def encode(self, text):
        """Returns the ids of `text` as int32 `[len(text)]`; unknown characters give `unk_id`."""
        codepoints = _codepoints(text)
        if not len(self._chars):
            return np.zeros(len(codepoints), np.int32)
        positions = np.searchsorted(self._sorted_codepoints, codepoints)
        positions = np.minimum(positions, len(self._sorted_codepoints) - 1)
        found = self._sorted_codepoints[positions] == codepoints
        return np.where(found, self._sorted_ids[positions], self.unk_id).astype(np.int32)

    def decode(self, ids, unk="\ufffd"):
        """Returns the text of integer `ids` (any shape, flattened); UNK becomes `unk`."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self)}), got {ids.min()}..{ids.max()}")
        chars = self._id_to_char[ids.astype(np.int64)]
        if unk != "\ufffd":
            chars = np.where(ids == self.unk_id, unk, chars)
        return "".join(chars)

    def get_config(self):
        return {"format": _VOCAB_FORMAT, "version": 1, "unk_id": self.unk_id,
                "chars": self.chars}

    @classmethod
    def from_config(cls, config):
        if config.get("format") != _VOCAB_FORMAT or config.get("version") != 1:
            raise ValueError(
                f"not a {_VOCAB_FORMAT} version 1 config: format={config.get('format')!r}, "
                f"version={config.get('version')!r}"
            )
        if config.get("unk_id") != cls.unk_id:
            raise ValueError(f"unk_id must be {cls.unk_id}, got {config.get('unk_id')!r}")
        return cls(config["chars"])

    def save(self, path):
        """Writes the vocabulary as JSON, atomically (temp file, then rename)."""
        data = json.dumps(self.get_config(), indent=1).encode("ascii")
        atomic.write_bytes(path, data)

    @classmethod
    def load(cls, path):
        """Reads a vocabulary written by `save`; errors name the file."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Vocabulary file not found: {path}")
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
            if not isinstance(config, dict):
                raise ValueError("top level is not a JSON object")
            return cls.from_config(config)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path} is not a character vocabulary: {e}") from None


def _codepoints(text):
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


# Corpus on disk ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CharCorpus:
    """Encoded splits of a character corpus.

    Attributes:
        vocab: the `CharVocabulary` (from the training split unless one was given).
        train, valid, test: int32 `[num_chars]` ids of each split.
    """

    vocab: CharVocabulary
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def split_files(data_dir):
    """Returns `{"train": path, "valid": path, "test": path}` for a PTB or plain-text directory.

    Raises:
        FileNotFoundError: the directory or one of its split files is missing.
        ValueError: the directory holds both layouts, so which one is meant is unclear.
    """
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"Text data directory not found: {data_dir}")
    layouts = []
    for names in (PTB_SPLIT_FILES, TEXT_SPLIT_FILES):
        if any(os.path.exists(os.path.join(data_dir, n)) for n in names.values()):
            layouts.append(names)
    if len(layouts) == 2:
        raise ValueError(
            f"{data_dir} holds both ptb.char.*.txt and train/valid/test.txt; keep one layout"
        )
    if not layouts:
        raise FileNotFoundError(
            f"{data_dir} has neither ptb.char.{{train,valid,test}}.txt nor "
            "{train,valid,test}.txt (write the embedded corpus with "
            "tfmodels.data.text.generate)"
        )
    paths = {split: os.path.join(data_dir, name) for split, name in layouts[0].items()}
    for path in paths.values():
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Split file not found: {path}")
    return paths


def load_char_corpus(data_dir, vocab=None, min_count=1):
    """Reads and encodes the train/valid/test splits of `data_dir`.

    Args:
        data_dir: a directory with `ptb.char.{train,valid,test}.txt` or
            `{train,valid,test}.txt` (see the module docstring for how each is read).
        vocab: a `CharVocabulary` or the path of its JSON file; None builds one from the
            training split.
        min_count: passed to `CharVocabulary.build` when `vocab` is None.

    Returns:
        A `CharCorpus`.

    Example:
        corpus = load_char_corpus("data/text")
        len(corpus.vocab), corpus.train.shape
    """
    texts = {split: read_text(path) for split, path in split_files(data_dir).items()}
    if vocab is None:
        vocab = CharVocabulary.build(texts["train"], min_count=min_count)
    elif not isinstance(vocab, CharVocabulary):
        vocab = CharVocabulary.load(vocab)
    return CharCorpus(vocab=vocab, **{split: vocab.encode(t) for split, t in texts.items()})


# Embedded corpus -----------------------------------------------------------------------------

# Test suites hold fixtures and deliberately odd code rather than documentation; the rest is not
# standard library source.
_SKIPPED_DIRS = frozenset(
    {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
)


def collect_docstrings(source_dir=None):
    """Collects module, class and function docstrings from the `.py` files under `source_dir`.

    Files are parsed with `ast`, never imported, and visited in sorted path order (each file's
    definitions in source order, nested ones included). A docstring seen before (anywhere) is
    dropped, and so is one with a character outside printable ASCII and "\\n", which keeps the
    vocabulary small (97 ids at most). Files that do not parse are skipped.

    Args:
        source_dir: the directory to walk; None means this Python's standard library.

    Returns:
        A list of `(relative_path, [docstring, ...])` in sorted path order, modules without a
        kept docstring left out.
    """
    source_dir = os.fspath(source_dir) if source_dir is not None else _stdlib_dir()
    if not os.path.isdir(source_dir):
        raise FileNotFoundError(f"Source directory not found: {source_dir}")
    paths = []
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                paths.append((os.path.relpath(path, source_dir).replace(os.sep, "/"), path))
    seen = set()
    modules = []
    for relative, path in sorted(paths):
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read(), filename=path)
        except (SyntaxError, ValueError, UnicodeDecodeError, OSError):
            continue
        docs = []
        for node in _documentable_nodes(tree):
            doc = ast.get_docstring(node, clean=True)
            if not doc or doc in seen or not _is_printable_ascii(doc):
                continue
            seen.add(doc)
            docs.append(doc)
        if docs:
            modules.append((relative, docs))
    return modules


def _documentable_nodes(node):
    """Yields the module, classes and functions in source order, without visiting expressions."""
    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        yield node
    # Only statement lists can hold definitions (including under if/try/with/match).
    children = []
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        value = getattr(node, field, None)
        if isinstance(value, list):
            children.extend(value)
    for child in children:
        if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
            yield from _documentable_nodes(child)


def _stdlib_dir():
    return sysconfig.get_paths()["stdlib"]


def _is_printable_ascii(text):
    return all(" " <= c <= "~" or c == "\n" for c in text)


def generate(out_dir, seed=0, valid_fraction=0.05, test_fraction=0.05, max_chars=None,
             source_dir=None):
    """Writes the embedded character corpus: train/valid/test splits of stdlib docstrings.

    Whole modules are assigned to splits (so no module's text is shared between training and
    evaluation): the modules are shuffled with `seed`, test takes modules until it holds
    `test_fraction` of the characters, valid then takes `valid_fraction`, train the rest. Each
    split is its docstrings in that order, each followed by a blank line, as plain UTF-8 text.

    Written to `out_dir`: `train.txt`, `valid.txt`, `test.txt`, `vocab.json` (from train) and
    `metadata.json` (seed, Python version, per-split characters, modules and SHA-256), every
    file atomically and `metadata.json` last. With Python 3.11's standard library and seed 0
    the corpus holds 1.78 M characters (train 1.55 M, valid 0.13 M, test 0.09 M; 97 ids).
    The text depends on the Python version (its docstrings), so `metadata.json` records it;
    for one Python, same seed, same bytes.

    Args:
        out_dir: the directory to write (created if missing; existing split files replaced).
        seed: shuffles the module order, hence the split assignment.
        valid_fraction, test_fraction: shares of the characters for validation and test.
        max_chars: keep only the first modules (in shuffled order) up to about this many
            characters in all; None keeps everything.
        source_dir: where to read `.py` files; None means this Python's standard library.

    Returns:
        The metadata dict that was written to `metadata.json`.

    Example:
        info = generate("data/text", seed=0)
        info["splits"]["train"]["chars"]   # about 1.55 million
    """
    out_dir = os.fspath(out_dir)
    if not 0 < valid_fraction < 1 or not 0 < test_fraction < 1:
        raise ValueError(
            f"valid_fraction and test_fraction must lie in (0, 1), got {valid_fraction}, "
            f"{test_fraction}"
        )
    if valid_fraction + test_fraction >= 1:
        raise ValueError("valid_fraction + test_fraction must be < 1")
    if max_chars is not None and max_chars < 1:
        raise ValueError(f"max_chars must be positive or None, got {max_chars}")
    start = time.perf_counter()
    modules = collect_docstrings(source_dir)
    if len(modules) < 3:
        raise ValueError(
            f"{source_dir or _stdlib_dir()} yields {len(modules)} modules with docstrings; "
            "three or more are needed for train/valid/test"
        )
    order = np.random.default_rng(seed).permutation(len(modules))
    chunks = [(modules[i][0], "".join(doc + "\n\n" for doc in modules[i][1])) for i in order]
    if max_chars is not None:
        kept, total = [], 0
        for chunk in chunks:
            if total >= max_chars and len(kept) >= 3:
                break
            kept.append(chunk)
            total += len(chunk[1])
        chunks = kept

    total = sum(len(text) for _, text in chunks)
    targets = {"test": test_fraction * total, "valid": valid_fraction * total}
    splits = {split: [] for split in SPLITS}
    filled = {split: 0 for split in SPLITS}
    for chunk in chunks:
        split = next((s for s in ("test", "valid") if filled[s] < targets[s]), "train")
        splits[split].append(chunk)
        filled[split] += len(chunk[1])
    empty = [split for split in SPLITS if not splits[split]]
    if empty:
        raise ValueError(
            f"too little text for the {', '.join(empty)} split(s): {len(chunks)} modules, "
            f"{total} characters (raise max_chars or use a larger source_dir)"
        )

    texts = {split: "".join(text for _, text in splits[split]) for split in SPLITS}
    vocab = CharVocabulary.build(texts["train"])
    metadata = {
        "source": "Python standard library docstrings" if source_dir is None
        else f"docstrings under {os.fspath(source_dir)}",
        "python_version": sys.version.split()[0],
        "seed": seed,
        "format": "plain UTF-8 text, docstrings separated by blank lines",
        "vocab_size": len(vocab),
        "splits": {
            split: {
                "file": TEXT_SPLIT_FILES[split],
                "chars": len(texts[split]),
                "bytes": len(texts[split].encode("utf-8")),
                "modules": len(splits[split]),
                "sha256": hashlib.sha256(texts[split].encode("utf-8")).hexdigest(),
            }
            for split in SPLITS
        },
        "generation_seconds": None,
    }
    files = {TEXT_SPLIT_FILES[split]: texts[split].encode("utf-8") for split in SPLITS}
    files[VOCAB_FILE] = json.dumps(vocab.get_config(), indent=1).encode("ascii")
    metadata["generation_seconds"] = round(time.perf_counter() - start, 2)
    files[METADATA_FILE] = json.dumps(metadata, indent=1).encode("ascii")
    _write_corpus_files(out_dir, files)
    return metadata


def _write_corpus_files(out_dir, files):
    """Writes `files` ({name: bytes}) into `out_dir`, each atomically, the last name last.

    A new (or empty) folder appears whole in one rename; in an existing one only these files
    are replaced, so whatever else the folder holds stays.
    """
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        for name, data in files.items():
            atomic.write_bytes(os.path.join(out_dir, name), data)
        return
    with atomic.atomic_directory(out_dir) as temp:
        for name, data in files.items():
            with open(os.path.join(temp, name), "wb") as f:
                f.write(data)


# tf.data pipelines ---------------------------------------------------------------------------


def _check_ids(ids, seq_len, batch_size):
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array, got {ids.dtype} {ids.shape}")
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return ids.astype(np.int32)


def window_dataset(ids, seq_len, batch_size, shuffle=False, seed=0, stride=None,
                   drop_remainder=True):
    """Batches of windows `x = ids[t:t+T]`, `y = ids[t+1:t+T+1]` for next-character training.

    Windows start at `t = 0, stride, 2 * stride, ...`; with the default `stride = seq_len` they
    tile the text, so one epoch predicts (almost) every character once. Each window is
    independent: use it with a stateless RNN. For evaluation pass `shuffle=False` (and
    `drop_remainder=False` to score the last partial batch).

    Args:
        ids: int `[N]` character ids, N >= seq_len + 1.
        seq_len: T, the window length.
        batch_size: windows per batch.
        shuffle: shuffle the windows, in a new order each epoch. The order follows `seed` (and
            TensorFlow's global seed, when one is set, e.g. by `keras.utils.set_random_seed`).
        seed: the shuffle seed.
        stride: distance between window starts; default `seq_len`.
        drop_remainder: drop a last batch smaller than `batch_size` (keeps shapes static).

    Returns:
        A `tf.data.Dataset` of `(x, y)`, each int32 `[batch_size, seq_len]`.

    Example:
        ds = window_dataset(np.arange(1000), seq_len=10, batch_size=4, shuffle=True, seed=0)
        x, y = next(iter(ds))   # y == x + 1 here
    """
    ids = _check_ids(ids, seq_len, batch_size)
    stride = seq_len if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if len(ids) < seq_len + 1:
        raise ValueError(f"ids has {len(ids)} elements; seq_len={seq_len} needs seq_len + 1")
    num_windows = (len(ids) - seq_len - 1) // stride + 1
    if drop_remainder and num_windows < batch_size:
        raise ValueError(
            f"ids gives {num_windows} windows of seq_len={seq_len}, fewer than "
            f"batch_size={batch_size}: no full batch"
        )
    ids = tf.constant(ids)
    offsets = tf.range(seq_len + 1, dtype=tf.int64)

    def windows(index):
        w = tf.gather(ids, index[:, None] * stride + offsets[None, :])
        return w[:, :-1], w[:, 1:]

    ds = tf.data.Dataset.range(num_windows)
    if shuffle:
        ds = ds.shuffle(num_windows, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.map(windows, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def contiguous_dataset(ids, seq_len, batch_size):
    """Batches that continue each other, for truncated BPTT with a stateful RNN.

    The ids are cut into `batch_size` equal streams (stream b is
    `ids[b * L : (b + 1) * L + 1]`, `L = (N - 1) // batch_size`); batch k holds
    `x = streams[:, k*T:(k+1)*T]` and `y = streams[:, k*T+1:(k+1)*T+1]`, so row b of batch
    k + 1 follows row b of batch k. Not shuffled: the order is the state's history. Use with
    `stateful=True` layers, a fixed batch size and `model.reset_states()` (Keras: the RNN
    layers' `reset_states`) at the start of every epoch and before evaluation. The last
    `(N - 1) % batch_size` ids and each stream's tail shorter than T are dropped.

    Args:
        ids: int `[N]` character ids.
        seq_len: T, the truncation length.
        batch_size: the number of streams (the RNN's fixed batch size).

    Returns:
        A `tf.data.Dataset` of `(x, y)`, each int32 `[batch_size, seq_len]`, with
        `L // seq_len` batches.

    Example:
        ds = contiguous_dataset(np.arange(101), seq_len=5, batch_size=2)
        # batch 0: x = [[0..4], [50..54]]; batch 1: x = [[5..9], [55..59]]
    """
    ids = _check_ids(ids, seq_len, batch_size)
    stream_len = (len(ids) - 1) // batch_size
    num_batches = stream_len // seq_len
    if num_batches < 1:
        raise ValueError(
            f"ids has {len(ids)} elements: too few for batch_size={batch_size} streams of "
            f"seq_len={seq_len} (needs batch_size * seq_len + 1)"
        )
    starts = np.arange(batch_size, dtype=np.int64)[:, None] * stream_len
    streams = ids[starts + np.arange(stream_len + 1)[None, :]]
    used = num_batches * seq_len
    x = streams[:, :used].reshape(batch_size, num_batches, seq_len).transpose(1, 0, 2)
    y = streams[:, 1 : used + 1].reshape(batch_size, num_batches, seq_len).transpose(1, 0, 2)
    return tf.data.Dataset.from_tensor_slices((x, y)).prefetch(tf.data.AUTOTUNE)
