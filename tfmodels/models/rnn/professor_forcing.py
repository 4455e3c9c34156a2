"""Professor Forcing (Lamb et al., arXiv:1610.09038): train an RNN LM to behave alike when it
reads the data (teacher forcing) and when it feeds itself its own samples (free running).

`ProfessorForcing(generator)` wraps a character LM of this package (`char_lm`: Embedding ->
RNN layers, float or quantized -> per-step head) in a model that `model.fit` trains on
`(ids, next_ids)` windows, on the TensorFlow and JAX backends, in one of three modes:

- `"teacher"`: plain teacher forcing, NLL of the next id (through the same step loop as the
  other two modes, so all three share one computation).
- `"scheduled"`: scheduled sampling (Bengio et al., arXiv:1506.03099): at each step each input
  is, with probability `p_i`, the model's own sample instead of the data; `p_i = 1 - k / (k +
  exp(i / k))` (the paper's inverse-sigmoid decay of the teacher-forcing probability) capped at
  `max_sampling_probability`. Samples are constants to the gradient, as in that paper.
- `"professor"`: the paper's method. The behaviour `B` of a run is the sequence of the RNN
  layers' hidden states (concatenated; optionally with the output distribution). A
  discriminator `D` (`behaviour_discriminator`: bidirectional GRUs over `B`, mean over time,
  ReLU MLP, one logit clipped to +-`logit_clip` as in the authors' code) tells teacher-forced
  runs (label 1) from free-running runs (label 0) of the same length started from the same
  prefix. Losses (Sec. 3):

      L_D = E_tf[-log D(B)] + E_free[-log(1 - D(B))]       (gradient to D only)
      L_G = NLL(teacher forced) + C_f [+ C_t]              (gradient to the generator only)
      C_f = E_free[-log D(B)],  C_t = E_tf[-log(1 - D(B))] (optional, `teacher_cost=True`)

  Gating (the paper's): `L_D` is trained only on batches where D's accuracy on that batch is
  below `train_discriminator_below` (0.99), and `C_f`/`C_t` enter only where it is above
  `adversarial_above` (0.75).

One loss, one optimizer, one backend-agnostic step: `compute_loss` returns
`NLL + g_G * w * (C_f + C_t) + g_D * L_D`, and the routing is done with stop-gradients: `L_D`
sees the behaviours through `stop_gradient` (its gradient never reaches the generator), and
`C_f`/`C_t` run D with `stop_gradient` on its weights (their gradient never reaches D). Keras's
default `train_step` then gives each part exactly the gradient of its own loss. With Adam, a
gated-off term contributes zero gradient, but the optimizer's moments still move the weights a
little for a few steps (SGD would freeze them; the paper does not say which behaviour it had).

Free running must be differentiable for `C_f` to reach the generator. We sample with the
Gumbel-max trick and feed the sample *straight through* (`free_running="straight_through"`,
the default): forward, the next input is the one-hot of a real sample, so D sees exactly the
behaviour the LM shows when it samples at test time; backward, the one-hot's gradient goes to
the softmax probabilities (`onehot + p - stop_gradient(p)`), and the gradient also flows
through the recurrence `h_t = f(h_{t-1}, x_t)`. `free_running="expected"` feeds the expected
embedding `p @ E` instead: exact gradients and no sampling noise, but a forward pass the model
never runs at test time (a soft input is not a character), so it matches the wrong behaviour.

Both runs (and scheduled sampling) are one `keras.ops.scan` over the generator's cells, which
calls the same layer objects as the generator (shared weights); dropout is not applied there,
and a quantized cell's weights are quantized once per batch (one sample for stochastic
quantizers, as `QuantGRU` etc. do). The trained generator is an ordinary char-LM: evaluate it,
save it and export its int8 step model (`tfmodels.export.rnn.export_step_tflite`) as usual;
the discriminator is training-only.

Example:
    >>> from tfmodels.models.rnn import char_lm
    >>> gen = char_lm(20, cell="lstm", units=16)
    >>> pf = ProfessorForcing(gen, discriminator=behaviour_discriminator(16, units=8,
    ...     rnn_layers=1, dense_layers=1))
    >>> pf.compile(optimizer="adam")
"""

