"""Coordinate networks end to end: a picture -> `model.fit` on `(x, y) -> (r, g, b)` -> pictures,
the depth comparison, and an int8 `.tflite` that renders the picture on a device.

`train_coordinate` trains the deep net (the original 6 x 300 leaky ReLUs by default) and,
for the side-by-side, a one-hidden-layer net with the same number of weights for the same
epochs; it writes `truth_shallow_deep.png`, one neuron-image grid per hidden layer, the
learning animation (`learning.gif`, a frame every `animate_every` epochs), the `.keras` model,
and the int8 `.tflite` of the whole-picture render model, whose own output gives the int8 PSNR.

`compare_depths` is the depth claim measured: 1, 2, 4, 6 hidden layers at an equal parameter
count, each trained for the same wall-clock time, over seeds; one JSON per finished run, so an
interrupted comparison resumes.

Example:
    >>> result = train_coordinate(height=64, epochs=200, export_dir="export")  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
"""

import dataclasses
import json
import os
import time

import keras
import numpy as np

from tfmodels.data import images
from tfmodels.models.coordinate import (
    PRESETS,
    RenderEvery,
    coordinate_grid,
    coordinate_mlp,
    neuron_images,
    render,
    render_model,
    width_for_parameters,
)
from tfmodels.tasks.mnist_mlp import save_png
from tfmodels.utils import atomic


@dataclasses.dataclass
class CoordinateResult:
    """What `train_coordinate` measured and wrote.

    Attributes:
        image, height, width: the picture (path or "mona lisa"/"test picture") and its size.
        depth, units, parameters: the deep net; shallow_units: the 1-layer net's width (None if
            not trained).
        epochs, seed: the run.
        mae, psnr: the deep net's render against the picture (colours in [0, 1]; PSNR in dB).
        shallow_mae, shallow_psnr: the same for the shallow net.
        int8_psnr: the int8 `.tflite` file's own render; psnr_drop = psnr - int8_psnr.
        train_seconds: wall time of the deep net's `fit`.
        files: `{what: path}` of everything written.
    """

    image: str
    height: int
    width: int
    depth: int
    units: int
    parameters: int
    epochs: int
    seed: int
    mae: float
    psnr: float
    train_seconds: float
    shallow_units: int = None
    shallow_mae: float = None
    shallow_psnr: float = None
    int8_psnr: float = None
    psnr_drop: float = None
    files: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        lines = [
            f"coordinate {self.depth}x{self.units} ({self.parameters:,} weights) on {self.image} "
            f"{self.height}x{self.width}, {self.epochs} epochs, seed {self.seed} "
            f"({self.train_seconds:.0f} s): MAE {self.mae:.4f}, PSNR {self.psnr:.2f} dB"]
        if self.shallow_units is not None:
            lines.append(f"  shallow 1x{self.shallow_units} (same weights, same epochs): "
                         f"MAE {self.shallow_mae:.4f}, PSNR {self.shallow_psnr:.2f} dB")
        if self.int8_psnr is not None:
            lines.append(f"  int8 .tflite render: PSNR {self.int8_psnr:.2f} dB "
                         f"(drop {self.psnr_drop:.2f} dB from float)")
        lines += [f"  {what}: {path}" for what, path in self.files.items()]
        return "\n".join(lines)


