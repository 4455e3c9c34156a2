"""Test-wide set-up: backend selection, quiet TensorFlow, deterministic seeds.

The backend comes from KERAS_BACKEND (default tensorflow). Tests marked `multibackend` run
again under KERAS_BACKEND=jax (`make test-jax`).

Determinism: every test starts from `keras.utils.set_random_seed(1234)`, and the tasks seed
themselves from their `seed` argument. oneDNN's custom ops are off unless the environment says
otherwise (TF_ENABLE_ONEDNN_OPTS=0), so float results do not depend on oneDNN's blocking.
tests/tasks/test_segmentation.py checks that two tiny runs with seed 0 in one process give
bit-identical float checkpoints and scores; that held with oneDNN on as well. Op determinism
(`tf.config.experimental.enable_op_determinism`) is not enabled: no CPU test needed it.
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
