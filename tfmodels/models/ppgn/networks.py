"""The networks of a PPGN at MNIST scale: the classifier whose code is E, the generator G, the
discriminator, and the denoising autoencoders (on the code h for PPGN-h, on images for PPGN-x).

The paper (arXiv:1612.00005, Sec. 3) uses CaffeNet: E is its fc6 code h (4096 ReLUs, after
the pool5 features h1), G maps h back to a 227 x 227 image. Here the classifier is a small
ConvNet on 28 x 28 digits: `h1` (the flattened second conv block) plays pool5 and `code`
(a Dense ReLU layer) plays fc6.

Example:
    >>> from tfmodels.models.ppgn import mnist_classifier, code_encoder, generator
    >>> classifier = mnist_classifier(code_units=16, filters=(4, 8), seed=0)
    >>> code_encoder(classifier).output_shape, generator(16, seed=0).output_shape
    ((None, 16), (None, 28, 28, 1))
"""

import keras

IMAGE_SHAPE = (28, 28, 1)
CODE_LAYER = "code"
FEATURE_LAYER = "h1"


def _positive_ints(name, values):
    values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be positive ints, got {values!r}")
    return values


def mnist_classifier(code_units=64, filters=(16, 32), num_classes=10, seed=0,
                     name="classifier"):
    """The classifier C whose penultimate ReLU layer is the code h (E).

    Args:
        code_units: width of the `code` layer (the paper's fc6, 4096 there).
        filters: filters of the two 3 x 3 conv blocks (each ReLU, then 2 x 2 max pooling);
            their flattened output is the layer `h1` (the paper's pool5).
        num_classes: logits.
        seed: weight initialization.
        name: the model's name.

    Returns:
        A functional `keras.Model` `(B, 28, 28, 1)` in [0, 1] -> logits `(B, num_classes)`.
    """
    code_units, = _positive_ints("code_units", code_units)
    filters = _positive_ints("filters", filters)
    num_classes, = _positive_ints("num_classes", num_classes)
    init = keras.initializers.GlorotUniform
    x = inputs = keras.Input(IMAGE_SHAPE, name="image")
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", activation="relu",
                                kernel_initializer=init(seed + i), name=f"conv_{i + 1}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{i + 1}")(x)
    x = keras.layers.Flatten(name=FEATURE_LAYER)(x)
    x = keras.layers.Dense(code_units, activation="relu", kernel_initializer=init(seed + 10),
                           name=CODE_LAYER)(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer=init(seed + 11),
                                name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def independent_classifier(hidden=(256, 128), num_classes=10, seed=100, name="independent"):
    """A second MNIST classifier of another architecture (an MLP), for evaluation only: the
    metrics must not be computed with the network the sampler climbed (C).

    Its last hidden layer is named `features` (the Frechet distance's feature space).
    """
    hidden = _positive_ints("hidden", hidden)
    init = keras.initializers.GlorotUniform
    x = inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden):
        last = i == len(hidden) - 1
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed + i),
                               name="features" if last else f"dense_{i + 1}")(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer=init(seed + 50), name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def code_encoder(classifier, code_layer=CODE_LAYER, feature_layer=None):
    """E: the classifier's input -> its code layer's output (sharing the classifier's weights).

    Args:
        classifier: a functional classifier (`mnist_classifier`).
        code_layer: the layer whose output is h.
        feature_layer: also return this layer's output, as `(h1, h)` (feature matching).

    Returns:
        A `keras.Model` image -> h, or image -> `[h1, h]`.
    """
    for layer_name in (code_layer, feature_layer):
        if layer_name is not None and layer_name not in [l.name for l in classifier.layers]:
            raise ValueError(f"classifier {classifier.name!r} has no layer {layer_name!r}")
    code = classifier.get_layer(code_layer).output
    outputs = code if feature_layer is None else [classifier.get_layer(feature_layer).output, code]
    return keras.Model(classifier.input, outputs, name=f"{classifier.name}_encoder")


def generator(code_units=64, filters=(64, 32), seed=0, name="generator"):
    """G: code h -> image in [0, 1] (a 7 x 7 map upsampled twice by strided transposed convs,
    the paper's deconvolutional generator in miniature).

    Args:
        code_units: the code's width.
        filters: channels of the 7 x 7 map and of the 14 x 14 map.
        seed: weight initialization.
    """
    code_units, = _positive_ints("code_units", code_units)
    filters = _positive_ints("filters", filters)
    if len(filters) != 2:
        raise ValueError(f"filters must be two ints (7 x 7 and 14 x 14 maps), got {filters!r}")
    init = keras.initializers.GlorotUniform
    h = keras.Input((code_units,), name="code")
    x = keras.layers.Dense(7 * 7 * filters[0], kernel_initializer=init(seed), name="project")(h)
    x = keras.layers.LeakyReLU(0.2, name="project_act")(x)
    x = keras.layers.Reshape((7, 7, filters[0]), name="reshape")(x)
    x = keras.layers.Conv2DTranspose(filters[1], 4, strides=2, padding="same",
                                     kernel_initializer=init(seed + 1), name="up_1")(x)
    x = keras.layers.LeakyReLU(0.2, name="up_1_act")(x)
    x = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid",
                                     kernel_initializer=init(seed + 2), name="image")(x)
    return keras.Model(h, x, name=name)


