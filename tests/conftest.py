"""Test-wide set-up: backend selection, quiet TensorFlow, deterministic seeds.

The backend comes from KERAS_BACKEND (default tensorflow). Tests that must run on both backends
use the `run_in_backend` helper from tests/testing_utils.py, which spawns a subprocess.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session(free_memory=False)
