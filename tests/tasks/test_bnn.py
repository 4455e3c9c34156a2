import os

import numpy as np
import pytest

from tfmodels.data import mnist
from tfmodels.tasks import bnn


def write_fixture(folder, num_train=60, num_test=20):
    """Tiny MNIST: class k lights row band k, plus noise (learnable in a few steps)."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", num_train), ("test", num_test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 3] = 255
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(os.path.join(folder, images_name + ".gz"), images)
        mnist.write_idx(os.path.join(folder, labels_name + ".gz"), labels)
    return str(folder)


def test_binary_mlp_trains_exports_and_its_packed_and_int8_files_match_keras(tmp_path):
    data_dir = write_fixture(tmp_path / "mnist")
    result = bnn.train_bnn(preset="tiny", epochs=3, batch_size=10, learning_rate=1e-2,
                           final_learning_rate=1e-3, validation=10, data_dir=data_dir,
                           export_dir=str(tmp_path / "out"), calibration_samples=20, seed=1)
    assert result.test_error < 0.5  # the bands are easy: chance is 0.9
    assert os.path.isfile(result.model_path) and os.path.isfile(result.packed_path)
    assert result.packed_agreement == 1.0
    assert result.sizes["packed_1bit"] < result.sizes["float32"] / 4
    # The int8 file is the model's integer-threshold twin: exact predictions (the twin's own
    # tests check the kernels and logits).
    assert result.device_agreement == 1.0
    assert result.device_test_error == result.test_error
    assert 0.0 <= result.int8_logits_agreement <= 1.0
    assert "bnn mlp_tiny_w-binary_a-binary_seed1" in str(result)
    assert "predictions equal to Keras: 100.00%" in str(result)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="model"):
        bnn.train_bnn(model="rnn")
    with pytest.raises(ValueError, match="loss"):
        bnn.train_bnn(loss="hinge")
    with pytest.raises(ValueError, match="epochs"):
        bnn.train_bnn(epochs=0)


def test_kbit_mlp_and_convnet_export_int8(tmp_path):
    data_dir = write_fixture(tmp_path / "mnist")
    common = dict(epochs=2, batch_size=10, learning_rate=1e-2, final_learning_rate=1e-3,
                  validation=10, data_dir=data_dir, calibration_samples=20, seed=1)
    # 2-bit activations: int8_twin's step units make the int8 file exact too.
    kbit = bnn.train_bnn(preset="tiny", activations="linear2",
                         export_dir=str(tmp_path / "kbit"), **common)
    assert kbit.device_agreement == 1.0
    assert kbit.device_test_error == kbit.test_error
    # A ConvNet (28 x 28 images given to a (28, 28, 1) input) converts as it is and runs on
    # the test set; this barely trained tiny net's near-tied logits say nothing of the
    # agreement (the README measures it on a trained one).
    conv = bnn.train_bnn(model="convnet", preset="tiny", export_dir=str(tmp_path / "conv"),
                         **common)
    assert os.path.isfile(conv.tflite_path) and conv.packed_path is None
    assert conv.int8_logits_agreement is None
    assert 0.0 <= conv.device_agreement <= 1.0 and 0.0 <= conv.device_test_error <= 1.0


def test_binary_convnet_int8_file_stores_baked_kernels(tmp_path):
    """The cpu preset (untrained: conversion alone) with its kernel quantizers left in the
    graph converted to CONV_2D kernels of int8 zero point -1, which LiteRT refuses; baked,
    every kernel is +-127 per channel with zero point 0 and the file runs."""
    from tfmodels.export.runtime import LiteRTRunner
    from tfmodels.models.qnn import qnn_convnet

    net = qnn_convnet("cpu", seed=0)
    x = np.random.default_rng(0).integers(0, 256, (20, 28, 28)).astype("float32") / 255
    keras_test = np.argmax(net.predict(x[..., None], verbose=0), -1)
    checked = bnn.export_int8(net, str(tmp_path / "conv.tflite"), x, x, keras_test,
                              keras_test)
    assert 0.0 <= checked["device_agreement"] <= 1.0
    interpreter = LiteRTRunner(checked["tflite_path"]).interpreter
    kernels = [d for d in interpreter.get_tensor_details()
               if d["dtype"] == np.int8 and len(d["shape"]) == 4 and d["shape"][0] > 1]
    assert len(kernels) == 6
    for detail in kernels:
        np.testing.assert_array_equal(np.unique(interpreter.get_tensor(detail["index"])),
                                      [-127, 127])
        assert not np.any(detail["quantization_parameters"]["zero_points"])
