"""FC-DenseNet semantic segmentation, end to end: data -> float training -> QAT -> int8 export.

`run()` is what `tfmodels-train --task=segmentation` calls. It follows the paper's recipe
(Jégou et al., arXiv:1611.09326, Section 4.1) by default: RMSprop with learning rate 1e-3
decayed by 0.995 after every epoch, L2 weight decay 1e-4, HeUniform initialization, dropout
0.2, random crops and horizontal flips, void pixels left out of the loss (sample weight 0) and
of every metric. The paper trains for hundreds of epochs on 224x224 CamVid crops and fine-tunes
on full frames; the defaults here are scaled down (96x128 generated street scenes, 64x64 crops,
a few epochs) so the whole job ends within minutes on a laptop CPU. Pass
`data_dir=<CamVid root>, crop_size=(224, 224), epochs=..., class_weights=True` for the full
recipe.

Steps and artifacts (`export_dir` defaults to `export/`, `work_dir` to
`<export_dir>/runs/segmentation`):

1. Data: `data_dir` (CamVid layout); when None, `data/scenes`, generated first if missing.
2. Float training with `model.fit`: checkpoints (`work_dir/float.keras`, best validation mIoU,
   written atomically),
   `BackupAndRestore` state (`work_dir/backup/float`, so an interrupted run resumes where it
   stopped), TensorBoard logs (`work_dir/logs`), per-epoch mIoU and global accuracy.
3. QAT fine-tuning of `model.quantized_twin()` (weights copied from the float model), with its
   own checkpoint and backup (`work_dir/qat.keras`, `work_dir/backup/qat`).
4. PNG overlays (image | truth | float Keras prediction | `.tflite` prediction) of a few scored
   frames: `work_dir/overlays/`, and the learning curve `work_dir/learning_curve.png`.
5. Export: an int8 `.tflite` (builtin ops only, calibrated on a few training frames for the
   BatchNorm tensors that carry no fake-quant) at `export_dir/<name>.tflite`, the float model
   as float32 `.tflite` beside it (`<name>.float32.tflite`, the size baseline), and a TF
   Serving SavedModel at `export_dir/serving/<name>/<version>/`.
6. Evaluation of the `.tflite` itself in the LiteRT interpreter on the validation frames, beside
   the float and QAT Keras models on the same frames, and a printed report
   (`SegmentationReport`, also written to `work_dir/report.json`).
"""

import dataclasses
import os
import time

import keras
import numpy as np
from PIL import Image

from tfmodels.data import camvid, scenes
from tfmodels.export import export_saved_model, export_tflite
from tfmodels.export import tflite as tflite_lib
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.metrics.segmentation import (
    GlobalAccuracy,
    MeanIoU,
    confusion_matrix,
    scores_from_confusion_matrix,
)
from tfmodels.models.segmentation import FCDenseNet, fc_densenet56, fc_densenet67, fc_densenet103
from tfmodels.tasks.training import training_callbacks, write_learning_curve
from tfmodels.utils import atomic

MODELS = {
    "fc_densenet56": fc_densenet56,
    "fc_densenet67": fc_densenet67,
    "fc_densenet103": fc_densenet103,
}
DEFAULT_DATA_DIR = os.path.join("data", "scenes")

