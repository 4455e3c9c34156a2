"""Shared test helpers: the standard Keras layer check, used by every layer's tests."""

import os

import keras
import numpy as np
import pytest


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


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape=None,
    input_data=None,
    mixed_policies=("mixed_float16", "mixed_bfloat16"),
    **kwargs,
):
    """Keras's own layer-conformance harness, plus a training check under mixed precision.

    1. `keras.src.testing.TestCase.run_layer_test` (the harness Keras runs over its own
       layers: config and serialization round trips, build, symbolic and eager calls, a
       compiled training step, and `run_mixed_precision_check`: under `mixed_float16` the
       output has the dtype the symbolic call promises and every float weight is float32).
       Tests may use `keras.src` testing helpers; library code may not.
    2. For each of `mixed_policies`: the layer built with that `dtype` and called with
       `training=True` returns finite values in the compute dtype with float32 weights, and a
       compiled `fit` step on it (Keras adds loss scaling for `mixed_float16`) gives a finite
       loss and changes a trainable weight. Keras's check (1) calls the layer at inference only;
       the QAT range updates and stochastic quantizers run in training. This step is not
       jit-compiled (check 1's step is).

    Args:
        layer_cls: the layer class, or a callable taking the same keyword arguments (`dtype`
            included) that returns a layer (e.g. a quantized cell inside `keras.layers.RNN`).
        init_kwargs: constructor keyword arguments.
        input_shape, input_data: one of them, as for Keras's harness (input_data for integer
            or structured inputs).
        mixed_policies: policies of check 2 (empty to skip it).
        **kwargs: any other `run_layer_test` argument (expected_output_shape, call_kwargs,
            run_training_check, ...).
    """
    from keras.src.testing import TestCase

    TestCase().run_layer_test(
        layer_cls, init_kwargs, input_shape=input_shape, input_data=input_data, **kwargs
    )
    if input_data is None:
        input_data = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    for policy in mixed_policies:
        check_mixed_precision(
            lambda: layer_cls(**{**init_kwargs, "dtype": policy}), input_data, policy
        )


def check_mixed_precision(layer_factory, input_data, policy):
    """Check 2 of `run_layer_test` for one layer built with `dtype=policy` (a mixed one)."""
    compute_dtype = keras.DTypePolicy(policy).compute_dtype
    layer = layer_factory()
    outputs = keras.tree.flatten(layer(input_data, training=True))
    for output in outputs:
        assert keras.backend.standardize_dtype(output.dtype) == compute_dtype, (
            f"{layer.name}: output {output.dtype} under {policy}"
        )
        assert np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))).all()
    float_weights = [w for w in layer.weights if "float" in keras.backend.standardize_dtype(w.dtype)]
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in float_weights)

    class Wrapper(keras.Model):
        def __init__(self, inner):
            super().__init__(dtype=policy)
            self.inner = inner

        def call(self, x, training=False):
            return keras.tree.flatten(self.inner(x, training=training))[0]

    model = Wrapper(layer_factory())
    eager = model(input_data)
    y = np.random.default_rng(1).normal(size=tuple(eager.shape)).astype("float32")
    optimizer = keras.optimizers.SGD(0.01)
    if model.dtype_policy.name == "mixed_float16":
        # What compile adds by itself, with a small initial scale: the default 2**15 can
        # overflow float16 gradients, and the skipped step would change no weight.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2.0**4)
    # Not jit-compiled: Keras's check 1 already ran a compiled step; this one is about dtypes,
    # and skipping XLA keeps it fast on JAX.
    model.compile(optimizer=optimizer, loss="mse", jit_compile=False)
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    history = model.fit(input_data, y, batch_size=len(y), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    if before:
        assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "no weight changed"


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


# A case of a `multibackend` test module that runs on TensorFlow only: a check that does not
# depend on the backend (structure, arguments, configs), or one case of a parametrized test
# whose code runs on JAX through a sibling case (e.g. the GRU cell's harness when the LSTM's
# runs on both). JAX compiles every eager op of every new shape once (~40 ms each here), so
# such reruns cost seconds each and add no coverage.
tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="runs once, on TensorFlow: backend-independent, or covered on JAX by a sibling case",
)


def on_tensorflow_only(*values, id=None):
    """`pytest.param(*values, id=id)` marked `tensorflow_only`."""
    return pytest.param(*values, id=id, marks=tensorflow_only)


def under_global_policy(policy, factory):
    """`factory()` called with `policy` as the global dtype policy (restored after).

    For functional models built by factory functions (their layers take the global policy
    when created, not a `dtype` argument): `check_mixed_precision(lambda:
    under_global_policy(policy, build), x, policy)` is the harness's check 2 for them.
    """
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        return factory()
    finally:
        keras.mixed_precision.set_global_policy(previous)
