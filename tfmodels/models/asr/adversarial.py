"""CTC acoustic model with a noise-domain adversary behind gradient reversal (arXiv:1612.01928)."""

import keras
from keras import ops

from tfmodels.layers.gradient_reversal import GradientReversal
from tfmodels.layers.spec_augment import SpecAugment
from tfmodels.models.asr.features import LogMelFeatures, StreamingLogMelFeatures


@keras.saving.register_keras_serializable("tfmodels")
class AppendSilence(keras.layers.Layer):
    """Appends `samples` zeros to each utterance of a padded waveform batch.

    Row `i` keeps its first `lengths[i]` samples, then gets `samples` zeros (whatever padded
    it past its length is zeroed, so it never becomes part of the tail); its length grows by
    `samples`.

    Call arguments: `waveform` `(B, T)` float, `lengths` `(B,)` int.
    Returns: `(waveform (B, T + samples), lengths + samples)`.

    Example:
        waveform, lengths = AppendSilence(3200)(waveform, lengths)  # 200 ms at 16 kHz
    """

    def __init__(self, samples, **kwargs):
        super().__init__(**kwargs)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
            raise ValueError(f"samples must be an integer >= 0, got {samples!r}")
        self.samples = samples

    def call(self, waveform, lengths):
        waveform = ops.cast(waveform, "float32")
        lengths = ops.cast(lengths, "int32")
        keep = ops.arange(ops.shape(waveform)[1])[None, :] < lengths[:, None]
        waveform = ops.pad(waveform * ops.cast(keep, "float32"), [[0, 0], [0, self.samples]])
        return waveform, lengths + self.samples

    def compute_output_spec(self, waveform, lengths):
        samples = None if waveform.shape[1] is None else waveform.shape[1] + self.samples
        return (
            keras.KerasTensor((waveform.shape[0], samples), "float32"),
            keras.KerasTensor(lengths.shape, "int32"),
        )

    def get_config(self):
        return {**super().get_config(), "samples": self.samples}


