"""The README's custom-QAT table: tfmot's QAT API on Keras 3, LeNet-300-100 on real MNIST.

Usage:
  python benchmarks/custom_qat_mnist.py [--epochs=2] [--qat_epochs=1] [--out=export/custom_qat_mnist]

A float LeNet-300-100 (784-300-100-10) is trained once; each row makes a QAT model from it,
fine-tunes it for `--qat_epochs` (Adam 1e-4, same seed), and exports int8 `.tflite`
(calibrated on 64 training images where QAT left a tensor without a range):

- `quantize_model`: tfmodels' QAT (int8 kernels, int8 inputs of every Dense);
- `quantize_apply(quantize_annotate_model)`: the tfmot-style path with tfmodels' defaults,
  which must give the same layers and the same numbers;
- `tfmot guide config`: fc1 and fc2 annotated with the QuantizeConfig of tfmot's
  "custom quantization" guide (LastValueQuantizer kernels, MovingAverageQuantizer on the
  activation output), written as for tfmot, through `QuantizeWrapper`;
- `4-bit kernels`: fc1 and fc2 with a `Default8BitQuantizeConfig` subclass whose kernels are
  `Uniform(bits=4)` (the converter stores such kernels as int4).

Test error is on the 10k test images, for the Keras QAT model and for the `.tflite` file in
LiteRT; agreement is the fraction of test images where both give the same class.
"""

import argparse
import os

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--qat_epochs", type=int, default=1)
    parser.add_argument("--out", default="export/custom_qat_mnist")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    import keras

    from tfmodels.data import mnist
    from tfmodels.optimization import quantization as tq
    from tfmodels.optimization.quantization.quantizers import (
        LastValueQuantizer,
        MovingAverageQuantizer,
    )
    from tfmodels.quantization import Uniform, quantize_model

    class GuideDenseConfig(tq.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return [(layer.kernel, LastValueQuantizer(num_bits=8, symmetric=True,
                                                      narrow_range=False, per_axis=False))]

        def get_activations_and_quantizers(self, layer):
            return [(layer.activation, MovingAverageQuantizer(
                num_bits=8, symmetric=False, narrow_range=False, per_axis=False))]

        def set_quantize_weights(self, layer, quantize_weights):
            layer.kernel = quantize_weights[0]

        def set_quantize_activations(self, layer, quantize_activations):
            layer.activation = quantize_activations[0]

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    class FourBitKernels(tq.Default8BitQuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return [(layer.kernel, Uniform(bits=4))]

    data = mnist.load(normalize=True)
    x_train, y_train = data.x_train.reshape(-1, 784), data.y_train
    x_test, y_test = data.x_test.reshape(-1, 784), data.y_test
    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((784,), name="image"),
                             keras.layers.Dense(300, activation="relu", name="fc1"),
                             keras.layers.Dense(100, activation="relu", name="fc2"),
                             keras.layers.Dense(10, name="logits")])
    _compile(base, 1e-3)
    base.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=2)
    float_error = _error(base.predict(x_test, verbose=0), y_test)

    def annotated_with(config_class):
        # tfmot's workflow: annotate some layers with a config while building the model,
        # let quantize_annotate_model annotate the rest with the defaults, apply.
        layers = []
        for layer in base.layers:
            copy = keras.layers.Dense.from_config(layer.get_config())
            layers.append(copy if layer.name == "logits"
                          else tq.quantize_annotate_layer(copy, config_class()))
        model = keras.Sequential([keras.Input((784,), name="image"), *layers])
        for new, old in zip(model.layers, base.layers):
            getattr(new, "layer", new).set_weights(old.get_weights())
        return tq.quantize_apply(tq.quantize_annotate_model(model))

    rows = [
        ("quantize_model", lambda: quantize_model(base)),
        ("quantize_apply(quantize_annotate_model)",
         lambda: tq.quantize_apply(tq.quantize_annotate_model(base))),
        ("tfmot guide config on fc1, fc2", lambda: annotated_with(GuideDenseConfig)),
        ("4-bit kernels on fc1, fc2", lambda: annotated_with(FourBitKernels)),
    ]
    print(f"float model: test error {100 * float_error:.2f}%")
    print("| QAT model | layers | Keras QAT test error % | int8 .tflite test error % | "
          "agreement | bytes | stored weights |")
    print("|---|---|---|---|---|---|---|")
    logits_of = {}
    for label, make in rows:
        keras.utils.set_random_seed(1)
        qat = make()
        _compile(qat, 1e-4)
        qat.fit(x_train, y_train, batch_size=128, epochs=args.qat_epochs, verbose=2)
        keras_logits = qat.predict(x_test, verbose=0)
        logits_of[label] = keras_logits
        path = os.path.join(args.out, label.split(" ")[0].replace("(", "_").strip("_)")
                            + ".tflite")
        tflite_logits, report = _tflite(qat, path, x_train[:64], x_test)
        weights = ", ".join(f"{k} x{v}" for k, v in sorted(report.weight_dtypes.items()))
        agreement = np.mean(tflite_logits.argmax(-1) == keras_logits.argmax(-1))
        kinds = "/".join(type(layer).__name__ for layer in qat.layers)
        print(f"| {label} | {kinds} | {100 * _error(keras_logits, y_test):.2f} | "
              f"{100 * _error(tflite_logits, y_test):.2f} | {100 * agreement:.1f}% | "
              f"{report.size_bytes:,} | {weights} |")
    difference = np.abs(logits_of[rows[0][0]] - logits_of[rows[1][0]]).max()
    print(f"max |logits difference| quantize_model vs quantize_apply: {difference}")


def _compile(model, learning_rate):
    import keras

    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def _error(logits, labels):
    return float(np.mean(np.argmax(logits, -1) != labels))


def _tflite(model, path, calibration, x_test):
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    report = export_tflite(model, path, mode="int8", representative_data=calibration)
    logits = next(iter(LiteRTRunner(path, num_threads=1).predict(x_test).values()))
    return logits, report


if __name__ == "__main__":
    main()
