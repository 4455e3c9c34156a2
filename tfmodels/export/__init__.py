"""Export: SavedModel for TF Serving, `.tflite` for devices, and verification of the `.tflite`.

Example:
    >>> from tfmodels.export import export_saved_model, export_tflite, verify_tflite
    >>> export_saved_model(model, "export/serving", "segmenter")  # doctest: +SKIP
    >>> print(export_tflite(model, "export/segmenter.tflite", mode="int8"))  # doctest: +SKIP
    >>> print(verify_tflite("export/segmenter.tflite", model, x_test[:64]))  # doctest: +SKIP
"""

import importlib

# Imported on first use, so that the device-side modules (`runtime`, `streaming_transcriber`)
# load with numpy alone, without Keras or TensorFlow.
_MODULES = {
    "export_saved_model": "tfmodels.export.saved_model",
    "ExportReport": "tfmodels.export.tflite",
    "StreamingTranscriber": "tfmodels.export.streaming_transcriber",
    "export_tflite": "tfmodels.export.tflite",
    "VerifyReport": "tfmodels.export.verify",
    "verify_tflite": "tfmodels.export.verify",
}

__all__ = [
    "ExportReport",
    "StreamingTranscriber",
    "VerifyReport",
    "export_saved_model",
    "export_tflite",
    "verify_tflite",
]


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'tfmodels.export' has no attribute {name!r}")
