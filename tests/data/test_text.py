"""Tests for tfmodels.data.text: readers, vocabulary, embedded corpus, tf.data pipelines."""

import json

import numpy as np
import pytest

from tfmodels.data import text


def _write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _ptb_dir(tmp_path, train, valid, test):
    for split, content in (("train", train), ("valid", valid), ("test", test)):
        _write(tmp_path / f"ptb.char.{split}.txt", content)
    return tmp_path


def _batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


# Reading -------------------------------------------------------------------------------------


def test_read_ptb_char_decodes_word_separators_and_sentence_ends(tmp_path):
    path = _write(tmp_path / "ptb.char.train.txt", " a _ c a t \n t h e _ d o g\n\n")
    assert text.read_text(path) == "a cat\nthe dog\n"


def test_read_plain_text_normalizes_newlines_and_keeps_underscores(tmp_path):
    path = _write(tmp_path / "notes.txt", "one_two\r\nthree\rfour\n")
    assert text.read_text(path) == "one_two\nthree\nfour\n"


def test_read_plain_text_strips_utf8_bom_and_keeps_unicode(tmp_path):
    path = _write(tmp_path / "u.txt", "\ufeffcafé ☕\n")
    assert text.read_text(path) == "café ☕\n"


def test_format_overrides_file_name(tmp_path):
    path = _write(tmp_path / "plain.txt", "h i _ y o u\n")
    assert text.read_text(path, format="ptb_char") == "hi you\n"
    assert text.read_text(path, format="text") == "h i _ y o u\n"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b" \n\n  \n", "whitespace"),
        ("nul.bin", b"abc\x00def", "NUL"),
        ("utf16.txt", "hello".encode("utf-16"), "NUL"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8"),
        ("controls.bin", bytes(range(1, 32)) * 10 + b"abc", "control characters"),
        ("ptb.char.train.txt", b"a b _ cat\n", "not PTB character format"),
    ],
)
def test_bad_files_raise_value_error_naming_the_file(tmp_path, name, content, message):
    path = _write(tmp_path / name, content)
    with pytest.raises(ValueError, match=message) as info:
        text.read_text(path)
    assert str(path) in str(info.value)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        text.read_text(tmp_path / "missing.txt")


# Vocabulary ----------------------------------------------------------------------------------


def test_vocabulary_build_sorts_by_code_point_and_reserves_unk():
    vocab = text.CharVocabulary.build("hello world\n")
    assert vocab.chars == ["\n", " ", "d", "e", "h", "l", "o", "r", "w"]
    assert len(vocab) == 10
    np.testing.assert_array_equal(vocab.encode("he\nz"), [5, 4, 1, 0])
    assert vocab.encode("x").dtype == np.int32


def test_vocabulary_round_trip_and_unknown_characters():
    vocab = text.CharVocabulary.build("abc abc\n")
    assert vocab.decode(vocab.encode("cab\n")) == "cab\n"
    assert vocab.decode(vocab.encode("aXb")) == "a\ufffdb"
    assert vocab.decode(vocab.encode("aXb"), unk="?") == "a?b"
    with pytest.raises(ValueError, match="ids must lie"):
        vocab.decode([len(vocab)])


def test_vocabulary_min_count_sends_rare_characters_to_unk():
    vocab = text.CharVocabulary.build("aaab", min_count=2)
    assert vocab.chars == ["a"]
    np.testing.assert_array_equal(vocab.encode("ab"), [1, 0])


def test_vocabulary_encode_honors_loaded_id_order():
    vocab = text.CharVocabulary(["z", "a", "\n"])
    np.testing.assert_array_equal(vocab.encode("a\nzq"), [2, 3, 1, 0])


def test_vocabulary_json_round_trip(tmp_path):
    vocab = text.CharVocabulary.build("Tabs\tand\nnewlines é\n")
    path = tmp_path / "vocab.json"
    vocab.save(path)
    config = json.loads(path.read_text())
    assert config["unk_id"] == 0 and config["chars"] == vocab.chars
    loaded = text.CharVocabulary.load(path)
    assert loaded == vocab
    np.testing.assert_array_equal(loaded.encode("new é\t"), vocab.encode("new é\t"))
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]


@pytest.mark.parametrize(
    "content", ["not json", "[1, 2]", '{"format": "other", "version": 1, "unk_id": 0}',
                '{"format": "tfmodels.CharVocabulary", "version": 1, "unk_id": 0, '
                '"chars": ["ab"]}']
)
def test_vocabulary_load_rejects_bad_files(tmp_path, content):
    path = _write(tmp_path / "vocab.json", content)
    with pytest.raises(ValueError, match="vocab.json"):
        text.CharVocabulary.load(path)


def test_vocabulary_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        text.CharVocabulary.load(tmp_path / "nope.json")


# Corpus on disk ------------------------------------------------------------------------------


