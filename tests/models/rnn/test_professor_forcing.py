"""Professor Forcing: gradient routing, gating, the step loop, fit on both backends, round trip.

Gradients are taken of single terms of `ProfessorForcing.losses_of` with the backend's own
autodiff (a `GradientTape` on TensorFlow, `jax.jacrev` over a `StatelessScope` on JAX), all
terms from one forward pass, so that they see the same samples.
"""

import math

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.models.rnn import (
    ProfessorForcing,
    behaviour_discriminator,
    char_lm,
    quantizers,
    run_behaviour,
)

VOCAB = 7


def _data(batch=6, time=9, seed=0):
    ids = np.random.default_rng(seed).integers(0, VOCAB, (batch, time + 1)).astype("int32")
    return ids[:, :-1], ids[:, 1:]


def _model(seed=0, **kwargs):
    gen = char_lm(VOCAB, cell="lstm", units=6, embedding_dim=4, seed=seed)
    disc = None
    if kwargs.get("mode", "professor") == "professor":
        disc = behaviour_discriminator(ProfessorForcing.behaviour_dim(gen), units=4,
                                       rnn_layers=1, dense_layers=1, seed=seed)
    return ProfessorForcing(gen, disc, seed=seed, **kwargs)


def _grads(pf, terms, x, y):
    """`{term: {variable key: gradient of losses_of(x, y)[term]}}` from one forward pass
    (zeros where disconnected); keys are "<char_lm|discriminator>/<variable path>"."""
    variables = pf.trainable_variables
    if testing_utils.backend() == "jax":
        import jax

        others = [(v, v.value) for v in pf.non_trainable_variables]

        def f(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values)) + others):
                out = pf.losses_of(x, y)
                return keras.ops.stack([out[t] for t in terms])

        # Compiled: un-jitted, JAX dispatches (and compiles) every op of the unrolled
        # free-running loop one by one, which took 100 s here; jitted, a few seconds.
        jacobian = jax.jit(jax.jacrev(f))([v.value for v in variables])
        grads = {t: [j[i] for j in jacobian] for i, t in enumerate(terms)}
    else:
        import tensorflow as tf

        with tf.GradientTape(persistent=True) as tape:
            out = pf.losses_of(x, y)
        grads = {t: tape.gradient(out[t], variables) for t in terms}
    owner = {id(v): "char_lm" for v in pf.generator.trainable_variables}
    owner.update({id(v): "discriminator" for v in pf.discriminator.trainable_variables})
    return {t: {f"{owner[id(v)]}/{v.path}":
                np.zeros(v.shape) if g is None else np.asarray(keras.ops.convert_to_numpy(g))
                for v, g in zip(variables, grads[t])} for t in terms}


def _norms(grads, prefix):
    norms = {k: float(np.abs(g).max()) for k, g in grads.items() if k.startswith(prefix + "/")}
    assert norms, f"no {prefix} variables among {sorted(grads)}"
    return norms


@pytest.fixture(scope="module")
def open_gates():
    # Gates always open: D trains (accuracy < 1 is near certain) and C_f always counts.
    pf = _model(adversarial_above=0.0, train_discriminator_below=1.0, adversarial_weight=0.5)
    x, y = _data()
    train_d = float(keras.ops.convert_to_numpy(pf.losses_of(x, y)["train_d"]))
    return train_d, _grads(pf, ["c_f", "total", "nll", "d_loss"], x, y)


@pytest.mark.multibackend
def test_discriminator_loss_never_reaches_the_generator(open_gates):
    grads = open_gates[1]["d_loss"]
    assert max(_norms(grads, "char_lm").values()) == 0.0
    assert max(_norms(grads, "discriminator").values()) > 1e-6


@pytest.mark.multibackend
def test_generator_gets_the_adversarial_gradient_only_through_c_f(open_gates):
    train_d, terms = open_gates
    c_f = terms["c_f"]
    # C_f moves the generator, never D.
    assert max(_norms(c_f, "discriminator").values()) == 0.0
    generator = _norms(c_f, "char_lm")
    assert min(generator.values()) > 0.0, generator
    # The softmax head gets C_f's gradient only through the straight-through samples fed back.
    assert generator["char_lm/logits/kernel"] > 1e-7
    assert train_d == 1.0
    for path, total in terms["total"].items():
        expected = terms["nll"][path] + 0.5 * c_f[path] + terms["d_loss"][path]
        np.testing.assert_allclose(total, expected, atol=1e-6, err_msg=path)