import random

import keras
import numpy as np
from keras import ops

MODES = ("teacher", "scheduled", "professor")
FREE_RUNNING = ("straight_through", "expected")
BEHAVIOURS = ("hidden", "hidden_and_output")


def behaviour_discriminator(behaviour_dim, units=64, rnn_layers=3, dense_units=None,
                            dense_layers=3, seed=None, name="discriminator"):
    """The Professor Forcing discriminator: `(batch, time, behaviour_dim)` -> one logit each.

    Bidirectional GRU layers over the behaviour sequence, the mean over time, ReLU dense layers
    and a linear logit (the authors' code: three GRU layers, three ReLU layers). The logit is
    unclipped here; `ProfessorForcing` clips it to +-`logit_clip`.

    Args:
        behaviour_dim: features per step (`ProfessorForcing.behaviour_dim(generator)`).
        units: GRU units per direction.
        rnn_layers: stacked bidirectional GRU layers (>= 1).
        dense_units: width of the ReLU layers (default `2 * units`).
        dense_layers: ReLU layers before the logit (>= 0).
        seed: seed of the initializers.
        name: model name.

    Returns:
        A `keras.Model` whose output has shape `(batch,)`.
    """
    for arg, value, low in (("behaviour_dim", behaviour_dim, 1), ("units", units, 1),
                            ("rnn_layers", rnn_layers, 1), ("dense_layers", dense_layers, 0)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{arg} must be an integer >= {low}; got {value!r}")
    dense_units = dense_units or 2 * units
    rng = random.Random(seed)

    def init():
        return keras.initializers.GlorotUniform(None if seed is None else rng.randrange(2**31))

    x = inputs = keras.Input((None, behaviour_dim), name="behaviour")
    for i in range(rnn_layers):
        x = keras.layers.Bidirectional(
            keras.layers.GRU(units, return_sequences=True, kernel_initializer=init()),
            name=f"bigru_{i}")(x)
    x = keras.layers.GlobalAveragePooling1D(name="mean_over_time")(x)
    for i in range(dense_layers):
        x = keras.layers.Dense(dense_units, activation="relu", kernel_initializer=init(),
                               name=f"dense_{i}")(x)
    logit = keras.layers.Dense(1, kernel_initializer=init(), name="logit")(x)
    logit = keras.layers.Reshape((), name="squeeze")(logit)
    return keras.Model(inputs, logit, name=name)


class _Steps:
    """The generator as one step function over (embedding, RNN cells, per-step head)."""

    def __init__(self, generator, allow_input_norm=False):
        layers = [l for l in generator.layers if not isinstance(l, keras.layers.InputLayer)]
        if not layers or not isinstance(layers[0], keras.layers.Embedding):
            raise ValueError(f"generator {generator.name!r} must start with an Embedding layer "
                             "(a char_lm)")
        self.embedding, self.layers = layers[0], layers[1:]
        self.rnns = [l for l in self.layers if isinstance(l, keras.layers.RNN)]
        if not self.rnns:
            raise ValueError(f"generator {generator.name!r} has no RNN layer")
        for rnn in self.rnns:
            if not rnn.return_sequences:
                raise ValueError(f"generator RNN layer {rnn.name!r} must return sequences")
            if getattr(rnn, "input_norm", None) is not None and not allow_input_norm:
                raise ValueError(
                    f"generator RNN layer {rnn.name!r} batch-normalizes its inputs, which a "
                    "step-by-step run cannot reproduce; build it with input_batch_norm=False")
        self.vocabulary_size = self.embedding.input_dim
        self.sizes = []
        for rnn in self.rnns:
            s = rnn.cell.state_size
            self.sizes.append([s] if isinstance(s, int) else list(s))
        self.hidden_dim = sum(rnn.cell.output_size for rnn in self.rnns)

    def zero_states(self, batch):
        return tuple(ops.zeros((batch, n)) for sizes in self.sizes for n in sizes)

    def run(self, truth, use_truth, noise, feed="straight_through", training=False):
        """Runs the generator over `time` steps.

        Args:
            truth: `(batch, time, vocab)` one-hot data inputs.
            use_truth: `(batch, time)` 1 where the step reads the data, 0 where it reads the
                previous step's own sample.
            noise: `(batch, time, vocab)` Gumbel noise of the samples.
            feed: what an own sample feeds forward: "straight_through" (one-hot forward,
                softmax gradient), "expected" (the distribution itself) or "constant" (the
                one-hot, no gradient: scheduled sampling).
            training: quantizers' training mode (one stochastic sample for the run).

        Returns:
            `(logits, hidden)`: `(batch, time, vocab)` and `(batch, time, hidden_dim)`.
        """
        batch = ops.shape(truth)[0]
        cells = [rnn.cell for rnn in self.rnns if hasattr(rnn.cell, "cache_quantized_weights")]
        for cell in cells:
            cell.cache_quantized_weights(training)
        try:
            xs = tuple(ops.moveaxis(t, 1, 0) for t in
                       (truth, ops.expand_dims(ops.cast(use_truth, truth.dtype), -1), noise))
            # Keras's TensorFlow `scan` wants the per-step outputs shaped like the carry, so
            # the carry holds (fed input, logits, hidden, *states) and is also the output.
            init = (ops.zeros_like(truth[:, 0]), ops.zeros_like(truth[:, 0]),
                    ops.zeros((batch, self.hidden_dim))) + self.zero_states(batch)
            _, (_, logits, hidden, *_) = ops.scan(
                lambda carry, x: self._step(carry, x, feed), init, xs)
        finally:
            for cell in cells:
                cell.clear_quantized_weights()
        return ops.moveaxis(logits, 0, 1), ops.moveaxis(hidden, 0, 1)

    def _step(self, carry, xs, feed):
        previous, states = carry[0], list(carry[3:])
        truth, use, noise = xs
        v = use * truth + (1.0 - use) * previous
        h = ops.matmul(v, ops.cast(self.embedding.embeddings, v.dtype))
        new_states, hidden, k = [], [], 0
        for layer in self.layers:
            if isinstance(layer, keras.layers.RNN):
                n = len(self.sizes[len(hidden)])
                h, s = layer.cell(h, states[k:k + n], training=False)
                s = list(s) if isinstance(s, (list, tuple)) else [s]
                new_states += s
                hidden.append(h)
                k += n
            else:
                h = layer(h, training=False)
        logits = ops.cast(h, "float32")
        p = ops.softmax(logits)
        sample = ops.one_hot(ops.argmax(logits + noise, axis=-1), self.vocabulary_size,
                             dtype=p.dtype)
        if feed == "straight_through":
            fed = sample + p - ops.stop_gradient(p)
        elif feed == "expected":
            fed = p
        else:
            fed = ops.stop_gradient(sample)
        hidden = ops.concatenate([ops.cast(x, "float32") for x in hidden], axis=-1)
        carry = (fed, logits, hidden, *[ops.cast(s, "float32") for s in new_states])
        return carry, carry


def _gumbel(shape, seed):
    u = keras.random.uniform(shape, minval=1e-6, maxval=1.0 - 1e-6, seed=seed)
    return -ops.log(-ops.log(u))


@keras.saving.register_keras_serializable("tfmodels")
class ProfessorForcing(keras.Model):
    """Trains a char-LM by teacher forcing, scheduled sampling or Professor Forcing.

    Args:
        generator: a char-LM (`tfmodels.models.rnn.char_lm`, float or quantized, without
            input batch norm): int ids `(batch, time)` -> logits `(batch, time, vocab)`.
        discriminator: a model `(batch, time, behaviour_dim)` -> logits `(batch,)`; default
            `behaviour_discriminator(behaviour_dim, seed=seed)` in "professor" mode.
        mode: "teacher", "scheduled" or "professor".
        behaviour: "hidden" (the RNN layers' outputs) or "hidden_and_output" (plus the output
            distribution).
        free_running: "straight_through" or "expected" (see the module docstring).
        prefix: data inputs the free-running run reads before it feeds itself (>= 1).
        adversarial_weight: weight of `C_f` (and `C_t`) in the generator's loss.
        teacher_cost: add `C_t = E_tf[-log(1 - D(B))]` (the paper's optional term).
        train_discriminator_below: D trains on a batch only while its accuracy is below this.
        adversarial_above: the generator gets `C_f` only while D's accuracy is above this.
        logit_clip: D's logit is clipped to +-this (the authors' 10).
        sampling_k: scheduled sampling's `k` (steps of the inverse-sigmoid decay).
        max_sampling_probability: cap of scheduled sampling's probability of own samples.
        seed: seed of the samples (Gumbel noise, scheduled-sampling coins).

    Inputs are `(batch, time)` int ids; `call` returns the generator's teacher-forced logits.
    `fit` takes `(ids, next_ids)` batches (`tfmodels.data.text.window_dataset`) and logs
    `nll` (nats per step), `bpc`, and in "professor" mode `d_loss`, `d_accuracy`, `c_f`,
    `train_d` and `adversarial` (shares of batches where D trained / the generator got `C_f`);
    in "scheduled" mode `sampling_probability`.

    Example:
        pf = ProfessorForcing(char_lm(vocab, cell="lstm", units=128))
        pf.compile(optimizer=keras.optimizers.Adam(2e-3, clipnorm=1.0))
        pf.fit(text.window_dataset(ids, 64, 32).repeat(), steps_per_epoch=200)
        pf.generator  # the trained char-LM
    """

    def __init__(self, generator, discriminator=None, mode="professor", behaviour="hidden",
                 free_running="straight_through", prefix=1, adversarial_weight=1.0,
                 teacher_cost=False, train_discriminator_below=0.99, adversarial_above=0.75,
                 logit_clip=10.0, sampling_k=100.0, max_sampling_probability=0.25, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}; got {mode!r}")
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {list(BEHAVIOURS)}; got {behaviour!r}")
        if free_running not in FREE_RUNNING:
            raise ValueError(f"free_running must be one of {list(FREE_RUNNING)}; got "
                             f"{free_running!r}")
        if not isinstance(prefix, int) or prefix < 1:
            raise ValueError(f"prefix must be an integer >= 1; got {prefix!r}")
        for arg, value in (("train_discriminator_below", train_discriminator_below),
                           ("adversarial_above", adversarial_above),
                           ("max_sampling_probability", max_sampling_probability)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{arg} must be in [0, 1]; got {value!r}")
        if not logit_clip > 0 or not sampling_k > 0 or adversarial_weight < 0:
            raise ValueError("logit_clip and sampling_k must be > 0, adversarial_weight >= 0; "
                             f"got {logit_clip!r}, {sampling_k!r}, {adversarial_weight!r}")
        self.generator = generator
        self.steps = _Steps(generator)
        self.mode = mode
        self.behaviour = behaviour
        self.free_running = free_running
        self.prefix = prefix
        self.adversarial_weight = float(adversarial_weight)
        self.teacher_cost = bool(teacher_cost)
        self.train_discriminator_below = float(train_discriminator_below)
        self.adversarial_above = float(adversarial_above)
        self.logit_clip = float(logit_clip)
        self.sampling_k = float(sampling_k)
        self.max_sampling_probability = float(max_sampling_probability)
        self.seed = seed
        self.behaviour_size = self.steps.hidden_dim + (
            self.steps.vocabulary_size if behaviour == "hidden_and_output" else 0)
        if discriminator is None and mode == "professor":
            discriminator = behaviour_discriminator(self.behaviour_size, seed=seed)
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.iteration = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="iteration")
        names = ["nll", "bpc"]
        if mode == "professor":
            names += ["d_loss", "d_accuracy", "c_f", "train_d", "adversarial"]
        if mode == "scheduled":
            names += ["sampling_probability"]
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        # Generator and discriminator are built models, and this model's own state exists:
        # built, as `BackupAndRestore` (resumable training) requires before `fit`.
        self.built = True

    @staticmethod
    def behaviour_dim(generator, behaviour="hidden"):
        """Features per step of `generator`'s behaviour (the discriminator's input size)."""
        steps = _Steps(generator, allow_input_norm=True)
        return steps.hidden_dim + (steps.vocabulary_size if behaviour == "hidden_and_output"
                                   else 0)

    def call(self, ids, training=False):
        return self.generator(ids, training=training)

    # Losses ----------------------------------------------------------------------------------

    def sampling_probability(self):
        """Scheduled sampling's probability of feeding own samples at the current iteration."""
        k = self.sampling_k
        truth = k / (k + ops.exp(ops.minimum(self.iteration / k, 50.0)))
        return ops.minimum(1.0 - truth, self.max_sampling_probability)

    def discriminate(self, behaviour, frozen=False):
        """D's clipped logits; `frozen`: D's weights are constants to the gradient."""
        if not frozen:
            logits = self.discriminator(behaviour, training=True)
        else:
            d = self.discriminator
            logits, _ = d.stateless_call(
                [ops.stop_gradient(v.value) for v in d.trainable_variables],
                [v.value for v in d.non_trainable_variables], behaviour, training=True)
        return ops.clip(ops.cast(logits, "float32"), -self.logit_clip, self.logit_clip)

    def losses_of(self, ids, targets, training=True):
        """All terms of the step: `{"nll", "total", ...}` (scalars), for `compute_loss`/tests.

        Returns a dict with `nll`, `total` and, in "professor" mode, `d_loss`, `c_f`, `c_t`,
        `d_accuracy`, `train_d`, `adversarial` (gates as 0/1 floats); in "scheduled" mode
        `sampling_probability`.
        """
        ids = ops.cast(ids, "int32")
        vocab = self.steps.vocabulary_size
        shape = ops.shape(ids)
        truth = ops.one_hot(ids, vocab, dtype="float32")
        noise = _gumbel((shape[0], shape[1], vocab), self.seed_generator)
        out = {}
        if self.mode == "teacher":
            # The same one-hot step path as the other modes (not `generator(ids)`), so the
            # three share one update rule: on TensorFlow, Adam's step on an Embedding's sparse
            # gradient is not the step on the equal dense gradient (measured: 3.6x larger).
            logits, _ = self.steps.run(truth, ops.ones((shape[0], shape[1])), noise,
                                       training=training)
        elif self.mode == "scheduled":
            p = self.sampling_probability() if training else ops.zeros(())
            coins = keras.random.uniform((shape[0], shape[1]), seed=self.seed_generator)
            use = ops.cast(coins >= p, "float32")
            use = ops.concatenate([ops.ones_like(use[:, :1]), use[:, 1:]], axis=1)
            logits, _ = self.steps.run(truth, use, noise, feed="constant", training=training)
            out["sampling_probability"] = p
        else:
            ones = ops.ones((shape[0], shape[1]))
            logits, b_tf = self.steps.run(truth, ones, noise, training=training)
            prefix = ops.cast(ops.arange(shape[1]) < self.prefix, "float32")
            free_logits, b_free = self.steps.run(
                truth, ones * prefix[None], noise, feed=self.free_running, training=training)
            if self.behaviour == "hidden_and_output":
                b_tf = ops.concatenate([b_tf, ops.softmax(logits)], axis=-1)
                b_free = ops.concatenate([b_free, ops.softmax(free_logits)], axis=-1)
            # D's own loss sees constant behaviours: its gradient never reaches the generator.
            l_tf = self.discriminate(ops.stop_gradient(b_tf))
            l_free = self.discriminate(ops.stop_gradient(b_free))
            d_loss = ops.mean(ops.softplus(-l_tf)) + ops.mean(ops.softplus(l_free))
            accuracy = ops.stop_gradient(0.5 * (ops.mean(ops.cast(l_tf > 0, "float32"))
                                                + ops.mean(ops.cast(l_free <= 0, "float32"))))
            train_d = ops.cast(accuracy < self.train_discriminator_below, "float32")
            adversarial = ops.cast(accuracy > self.adversarial_above, "float32")
            # The generator's costs see D's weights as constants: their gradient never reaches D.
            c_f = ops.mean(ops.softplus(-self.discriminate(b_free, frozen=True)))
            c_t = (ops.mean(ops.softplus(self.discriminate(b_tf, frozen=True)))
                   if self.teacher_cost else ops.zeros(()))
            out.update(d_loss=d_loss, c_f=c_f, c_t=c_t, d_accuracy=accuracy, train_d=train_d,
                       adversarial=adversarial)
        nll = ops.mean(keras.losses.sparse_categorical_crossentropy(
            ops.cast(targets, "int32"), ops.cast(logits, "float32"), from_logits=True))
        total = nll
        if self.mode == "professor":
            total = (nll + out["adversarial"] * self.adversarial_weight * (out["c_f"] + out["c_t"])
                     + out["train_d"] * out["d_loss"])
        out.update(nll=nll, total=total)
        return out

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if training:
            # The iteration counter drives scheduled sampling's decay.
            self.iteration.assign_add(1.0)
        terms = self.losses_of(x, y, training=training)
        for name, tracker in self.trackers.items():
            value = terms["nll"] / ops.log(2.0) if name == "bpc" else terms[name]
            tracker.update_state(value)
        return terms["total"]

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return {m.name: m.result() for m in self.metrics}

    # Serialization ---------------------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=(None if self.discriminator is None
                           else keras.saving.serialize_keras_object(self.discriminator)),
            mode=self.mode, behaviour=self.behaviour, free_running=self.free_running,
            prefix=self.prefix, adversarial_weight=self.adversarial_weight,
            teacher_cost=self.teacher_cost,
            train_discriminator_below=self.train_discriminator_below,
            adversarial_above=self.adversarial_above, logit_clip=self.logit_clip,
            sampling_k=self.sampling_k, max_sampling_probability=self.max_sampling_probability,
            seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        if config.get("discriminator") is not None:
            config["discriminator"] = keras.saving.deserialize_keras_object(
                config["discriminator"])
        return cls(**config)