@keras.saving.register_keras_serializable("tfmodels")
class AdversarialAcousticModel(keras.Model):
    """Streaming CTC acoustic model whose encoder is trained to hide the noise condition.

    Serdyuk et al., "Invariant Representations for Noisy Speech Recognition"
    (arXiv:1612.01928): a recognizer and a noise-condition discriminator share an encoder; the
    discriminator learns to tell the noise type from an intermediate encoder representation,
    while a gradient reversal layer (Ganin & Lempitsky, arXiv:1409.7495) makes the encoder
    *maximize* the discriminator's loss, so the representation carries speech and not the
    noise, and generalizes to noise types never seen in training. With `adversarial=False`
    the same network has no discriminator: the multi-condition baseline.

    Network, all causal so it can stream:
    `LogMelFeatures` -> `Conv1D` stack (causal padding, ReLU, time strides) -> unidirectional
    `LSTM` stack -> `Dense(num_classes)` CTC logits (id 0 = blank). The discriminator taps the
    output of LSTM layer `tap_layer` (1-based): `GradientReversal` -> `Dense(adversary_units,
    relu)` -> `Dense(num_domains)`, classifying every valid frame. Its reversal strength ramps
    as `scale * (2 / (1 + exp(-gamma * p)) - 1)`, `p` = training steps / `ramp_steps`.

    Training uses `model.fit` on every backend (`compute_loss` is overridden):
    loss = mean CTC loss + `noise_weight` * mean frame cross-entropy of the discriminator.
    `x` is `{"waveform": (B, T) float32, "waveform_length": (B,) int32}`, `y` is
    `{"labels": (B, L) int32, "label_length": (B,) int32, "noise_id": (B,) int32}` (the
    `tfmodels.data.speech.speech_dataset` fields). Reported metrics: `ctc_loss`, and for the
    adversarial model `noise_loss`, `noise_accuracy` (frame level).

    Args:
        num_classes: CTC output classes including the blank (`Vocabulary.num_classes`).
        num_domains: noise-domain classes of the discriminator (clean + seen noise types).
        adversarial: build the discriminator branch; False gives the baseline.
        conv_filters: filters of each causal Conv1D layer.
        conv_strides: time stride of each Conv1D layer (the frame rate divides by their product).
            The default 8x (80 ms output frames, 3-5 per spoken digit) matters for CTC: at
            40 ms frames the model stayed in the all-blank phase for over 600 Adam steps on
            the generated digit corpus; at 80 ms it leaves it after about 400.
        conv_kernel: kernel size of every Conv1D layer.
        lstm_units: units of each LSTM layer.
        tap_layer: the LSTM layer (1-based) whose output the discriminator sees.
        adversary_units: hidden units of the discriminator.
        reversal_scale: maximum reversal strength.
        ramp_steps: steps over which the strength ramps from 0; None = constant strength.
        gamma: steepness of the ramp.
        noise_weight: weight of the discriminator's loss in the total loss.
        features: `LogMelFeatures` keyword arguments.
        tail_samples: zero samples appended to every utterance before the features (its
            length grows by as much), so the causal encoder hears a word's end before the
            utterance's last output frame. Streaming, the device keeps feeding audio after
            the speech; `tfmodels.export.asr.utterance_features` appends the same tail.

    Outputs (a dict): `logits` `(B, frames, num_classes)`, `frame_length` `(B,)` int32 valid
    output frames, and with the adversary `noise_logits` `(B, frames, num_domains)`.

    Example:
        model = AdversarialAcousticModel(num_classes=12, num_domains=3, ramp_steps=1000)
        model.compile(optimizer="adam")
        model.fit(dataset.map(lambda b: (
            {"waveform": b["waveform"], "waveform_length": b["waveform_length"]}, b)))
    """

    def __init__(
        self,
        num_classes,
        num_domains=2,
        adversarial=True,
        conv_filters=(64, 64, 64),
        conv_strides=(2, 2, 2),
        conv_kernel=3,
        lstm_units=(96, 96),
        tap_layer=1,
        adversary_units=64,
        reversal_scale=1.0,
        ramp_steps=None,
        gamma=10.0,
        noise_weight=1.0,
        features=None,
        tail_samples=0,
        spec_augment=None,
        output_delay=0,
        name=None,
        **kwargs,
    ):
        conv_filters, conv_strides, lstm_units = _check_arguments(
            num_classes, num_domains, adversarial, conv_filters, conv_strides, lstm_units,
            tap_layer,
        )
        if isinstance(tail_samples, bool) or not isinstance(tail_samples, int) or (
            tail_samples < 0
        ):
            raise ValueError(f"tail_samples must be an integer >= 0, got {tail_samples!r}")
        if isinstance(output_delay, bool) or not isinstance(output_delay, int) or (
            output_delay < 0
        ):
            raise ValueError(f"output_delay must be an integer >= 0, got {output_delay!r}")
        features = dict(features or {})
        if spec_augment is not None and not isinstance(spec_augment, dict):
            raise ValueError(
                f"spec_augment must be None or a dict of SpecAugment arguments, got "
                f"{spec_augment!r}")
        spec_augment = None if spec_augment is None else dict(spec_augment)

        # Encoder
        waveform = keras.Input(shape=(None,), name="waveform")
        waveform_length = keras.Input(shape=(), dtype="int32", name="waveform_length")
        signal, signal_length = waveform, waveform_length
        total_stride = 1
        for s in conv_strides:
            total_stride *= s
        appended = tail_samples + output_delay * total_stride * LogMelFeatures(
            **features).frame_step
        if appended:
            # Silence after the utterance: a causal model hears a word's end before it must
            # emit the word.
            signal, signal_length = AppendSilence(appended, name="tail")(
                waveform, waveform_length
            )
        x, frame_length, tap = _encoder(
            signal, signal_length, features, conv_filters, conv_strides, conv_kernel,
            lstm_units, tap_layer, spec_augment,
        )

        # Heads
        logits = keras.layers.Dense(num_classes, name="logits")(x)
        if output_delay:
            # Output frame t is the frame that has heard `output_delay` frames past t.
            logits = logits[:, output_delay:]
            frame_length = frame_length - output_delay
        outputs = {"logits": logits, "frame_length": frame_length}
        if adversarial:
            h = GradientReversal(
                scale=float(reversal_scale), ramp_steps=ramp_steps, gamma=float(gamma),
                name="gradient_reversal",
            )(tap)
            h = keras.layers.Dense(adversary_units, activation="relu", name="noise_hidden")(h)
            noise_logits = keras.layers.Dense(num_domains, name="noise_logits")(h)
            outputs["noise_logits"] = noise_logits[:, output_delay:]
        super().__init__(
            inputs={"waveform": waveform, "waveform_length": waveform_length},
            outputs=outputs,
            name=name,
            **kwargs,
        )

        self.num_classes = num_classes
        self.num_domains = num_domains
        self.adversarial = bool(adversarial)
        self.conv_filters = conv_filters
        self.conv_strides = conv_strides
        self.conv_kernel = conv_kernel
        self.lstm_units = lstm_units
        self.tap_layer = tap_layer
        self.adversary_units = adversary_units
        self.reversal_scale = float(reversal_scale)
        self.ramp_steps = ramp_steps
        self.gamma = float(gamma)
        self.noise_weight = float(noise_weight)
        self.feature_config = features
        self.tail_samples = int(tail_samples)
        self.spec_augment = spec_augment
        self.output_delay = int(output_delay)
        self.appended_samples = int(appended)
        self.ctc_tracker = keras.metrics.Mean(name="ctc_loss")
        if self.adversarial:
            self.noise_tracker = keras.metrics.Mean(name="noise_loss")
            self.noise_accuracy = keras.metrics.Mean(name="noise_accuracy")

    @property
    def frame_step_samples(self):
        """Waveform samples per output frame."""
        stride = 1
        for s in self.conv_strides:
            stride *= s
        return self.get_layer("features").frame_step * stride

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        frame_length = y_pred["frame_length"]
        # Losses in float32: under a mixed policy the logits are float16/bfloat16, and the
        # masks and counts below are float32 (this raised under mixed_float16, #9).
        logits = ops.cast(y_pred["logits"], "float32")
        ctc = ops.ctc_loss(
            ops.cast(y["labels"], "int32"),
            logits,
            ops.cast(y["label_length"], "int32"),
            frame_length,
            mask_index=0,
        )
        # An utterance with more labels than frames has no alignment (infinite loss); it
        # contributes nothing rather than NaN gradients.
        ctc = ops.where(ops.isfinite(ctc), ctc, ops.zeros_like(ctc))
        ctc = ops.mean(ctc)
        # Weighted by batch size like Keras's own loss tracker, so epoch means stay additive.
        size = ops.cast(ops.shape(frame_length)[0], "float32")
        self.ctc_tracker.update_state(ctc, sample_weight=size)
        total = ctc
        if self.adversarial:
            noise, accuracy = frame_noise_loss(
                ops.cast(y_pred["noise_logits"], "float32"), y["noise_id"], frame_length
            )
            self.noise_tracker.update_state(noise, sample_weight=size)
            self.noise_accuracy.update_state(accuracy, sample_weight=size)
            total = total + self.noise_weight * noise
        return total

    def tap_model(self):
        """A model from the inputs to `{"features": tap-layer output, "frame_length": ...}`.

        It shares layers (and weights) with this model: the representation the
        discriminator sees, for probing how much noise information it carries.
        """
        return keras.Model(
            self.input,
            {
                "features": self.get_layer(f"lstm_{self.tap_layer}").output,
                "frame_length": self.output["frame_length"],
            },
        )

    def step_model(self, chunk_frames=8, raw_audio=False):
        """A streaming step model with this model's current weights (a snapshot, not shared).

        The step model consumes `chunk_frames` normalized feature frames (the output of the
        `features` layer) and the encoder state, and returns the CTC log-probabilities of the
        `chunk_frames / stride` output frames they complete and the new state. Each causal
        convolution keeps its last `conv_kernel - 1` input frames as state; each LSTM its
        `(h, c)`. The LSTMs are unrolled over the chunk, so the graph converts to TFLite
        builtin ops. Zero states start an utterance; stepping through its frames (the last
        chunk zero-padded) reproduces this model's log-softmax logits.

        With `raw_audio`, the step model starts from raw audio instead: input `audio`
        `(B, chunk_frames * frame_step)` samples, and the front end's states first
        (`StreamingLogMelFeatures`: `audio_buffer`, and `norm_mean`, `norm_variance` for
        causal normalization), so one graph runs framing, DFT, mel, log, the causal
        normalization and the encoder. The features layer must be causal ("causal",
        "global" or "none" normalization).

        Args:
            chunk_frames: feature frames per step; a multiple of the product of
                `conv_strides`.
            raw_audio: take raw audio chunks (see above) instead of feature frames.

        Returns:
            A `keras.Model` with inputs `features` `(B, chunk_frames, num_mel_bins)` (or
            `audio` and the front-end states), then `conv_{i}_buffer` and `lstm_{i}_h`,
            `lstm_{i}_c` in `state_names(raw_audio)` order; outputs `log_probs`
            `(B, chunk_frames / stride, num_classes)` and `new_<state>` for each state.
        """
        stride = 1
        for s in self.conv_strides:
            stride *= s
        if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or (
            chunk_frames < 1 or chunk_frames % stride
        ):
            raise ValueError(
                f"chunk_frames must be a positive multiple of the total stride {stride}, "
                f"got {chunk_frames!r}"
            )
        num_mel_bins = self.get_layer("features").num_mel_bins
        if raw_audio:
            front = self.front_end(chunk_frames)
            audio = keras.Input(shape=(front.chunk_samples,), name="audio")
            states = {name: keras.Input(shape=shape, name=name)
                      for name, shape in front.state_shapes().items()}
            x, new_states = front(audio, states)
            inputs, outputs, copies = [audio, *states.values()], {}, []
            for name, value in new_states.items():
                outputs[f"new_{name}"] = keras.layers.Identity(name=f"new_{name}")(value)
        else:
            features = keras.Input(shape=(chunk_frames, num_mel_bins), name="features")
            inputs, outputs, copies = [features], {}, []
            x = features
        channels = num_mel_bins
        for i, (filters, stride_i) in enumerate(zip(self.conv_filters, self.conv_strides)):
            name = f"conv_{i + 1}"
            buffer = keras.Input(shape=(self.conv_kernel - 1, channels), name=f"{name}_buffer")
            inputs.append(buffer)
            x = keras.layers.Concatenate(axis=1)([buffer, x])
            outputs[f"new_{name}_buffer"] = keras.layers.Identity(name=f"new_{name}_buffer")(
                x[:, x.shape[1] - (self.conv_kernel - 1):, :]
            )
            conv = keras.layers.Conv1D(
                filters, self.conv_kernel, strides=stride_i, padding="valid",
                activation="relu", name=name,
            )
            x = conv(x)
            copies.append((conv, name))
            channels = filters
        for i, units in enumerate(self.lstm_units):
            name = f"lstm_{i + 1}"
            h = keras.Input(shape=(units,), name=f"{name}_h")
            c = keras.Input(shape=(units,), name=f"{name}_c")
            inputs += [h, c]
            lstm = keras.layers.LSTM(
                units, return_sequences=True, return_state=True, unroll=True, name=name
            )
            x, new_h, new_c = lstm(x, initial_state=[h, c])
            outputs[f"new_{name}_h"] = keras.layers.Identity(name=f"new_{name}_h")(new_h)
            outputs[f"new_{name}_c"] = keras.layers.Identity(name=f"new_{name}_c")(new_c)
            copies.append((lstm, name))
        dense = keras.layers.Dense(self.num_classes, name="logits")
        logits = dense(x)
        copies.append((dense, "logits"))
        outputs["log_probs"] = keras.layers.Activation("log_softmax", name="log_probs")(logits)
        step = keras.Model(inputs, outputs, name=f"{self.name}_step")
        for layer, name in copies:
            layer.set_weights(self.get_layer(name).get_weights())
        return step

    def front_end(self, chunk_frames):
        """The `StreamingLogMelFeatures` twin of this model's features layer (its statistics)."""
        return StreamingLogMelFeatures.from_features(
            self.get_layer("features"), chunk_frames, name="front_end"
        )

    def state_names(self, raw_audio=False):
        """Names of the step model's state inputs, in input order."""
        names = list(self.front_end(1).state_shapes()) if raw_audio else []
        names += [f"conv_{i + 1}_buffer" for i in range(len(self.conv_filters))]
        for i in range(len(self.lstm_units)):
            names += [f"lstm_{i + 1}_h", f"lstm_{i + 1}_c"]
        return names

    def state_shapes(self, raw_audio=False):
        """`{state name: shape without batch}` of the step model's states."""
        shapes = dict(self.front_end(1).state_shapes()) if raw_audio else {}
        channels = self.get_layer("features").num_mel_bins
        for i, filters in enumerate(self.conv_filters):
            shapes[f"conv_{i + 1}_buffer"] = (self.conv_kernel - 1, channels)
            channels = filters
        for i, units in enumerate(self.lstm_units):
            shapes[f"lstm_{i + 1}_h"] = (units,)
            shapes[f"lstm_{i + 1}_c"] = (units,)
        return shapes

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "num_domains": self.num_domains,
            "adversarial": self.adversarial,
            "conv_filters": list(self.conv_filters),
            "conv_strides": list(self.conv_strides),
            "conv_kernel": self.conv_kernel,
            "lstm_units": list(self.lstm_units),
            "tap_layer": self.tap_layer,
            "adversary_units": self.adversary_units,
            "reversal_scale": self.reversal_scale,
            "ramp_steps": self.ramp_steps,
            "gamma": self.gamma,
            "noise_weight": self.noise_weight,
            "features": self.feature_config,
            "tail_samples": self.tail_samples,
            "spec_augment": self.spec_augment,
            "output_delay": self.output_delay,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def baseline_acoustic_model(num_classes, **kwargs):
    """The multi-condition baseline: `AdversarialAcousticModel` without the discriminator.

    Example:
        model = baseline_acoustic_model(num_classes=12, lstm_units=(64, 64))
    """
    for key in ("adversarial", "num_domains", "reversal_scale", "ramp_steps", "gamma"):
        kwargs.pop(key, None)
    return AdversarialAcousticModel(num_classes, num_domains=0, adversarial=False, **kwargs)


