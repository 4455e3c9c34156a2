"""tfmodels' quantizers inside tensorflow-model-optimization, for models that stay on tf_keras.

The legacy bridge (`pip install tfmodels[tfmot]`, which adds tensorflow-model-optimization and
tf-keras): in a process started with `TF_USE_LEGACY_KERAS=1`, `tfmot_quantizer(Ternary())` is a
tfmot `Quantizer` and `kernel_quantize_config(Ternary())` a tfmot `QuantizeConfig` (the kernel
through the tfmodels quantizer, the activation through tfmot's 8-bit
`MovingAverageQuantizer`), for `tfmot.quantization.keras.quantize_annotate_layer`. The
quantizers compute with `keras.ops` (Keras 3, TensorFlow backend) on tf_keras's tensors.
Deterministic quantizers only (tf_keras passes `training` as a tensor; the stochastic ones
sample on a Python bool).

Nothing else in tfmodels imports this module; importing it does not import tfmot (that fails
in a Keras 3 process without tf_keras). Keras 3 models use `tfmodels.optimization.quantization`.

Example (TF_USE_LEGACY_KERAS=1):
    >>> import tensorflow_model_optimization as tfmot  # doctest: +SKIP
    >>> layer = tfmot.quantization.keras.quantize_annotate_layer(
    ...     tf_keras.layers.Dense(16), kernel_quantize_config(Ternary()))  # doctest: +SKIP
    >>> with tfmot.quantization.keras.quantize_scope(custom_objects()):  # doctest: +SKIP
    ...     qat = tfmot.quantization.keras.quantize_apply(annotated_model)
"""

import functools

from tfmodels.quantization.quantizers import get_quantizer, serialize_quantizer


def _deterministic(quantizer, argument):
    quantizer = get_quantizer(quantizer, argument)
    if quantizer is None or quantizer.stochastic:
        raise ValueError(f"{argument} must be a deterministic tfmodels quantizer (the bridge "
                         f"does not sample); got {quantizer!r}")
    return quantizer


@functools.cache
def _classes():
    import tensorflow_model_optimization as tfmot

    keras_quantization = tfmot.quantization.keras

    class TfmodelsQuantizer(keras_quantization.quantizers.Quantizer):
        """A deterministic tfmodels quantizer as a tfmot `Quantizer` (no variables)."""

        def __init__(self, quantizer):
            self.quantizer = _deterministic(quantizer, "quantizer")

        def build(self, tensor_shape, name, layer):
            return {}

        def __call__(self, inputs, training, weights, **kwargs):
            return self.quantizer(inputs)

        def get_config(self):
            return {"quantizer": serialize_quantizer(self.quantizer)}

        def __eq__(self, other):
            return type(self) is type(other) and self.get_config() == other.get_config()

    class KernelQuantizeConfig(keras_quantization.QuantizeConfig):
        """`kernel_quantizer` on `layer.kernel`, tfmot's 8-bit moving-average quantizer on
        `layer.activation` (tfmot's own Dense/Conv placement)."""

        def __init__(self, kernel_quantizer, activation_bits=8):
            self.kernel_quantizer = _deterministic(kernel_quantizer, "kernel_quantizer")
            self.activation_bits = activation_bits

        def get_weights_and_quantizers(self, layer):
            return [(layer.kernel, TfmodelsQuantizer(self.kernel_quantizer))]

        def get_activations_and_quantizers(self, layer):
            return [(layer.activation, keras_quantization.quantizers.MovingAverageQuantizer(
                num_bits=self.activation_bits, per_axis=False, symmetric=False,
                narrow_range=False))]

        def set_quantize_weights(self, layer, quantize_weights):
            layer.kernel = quantize_weights[0]

        def set_quantize_activations(self, layer, quantize_activations):
            layer.activation = quantize_activations[0]

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {"kernel_quantizer": serialize_quantizer(self.kernel_quantizer),
                    "activation_bits": self.activation_bits}

    return TfmodelsQuantizer, KernelQuantizeConfig


def tfmot_quantizer(quantizer):
    """`quantizer` (a deterministic tfmodels quantizer) as a tfmot `Quantizer`."""
    quantizer = _deterministic(quantizer, "quantizer")
    return _classes()[0](quantizer)


def kernel_quantize_config(kernel_quantizer, activation_bits=8):
    """A tfmot `QuantizeConfig` for a tf_keras Dense/Conv layer: `kernel_quantizer` (a
    deterministic tfmodels quantizer) on the kernel, tfmot's `activation_bits`-bit
    `MovingAverageQuantizer` on the activation."""
    kernel_quantizer = _deterministic(kernel_quantizer, "kernel_quantizer")
    if not isinstance(activation_bits, int) or not 2 <= activation_bits <= 16:
        raise ValueError(f"activation_bits must be an integer in [2, 16]; got {activation_bits!r}")
    return _classes()[1](kernel_quantizer, activation_bits)


def custom_objects():
    """The classes `tfmot.quantization.keras.quantize_scope` needs to load a saved model."""
    quantizer, config = _classes()
    return {"TfmodelsQuantizer": quantizer, "KernelQuantizeConfig": config}
