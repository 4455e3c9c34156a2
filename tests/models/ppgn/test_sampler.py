"""PPGNSampler: Eq. 11 with the authors' normalization checked by hand on a linear toy,
the eps2 = eps3 = 0 prior-only case, clipping, resets, inpainting, argument errors."""

import keras
import numpy as np
import pytest

from tfmodels.models.ppgn import (
    ClassCondition,
    DAEPrior,
    NeuronCondition,
    PPGNSampler,
    make_sampler,
)

CODE, PIXELS, CLASSES = 3, 28 * 28, 4


def _linear_parts(seed=0):
    """G(h) = reshape(Wg h), C(x) = Wc flatten(x) + b, R(h) = A h: everything linear, so the
    step can be written down in numpy."""
    rng = np.random.default_rng(seed)
    wg = rng.normal(0, 0.1, (CODE, PIXELS)).astype("float32")
    wc = rng.normal(0, 0.1, (PIXELS, CLASSES)).astype("float32")
    bc = rng.normal(0, 0.1, CLASSES).astype("float32")
    a = rng.normal(0, 0.5, (CODE, CODE)).astype("float32")
    g = keras.Sequential([keras.Input((CODE,)), keras.layers.Dense(PIXELS, use_bias=False),
                          keras.layers.Reshape((28, 28, 1))])
    g.layers[0].set_weights([wg])
    image = keras.Input((28, 28, 1))
    c = keras.Model(image, keras.layers.Dense(CLASSES, name="logits")(
        keras.layers.Flatten()(image)))
    c.get_layer("logits").set_weights([wc, bc])
    r = keras.Sequential([keras.Input((CODE,)), keras.layers.Dense(CODE, use_bias=False)])
    r.layers[0].set_weights([a])
    return g, c, r, (wg, wc, bc, a)


def _numpy_step(h, targets, noise, eps, lr, weights, clip, gradient="authors"):
    wg, wc, bc, a = weights
    logits = h @ wg @ wc + bc
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    onehot = np.eye(CLASSES)[targets]
    if gradient == "authors":  # (1 - p_y) back-propagated from logit y alone
        d_logits = onehot * (1 - p[np.arange(len(h)), targets])[:, None]
    else:
        d_logits = onehot - p
    d_cond = d_logits @ (wg @ wc).T
    d = eps[0] * (h @ a - h) + eps[1] * d_cond + eps[2] * noise
    h = h + lr / np.abs(d).mean(-1, keepdims=True) * d
    return np.clip(h, *clip)


@pytest.mark.multibackend
@pytest.mark.parametrize("gradient", ["authors", "log_softmax"])
def test_one_step_matches_equation_by_hand(gradient):
    g, c, r, weights = _linear_parts()
    h0 = np.array([[0.5, -0.2, 1.0], [0.1, 0.3, -0.4]], "float32")
    targets = np.array([2, 0])
    eps, lr, clip, seed = (0.7, 1.3, 0.4), 0.05, (-0.6, 0.9), 3
    sampler = PPGNSampler(ClassCondition(c, gradient=gradient), g, DAEPrior(r), eps1=eps[0],
                          eps2=eps[1], eps3=eps[2], lr=lr, clip=clip, seed=seed)
    result = sampler.sample(targets, steps=1, h0=h0)
    noise = np.random.default_rng(seed).normal(0.0, 1.0, h0.shape).astype("float32")
    expected = _numpy_step(h0.astype(np.float64), targets, noise, eps, lr, weights, clip,
                           gradient)
    np.testing.assert_allclose(result.codes, expected, atol=2e-5)
    assert not np.allclose(result.codes, h0)


@pytest.mark.multibackend
def test_without_condition_and_noise_only_the_prior_moves_h():
    g, c, r, weights = _linear_parts()
    _, other_c, _, _ = _linear_parts(seed=7)
    h0 = np.array([[0.5, -0.2, 1.0]], "float32")
    codes = []
    for classifier in (c, other_c):
        sampler = PPGNSampler(ClassCondition(classifier), g, DAEPrior(r), eps1=1.0, eps2=0.0,
                              eps3=0.0, lr=0.1, clip=None)
        codes.append(sampler.sample(np.array([1]), steps=3, h0=h0).codes)
    h = h0.astype(np.float64)
    for _ in range(3):  # h + lr (R(h) - h) / mean|R(h) - h|
        d = h @ weights[3] - h
        h = h + 0.1 / np.abs(d).mean(-1, keepdims=True) * d
    np.testing.assert_allclose(codes[0], h, atol=1e-5)
    np.testing.assert_array_equal(codes[0], codes[1])  # C plays no part


