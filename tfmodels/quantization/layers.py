"""Quantized layers for quantization-aware training: Keras layers composed with quantizers.

`QuantDense`, `QuantConv2D` and `QuantConv2DTranspose` are the Keras layers of the same name
whose kernel (and optionally input and output) pass through a quantizer in the forward pass.
The float kernel is the "shadow" weight the optimizer updates (BinaryConnect, arXiv:1511.00363;
Ott et al., arXiv:1608.06902); the straight-through gradient of the quantizer carries the
gradient of the quantized kernel back to it. `ActivationQuantizer` fake-quantizes activations,
tracking their range with a moving average during training.

With `Uniform` quantizers the forward pass contains exactly the fake-quant ops the TFLite
converter folds into int8 kernels (see `tfmodels.export.export_tflite(mode="int8")`).
`quantize_model` turns a float functional or Sequential model into its QAT twin.
"""

import keras
from keras import ops

from tfmodels.quantization.quantizers import (
    Uniform,
    copy_quantizer,
    get_quantizer,
    serialize_quantizer,
)

# Moving-average weight of the old activation range (ActivationQuantizer's default).
RANGE_MOMENTUM = 0.99


def add_range_variables(layer, prefix=""):
    """Creates on `layer` the `(range_min, range_max, initialized)` variables of a tracked range.

    float32 and never autocast: a float16 copy of the range would mix dtypes with the float32
    batch statistics (TensorFlow refuses) and lose the moving average's small updates.
    BatchNormalization keeps its moving statistics the same way. Before any training the range
    is `[-6, 6]`.
    """
    return tuple(
        layer.add_weight(
            name=f"{prefix}{name}", shape=(), initializer=keras.initializers.Constant(value),
            trainable=False, dtype="float32", autocast=False,
        )
        for name, value in (("range_min", -6.0), ("range_max", 6.0), ("initialized", 0.0))
    )


def quantize_to_tracked_range(quantizer, inputs, variables, momentum, training):
    """Fake-quantizes `inputs` with a per-tensor `Uniform` to a moving-average range.

    The one range tracker of tfmodels (`ActivationQuantizer` and the tfmot-style
    `MovingAverageQuantizer` / `AllValuesQuantizer` call it). In training the range in
    `variables` (from `add_range_variables`) moves towards the batch's (`momentum` weight on
    the old range; `momentum=None`: the running min and max of all batches; the first batch
    sets it) and the batch is quantized with the updated range; otherwise the stored range is
    used. The range always contains zero.

    Returns:
        The fake-quantized values, float32 (or the input dtype if it is another float).
    """
    range_min, range_max, initialized = variables
    if training:
        x = ops.stop_gradient(ops.cast(inputs, "float32"))
        if quantizer.symmetric:
            batch_max = ops.max(ops.abs(x))
            batch_min = -batch_max
        else:
            batch_min, batch_max = ops.min(x), ops.max(x)
        seen = initialized > 0.5
        if momentum is None:
            lo = ops.where(seen, ops.minimum(range_min, batch_min), batch_min)
            hi = ops.where(seen, ops.maximum(range_max, batch_max), batch_max)
        else:
            m = momentum
            lo = ops.where(seen, m * range_min + (1 - m) * batch_min, batch_min)
            hi = ops.where(seen, m * range_max + (1 - m) * batch_max, batch_max)
        lo = ops.minimum(lo, 0.0)
        hi = ops.maximum(ops.maximum(hi, 0.0), lo + 1e-6)
        range_min.assign(lo)
        range_max.assign(hi)
        initialized.assign(1.0)
    else:
        lo, hi = range_min, range_max
    return quantizer.fake_quant(inputs, lo, hi)


