"""The tiny repetitive text corpus the char-LM task tests train on (one per test module)."""

import pytest

TEXT = "the cat sat on the mat. a dog ate the hat.\n" * 30


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """A data folder with `train.txt`, `valid.txt` and `test.txt`, each `TEXT`."""
    directory = tmp_path_factory.mktemp("text")
    for split in ("train", "valid", "test"):
        (directory / f"{split}.txt").write_text(TEXT)
    return directory
