"""Tests for tfmodels.data.camvid on tiny CamVid-layout folders written here."""

import io
import os

import keras
import numpy as np
import pytest
from PIL import Image

from tfmodels.data import camvid
from tfmodels.metrics import segmentation as seg


def _write_png(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8), mode=mode).save(path)


def _write_split(root, split, frames, height, width, seed=0, void_fraction=0.1):
    """Writes `frames` random RGB images and labels (ids 0-10, some void); returns labels."""
    rng = np.random.default_rng(seed)
    labels = {}
    for i in range(frames):
        name = f"f{i:03d}.png"
        image = rng.integers(0, 256, size=(height, width, 3))
        label = rng.integers(0, camvid.NUM_CLASSES, size=(height, width))
        label[rng.random((height, width)) < void_fraction] = camvid.VOID
        _write_png(os.path.join(root, split, name), image)
        _write_png(os.path.join(root, split + "annot", name), label)
        labels[name] = label
    return labels


def _write_coded_split(root, split, frames, height, width, seed=0):
    """Images whose pixels encode (label, column, row), to trace crops and flips back."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    for i in range(frames):
        label = rng.integers(0, camvid.VOID + 1, size=(height, width))
        image = np.stack([label * 20, cols, rows], axis=-1)
        _write_png(os.path.join(root, split, f"c{i:03d}.png"), image)
        _write_png(os.path.join(root, split + "annot", f"c{i:03d}.png"), label)


def test_class_constants():
    assert camvid.NUM_CLASSES == len(camvid.CLASS_NAMES) == 11
    assert camvid.VOID == 11
    assert camvid.CLASS_NAMES[0] == "Sky" and camvid.CLASS_NAMES[3] == "Road"
    assert camvid.CLASS_NAMES[-1] == "Bicyclist"


def test_list_split_pairs_files_and_counts_classes(tmp_path):
    labels = _write_split(tmp_path, "val", 3, 6, 7)
    (tmp_path / "val" / "notes.txt").write_text("ignored")
    split = camvid.list_split(str(tmp_path), "val")
    assert len(split) == 3 and (split.height, split.width) == (6, 7)
    assert [os.path.basename(p) for p in split.images] == sorted(labels)
    assert [os.path.basename(p) for p in split.labels] == sorted(labels)
    counts = np.bincount(np.concatenate([l.ravel() for l in labels.values()]), minlength=12)
    np.testing.assert_array_equal(split.class_pixels, counts[:11])
    assert split.void_pixels == counts[11]


def test_median_frequency_weights_hand_computed(tmp_path):
    _write_png(tmp_path / "train" / "a.png", np.zeros((2, 2, 3)))
    _write_png(tmp_path / "trainannot" / "a.png", [[0, 0], [1, 11]])
    _write_png(tmp_path / "train" / "b.png", np.zeros((2, 2, 3)))
    _write_png(tmp_path / "trainannot" / "b.png", [[0, 2], [2, 2]])
    split = camvid.list_split(str(tmp_path), "train")
    np.testing.assert_array_equal(split.present_pixels[:3], [3 + 4, 3, 4])
    # freq = 3/7, 1/3, 3/4; median 3/7.
    expected = np.zeros(11)
    expected[:3] = [1.0, (3 / 7) / (1 / 3), (3 / 7) / (3 / 4)]
    np.testing.assert_allclose(camvid.median_frequency_weights(split), expected, rtol=1e-6)


def _bad_inputs():
    """(name, how to break a good 2-frame 'train' split, expected error, text in message)."""

    def remove_label(root):
        os.remove(root / "trainannot" / "f001.png")
        return ValueError, os.path.join("train", "f001.png")

    def orphan_label(root):
        _write_png(root / "trainannot" / "zz.png", np.zeros((8, 8)))
        return ValueError, os.path.join("trainannot", "zz.png")

    def size_mismatch(root):
        _write_png(root / "trainannot" / "f001.png", np.zeros((8, 9)))
        return ValueError, "f001.png: annotation is 8x9"

    def frame_sizes_differ(root):
        _write_png(root / "train" / "f001.png", np.zeros((9, 8, 3)))
        _write_png(root / "trainannot" / "f001.png", np.zeros((9, 8)))
        return ValueError, "f001.png: frame is 9x8"

    def label_too_large(root):
        _write_png(root / "trainannot" / "f000.png", np.full((8, 8), 12))
        return ValueError, "f000.png: label values [12]"

    def truncated_image(root):
        path = root / "train" / "f000.png"
        path.write_bytes(path.read_bytes()[:60])
        return ValueError, "f000.png: unreadable or corrupt"

    def garbage_label(root):
        (root / "trainannot" / "f001.png").write_bytes(b"not a png at all")
        return ValueError, "f001.png: unreadable or corrupt"

    def jpeg_named_png(root):
        buffer = io.BytesIO()
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="JPEG")
        (root / "train" / "f000.png").write_bytes(buffer.getvalue())
        return ValueError, "f000.png: not a PNG"

    def grayscale_image(root):
        _write_png(root / "train" / "f001.png", np.zeros((8, 8)))
        return ValueError, "f001.png: image mode 'L'"

    def transparent_rgba(root):
        rgba = np.full((8, 8, 4), 255)
        rgba[0, 0, 3] = 10
        _write_png(root / "train" / "f001.png", rgba)
        return ValueError, "f001.png: RGBA image with transparent pixels"

    def rgb_label(root):
        _write_png(root / "trainannot" / "f000.png", np.zeros((8, 8, 3)))
        return ValueError, "f000.png: annotation mode 'RGB'"

    def palette_label(root):
        palette = Image.fromarray(np.zeros((8, 8), np.uint8)).convert("P")
        palette.save(root / "trainannot" / "f000.png")
        return ValueError, "f000.png: annotation mode 'P'"

    def missing_folder(root):
        os.rename(root / "trainannot", root / "labels")
        return FileNotFoundError, "trainannot"

    def empty_split(root):
        for d in ("train", "trainannot"):
            for name in os.listdir(root / d):
                os.remove(root / d / name)
        return ValueError, "no .png images"

    return [
        remove_label, orphan_label, size_mismatch, frame_sizes_differ, label_too_large,
        truncated_image, garbage_label, jpeg_named_png, grayscale_image, transparent_rgba,
        rgb_label, palette_label, missing_folder, empty_split,
    ]  # fmt: skip


@pytest.mark.parametrize("breaker", _bad_inputs(), ids=lambda f: f.__name__)
def test_bad_input_is_refused_naming_the_file(tmp_path, breaker):
    _write_split(tmp_path, "train", 2, 8, 8)
    error, text = breaker(tmp_path)
    with pytest.raises(error) as info:
        camvid.list_split(str(tmp_path), "train")
    assert text in str(info.value)
    # The pipeline validates up front too, before any tf.data work.
    with pytest.raises(error):
        camvid.load_dataset(str(tmp_path), "train", batch_size=1, crop_size=None)


def test_opaque_rgba_is_read_as_rgb(tmp_path):
    _write_split(tmp_path, "val", 1, 8, 8)
    rgb = np.asarray(Image.open(tmp_path / "val" / "f000.png"))
    _write_png(tmp_path / "val" / "f000.png", np.concatenate([rgb, np.full((8, 8, 1), 255)], -1))
    image, _, _ = next(iter(camvid.load_dataset(str(tmp_path), "val", pad_multiple=None)))
    np.testing.assert_allclose(image[0].numpy(), rgb / 255.0, atol=1e-7)


def test_evaluation_pads_with_void_and_weights_void_zero(tmp_path):
    labels = _write_split(tmp_path, "val", 3, 40, 50)
    ds = camvid.load_dataset(str(tmp_path), "val", batch_size=2)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 1]
    images = np.concatenate([b[0].numpy() for b in batches])
    label_out = np.concatenate([b[1].numpy() for b in batches])
    weights = np.concatenate([b[2].numpy() for b in batches])
    assert images.shape == (3, 64, 64, 3) and images.dtype == np.float32
    assert label_out.shape == weights.shape == (3, 64, 64) and label_out.dtype == np.int32
    for i, name in enumerate(sorted(labels)):
        original = np.asarray(Image.open(tmp_path / "val" / name)) / 255.0
        np.testing.assert_allclose(images[i, :40, :50], original, atol=1e-7)
        np.testing.assert_array_equal(label_out[i, :40, :50], labels[name])
    assert (images[:, 40:] == 0).all() and (images[:, :, 50:] == 0).all()
    assert (label_out[:, 40:] == camvid.VOID).all() and (label_out[:, :, 50:] == camvid.VOID).all()
    np.testing.assert_array_equal(weights, (label_out != camvid.VOID).astype(np.float32))


def test_class_weights_become_sample_weights(tmp_path):
    _write_split(tmp_path, "val", 2, 32, 32)
    class_weights = np.arange(1, 12, dtype=np.float32) / 4
    ds = camvid.load_dataset(str(tmp_path), "val", class_weights=class_weights)
    _, label, weight = next(iter(ds))
    expected = np.append(class_weights, 0.0)[label.numpy()]
    np.testing.assert_array_equal(weight.numpy(), expected)
    assert (weight.numpy()[label.numpy() == camvid.VOID] == 0).all()


def _epochs(ds, count):
    return [[tuple(t.numpy() for t in batch) for batch in ds] for _ in range(count)]


def test_training_crops_and_flips_image_and_label_together(tmp_path):
    _write_coded_split(tmp_path, "train", 4, 48, 56)
    ds = camvid.load_dataset(
        str(tmp_path), "train", batch_size=2, crop_size=(32, 40), seed=3, pad_multiple=8
    )
    flips = set()
    for epoch in _epochs(ds, 4):
        assert len(epoch) == 2
        for images, labels, weights in epoch:
            assert images.shape == (2, 32, 40, 3) and labels.shape == (2, 32, 40)
            pixels = np.rint(images * 255).astype(int)
            np.testing.assert_array_equal(pixels[..., 0], labels * 20)
            np.testing.assert_array_equal(weights, labels != camvid.VOID)
            for cols, rows in zip(pixels[..., 1], pixels[..., 2]):
                step = cols[0, 1] - cols[0, 0]
                assert step in (1, -1)
                flips.add(step)
                # A window of the frame: consecutive rows and columns, in bounds.
                np.testing.assert_array_equal(cols, cols[:, :1] + step * np.arange(40))
                assert (rows == rows[0, 0] + np.arange(32)[:, None]).all()
                assert 0 <= cols.min() and cols.max() < 56 and rows.max() < 48
    assert flips == {1, -1}


def test_same_seed_same_batches_and_each_pass_rerandomizes(tmp_path):
    _write_split(tmp_path, "train", 4, 40, 40)
    make = lambda seed: camvid.load_dataset(  # noqa: E731
        str(tmp_path), "train", batch_size=2, crop_size=(32, 32), seed=seed
    )
    first, again, other = _epochs(make(5), 2), _epochs(make(5), 2), _epochs(make(6), 2)

    def same(a, b):
        return all(np.array_equal(x, y) for ba, bb in zip(a, b) for x, y in zip(ba, bb))

    assert same(first[0], again[0]) and same(first[1], again[1])
    assert not same(first[0], first[1])
    assert not same(first[0], other[0])


def test_repeat_and_full_frame_training(tmp_path):
    _write_split(tmp_path, "train", 3, 40, 50)
    ds = camvid.load_dataset(str(tmp_path), "train", batch_size=2, crop_size=None, repeat=True)
    batches = list(ds.take(5))
    assert len(batches) == 5
    assert all(b[0].shape == (2, 64, 64, 3) for b in batches)


def test_argument_errors(tmp_path):
    _write_split(tmp_path, "train", 2, 40, 40)
    root = str(tmp_path)
    with pytest.raises(ValueError, match="crop_size=\\(64, 32\\) is larger"):
        camvid.load_dataset(root, "train", crop_size=(64, 32), batch_size=1)
    with pytest.raises(ValueError, match="class_weights"):
        camvid.load_dataset(root, "train", class_weights=[1.0] * 12)
    with pytest.raises(ValueError, match="batch_size=3 exceeds"):
        camvid.load_dataset(root, "train", batch_size=3, crop_size=(32, 32))
    with pytest.raises(ValueError, match="split must be one of"):
        camvid.list_split(root, "training")


def test_fit_and_evaluate_ignore_void_and_padding(tmp_path):
    labels = _write_split(tmp_path, "train", 2, 40, 48, seed=1)
    _write_split(tmp_path, "val", 3, 40, 48, seed=2)
    model = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.Conv2D(11, 3, padding="same")]
    )
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=camvid.VOID),
        metrics=[seg.MeanIoU(camvid.NUM_CLASSES), seg.GlobalAccuracy(camvid.NUM_CLASSES)],
    )
    train = camvid.load_dataset(str(tmp_path), "train", batch_size=2, crop_size=(32, 32))
    history = model.fit(train, epochs=2, verbose=0)
    assert len(labels) == 2 and np.isfinite(history.history["loss"]).all()

    val = camvid.load_dataset(str(tmp_path), "val", batch_size=2)
    scores = model.evaluate(val, verbose=0, return_dict=True)
    # Reference: the same predictions cropped back to the frames, scored in numpy.
    split = camvid.list_split(str(tmp_path), "val")
    matrix = np.zeros((11, 11), np.int64)
    for image_path, label_path in zip(split.images, split.labels):
        image = np.asarray(Image.open(image_path), np.float32)[None] / 255.0
        padded = np.pad(image, [(0, 0), (0, 24), (0, 16), (0, 0)])
        logits = model.predict(padded, verbose=0)[:, :40, :48]
        matrix += seg.confusion_matrix(np.asarray(Image.open(label_path)), logits)
    reference = seg.scores_from_confusion_matrix(matrix)
    assert scores["mean_iou"] == pytest.approx(reference["mean_iou"], rel=1e-5)
    assert scores["global_accuracy"] == pytest.approx(reference["global_accuracy"], rel=1e-5)


def _damage_pixel_data(path):
    """Rewrites a PNG's IDAT with a valid zlib stream of too few bytes and a correct CRC, so
    every checksum holds (PIL's verify() passes) but the pixels cannot be decoded."""
    import struct
    import zlib

    data = open(path, "rb").read()
    start = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[start : start + 4])[0]
    end = start + 12 + length
    body = zlib.compress(b"\x00" * 7)
    chunk = struct.pack(">I", len(body)) + b"IDAT" + body
    chunk += struct.pack(">I", zlib.crc32(b"IDAT" + body) & 0xFFFFFFFF)
    open(path, "wb").write(data[:start] + chunk + data[end:])