@keras.saving.register_keras_serializable("tfmodels")
class ActivationQuantizer(keras.layers.Layer):
    """Fake-quantizes activations; with `Uniform`, tracks their range by a moving average.

    In training the range is updated from each batch (`momentum` weight on the old range; the
    first batch sets it) and the batch is quantized with the updated range; at inference the
    stored range is used, which is what the TFLite converter bakes into the int8 model. Before
    any training the range is `[-6, 6]`. The range always contains zero, so zero is exact.

    Other quantizers (`Binary`, `Ternary`, ... as QNN activations, arXiv:1609.07061) are applied
    directly, with their straight-through gradient and no range.

    Args:
        quantizer: default `Uniform(bits=8, symmetric=False, narrow_range=False)` (TFLite's
            asymmetric int8 activations).
        momentum: moving-average weight of the old range, in `[0, 1)`.
        seed: seed for stochastic quantizers.

    Shapes: any; output shape = input shape.

    Mixed precision: under a `mixed_float16` / `mixed_bfloat16` policy the range variables stay
    float32 (they are not autocast), the batch statistics and the fake-quant are computed in
    float32, and the output is cast to the compute dtype.

    Example:
    >>> aq = ActivationQuantizer()
    >>> y = aq(keras.ops.ones((2, 3)), training=True)
    >>> [float(aq.range_min.numpy()), float(aq.range_max.numpy())]
    [0.0, 1.0]
    """

    def __init__(self, quantizer=None, momentum=RANGE_MOMENTUM, seed=None, **kwargs):
        super().__init__(**kwargs)
        if quantizer is None:
            quantizer = Uniform(bits=8, symmetric=False, narrow_range=False)
        self.quantizer = get_quantizer(quantizer, "quantizer")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.momentum = float(momentum)
        self.seed = seed
        self.tracks_range = isinstance(self.quantizer, Uniform)
        if self.tracks_range and self.quantizer.per_channel:
            raise ValueError("ActivationQuantizer supports per-tensor Uniform quantizers only")
        self.seed_generator = (
            keras.random.SeedGenerator(seed) if self.quantizer.stochastic else None
        )
        self.supports_masking = True

    def build(self, input_shape):
        if self.tracks_range:
            self.range_min, self.range_max, self.initialized = add_range_variables(self)

    def call(self, inputs, training=None):
        if not self.tracks_range:
            outputs = self.quantizer(inputs, training=bool(training), seed=self.seed_generator)
            return ops.cast(outputs, self.compute_dtype)
        outputs = quantize_to_tracked_range(
            self.quantizer, inputs, (self.range_min, self.range_max, self.initialized),
            self.momentum, training,
        )
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "quantizer": serialize_quantizer(self.quantizer),
            "momentum": self.momentum,
            "seed": self.seed,
        }


