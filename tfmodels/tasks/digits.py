"""Digit classification from image rows with quantized RNNs: train, evaluate, export, re-check.

scikit-learn's 8x8 digits read row by row (`tfmodels.data.digits`) make a small, offline
sequence task on which the quantizers of Ott et al. (arXiv:1608.06902) are compared. The model
is one quantized RNN layer over the 8 rows and a softmax over its last output.

The streaming step model is exported to `.tflite` (float32, and int8 unless told not to); the
int8 file is stepped over the 8 rows of every test image in the LiteRT interpreter and its
accuracy is reported next to the Keras model's.

Example:
    result = train_digits(cell="gru", quantizer="pow2_ternary", epochs=10)
    print(result)
"""

import dataclasses
import os

import keras
import numpy as np

from tfmodels.data import digits as digits_data
from tfmodels.models.rnn import RNN_LAYERS, quantizers
from tfmodels.tasks.rnn_result import RNNTaskResult
from tfmodels.tasks.training import training_callbacks
from tfmodels.utils.atomic import save_model


@dataclasses.dataclass
class DigitsResult(RNNTaskResult):
    """What `train_digits` measured and wrote (the run's fields: `RNNTaskResult`).

    Attributes:
        val_accuracy, test_accuracy: Keras model.
        device_accuracy: `{"keras": acc, mode: acc}` on the test images (step `.tflite` files
            run in the LiteRT interpreter, 8 steps per image).
    """

    val_accuracy: float
    test_accuracy: float
    device_accuracy: dict = dataclasses.field(default_factory=dict, kw_only=True)

    def __str__(self):
        scores = f"val {100 * self.val_accuracy:.1f}%, test {100 * self.test_accuracy:.1f}%"
        return self.format("digits", scores, "test accuracy", self.device_accuracy,
                           lambda v: f"{100 * v:.2f}%")


def digits_classifier(cell="lstm", units=32, kernel_quantizer=None, recurrent_quantizer=None,
                      bias_quantizer=None, input_batch_norm=False, seed=None):
    """Quantized RNN over the 8 rows of a digit, softmax over its last output.

    Args:
        cell: "lstm", "gru" or "rnn".
        units: state size.
        kernel_quantizer, recurrent_quantizer, bias_quantizer: the RNN's quantizers.
        input_batch_norm: batch-normalize the row features first.
        seed: initializers and stochastic quantizers.

    Returns:
        A `keras.Model`: `(batch, 8, 8)` rows -> `(batch, 10)` logits.
    """
    if cell not in RNN_LAYERS:
        raise ValueError(f"cell must be one of {sorted(RNN_LAYERS)}; got {cell!r}")
    inputs = keras.Input((digits_data.TIME_STEPS, digits_data.FEATURES), name="rows")
    h = RNN_LAYERS[cell](
        units, kernel_quantizer=kernel_quantizer, recurrent_quantizer=recurrent_quantizer,
        bias_quantizer=bias_quantizer, input_batch_norm=input_batch_norm,
        kernel_initializer=keras.initializers.GlorotUniform(seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed), seed=seed, name=cell,
    )(inputs)
    logits = keras.layers.Dense(
        digits_data.NUM_CLASSES, kernel_initializer=keras.initializers.GlorotUniform(seed),
        name="logits",
    )(h)
    return keras.Model(inputs, logits, name="digits_rnn")


def train_digits(
    cell="lstm",
    quantizer="float",
    stochastic=False,
    units=32,
    epochs=15,
    batch_size=32,
    learning_rate=5e-3,
    seed=0,
    export_dir=None,
    int8=True,
    verbose=0,
    work_dir=None,
    callbacks=None,
):
    """Trains a (quantized) RNN digit classifier and optionally exports and re-checks it.

    Args:
        cell: "lstm", "gru" or "rnn".
        quantizer: "float", "binary", "ternary", "pow2_ternary" or "exponential".
        stochastic: the stochastic variant.
        units: state size.
        epochs, batch_size, learning_rate: training (Adam).
        seed: the data split, initialization, order and sampling.
        export_dir: where `digits_<cell>_<quantizer>.keras` and the step `.tflite` files go;
            None skips export.
        int8: also export and check the int8 step model.
        verbose: Keras fit verbosity.
        work_dir: resumable training state and TensorBoard logs (see `train_char_lm`).
        callbacks: extra Keras callbacks for `model.fit`.

    Returns:
        A `DigitsResult`.
    """
    keras.utils.set_random_seed(seed)
    splits = digits_data.load_digits(seed=seed)
    train, val, test = digits_data.digits_datasets(batch_size=batch_size, seed=seed)
    model = digits_classifier(cell, units, input_batch_norm=(cell == "gru"), seed=seed,
                              **quantizers(quantizer, stochastic))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train, epochs=epochs, verbose=verbose,
              callbacks=[*training_callbacks(work_dir, "train"), *(callbacks or [])])
    result = DigitsResult(
        cell=cell, quantizer=quantizer, stochastic=stochastic, seed=seed,
        val_accuracy=float(model.evaluate(val, verbose=0, return_dict=True)["accuracy"]),
        test_accuracy=float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"]),
    )
    if export_dir is None:
        return result

    from tfmodels.export import rnn as rnn_export

    os.makedirs(export_dir, exist_ok=True)
    name = f"digits_{cell}_{quantizer}{'_stochastic' if stochastic else ''}"
    result.model_path = save_model(model, os.path.join(export_dir, f"{name}.keras"))
    keras_pred = np.argmax(model.predict(splits.x_test, verbose=0), -1)
    result.device_accuracy["keras"] = float(np.mean(keras_pred == splits.y_test))
    for mode in ("float32", "int8") if int8 else ("float32",):
        report = rnn_export.export_step_tflite(
            model, os.path.join(export_dir, f"{name}_step.{mode}.tflite"), mode=mode,
            representative_data=splits.x_train[:32] if mode == "int8" else None)
        result.tflite[mode] = report
        pred = np.array([np.argmax(rnn_export.run_step_tflite(report.path, x)[-1])
                         for x in splits.x_test])
        result.device_accuracy[mode] = float(np.mean(pred == splits.y_test))
    return result