def test_damaged_pixel_data_with_valid_checksums_is_refused(tmp_path):
    _write_split(str(tmp_path), "train", 2, 32, 32)
    path = os.path.join(tmp_path, "train", sorted(os.listdir(tmp_path / "train"))[1])
    camvid.list_split(str(tmp_path), "train")  # validated (and cached) while intact
    _damage_pixel_data(path)
    with Image.open(path) as img:
        img.verify()  # the checksums still hold
    with pytest.raises(ValueError, match=f"{os.path.basename(path)}: unreadable or corrupt"):
        camvid.list_split(str(tmp_path), "train")


# SegmentationFrames: the numpy PyDataset twin of load_dataset (no TensorFlow needed).


def test_frames_evaluation_batches_equal_the_tf_data_ones(tmp_path):
    _write_split(tmp_path, "val", 3, 40, 50)
    class_weights = np.arange(1, 12, dtype=np.float32) / 4
    ds = camvid.load_dataset(str(tmp_path), "val", batch_size=2, class_weights=class_weights)
    frames = camvid.SegmentationFrames(str(tmp_path), "val", batch_size=2,
                                       class_weights=class_weights)
    assert len(frames) == 2
    for want, got in zip(ds, (frames[i] for i in range(len(frames)))):
        for a, b in zip(want, got):
            assert a.numpy().dtype == b.dtype
            np.testing.assert_array_equal(a.numpy(), b)
    with pytest.raises(IndexError):
        frames[2]


