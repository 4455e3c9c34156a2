"""Loading what the export command line is given: `.keras` models and `.npy`/`.npz` arrays."""

import os

import numpy as np


def load_keras_model(path, argument="model"):
    """Loads a `.keras` model, with errors that name `--argument` and the file.

    The tfmodels modules that register custom Keras objects must be imported by the caller.
    """
    import keras

    if not os.path.isfile(path):
        raise FileNotFoundError(f"--{argument}: no such file: {path}")
    if not path.endswith(".keras"):
        raise ValueError(f"--{argument} must be a .keras file (model.save('m.keras')), got {path}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds for corrupt or foreign files
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"--{argument}: cannot load {path}: {message}") from None


def load_arrays(path, argument):
    """Reads a `.npy` array, or a `.npz` (one array, or a dict keyed by input name); None -> None."""
    if path is None:
        return None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--{argument}: no such file: {path}")
    if path.endswith(".npy"):
        return np.load(path)
    if path.endswith(".npz"):
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        return next(iter(arrays.values())) if len(arrays) == 1 else arrays
    raise ValueError(f"--{argument} must be a .npy or .npz file, got {path}")
