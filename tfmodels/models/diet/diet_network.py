"""Diet Networks (Romero et al., arXiv:1611.09340): a fat input layer whose weights are predicted.

A genotype classifier's first layer has `num_snps x hidden` weights (315,345 x 100 = 31.5M in
the paper) for a few thousand patients. A Diet Network keeps one fixed embedding vector per
SNP, `E` (`num_snps x e`, `tfmodels.models.diet.embeddings`), and an auxiliary MLP (the
authors' code: tanh 100-100) maps each row of `E` to that SNP's row of the fat layer,
`W_e = aux(E)`; only the auxiliary MLP is learned. The classifier on top is the paper's:

    h = ReLU(x W_e + b) -> BatchNorm -> Dropout 0.5 -> Dense 100 ReLU -> BatchNorm -> Dropout
      -> Dense num_classes softmax

With `reconstruction=True` a second auxiliary MLP predicts a decoder `W_d` from the same
embedding and the model also outputs `x_hat = ReLU(h W_d^T)`; training minimizes
`CE + gamma * MSE(x, x_hat)` (gamma 20 in the authors' code; `compile_diet`).

`basic_mlp` is the no-diet baseline (a plain `Dense` fat layer). `baked_model` turns a trained
Diet Network into a plain chain with the predicted `W_e` stored as an ordinary Dense kernel: what
a device runs (`tfmodels.tasks.diet.export_diet_tflite`).

Example:
    >>> import numpy as np
    >>> model = DietNetwork(num_features=50, num_classes=3, embedding_size=9,
    ...                     embedding=np.ones((50, 9), np.float32), hidden=8, head_units=8)
    >>> tuple(model(np.zeros((2, 50), np.float32)).shape)
    (2, 3)
"""

import keras
import numpy as np
from keras import ops


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _value_initializer(value):
    """An initializer giving `value` (a float32 array), or zeros for None."""
    if value is None:
        return "zeros"
    return lambda shape, dtype=None: ops.cast(ops.reshape(value, shape), dtype or "float32")


def _units(name, value):
    if isinstance(value, (int, np.integer)):
        value = (value,)
    value = tuple(value)
    for v in value:
        _positive_int(name, v)
    return value


