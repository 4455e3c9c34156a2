"""FC-DenseNet ("The One Hundred Layers Tiramisu"), Jégou et al., arXiv:1611.09326.

A fully convolutional DenseNet for semantic segmentation: a downsampling path of dense blocks
and transitions down, a bottleneck dense block, and an upsampling path of transitions up and
dense blocks, with skip connections from the downsampling path. Built as a functional Keras
graph (keras-hub style: the class is the config, `__init__` wires the graph), so it saves to
`.keras`, clones, and turns into its quantization-aware twin with
`tfmodels.quantization.quantize_model` (the same as `quantize=True`).
"""

import keras

from tfmodels.quantization import ActivationQuantizer, quantize_graph, quantize_model

# A dense block of the paper has this many pooling levels below the bottleneck (Table 2).
_NUM_POOLS = 5


@keras.saving.register_keras_serializable("tfmodels")
class InputSizeCheck(keras.layers.Layer):
    """Identity that raises `ValueError` unless height and width are multiples of `multiple`.

    FC-DenseNet halves the resolution five times and concatenates each upsampled map with the
    skip connection of the same level, so any size that is not a multiple of 32 would fail deep
    inside a concatenation. Static sizes are checked when the graph is built; dynamic ones
    (None) when a concrete tensor arrives (eager TF and JAX). Pad frames first (the CamVid
    pipeline pads evaluation frames with void).

    Args:
        multiple: the required divisor of height and width.

    Shapes: `(batch, h, w, c)` -> same.
    """

    def __init__(self, multiple=32, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def _check(self, shape):
        h, w = shape[1], shape[2]
        bad = [d for d in (h, w) if isinstance(d, int) and d % self.multiple]
        if bad:
            raise ValueError(
                f"FC-DenseNet input height and width must be multiples of {self.multiple}; got "
                f"{h}x{w}. Pad the frames (e.g. tfmodels.data.camvid pads evaluation frames with "
                "void) or crop them."
            )

    def build(self, input_shape):
        self._check(tuple(input_shape))

    def call(self, inputs):
        self._check(tuple(inputs.shape))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable("tfmodels")
class FCDenseNet(keras.Model):
    """FC-DenseNet semantic segmentation model (arXiv:1611.09326), logits per pixel.

    Blocks, as in the paper (Table 1) and its reference Lasagne code:

    - first layer: 3x3 conv with `initial_filters` (48) filters;
    - dense layer: BatchNorm - ReLU - 3x3 conv (`growth_rate` filters) - Dropout(0.2); a dense
      block of `n` layers concatenates each layer's output onto its input;
    - transition down: BatchNorm - ReLU - 1x1 conv (as many filters as it gets) - Dropout -
      2x2 max pooling;
    - transition up: 3x3 stride-2 transposed conv applied only to the `n * growth_rate` new
      feature maps of the previous block (not to its input, which keeps the upsampling path
      from exploding), concatenated with the skip connection of the same resolution;
    - last layer: 1x1 conv to `num_classes`.

    The model returns logits; the paper's softmax is the loss's job
    (`SparseCategoricalCrossentropy(from_logits=True)`), and the argmax is the same. Every
    conv uses HeUniform initialization and L2 weight decay `weight_decay * sum(w^2)` on
    kernels (not biases or BatchNorm), the paper's 1e-4. The defaults are FC-DenseNet67
    (`fc_densenet67`); `fc_densenet56` and `fc_densenet103` are the paper's other two.

    Sizes: any height and width that are multiples of 32 (5 poolings); dimensions may be None
    (fully convolutional). A static size that is not a multiple of 32 raises `ValueError` when
    the model is built; a dynamic one when called eagerly.

    Quantization: `quantize=True` builds the float graph and turns it into its int8 QAT twin
    with `tfmodels.quantization.quantize_graph`, the mechanism behind `quantize_model` (so
    `quantize_model(model)` and `model.quantized_twin()` give this class with
    `quantize=True`). Every conv becomes `QuantConv2D` / `QuantConv2DTranspose`, with kernels
    fake-quantized to int8 and inputs passing through an int8 `ActivationQuantizer`
    (asymmetric, moving-average range), except the convs that read a concatenation (the
    transposed convs and the head, see below); one more quantizes the logits. Conv2D kernels are
    quantized per output channel; the transposed-conv kernels per tensor, because per-channel
    fake-quant on a Conv2DTranspose kernel (axis -2) does not convert (TF 2.21:
    "'tfl.transpose' op has mismatched quantized axes of input and output").
    Measured with TF 2.21 on this graph: the pre-activation order (BN - ReLU - conv) means
    BatchNorm cannot fold into a conv; the converter lowers each inference-mode BatchNorm to a
    `MUL` + `ADD` pair with the ReLU fused into the `ADD`. Those tensors carry no fake-quant,
    so convert with a few calibration frames
    (`export_tflite(model, path, mode="int8", representative_data=frames)`) to get a file that
    is int8 throughout (builtin ops only, one QUANTIZE / DEQUANTIZE at the edges); without
    them the `MUL`/`ADD` stay float between QUANTIZE / DEQUANTIZE pairs.
    TFLite's int8 CONCATENATION gives its output and every operand one scale, so each chain of
    concatenations (a dense block, its skip connection, the up-path block at that level) is
    one int8 grid in the file. A fake-quant on a conv that reads a concatenation (the head,
    the transposed convs) would set that grid from its QAT range, learned in training mode
    (batch statistics, dropout): on real CamVid 3.5x wider than the inference activations
    (`[-35.4, 37.8]` vs about +-11), so the stem and dense-layer outputs, which the QAT graph
    never quantizes, got 0.29 per int8 step and the file agreed with the QAT model on half the
    pixels. Those convs therefore get no input quantizer (`quantize_graph(float_inputs=...)`)
    and the converter calibrates each chain's grid from the representative frames.

    Args:
        num_classes: output classes (11 for CamVid; void is not a class).
        growth_rate: `k`, feature maps each dense layer adds.
        layers_per_block: an int (the same for every block) or the `2 * num_pools` block sizes
            of the downsampling then upsampling path, or only the `num_pools` downsampling ones
            (the upsampling path mirrors them).
        bottleneck_layers: layers of the bottleneck dense block (default: `layers_per_block`
            when that is an int; required when it is a list).
        initial_filters: filters of the first 3x3 conv.
        dropout: dropout rate after every conv.
        weight_decay: L2 factor on conv kernels (0 disables).
        batch_norm_momentum: weight of the old moving statistics. 0.9 is what the authors'
            Lasagne code used (`BatchNormLayer(alpha=0.1)`); Keras's 0.99 leaves the
            inference statistics far from the data after a short training run.
        input_shape: `(height, width, channels)`; height and width may be None.
        quantize: build the int8 QAT twin (see above).
        dtype: dtype policy of every layer (None: the global policy), e.g. `"mixed_bfloat16"`
            or `"mixed_float16"` for mixed precision: variables (and the QAT ranges) stay
            float32, the layers compute in the policy's compute dtype, and the logits come out
            in it (Keras losses cast them to float32). Inputs are float32 images.
        num_pools: downsampling levels (the paper: 5); height and width must be multiples of
            `2 ** num_pools`. Fewer levels make a smaller network for small images.
        name: model name.

    Shapes: `(batch, h, w, channels)` -> `(batch, h, w, num_classes)` logits.

    Example:
    >>> model = FCDenseNet(num_classes=3, growth_rate=4, layers_per_block=2,
    ...                    input_shape=(64, 64, 3))
    >>> tuple(model(keras.ops.zeros((1, 64, 64, 3))).shape)
    (1, 64, 64, 3)
    """

    def __init__(
        self,
        num_classes,
        growth_rate=16,
        layers_per_block=5,
        bottleneck_layers=None,
        initial_filters=48,
        dropout=0.2,
        weight_decay=1e-4,
        batch_norm_momentum=0.9,
        input_shape=(None, None, 3),
        quantize=False,
        dtype=None,
        num_pools=_NUM_POOLS,
        name="fc_densenet",
        **kwargs,
    ):
        if not isinstance(num_pools, int) or isinstance(num_pools, bool) or num_pools < 1:
            raise ValueError(f"num_pools must be a positive int; got {num_pools!r}")
        down, up, bottleneck = _block_sizes(layers_per_block, bottleneck_layers, num_pools)
        _check_arguments(num_classes, growth_rate, initial_filters, dropout, weight_decay)
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels); got {input_shape}")
        policy = _dtype_policy(dtype)
        blocks = _Blocks(growth_rate, dropout, weight_decay, batch_norm_momentum, policy)

        # Input
        inputs = keras.Input(input_shape, name="image")
        x = InputSizeCheck(2**num_pools, dtype=policy, name="size_check")(inputs)
        x = blocks.conv(initial_filters, 3, "stem_conv")(x)

        # Downsampling path
        skips = []
        for level, num_layers in enumerate(down):
            x, _ = blocks.dense_block(x, num_layers, f"down{level}")
            skips.append(x)
            x = blocks.transition_down(x, f"transition_down{level}")

        # Bottleneck
        _, fresh = blocks.dense_block(x, bottleneck, "bottleneck")

        # Upsampling path
        for level, num_layers in enumerate(up):
            x = blocks.transition_up(fresh, skips[-1 - level], f"transition_up{level}")
            x, fresh = blocks.dense_block(x, num_layers, f"up{level}")

        # Head
        logits = blocks.conv(num_classes, 1, "logits")(x)

        # Quantization: the float graph rebuilt with quantized layers (quantize_model's
        # mechanism), plus int8 logits so the converter needs no float tensor at the output.
        if quantize:
            # The transposed convs and the head read concatenations (or their operands): their
            # inputs stay float in the twin and are calibrated at export (see the class doc).
            concat_fed = [f"transition_up{level}" for level in range(len(up))] + ["logits"]
            inputs, logits = quantize_graph(inputs, logits, float_inputs=concat_fed)
            logits = ActivationQuantizer(dtype=policy, name="logits_quantizer")(logits)
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)
        self._dtype_name = None if policy is None else policy.name
        if policy is not None:
            # The model's own policy is what `compile` reads to add loss scaling (mixed_float16).
            self.dtype_policy = policy

        self.num_classes = num_classes
        self.growth_rate = growth_rate
        self.layers_per_block = (
            layers_per_block if isinstance(layers_per_block, int) else tuple(layers_per_block)
        )
        self.bottleneck_layers = bottleneck_layers
        self.initial_filters = initial_filters
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.batch_norm_momentum = batch_norm_momentum
        self.image_shape = input_shape
        self.quantize = quantize
        self.num_pools = num_pools

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "growth_rate": self.growth_rate,
            "layers_per_block": self.layers_per_block,
            "bottleneck_layers": self.bottleneck_layers,
            "initial_filters": self.initial_filters,
            "dropout": self.dropout,
            "weight_decay": self.weight_decay,
            "batch_norm_momentum": self.batch_norm_momentum,
            "input_shape": self.image_shape,
            "quantize": self.quantize,
            "dtype": self._dtype_name,
            "num_pools": self.num_pools,
        }

    def quantized_twin(self):
        """Returns the int8 QAT twin of this float model with its weights copied in.

        `tfmodels.quantization.quantize_model(self)` under the same name: an `FCDenseNet` with
        `quantize=True` whose layers of the same name have this model's kernels, biases and
        BatchNorm statistics. Activation ranges start at their defaults and are learned in the
        first training steps of QAT fine-tuning.

        Example:
        >>> float_model = FCDenseNet(3, growth_rate=4, layers_per_block=2,
        ...                          input_shape=(32, 32, 3))
        >>> qat = float_model.quantized_twin()
        >>> type(qat.get_layer("logits")).__name__
        'QuantConv2D'
        """
        return quantize_model(self, name=self.name)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("layers_per_block"), list):
            config["layers_per_block"] = tuple(config["layers_per_block"])
        return cls(**config)