def test_frames_crop_and_flip_image_and_label_together_and_rerandomize(tmp_path):
    _write_coded_split(tmp_path, "train", 5, 48, 56)
    make = lambda seed: camvid.SegmentationFrames(  # noqa: E731
        str(tmp_path), "train", batch_size=2, crop_size=(32, 40), seed=seed, pad_multiple=8)
    frames = make(3)
    assert len(frames) == 2  # full batches only
    flips, epochs = set(), []
    for _ in range(4):
        epoch = [frames[i] for i in range(len(frames))]
        epochs.append(epoch)
        frames.on_epoch_end()
        for images, labels, weights in epoch:
            assert images.shape == (2, 32, 40, 3) and labels.shape == (2, 32, 40)
            pixels = np.rint(images * 255).astype(int)
            np.testing.assert_array_equal(pixels[..., 0], labels * 20)
            np.testing.assert_array_equal(weights, labels != camvid.VOID)
            for cols, rows in zip(pixels[..., 1], pixels[..., 2]):
                step = cols[0, 1] - cols[0, 0]
                flips.add(step)
                np.testing.assert_array_equal(cols, cols[:, :1] + step * np.arange(40))
                assert (rows == rows[0, 0] + np.arange(32)[:, None]).all()
    assert flips == {1, -1}

    def same(a, b):
        return all(np.array_equal(x, y) for ba, bb in zip(a, b) for x, y in zip(ba, bb))

    again = make(3)
    assert same(epochs[0], [again[i] for i in range(2)])
    assert not same(epochs[0], epochs[1])
    assert not same(epochs[0], [make(4)[i] for i in range(2)])


