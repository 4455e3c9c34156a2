"""Small shared utilities: atomic artifact writes."""

from tfmodels.utils.atomic import (
    atomic_directory,
    atomic_file,
    atomic_path,
    save_model,
    write_bytes,
    write_json,
    write_text,
)

__all__ = ["atomic_directory", "atomic_file", "atomic_path", "save_model", "write_bytes", "write_json", "write_text"]