class _Blocks:
    """The paper's building blocks, with the layer settings every block shares."""

    def __init__(self, growth_rate, dropout, weight_decay, batch_norm_momentum, dtype):
        self.growth_rate = growth_rate
        self.dropout = dropout
        self.batch_norm_momentum = batch_norm_momentum
        self.weight_decay = weight_decay
        self.dtype = dtype

    def regularizer(self):
        return keras.regularizers.L2(self.weight_decay) if self.weight_decay else None

    def conv(self, filters, kernel_size, name):
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            kernel_initializer="he_uniform",
            kernel_regularizer=self.regularizer(),
            dtype=self.dtype,
            name=name,
        )

    def bn_relu_conv(self, x, filters, kernel_size, name):
        x = keras.layers.BatchNormalization(
            momentum=self.batch_norm_momentum, dtype=self.dtype, name=f"{name}_bn"
        )(x)
        x = keras.layers.ReLU(dtype=self.dtype, name=f"{name}_relu")(x)
        x = self.conv(filters, kernel_size, f"{name}_conv")(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout, dtype=self.dtype, name=f"{name}_dropout")(x)
        return x

    def dense_block(self, x, num_layers, name):
        """Returns `(input + new maps, new maps only)`."""
        new = []
        for i in range(num_layers):
            y = self.bn_relu_conv(x, self.growth_rate, 3, f"{name}_layer{i}")
            new.append(y)
            x = keras.layers.Concatenate(dtype=self.dtype, name=f"{name}_concat{i}")([x, y])
        if len(new) == 1:
            return x, new[0]
        return x, keras.layers.Concatenate(dtype=self.dtype, name=f"{name}_new")(new)

    def transition_down(self, x, name):
        x = self.bn_relu_conv(x, x.shape[-1], 1, name)
        return keras.layers.MaxPooling2D(2, dtype=self.dtype, name=f"{name}_pool")(x)

    def transition_up(self, fresh, skip, name):
        """Upsamples only the previous block's new maps, then appends the skip connection."""
        x = keras.layers.Conv2DTranspose(
            fresh.shape[-1],
            3,
            strides=2,
            padding="same",
            kernel_initializer="he_uniform",
            kernel_regularizer=self.regularizer(),
            dtype=self.dtype,
            name=name,
        )(fresh)
        return keras.layers.Concatenate(dtype=self.dtype, name=f"{name}_concat")([x, skip])