def run_behaviour(generator, ids, free_running=False, prefix=1, seed=0, temperature=1.0):
    """Runs `generator` teacher-forced or free-running over `ids` (no gradient, no training).

    Args:
        generator: a char-LM (see `ProfessorForcing`).
        ids: `(batch, time)` int ids; a free run reads the first `prefix` of them.
        free_running: feed own samples after the prefix.
        prefix: data inputs before free running (>= 1).
        seed: seed of the samples.
        temperature: divides the logits before sampling (> 0).

    Returns:
        `(sampled_ids, hidden)` as numpy: the id sampled at every step `(batch, time)` and
        the behaviour `(batch, time, hidden_dim)` (the RNN layers' outputs).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    ids = np.asarray(ids, np.int32)
    if ids.ndim != 2 or ids.shape[1] < 1:
        raise ValueError(f"ids must be (batch, time) with time >= 1; got shape {ids.shape}")
    steps = _Steps(generator, allow_input_norm=False)
    vocab = steps.vocabulary_size
    rng = np.random.default_rng(seed)
    u = rng.uniform(1e-6, 1 - 1e-6, size=ids.shape + (vocab,))
    noise = (-np.log(-np.log(u)) * temperature).astype(np.float32)
    use = np.ones(ids.shape, np.float32)
    if free_running:
        use[:, prefix:] = 0.0
    truth = np.eye(vocab, dtype=np.float32)[ids]
    logits, hidden = steps.run(ops.convert_to_tensor(truth), ops.convert_to_tensor(use),
                               ops.convert_to_tensor(noise), feed="constant")
    logits = np.asarray(ops.convert_to_numpy(logits))
    sampled = np.argmax(logits / temperature + noise / temperature, axis=-1).astype(np.int32)
    return sampled, np.asarray(ops.convert_to_numpy(hidden))