def frame_noise_loss(noise_logits, noise_id, frame_length):
    """Mean frame cross-entropy and frame accuracy of the discriminator over valid frames.

    Args:
        noise_logits: `(B, frames, num_domains)`.
        noise_id: `(B,)` int domain of each utterance.
        frame_length: `(B,)` valid frames.

    Returns:
        `(loss, accuracy)` scalars.
    """
    frames = ops.shape(noise_logits)[1]
    mask = ops.cast(ops.arange(frames)[None, :] < frame_length[:, None], "float32")
    targets = ops.broadcast_to(ops.cast(noise_id, "int32")[:, None], ops.shape(mask))
    losses = ops.sparse_categorical_crossentropy(targets, noise_logits, from_logits=True)
    count = ops.maximum(ops.sum(mask), 1.0)
    correct = ops.cast(ops.argmax(noise_logits, axis=-1) == targets, "float32")
    return ops.sum(losses * mask) / count, ops.sum(correct * mask) / count


def _check_arguments(
    num_classes, num_domains, adversarial, conv_filters, conv_strides, lstm_units, tap_layer
):
    """Validates the constructor's arguments; returns the three layer-size tuples."""
    conv_filters, conv_strides, lstm_units = (
        _int_tuple(conv_filters, "conv_filters"),
        _int_tuple(conv_strides, "conv_strides"),
        _int_tuple(lstm_units, "lstm_units"),
    )
    if len(conv_strides) != len(conv_filters):
        raise ValueError(
            f"conv_strides {conv_strides} needs one stride per conv layer {conv_filters}"
        )
    if not lstm_units:
        raise ValueError("lstm_units must name at least one LSTM layer")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if adversarial and (
        isinstance(num_domains, bool) or not isinstance(num_domains, int) or num_domains < 2
    ):
        raise ValueError(f"num_domains must be an integer >= 2, got {num_domains!r}")
    if not 1 <= tap_layer <= len(lstm_units):
        raise ValueError(f"tap_layer must be in 1..{len(lstm_units)}, got {tap_layer!r}")
    return conv_filters, conv_strides, lstm_units


def _encoder(
    waveform, waveform_length, features, conv_filters, conv_strides, conv_kernel, lstm_units,
    tap_layer, spec_augment=None,
):
    """Features -> [SpecAugment] -> causal convolutions -> LSTMs; returns `(output,
    frame_length, tap output)`."""
    feature_layer = LogMelFeatures(name="features", **features)
    x = feature_layer(waveform, lengths=waveform_length)
    frame_length = feature_layer.num_frames(waveform_length)
    if spec_augment is not None:
        x = SpecAugment(name="spec_augment", **spec_augment)(x)
    for i, (filters, stride) in enumerate(zip(conv_filters, conv_strides)):
        x = keras.layers.Conv1D(
            filters, conv_kernel, strides=stride, padding="causal", activation="relu",
            name=f"conv_{i + 1}",
        )(x)
        frame_length = ops.floor_divide(frame_length + (stride - 1), stride)
    tap = None
    for i, units in enumerate(lstm_units):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i + 1}")(x)
        if i + 1 == tap_layer:
            tap = x
    return x, frame_length, tap


def _int_tuple(values, name):
    values = tuple(values)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be positive integers, got {values!r}")
    return values