@keras.saving.register_keras_serializable("tfmodels")
class DietFatLayer(keras.layers.Layer):
    """The fat layer of a Diet Network: `h = ReLU(x W_e + b)` with `W_e` predicted from `E`.

    `W_e = aux(E) / sqrt(num_features)`: `aux` is an MLP (`aux_units` with `aux_activation`,
    then a linear layer to `units`) applied to every row of the fixed embedding `E`. The
    `1 / sqrt(num_features)` keeps `x W_e` of order one whatever the number of SNPs (the
    scale a fan-in initializer would give a plain kernel); it is a constant, not a weight.

    With `reconstruction=True` the layer also owns the decoder's auxiliary MLP and returns
    `(h, x_hat)`, `x_hat = ReLU(h W_d^T)`, `W_d = aux_d(E) / sqrt(units)`.

    Args:
        units: fat-layer width (the paper: 100).
        num_features: inputs (SNPs).
        embedding_size: columns of `E`.
        aux_units: hidden widths of each auxiliary MLP (the authors' code: (100, 100)).
        aux_activation: their activation (tanh).
        reconstruction: also predict the decoder and return `(h, x_hat)`.
        embedding: initial `E`, float `(num_features, embedding_size)`; stored as a
            non-trainable weight (saved with the model; not in the config).
        seed: initializer seed.

    Input shape: `(batch, num_features)`. Output: `(batch, units)` (and `(batch,
    num_features)`).
    """

    def __init__(self, units, num_features, embedding_size, aux_units=(100, 100),
                 aux_activation="tanh", reconstruction=False, embedding=None, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        _positive_int("units", units)
        _positive_int("num_features", num_features)
        _positive_int("embedding_size", embedding_size)
        self.aux_units = _units("aux_units", aux_units)
        keras.activations.get(aux_activation)  # raises ValueError for an unknown name
        if embedding is not None:
            embedding = np.asarray(embedding, np.float32)
            if embedding.shape != (num_features, embedding_size):
                raise ValueError(f"embedding must have shape ({num_features}, {embedding_size}),"
                                 f" got {embedding.shape}")
            if not np.all(np.isfinite(embedding)):
                raise ValueError("embedding has non-finite values")
        self.units, self.num_features, self.embedding_size = units, num_features, embedding_size
        self.aux_activation = aux_activation
        self.reconstruction = bool(reconstruction)
        self.seed = seed
        self._initial_embedding = embedding

    def _aux_weights(self, prefix, seed_offset):
        weights = []
        sizes = (self.embedding_size, *self.aux_units, self.units)
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            seed = None if self.seed is None else self.seed * 100 + seed_offset + i
            kernel = self.add_weight(shape=(fan_in, fan_out), name=f"{prefix}_{i}_kernel",
                                     initializer=keras.initializers.GlorotUniform(seed))
            bias = self.add_weight(shape=(fan_out,), name=f"{prefix}_{i}_bias",
                                   initializer="zeros")
            weights.append((kernel, bias))
        return weights

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_features:
            raise ValueError(f"DietFatLayer expects {self.num_features} input features, got "
                             f"{input_shape[-1]}")
        # The initial value is the initializer, not an `assign` after creation: built inside
        # a subclassed model's first call (a symbolic pass), an assign is dropped and the
        # embedding stayed zeros (found by Keras's layer harness, #9).
        self.embedding = self.add_weight(shape=(self.num_features, self.embedding_size),
                                         name="embedding", trainable=False,
                                         initializer=_value_initializer(self._initial_embedding))
        self.encoder_aux = self._aux_weights("encoder_aux", 0)
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")
        if self.reconstruction:
            self.decoder_aux = self._aux_weights("decoder_aux", 50)

    def _predict(self, weights, scale):
        x = ops.convert_to_tensor(self.embedding)
        activation = keras.activations.get(self.aux_activation)
        for i, (kernel, bias) in enumerate(weights):
            x = ops.add(ops.matmul(x, kernel), bias)
            if i < len(weights) - 1:
                x = activation(x)
        return ops.multiply(x, scale)

    def predicted_kernel(self):
        """`W_e`, `(num_features, units)`: the fat layer's weights the auxiliary MLP predicts."""
        return self._predict(self.encoder_aux, 1.0 / np.sqrt(self.num_features))

    def predicted_decoder(self):
        """`W_d`, `(num_features, units)` (reconstruction only)."""
        if not self.reconstruction:
            raise ValueError("predicted_decoder needs reconstruction=True")
        return self._predict(self.decoder_aux, 1.0 / np.sqrt(self.units))

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        kernel = ops.cast(self.predicted_kernel(), self.compute_dtype)
        h = ops.relu(ops.add(ops.matmul(inputs, kernel), ops.cast(self.bias, self.compute_dtype)))
        if not self.reconstruction:
            return h
        decoder = ops.cast(self.predicted_decoder(), self.compute_dtype)
        return h, ops.relu(ops.matmul(h, ops.transpose(decoder)))

    def compute_output_shape(self, input_shape):
        h = (*input_shape[:-1], self.units)
        return (h, tuple(input_shape)) if self.reconstruction else h

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_features": self.num_features,
                "embedding_size": self.embedding_size, "aux_units": list(self.aux_units),
                "aux_activation": self.aux_activation, "reconstruction": self.reconstruction,
                "seed": self.seed}


