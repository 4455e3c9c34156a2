"""Export: SavedModel for TF Serving, `.tflite` for devices, and verification of the `.tflite`.

Example:
    >>> from tfmodels.export import export_saved_model, export_tflite, verify_tflite
    >>> export_saved_model(model, "export/serving", "segmenter")  # doctest: +SKIP
    >>> print(export_tflite(model, "export/segmenter.tflite", mode="int8"))  # doctest: +SKIP
    >>> print(verify_tflite("export/segmenter.tflite", model, x_test[:64]))  # doctest: +SKIP
"""

from tfmodels.export.saved_model import export_saved_model
from tfmodels.export.tflite import ExportReport, export_tflite
from tfmodels.export.verify import VerifyReport, verify_tflite

__all__ = ["ExportReport", "VerifyReport", "export_saved_model", "export_tflite", "verify_tflite"]
