"""CamVid (11 classes + void) on disk: validated file lists, `tf.data` and `PyDataset` pipelines.

The layout is the widely used SegNet one (also what `tfmodels.data.scenes` writes):

    root/train/*.png   root/trainannot/*.png
    root/val/*.png     root/valannot/*.png
    root/test/*.png    root/testannot/*.png

An image and its annotation share a file name. Images are RGB PNGs (360x480 in CamVid);
annotations are single-channel 8-bit PNGs whose values are class ids 0-10 (`CLASS_NAMES`) and
11 for void.

Validation (`list_split`) runs before any training and names the file at fault. What it does
with each kind of input:

- missing annotation for an image, annotation without an image: refused.
- image and annotation of different sizes, or frames of one split of different sizes (full-frame
  evaluation batches them): refused.
- annotation value above 11: refused (the message lists the values found).
- unreadable, truncated or non-PNG file under a `.png` name, or one whose chunk checksums hold
  but whose pixel data does not decode: refused. Every image and annotation is decoded once
  (PIL's `verify()` alone checks only the checksums); an image's result is cached by path,
  size and modification time, so validating a split again costs nothing.
- RGBA image whose alpha is 255 everywhere: accepted and read as RGB (the alpha is dropped).
  RGBA with any transparent pixel: refused, as there is no right colour to composite onto.
- grayscale (L, LA, I, 1), palette (P), CMYK or other modes for an image: refused. CamVid is
  colour; a single-channel file in an image folder is most often an annotation put in the
  wrong place, and replicating it to RGB would hide that.
- annotation in any mode other than L (RGB colour-coded labels, palette, 16-bit): refused, with
  a message asking for 8-bit class ids. Palette PNGs would decode as colours, not indices.
- files not ending in `.png` are ignored (`.DS_Store`, notes).

Two pipelines yield the same `(image, label, sample_weight)` batches: `load_dataset` (`tf.data`,
parallel decoding) and `SegmentationFrames` (a `keras.utils.PyDataset` of numpy arrays that
needs no TensorFlow: what trains on a JAX machine without it). Their batches:

- image: float32 `[b, h, w, 3]` in [0, 1] (no mean/std normalization; a model can add its own).
- label: int32 `[b, h, w]`, void = 11 kept, so metrics and a loss with `ignore_class=11` see it.
- sample_weight: float32 `[b, h, w]`, 0 on void, 1 (or the class weight) elsewhere.

Training takes seeded random crops (default 224x224) and horizontal flips, applied to image and
label together. Evaluation uses full frames; since FC-DenseNet halves the resolution five
times, frames whose height or width is not a multiple of `pad_multiple` (32; CamVid's 360 is
not) are padded at the bottom and right, the image with 0 and the label with void, so the
padding weighs nothing in the loss and is left out of every metric. Crop predictions back to
the top-left `[:h, :w]` to recover the frame.

Example:

```python
train = load_dataset("data/camvid", "train", batch_size=4, seed=0, repeat=True)
weights = median_frequency_weights(list_split("data/camvid", "train"))
train = load_dataset("data/camvid", "train", class_weights=weights)
for image, label, weight in train.take(1):
    ...
```
"""

import dataclasses
import functools
import os

import keras
import numpy as np
from PIL import Image

CLASS_NAMES = (
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
)
NUM_CLASSES = 11
VOID = 11
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True, eq=False)
class Split:
    """A validated split: paired file paths, the common frame size and label statistics.

    Attributes:
        name: split name ("train", "val" or "test").
        images: image paths, sorted by file name.
        labels: annotation paths, in the same order.
        height, width: size every frame of the split has.
        class_pixels: int64 `[NUM_CLASSES]`, pixels of each class over the split.
        present_pixels: int64 `[NUM_CLASSES]`, non-void pixels of the frames in which each
            class occurs (the denominator of median frequency balancing).
        void_pixels: number of void pixels.
    """

    name: str
    images: tuple
    labels: tuple
    height: int
    width: int
    class_pixels: np.ndarray
    present_pixels: np.ndarray
    void_pixels: int

    def __len__(self):
        return len(self.images)


def _png_names(directory):
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"CamVid folder not found: {directory}")
    return {name for name in os.listdir(directory) if name.lower().endswith(".png")}