def discriminator(filters=(32, 64), seed=0, name="discriminator"):
    """The GAN discriminator: image -> one logit (real > 0). Strided convs, leaky ReLUs."""
    filters = _positive_ints("filters", filters)
    init = keras.initializers.GlorotUniform
    x = inputs = keras.Input(IMAGE_SHAPE, name="image")
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 4, strides=2, padding="same",
                                kernel_initializer=init(seed + i), name=f"conv_{i + 1}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"conv_{i + 1}_act")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logit = keras.layers.Dense(1, kernel_initializer=init(seed + 10), name="logit")(x)
    return keras.Model(inputs, logit, name=name)


def code_dae(code_units=64, hidden=(128, 32, 128), noise_std=1.0, seed=0, name="code_dae"):
    """The separately trained DAE on h (PPGN-h's prior, Sec. 3.3: an MLP, 4096-2048-1024-500-
    1024-2048-4096 there). Gaussian noise is added to its input in training only
    (`keras.layers.GaussianNoise`); its output is ReLU, as h is.

    Args:
        code_units: the code's width.
        hidden: hidden widths (ReLU).
        noise_std: the corruption's standard deviation, in the code's units.
        seed: weight initialization.

    Fit it with `dae.fit(h, h)`: the reconstruction R(h) then estimates
    `h + noise_std**2 * d log p(h) / dh` (Alain & Bengio, 2014), the sampler's prior term.
    """
    code_units, = _positive_ints("code_units", code_units)
    hidden = _positive_ints("hidden", hidden)
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0, got {noise_std!r}")
    init = keras.initializers.GlorotUniform
    h = keras.Input((code_units,), name="code")
    x = keras.layers.GaussianNoise(float(noise_std), seed=seed, name="corrupt")(h)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed + i),
                               name=f"dense_{i + 1}")(x)
    x = keras.layers.Dense(code_units, activation="relu", kernel_initializer=init(seed + 50),
                           name="reconstruction")(x)
    return keras.Model(h, x, name=name)


def image_dae(hidden=(256,), noise_std=0.3, seed=0, name="image_dae"):
    """The DAE on images (PPGN-x's prior, Sec. 3.1): an MLP with a sigmoid output, Gaussian
    noise of `noise_std` (pixel units) on its input in training only. Fit with `dae.fit(x, x)`."""
    hidden = _positive_ints("hidden", hidden)
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0, got {noise_std!r}")
    init = keras.initializers.GlorotUniform
    x = inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = keras.layers.GaussianNoise(float(noise_std), seed=seed, name="corrupt")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed + i),
                               name=f"dense_{i + 1}")(x)
    x = keras.layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1], activation="sigmoid",
                           kernel_initializer=init(seed + 50), name="pixels")(x)
    x = keras.layers.Reshape(IMAGE_SHAPE, name="reconstruction")(x)
    return keras.Model(inputs, x, name=name)