class _QuantizedKernelMixin:
    """Shared by the Quant* layers: quantizer arguments, sub-layers, seeds and config.

    Mixed precision: the kernel variable is float32 and is not autocast; it is quantized in
    float32 (the fake-quant levels of the float32 shadow weight, as in a float32 run) and the
    quantized kernel is cast to the compute dtype. The activation quantizers follow the layer's
    dtype policy (float32 ranges, outputs in the compute dtype).
    """

    # The output-channel axis of the kernel (Conv2DTranspose kernels are (h, w, out, in)).
    _channel_axis = -1

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") == "kernel":
            kwargs["autocast"] = False
        return super().add_weight(*args, **kwargs)

    def _init_quantizers(self, kernel_quantizer, input_quantizer, output_quantizer, seed):
        self.kernel_quantizer = get_quantizer(kernel_quantizer, "kernel_quantizer")
        self.input_quantizer = get_quantizer(input_quantizer, "input_quantizer")
        self.output_quantizer = get_quantizer(output_quantizer, "output_quantizer")
        self.seed = seed
        kq = self.kernel_quantizer
        self.kernel_seed_generator = (
            keras.random.SeedGenerator(seed) if kq is not None and kq.stochastic else None
        )
        self.input_activation_quantizer = (
            ActivationQuantizer(
                copy_quantizer(self.input_quantizer),
                seed=seed,
                dtype=self.dtype_policy,
                name="input_quantizer",
            )
            if self.input_quantizer is not None
            else None
        )
        self.output_activation_quantizer = (
            ActivationQuantizer(
                copy_quantizer(self.output_quantizer),
                seed=seed,
                dtype=self.dtype_policy,
                name="output_quantizer",
            )
            if self.output_quantizer is not None
            else None
        )

    def _build_quantizers(self, input_shape):
        if self.input_activation_quantizer is not None:
            self.input_activation_quantizer.build(input_shape)
        if self.output_activation_quantizer is not None:
            self.output_activation_quantizer.build(self.compute_output_shape(input_shape))

    def quantized_kernel(self, training=False):
        """The kernel as the layer computes with it (what an int8 export stores), in the
        layer's compute dtype."""
        kernel = ops.convert_to_tensor(self.kernel)
        if self.kernel_quantizer is not None:
            kernel = self.kernel_quantizer(
                kernel,
                training=bool(training),
                seed=self.kernel_seed_generator,
                channel_axis=self._channel_axis,
            )
        return ops.cast(kernel, self.compute_dtype)

    def _quantized_call(self, inputs, training, linear_op):
        if self.input_activation_quantizer is not None:
            inputs = self.input_activation_quantizer(inputs, training=training)
        outputs = linear_op(inputs, self.quantized_kernel(training))
        if self.use_bias:
            outputs = self._add_bias(outputs)
        if self.activation is not None:
            outputs = self.activation(outputs)
        if self.output_activation_quantizer is not None:
            outputs = self.output_activation_quantizer(outputs, training=training)
        return outputs

    def _add_bias(self, outputs):
        if getattr(self, "data_format", "channels_last") != "channels_first":
            return ops.add(outputs, self.bias)
        bias = ops.reshape(self.bias, (1, -1) + (1,) * (len(outputs.shape) - 2))
        # Not ops.add: on TensorFlow it turns a bias that squeezes to 1-D into a BiasAdd and
        # picks NHWC whenever the last axis has the channel count (Keras 3.15), which adds
        # this bias along the width when width == filters. `+` broadcasts as written.
        return outputs + bias

    def _quantizer_config(self):
        return {
            "kernel_quantizer": serialize_quantizer(self.kernel_quantizer),
            "input_quantizer": serialize_quantizer(self.input_quantizer),
            "output_quantizer": serialize_quantizer(self.output_quantizer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable("tfmodels")
class QuantDense(_QuantizedKernelMixin, keras.layers.Dense):
    """`keras.layers.Dense` with a quantized kernel and optionally quantized input/output.

    Args:
        units: output features.
        kernel_quantizer: applied to the kernel in every forward pass (None = float). For int8
            export use per-tensor `Uniform()` (per-channel Dense kernels do not convert).
        input_quantizer, output_quantizer: quantizers for the activations (wrapped in an
            `ActivationQuantizer`, which tracks `Uniform` ranges); None = float.
        seed: seed for stochastic quantizers.
        **kwargs: every `keras.layers.Dense` argument.

    Shapes: `(..., in)` -> `(..., units)`.

    Example:
    >>> from tfmodels.quantization import Ternary
    >>> layer = QuantDense(3, kernel_quantizer=Ternary(scale=1.0), kernel_initializer="ones")
    >>> keras.ops.convert_to_numpy(layer(keras.ops.ones((1, 2)))).tolist()
    [[2.0, 2.0, 2.0]]
    """

    def __init__(
        self,
        units,
        kernel_quantizer=None,
        input_quantizer=None,
        output_quantizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self._init_quantizers(kernel_quantizer, input_quantizer, output_quantizer, seed)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def call(self, inputs, training=None):
        return self._quantized_call(inputs, training, ops.matmul)

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}


@keras.saving.register_keras_serializable("tfmodels")
class QuantConv2D(_QuantizedKernelMixin, keras.layers.Conv2D):
    """`keras.layers.Conv2D` with a quantized kernel and optionally quantized input/output.

    Args:
        filters, kernel_size: as for `keras.layers.Conv2D`.
        kernel_quantizer: applied to the kernel (None = float); `Uniform(per_channel=True)` is
            the int8 default, per output channel, which TFLite folds with a following
            BatchNormalization and ReLU.
        input_quantizer, output_quantizer: activation quantizers (None = float).
        seed: seed for stochastic quantizers.
        **kwargs: every `keras.layers.Conv2D` argument.

    Shapes: `(batch, h, w, c)` -> `(batch, h', w', filters)` (channels_last).

    Example:
    >>> from tfmodels.quantization import Uniform
    >>> conv = QuantConv2D(8, 3, padding="same", kernel_quantizer=Uniform(per_channel=True))
    >>> tuple(conv(keras.ops.zeros((1, 16, 16, 3))).shape)
    (1, 16, 16, 8)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        kernel_quantizer=None,
        input_quantizer=None,
        output_quantizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(filters, kernel_size, **kwargs)
        self._init_quantizers(kernel_quantizer, input_quantizer, output_quantizer, seed)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def call(self, inputs, training=None):
        return self._quantized_call(inputs, training, self.convolution_op)

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}


@keras.saving.register_keras_serializable("tfmodels")
class QuantConv2DTranspose(_QuantizedKernelMixin, keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` with a quantized kernel and optional activation quantizers.

    The kernel is `(h, w, filters, in_channels)`, so per-channel quantizers work on axis -2
    (the output channels). For int8 TFLite export use a per-tensor kernel quantizer: the
    converter rejects per-channel fake-quant on transposed-conv kernels (TF 2.21, "mismatched
    quantized axes").

    Args:
        filters, kernel_size: as for `keras.layers.Conv2DTranspose`.
        kernel_quantizer, input_quantizer, output_quantizer, seed: as for `QuantConv2D`.
        **kwargs: every `keras.layers.Conv2DTranspose` argument.

    Shapes: `(batch, h, w, c)` -> `(batch, h * stride, w * stride, filters)` with "same" padding.

    Example:
    >>> up = QuantConv2DTranspose(4, 3, strides=2, padding="same")
    >>> tuple(up(keras.ops.zeros((1, 8, 8, 2))).shape)
    (1, 16, 16, 4)
    """

    _channel_axis = -2

    def __init__(
        self,
        filters,
        kernel_size,
        kernel_quantizer=None,
        input_quantizer=None,
        output_quantizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(filters, kernel_size, **kwargs)
        self._init_quantizers(kernel_quantizer, input_quantizer, output_quantizer, seed)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def _conv_transpose(self, inputs, kernel):
        return ops.conv_transpose(
            inputs,
            kernel,
            strides=list(self.strides),
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def call(self, inputs, training=None):
        return self._quantized_call(inputs, training, self._conv_transpose)

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}