def test_load_char_corpus_ptb_maps_unseen_characters_to_unk(tmp_path):
    _ptb_dir(tmp_path, "a _ b\nb _ a\n", "a _ c\n", "b\n")
    corpus = text.load_char_corpus(tmp_path)
    assert corpus.vocab.chars == ["\n", " ", "a", "b"]
    np.testing.assert_array_equal(corpus.train, [3, 2, 4, 1, 4, 2, 3, 1])
    np.testing.assert_array_equal(corpus.valid, [3, 2, 0, 1])
    np.testing.assert_array_equal(corpus.test, [4, 1])


def test_load_char_corpus_with_given_vocabulary_file(tmp_path):
    _ptb_dir(tmp_path, "a\n", "a\n", "a\n")
    text.CharVocabulary(["a", "b", "\n"]).save(tmp_path / "v.json")
    corpus = text.load_char_corpus(tmp_path, vocab=tmp_path / "v.json")
    np.testing.assert_array_equal(corpus.train, [1, 3])


def test_split_files_errors_name_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither"):
        text.split_files(tmp_path)
    _write(tmp_path / "ptb.char.train.txt", "a\n")
    with pytest.raises(FileNotFoundError, match="ptb.char.valid.txt"):
        text.split_files(tmp_path)
    _write(tmp_path / "train.txt", "a\n")
    with pytest.raises(ValueError, match="both"):
        text.split_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="absent"):
        text.split_files(tmp_path / "absent")


# Embedded corpus -----------------------------------------------------------------------------


@pytest.fixture
def source_dir(tmp_path):
    """A tiny fake standard library: ten documented modules plus traps."""
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "test").mkdir()
    for i in range(10):
        (src / "pkg" / f"mod{i}.py").write_text(
            f'"""Module {i} says hello."""\n\n'
            f"class C{i}:\n"
            f'    """Class {i} docstring\n\n    spans lines."""\n\n'
            f"    def f(self):\n"
            f'        """Method of class {i}."""\n'
        )
    # Parsed, never imported: its import-time side effects must not run.
    (src / "a_noisy.py").write_text(
        '"""Noisy module docstring."""\n'
        'print("IMPORTED")\n'
        "if True:\n"
        "    def hidden():\n"
        '        """Defined under if."""\n'
        "try:\n"
        "    pass\n"
        "except ImportError:\n"
        "    class Fallback:\n"
        '        """Defined under except."""\n'
        "raise SystemExit(3)\n"
    )
    (src / "pkg" / "zdup.py").write_text('"""Module 0 says hello."""\n')
    (src / "accents.py").write_text('"""Caf\u00e9 docstring."""\n')
    (src / "broken.py").write_text('"""Never read."""\nprint "python 2"\n')
    (src / "test" / "test_x.py").write_text('"""Test suites are skipped."""\n')
    return src


def test_collect_docstrings_parses_without_importing(source_dir, capsys):
    modules = text.collect_docstrings(source_dir)
    paths = [path for path, _ in modules]
    assert paths == sorted(paths)
    docs = [doc for _, module_docs in modules for doc in module_docs]
    assert "Noisy module docstring." in docs
    assert "Class 3 docstring\n\nspans lines." in docs
    assert docs.count("Module 0 says hello.") == 1
    assert not any("Caf" in d or "Never read" in d or "Test suites" in d for d in docs)
    assert "IMPORTED" not in capsys.readouterr().out
    assert len(modules) == 11
    assert paths[:2] == ["a_noisy.py", "pkg/mod0.py"]
    assert modules[0][1] == [
        "Noisy module docstring.", "Defined under if.", "Defined under except."
    ]
    assert modules[1][1] == [
        "Module 0 says hello.", "Class 0 docstring\n\nspans lines.", "Method of class 0."
    ]


