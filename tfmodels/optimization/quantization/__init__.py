"""tensorflow-model-optimization's custom-QAT API (`tfmot.quantization.keras`) for Keras 3.

A tfmot QAT script ports by changing its imports (and `tf.*` ops in custom quantizers to
`keras.ops`); the quantization itself is `tfmodels.quantization` (one mechanism):

    from tfmodels.optimization import quantization as tfmot_quantization
    annotated = tfmot_quantization.quantize_annotate_model(model)
    with tfmot_quantization.quantize_scope({"MyConfig": MyConfig}):
        qat = tfmot_quantization.quantize_apply(annotated)
"""

from tfmodels.optimization.quantization import quantizers
from tfmodels.optimization.quantization.quantize import (
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_scope,
)
from tfmodels.optimization.quantization.quantize_annotate import QuantizeAnnotate
from tfmodels.optimization.quantization.quantize_config import (
    Default8BitQuantizeConfig,
    QuantizeConfig,
    default_quantize_config,
)
from tfmodels.optimization.quantization.quantize_wrapper import QuantizeWrapper
from tfmodels.quantization.qat import quantize_model

__all__ = [
    "Default8BitQuantizeConfig",
    "QuantizeAnnotate",
    "QuantizeConfig",
    "QuantizeWrapper",
    "default_quantize_config",
    "quantize_annotate_layer",
    "quantize_annotate_model",
    "quantize_apply",
    "quantize_model",
    "quantize_scope",
    "quantizers",
]
