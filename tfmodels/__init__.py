"""tfmodels: Keras 3 models that train with `model.fit` and ship as int8 TFLite / TF Serving.

Subpackages are imported explicitly (`tfmodels.quantization`, `tfmodels.models.segmentation`,
`tfmodels.export`, ...) so that importing the package does not pull in TensorFlow.
"""

__version__ = "0.1.0"