def _check_image(path):
    """Returns the (height, width) of an image PNG, or raises ValueError naming it."""
    stat = os.stat(path)
    return _checked_image_size(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=65536)
def _checked_image_size(path, size_bytes, mtime_ns):
    try:
        with Image.open(path) as img:
            fmt, mode, (width, height) = img.format, img.mode, img.size
            if fmt != "PNG":
                raise ValueError(f"{path}: not a PNG file (PIL reads it as {fmt})")
            if mode == "RGBA":
                alpha = np.asarray(img.getchannel("A"))
                if alpha.min() < 255:
                    raise ValueError(
                        f"{path}: RGBA image with transparent pixels (min alpha {alpha.min()}); "
                        "save it as RGB"
                    )
            elif mode != "RGB":
                raise ValueError(
                    f"{path}: image mode {mode!r}, expected RGB (or RGBA with opaque alpha); "
                    "is it an annotation in the image folder?"
                )
            # A full decode: damaged pixel data under valid checksums fails here, not in fit.
            img.load()
    except ValueError:
        raise
    except Exception as err:  # PIL raises OSError, SyntaxError, EOFError, zlib errors ...
        raise ValueError(
            f"{path}: unreadable or corrupt PNG ({type(err).__name__}: {err})"
        ) from err
    return height, width


def _read_label(path):
    """Returns the decoded annotation array, or raises ValueError naming the file."""
    try:
        with Image.open(path) as img:
            if img.format != "PNG":
                raise ValueError(f"{path}: not a PNG file (PIL reads it as {img.format})")
            if img.mode != "L":
                raise ValueError(
                    f"{path}: annotation mode {img.mode!r}, expected single-channel 8-bit ('L') "
                    f"class ids 0-{NUM_CLASSES - 1} and {VOID} for void"
                )
            label = np.asarray(img)
    except ValueError:
        raise
    except Exception as err:
        raise ValueError(
            f"{path}: unreadable or corrupt PNG ({type(err).__name__}: {err})"
        ) from err
    bad = np.unique(label[label > VOID])
    if bad.size:
        raise ValueError(
            f"{path}: label values {bad.tolist()} above {VOID} (ids 0-{NUM_CLASSES - 1}, "
            f"{VOID} = void)"
        )
    return label