def _dtype_policy(dtype):
    """`dtype` as a `keras.DTypePolicy` (None stays None: each layer takes the global policy)."""
    if dtype is None:
        return None
    try:
        return keras.dtype_policies.get(dtype)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"dtype must be a dtype policy name such as 'float32', 'mixed_float16' or "
            f"'mixed_bfloat16', or None; got {dtype!r}"
        ) from error


def _check_arguments(num_classes, growth_rate, initial_filters, dropout, weight_decay):
    for argument, value in (
        ("num_classes", num_classes),
        ("growth_rate", growth_rate),
        ("initial_filters", initial_filters),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{argument} must be a positive int; got {value!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0; got {weight_decay!r}")


def _block_sizes(layers_per_block, bottleneck_layers, num_pools=_NUM_POOLS):
    """Returns `(down sizes, up sizes, bottleneck size)` from the constructor's arguments."""
    if isinstance(layers_per_block, int) and not isinstance(layers_per_block, bool):
        sizes = [layers_per_block] * num_pools
        down, up = sizes, sizes
        if bottleneck_layers is None:
            bottleneck_layers = layers_per_block
    else:
        sizes = list(layers_per_block)
        if len(sizes) == num_pools:
            down, up = sizes, sizes[::-1]
        elif len(sizes) == 2 * num_pools:
            down, up = sizes[:num_pools], sizes[num_pools:]
        else:
            raise ValueError(
                f"layers_per_block must be an int or a list of num_pools ({num_pools}) or "
                f"{2 * num_pools} block sizes; got {layers_per_block!r}"
            )
        if bottleneck_layers is None:
            raise ValueError("bottleneck_layers is required when layers_per_block is a list")
    for value in list(down) + list(up) + [bottleneck_layers]:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                "layers_per_block and bottleneck_layers must be positive ints; got "
                f"{layers_per_block!r}, {bottleneck_layers!r}"
            )
    return list(down), list(up), bottleneck_layers


# The paper's three networks (arXiv:1611.09326, Table 2); the factories below build them.
_PRESETS = {
    "fc_densenet56": {"growth_rate": 12, "layers_per_block": 4},
    "fc_densenet67": {"growth_rate": 16, "layers_per_block": 5},
    "fc_densenet103": {
        "growth_rate": 16,
        "layers_per_block": (4, 5, 7, 10, 12),
        "bottleneck_layers": 15,
    },
}


def _from_preset(preset, num_classes, kwargs):
    # Keyword arguments override the preset, the name included.
    return FCDenseNet(num_classes, **{**_PRESETS[preset], "name": preset, **kwargs})


def fc_densenet56(num_classes=11, **kwargs):
    """FC-DenseNet56: growth rate 12, 4 layers per dense block (arXiv:1611.09326, Table 2).

    Keyword arguments go to `FCDenseNet` (`input_shape`, `quantize`, `dropout`, `name`, ...)
    and override the preset. The paper's Table 2 says 1.5M parameters; this graph, built
    exactly as the paper and the authors' Lasagne code describe it, has 1,397,963 for 11
    classes counting BatchNorm's moving statistics (1,376,795 trainable), i.e. 1.4M. The same
    construction gives the paper's figures for FC-DenseNet67 (3.50M vs 3.5M) and
    FC-DenseNet103 (9.43M vs 9.4M), so no block is missing: the 1.5M is most likely a
    rounding up of 1.4M in the paper.

    Example:
    >>> fc_densenet56(input_shape=(224, 224, 3)).count_params()
    1397963
    """
    return _from_preset("fc_densenet56", num_classes, kwargs)


def fc_densenet67(num_classes=11, **kwargs):
    """FC-DenseNet67: growth rate 16, 5 layers per dense block (arXiv:1611.09326, Table 2).

    Keyword arguments go to `FCDenseNet` and override the preset. 3,502,923 parameters for 11
    classes (paper: 3.5M).
    """
    return _from_preset("fc_densenet67", num_classes, kwargs)


def fc_densenet103(num_classes=11, **kwargs):
    """FC-DenseNet103: growth 16, blocks 4-5-7-10-12 / 15 / 12-10-7-5-4 (arXiv:1611.09326, Table 2).

    Keyword arguments go to `FCDenseNet` and override the preset. 9,425,163 parameters for 11
    classes (paper: 9.4M).
    """
    return _from_preset("fc_densenet103", num_classes, kwargs)