@keras.saving.register_keras_serializable("tfmodels")
class GenotypeCentering(keras.layers.Layer):
    """`x - mean`: genotypes centred by their per-SNP training mean (a non-trainable weight).

    Raw genotypes (0/1/2, mean about 1) make every unit of the fat layer share one large
    component `sum_j mean_j W_j`; with predicted, strongly correlated `W_j` that component
    swamps the population signal and BatchNorm's moving statistics lag behind it (measured:
    validation accuracy jumping between chance and 20%). Centering removes it; `baked_model`
    folds it into the fat bias, so a device still reads raw genotypes.

    Args:
        num_features: SNPs.
        mean: initial `(num_features,)` mean (from the training rows); None: zeros.
    """

    def __init__(self, num_features, mean=None, **kwargs):
        super().__init__(**kwargs)
        _positive_int("num_features", num_features)
        if mean is not None:
            mean = np.asarray(mean, np.float32)
            if mean.shape != (num_features,):
                raise ValueError(f"mean must have shape ({num_features},), got {mean.shape}")
        self.num_features = num_features
        self._initial_mean = mean

    def build(self, input_shape):
        self.mean = self.add_weight(shape=(self.num_features,), name="mean", trainable=False,
                                    initializer=_value_initializer(self._initial_mean))

    def call(self, inputs):
        return ops.subtract(ops.cast(inputs, self.compute_dtype),
                            ops.cast(self.mean, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features}


def _head(h, num_classes, head_units, dropout, seed):
    """The paper's classifier after the fat layer (BN, dropout, Dense, BN, dropout, softmax)."""
    x = keras.layers.BatchNormalization(name="fat_bn")(h)
    x = keras.layers.Dropout(dropout, seed=seed, name="fat_dropout")(x)
    x = keras.layers.Dense(head_units, activation="relu", name="hidden",
                           kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    x = keras.layers.BatchNormalization(name="hidden_bn")(x)
    x = keras.layers.Dropout(dropout, seed=None if seed is None else seed + 1,
                             name="hidden_dropout")(x)
    init = keras.initializers.GlorotUniform(None if seed is None else seed + 2)
    return keras.layers.Dense(num_classes, activation="softmax", name="label",
                              kernel_initializer=init)(x)


def _check_head(num_features, num_classes, hidden, head_units, dropout):
    _positive_int("num_features", num_features)
    _positive_int("num_classes", num_classes)
    _positive_int("hidden", hidden)
    _positive_int("head_units", head_units)
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


@keras.saving.register_keras_serializable("tfmodels")
class DietNetwork(keras.Model):
    """A Diet Network classifier: genotypes `(batch, num_features)` -> class probabilities.

    A functional model (`summary()`, `.keras` round trip): input `genotypes`, a
    `DietFatLayer` named `fat`, then the paper's head. Without reconstruction the output is the
    `(batch, num_classes)` softmax; with it, `{"label": softmax, "reconstruction": x_hat}`
    (train with `compile_diet` and targets `{"label": y, "reconstruction": x}`,
    `tfmodels.data.genotypes.GenotypeBatches(reconstruction=True)`).

    Args:
        num_features: SNPs.
        num_classes: populations.
        embedding_size: columns of the per-SNP embedding.
        embedding: its values `(num_features, embedding_size)`, from the training split only
            (`tfmodels.models.diet.feature_embedding`); None: zeros (then load weights).
        input_mean: per-SNP mean genotype of the training rows (`GenotypeCentering`); None:
            zeros. The reconstruction target stays the raw genotypes (0/1/2).
        hidden: fat-layer width (100).
        head_units: the Dense layer after it (100).
        aux_units: hidden widths of the auxiliary MLPs ((100, 100)).
        aux_activation: their activation ("tanh").
        dropout: after each BatchNorm (0.5).
        reconstruction: add the decoder path and its output.
        seed: initializer and dropout seed.

    Free parameters (`parameter_count`): the auxiliary MLP(s), the fat bias and the head; the
    embedding is stored as a non-trainable weight.

    Example:
        >>> model = DietNetwork(1000, 26, 78, hidden=100)
        >>> model.count_params() == parameter_count(1000, 26, 78)["total"]
        True
    """

    def __init__(self, num_features, num_classes, embedding_size, embedding=None,
                 input_mean=None, hidden=100, head_units=100, aux_units=(100, 100),
                 aux_activation="tanh", dropout=0.5, reconstruction=False, seed=None, **kwargs):
        _check_head(num_features, num_classes, hidden, head_units, dropout)
        # Layers
        fat = DietFatLayer(hidden, num_features, embedding_size, aux_units=aux_units,
                           aux_activation=aux_activation, reconstruction=reconstruction,
                           embedding=embedding, seed=seed, name="fat")
        # Functional model
        centering = GenotypeCentering(num_features, input_mean, name="centering")
        inputs = keras.Input((num_features,), name="genotypes")
        h = fat(centering(inputs))
        x_hat = None
        if reconstruction:
            h, x_hat = h
            x_hat = keras.layers.Identity(name="reconstruction")(x_hat)
        label = _head(h, num_classes, head_units, dropout, seed)
        outputs = {"label": label, "reconstruction": x_hat} if reconstruction else label
        kwargs.setdefault("name", "diet_network")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # Config
        self.num_features, self.num_classes = num_features, num_classes
        self.embedding_size, self.hidden, self.head_units = embedding_size, hidden, head_units
        self.aux_units, self.aux_activation = tuple(fat.aux_units), aux_activation
        self.dropout, self.reconstruction, self.seed = dropout, bool(reconstruction), seed

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "num_features": self.num_features, "num_classes": self.num_classes,
                "embedding_size": self.embedding_size, "hidden": self.hidden,
                "head_units": self.head_units, "aux_units": list(self.aux_units),
                "aux_activation": self.aux_activation, "dropout": self.dropout,
                "reconstruction": self.reconstruction, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def predicted_kernel(self):
        """`W_e` as a numpy array `(num_features, hidden)`."""
        return keras.ops.convert_to_numpy(self.get_layer("fat").predicted_kernel())


def basic_mlp(num_features, num_classes, input_mean=None, hidden=100, head_units=100,
              dropout=0.5, seed=None, name="basic_mlp"):
    """The no-diet baseline: centring, a plain `Dense(hidden, relu)` fat layer (`fat`) and the
    same head as `DietNetwork`.

    Its fat layer alone has `num_features x hidden` weights (31.5M for the paper's 315,345
    SNPs)."""
    _check_head(num_features, num_classes, hidden, head_units, dropout)
    inputs = keras.Input((num_features,), name="genotypes")
    init = keras.initializers.GlorotUniform(None if seed is None else seed + 3)
    x = GenotypeCentering(num_features, input_mean, name="centering")(inputs)
    h = keras.layers.Dense(hidden, activation="relu", kernel_initializer=init, name="fat")(x)
    return keras.Model(inputs, _head(h, num_classes, head_units, dropout, seed), name=name)


def parameter_count(num_features, num_classes, embedding_size=None, hidden=100, head_units=100,
                    aux_units=(100, 100), reconstruction=False):
    """The weights of `DietNetwork` (or of `basic_mlp` when `embedding_size` is None).

    Returns:
        `{"trainable", "non_trainable", "total"}`. Trainable (the paper's "free parameters"):
        each auxiliary MLP `e -> aux_units -> hidden` with biases, the fat bias, both
        BatchNorms' scale and offset, and the two Dense layers. Non-trainable: the BatchNorm
        moving statistics, the input mean (`num_features`) and the embedding
        `num_features x embedding_size`.
    """
    head = (2 * hidden + hidden * head_units + head_units + 2 * head_units
            + head_units * num_classes + num_classes)
    moving = 2 * hidden + 2 * head_units + num_features
    if embedding_size is None:
        if reconstruction:
            raise ValueError("basic_mlp has no reconstruction path")
        trainable = num_features * hidden + hidden + head
        return {"trainable": trainable, "non_trainable": moving, "total": trainable + moving}
    sizes = (embedding_size, *_units("aux_units", aux_units), hidden)
    aux = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    trainable = aux * (2 if reconstruction else 1) + hidden + head
    non_trainable = moving + num_features * embedding_size
    return {"trainable": trainable, "non_trainable": non_trainable,
            "total": trainable + non_trainable}


def compile_diet(model, learning_rate=1e-3, gamma=20.0):
    """Compiles a `DietNetwork` or `basic_mlp` with Adam and the paper's loss: cross-entropy,
    plus `gamma` x the reconstruction's mean squared error when the model has that output."""
    if not isinstance(gamma, (int, float)) or gamma < 0:
        raise ValueError(f"gamma must be a non-negative number, got {gamma!r}")
    optimizer = keras.optimizers.Adam(learning_rate)
    if getattr(model, "reconstruction", False):
        model.compile(optimizer=optimizer,
                      loss={"label": "sparse_categorical_crossentropy", "reconstruction": "mse"},
                      loss_weights={"label": 1.0, "reconstruction": float(gamma)},
                      metrics={"label": ["sparse_categorical_accuracy"]})
    else:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
    return model


def baked_model(model):
    """A plain classifier with `model`'s predicted fat-layer weights baked into a `Dense`.

    For a `DietNetwork`: `Dense(hidden, relu)` with kernel `W_e` and bias `b - mean W_e` (the
    centring folded in, so the input is raw genotypes), then `model`'s own head layers
    (shared, so outputs agree); the reconstruction path is dropped. A `basic_mlp` gets the
    same folding of its centring. Output: the `(batch, num_classes)` softmax, named `label`.
    """
    fat = model.get_layer("fat")
    mean = keras.ops.convert_to_numpy(model.get_layer("centering").mean).astype(np.float64)
    if isinstance(fat, DietFatLayer):
        kernel = keras.ops.convert_to_numpy(fat.predicted_kernel())
        bias = keras.ops.convert_to_numpy(fat.bias)
    else:
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in (fat.kernel, fat.bias))
    kernel = np.asarray(kernel, np.float32)
    bias = (np.asarray(bias, np.float64) - mean @ kernel.astype(np.float64)).astype(np.float32)
    inputs = keras.Input((kernel.shape[0],), name="genotypes")
    dense = keras.layers.Dense(kernel.shape[1], activation="relu", name="fat_baked")
    x = dense(inputs)
    dense.set_weights([kernel, bias])
    for name in ("fat_bn", "fat_dropout", "hidden", "hidden_bn", "hidden_dropout", "label"):
        x = model.get_layer(name)(x)
    return keras.Model(inputs, x, name=f"{model.name}_baked")