@pytest.mark.multibackend
def test_free_running_with_expected_embedding_is_differentiable_too():
    pf = _model(free_running="expected")
    x, y = _data()
    assert _norms(_grads(pf, ["c_f"], x, y)["c_f"], "char_lm")["char_lm/logits/kernel"] > 1e-7


def _constant_discriminator(pf, logit):
    layer = pf.discriminator.get_layer("logit")
    layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
    layer.bias.assign(np.full(layer.bias.shape, logit, "float32"))


@pytest.mark.parametrize("train_below, adversarial_above, train_d, adversarial", [
    (0.6, 0.4, 1.0, 1.0), (0.4, 0.6, 0.0, 0.0), (0.6, 0.6, 1.0, 0.0), (0.4, 0.4, 0.0, 1.0)])
def test_gating_thresholds(train_below, adversarial_above, train_d, adversarial):
    # D says "teacher forced" to everything: accuracy exactly 0.5.
    pf = _model(train_discriminator_below=train_below, adversarial_above=adversarial_above)
    _constant_discriminator(pf, 3.0)
    x, y = _data()
    out = {k: float(keras.ops.convert_to_numpy(v)) for k, v in pf.losses_of(x, y).items()}
    assert out["d_accuracy"] == 0.5
    assert (out["train_d"], out["adversarial"]) == (train_d, adversarial)
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert out["d_loss"] == pytest.approx(softplus(-3.0) + softplus(3.0), rel=1e-5)
    assert out["c_f"] == pytest.approx(softplus(-3.0), rel=1e-5)
    assert out["total"] == pytest.approx(
        out["nll"] + adversarial * out["c_f"] + train_d * out["d_loss"], rel=1e-6)
    both = _grads(pf, ["total", "nll"], x, y)
    grads, nll = both["total"], both["nll"]
    if not train_d:
        assert max(_norms(grads, "discriminator").values()) == 0.0
    if not adversarial:
        for path in _norms(grads, "char_lm"):
            np.testing.assert_allclose(grads[path], nll[path], atol=1e-7)


def test_logits_are_clipped():
    pf = _model()
    _constant_discriminator(pf, 50.0)
    out = pf.losses_of(*_data())
    expected = math.log1p(math.exp(-10.0)) + math.log1p(math.exp(10.0))
    assert float(keras.ops.convert_to_numpy(out["d_loss"])) == pytest.approx(expected, rel=1e-5)


def test_scheduled_sampling_probability_follows_the_inverse_sigmoid_decay():
    pf = _model(mode="scheduled", sampling_k=10.0, max_sampling_probability=1.0)
    for i in (0.0, 10.0 * math.log(10.0), 60.0):
        pf.iteration.assign(i)
        expected = 1.0 - 10.0 / (10.0 + math.exp(i / 10.0))
        assert float(keras.ops.convert_to_numpy(pf.sampling_probability())) == pytest.approx(
            expected, rel=1e-5)
    capped = _model(mode="scheduled", max_sampling_probability=0.25)
    capped.iteration.assign(1e5)
    assert float(keras.ops.convert_to_numpy(capped.sampling_probability())) == pytest.approx(0.25)


@pytest.mark.multibackend
@pytest.mark.parametrize("quantizer", ["float", "ternary"])
def test_step_loop_reproduces_the_generator(quantizer):
    gen = char_lm(VOCAB, cell="lstm", units=5, num_layers=2, embedding_dim=4, seed=1,
                  **quantizers(quantizer))
    x, _ = _data()
    features = keras.Model(gen.inputs, [gen.get_layer("lstm_0").output,
                                        gen.get_layer("lstm_1").output])
    expected = np.concatenate([keras.ops.convert_to_numpy(h) for h in features(x)], axis=-1)
    _, hidden = run_behaviour(gen, x)
    np.testing.assert_allclose(hidden, expected, atol=1e-5)
    # A free run feeds back its samples: teacher forcing on them gives the same states.
    sampled, free = run_behaviour(gen, x, free_running=True, prefix=2, seed=3)
    fed = np.concatenate([x[:, :2], sampled[:, 1:-1]], axis=1)
    _, again = run_behaviour(gen, fed)
    np.testing.assert_allclose(free, again, atol=1e-5)
    assert not np.allclose(free, hidden, atol=1e-3)


