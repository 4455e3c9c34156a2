"""Shared test helpers: the standard Keras layer check, used by every layer's tests."""

import os

import keras
import numpy as np


def backend():
    return keras.backend.backend()


def check_layer(layer_factory, input_shape, tmp_path, training_step=True, atol=1e-6):
    """The standard checks for a tfmodels layer.

    1. `get_config` -> `from_config` round trip gives the same config.
    2. Symbolic output shape (functional model) equals the eager output shape.
    3. One `model.fit` step runs and changes the trainable weights (if any).
    4. A `.keras` save/load round trip gives identical inference outputs.

    Args:
        layer_factory: zero-argument callable returning a fresh layer.
        input_shape: input shape including batch.
        tmp_path: a pytest tmp_path for the `.keras` file.
        training_step: run check 3.
        atol: tolerance of check 4.

    Returns:
        The trained model (for further assertions).
    """
    layer = layer_factory()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config

    rng = np.random.default_rng(0)
    x = rng.normal(size=input_shape).astype("float32")
    inputs = keras.Input(input_shape[1:], batch_size=None)
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    eager = model(x)
    assert tuple(outputs.shape[1:]) == tuple(eager.shape[1:])

    if training_step and model.trainable_weights:
        before = [np.array(w) for w in model.trainable_weights]
        y = rng.normal(size=tuple(eager.shape)).astype("float32")
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=1, batch_size=input_shape[0], verbose=0)
        after = [np.array(w) for w in model.trainable_weights]
        assert any(not np.allclose(a, b) for a, b in zip(before, after)), "no weight changed"

    path = os.path.join(str(tmp_path), "layer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        atol=atol,
    )
    assert type(loaded.layers[-1]) is type(layer)
    return model


def run_step_tflite(path, sequence):
    """Steps a step-model `.tflite` (`(x, *states) -> (y, *states)`) over `sequence` from zero
    states in the LiteRT interpreter and returns every step's `y` (batch axis dropped).

    Written here, apart from `tfmodels.export`, so that tests check the library's figures
    against an independent reading of the file. int8 inputs and outputs are (de)quantized with
    the file's own scale and zero point.
    """
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    inputs, outputs = runner.get_input_details(), runner.get_output_details()

    def quantize(value, detail):
        scale, zero = detail["quantization"]
        if np.dtype(detail["dtype"]) == np.int8:
            value = np.clip(np.round(np.asarray(value) / scale + zero), -128, 127)
        return np.asarray(value).reshape(detail["shape"]).astype(detail["dtype"])

    def dequantize(value, detail):
        scale, zero = detail["quantization"]
        return (value.astype(np.float32) - zero) * scale if value.dtype == np.int8 else value

    states = [name for name in inputs if name != "x"]
    carried = {name: np.zeros(inputs[name]["shape"], np.float32) for name in states}
    ys = []
    for x in np.asarray(sequence):
        feed = {n: quantize(carried[n], inputs[n]) for n in states}
        out = runner(x=quantize(x, inputs["x"]), **feed)
        carried = {n: dequantize(out[n], outputs[n]) for n in states}
        ys.append(dequantize(out["y"], outputs["y"])[0])
    return np.stack(ys)
