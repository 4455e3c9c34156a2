"""How every tfmodels command line ends on bad input: one `error:` line, exit status 1.

Flag syntax errors stay absl's (`app.UsageError`, with the usage banner). Errors in the data,
files or argument values that the library raises (`ValueError`, `OSError`, `RuntimeError`)
end as one line, `<program>: error: <message naming the file or flag>`, without a traceback;
`--traceback` shows it.
"""

import sys

from absl import flags

_TRACEBACK = flags.DEFINE_boolean(
    "traceback", False, "On an error, show the Python traceback instead of one error line."
)

ERRORS = (ValueError, OSError, RuntimeError)


def run_or_exit(program, function, *args, **kwargs):
    """Calls `function(*args, **kwargs)`; a library error ends the program with one line.

    Returns:
        What `function` returns.
    """
    try:
        return function(*args, **kwargs)
    except ERRORS as err:
        if _TRACEBACK.value:
            raise
        message = str(err).strip() or type(err).__name__
        if isinstance(err, OSError) and err.filename and err.filename not in message:
            message = f"{err.filename}: {message}"
        sys.stderr.write(f"{program}: error: {message}\n")
        sys.exit(1)