def list_split(root, split):
    """Pairs and validates one split's images and annotations.

    Args:
        root: dataset folder holding `<split>/` and `<split>annot/`.
        split: "train", "val" or "test".

    Returns:
        A `Split`.

    Raises:
        FileNotFoundError: a folder is missing.
        ValueError: any bad input listed in the module docstring, naming the file.

    Example:

    ```python
    split = list_split("data/camvid", "train")
    print(len(split), split.height, split.width)
    ```
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got split={split!r}")
    image_dir = os.path.join(root, split)
    label_dir = os.path.join(root, split + "annot")
    image_names, label_names = _png_names(image_dir), _png_names(label_dir)
    unlabelled = sorted(image_names - label_names)
    if unlabelled:
        raise ValueError(
            f"{os.path.join(image_dir, unlabelled[0])}: no annotation "
            f"{os.path.join(label_dir, unlabelled[0])} ({len(unlabelled)} image(s) lack one)"
        )
    orphans = sorted(label_names - image_names)
    if orphans:
        raise ValueError(
            f"{os.path.join(label_dir, orphans[0])}: annotation without an image in {image_dir} "
            f"({len(orphans)} such annotation(s))"
        )
    if not image_names:
        raise ValueError(f"{image_dir}: no .png images")

    names = sorted(image_names)
    class_pixels = np.zeros(NUM_CLASSES, np.int64)
    present_pixels = np.zeros(NUM_CLASSES, np.int64)
    void_pixels = 0
    size = None
    for name in names:
        image_path, label_path = os.path.join(image_dir, name), os.path.join(label_dir, name)
        image_size = _check_image(image_path)
        label = _read_label(label_path)
        if label.shape != image_size:
            raise ValueError(
                f"{label_path}: annotation is {label.shape[0]}x{label.shape[1]} but image "
                f"{image_path} is {image_size[0]}x{image_size[1]}"
            )
        if size is None:
            size = image_size
        elif image_size != size:
            raise ValueError(
                f"{image_path}: frame is {image_size[0]}x{image_size[1]}, other frames of "
                f"{split} are {size[0]}x{size[1]}"
            )
        counts = np.bincount(label.reshape(-1), minlength=VOID + 1)
        class_pixels += counts[:NUM_CLASSES]
        present_pixels += (counts[:NUM_CLASSES] > 0) * counts[:NUM_CLASSES].sum()
        void_pixels += int(counts[VOID])
    return Split(
        name=split,
        images=tuple(os.path.join(image_dir, n) for n in names),
        labels=tuple(os.path.join(label_dir, n) for n in names),
        height=size[0],
        width=size[1],
        class_pixels=class_pixels,
        present_pixels=present_pixels,
        void_pixels=void_pixels,
    )


def median_frequency_weights(split):
    """Class weights by median frequency balancing, void excluded.

    freq(c) = pixels of class c / non-void pixels of the frames where c occurs, and
    weight(c) = median(freq) / freq(c) (Eigen & Fergus, arXiv:1411.4734, Section 4.1; used by
    SegNet and by FC-DenseNet, arXiv:1611.09326, Section 4.1). The median runs over the
    classes that occur; a class absent from the split gets weight 0.

    Args:
        split: a `Split` from `list_split` (normally the training split).

    Returns:
        float32 array `[NUM_CLASSES]`.

    Example:

    ```python
    weights = median_frequency_weights(list_split("data/camvid", "train"))
    ```
    """
    present = split.present_pixels > 0
    if not present.any():
        raise ValueError(f"split {split.name!r} has no labelled (non-void) pixels")
    freq = np.zeros(NUM_CLASSES, np.float64)
    freq[present] = split.class_pixels[present] / split.present_pixels[present]
    weights = np.zeros(NUM_CLASSES, np.float64)
    weights[present] = np.median(freq[present]) / freq[present]
    return weights.astype(np.float32)


def _decode(image_path, label_path):
    import tensorflow as tf

    image = tf.io.decode_png(tf.io.read_file(image_path), channels=3)
    label = tf.io.decode_png(tf.io.read_file(label_path), channels=1)
    return image, label


def _pad_to_multiple(image, label, multiple):
    import tensorflow as tf

    height, width = tf.shape(image)[0], tf.shape(image)[1]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    image = tf.pad(image, [[0, pad_h], [0, pad_w], [0, 0]])
    label = tf.pad(label, [[0, pad_h], [0, pad_w], [0, 0]], constant_values=VOID)
    return image, label


def _augment(image, label, seed, crop_size):
    """Random crop (when crop_size is set) and horizontal flip, same for image and label."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, num=3)
    if crop_size is not None:
        crop_h, crop_w = crop_size
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        top = tf.random.stateless_uniform([], seeds[0], 0, height - crop_h + 1, dtype=tf.int32)
        left = tf.random.stateless_uniform([], seeds[1], 0, width - crop_w + 1, dtype=tf.int32)
        image = image[top : top + crop_h, left : left + crop_w]
        label = label[top : top + crop_h, left : left + crop_w]
    flip = tf.random.stateless_uniform([], seeds[2]) < 0.5
    image = tf.cond(flip, lambda: tf.reverse(image, [1]), lambda: image)
    label = tf.cond(flip, lambda: tf.reverse(label, [1]), lambda: label)
    return image, label