def _periodic(batch=32, time=12):
    base = np.arange(time + 1) % 4
    ids = np.stack([(base + i) % 4 for i in range(batch)]).astype("int32")
    return ids[:, :-1], ids[:, 1:]


@pytest.mark.parametrize("mode", [
    pytest.param("professor", marks=pytest.mark.multibackend), "scheduled", "teacher"])
def test_fit_lowers_the_nll(mode):
    keras.utils.set_random_seed(0)
    pf = _model(mode=mode)
    pf.compile(optimizer=keras.optimizers.Adam(0.03))
    x, y = _periodic()
    history = pf.fit(x, y, batch_size=8, epochs=8, verbose=0).history
    assert history["nll"][-1] < 0.5 * history["nll"][0]
    if mode == "professor":
        assert all(0.0 <= v <= 1.0 for k in ("d_accuracy", "train_d", "adversarial")
                   for v in history[k])
    if mode == "scheduled":
        assert history["sampling_probability"][-1] > history["sampling_probability"][0]
    # The generator is the trained LM on its own.
    logits = keras.ops.convert_to_numpy(pf.generator(x))
    assert (logits.argmax(-1) == y).mean() > 0.5


def test_keras_round_trip(tmp_path):
    pf = _model(mode="professor", teacher_cost=True, prefix=2)
    x, y = _data()
    pf(x)
    path = str(tmp_path / "pf.keras")
    pf.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ProfessorForcing)
    assert (loaded.mode, loaded.prefix, loaded.teacher_cost) == ("professor", 2, True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.generator(x)),
                               keras.ops.convert_to_numpy(pf.generator(x)), atol=1e-6)
    b = np.random.default_rng(0).normal(size=(2, 5, loaded.behaviour_size)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.discriminator(b)),
                               keras.ops.convert_to_numpy(pf.discriminator(b)), atol=1e-6)


def test_bad_arguments():
    gen = char_lm(VOCAB, cell="lstm", units=4)
    with pytest.raises(ValueError, match="mode"):
        ProfessorForcing(gen, mode="forcing")
    with pytest.raises(ValueError, match="adversarial_above"):
        ProfessorForcing(gen, adversarial_above=1.5)
    with pytest.raises(ValueError, match="prefix"):
        ProfessorForcing(gen, prefix=0)
    with pytest.raises(ValueError, match="input_batch_norm"):
        ProfessorForcing(char_lm(VOCAB, cell="gru", units=4, input_batch_norm=True))
    with pytest.raises(ValueError, match="rnn_layers"):
        behaviour_discriminator(4, rnn_layers=0)
    with pytest.raises(ValueError, match="temperature"):
        run_behaviour(gen, np.zeros((1, 3), "int32"), temperature=0)


@testing_utils.tensorflow_only  # the JAX train_step runs in test_fit_lowers_the_nll[professor]
@pytest.mark.multibackend
def test_fits_under_a_global_mixed_policy():
    # Not through Keras's layer harness: a model with its own train_step (two optimizers,
    # gated discriminator updates), whose harness step (a sum of outputs) would bypass it.
    # The same properties, directly: logits in the compute dtype, float32 weights, a fit step
    # with finite losses that changes the generator (#9). Round trip: test_keras_round_trip.
    pf = testing_utils.under_global_policy(
        "mixed_float16", lambda: _model(adversarial_above=0.0, train_discriminator_below=1.0))
    x, y = _data(batch=4, time=5)
    assert keras.backend.standardize_dtype(pf(x).dtype) == "float16"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in pf.weights
               if "float" in keras.backend.standardize_dtype(w.dtype))
    pf.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [keras.ops.convert_to_numpy(w) for w in pf.generator.trainable_weights]
    history = pf.fit(x, y, batch_size=4, epochs=1, verbose=0).history
    assert all(np.isfinite(history[k][0]) for k in ("loss", "nll", "d_loss", "c_f"))
    after = [keras.ops.convert_to_numpy(w) for w in pf.generator.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
