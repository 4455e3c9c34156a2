"""`BlankPlateauWarning` warns on a flat loss with all-blank outputs, and only then."""

import warnings

import keras
import numpy as np
import pytest

from tfmodels.callbacks import BlankPlateauWarning

pytestmark = pytest.mark.multibackend


class _Fixed(keras.Model):
    """A stand-in model whose greedy output is set by the test (`blank` or a label)."""

    def __init__(self, winner):
        super().__init__()
        self.winner = winner

    def predict_on_batch(self, x):
        logits = np.zeros((2, 5, 4), np.float32)
        logits[:, :, self.winner] = 1.0
        # Past each utterance's valid frames anything may come out.
        logits[:, 4, :] = 0.0
        logits[:, 4, 3] = 5.0
        return {"logits": logits, "frame_length": np.array([4, 3])}


def _run(losses, winner, **kwargs):
    callback = BlankPlateauWarning({"x": np.zeros(2)}, **kwargs)
    callback.set_model(_Fixed(winner))
    callback.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch, loss in enumerate(losses):
            callback.on_epoch_end(epoch, {"loss": loss})
    return callback, [str(w.message) for w in caught]


def test_warns_once_on_a_flat_loss_with_blank_outputs():
    callback, messages = _run([5.5, 5.1, 5.05, 5.04, 5.03], winner=0)
    assert callback.plateau_epochs == [3, 4]
    assert len(messages) == 1
    assert messages[0].startswith("epoch 4: the CTC loss has not fallen by 2% in 2 epochs "
                                  "(5.100 -> 5.040)")
    assert "all-blank plateau" in messages[0]


@pytest.mark.parametrize("losses, winner", [
    ([5.5, 5.1, 4.5, 3.9, 3.2], 0),  # falling: not a plateau yet
    ([5.5, 5.1, 5.05, 5.04, 5.03], 2),  # flat, but labels come out
])
def test_silent_when_learning(losses, winner):
    callback, messages = _run(losses, winner)
    assert callback.plateau_epochs == [] and messages == []


def test_in_fit_with_a_model_that_outputs_only_blanks():
    inputs = keras.Input((6, 3))
    logits = keras.layers.Dense(4, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant([9, 0, 0, 0]),
                                trainable=False)(inputs)
    model = keras.Model(inputs, logits)
    model.compile(loss="mse")
    callback = BlankPlateauWarning(np.zeros((2, 6, 3), np.float32), patience=1)
    with pytest.warns(UserWarning, match="all-blank plateau"):
        model.fit(np.zeros((4, 6, 3)), np.zeros((4, 6, 4)), epochs=3, verbose=0,
                  callbacks=[callback])
    assert callback.plateau_epochs == [1, 2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        BlankPlateauWarning({}, patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        BlankPlateauWarning({}, min_delta=-1)