def psnr(truth, picture):
    """Peak signal-to-noise ratio in dB of `picture` against `truth`, both in [0, 1]."""
    mse = float(np.mean((np.asarray(truth, np.float64) - np.asarray(picture, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def mae(truth, picture):
    """Mean absolute colour error (colours in [0, 1])."""
    return float(np.mean(np.abs(np.asarray(truth, np.float64) - np.asarray(picture, np.float64))))


def coordinate_data(picture):
    """`(coords (h*w, 2), colours (h*w, c))` training pairs of a `(h, w, c)` picture."""
    height, width = picture.shape[:2]
    return coordinate_grid(height, width), picture.reshape(height * width, -1).astype(np.float32)


def fit_coordinate(model, picture, epochs, batch_size=32, learning_rate=1e-3, seed=0,
                   seconds=None, callbacks=(), verbose=0):
    """Fits a coordinate model to `picture` (Adam, squared error, pixels reshuffled every
    epoch as in the original). With `seconds`, training stops after the epoch that crosses
    that wall-clock budget. Returns the number of epochs run."""
    coords, colours = coordinate_data(picture)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    budget = [] if seconds is None else [_TimeBudget(seconds)]
    keras.utils.set_random_seed(seed)
    history = model.fit(coords, colours, batch_size=batch_size, epochs=epochs, shuffle=True,
                        callbacks=[*callbacks, *budget], verbose=verbose)
    return len(history.history["loss"])


class _TimeBudget(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


def train_coordinate(
    image=None,
    height=64,
    width=None,
    preset="original",
    depth=None,
    units=None,
    epochs=150,
    batch_size=32,
    learning_rate=1e-3,
    shallow=True,
    animate_every=10,
    int8=True,
    neuron_size=32,
    scale=3,
    seed=0,
    export_dir=None,
    verbose=0,
):
    """Trains a coordinate net on a picture and writes its pictures and int8 `.tflite`.

    Args:
        image: a PNG/JPEG path; None: the Mona Lisa when `mvtb-data` is installed, else the
            generated test picture (`tfmodels.data.images.load_image`).
        height, width: training size (give one to keep the aspect ratio).
        preset: a key of `PRESETS` ("original": 6 x 300 leaky ReLUs).
        depth, units: override the preset's depth / width.
        epochs, batch_size, learning_rate: training (Adam on squared error; the original's
            500 epochs of online SGD take hours on CPU).
        shallow: also train the one-hidden-layer net with as many weights for the same epochs
            (the middle panel of the side-by-side).
        animate_every: epochs between the animation's frames (0: no animation).
        int8: export and check the int8 `.tflite` render model.
        neuron_size: tile height of the neuron images (width keeps the aspect ratio).
        scale: nearest-neighbour enlargement of the side-by-side and the animation.
        seed: initialization and pixel order.
        export_dir: output folder (created; the files go to `<export_dir>/coordinate/`); None
            trains and measures only (no int8 check: it needs the file).
        verbose: Keras fit verbosity.

    Returns:
        A `CoordinateResult`.

    Raises:
        FileNotFoundError: `image` does not exist; ValueError: a bad argument (before training).
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("scale", scale),
                        ("neuron_size", neuron_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(animate_every, int) or animate_every < 0:
        raise ValueError(f"animate_every must be a non-negative int, got {animate_every!r}")
    if export_dir is not None and not os.path.isdir(os.path.dirname(os.path.abspath(export_dir))):
        raise FileNotFoundError(f"export_dir's parent folder does not exist: {export_dir}")
    picture = images.load_image(image, height=height, width=width)
    height, width = picture.shape[:2]
    if image is not None:
        name = os.path.basename(os.fspath(image))
    else:
        name = "mona lisa" if images.default_image_path() else "test picture"
    config = dict(PRESETS[preset])
    if depth is not None:
        config["depth"] = depth
    if units is not None:
        config["width"] = units

    model = coordinate_mlp(**config, seed=seed)
    frames = RenderEvery(height, width, every=animate_every) if animate_every else None
    start = time.perf_counter()
    epochs_run = fit_coordinate(model, picture, epochs, batch_size, learning_rate, seed,
                                callbacks=[frames] if frames else [], verbose=verbose)
    train_seconds = time.perf_counter() - start
    deep_picture = render(model, height, width)
    result = CoordinateResult(
        image=name, height=height, width=width, depth=config["depth"], units=config["width"],
        parameters=int(model.count_params()), epochs=epochs_run, seed=seed,
        mae=mae(picture, deep_picture), psnr=psnr(picture, deep_picture),
        train_seconds=train_seconds)
    shallow_picture = None
    if shallow:
        result.shallow_units = width_for_parameters(1, result.parameters)
        shallow_model = coordinate_mlp(
            depth=1, width=result.shallow_units, activation=config["activation"],
            negative_slope=config.get("negative_slope", 0.01), seed=seed)
        fit_coordinate(shallow_model, picture, epochs_run, batch_size, learning_rate, seed,
                       verbose=verbose)
        shallow_picture = render(shallow_model, height, width)
        result.shallow_mae = mae(picture, shallow_picture)
        result.shallow_psnr = psnr(picture, shallow_picture)
    if export_dir is None:
        return result

    out = os.path.join(export_dir, "coordinate")
    os.makedirs(out, exist_ok=True)
    files = result.files
    files["model"] = atomic.save_model(model, os.path.join(out, f"{model.name}.keras"))
    panels = [picture] + ([shallow_picture] if shallow_picture is not None else []) + [deep_picture]
    files["side_by_side"] = save_png(_side_by_side(panels), os.path.join(
        out, "truth_shallow_deep.png" if shallow else "truth_deep.png"), scale=scale)
    tile_width = max(1, round(neuron_size * width / height))
    for layer, grid in neuron_images(model, neuron_size, tile_width).items():
        files[f"neurons_{layer}"] = save_png(grid, os.path.join(out, f"neurons_{layer}.png"))
    if frames:
        files["animation"] = save_gif([f for _, f in frames.frames],
                                      os.path.join(out, "learning.gif"), scale=scale)
    if int8:
        files["tflite_int8"], result.int8_psnr = export_render_tflite(
            model, picture, os.path.join(out, f"{model.name}_render.int8.tflite"))
        result.psnr_drop = result.psnr - result.int8_psnr
    files["report"] = os.path.join(out, "report.json")
    atomic.write_json(files["report"], dataclasses.asdict(result))
    return result


def export_render_tflite(model, picture, path):
    """Exports `render_model(model, h, w)` as an int8 `.tflite` (calibrated on the coordinate
    grid itself), renders the picture with the file in the LiteRT interpreter, and returns
    `(path, PSNR of the file's render against picture)`."""
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    height, width = picture.shape[:2]
    grid = coordinate_grid(height, width)[None]
    export_tflite(render_model(model, height, width), path, mode="int8",
                  representative_data=grid)
    runner = LiteRTRunner(path)
    (output,) = runner.predict({runner.input_names[0]: grid}).values()
    device_picture = np.clip(output.reshape(height, width, -1), 0.0, 1.0)
    return path, psnr(picture, device_picture)


def _side_by_side(panels, gap=2):
    height = panels[0].shape[0]
    white = np.ones((height, gap, panels[0].shape[2]), np.float32)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [white, panel]
    return np.round(np.concatenate(row, axis=1) * 255).astype(np.uint8)


def save_gif(frames, path, scale=1, duration_ms=120):
    """Writes float `(h, w, 3)` frames in [0, 1] as a looping GIF atomically; returns path."""
    from PIL import Image

    if not frames:
        raise ValueError("save_gif needs at least one frame")
    pictures = []
    for frame in frames:
        image = Image.fromarray(np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8))
        if scale != 1:
            image = image.resize((image.width * scale, image.height * scale),
                                 Image.Resampling.NEAREST)
        pictures.append(image)
    with atomic.atomic_path(path) as temp:
        pictures[0].save(temp, save_all=True, append_images=pictures[1:], duration=duration_ms,
                         loop=0)
    return os.fspath(path)


def compare_depths(image=None, height=48, width=None, depths=(1, 2, 4, 6), parameters=20000,
                   seconds=30, seeds=(0, 1), batch_size=32, learning_rate=1e-3, out_dir=None,
                   verbose=0):
    """The depth claim: nets of `depths` hidden layers with about `parameters` weights each,
    each trained for `seconds` of wall time (Adam), scored by MAE and PSNR of their render.

    Args:
        image, height, width: the picture (as for `train_coordinate`).
        depths: hidden-layer counts; the width of each is `width_for_parameters`.
        parameters: the shared weight budget.
        seconds: the shared training time per run (stops after the epoch that crosses it).
        seeds: one run per seed and depth.
        batch_size, learning_rate: training.
        out_dir: one `depth<d>_seed<s>.json` per finished run; existing ones are read instead
            of retrained (resume). None keeps nothing.
        verbose: fit verbosity.

    Returns:
        A list of dicts (depth, units, parameters, seed, epochs, seconds, mae, psnr).
    """
    picture = images.load_image(image, height=height, width=width)
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    rows = []
    for depth in depths:
        units = width_for_parameters(depth, parameters)
        for seed in seeds:
            path = None if out_dir is None else os.path.join(out_dir, f"depth{depth}_seed{seed}.json")
            if path and os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    rows.append(json.load(f))
                continue
            model = coordinate_mlp(depth=depth, width=units, seed=seed)
            start = time.perf_counter()
            epochs = fit_coordinate(model, picture, 100000, batch_size, learning_rate, seed,
                                    seconds=seconds, verbose=verbose)
            elapsed = time.perf_counter() - start
            rendered = render(model, *picture.shape[:2])
            row = {"depth": depth, "units": units, "parameters": int(model.count_params()),
                   "seed": seed, "epochs": epochs, "seconds": round(elapsed, 1),
                   "mae": mae(picture, rendered), "psnr": psnr(picture, rendered)}
            if path:
                atomic.write_json(path, row)
            rows.append(row)
    return rows


def depth_table(rows):
    """A markdown table of `compare_depths` rows: mean and per-seed MAE / PSNR per depth."""
    lines = ["| hidden layers | width | weights | epochs in budget | MAE (mean) | PSNR dB (mean) "
             "| PSNR dB per seed |", "|---|---|---|---|---|---|---|"]
    for depth in sorted({r["depth"] for r in rows}):
        runs = [r for r in rows if r["depth"] == depth]
        lines.append(
            f"| {depth} | {runs[0]['units']} | {runs[0]['parameters']:,} | "
            f"{'/'.join(str(r['epochs']) for r in runs)} | "
            f"{np.mean([r['mae'] for r in runs]):.4f} | {np.mean([r['psnr'] for r in runs]):.2f} | "
            f"{', '.join(format(r['psnr'], '.2f') for r in runs)} |")
    return "\n".join(lines)
