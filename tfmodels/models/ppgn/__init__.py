"""Plug & Play Generative Networks (Nguyen et al., arXiv:1612.00005) at MNIST scale.

Parts: a classifier whose penultimate ReLU code is h (E) and which is also the default
condition C; a generator G trained to invert E with pixel, feature-matching and GAN losses
(`GeneratorTrainer`); priors on h (`UpsideDownPrior`: R(h) = E(G(h)); `DAEPrior` over a
separately trained `code_dae`, or an `image_dae` for PPGN-x); conditions (`ClassCondition`
for any classifier, `NeuronCondition` for one hidden unit); and the sampler (`PPGNSampler`,
`make_sampler` for the DGN-AM / PPGN-x / PPGN-h / Joint PPGN-h variants), with inpainting.

Example:
    >>> import numpy as np
    >>> from tfmodels.models.ppgn import (ClassCondition, code_encoder, generator,
    ...     make_sampler, mnist_classifier)
    >>> c = mnist_classifier(code_units=8, filters=(2, 2)); g = generator(8, filters=(4, 4))
    >>> sampler = make_sampler("joint_ppgn_h", ClassCondition(c), generator=g,
    ...                        encoder=code_encoder(c))
    >>> sampler.sample(np.array([0, 1]), steps=1).images.shape
    (2, 28, 28, 1)
"""

from tfmodels.models.ppgn.conditions import (
    GRADIENTS,
    ClassCondition,
    DAEPrior,
    NeuronCondition,
    UpsideDownPrior,
)
from tfmodels.models.ppgn.evaluation import (
    class_confidence,
    frechet_distance,
    inception_score,
    intra_class_diversity,
)
from tfmodels.models.ppgn.generator_trainer import GeneratorTrainer
from tfmodels.models.ppgn.networks import (
    CODE_LAYER,
    FEATURE_LAYER,
    code_dae,
    code_encoder,
    discriminator,
    generator,
    image_dae,
    independent_classifier,
    mnist_classifier,
)
from tfmodels.models.ppgn.sampler import VARIANTS, PPGNSampler, SampleResult, make_sampler

__all__ = [
    "CODE_LAYER", "ClassCondition", "DAEPrior", "FEATURE_LAYER", "GRADIENTS",
    "GeneratorTrainer", "NeuronCondition", "PPGNSampler", "SampleResult", "UpsideDownPrior",
    "VARIANTS", "class_confidence", "code_dae", "code_encoder", "discriminator",
    "frechet_distance", "generator", "image_dae", "inception_score", "independent_classifier",
    "intra_class_diversity", "make_sampler", "mnist_classifier",
]
