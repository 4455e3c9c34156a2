"""FC-DenseNet semantic segmentation (arXiv:1611.09326).

Example:
    >>> from tfmodels.models.segmentation import fc_densenet56
    >>> model = fc_densenet56(num_classes=11, input_shape=(None, None, 3))
"""

from tfmodels.models.segmentation.fc_densenet import (
    FCDenseNet,
    InputSizeCheck,
    fc_densenet56,
    fc_densenet67,
    fc_densenet103,
)

__all__ = ["FCDenseNet", "InputSizeCheck", "fc_densenet56", "fc_densenet67", "fc_densenet103"]
