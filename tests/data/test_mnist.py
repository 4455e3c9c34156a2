"""Tests for tfmodels.data.mnist on tiny idx files written in the original format."""

import gzip
import os

import numpy as np
import pytest

from tfmodels.data import mnist


def _write_mnist(folder, num_train=12, num_test=5, gz=True, rows=28):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    data = {}
    for split, count in (("train", num_train), ("test", num_test)):
        images = rng.integers(0, 256, (count, rows, rows), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(os.path.join(folder, images_name + suffix), images)
        mnist.write_idx(os.path.join(folder, labels_name + suffix), labels)
        data[split] = (images, labels)
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_load_reads_the_files_and_splits_validation_off_the_end(tmp_path, gz):
    written = _write_mnist(tmp_path, gz=gz)
    data = mnist.load(str(tmp_path), validation=4)
    images, labels = written["train"]
    np.testing.assert_array_equal(data.x_train, images[:8])
    np.testing.assert_array_equal(data.x_valid, images[8:])
    np.testing.assert_array_equal(data.y_valid, labels[8:])
    np.testing.assert_array_equal(data.x_test, written["test"][0])
    assert data.y_train.dtype == np.int64 and data.x_train.dtype == np.uint8
    normalized = mnist.load(str(tmp_path), validation=0, normalize=True)
    assert normalized.x_train.dtype == np.float32 and len(normalized.x_valid) == 0
    np.testing.assert_allclose(normalized.x_train * 255, images, atol=1e-4)


def test_idx_header_is_the_documented_layout(tmp_path):
    path = str(tmp_path / "labels")
    mnist.write_idx(path, np.array([3, 1, 4], np.uint8))
    assert open(path, "rb").read() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 3, 1, 4])


def test_damaged_files_are_named(tmp_path):
    _write_mnist(tmp_path, gz=False)
    images_path = tmp_path / "train-images-idx3-ubyte"
    content = images_path.read_bytes()
    images_path.write_bytes(content[:-7])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: header says"):
        mnist.load(str(tmp_path))
    images_path.write_bytes(b"\x00\x00\x08\x01" + content[4:])
    with pytest.raises(ValueError, match="magic number 0x00000801, expected 0x00000803"):
        mnist.load(str(tmp_path))
    images_path.write_bytes(content)
    labels_path = tmp_path / "t10k-labels-idx1-ubyte"
    mnist.write_idx(str(labels_path), np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 images.*4 labels"):
        mnist.load(str(tmp_path))
    mnist.write_idx(str(labels_path), np.full(5, 12, np.uint8))
    with pytest.raises(ValueError, match="label 12 is not a digit"):
        mnist.load(str(tmp_path))


def test_corrupt_gzip_and_missing_files(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: cannot read"):
        mnist.load(str(tmp_path))
    os.remove(tmp_path / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="no t10k-images-idx3-ubyte"):
        mnist.load(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        mnist.load(str(tmp_path / "train-labels-idx1-ubyte.gz"))


def test_known_sizes_and_validation_size(tmp_path):
    _write_mnist(tmp_path)
    with pytest.raises(ValueError, match="original file has 9912422"):
        mnist.read_split(str(tmp_path), "train", mnist.KNOWN_GZ_SIZES)
    with pytest.raises(ValueError, match="leaves no training images"):
        mnist.load(str(tmp_path), validation=12)
    with pytest.raises(ValueError, match="validation"):
        mnist.load(str(tmp_path), validation=-1)
    with pytest.raises(ValueError, match="split"):
        mnist.read_split(str(tmp_path), "valid")


def test_tf_dataset_batches_and_shuffles_with_seed(tmp_path):
    _write_mnist(tmp_path)
    data = mnist.load(str(tmp_path), validation=0)
    batches = list(mnist.tf_dataset(data.x_train, data.y_train, 5).as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [5, 5, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), data.y_train)
    a = np.concatenate([b[1] for b in mnist.tf_dataset(data.x_train, data.y_train, 4, True, 7)])
    b = np.concatenate([b[1] for b in mnist.tf_dataset(data.x_train, data.y_train, 4, True, 7)])
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == sorted(data.y_train)
