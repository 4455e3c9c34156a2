"""`QuantizeConfig`: how a layer is quantized, tfmot's interface; and tfmodels' 8-bit defaults."""

import abc

import keras

from tfmodels.quantization.qat import default_kernel_quantizer, int8_activation_quantizer


class QuantizeConfig(abc.ABC):
    """Says which weights, activations and outputs of a layer to quantize, and with what.

    tfmot's interface (`tfmot.quantization.keras.QuantizeConfig`), same methods, same meaning.
    `QuantizeWrapper` calls them:

    - `get_weights_and_quantizers(layer)` -> `[(variable, quantizer)]`: the weights to quantize.
    - `get_activations_and_quantizers(layer)` -> `[(activation function, quantizer)]`.
    - `set_quantize_weights(layer, quantize_weights)`: make the layer compute with the quantized
      weights (same order), e.g. `layer.kernel = quantize_weights[0]`.
    - `set_quantize_activations(layer, quantize_activations)`: likewise for the quantize-aware
      activation functions, e.g. `layer.activation = quantize_activations[0]`.
    - `get_output_quantizers(layer)` -> `[quantizer]`: applied to the layer's outputs.
    - `get_config()`: the constructor arguments (the config is saved with the model).

    What differs on Keras 3: the `layer` passed to the two `set_*` methods records the
    attributes assigned to it and the wrapper swaps them into the real layer for the duration
    of each call, so `layer.kernel = ...` works although `keras.layers.Dense.kernel` is a
    read-only property, and the saved layer keeps its float kernel and activation.
    Quantizers are `tfmodels.optimization.quantization.quantizers` (`LastValueQuantizer`,
    `MovingAverageQuantizer`, custom `Quantizer`s) or `tfmodels.quantization` quantizers.
    Optional tfmodels extension: `get_input_quantizers(layer)` -> `[quantizer]`, one per input
    tensor, applied as activations before the layer (what `quantize_model` does).

    Example:
    >>> from tfmodels.optimization.quantization.quantizers import (
    ...     LastValueQuantizer, MovingAverageQuantizer)
    >>> class DenseConfig(QuantizeConfig):
    ...     def get_weights_and_quantizers(self, layer):
    ...         return [(layer.kernel, LastValueQuantizer(8, False, True, True))]
    ...     def get_activations_and_quantizers(self, layer):
    ...         return [(layer.activation, MovingAverageQuantizer(8, False, False, False))]
    ...     def set_quantize_weights(self, layer, quantize_weights):
    ...         layer.kernel = quantize_weights[0]
    ...     def set_quantize_activations(self, layer, quantize_activations):
    ...         layer.activation = quantize_activations[0]
    ...     def get_output_quantizers(self, layer):
    ...         return []
    ...     def get_config(self):
    ...         return {}
    """

    @abc.abstractmethod
    def get_weights_and_quantizers(self, layer):
        """`[(weight variable, quantizer)]` for the built `layer`."""

    @abc.abstractmethod
    def get_activations_and_quantizers(self, layer):
        """`[(activation function, quantizer)]` for `layer`."""

    @abc.abstractmethod
    def set_quantize_weights(self, layer, quantize_weights):
        """Sets the quantized weights (same order as `get_weights_and_quantizers`)."""

    @abc.abstractmethod
    def set_quantize_activations(self, layer, quantize_activations):
        """Sets the quantize-aware activations (same order as
        `get_activations_and_quantizers`)."""

    @abc.abstractmethod
    def get_output_quantizers(self, layer):
        """`[quantizer]` applied to the layer's outputs."""

    @abc.abstractmethod
    def get_config(self):
        """The constructor arguments."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __ne__(self, other):
        return not self == other


@keras.saving.register_keras_serializable("tfmodels")
class Default8BitQuantizeConfig(QuantizeConfig):
    """What `tfmodels.quantization.quantize_model` does to a `Dense`, `Conv2D` or
    `Conv2DTranspose`: an int8 kernel (per channel for Conv2D, per tensor otherwise) and int8
    input activations with a moving-average range; the output stays float.

    `quantize_apply` turns a layer annotated with it (or with no config) into the layer
    `quantize_model` makes (`QuantDense`, ...); a `QuantizeWrapper` with it computes the same.
    Subclass it to change one method (e.g. 4-bit kernels); the subclass goes through
    `QuantizeWrapper`.
    """

    def get_weights_and_quantizers(self, layer):
        quantizer = default_kernel_quantizer(layer)
        if quantizer is None:
            raise ValueError(f"Default8BitQuantizeConfig quantizes Dense, Conv2D and "
                             f"Conv2DTranspose layers; {layer.name!r} is a {type(layer).__name__}")
        return [(layer.kernel, quantizer)]

    def get_activations_and_quantizers(self, layer):
        return []

    def get_input_quantizers(self, layer):
        return [int8_activation_quantizer()]

    def set_quantize_weights(self, layer, quantize_weights):
        layer.kernel = quantize_weights[0]

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


def default_quantize_config(layer):
    """tfmodels' default config for `layer`: `Default8BitQuantizeConfig()` for the layers
    `quantize_model` quantizes (exact `Dense`, `Conv2D`, `Conv2DTranspose`), else None."""
    return None if default_kernel_quantizer(layer) is None else Default8BitQuantizeConfig()
