"""Optimizers the papers define (keras.ops only).

Example:
    >>> from tfmodels.optimizers import ShiftAdaMax, glorot_lr_scales
    >>> optimizer = ShiftAdaMax(1e-3, lr_scales=glorot_lr_scales(model))  # doctest: +SKIP
"""

from tfmodels.optimizers.scaling import LayerScaling, glorot_lr_scales
from tfmodels.optimizers.scaled_adam import ScaledAdam
from tfmodels.optimizers.shift_adamax import ShiftAdaMax