def _checked_arguments(root, split, batch_size, training, crop_size, class_weights,
                       pad_multiple):
    """Validates the pipeline arguments and the split (before any work); returns
    `(files, training, crop_size, weight table [NUM_CLASSES + 1] with void = 0)`."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got batch_size={batch_size!r}")
    if pad_multiple is not None and (not isinstance(pad_multiple, int) or pad_multiple < 1):
        raise ValueError(f"pad_multiple must be a positive int or None, got {pad_multiple!r}")
    if training is None:
        training = split == "train"
    if crop_size is not None:
        crop_size = tuple(crop_size)
        if len(crop_size) != 2 or not all(isinstance(c, int) and c > 0 for c in crop_size):
            raise ValueError(f"crop_size must be (height, width) positive ints, got {crop_size!r}")
    if class_weights is not None:
        class_weights = np.asarray(class_weights, dtype=np.float32)
        if class_weights.shape != (NUM_CLASSES,) or (class_weights < 0).any():
            raise ValueError(
                f"class_weights must be {NUM_CLASSES} non-negative numbers, got shape "
                f"{class_weights.shape}"
            )
    files = list_split(root, split)
    if training and crop_size is not None:
        if crop_size[0] > files.height or crop_size[1] > files.width:
            raise ValueError(
                f"crop_size={crop_size} is larger than the {files.height}x{files.width} frames "
                f"of {os.path.join(root, split)}"
            )
    if training and len(files) < batch_size:
        raise ValueError(
            f"batch_size={batch_size} exceeds the {len(files)} frames of "
            f"{os.path.join(root, split)}"
        )

    # Void (index VOID) weighs 0; the table keeps the lookup a single gather.
    weight_table = np.ones(NUM_CLASSES + 1, np.float32)
    if class_weights is not None:
        weight_table[:NUM_CLASSES] = class_weights
    weight_table[VOID] = 0.0
    return files, training, crop_size, weight_table


def load_dataset(
    root,
    split,
    batch_size=4,
    training=None,
    crop_size=(224, 224),
    seed=0,
    class_weights=None,
    repeat=False,
    pad_multiple=32,
    cache=True,
):
    """Builds the `tf.data` pipeline of one CamVid-layout split, validating it first.

    Args:
        root: dataset folder (see the module docstring for the layout).
        split: "train", "val" or "test".
        batch_size: frames per batch.
        training: shuffle, crop and flip when True; full padded frames in file order when
            False. Defaults to `split == "train"`.
        crop_size: `(height, width)` of training crops, or None for full (padded) frames.
            Ignored when not training.
        seed: seeds the shuffle and the augmentation: two pipelines built with the same seed
            yield the same batches, epoch after epoch. Each new pass over a non-repeating
            dataset (each `fit` epoch) draws a fresh order and fresh crops, following
            TensorFlow's `rerandomize_each_iteration`, which also mixes in TF's global seed
            when one is set (`keras.utils.set_random_seed`).
        class_weights: None, or `NUM_CLASSES` non-negative weights (e.g. from
            `median_frequency_weights`) used as the sample weight of each class's pixels.
        repeat: repeat forever (then give `fit` a `steps_per_epoch`).
        pad_multiple: pad frames to multiples of this (None: no padding).
        cache: keep decoded frames in memory after the first pass.

    Returns:
        `tf.data.Dataset` of `(image, label, sample_weight)`: float32 `[b, h, w, 3]` in [0, 1],
        int32 `[b, h, w]` with void = 11, float32 `[b, h, w]`. Training batches are full
        (`drop_remainder`); evaluation keeps the last partial batch.

    Example:

    ```python
    val = load_dataset("data/camvid", "val", batch_size=2)
    model.evaluate(val)
    ```
    """
    files, training, crop_size, weight_table = _checked_arguments(
        root, split, batch_size, training, crop_size, class_weights, pad_multiple)
    import tensorflow as tf

    weight_table = tf.constant(weight_table)

    ds = tf.data.Dataset.from_tensor_slices((list(files.images), list(files.labels)))
    ds = ds.map(_decode, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        # One random int64 pair per frame seeds the stateless crop and flip, so parallel map
        # stays deterministic.
        randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, randoms)
        ds = ds.map(
            lambda pair, r: _augment(pair[0], pair[1], r, crop_size),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    elif repeat:
        ds = ds.repeat()

    def finish(image, label):
        if pad_multiple is not None:
            image, label = _pad_to_multiple(image, label, pad_multiple)
        label = tf.cast(label[..., 0], tf.int32)
        image = tf.cast(image, tf.float32) / 255.0
        return image, label, tf.gather(weight_table, label)

    ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=training)
    return ds.prefetch(tf.data.AUTOTUNE)


class SegmentationFrames(keras.utils.PyDataset):
    """One CamVid-layout split as a `keras.utils.PyDataset` of numpy batches (no TensorFlow).

    The batches of `load_dataset` — `(image float32 [b, h, w, 3] in [0, 1], label int32
    [b, h, w] with void = 11, sample_weight float32 [b, h, w])` — decoded with PIL and
    augmented with numpy, so `model.fit` trains on any backend, also where TensorFlow is not
    installed (JAX on a GPU machine). Evaluation batches are pixel-identical to
    `load_dataset`'s; training crops and flips are drawn from numpy's generator seeded by
    `(seed, epoch)`, so they differ from `tf.data`'s but are reproducible: the same seed gives
    the same batches, and each epoch (`on_epoch_end`, which `fit` calls) a new order and new
    crops.

    Args:
        root, split, batch_size, training, crop_size, seed, class_weights, pad_multiple: as
            `load_dataset` (validated the same way, before any work).
        cache: keep decoded frames in memory (uint8) after their first read.
        **kwargs: `keras.utils.PyDataset` arguments (`workers`, `use_multiprocessing`,
            `max_queue_size`).

    Example:

    ```python
    train = SegmentationFrames("data/camvid", "train", batch_size=4, crop_size=(224, 224))
    val = SegmentationFrames("data/camvid", "val", batch_size=2)
    model.fit(train, validation_data=val, epochs=10)
    ```
    """

    def __init__(self, root, split, batch_size=4, training=None, crop_size=(224, 224), seed=0,
                 class_weights=None, pad_multiple=32, cache=True, **kwargs):
        files, training, crop_size, weight_table = _checked_arguments(
            root, split, batch_size, training, crop_size, class_weights, pad_multiple)
        super().__init__(**kwargs)
        self.files = files
        self.batch_size = batch_size
        self.training = training
        self.crop_size = crop_size if training else None
        self.seed = seed
        self.pad_multiple = pad_multiple
        self.cache = cache
        self._weight_table = weight_table
        self._frames = {}
        self._epoch = 0
        self._plan = self._epoch_plan()

    def __len__(self):
        if self.training:
            return len(self.files) // self.batch_size  # full batches only, as load_dataset
        return -(-len(self.files) // self.batch_size)

    def on_epoch_end(self):
        self._epoch += 1
        self._plan = self._epoch_plan()

    def _epoch_plan(self):
        """`(frame order, per-frame (top, left, flip))` of the current epoch."""
        n = len(self.files)
        if not self.training:
            return np.arange(n), None
        rng = np.random.default_rng((self.seed, self._epoch))
        order = rng.permutation(n)
        crop_h, crop_w = self.crop_size or (self.files.height, self.files.width)
        tops = rng.integers(0, self.files.height - crop_h + 1, n)
        lefts = rng.integers(0, self.files.width - crop_w + 1, n)
        flips = rng.random(n) < 0.5
        return order, np.stack([tops, lefts, flips], axis=1)

    def _frame(self, index):
        if index in self._frames:
            return self._frames[index]
        with Image.open(self.files.images[index]) as img:
            image = np.asarray(img.convert("RGB"))
        label = _read_label(self.files.labels[index])
        if self.cache:
            self._frames[index] = (image, label)
        return image, label

    def __getitem__(self, batch):
        if not 0 <= batch < len(self):
            raise IndexError(f"batch {batch} out of range (len {len(self)})")
        order, augment = self._plan
        positions = range(batch * self.batch_size,
                          min((batch + 1) * self.batch_size, len(self.files)))
        images, labels = [], []
        for position in positions:
            image, label = self._frame(int(order[position]))
            if augment is not None:
                top, left, flip = (int(v) for v in augment[position])
                if self.crop_size is not None:
                    crop_h, crop_w = self.crop_size
                    image = image[top : top + crop_h, left : left + crop_w]
                    label = label[top : top + crop_h, left : left + crop_w]
                if flip:
                    image, label = image[:, ::-1], label[:, ::-1]
            if self.pad_multiple is not None:
                pad_h = -image.shape[0] % self.pad_multiple
                pad_w = -image.shape[1] % self.pad_multiple
                image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)))
                label = np.pad(label, ((0, pad_h), (0, pad_w)), constant_values=VOID)
            images.append(image)
            labels.append(label)
        image = np.stack(images).astype(np.float32) / np.float32(255.0)
        label = np.stack(labels).astype(np.int32)
        return image, label, self._weight_table[label]