def test_dgn_am_ignores_prior_and_climbs_the_class():
    g, c, r, _ = _linear_parts()
    condition = ClassCondition(c, gradient="log_softmax")
    sampler = make_sampler("dgn_am", condition, generator=g, lr=0.05, clip=(-50.0, 50.0))
    assert sampler.eps[0] == 0.0 and sampler.eps[2] == 0.0 and sampler.prior is None
    targets = np.array([0, 1, 2, 3])
    h0 = np.zeros((4, CODE), "float32")
    before = np.asarray(condition.probability(g(h0), targets))
    after = sampler.sample(targets, steps=20, h0=h0).probabilities
    assert np.all(after > before)


def test_clip_reset_and_chain():
    g, c, r, _ = _linear_parts()
    sampler = PPGNSampler(ClassCondition(c), g, DAEPrior(r), eps3=0.5, lr=1.0,
                          clip=(0.0, 0.25), reset_every=3, save_every=2)
    result = sampler.sample(np.array([0, 1]), steps=10)
    assert result.codes.min() >= 0.0 and result.codes.max() <= 0.25
    assert len(result.chain) == 5  # steps 0, 2, 4, 6, 8
    assert len(result.samples) == 3  # kept at the resets after steps 3 and 6, and the last
    assert result.samples[-1] is result.images or np.array_equal(result.samples[-1], result.images)


@pytest.mark.multibackend
def test_inpainting_never_changes_visible_pixels():
    g, c, r, _ = _linear_parts()
    rng = np.random.default_rng(1)
    context = rng.uniform(0, 1, (2, 28, 28, 1)).astype("float32")
    mask = np.zeros_like(context)
    mask[:, :14] = 1.0
    sampler = PPGNSampler(ClassCondition(c), g, DAEPrior(r), eps3=0.1, eps4=1.0, lr=0.5,
                          clip=None)
    result = sampler.sample(np.array([1, 3]), steps=5, mask=mask, context=context)
    visible = mask == 0
    np.testing.assert_array_equal(result.images[visible], context[visible])
    assert not np.allclose(result.images[~visible], context[~visible])


def test_neuron_condition_raises_the_unit():
    g, c, r, _ = _linear_parts()
    condition = NeuronCondition(c, "logits")
    units = np.array([0, 3])
    h0 = np.zeros((2, CODE), "float32")
    start = np.asarray(condition.objective(g(h0), units))
    result = PPGNSampler(condition, g, eps1=0.0, lr=0.3, clip=None).sample(units, 10, h0=h0)
    assert np.all(result.probabilities > start + 0.1)


def test_ppgn_x_samples_in_image_space():
    _, c, _, _ = _linear_parts()
    dae = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(0.5)])
    sampler = make_sampler("ppgn_x", ClassCondition(c), image_dae=dae, lr=0.05)
    result = sampler.sample(np.array([2]), steps=3)
    assert result.codes.shape == (1, 28, 28, 1)
    assert result.images.min() >= 0 and result.images.max() <= 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(eps1=-1.0), "eps1"),
    (dict(eps1=1.0, prior=None), "needs a prior"),
    (dict(lr=0.0), "lr"),
    (dict(clip=(1.0, 0.0)), "clip"),
    (dict(reset_every=-1), "reset_every"),
])
def test_bad_arguments(kwargs, match):
    g, c, r, _ = _linear_parts()
    kwargs = {"prior": DAEPrior(r), **kwargs}
    with pytest.raises(ValueError, match=match):
        PPGNSampler(ClassCondition(c), g, **kwargs)


def test_bad_sample_arguments():
    g, c, r, _ = _linear_parts()
    sampler = PPGNSampler(ClassCondition(c), g, DAEPrior(r))
    with pytest.raises(ValueError, match="targets"):
        sampler.sample(np.array([0.5]), 1)
    with pytest.raises(ValueError, match="steps"):
        sampler.sample(np.array([0]), 0)
    with pytest.raises(ValueError, match="mask and context"):
        sampler.sample(np.array([0]), 1, mask=np.ones((1, 28, 28, 1)))
    with pytest.raises(ValueError, match="needs code_dae"):
        make_sampler("ppgn_h", ClassCondition(c), generator=g)
    with pytest.raises(ValueError, match="variant"):
        make_sampler("ppgn_z", ClassCondition(c), generator=g)