def test_frames_validate_like_load_dataset_before_any_work(tmp_path):
    _write_split(tmp_path, "train", 2, 40, 40)
    with pytest.raises(ValueError, match="crop_size=\\(64, 32\\) is larger"):
        camvid.SegmentationFrames(str(tmp_path), "train", crop_size=(64, 32), batch_size=1)
    with pytest.raises(ValueError, match="batch_size=3 exceeds"):
        camvid.SegmentationFrames(str(tmp_path), "train", batch_size=3, crop_size=(32, 32))
    with pytest.raises(FileNotFoundError, match="CamVid folder not found"):
        camvid.SegmentationFrames(str(tmp_path), "val")


_NO_TENSORFLOW_FIT = """
import importlib.abc, os, sys

class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("TensorFlow is not installed here")

sys.meta_path.insert(0, _NoTensorFlow())
os.environ["KERAS_BACKEND"] = "jax"
import keras, numpy as np
from tfmodels.data.camvid import SegmentationFrames, VOID
from tfmodels.models.segmentation import FCDenseNet

root = sys.argv[1]
train = SegmentationFrames(root, "train", batch_size=2, crop_size=(16, 16), seed=0)
val = SegmentationFrames(root, "val", batch_size=2, pad_multiple=4)
model = FCDenseNet(11, growth_rate=2, layers_per_block=1, initial_filters=4, num_pools=2,
                   input_shape=(None, None, 3), quantize=True)
model.compile(optimizer="rmsprop", loss=keras.losses.SparseCategoricalCrossentropy(
    from_logits=True, ignore_class=VOID))
history = model.fit(train, validation_data=val, epochs=2, verbose=0)
assert np.isfinite(history.history["val_loss"]).all(), history.history
model.save(os.path.join(root, "model.keras"))
assert keras.backend.backend() == "jax"
assert not [m for m in sys.modules if m.split(".")[0] == "tensorflow"]
print("trained without tensorflow", len(history.history["loss"]))
"""


def test_fc_densenet_trains_on_jax_without_tensorflow(tmp_path):
    # The stack decision: training works where TensorFlow is absent (JAX on a GPU machine).
    import subprocess
    import sys

    pytest.importorskip("jax")
    _write_split(tmp_path, "train", 4, 24, 24, seed=1)
    _write_split(tmp_path, "val", 2, 24, 24, seed=2)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-c", _NO_TENSORFLOW_FIT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained without tensorflow 2" in done.stdout
    assert (tmp_path / "model.keras").stat().st_size > 0
