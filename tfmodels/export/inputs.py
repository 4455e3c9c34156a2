"""Model inputs as exports take them: every reasonable form -> `{input name: array (n, ...)}`.

`export_tflite(representative_data=...)`, `export_saved_model(warmup_inputs=...)` and
`verify_tflite(inputs=...)` all accept the same forms, read by `named_arrays`:

- one array with a leading sample axis (a one-input model);
- a dict `{input name: array (n, ...)}`, or a list / tuple of such arrays in `model.inputs`
  order (one per input);
- samples one by one, as TFLite's `representative_dataset` yields them: a list / tuple of
  per-sample arrays (a one-input model), or of per-sample dicts or lists (any model); a sample
  may carry a batch axis of any size;
- a generator, an iterator, a callable returning one (TFLite's idiom), or a `tf.data.Dataset`,
  yielding such samples or batches.

A list whose items all have the model input's full rank is read as batches of one input
(concatenated); items one rank lower are single samples. For a multi-input model a list of
arrays is one array per input; per-sample entries there must be dicts or lists.
"""

import numpy as np


def named_arrays(data, signature, argument):
    """Reads `data` in any form the module doc lists as `{input name: array (n, ...)}`.

    Args:
        data: the inputs.
        signature: `(input_specs, output_names)` from `saved_model.serving_signature`.
        argument: the argument's name, for error messages.

    Returns:
        `{input name: array}` in the input's dtype, every array with the same leading size.

    Raises:
        ValueError: a form that does not fit the model's inputs (naming `argument` and the
            accepted forms), mismatched names, shapes or sample counts, non-finite values.
    """
    specs, _ = signature
    names = [name for name, _, _ in specs]
    ranks = {name: len(shape) for name, shape, _ in specs}
    if isinstance(data, dict):
        arrays = _from_dict(data, names, argument)
    elif _is_array(data):
        if len(names) != 1:
            raise ValueError(f"{argument} is one array, but the model has inputs {names}: "
                             f"{_FORMS}")
        arrays = {names[0]: np.asarray(data)}
    else:
        if callable(data) and not hasattr(data, "__iter__"):
            data = data()
        if hasattr(data, "as_numpy_iterator"):  # tf.data.Dataset
            data = data.as_numpy_iterator()
        items = list(data) if not isinstance(data, (list, tuple)) else data
        if not len(items):
            raise ValueError(f"{argument} has no samples")
        if isinstance(data, (list, tuple)) and len(names) > 1 and all(_is_array(i) for i in items):
            if len(items) != len(names):
                raise ValueError(f"{argument} has {len(items)} arrays, the model has inputs "
                                 f"{names}: {_FORMS}")
            arrays = dict(zip(names, (np.asarray(i) for i in items)))
        else:
            arrays = _from_samples(items, names, ranks, argument)
    return _checked(arrays, specs, argument)


_FORMS = (
    "accepted forms: an array (one-input model), a dict or list of arrays (one per input), a "
    "list of samples (arrays, dicts or lists), or a generator / callable / tf.data.Dataset "
    "yielding them"
)


def _is_array(value):
    return isinstance(value, np.ndarray) or (
        hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, dict)
    )


def _from_dict(data, names, argument):
    if sorted(data) != sorted(names):
        raise ValueError(f"{argument} keys {sorted(data)} do not match the model's inputs {names}")
    return {name: np.asarray(data[name]) for name in names}


def _from_samples(items, names, ranks, argument):
    """Per-sample (or per-batch) entries -> concatenated arrays."""
    parts = {name: [] for name in names}
    for index, item in enumerate(items):
        if isinstance(item, dict):
            sample = _from_dict(item, names, f"{argument}[{index}]")
        elif isinstance(item, (list, tuple)):
            if len(item) != len(names):
                raise ValueError(f"{argument}[{index}] has {len(item)} entries, the model has "
                                 f"inputs {names}: {_FORMS}")
            sample = {name: np.asarray(value) for name, value in zip(names, item)}
        elif _is_array(item) and len(names) == 1:
            sample = {names[0]: np.asarray(item)}
        else:
            raise ValueError(f"{argument}[{index}] is a {type(item).__name__}; {_FORMS}")
        for name, value in sample.items():
            if value.ndim == ranks[name] - 1:
                value = value[None]
            elif value.ndim != ranks[name]:
                raise ValueError(
                    f"{argument}[{index}] for input {name!r} has shape {value.shape}; a sample "
                    f"has rank {ranks[name] - 1} (or {ranks[name]} with a batch axis)"
                )
            parts[name].append(value)
    shapes = {name: {p.shape[1:] for p in values} for name, values in parts.items()}
    for name, found in shapes.items():
        if len(found) > 1:
            raise ValueError(f"{argument} samples for input {name!r} have different shapes "
                             f"{sorted(found)}")
    return {name: np.concatenate(values) for name, values in parts.items()}


def _checked(arrays, specs, argument):
    import keras

    named, count = {}, None
    for name, shape, dtype in specs:
        array = arrays[name]
        if array.ndim != len(shape) or any(
            want is not None and want != got for want, got in zip(shape[1:], array.shape[1:])
        ):
            raise ValueError(
                f"{argument} for input {name!r} has shape {array.shape}, expected "
                f"(batch,) + {tuple(shape[1:])}"
            )
        if count is not None and array.shape[0] != count:
            raise ValueError(f"{argument} arrays have different numbers of samples")
        count = array.shape[0]
        if np.issubdtype(array.dtype, np.number) and not np.all(np.isfinite(array)):
            raise ValueError(f"{argument} for input {name!r} has non-finite values (NaN or inf)")
        named[name] = array.astype(keras.backend.standardize_dtype(dtype))
    if not count:
        raise ValueError(f"{argument} has no samples")
    return named
