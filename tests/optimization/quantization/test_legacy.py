"""The tfmot legacy bridge. The tfmot tests run in child processes and need
tensorflow-model-optimization and tf-keras importable: installed (`pip install tfmodels[tfmot]`)
or in a folder named by TFMODELS_TFMOT_PATH (`pip install --no-deps --target DIR
tensorflow-model-optimization==0.8.1 tf-keras==2.21.0 dm-tree`, which leaves the
environment's absl-py alone); otherwise they are skipped."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tfmodels.quantization import Ternary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TFMOT_PATH = os.environ.get("TFMODELS_TFMOT_PATH", "")


def _has_tfmot():
    for name in ("tensorflow_model_optimization", "tf_keras"):
        if importlib.util.find_spec(name) is None and not (
                TFMOT_PATH and os.path.isdir(os.path.join(TFMOT_PATH, name))):
            return False
    return True


needs_tfmot = pytest.mark.skipif(not _has_tfmot(), reason="tensorflow-model-optimization and "
                                 "tf-keras not installed (see the module docstring)")


def _run(script, legacy, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    path = [ROOT, TFMOT_PATH, env.get("PYTHONPATH", "")]
    env.update(PYTHONPATH=os.pathsep.join(p for p in path if p), TF_CPP_MIN_LOG_LEVEL="3",
               KERAS_BACKEND="tensorflow")
    if legacy:
        env["TF_USE_LEGACY_KERAS"] = "1"
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_bridge_does_not_import_tfmot_and_checks_arguments_first():
    from tfmodels.optimization.quantization import legacy

    with pytest.raises(ValueError, match="deterministic"):
        legacy.kernel_quantize_config(Ternary(stochastic=True))
    with pytest.raises(ValueError, match="quantizer must be a tfmodels"):
        legacy.tfmot_quantizer("ternary")
    with pytest.raises(ValueError, match="activation_bits"):
        legacy.kernel_quantize_config(Ternary(), activation_bits=1)
    assert "tensorflow_model_optimization" not in sys.modules


_LEGACY = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
import tf_keras
import tensorflow_model_optimization as tfmot
from ai_edge_litert.interpreter import Interpreter
from tfmodels.export import tflite
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.optimization.quantization import legacy
from tfmodels.quantization import Ternary

tq = tfmot.quantization.keras
tf_keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32")
y = (x[:, :3] @ rng.normal(size=(3, 3))).argmax(-1)
model = tf_keras.Sequential([
    tq.quantize_annotate_layer(tf_keras.layers.Dense(16, activation="relu", input_shape=(8,)),
                               legacy.kernel_quantize_config(Ternary())),
    tf_keras.layers.Dense(3)])
with tq.quantize_scope(legacy.custom_objects()):
    qat = tq.quantize_apply(tq.quantize_annotate_model(model))
qat.compile(tf_keras.optimizers.Adam(0.01),
            tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
before = qat.layers[1].weights[0].numpy().copy()
history = qat.fit(x, y, epochs=10, batch_size=32, verbose=0)
kernel = [w for w in qat.layers[1].weights if w.name.endswith("kernel:0")][0].numpy()
path = os.path.join(sys.argv[1], "legacy.tflite")
function = tf.function(lambda features: {"logits": qat(features, training=False)})
report = tflite.write_tflite(qat, path, "int8", tflite.convert,
                             calibration={"features": x[:32]}, function=function,
                             input_specs=[("features", (1, 8), "float32")])
interpreter = Interpreter(model_path=path)
interpreter.allocate_tensors()
stored = [interpreter.get_tensor(d["index"]) for d in interpreter.get_tensor_details()
          if d["dtype"] == np.int8 and tuple(d["shape"]) == (16, 8)]
logits = LiteRTRunner(path).predict({"features": x[:64]})["logits"]
keras_logits = qat.predict(x[:64], verbose=0)
print(json.dumps({
    "layers": [type(layer).__name__ for layer in qat.layers],
    "accuracy": history.history["accuracy"][-1],
    "kernel_moved": bool(np.abs(kernel - before).max() > 0),
    "ternary_levels": sorted(np.unique(Ternary()(kernel).numpy()).tolist()),
    "stored_levels": sorted(np.unique(stored[0]).tolist()) if len(stored) == 1 else None,
    "weight_dtypes": report.weight_dtypes,
    "agreement": float(np.mean(logits.argmax(-1) == keras_logits.argmax(-1))),
}))
"""


@needs_tfmot
def test_tf_keras_model_with_ternary_kernels_trains_and_converts_exactly(tmp_path):
    result = _run(_LEGACY, legacy=True, tmp_path=tmp_path)
    assert result["layers"] == ["QuantizeLayer", "QuantizeWrapperV2", "QuantizeWrapperV2"]
    assert result["kernel_moved"] and result["accuracy"] > 0.6  # chance is ~0.33
    assert len(result["ternary_levels"]) == 3 and result["ternary_levels"][1] == 0.0
    # The ternary kernel is stored exactly: three int8 levels, +-127 and 0.
    assert result["stored_levels"] == [-127, 0, 127]
    assert set(result["weight_dtypes"]) == {"int8", "int32"}
    assert result["agreement"] >= 0.9


_SCHEDULE = r"""
import json
import keras
import numpy as np
import tensorflow_model_optimization as tfmot
from tfmodels.optimization import sparsity

model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(2)])
schedule = tfmot.sparsity.keras.PolynomialDecay(0.0, 0.75, begin_step=0, end_step=8, frequency=2)
pruned = sparsity.prune_low_magnitude(model, schedule)
pruned.compile("sgd", "mse")
x = np.random.default_rng(0).random((64, 8)).astype("float32")
pruned.fit(x, x[:, :2], epochs=2, batch_size=8, verbose=0,
           callbacks=[sparsity.UpdatePruningStep()])
print(json.dumps({"keras": keras.__version__, "sparsity": sparsity.pruning_summary(pruned)}))
"""


@needs_tfmot
def test_tfmot_schedule_prunes_a_keras3_model_on_tensorflow(tmp_path):
    result = _run(_SCHEDULE, legacy=False, tmp_path=tmp_path)
    assert result["keras"].startswith("3.")
    assert sorted(result["sparsity"].values()) == [0.75, 0.75]
