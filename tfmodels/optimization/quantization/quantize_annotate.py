"""`QuantizeAnnotate`: marks a layer for `quantize_apply` (tfmot's annotation wrapper)."""

import keras

from tfmodels.optimization.quantization.quantize_config import QuantizeConfig


@keras.saving.register_keras_serializable("tfmodels")
class QuantizeAnnotate(keras.layers.Wrapper):
    """Marks `layer` to be quantized by `quantize_apply`; computes exactly as `layer` does.

    Made by `quantize_annotate_layer` / `quantize_annotate_model`. An annotated model trains,
    saves and loads as the float model it wraps.

    Args:
        layer: the Keras layer to quantize.
        quantize_config: a `QuantizeConfig`, or None for tfmodels' default
            (`Default8BitQuantizeConfig` for Dense, Conv2D and Conv2DTranspose).
        **kwargs: layer arguments (`name` defaults to `"quantize_annotate_" + layer.name`).
    """

    def __init__(self, layer, quantize_config=None, **kwargs):
        if not isinstance(layer, keras.layers.Layer) or isinstance(layer, keras.Model):
            raise ValueError(f"to_annotate must be a Keras layer (not a model); got {layer!r}")
        if isinstance(layer, QuantizeAnnotate):
            raise ValueError(f"layer {layer.name!r} is already annotated")
        if quantize_config is not None and not isinstance(quantize_config, QuantizeConfig):
            raise ValueError(
                f"quantize_config of {layer.name!r} must be a "
                f"tfmodels.optimization.quantization.QuantizeConfig or None; got "
                f"{quantize_config!r}")
        kwargs.setdefault("name", f"quantize_annotate_{layer.name}")
        super().__init__(layer, **kwargs)
        self.quantize_config = quantize_config

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.built = True

    def call(self, inputs, training=None, **kwargs):
        if training is not None:
            kwargs["training"] = training
        return self.layer(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = self.quantize_config
        return {**super().get_config(),
                "quantize_config": None if config is None
                else keras.saving.serialize_keras_object(config)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"],
                                                                custom_objects=custom_objects)
        if config.get("quantize_config") is not None:
            config["quantize_config"] = keras.saving.deserialize_keras_object(
                config["quantize_config"], custom_objects=custom_objects)
        return cls(**config)
