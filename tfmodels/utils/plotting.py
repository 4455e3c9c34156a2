"""Matplotlib for the package's PNG figures: a headless backend and atomic writes.

Example:
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    write_png(fig, "curve.png")
"""

from tfmodels.utils import atomic


def pyplot():
    """`matplotlib.pyplot` on the Agg backend unless one was chosen already (no display is
    needed: figures go to files)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def write_png(fig, path, dpi=100):
    """Writes `fig` to the PNG `path` atomically, closes it, and returns `path`."""
    with atomic.atomic_path(path) as temp:
        fig.savefig(temp, format="png", dpi=dpi)
    pyplot().close(fig)
    return path