def test_generate_writes_deterministic_module_disjoint_splits(source_dir, tmp_path):
    info = text.generate(tmp_path / "a", seed=7, source_dir=source_dir,
                         valid_fraction=0.2, test_fraction=0.2)
    again = text.generate(tmp_path / "b", seed=7, source_dir=source_dir,
                          valid_fraction=0.2, test_fraction=0.2)
    for name in ("train.txt", "valid.txt", "test.txt", "vocab.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert info["splits"] == again["splits"]

    splits = {s: (tmp_path / "a" / f"{s}.txt").read_text() for s in text.SPLITS}
    for split, content in splits.items():
        assert info["splits"][split]["chars"] == len(content)
        assert content.endswith("\n\n")
    # Each module's docstring lands in exactly one split.
    owners = [
        [s for s in text.SPLITS if f"Module {i} says hello." in splits[s]] for i in range(10)
    ]
    assert all(len(o) == 1 for o in owners)
    assert all(f"Class {i} docstring" in splits[o[0]] for i, o in enumerate(owners))
    total = sum(len(c) for c in splits.values())
    assert len(splits["train"]) > 0.4 * total

    vocab = text.CharVocabulary.load(tmp_path / "a" / "vocab.json")
    assert vocab == text.CharVocabulary.build(splits["train"])
    metadata = json.loads((tmp_path / "a" / "metadata.json").read_text())
    assert metadata["seed"] == 7 and metadata["splits"] == info["splits"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "src"]


def test_generate_seed_changes_the_split_assignment(source_dir, tmp_path):
    contents = set()
    for seed in range(4):
        text.generate(tmp_path / f"s{seed}", seed=seed, source_dir=source_dir)
        contents.add((tmp_path / f"s{seed}" / "test.txt").read_text())
    assert len(contents) > 1


def test_generate_replaces_an_existing_corpus(source_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.txt").write_text("stale")
    (out / "keep.md").write_text("notes")
    text.generate(out, seed=0, source_dir=source_dir)
    assert (out / "train.txt").read_text() != "stale"
    assert (out / "keep.md").read_text() == "notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_generate_rejects_bad_arguments(source_dir, tmp_path):
    with pytest.raises(ValueError, match="valid_fraction"):
        text.generate(tmp_path / "o", valid_fraction=0.6, test_fraction=0.5,
                      source_dir=source_dir)
    with pytest.raises(ValueError, match="max_chars"):
        text.generate(tmp_path / "o", max_chars=0, source_dir=source_dir)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        text.generate(tmp_path / "o", source_dir=tmp_path / "nowhere")
    assert not (tmp_path / "o").exists()


def test_generate_from_the_standard_library(tmp_path):
    info = text.generate(tmp_path / "text", seed=0)
    train = info["splits"]["train"]["chars"]
    assert 1_000_000 < train < 5_000_000
    assert info["vocab_size"] <= 97
    corpus = text.load_char_corpus(tmp_path / "text")
    assert corpus.train.size == train
    assert len(corpus.vocab) == info["vocab_size"]
    # Printable ASCII is common enough that evaluation text has no unknown characters.
    assert not np.any(corpus.valid == 0) and not np.any(corpus.test == 0)


# Pipelines -----------------------------------------------------------------------------------


def test_window_dataset_shifts_targets_and_tiles_the_text():
    ids = np.arange(103)
    batches = _batches(text.window_dataset(ids, seq_len=10, batch_size=3))
    assert len(batches) == 3  # 10 windows, the last partial batch dropped
    for x, y in batches:
        assert x.shape == y.shape == (3, 10) and x.dtype == np.int32
        np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(batches[1][0][0], np.arange(30, 40))
    starts = text.window_dataset(ids, 10, 3, drop_remainder=False)
    assert sorted(int(x[0]) for xb, _ in _batches(starts) for x in xb) == list(range(0, 100, 10))


def test_window_dataset_stride():
    (x, y), = _batches(text.window_dataset(np.arange(8), seq_len=4, batch_size=4, stride=1))
    np.testing.assert_array_equal(x[:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(y[-1], [4, 5, 6, 7])


def test_window_dataset_shuffle_is_seeded():
    ids = np.arange(2001)

    def first_epoch(seed):
        ds = text.window_dataset(ids, seq_len=10, batch_size=20, shuffle=True, seed=seed)
        return np.concatenate([x[:, 0] for x, _ in _batches(ds)])

    a, b, c = first_epoch(1), first_epoch(1), first_epoch(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, np.sort(a))
    np.testing.assert_array_equal(np.sort(a), np.arange(0, 2000, 10))


def test_window_dataset_rejects_too_little_data():
    with pytest.raises(ValueError, match="seq_len"):
        text.window_dataset(np.arange(10), seq_len=10, batch_size=1)
    with pytest.raises(ValueError, match="batch_size"):
        text.window_dataset(np.arange(30), seq_len=10, batch_size=4)
    with pytest.raises(ValueError, match="1-D integer"):
        text.window_dataset(np.zeros((4, 4), np.int32), seq_len=2, batch_size=1)


def test_contiguous_dataset_continues_each_stream():
    ds = text.contiguous_dataset(np.arange(101), seq_len=5, batch_size=2)
    batches = _batches(ds)
    assert len(batches) == int(ds.cardinality()) == 10
    np.testing.assert_array_equal(batches[0][0], [[0, 1, 2, 3, 4], [50, 51, 52, 53, 54]])
    np.testing.assert_array_equal(batches[1][0], [[5, 6, 7, 8, 9], [55, 56, 57, 58, 59]])
    np.testing.assert_array_equal(batches[-1][1], [[46, 47, 48, 49, 50], [96, 97, 98, 99, 100]])
    for x, y in batches:
        np.testing.assert_array_equal(y, x + 1)
    # Row b of consecutive batches is one unbroken stream.
    rows = np.concatenate([x for x, _ in batches], axis=1)
    np.testing.assert_array_equal(rows, [np.arange(50), np.arange(50, 100)])


def test_contiguous_dataset_rejects_too_little_data():
    with pytest.raises(ValueError, match="batch_size=4"):
        text.contiguous_dataset(np.arange(20), seq_len=5, batch_size=4)


def test_generate_max_chars_keeps_whole_modules_up_to_the_cap(source_dir, tmp_path):
    full = text.generate(tmp_path / "full", seed=0, source_dir=source_dir)
    small = text.generate(tmp_path / "small", seed=0, source_dir=source_dir, max_chars=200)
    def total(info, key):
        return sum(split[key] for split in info["splits"].values())

    assert total(full, "modules") == 11
    assert 3 <= total(small, "modules") < 11
    assert 200 <= total(small, "chars") < total(full, "chars")
