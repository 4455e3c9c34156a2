"""Atomic artifacts: a file or a folder appears complete, or not at all.

Every artifact tfmodels writes (datasets, `.keras` checkpoints, `.tflite` files, SavedModel
versions, reports, figures) goes through this module. The content is written to a hidden
temporary name in the same folder (so the final rename never crosses file systems), then
renamed into place; on any error, an interrupt included, the temporary is removed and whatever
was at the target before is left untouched.

Example:
    >>> with atomic_path("export/model.keras") as temp:  # doctest: +SKIP
    ...     model.save(temp)
    >>> with atomic_directory("data/scenes", overwrite=True) as temp:  # doctest: +SKIP
    ...     write_frames(temp)
"""

import contextlib
import json
import os
import shutil
import tempfile
import uuid


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renamed to `path` when the block succeeds.

    For writers that take a path (`model.save`, `Image.save`, `np.save`). The temporary keeps
    `path`'s suffix, since some writers choose their format by it.

    Args:
        path: the final file path; its folder must exist.

    Raises:
        FileNotFoundError: the folder of `path` does not exist.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output folder does not exist: {directory}")
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1]
    temp = os.path.join(directory, f".{name}.tmp-{uuid.uuid4().hex}{suffix}")
    try:
        yield temp
        if not os.path.exists(temp):
            raise FileNotFoundError(f"nothing was written for {path}")
        os.replace(temp, path)
    finally:
        if os.path.lexists(temp):
            os.remove(temp)


@contextlib.contextmanager
def atomic_file(path, mode="wb", encoding=None):
    """Yields an open file that becomes `path` when the block succeeds.

    Args:
        path: the final file path; its folder must exist.
        mode: `"wb"` or `"w"`.
        encoding: for text mode (default UTF-8).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as temp:
        with open(temp, mode, encoding=encoding) as f:
            yield f


def save_model(model, path):
    """Saves a Keras model to a `.keras` `path` atomically; returns `path`."""
    with atomic_path(path) as temp:
        model.save(temp)
    return os.fspath(path)


def write_bytes(path, content):
    """Writes `content` to `path` atomically; returns `path`."""
    with atomic_file(path, "wb") as f:
        f.write(content)
    return os.fspath(path)


def write_text(path, text):
    """Writes UTF-8 `text` to `path` atomically; returns `path`."""
    with atomic_file(path, "w") as f:
        f.write(text)
    return os.fspath(path)


def write_json(path, data):
    """Writes `data` as indented JSON to `path` atomically (unknown types via `str`)."""
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Yields an empty temporary folder that becomes `path` when the block succeeds.

    Args:
        path: the final folder; its parent is created if missing.
        overwrite: replace an existing `path` (moved aside, then deleted once the new one is in
            place). Without it an existing non-empty `path` raises before anything is written,
            and one that appears meanwhile raises at the rename; an existing empty folder is
            replaced.

    Raises:
        FileExistsError: `path` exists (and is not an empty folder) without `overwrite`, or is
            a file.
    """
    path = os.path.abspath(os.fspath(path))
    _check_replaceable(path, overwrite)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    temp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    old = None
    try:
        # mkdtemp makes the folder private; the artifact should get the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o777 & ~umask)
        yield temp
        _check_replaceable(path, overwrite)
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
            os.replace(path, os.path.join(old, "previous"))
        try:
            # Renaming onto an existing non-empty folder fails, so a folder written concurrently
            # by someone else is never replaced.
            os.replace(temp, path)
        except OSError as err:
            if old is not None:
                os.replace(os.path.join(old, "previous"), path)
            raise FileExistsError(f"{path} already exists, refusing to overwrite it") from err
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(path, overwrite):
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        raise FileExistsError(f"{path} exists and is not a folder")
    if os.listdir(path) and not overwrite:
        raise FileExistsError(f"{path} exists and is not empty; pass overwrite=True to replace it")
