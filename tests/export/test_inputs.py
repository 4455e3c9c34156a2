"""Tests for tfmodels.export.inputs: every reasonable form of model inputs, and clear refusals."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfmodels.export import export_tflite, verify_tflite
from tfmodels.export.inputs import named_arrays
from tfmodels.export.saved_model import serving_signature

X = np.random.default_rng(0).normal(size=(4, 2, 3)).astype("float32")
Z = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")


def _one_input():
    inputs = keras.Input((2, 3), name="image")
    return keras.Model(inputs, keras.layers.Dense(2, name="logits")(keras.layers.Flatten()(inputs)))


def _two_inputs():
    a, b = keras.Input((2, 3), name="a"), keras.Input((5,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Flatten()(a), b])
    return keras.Model([a, b], keras.layers.Dense(2, name="logits")(h))


ONE_INPUT_FORMS = {
    "array": lambda: X,
    "dict": lambda: {"image": X},
    "list of one batch": lambda: [X],
    "list of samples": lambda: list(X),
    "tuple of batch-1 samples": lambda: tuple(x[None] for x in X),
    "TFLite-style list per sample": lambda: [[x[None]] for x in X],
    "generator": lambda: (x for x in X),
    "callable": lambda: (lambda: iter([[x[None]] for x in X])),
    "tf.data": lambda: tf.data.Dataset.from_tensor_slices(X),
    "batched tf.data": lambda: tf.data.Dataset.from_tensor_slices(X).batch(3),
    "tensor": lambda: tf.constant(X),
}


@pytest.mark.parametrize("form", sorted(ONE_INPUT_FORMS))
def test_one_input_forms_agree(form):
    arrays = named_arrays(ONE_INPUT_FORMS[form](), serving_signature(_one_input()), "data")
    assert list(arrays) == ["image"]
    np.testing.assert_array_equal(arrays["image"], X)


@pytest.mark.parametrize("form", ["dict", "list per input", "dicts per sample",
                                  "lists per sample", "dataset of dicts"])
def test_two_input_forms_agree(form):
    data = {
        "dict": lambda: {"b": Z, "a": X},
        "list per input": lambda: [X, Z],
        "dicts per sample": lambda: [{"a": a, "b": b} for a, b in zip(X, Z)],
        "lists per sample": lambda: [(a[None], b[None]) for a, b in zip(X, Z)],
        "dataset of dicts": lambda: tf.data.Dataset.from_tensor_slices({"a": X, "b": Z}),
    }[form]()
    arrays = named_arrays(data, serving_signature(_two_inputs()), "data")
    np.testing.assert_array_equal(arrays["a"], X)
    np.testing.assert_array_equal(arrays["b"], Z)


@pytest.mark.parametrize(
    "data, model, match",
    [
        (X, _two_inputs, "one array, but the model has inputs"),
        ([X, Z, Z], _two_inputs, "3 arrays"),
        ({"image": X, "extra": X}, _one_input, "do not match"),
        ([X[0], X[0, 0]], _one_input, r"data\[1\] for input 'image' has shape"),
        ([{"a": X[0]}], _two_inputs, r"data\[0\] keys"),
        (["not an array"], _one_input, "accepted forms"),
        ([], _one_input, "no samples"),
        (X[:0], _one_input, "no samples"),
        (np.full((2, 2, 3), np.nan, "float32"), _one_input, "non-finite"),
        (np.zeros((2, 3, 3), "float32"), _one_input, r"expected \(batch,\) \+ \(2, 3\)"),
    ],
)
def test_bad_forms_are_refused_naming_the_argument(data, model, match):
    with pytest.raises(ValueError, match=match) as info:
        named_arrays(data, serving_signature(model()), "data")
    assert str(info.value).startswith("data")


def test_export_calibrates_on_a_list_of_single_samples(tmp_path):
    model = _one_input()
    report = export_tflite(model, tmp_path / "m.tflite", mode="int8",
                           representative_data=[x for x in X])
    assert report.tensor_dtypes.get("int8", 0) > 0
    check = verify_tflite(report.path, model, (x for x in X))
    assert check.num_samples == len(X) and check.max_abs_error["logits"] < 0.1