# CamVid's usual colour coding (SegNet), void black.
PALETTE = np.array(
    [
        [128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [0, 0, 192],
        [128, 128, 0], [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0],
        [0, 128, 192], [0, 0, 0],
    ],
    dtype=np.uint8,
)  # fmt: skip


@dataclasses.dataclass
class SegmentationReport:
    """What `run()` trained, exported and measured.

    Attributes:
        model, parameters: the Keras model's name and parameter count.
        data_dir, num_val_frames, eval_split: the dataset, and how many frames of which split
            were scored.
        float, qat, tflite: scores on the validation frames (`mean_iou`, `global_accuracy`,
            `per_class_iou`) of the float Keras model, the QAT Keras model (None without QAT)
            and the `.tflite` in LiteRT (plus `argmax_agreement_with_keras`, against the model
            it was exported from).
        miou_drop_points: float Keras mIoU minus `.tflite` mIoU, in points.
        overlays: the PNG paths.
        tflite_path, tflite_mode, tflite_bytes, tflite_op_types, tflite_tensor_dtypes: the
            exported file and what it holds.
        float32_tflite_path, float32_tflite_bytes: the float model as float32 `.tflite`.
        tflite_latency_ms_median: per-frame LiteRT invoke time, median.
        saved_model_path, keras_path: the SavedModel version and the final `.keras` checkpoint.
        learning_curve: PNG of loss and validation mIoU per epoch, float then QAT.
        timings: seconds per phase.
    """

    model: str
    parameters: int
    data_dir: str
    num_val_frames: int
    float: dict
    eval_split: str = "val"
    qat: dict = None
    tflite: dict = None
    miou_drop_points: float = None
    overlays: list = dataclasses.field(default_factory=list)
    tflite_path: str = None
    tflite_mode: str = None
    tflite_bytes: int = None
    tflite_op_types: dict = None
    tflite_tensor_dtypes: dict = None
    float32_tflite_path: str = None
    float32_tflite_bytes: int = None
    tflite_latency_ms_median: float = None
    saved_model_path: str = None
    keras_path: str = None
    learning_curve: str = None
    timings: dict = dataclasses.field(default_factory=dict)

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return format_report(self)


@dataclasses.dataclass
class _Data:
    data_dir: str
    train: object
    val: object
    steps: int
    val_images: np.ndarray
    val_labels: np.ndarray
    frame_size: tuple


def run(
    data_dir=None,
    export_dir="export",
    work_dir=None,
    model="fc_densenet56",
    model_config=None,
    epochs=3,
    batch_size=8,
    crop_size=(64, 64),
    learning_rate=1e-3,
    lr_decay=0.995,
    weight_decay=1e-4,
    dropout=0.2,
    class_weights=False,
    quantize=True,
    qat_epochs=1,
    qat_learning_rate=1e-4,
    calibration_frames=8,
    num_overlays=4,
    steps_per_epoch=None,
    name=None,
    seed=0,
    verbose=1,
    callbacks=None,
    eval_split="val",
):
    """Trains FC-DenseNet, fine-tunes it quantization-aware, exports and evaluates the int8 file.

    Args:
        data_dir: CamVid-layout dataset; None = `data/scenes` (generated if missing).
        export_dir: where the `.tflite` and the SavedModel (`serving/<name>/<version>`) go.
        work_dir: checkpoints, backups, TensorBoard logs, overlays; default
            `<export_dir>/runs/segmentation`.
        model: a preset of `MODELS` (`fc_densenet56`, `fc_densenet67`, `fc_densenet103`).
        model_config: instead of a preset, `FCDenseNet` keyword arguments (without
            `num_classes`, `dropout`, `weight_decay`, `input_shape`).
        epochs: float training epochs (the paper trains to convergence, ~hundreds).
        batch_size: training batch size (the paper's is 3); evaluation uses the same.
        crop_size: `(height, width)` of random training crops (paper: 224x224), multiples of
            32, or None for full frames.
        learning_rate, lr_decay: RMSprop learning rate, multiplied by `lr_decay` every epoch.
        weight_decay: L2 factor on conv kernels.
        dropout: dropout rate after every conv.
        class_weights: weigh the loss by median-frequency class weights (as the paper).
        quantize: fine-tune quantization-aware and export int8; False exports float32.
        qat_epochs, qat_learning_rate: QAT fine-tuning epochs and (constant) learning rate.
        calibration_frames: training frames used by the int8 converter for the tensors that
            carry no fake-quant ranges.
        num_overlays: scored frames drawn as image | truth | float Keras | `.tflite` PNGs.
        steps_per_epoch: cap on training steps per epoch (None: one pass over the split).
        name: export name (default: the preset name, or "fc_densenet").
        seed: seeds data generation, shuffling, crops, initialization and dropout.
        verbose: 0 silent, 1 progress bars and the report, 2 one line per epoch.
        callbacks: extra Keras callbacks for the float training phase.
        eval_split: the split the report scores (float, QAT and `.tflite`) and the overlays
            show: "val" (also what training validates on) or "test" (CamVid's 233 frames).

    Returns:
        A `SegmentationReport`.

    Raises:
        ValueError, FileNotFoundError: bad arguments or data, before anything is written.

    Example:
        >>> report = run(epochs=1, export_dir="/tmp/export")  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    started = time.perf_counter()
    crop_size = _check_arguments(model, model_config, epochs, batch_size, qat_epochs, crop_size)
    if eval_split not in ("val", "test"):
        raise ValueError(f"eval_split must be 'val' or 'test'; got {eval_split!r}")
    if data_dir is not None and not os.path.isdir(data_dir):
        what = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise FileNotFoundError(f"data_dir {what}: {data_dir}")
    name = name or (model if model_config is None else "fc_densenet")
    work_dir = work_dir or os.path.join(export_dir, "runs", "segmentation")
    say = print if verbose else (lambda *args, **kwargs: None)
    keras.utils.set_random_seed(seed)
    timings = {}

    t = time.perf_counter()
    data = _load_data(data_dir, batch_size, crop_size, class_weights, steps_per_epoch, seed, say,
                      eval_split)
    timings["data_s"] = time.perf_counter() - t
    os.makedirs(work_dir, exist_ok=True)
    os.makedirs(export_dir, exist_ok=True)

    t = time.perf_counter()
    float_model = _train_float(
        data, work_dir, model, model_config, epochs, learning_rate, lr_decay, weight_decay,
        dropout, verbose, callbacks, say,
    )  # fmt: skip
    timings["float_training_s"] = time.perf_counter() - t
    float_logits = _predict(float_model, data.val_images, batch_size)
    report = SegmentationReport(
        model=float_model.name,
        parameters=int(float_model.count_params()),
        data_dir=data.data_dir,
        num_val_frames=int(len(data.val_images)),
        eval_split=eval_split,
        float=_scores(data.val_labels, float_logits),
        keras_path=os.path.join(work_dir, "float.keras"),
    )

    final_model, final_logits = float_model, float_logits
    if quantize:
        t = time.perf_counter()
        final_model = _train_qat(float_model, data, work_dir, qat_epochs, qat_learning_rate,
                                 verbose, say)
        timings["qat_training_s"] = time.perf_counter() - t
        final_logits = _predict(final_model, data.val_images, batch_size)
        report.qat = _scores(data.val_labels, final_logits)
        report.keras_path = os.path.join(work_dir, "qat.keras")

    t = time.perf_counter()
    _export(report, float_model, final_model, data, export_dir, name, quantize,
            calibration_frames)
    timings["export_s"] = time.perf_counter() - t

    t = time.perf_counter()
    tflite_logits = _evaluate_tflite(report, data, final_logits)
    timings["tflite_eval_s"] = time.perf_counter() - t
    report.overlays = write_overlays(
        os.path.join(work_dir, "overlays"),
        data.val_images[:num_overlays],
        data.val_labels[:num_overlays],
        np.argmax(float_logits[:num_overlays], -1),
        np.argmax(tflite_logits[:num_overlays], -1),
        frame_size=data.frame_size,
        prefix=eval_split,
    )
    report.learning_curve = write_learning_curve(
        os.path.join(work_dir, "learning_curve.png"),
        {phase: os.path.join(work_dir, "logs", f"{phase}.csv") for phase in ("float", "qat")},
        metrics=("loss", "val_loss", "val_mean_iou"),
    )
    timings["total_s"] = time.perf_counter() - started
    report.timings = {k: round(v, 2) for k, v in timings.items()}
    atomic.write_json(os.path.join(work_dir, "report.json"), report.to_dict())
    say(format_report(report), flush=True)
    return report


def _check_arguments(model, model_config, epochs, batch_size, qat_epochs, crop_size):
    if model_config is None and model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}; got {model!r}")
    for argument, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{argument} must be a positive int; got {value!r}")
    if not isinstance(qat_epochs, int) or qat_epochs < 0:
        raise ValueError(f"qat_epochs must be a non-negative int; got {qat_epochs!r}")
    if crop_size is not None:
        crop_size = tuple(int(c) for c in crop_size)
        if len(crop_size) != 2 or any(c < 32 or c % 32 for c in crop_size):
            raise ValueError(f"crop_size must be two multiples of 32; got {crop_size!r}")
    return crop_size


def _load_data(data_dir, batch_size, crop_size, class_weights, steps_per_epoch, seed, say,
               eval_split="val"):
    """The training pipeline, the validation pipeline, and the scored split as arrays."""
    if data_dir is None:
        data_dir = DEFAULT_DATA_DIR
        if not os.path.exists(data_dir):
            say(f"Generating street scenes into {data_dir} (seed {seed}) ...", flush=True)
            scenes.generate(data_dir, seed=seed)
    train_split = camvid.list_split(data_dir, "train")
    val_split = camvid.list_split(data_dir, "val")
    weights = camvid.median_frequency_weights(train_split) if class_weights else None
    train = camvid.load_dataset(
        data_dir, "train", batch_size=batch_size, training=True, crop_size=crop_size,
        seed=seed, class_weights=weights,
    )  # fmt: skip
    val = camvid.load_dataset(data_dir, "val", batch_size=batch_size, training=False)
    if eval_split != "val":
        camvid.list_split(data_dir, eval_split)  # validated before any training
    val_images, val_labels = _arrays(
        val if eval_split == "val"
        else camvid.load_dataset(data_dir, eval_split, batch_size=batch_size, training=False)
    )
    steps = len(train_split) // batch_size
    if steps_per_epoch is not None:
        steps = min(steps, int(steps_per_epoch))
        train = train.repeat().take(steps)
    say(
        f"Data: {data_dir}: {len(train_split)} training frames "
        f"({crop_size or 'full'} crops, {steps} steps of {batch_size}), "
        f"{len(val_split)} validation frames, {len(val_images)} {eval_split} frames scored, "
        f"padded to {val_images.shape[1:3]}",
        flush=True,
    )
    return _Data(data_dir, train, val, steps, val_images, val_labels,
                 (val_split.height, val_split.width))


def _train_float(data, work_dir, model, model_config, epochs, learning_rate, lr_decay,
                 weight_decay, dropout, verbose, callbacks, say):
    common = dict(dropout=dropout, weight_decay=weight_decay, input_shape=(None, None, 3))
    if model_config is None:
        float_model = MODELS[model](camvid.NUM_CLASSES, **common)
    else:
        float_model = FCDenseNet(camvid.NUM_CLASSES, **dict(model_config), **common)
    # The paper multiplies the learning rate by 0.995 after each epoch.
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=max(data.steps, 1), decay_rate=lr_decay, staircase=True
    )
    _compile(float_model, keras.optimizers.RMSprop(schedule))
    say(f"Model: {float_model.name}, {float_model.count_params():,} parameters", flush=True)
    path = os.path.join(work_dir, "float.keras")
    _fit(float_model, data, epochs, work_dir, "float", verbose, list(callbacks or []))
    return keras.saving.load_model(path, compile=False)


def _train_qat(float_model, data, work_dir, qat_epochs, qat_learning_rate, verbose, say):
    qat_model = float_model.quantized_twin()
    _compile(qat_model, keras.optimizers.RMSprop(qat_learning_rate))
    path = os.path.join(work_dir, "qat.keras")
    if not qat_epochs:
        atomic.save_model(qat_model, path)
        return qat_model
    say("Quantization-aware fine-tuning (int8 fake-quant on kernels and activations)", flush=True)
    _fit(qat_model, data, qat_epochs, work_dir, "qat", verbose, [])
    return keras.saving.load_model(path, compile=False)


def _export(report, float_model, final_model, data, export_dir, name, quantize,
            calibration_frames):
    """Writes the `.tflite` files (fixed to the validation frame size) and the SavedModel."""
    frame_shape = (data.val_images.shape[1], data.val_images.shape[2], 3)

    def fixed(model):
        copy = type(model).from_config({**model.get_config(), "input_shape": frame_shape})
        copy.set_weights(model.get_weights())
        return copy

    float32 = export_tflite(fixed(float_model), os.path.join(export_dir, f"{name}.float32.tflite"))
    report.float32_tflite_path, report.float32_tflite_bytes = float32.path, float32.size_bytes
    if quantize:
        calibration = _calibration_frames(data.data_dir, calibration_frames)
        export = export_tflite(fixed(final_model), os.path.join(export_dir, f"{name}.tflite"),
                               mode="int8", representative_data=calibration)
    else:
        export = float32
    report.tflite_path, report.tflite_mode = export.path, export.mode
    report.tflite_bytes = export.size_bytes
    report.tflite_op_types, report.tflite_tensor_dtypes = export.op_types, export.tensor_dtypes
    report.saved_model_path = export_saved_model(
        final_model, os.path.join(export_dir, "serving"), name,
        warmup_inputs=data.val_images[:1],
    )  # fmt: skip


def _evaluate_tflite(report, data, final_logits):
    """Scores the exported `.tflite` itself, in LiteRT, on the scored frames; returns its logits."""
    tflite_logits, latency = predict_tflite(report.tflite_path, data.val_images)
    report.tflite = _scores(data.val_labels, tflite_logits)
    report.tflite["argmax_agreement_with_keras"] = float(
        np.mean(np.argmax(tflite_logits, -1) == np.argmax(final_logits, -1))
    )
    report.tflite_latency_ms_median = float(np.median(latency) * 1e3)
    report.miou_drop_points = 100 * (report.float["mean_iou"] - report.tflite["mean_iou"])
    return tflite_logits


_SPLIT_NAMES = {"val": "validation", "test": "test"}


def format_report(report):
    """A `SegmentationReport` as the lines `run()` prints."""
    lines = [
        f"== {report.model} ({report.parameters:,} parameters) on {report.data_dir}, "
        f"{report.num_val_frames} {_SPLIT_NAMES[report.eval_split]} frames",
    ]
    for scores, label in ((report.float, "float Keras"), (report.qat, "QAT Keras"),
                          (report.tflite, "TFLite")):
        if scores is not None:
            lines.append(
                f"  {label:12s} mIoU {100 * scores['mean_iou']:6.2f}   "
                f"global accuracy {100 * scores['global_accuracy']:6.2f}"
            )
    lines += [
        f"  mIoU drop float Keras -> {report.tflite_mode} TFLite: "
        f"{report.miou_drop_points:.2f} points; argmax agreement TFLite vs Keras "
        f"{100 * report.tflite['argmax_agreement_with_keras']:.2f}%",
        f"  {report.tflite_path}: {report.tflite_bytes / 1024:.1f} KiB ({report.tflite_mode}), "
        f"float32 .tflite {report.float32_tflite_bytes / 1024:.1f} KiB "
        f"({report.tflite_bytes / report.float32_tflite_bytes:.2f}x), "
        f"TFLite latency {report.tflite_latency_ms_median:.1f} ms/frame (median)",
        "  ops: " + tflite_lib.format_counts(report.tflite_op_types),
        "  tensors: " + tflite_lib.format_counts(report.tflite_tensor_dtypes),
        f"  SavedModel: {report.saved_model_path}",
        f"  overlays: {os.path.dirname(report.overlays[0]) if report.overlays else '-'}",
        "  timings: " + ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()),
    ]
    return "\n".join(lines)


def predict_tflite(path, images):
    """Runs a `.tflite` segmentation model on `images` in LiteRT (`LiteRTRunner`).

    Args:
        path: the `.tflite` file (float32 input/output, or int8 ones with scale/zero point).
        images: float32 `[n, h, w, 3]` of the file's frame size.

    Returns:
        `(logits [n, h, w, classes] float32, per-frame invoke seconds [n])`.
    """
    runner = LiteRTRunner(path)
    (input_name,), (output_name,) = runner.input_names, runner.output_names
    outputs, seconds = [], []
    for image in images:
        outputs.append(runner({input_name: image[None]})[output_name][0])
        seconds.append(runner.last_invoke_seconds)
    return np.stack(outputs).astype(np.float32), np.array(seconds)


def write_overlays(directory, images, labels, *predictions, frame_size=None, prefix="val"):
    """Writes `image | truth | prediction | ...` PNGs (CamVid colours, void black), atomically.

    Args:
        directory: output folder (created).
        images: float `[n, h, w, 3]` in [0, 1]; labels: int `[n, h, w]`.
        *predictions: one or more int `[n, h, w]` (e.g. float Keras, int8 `.tflite`), drawn
            left to right after the truth.
        frame_size: `(height, width)` to crop padded frames back to (None: keep).
        prefix: file names are `<prefix>_000.png`, ...

    Returns:
        The written paths.
    """
    os.makedirs(directory, exist_ok=True)
    h, w = frame_size or images.shape[1:3]
    paths = []
    for i, (image, label) in enumerate(zip(images, labels)):
        maps = [label] + [prediction[i] for prediction in predictions]
        panel = np.concatenate(
            [np.clip(image[:h, :w] * 255 + 0.5, 0, 255).astype(np.uint8)]
            + [PALETTE[np.clip(m[:h, :w], 0, len(PALETTE) - 1)] for m in maps],
            axis=1,
        )
        path = os.path.join(directory, f"{prefix}_{i:03d}.png")
        with atomic.atomic_path(path) as temp:
            Image.fromarray(panel).save(temp)
        paths.append(path)
    return paths


def _compile(model, optimizer):
    model.compile(
        optimizer=optimizer,
        # Void (11) is out of the loss twice over: ignore_class, and weight 0 from the pipeline.
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=camvid.VOID
        ),
        metrics=[MeanIoU(camvid.NUM_CLASSES), GlobalAccuracy(camvid.NUM_CLASSES)],
    )


def _fit(model, data, epochs, work_dir, phase, verbose, extra):
    """`model.fit` with resumable state (`backup/<phase>`), the best checkpoint `<phase>.keras`
    (by validation mIoU, written atomically) and TensorBoard logs (`logs/<phase>`)."""
    callbacks = [*training_callbacks(work_dir, phase, "val_mean_iou", "max"), *extra]
    model.fit(data.train, validation_data=data.val, epochs=epochs, callbacks=callbacks,
              verbose=verbose)


def _arrays(dataset):
    images, labels = [], []
    for image, label, _ in dataset.as_numpy_iterator():
        images.append(image)
        labels.append(label)
    return np.concatenate(images), np.concatenate(labels)


def _calibration_frames(data_dir, count):
    frames = camvid.load_dataset(data_dir, "train", batch_size=count, training=False)
    image, _, _ = next(iter(frames.as_numpy_iterator()))
    return image


def _predict(model, images, batch_size):
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0))


def _scores(labels, logits):
    scores = scores_from_confusion_matrix(confusion_matrix(labels, np.argmax(logits, -1)))
    return {
        "mean_iou": scores["mean_iou"],
        "global_accuracy": scores["global_accuracy"],
        "per_class_iou": [None if np.isnan(v) else float(v) for v in scores["per_class_iou"]],
    }
