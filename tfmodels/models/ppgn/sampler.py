"""The PPGN sampler: MCMC in a generator's latent space (arXiv:1612.00005, Eq. 11).

    h <- h + eps1 (R(h) - h) + eps2 d log C_y(G(h)) / dh + N(0, eps3^2)

as the authors' released sampler runs it: the three terms (plus `eps4` times the inpainting
context term) are summed into `d`, the step is normalized by the mean absolute value of `d`
(`h += lr / mean|d| * d`, per sample here, their batch was one sample), then h is clipped to
a realistic range (`[0, 30]` for CaffeNet's fc6; set `clip` from your code's range), and every
`reset_every` steps h restarts from N(0, 1) (for diversity along one long chain), optionally
with a fresh random eps1.

Variants (`VARIANTS`, `make_sampler`): DGN-AM (no learned prior: eps1 = 0, no noise),
PPGN-x (no generator: the state is the image, the prior a DAE on images), PPGN-h (a DAE
trained separately on h) and Joint PPGN-h (R(h) = E(G(h))).

Inpainting (Sec. 3.6): with `mask` (1 = pixels to fill) and `context` (the known image), C sees
`mask * G(h) + (1 - mask) * context`, so its gradient reaches only the masked region; `eps4`
pulls G(h) towards the context on the visible pixels; returned images are the stitched ones,
so visible pixels are never changed.

Example:
    >>> import numpy as np
    >>> from tfmodels.models.ppgn import (ClassCondition, PPGNSampler, UpsideDownPrior,
    ...     code_encoder, generator, mnist_classifier)
    >>> c = mnist_classifier(code_units=8, filters=(2, 2)); g = generator(8, filters=(4, 4))
    >>> sampler = PPGNSampler(ClassCondition(c), g, UpsideDownPrior(g, code_encoder(c)),
    ...                       eps1=1.0, eps3=0.1)
    >>> sampler.sample(np.array([3, 7]), steps=2).images.shape
    (2, 28, 28, 1)
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from tfmodels.models.ppgn.conditions import DAEPrior, UpsideDownPrior
from tfmodels.utils.backend import compile_function, value_and_grad

# eps defaults per variant, with eps2 = 1 (only ratios matter after the step normalization).
# The paper's CaffeNet values (eps1 = 1e-5, eps3 = 1e-17, lr = 1) are tied to fc6's scale; these
# were picked on the MNIST parts of benchmarks/ppgn_mnist.py (50 chains, 200 steps, lr = 0.1 x
# h's std) by the independent classifier's numbers (README, PPGN section).
VARIANTS = {
    "dgn_am": {"eps1": 0.0, "eps3": 0.0},
    "ppgn_x": {"eps1": 1.0, "eps3": 0.05},
    "ppgn_h": {"eps1": 0.3, "eps3": 0.05},
    "joint_ppgn_h": {"eps1": 0.1, "eps3": 0.05},
}


@dataclasses.dataclass
class SampleResult:
    """What `PPGNSampler.sample` returns (numpy arrays).

    Attributes:
        images: the last images `(B, 28, 28, 1)` (stitched with the context in inpainting).
        codes: the last states h `(B, ...)`.
        probabilities: C's `p(target | image)` (or the neuron's activation) of `images`.
        chain: images every `save_every` steps, each `(B, 28, 28, 1)` (empty if 0).
        samples: the images just before each reset and the last ones, each `(B, 28, 28, 1)`.
    """

    images: np.ndarray
    codes: np.ndarray
    probabilities: np.ndarray
    chain: list
    samples: list


class PPGNSampler:
    """Samples images conditioned on targets of `condition` (Eq. 11 with the authors' step).

    Args:
        condition: a `ClassCondition`, `NeuronCondition` or any object with
            `objective(images, targets) -> (B,)` and `probability(images, targets) -> (B,)`.
        generator: G (h -> image); None samples in image space (PPGN-x).
        prior: R (a callable `R(h, mask, context)`: `UpsideDownPrior`, `DAEPrior`) or None.
        eps1, eps2, eps3, eps4: prior, condition, noise and inpainting-context multipliers.
        lr, lr_end: step size, decayed linearly to `lr_end` over the steps (None: constant).
        clip: `(low, high)` bounds for h after each step (None: no clipping).
        reset_every: restart h from N(0, 1) every this many steps (0: never).
        reset_eps1: `(low, high)`: at each reset draw eps1 uniformly from it (the authors'
            experimental diversity trick); None keeps eps1.
        save_every: keep the images every this many steps in `SampleResult.chain`.
        seed: the numpy generator for the start, the noise and the resets.
    """

    def __init__(self, condition, generator=None, prior=None, eps1=1.0, eps2=1.0, eps3=0.0,
                 eps4=0.0, lr=1.0, lr_end=None, clip=(0.0, 30.0), reset_every=0,
                 reset_eps1=None, save_every=0, seed=0):
        for name, value in (("eps1", eps1), ("eps2", eps2), ("eps3", eps3), ("eps4", eps4)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if eps1 > 0 and prior is None:
            raise ValueError("eps1 > 0 needs a prior (UpsideDownPrior or DAEPrior), or eps1=0")
        if not isinstance(lr, (int, float)) or lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if clip is not None and (len(clip) != 2 or not clip[0] < clip[1]):
            raise ValueError(f"clip must be (low, high) with low < high, got {clip!r}")
        for name, value in (("reset_every", reset_every), ("save_every", save_every)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if reset_eps1 is not None and (len(reset_eps1) != 2 or reset_eps1[0] > reset_eps1[1]):
            raise ValueError(f"reset_eps1 must be (low, high), got {reset_eps1!r}")
        self.condition = condition
        self.generator = generator
        self.prior = prior
        self.eps = [float(eps1), float(eps2), float(eps3), float(eps4)]
        self.lr = float(lr)
        self.lr_end = self.lr if lr_end is None else float(lr_end)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))
        self.reset_every = reset_every
        self.reset_eps1 = reset_eps1
        self.save_every = save_every
        self.seed = seed

    # The update, written with keras.ops on whatever backend is active.

    def render(self, h, mask, context):
        """The image the condition sees: `mask * G(h) + (1 - mask) * context`."""
        x = h if self.generator is None else self.generator(h, training=False)
        return mask * x + (1.0 - mask) * context

    def direction(self, h, targets, noise, eps, mask, context):
        """`d = eps1 (R(h) - h) + d/dh [eps2 sum log C + eps4 context term] + eps3 noise`,
        the unnormalized step (`eps` = `[eps1, eps2, eps3, eps4]`)."""

        def objective(h):
            x = h if self.generator is None else self.generator(h, training=False)
            seen = mask * x + (1.0 - mask) * context
            fit = -0.5 * ops.sum(ops.square((context - x) * (1.0 - mask)))
            return eps[1] * ops.sum(self.condition.objective(seen, targets)) + eps[3] * fit

        _, d_objective = value_and_grad(objective)(h)
        d = d_objective + eps[2] * noise
        if self.prior is not None:
            d = d + eps[0] * (ops.stop_gradient(self.prior(h, mask, context)) - h)
        return d

    def step(self, h, targets, noise, eps, lr, mask, context):
        """One update: `(h, targets, noise ~ N(0, 1), eps, lr, mask, context) -> new h`."""
        d = self.direction(h, targets, noise, eps, mask, context)
        axes = tuple(range(1, len(h.shape)))
        mean_abs = ops.mean(ops.abs(d), axis=axes, keepdims=True)
        h = h + ops.where(mean_abs > 0, lr / ops.maximum(mean_abs, 1e-30), 0.0) * d
        if self.clip is not None:
            h = ops.clip(h, self.clip[0], self.clip[1])
        return h

    def _start(self, rng, shape):
        if self.generator is None:
            return rng.uniform(0.0, 1.0, shape).astype("float32")
        return rng.normal(0.0, 1.0, shape).astype("float32")

    def sample(self, targets, steps, h0=None, mask=None, context=None):
        """Runs the chain `steps` steps for each target (one chain per batch row).

        Args:
            targets: int `(B,)` classes (or unit indices for a `NeuronCondition`).
            steps: MCMC steps.
            h0: the start `(B, code_units)` (or images for PPGN-x); default N(0, 1) codes
                (uniform images).
            mask: inpainting: `(B, 28, 28, 1)` 1 where pixels are sampled, 0 where `context`
                is kept; needs `context`.
            context: the known images `(B, 28, 28, 1)`.

        Returns:
            A `SampleResult`.
        """
        targets = np.asarray(targets)
        if targets.ndim != 1 or len(targets) == 0 or not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(f"targets must be a non-empty 1-D int array, got {targets!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        if (mask is None) != (context is None):
            raise ValueError("mask and context go together (inpainting), got only one")
        batch = len(targets)
        rng = np.random.default_rng(self.seed)
        if h0 is None:
            shape = ((batch, *self.generator.input_shape[1:]) if self.generator is not None
                     else (batch, 28, 28, 1))
            h0 = self._start(rng, shape)
        h = np.asarray(h0, "float32")
        if h.shape[0] != batch:
            raise ValueError(f"h0 has {h.shape[0]} rows for {batch} targets")
        image_shape = tuple(self.render(h[:1], 1.0, 0.0).shape[1:])
        if mask is None:
            mask = np.ones((batch, *image_shape), "float32")
            context = np.zeros((batch, *image_shape), "float32")
        mask, context = np.asarray(mask, "float32"), np.asarray(context, "float32")
        if mask.shape != (batch, *image_shape) or context.shape != mask.shape:
            raise ValueError(f"mask and context must be {(batch, *image_shape)}, got "
                             f"{mask.shape} and {context.shape}")
        step = compile_function(self.step)
        render = compile_function(self.render)
        eps = list(self.eps)
        chain, samples = [], []
        targets_t = ops.convert_to_tensor(targets.astype("int32"))
        mask_t, context_t = ops.convert_to_tensor(mask), ops.convert_to_tensor(context)
        h = ops.convert_to_tensor(h)
        for i in range(steps):
            lr = self.lr + (self.lr_end - self.lr) * i / steps
            noise = (rng.normal(0.0, 1.0, h.shape).astype("float32") if eps[2] > 0
                     else np.zeros(h.shape, "float32"))
            h = step(h, targets_t, ops.convert_to_tensor(noise),
                     ops.convert_to_tensor(np.asarray(eps, "float32")),
                     ops.convert_to_tensor(np.float32(lr)), mask_t, context_t)
            if self.save_every and i % self.save_every == 0:
                chain.append(keras.ops.convert_to_numpy(render(h, mask_t, context_t)))
            if self.reset_every and i > 0 and i % self.reset_every == 0 and i < steps - 1:
                samples.append(keras.ops.convert_to_numpy(render(h, mask_t, context_t)))
                h = ops.convert_to_tensor(self._start(rng, tuple(h.shape)))
                if self.reset_eps1 is not None:
                    eps[0] = float(rng.uniform(*self.reset_eps1))
        images = keras.ops.convert_to_numpy(render(h, mask_t, context_t))
        samples.append(images)
        probabilities = keras.ops.convert_to_numpy(
            self.condition.probability(ops.convert_to_tensor(images), targets_t))
        return SampleResult(images=images, codes=keras.ops.convert_to_numpy(h),
                            probabilities=probabilities, chain=chain, samples=samples)


def make_sampler(variant, condition, generator=None, encoder=None, code_dae=None,
                 image_dae=None, **overrides):
    """A `PPGNSampler` for one of `VARIANTS`.

    Args:
        variant: "dgn_am" (G, no prior), "ppgn_x" (no G, `image_dae` prior, clip [0, 1]),
            "ppgn_h" (G, `code_dae` prior) or "joint_ppgn_h" (G, R = E(G(h)) with `encoder`).
        condition: C.
        generator, encoder, code_dae, image_dae: the parts the variant needs.
        **overrides: any other `PPGNSampler` argument (eps1, eps3, clip, reset_every, ...).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    needs = {"dgn_am": ("generator",), "ppgn_x": ("image_dae",),
             "ppgn_h": ("generator", "code_dae"), "joint_ppgn_h": ("generator", "encoder")}
    given = {"generator": generator, "encoder": encoder, "code_dae": code_dae,
             "image_dae": image_dae}
    for part in needs[variant]:
        if given[part] is None:
            raise ValueError(f"variant {variant!r} needs {part}")
    kwargs = dict(VARIANTS[variant])
    if variant == "dgn_am":
        kwargs.update(generator=generator, prior=None)
    elif variant == "ppgn_x":
        kwargs.update(generator=None, prior=DAEPrior(image_dae), clip=(0.0, 1.0))
    elif variant == "ppgn_h":
        kwargs.update(generator=generator, prior=DAEPrior(code_dae))
    else:
        kwargs.update(generator=generator, prior=UpsideDownPrior(generator, encoder))
    kwargs.update(overrides)
    return PPGNSampler(condition, **kwargs)
